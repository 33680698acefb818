/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * spool.h - open calls' state on disk, DIR/spool/slot-N, one call per slot
 * at a time.  A slot is a file mapped into memory (MAP_SHARED): what the
 * proxy stores there is in the page cache at once, so it survives the
 * gateway being killed, without a system call per write (power loss loses
 * the calls in flight).  Layout (little-endian, docs/capture-format.md):
 *
 *   0  "SXSPOOL2"         8  u32 state (0 free, 1 open)  12 u32 meta_len
 *  16  u64 request_len   24  i64 status (-1: none yet)   32 u32 sse
 *  36  u32 (zero)        40  u64 body_len                48..63 zero
 *  64  the raw request body (stored as it arrives: it is sent upstream
 *      from here), then meta (a JSON object: the record's head fields but
 *      the request), then the response body as it went to the client.
 *      (SXSPOOL1, still read: meta first, then the request.)
 *
 * Lengths are stored after the bytes they cover, the state last.  A slot
 * bounds a stream's memory too: past SX_CAPTURE_MEM_MAX bytes the response
 * body is only here.  The request is kept raw so that nothing is parsed
 * before the call goes upstream.
 */
#pragma once
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define SX_CAPTURE_MEM_MAX (64 * 1024)

/* The spool of one log directory: free slots are kept for reuse. */
struct sx_spool;
struct sx_spool_slot;

/* wipe: a released slot's answer is zeroed (--no-reasoning: the reasoning
 * must be nowhere on disk but where the record strips it). */
int sx_spool_new(const char *dir, bool wipe, struct sx_spool **ret);
/* Removes the free slots (a clean stop leaves an empty spool). */
void sx_spool_free(struct sx_spool *s);

/* Takes a slot (a free one when possible) for a call whose request body
 * (request_hint bytes, when known) is coming.  NULL with errno set. */
struct sx_spool_slot *sx_spool_take(struct sx_spool *s, size_t request_hint);
/* Request body bytes as they arrive; 0 or -errno (the slot cannot grow). */
int sx_spool_request(struct sx_spool_slot *t, const void *data, size_t len);
/* The request body stored so far.  It does not move while the slot is
 * held (the answer stored after it included). */
const char *sx_spool_request_bytes(const struct sx_spool_slot *t, size_t *len);
/* The request is whole: stores meta (a JSON object) after it and marks
 * the slot open, for the gateway's next start to recover should it be
 * killed.  0 or -errno. */
int sx_spool_open(struct sx_spool_slot *t, const char *meta);
/* The upstream's status. */
void sx_spool_status(struct sx_spool_slot *t, long status, bool sse);
/* Response body bytes; 0 or -errno (the slot could not grow). */
int sx_spool_body(struct sx_spool_slot *t, const void *data, size_t len);
/* The response body stored so far (valid until the next write or release). */
const char *sx_spool_body_bytes(const struct sx_spool_slot *t, size_t *len);
/* The call is recorded: the slot is marked free and kept (or removed). */
void sx_spool_release(struct sx_spool *s, struct sx_spool_slot *t);

/* Reads a slot file back: head (the record's head, request included, as
 * sx_llm_record_head() makes it), request_bytes, status (-1 when none),
 * sse, and the response body bytes.  0, -ENODATA for a free slot, or
 * another -errno (-EBADMSG: not a spool slot). */
int sx_spool_read(const char *path, cJSON **head, size_t *request_bytes, long *status, bool *sse, char **body,
		  size_t *len);
