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
/* Records appended with one writev, at most, and about this many bytes of
 * them: small records go by the hundred, a big one is written while it is
 * still in the cache, and a batch never holds much memory. */
#define BATCH_RECORDS 256
#define BATCH_BYTES (256u * 1024)
/* Once busy, the thread looks for work every NAP_USEC by itself for
 * BUSY_USEC after its last job, and needs no wake-up meanwhile: a futex
 * wake per call cost the proxy's thread ~6 us (a cross-CPU wake-up), a
 * sixth of what it spends on a small call.  A record waits NAP_USEC at
 * most longer; the answer went out before, and the spool slot holds the
 * call.  (Naps of 20 ms made bigger batches, and worse latency for the
 * calls they ran beside.) */
#define NAP_USEC 2000ULL
#define BUSY_USEC 200000ULL
/* Between records the thread steps aside this often (sx_step_aside): a
 * batch of 20 small records woken beside a c=1 client held it off its CPU
 * for ~200 us (the p90 of such calls was 2.5x their p50). */
#define STEP_ASIDE_USEC 50

struct sx_recorder {
	struct sx_capture *capture;
	struct sx_spool *spool;
	struct sx_metrics *metrics;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct sx_record_job *head, **tail;
	size_t jobs, bytes;
	size_t backlog_jobs; /* BACKLOG_JOBS, or SENTRIX_RECORDER_BACKLOG_JOBS (tests) */
	bool waiting, stop; /* waiting: asleep until woken (or a second) */
	uint64_t synced; /* CLOCK_MONOTONIC usec of the last sync */
	uint64_t last_job; /* CLOCK_MONOTONIC usec when the last job was taken */
	uint64_t stepped; /* when it last stepped aside (sx_step_aside) */
};

/* What a queued job holds: its request and answer, in memory or (a
 * stream's answer) in its spool slot: both count against the backlog. */
static size_t job_bytes(const struct sx_record_job *j)
{
	size_t in_slot = 0;

	if (!j->response && j->slot)
		(void)sx_spool_body_bytes(j->slot, &in_slot);
	return j->request_len + j->response_len + in_slot;
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

/* The record's text (*text_len bytes), or NULL (counted) when out of
 * memory. */
static char *build(struct sx_recorder *r, struct sx_record_job *j, size_t *text_len)
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
	    .borrow = true, /* the job outlives the record's head */
	};
	const char *body = j->response;
	size_t len = j->response_len;
	cJSON *head;
	char *rec;

	if (!h.body && j->slot)
		h.body = sx_spool_request_bytes(j->slot, &h.body_len);
	head = sx_llm_record_head(&h);

	if (!body && j->slot)
		body = sx_spool_body_bytes(j->slot, &len);
	j->end.error = j->error;
	rec = head ? sx_record_finish_n(head, body, len, &j->end, text_len) : NULL;
	if (!rec)
		__atomic_fetch_add(&r->metrics->capture_errors, 1, __ATOMIC_RELAXED);
	return rec;
}

/* Records a list of jobs (linked by next) in batches: the records built,
 * appended with one writev (capture.h), then the jobs' slots freed.
 * thread: on the recorder's thread (which steps aside now and then), not
 * on the proxy's past the backlog bound. */
static void record_list(struct sx_recorder *r, struct sx_record_job *list, bool thread)
{
	while (list) {
		struct sx_record_job *j = list, *next;
		char *text[BATCH_RECORDS];
		size_t len[BATCH_RECORDS], n = 0, bytes = 0;

		for (; j && n < BATCH_RECORDS && bytes < BATCH_BYTES; j = j->next) {
			char *t;
			if (thread) /* not the proxy's thread past the backlog bound */
				sx_step_aside(&r->stepped, STEP_ASIDE_USEC);
			t = build(r, j, &len[n]);
			if (t) {
				bytes += len[n];
				text[n++] = t;
			}
		}
		(void)sx_capture_append(r->capture, (const char *const *)text, len, n); /* counts failures */
		for (size_t i = 0; i < n; i++)
			free(text[i]);
		for (; list != j; list = next) {
			next = list->next;
			job_free(r, list);
			__atomic_fetch_sub(&r->metrics->capture_queued, 1, __ATOMIC_RELAXED);
		}
	}
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
			if (sx_now_usec() - r->last_job < BUSY_USEC) {
				until.tv_nsec += NAP_USEC * 1000;
				if (until.tv_nsec >= 1000000000L) {
					until.tv_sec++;
					until.tv_nsec -= 1000000000L;
				}
			} else {
				until.tv_sec += 1;
				r->waiting = true;
			}
			pthread_cond_timedwait(&r->wake, &r->lock, &until);
			r->waiting = false;
			continue;
		}
		/* Everything queued, at once. */
		r->head = NULL;
		r->tail = &r->head;
		r->jobs = r->bytes = 0;
		r->last_job = sx_now_usec();
		pthread_mutex_unlock(&r->lock);
		record_list(r, j, true);
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
	r->backlog_jobs = BACKLOG_JOBS;
	/* Tests make the bound small to take the proxy thread's own path. */
	const char *knob = getenv("SENTRIX_RECORDER_BACKLOG_JOBS");
	unsigned n;
	if (knob && *knob) {
		if (sx_parse_uint(knob, BACKLOG_JOBS, &n) == 0 && n >= 1)
			r->backlog_jobs = n;
		else
			log_warn("SENTRIX_RECORDER_BACKLOG_JOBS \"%s\" is not 1 to %d; using %d", knob,
				 BACKLOG_JOBS, BACKLOG_JOBS);
	}
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
	inline_record = r->jobs >= r->backlog_jobs || r->bytes + job_bytes(j) > BACKLOG_BYTES;
	if (!inline_record) {
		*r->tail = j;
		r->tail = &j->next;
		r->jobs++;
		r->bytes += job_bytes(j);
	}
	pthread_mutex_unlock(&r->lock);
	if (inline_record) {
		__atomic_fetch_add(&r->metrics->capture_inline, 1, __ATOMIC_RELAXED);
		record_list(r, j, false);
	}
}

void sx_recorder_wake(struct sx_recorder *r)
{
	pthread_mutex_lock(&r->lock);
	/* A wake-up (a futex call) only when the thread sleeps. */
	if (r->waiting && r->head)
		pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
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
