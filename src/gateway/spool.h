/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * spool.h - an open call's state on disk, DIR/spool/slot-N: line 1 the
 * record's head fields as JSON (without the request, with
 * "request_bytes": N), then the N raw bytes of the request body and a
 * newline, then "status N sse|body\n" once the upstream answered, then the
 * raw response body as it went to the client.  It makes a call in flight
 * recoverable after SIGKILL and bounds a stream's memory: past
 * SX_CAPTURE_MEM_MAX bytes the response body is only here.  The request is
 * kept raw so that no JSON is parsed before the call goes upstream.
 */
#pragma once
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define SX_CAPTURE_MEM_MAX (64 * 1024)

/* The spool of one log directory: its free slot files are kept for reuse. */
struct sx_spool;

struct sx_spool_file {
	int fd; /* -1: none */
	char *path;
};

int sx_spool_new(const char *dir, struct sx_spool **ret);
/* Removes the free slot files (a clean stop leaves an empty spool). */
void sx_spool_free(struct sx_spool *s);

/* Takes a slot (a free one when possible) and writes the head: meta (a
 * JSON object without newlines) and the request body.  0 or -errno. */
int sx_spool_open(struct sx_spool *s, const char *meta, const void *request, size_t request_len,
		  struct sx_spool_file *f);
/* The upstream's status, with the first body bytes (len may be 0). */
int sx_spool_status(struct sx_spool_file *f, long status, bool sse, const void *body, size_t len);
int sx_spool_body(struct sx_spool_file *f, const void *data, size_t len);
/* The call is recorded: the slot is emptied and kept (or removed). */
void sx_spool_release(struct sx_spool *s, struct sx_spool_file *f);

/* Reads a spool file back: head (the record's head, request included, as
 * sx_llm_record_head() makes it), request_bytes, status (-1 when none),
 * sse, and the response body bytes.  0 or -errno (-EBADMSG: no head). */
int sx_spool_read(const char *path, cJSON **head, size_t *request_bytes, long *status, bool *sse,
		  char **body, size_t *len);
