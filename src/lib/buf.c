/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * buf.c - growable byte buffers (buf.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int sx_buf_reserve(struct sx_buf *b, size_t n)
{
	/* What was taken from the front goes before the buffer grows: a slow
	 * reader of a long stream keeps what it has not read, not all of it. */
	if (b->off && b->len + n > b->cap) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;
		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	return 0;
}

int sx_buf_add(struct sx_buf *b, const void *data, size_t n)
{
	if (sx_buf_reserve(b, n) < 0)
		return -ENOMEM;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

void sx_buf_free(struct sx_buf *b)
{
	free(b->p);
	*b = (struct sx_buf){0};
}
