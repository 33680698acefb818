/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * recorder.h - builds capture records on a thread of their own.  The LLM
 * proxy's thread hands over what a finished call was (the raw request, the
 * raw answer or the spool slot holding it, how it ended) and goes back to
 * its sockets; the recorder parses, assembles and prints the record, appends
 * it to the capture file and frees the call's spool slot.  Until then the
 * slot keeps the call, so a gateway killed with records queued recovers
 * them from the spool on its next start.
 */
#pragma once
#include <stddef.h>

#include "record.h"

struct sx_capture;
struct sx_spool;
struct sx_spool_slot;
struct sx_metrics;
struct sx_recorder;

/* A finished call; the recorder frees every owned member. */
struct sx_record_job {
	struct sx_record_job *next;
	char stamp[40], id[17];
	const char *instance, *method; /* live as long as the gateway (static or the gateway's) */
	char *provider, *endpoint, *run_id; /* owned */
	char *request; /* owned: request_len raw bytes, or NULL: the request is in slot */
	size_t request_len;
	char *response; /* owned: response_len raw bytes, or NULL: the answer is in slot */
	size_t response_len;
	struct sx_spool_slot *slot; /* owned: released once the record is written */
	char *error; /* owned; end.error points to it */
	struct sx_record_end end;
};

int sx_recorder_new(struct sx_capture *capture, struct sx_spool *spool, struct sx_metrics *m,
		    struct sx_recorder **ret);
/* Queues a job (taken over).  Past a backlog bound the record is built
 * and written here, on the caller's thread, so memory stays bounded.  The
 * thread is not woken: sx_recorder_wake() once per batch of pushes spares
 * a futex call per call (it also looks every second by itself). */
void sx_recorder_push(struct sx_recorder *r, struct sx_record_job *job);
void sx_recorder_wake(struct sx_recorder *r);
/* Writes every queued record, then stops the thread and frees. */
void sx_recorder_free(struct sx_recorder *r);
