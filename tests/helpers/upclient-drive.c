/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * upclient-drive.c - runs requests through the gateway's upstream HTTP
 * client (src/gateway/upclient.c) for tests/integration/test-upclient.sh
 * and manual checks.  Never installed.
 *
 *   upclient-drive METHOD URL [--ca FILE] [--body FILE] [-n COUNT]
 *                  [-c CONCURRENCY] [--header 'Name: value']...
 *                  [--dns ADDR:PORT] [--pause-ms MS] [--gap-ms MS]
 *                  [--cancel-after BYTES] [--cancel-ms MS] [--free-after-ms MS]
 *                  [--connect-secs N] [--idle-secs N] [--keepalive-secs N]
 *                  [--set-ca FILE] [--linger-ms MS] [--show-headers] [--quiet]
 *                  [--verbose]
 *
 * Prints one line per request, "#I STATUS bytes=N sha256=HEX" or
 * "#I error KIND: MESSAGE", then "summary ok=.. failed=.. cancelled=..
 * max_conns=.. conns=.. heap_per_conn=..": max_conns is the most
 * connections open at once (1 after any number of sequential requests
 * shows keep-alive reuse); heap_per_conn is the heap in use at the end,
 * less what it was before the first request, over the connections then
 * open (0 under ASan).  Exits 0 when no request failed.
 *
 *   --dns: resolve names with this DNS server only (not /etc/hosts)
 *   --pause-ms: every body callback pauses its response; a timer resumes
 *     it MS ms later
 *   --gap-ms: sequential requests start MS ms apart
 *   --cancel-after: a body callback cancels its request (from inside the
 *     callback) once it has that many bytes
 *   --cancel-ms: MS ms after the start, every open request is cancelled
 *     (from outside any callback)
 *   --free-after-ms: MS ms after the start, the client is freed with its
 *     requests open (they are dropped without done)
 *   --set-ca: sx_upclient_set_ca_file(FILE) once the first request ended
 *   --linger-ms: wait that long after the last request before the summary
 *     (to watch idle connections expire)
 *   --verbose: the client's debug messages on stderr
 *
 * Built by the Makefile as $(BUILD)/tests/upclient-drive (a test helper:
 * `make check` builds it) with the gateway's upclient.o, evloop.o and
 * resolver.o; tests/integration/test-upclient.sh runs it against the mock
 * upstream and tests/helpers/upclient-servers.py.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/evloop.h"
#include "gateway/resolver.h"
#include "gateway/upclient.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/util.h"

#define MAX_HEADERS 64

struct drive;

struct call {
	struct drive *d;
	struct call *prev, *next; /* open calls */
	unsigned id;
	struct sx_upreq *req;
	EVP_MD_CTX *md;
	size_t bytes;
	int status;
	sd_event_source *resume;
};

struct drive {
	sd_event *loop;
	struct sx_evloop *evl;
	struct sx_resolver *res;
	struct sx_upclient *up;
	const char *method, *url, *set_ca;
	struct iovec headers[MAX_HEADERS];
	size_t n_headers;
	char *body;
	size_t body_len;
	unsigned count, concurrency, started, finished, ok, failed, cancelled, max_conns;
	unsigned pause_ms, gap_ms, linger_ms, cancel_ms, free_ms;
	size_t cancel_after;
	bool show_headers, quiet;
	size_t heap_before;
	struct call *calls;
	sd_event_source *gap, *linger, *cancel, *free_up;
};

/* A timer off for now, for later arming. */
static sd_event_source *timer(struct drive *d, sd_event_time_handler_t fn, void *data)
{
	sd_event_source *s = NULL;

	if (sd_event_add_time_relative(d->loop, &s, CLOCK_MONOTONIC, UINT64_MAX / 2, 0, fn, data) < 0) {
		fprintf(stderr, "cannot add a timer\n");
		exit(1);
	}
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	return s;
}

/* Timers set from the data path need sd-event's next turn: poke it. */
static void timer_arm(struct drive *d, sd_event_source *s, unsigned ms)
{
	sd_event_source_set_time_relative(s, ms * 1000ULL);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	sx_evloop_poke(d->evl);
}

static const char *kind(enum sx_up_error e)
{
	static const char *const names[] = {"ok", "dns", "connect", "timeout", "tls", "other"};
	return (unsigned)e < ELEMENTSOF(names) ? names[e] : "?";
}

static void note_conns(struct drive *d)
{
	unsigned n = sx_upclient_connections(d->up);
	if (n > d->max_conns)
		d->max_conns = n;
}

static void start_next(struct drive *d);

static void call_free(struct call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->d->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sd_event_source_disable_unref(c->resume);
	EVP_MD_CTX_free(c->md);
	free(c);
}

static void finish(struct drive *d)
{
	sd_event_exit(d->loop, 0);
	sx_evloop_poke(d->evl);
}

static void finished(struct drive *d)
{
	d->finished++;
	if (d->up)
		note_conns(d);
	if (d->finished < d->count) {
		start_next(d);
		return;
	}
	if (d->linger_ms)
		timer_arm(d, d->linger, d->linger_ms);
	else
		finish(d);
}

/* Ends c without done (cancelled). */
static void cancelled(struct call *c, const char *how)
{
	struct drive *d = c->d;

	printf("#%u cancelled %s after bytes=%zu\n", c->id, how, c->bytes);
	d->cancelled++;
	call_free(c);
	finished(d);
}

static void on_headers(void *data, int status, const struct sx_up_header *h, size_t n)
{
	struct call *c = data;

	c->status = status;
	note_conns(c->d);
	if (c->d->show_headers)
		for (size_t i = 0; i < n; i++)
			printf("#%u header %.*s: %.*s\n", c->id, (int)h[i].name_len, h[i].name,
			       (int)h[i].value_len, h[i].value);
}

static int on_resume(sd_event_source *s, uint64_t usec, void *data)
{
	struct call *c = data;
	sx_upreq_resume(c->req);
	return 0;
}

static bool on_body(void *data, const char *p, size_t len)
{
	struct call *c = data;
	struct drive *d = c->d;

	EVP_DigestUpdate(c->md, p, len);
	c->bytes += len;
	if (d->cancel_after && c->bytes >= d->cancel_after) {
		sx_upreq_cancel(c->req); /* from inside the callback */
		cancelled(c, "in its body callback");
		return true;
	}
	if (d->pause_ms) {
		sx_upreq_pause(c->req);
		timer_arm(d, c->resume, d->pause_ms);
	}
	return true;
}

static void on_done(void *data, enum sx_up_error err, const char *message)
{
	struct call *c = data;
	struct drive *d = c->d;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1] = "";

	if (err == SX_UP_OK) {
		EVP_DigestFinal_ex(c->md, md, &md_len);
		for (unsigned i = 0; i < md_len; i++)
			sprintf(hex + 2 * i, "%02x", md[i]);
		if (!d->quiet)
			printf("#%u %d bytes=%zu sha256=%s\n", c->id, c->status, c->bytes, hex);
		d->ok++;
	} else {
		printf("#%u error %s: %s\n", c->id, kind(err), message);
		d->failed++;
	}
	call_free(c);
	if (d->set_ca && sx_upclient_set_ca_file(d->up, TAKE_PTR(d->set_ca)) < 0)
		d->failed++;
	finished(d);
}

static const struct sx_upreq_ops ops = {.headers = on_headers, .body = on_body, .done = on_done};

static void start_one(struct drive *d)
{
	struct call *c = calloc(1, sizeof(*c));

	if (!c || !(c->md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(c->md, EVP_sha256(), NULL)) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	c->d = d;
	c->id = ++d->started;
	c->resume = timer(d, on_resume, c);
	c->next = d->calls;
	if (d->calls)
		d->calls->prev = c;
	d->calls = c;
	c->req =
	    sx_upreq_start(d->up, d->method, d->url, d->headers, d->n_headers, d->body, d->body_len, &ops, c);
	if (!c->req) {
		printf("#%u start: %s\n", c->id, strerror(errno));
		exit(1);
	}
}

static int on_gap(sd_event_source *s, uint64_t usec, void *data)
{
	start_one(data);
	return 0;
}

static void start_next(struct drive *d)
{
	if (d->started >= d->count)
		return;
	if (d->gap_ms)
		timer_arm(d, d->gap, d->gap_ms);
	else
		start_one(d);
}

static int on_linger(sd_event_source *s, uint64_t usec, void *data)
{
	finish(data);
	return 0;
}

static int on_cancel(sd_event_source *s, uint64_t usec, void *data)
{
	struct drive *d = data;

	d->count = d->started; /* no more */
	while (d->calls) {
		sx_upreq_cancel(d->calls->req);
		cancelled(d->calls, "from a timer");
	}
	return 0;
}

static int on_free(sd_event_source *s, uint64_t usec, void *data)
{
	struct drive *d = data;
	unsigned n = 0;

	sx_upclient_free(TAKE_PTR(d->up));
	while (d->calls) {
		call_free(d->calls);
		n++;
	}
	printf("freed the client with %u requests open\n", n);
	finish(d);
	return 0;
}

static void usage(void)
{
	fputs("usage: upclient-drive METHOD URL [--ca FILE] [--body FILE] [-n COUNT] [-c CONCURRENCY]\n"
	      "       [--header 'Name: value']... [--dns ADDR:PORT] [--pause-ms MS] [--gap-ms MS]\n"
	      "       [--cancel-after BYTES] [--cancel-ms MS] [--free-after-ms MS] [--connect-secs N]\n"
	      "       [--idle-secs N] [--keepalive-secs N] [--set-ca FILE] [--linger-ms MS]\n"
	      "       [--show-headers] [--quiet] [--verbose]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"ca", required_argument, NULL, 'a'},
	    {"body", required_argument, NULL, 'b'},
	    {"header", required_argument, NULL, 'H'},
	    {"dns", required_argument, NULL, 'D'},
	    {"pause-ms", required_argument, NULL, 'p'},
	    {"gap-ms", required_argument, NULL, 'g'},
	    {"cancel-after", required_argument, NULL, 'x'},
	    {"cancel-ms", required_argument, NULL, 'X'},
	    {"free-after-ms", required_argument, NULL, 'F'},
	    {"connect-secs", required_argument, NULL, 'C'},
	    {"idle-secs", required_argument, NULL, 'I'},
	    {"keepalive-secs", required_argument, NULL, 'K'},
	    {"linger-ms", required_argument, NULL, 'L'},
	    {"set-ca", required_argument, NULL, 'S'},
	    {"show-headers", no_argument, NULL, 's'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	struct sx_upclient_opts o = {0};
	struct drive d = {.count = 1, .concurrency = 1};
	char *dns[2] = {NULL, NULL};
	const char *body_file = NULL;
	struct mallinfo2 mi;
	unsigned conns;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "n:c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o.ca_file = optarg; break;
		case 'b': body_file = optarg; break;
		case 'n': d.count = (unsigned)atoi(optarg); break;
		case 'c': d.concurrency = (unsigned)atoi(optarg); break;
		case 'D': dns[0] = optarg; break;
		case 'p': d.pause_ms = (unsigned)atoi(optarg); break;
		case 'g': d.gap_ms = (unsigned)atoi(optarg); break;
		case 'x': d.cancel_after = (size_t)atol(optarg); break;
		case 'X': d.cancel_ms = (unsigned)atoi(optarg); break;
		case 'F': d.free_ms = (unsigned)atoi(optarg); break;
		case 'C': o.connect_secs = (unsigned)atoi(optarg); break;
		case 'I': o.idle_secs = (unsigned)atoi(optarg); break;
		case 'K': o.keepalive_secs = (unsigned)atoi(optarg); break;
		case 'L': d.linger_ms = (unsigned)atoi(optarg); break;
		case 'S': d.set_ca = optarg; break;
		case 's': d.show_headers = true; break;
		case 'q': d.quiet = true; break;
		case 'v': sx_log_set_level(SX_LOG_DEBUG); break;
		case 'H':
			if (d.n_headers == MAX_HEADERS)
				usage();
			d.headers[d.n_headers].iov_base = sx_strdupf("%s\r\n", optarg);
			d.headers[d.n_headers].iov_len = strlen(optarg) + 2;
			d.n_headers++;
			break;
		default: usage();
		}
	}
	if (argc - optind != 2 || d.count == 0 || d.concurrency == 0)
		usage();
	d.method = argv[optind];
	d.url = argv[optind + 1];
	if (body_file && (r = sx_read_file(body_file, &d.body, &d.body_len)) < 0) {
		fprintf(stderr, "%s: %s\n", body_file, strerror(-r));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if ((r = sd_event_default(&d.loop)) < 0 || (r = sx_evloop_new(d.loop, &d.evl)) < 0 ||
	    (r = sx_resolver_new(d.loop, dns, &d.res)) < 0 ||
	    (r = sx_upclient_new(d.evl, d.res, &o, &d.up)) < 0) {
		fprintf(stderr, "setup: %s\n", strerror(-r));
		return 1;
	}
	d.gap = timer(&d, on_gap, &d);
	d.linger = timer(&d, on_linger, &d);
	d.cancel = timer(&d, on_cancel, &d);
	d.free_up = timer(&d, on_free, &d);
	if (d.cancel_ms)
		timer_arm(&d, d.cancel, d.cancel_ms);
	if (d.free_ms)
		timer_arm(&d, d.free_up, d.free_ms);
	d.heap_before = mallinfo2().uordblks;
	for (unsigned i = 0; i < d.concurrency && i < d.count; i++)
		start_one(&d);
	sx_evloop_run(d.evl);
	conns = d.up ? sx_upclient_connections(d.up) : 0;
	mi = mallinfo2();
	printf("summary ok=%u failed=%u cancelled=%u max_conns=%u conns=%u heap_per_conn=%zu\n", d.ok,
	       d.failed, d.cancelled, d.max_conns, conns, conns ? (mi.uordblks - d.heap_before) / conns : 0);
	sx_upclient_free(d.up);
	sx_resolver_free(d.res);
	sx_evloop_free(d.evl);
	sd_event_source_unref(d.gap);
	sd_event_source_unref(d.linger);
	sd_event_source_unref(d.cancel);
	sd_event_source_unref(d.free_up);
	sd_event_unref(d.loop);
	for (size_t i = 0; i < d.n_headers; i++)
		free(d.headers[i].iov_base);
	free(d.body);
	return d.failed ? 1 : 0;
}
