/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * recorder.c - the capture records' thread (recorder.h).
 *
 * A record costs more CPU than proxying the call: the request compacted,
 * the answer (or every event of a stream) parsed, the message assembled,
 * all printed and checked for UTF-8, then a write of as many bytes as the
 * call carried.  On the proxy's thread that came before the next client's
 * bytes were read; here it runs beside them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "capture.h"
#include "llmreq.h"
#include "metrics.h"
#include "recorder.h"
#include "spool.h"

/* Past this many jobs or bytes waiting, the caller records itself. */
#define BACKLOG_JOBS 4096
#define BACKLOG_BYTES (256u * 1024 * 1024)
#define SYNC_USEC 1000000ULL

struct sx_recorder {
	struct sx_capture *capture;
	struct sx_spool *spool;
	struct sx_metrics *metrics;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct sx_record_job *head, **tail;
	size_t jobs, bytes;
	bool waiting, stop;
	uint64_t synced; /* CLOCK_MONOTONIC usec of the last sync */
};

static size_t job_bytes(const struct sx_record_job *j)
{
	return j->request_len + j->response_len;
}

static void job_free(struct sx_recorder *r, struct sx_record_job *j)
{
	sx_spool_release(r->spool, j->slot);
	free(j->provider);
	free(j->endpoint);
	free(j->run_id);
	free(j->request);
	free(j->response);
	free(j->error);
	free(j);
}

/* Builds the record and appends it; then the slot is free. */
static void record(struct sx_recorder *r, struct sx_record_job *j)
{
	struct sx_llm_head h = {
	    .timestamp = j->stamp,
	    .id = j->id,
	    .instance = j->instance,
	    .provider = j->provider,
	    .endpoint = j->endpoint,
	    .method = j->method,
	    .run_id = j->run_id,
	    .body = j->request,
	    .body_len = j->request_len,
	};
	const char *body = j->response;
	size_t len = j->response_len;
	cJSON *head = sx_llm_record_head(&h);
	char *rec;

	if (!body && j->slot)
		body = sx_spool_body_bytes(j->slot, &len);
	j->end.error = j->error;
	rec = head ? sx_record_finish(head, body, len, &j->end) : NULL;
	if (!rec)
		__atomic_fetch_add(&r->metrics->capture_errors, 1, __ATOMIC_RELAXED);
	else
		(void)sx_capture_append(r->capture, rec); /* counts and logs a failure itself */
	free(rec);
	job_free(r, j);
	__atomic_fetch_sub(&r->metrics->capture_queued, 1, __ATOMIC_RELAXED);
}

/* The capture file is synced at most once a second, here rather than on
 * the proxy's thread. */
static void sync_due(struct sx_recorder *r)
{
	uint64_t now = sx_now_usec();

	if (now - r->synced >= SYNC_USEC) {
		r->synced = now;
		sx_capture_sync(r->capture);
	}
}

static void *run(void *data)
{
	struct sx_recorder *r = data;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct sx_record_job *j = r->head;
		if (!j) {
			struct timespec until;
			if (r->stop)
				break;
			pthread_mutex_unlock(&r->lock);
			sync_due(r);
			pthread_mutex_lock(&r->lock);
			if (r->head || r->stop)
				continue;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += 1;
			r->waiting = true;
			pthread_cond_timedwait(&r->wake, &r->lock, &until);
			r->waiting = false;
			continue;
		}
		r->head = j->next;
		if (!r->head)
			r->tail = &r->head;
		r->jobs--;
		r->bytes -= job_bytes(j);
		pthread_mutex_unlock(&r->lock);
		record(r, j);
		sync_due(r);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int sx_recorder_new(struct sx_capture *capture, struct sx_spool *spool, struct sx_metrics *m,
		    struct sx_recorder **ret)
{
	struct sx_recorder *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	r->capture = capture;
	r->spool = spool;
	r->metrics = m;
	r->tail = &r->head;
	pthread_mutex_init(&r->lock, NULL);
	/* Timed waits on the monotonic clock (the sync's second). */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	e = pthread_create(&r->thread, NULL, run, r);
	if (e) {
		free(r);
		return log_error_errno(-e, "cannot start the capture recorder thread");
	}
	(void)pthread_setname_np(r->thread, "sx-recorder");
	*ret = r;
	return 0;
}

void sx_recorder_push(struct sx_recorder *r, struct sx_record_job *j)
{
	bool inline_record;

	j->next = NULL;
	__atomic_fetch_add(&r->metrics->capture_queued, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&r->lock);
	inline_record = r->jobs >= BACKLOG_JOBS || r->bytes + job_bytes(j) > BACKLOG_BYTES;
	if (!inline_record) {
		*r->tail = j;
		r->tail = &j->next;
		r->jobs++;
		r->bytes += job_bytes(j);
		/* A wake-up (a futex call) only when the thread sleeps. */
		if (r->waiting)
			pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
	if (inline_record)
		record(r, j);
}

void sx_recorder_free(struct sx_recorder *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wake);
	free(r);
}
