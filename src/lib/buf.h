/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * buf.h - a growable byte buffer that is also a queue: bytes are added at
 * len and taken from off (the LLM proxy's request bodies, collected
 * answers, and its connections' output and held input).
 */
#pragma once
#include <stddef.h>

struct sx_buf {
	char *p;
	size_t len; /* bytes in p */
	size_t off; /* bytes taken from the front */
	size_t cap;
};

/* Appends n bytes; what was taken from the front is dropped before the
 * buffer grows.  0 or -ENOMEM (b unchanged). */
int sx_buf_add(struct sx_buf *b, const void *data, size_t n);
/* Makes room for n more bytes at p + len (len unchanged), as sx_buf_add()
 * would.  0 or -ENOMEM. */
int sx_buf_reserve(struct sx_buf *b, size_t n);
/* Frees the bytes; b is empty after. */
void sx_buf_free(struct sx_buf *b);
