/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mock-llm.c - a fast fake LLM upstream (OpenAI and Anthropic shapes) for the
 * gateway's integration tests and benchmarks.  Never installed.
 *
 *   mock-llm --listen ADDR:PORT [--tls-cert FILE --tls-key FILE]
 *            [--record FILE] [--key KEY] [--threads N] [--quiet]
 *            [--judge-answer FILE]
 *
 * Prints "ready PORT" on stdout once listening (PORT 0 picks a free port;
 * ADDR may be empty, a name, an IPv4 address or [IPv6]).  SIGTERM/SIGINT
 * stop it cleanly.  --key KEY: requests must carry "Authorization: Bearer
 * KEY" (/v1/chat/completions) or "x-api-key: KEY" (/v1/messages), else 401.
 * --record FILE: one JSON line per request (all but /health and /_mock/...):
 *   {"method","path" (raw, query included),"headers":{lowercased: value},
 *    "body" (string; null if not UTF-8 text),"body_hex" (only then),
 *    "body_len","body_sha256"}; a body over 64 MiB is dropped (413 and
 *    "body": null, "body_dropped": true, "body_sha256": null).
 * Without --quiet every request is logged on stderr.
 * --judge-answer FILE: every /v1/chat/completions and /v1/messages request
 *   gets FILE's text (read once at start, trailing newlines dropped) as the
 *   assistant's answer, whatever it asks: a stand-in for the patrol's LLM
 *   judge (docs/patrol.md, "Judge").  The control headers still apply.
 *
 * Endpoints: POST /v1/chat/completions (OpenAI), POST /v1/messages
 * (Anthropic), GET /health ("ok"), GET /_mock/stats ({"requests","completed",
 * "cancelled","open"}; "cancelled": requests whose client went away before
 * the end), POST /_mock/reset (zeroes the first three), else 404.
 *
 * The answer is a pure function of the request: reasoning "The user greets
 * me, so I greet back." and text "Hello from the mock. ", or
 *  - "Tool said: " + the first 200 characters of the tool result when the
 *    last message is one (OpenAI role "tool", Anthropic "tool_result" block),
 *    or when only user messages without a marker follow it;
 *  - a tool call to NAME with ARGS (a JSON object, default {}) when the
 *    request has "tools" and the trailing user messages (those after the
 *    last assistant or tool message: OpenClaw appends its own context
 *    message after the user's) contain [[tool:NAME ARGS]];
 *  - "w1 w2 ... wN" with header X-Mock-Words: N, or when the last user
 *    message contains [[slow:N:MS]] or [[slow:N:MS:plain]] (N words, MS
 *    ms before each event, "plain": without the reasoning deltas: a
 *    slow stream a client that cannot set headers, OpenClaw, can ask for).
 * Streams send one delta per word (a word keeps its trailing blanks) and
 * tool arguments in two or three pieces.  Usage: prompt tokens = request
 * body bytes / 4 rounded up, completion tokens = deltas (a tool call: 1).
 * Other control headers: X-Mock-Status: N (error N with the provider's error
 * shape), X-Mock-Drip-Ms: N (streams: N ms before each event; otherwise: N
 * ms before the response), X-Mock-Hang: 1 (headers and the first event, then
 * nothing until the client goes away), X-Mock-Hang: 2 (not even headers).
 *
 * Speed: libmicrohttpd with a pool of epoll threads answers the common
 * requests from one buffer built without a JSON tree.  Every string that
 * comes from a request is escaped by cJSON's printer.  A slow stream must
 * not hold a pool thread: it parks its connection with
 * MHD_suspend_connection() (from the content reader, or from the request
 * handler before any response) and one timer thread resumes it at its
 * deadline, so 1000 slow streams cost 1000 heap entries, not 1000 sleeping
 * threads.  (MHD_USE_THREAD_PER_CONNECTION would also work for drips but
 * costs a thread per benchmark connection.)  A parked connection is not
 * polled by libmicrohttpd, so each wake-up checks for POLLRDHUP itself: a
 * client that went away ends the stream with an error and counts as
 * cancelled.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <iconv.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define BODY_MAX (64u << 20)
#define DEFAULT_TEXT "Hello from the mock. "
#define REASONING "The user greets me, so I greet back."
#define TOOL_MARKER "[[tool:"
#define TOOL_RESULT_CHARS 200
#define CREATED "1700000000"
#define HANG_POLL_NS (100 * 1000000ull)
#define WORDS_MAX 10000000L
#define DRIP_MAX_MS 600000L

struct mock_options {
	const char *listen;
	const char *tls_cert;
	const char *tls_key;
	const char *record;
	const char *key;
	const char *judge_answer;
	unsigned threads;
	bool quiet;
};

typedef int (*hash_fast_fn)(gnutls_digest_algorithm_t algo, const void *text, size_t len, void *digest);

static struct {
	struct mock_options o;
	int record_fd;
	char *judge_text; /* --judge-answer FILE's text */
	pthread_mutex_t record_lock;
	hash_fast_fn sha256;
	atomic_bool stopping;
	atomic_ulong requests, completed, cancelled, open;
} g = {.record_fd = -EBADF, .record_lock = PTHREAD_MUTEX_INITIALIZER};

__attribute__((format(printf, 2, 3))) static int log_errno(int r, const char *fmt, ...)
{
	va_list ap;

	fputs("mock-llm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (r < 0)
		fprintf(stderr, ": %s", strerror(-r));
	fputc('\n', stderr);
	return r;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- string builder ---------------------------------------------------- */

/* A growable NUL-terminated buffer; after a failed allocation it stays
 * "oom" and ignores writes, so builders check once at the end. */
struct sb {
	char *p;
	size_t len, cap;
	bool oom;
};

static bool sb_reserve(struct sb *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->cap - b->len > extra)
		return true;
	cap = b->cap ? b->cap : 512;
	while (cap - b->len <= extra)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void sb_put(struct sb *b, const char *s, size_t n)
{
	if (!sb_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

#define sb_lit(b, s) sb_put((b), "" s, sizeof(s) - 1)

static void sb_puts(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_putu(struct sb *b, unsigned long long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", v);

	sb_put(b, num, (size_t)n);
}

static void sb_free(struct sb *b)
{
	free(b->p);
	*b = (struct sb){0};
}

/* Appends s[0..n) as a JSON string literal.  Strings without characters
 * JSON must escape are copied; the others go through cJSON's printer (a
 * string node on the stack, printed into the reserved space: no
 * allocation).  scratch holds a NUL-terminated copy when s[n] is not NUL. */
static void sb_json_strn(struct sb *b, const char *s, size_t n, struct sb *scratch)
{
	cJSON item = {0};
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\')
			break;
	}
	if (i == n) {
		if (!sb_reserve(b, n + 2))
			return;
		b->p[b->len++] = '"';
		memcpy(b->p + b->len, s, n);
		b->len += n;
		b->p[b->len++] = '"';
		b->p[b->len] = '\0';
		return;
	}
	if (s[n] != '\0') {
		scratch->len = 0;
		sb_put(scratch, s, n);
		if (scratch->oom) {
			b->oom = true;
			return;
		}
		s = scratch->p;
	}
	/* Worst case \u00XX for every byte, quotes, cJSON's 5 bytes of slack. */
	if (n > (INT_MAX - 16) / 6 || !sb_reserve(b, 6 * n + 16)) {
		b->oom = true;
		return;
	}
	item.type = cJSON_String;
	item.valuestring = (char *)s;
	if (!cJSON_PrintPreallocated(&item, b->p + b->len, (int)(b->cap - b->len), false)) {
		b->oom = true;
		return;
	}
	b->len += strlen(b->p + b->len);
}

static void sb_json_str(struct sb *b, const char *s)
{
	sb_json_strn(b, s, strlen(s), NULL);
}

/* ---- timer thread: resumes parked connections at their deadline --------- */

struct park {
	uint64_t due;
	struct MHD_Connection *conn;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct park *heap;
	size_t n, cap;
	bool stop;
	pthread_t thread;
} tm = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void heap_swap(size_t a, size_t b)
{
	struct park t = tm.heap[a];

	tm.heap[a] = tm.heap[b];
	tm.heap[b] = t;
}

static struct MHD_Connection *heap_pop(void)
{
	struct MHD_Connection *conn = tm.heap[0].conn;
	size_t i = 0;

	tm.heap[0] = tm.heap[--tm.n];
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < tm.n && tm.heap[l].due < tm.heap[m].due)
			m = l;
		if (l + 1 < tm.n && tm.heap[l + 1].due < tm.heap[m].due)
			m = l + 1;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
	return conn;
}

/* Hands a connection the caller has just suspended to the timer thread,
 * which resumes it at due (CLOCK_MONOTONIC ns).  Once stopping (or without
 * memory) it is resumed at once: it must never stay suspended, or
 * MHD_stop_daemon() panics. */
static void park_connection(struct MHD_Connection *conn, uint64_t due)
{
	size_t i;

	pthread_mutex_lock(&tm.lock);
	if (!tm.stop && tm.n == tm.cap) {
		size_t cap = tm.cap ? 2 * tm.cap : 1024;
		struct park *heap = reallocarray(tm.heap, cap, sizeof(*heap));
		if (heap) {
			tm.heap = heap;
			tm.cap = cap;
		}
	}
	if (tm.stop || tm.n == tm.cap) {
		pthread_mutex_unlock(&tm.lock);
		MHD_resume_connection(conn);
		return;
	}
	i = tm.n++;
	tm.heap[i] = (struct park){due, conn};
	while (i > 0 && tm.heap[(i - 1) / 2].due > tm.heap[i].due) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	if (i == 0)
		pthread_cond_signal(&tm.cond);
	pthread_mutex_unlock(&tm.lock);
}

static void *timer_main(void *arg)
{
	pthread_mutex_lock(&tm.lock);
	while (!tm.stop) {
		struct timespec ts;
		uint64_t now = now_ns();

		if (tm.n == 0) {
			pthread_cond_wait(&tm.cond, &tm.lock);
			continue;
		}
		if (tm.heap[0].due <= now) {
			struct MHD_Connection *conn = heap_pop();
			pthread_mutex_unlock(&tm.lock);
			MHD_resume_connection(conn);
			pthread_mutex_lock(&tm.lock);
			continue;
		}
		ts.tv_sec = (time_t)(tm.heap[0].due / 1000000000ull);
		ts.tv_nsec = (long)(tm.heap[0].due % 1000000000ull);
		pthread_cond_timedwait(&tm.cond, &tm.lock, &ts);
	}
	while (tm.n > 0)
		MHD_resume_connection(heap_pop());
	pthread_mutex_unlock(&tm.lock);
	return NULL;
}

static int timer_start(void)
{
	pthread_condattr_t ca;
	int r;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&tm.cond, &ca);
	pthread_condattr_destroy(&ca);
	if (r == 0)
		r = pthread_create(&tm.thread, NULL, timer_main, NULL);
	if (r != 0)
		return log_errno(-r, "cannot start the timer thread");
	return 0;
}

/* Resumes every parked connection and ends the timer thread. */
static void timer_stop(void)
{
	pthread_mutex_lock(&tm.lock);
	tm.stop = true;
	pthread_cond_signal(&tm.cond);
	pthread_mutex_unlock(&tm.lock);
	pthread_join(tm.thread, NULL);
	free(tm.heap);
}

/* True when the peer closed or reset the connection (checked on wake-ups
 * of parked connections, which libmicrohttpd does not poll). */
static bool client_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};

	return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static int connection_fd(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci ? ci->connect_fd : -EBADF;
}

/* ---- the answer: what to say, derived from the request ------------------ */

enum api { API_OPENAI, API_ANTHROPIC };

struct answer {
	enum api api;
	bool stream;
	char *model;
	const char *text; /* DEFAULT_TEXT or text_owned; NULL: "w1 .. wN" */
	char *text_owned;
	long words;
	bool plain; /* no reasoning ([[slow:N:MS:plain]]) */
	char *tool_name; /* non-NULL: answer with a tool call */
	char *tool_args; /* its arguments, compact JSON */
	size_t cuts[4]; /* streamed pieces: tool_args[cuts[i] .. cuts[i + 1]) */
	unsigned pieces;
	unsigned long long prompt_tokens, completion_tokens;
};

static void answer_done(struct answer *a)
{
	free(a->model);
	free(a->text_owned);
	free(a->tool_name);
	free(a->tool_args);
	*a = (struct answer){0};
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Iterates the deltas of a text: leading blanks, a word, trailing blanks.
 * Their concatenation is the text. */
struct words {
	const char *s;
	size_t len, pos;
	long n, i; /* s == NULL: generated "w1 w2 .. wN" */
	char gen[32];
};

static void words_init(struct words *w, const char *s, long n)
{
	*w = (struct words){.s = s, .len = s ? strlen(s) : 0, .n = n};
}

/* Returns the next delta in *p, *n; false at the end. */
static bool words_next(struct words *w, const char **p, size_t *n)
{
	size_t e;

	if (!w->s) {
		if (w->i >= w->n)
			return false;
		w->i++;
		*n = (size_t)snprintf(w->gen, sizeof(w->gen), w->i < w->n ? "w%ld " : "w%ld", w->i);
		*p = w->gen;
		return true;
	}
	if (w->pos >= w->len)
		return false;
	e = w->pos;
	while (e < w->len && is_blank(w->s[e]))
		e++;
	while (e < w->len && !is_blank(w->s[e]))
		e++;
	while (e < w->len && is_blank(w->s[e]))
		e++;
	*p = w->s + w->pos;
	*n = e - w->pos;
	w->pos = e;
	return true;
}

static unsigned long long words_count(const char *s, long n)
{
	unsigned long long c = 0;
	struct words w;
	const char *p;
	size_t len;

	if (!s)
		return (unsigned long long)n;
	words_init(&w, s, 0);
	while (words_next(&w, &p, &len))
		c++;
	return c;
}

static bool has_string(const cJSON *o, const char *key, const char *value)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && strcmp(v->valuestring, value) == 0;
}

/* Appends the text of a message content: a string, or the "text" of every
 * {"type":"text"} part of an array, concatenated. */
static void content_text(const cJSON *content, struct sb *out)
{
	const cJSON *part;

	if (cJSON_IsString(content)) {
		sb_puts(out, content->valuestring);
		return;
	}
	cJSON_ArrayForEach(part, content)
	{
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
		if (has_string(part, "type", "text") && cJSON_IsString(text))
			sb_puts(out, text->valuestring);
	}
}

/* If the last message is a tool result (OpenAI: role "tool"; Anthropic: a
 * user message with a "tool_result" block, the first one counts), appends
 * its text to out and returns true. */
static bool tool_result(enum api api, const cJSON *last, struct sb *out)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(last, "content"), *block;

	if (api == API_OPENAI) {
		if (!has_string(last, "role", "tool"))
			return false;
		content_text(content, out);
		return true;
	}
	if (!has_string(last, "role", "user"))
		return false;
	cJSON_ArrayForEach(block, content)
	{
		if (has_string(block, "type", "tool_result")) {
			content_text(cJSON_GetObjectItemCaseSensitive(block, "content"), out);
			return true;
		}
	}
	return false;
}

/* "Tool said: " and the first TOOL_RESULT_CHARS characters (code points) of
 * s; NULL without memory. */
static char *tool_said(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned chars = 0;
	size_t i = 0;
	char *t;

	while (u[i] && chars < TOOL_RESULT_CHARS) {
		i++;
		while ((u[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	if (asprintf(&t, "Tool said: %.*s", (int)i, s) < 0)
		return NULL;
	return t;
}

/* Finds the first well-formed [[tool:NAME ARGS]] in text (ARGS a JSON
 * object, {} when left out).  Returns 1 with *name and *args (compact JSON)
 * set, 0 when there is none, -ENOMEM. */
static int find_marker(const char *text, char **name, char **args)
{
	const char *m = text;

	while ((m = strstr(m, TOOL_MARKER))) {
		const char *n0 = m + strlen(TOOL_MARKER), *p = n0, *end;
		cJSON *v = NULL;
		size_t nlen;

		m = n0;
		while (*p && !is_blank(*p) && *p != ']' && *p != '{')
			p++;
		nlen = (size_t)(p - n0);
		if (nlen == 0)
			continue;
		while (is_blank(*p))
			p++;
		if (p[0] == ']' && p[1] == ']') {
			v = cJSON_CreateObject();
			if (!v)
				return -ENOMEM;
		} else {
			v = cJSON_ParseWithOpts(p, &end, false);
			if (!cJSON_IsObject(v)) {
				cJSON_Delete(v);
				continue;
			}
			while (is_blank(*end))
				end++;
			if (end[0] != ']' || end[1] != ']') {
				cJSON_Delete(v);
				continue;
			}
		}
		*args = cJSON_PrintUnformatted(v);
		cJSON_Delete(v);
		*name = strndup(n0, nlen);
		if (!*args || !*name) {
			free(*args);
			free(*name);
			*args = *name = NULL;
			return -ENOMEM;
		}
		return 1;
	}
	return 0;
}

/* Splits the tool arguments into up to three non-empty pieces, never
 * inside a UTF-8 sequence. */
static void answer_cut_args(struct answer *a)
{
	const unsigned char *s = (const unsigned char *)a->tool_args;
	size_t len = strlen(a->tool_args), n = len < 3 ? len : 3, i;

	a->pieces = 0;
	a->cuts[0] = 0;
	for (i = 1; i < n; i++) {
		size_t c = i * len / n;
		while (c < len && (s[c] & 0xc0) == 0x80)
			c++;
		if (c > a->cuts[a->pieces] && c < len)
			a->cuts[++a->pieces] = c;
	}
	a->cuts[++a->pieces] = len;
}

/* Fills a from the request body req (body_len bytes); words is
 * X-Mock-Words (-1: none).  Returns 0 or -ENOMEM. */
static int answer_build(struct answer *a, enum api api, const cJSON *req, size_t body_len, long words)
{
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(req, "tools");
	const cJSON *last = NULL, *tail_user = NULL, *m;
	struct sb t = {0};
	int r = 0;

	a->api = api;
	a->stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "stream"));
	a->model = strdup(cJSON_IsString(model) ? model->valuestring : "mock");
	if (!a->model)
		return -ENOMEM;
	if (cJSON_IsArray(msgs)) {
		cJSON_ArrayForEach(m, msgs)
		{
			last = m;
			if (!has_string(m, "role", "user"))
				tail_user = NULL;
			else if (!tail_user)
				tail_user = m;
		}
	}

	if (g.judge_text) {
		a->text = g.judge_text;
	} else if (last && tool_result(api, last, &t)) {
		if (t.oom || !(a->text = a->text_owned = tool_said(t.p ? t.p : "")))
			r = -ENOMEM;
	} else if (tail_user && cJSON_GetArraySize(tools) > 0) {
		for (m = tail_user; m; m = m->next) {
			content_text(cJSON_GetObjectItemCaseSensitive(m, "content"), &t);
			sb_puts(&t, "\n");
		}
		if (t.oom)
			r = -ENOMEM;
		else if (t.p && (r = find_marker(t.p, &a->tool_name, &a->tool_args)) > 0)
			answer_cut_args(a);
	}
	/* A tool result followed only by user messages without a marker (the
	 * context OpenClaw appends after a tool result) still gets its answer. */
	if (r == 0 && !a->text && !a->tool_name && tail_user && tail_user->prev) {
		sb_free(&t);
		t = (struct sb){0};
		if (tool_result(api, tail_user->prev, &t) &&
		    (t.oom || !(a->text = a->text_owned = tool_said(t.p ? t.p : ""))))
			r = -ENOMEM;
	}
	sb_free(&t);
	if (r < 0)
		return r;
	if (!a->text && !a->tool_name) {
		if (words >= 0)
			a->words = words;
		else
			a->text = DEFAULT_TEXT;
	}
	a->prompt_tokens = (body_len + 3) / 4;
	a->completion_tokens =
	    words_count(REASONING, 0) + (a->tool_name ? 1 : words_count(a->text, a->words));
	return 0;
}

/* ---- non-streaming bodies ---------------------------------------------- */

static void put_text(struct sb *b, const struct answer *a)
{
	long i;

	if (a->text) {
		sb_json_str(b, a->text);
		return;
	}
	sb_lit(b, "\"");
	for (i = 1; i <= a->words; i++) {
		sb_lit(b, "w");
		sb_putu(b, (unsigned long long)i);
		if (i < a->words)
			sb_lit(b, " ");
	}
	sb_lit(b, "\"");
}

static void put_openai_usage(struct sb *b, const struct answer *a)
{
	sb_lit(b, "{\"prompt_tokens\":");
	sb_putu(b, a->prompt_tokens);
	sb_lit(b, ",\"completion_tokens\":");
	sb_putu(b, a->completion_tokens);
	sb_lit(b, ",\"total_tokens\":");
	sb_putu(b, a->prompt_tokens + a->completion_tokens);
	sb_lit(b, "}");
}

static void body_openai(struct sb *b, const struct answer *a)
{
	sb_lit(b,
	       "{\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion\",\"created\":" CREATED ",\"model\":");
	sb_json_str(b, a->model);
	sb_lit(b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
	if (a->tool_name)
		sb_lit(b, "null");
	else
		put_text(b, a);
	sb_lit(b, ",\"reasoning_content\":\"" REASONING "\"");
	if (a->tool_name) {
		sb_lit(
		    b,
		    ",\"tool_calls\":[{\"id\":\"call_mock1\",\"type\":\"function\",\"function\":{\"name\":");
		sb_json_str(b, a->tool_name);
		sb_lit(b, ",\"arguments\":");
		sb_json_str(b, a->tool_args);
		sb_lit(b, "}}]");
	}
	sb_lit(b, "},\"finish_reason\":");
	sb_puts(b, a->tool_name ? "\"tool_calls\"" : "\"stop\"");
	sb_lit(b, "}],\"usage\":");
	put_openai_usage(b, a);
	sb_lit(b, "}");
}

static void body_anthropic(struct sb *b, const struct answer *a)
{
	sb_lit(b, "{\"id\":\"msg_mock\",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
	sb_json_str(b, a->model);
	sb_lit(b,
	       ",\"content\":[{\"type\":\"thinking\",\"thinking\":\"" REASONING "\",\"signature\":\"sig\"},");
	if (a->tool_name) {
		sb_lit(b, "{\"type\":\"tool_use\",\"id\":\"toolu_mock1\",\"name\":");
		sb_json_str(b, a->tool_name);
		sb_lit(b, ",\"input\":");
		sb_puts(b, a->tool_args); /* printed by cJSON */
		sb_lit(b, "}],\"stop_reason\":\"tool_use\"");
	} else {
		sb_lit(b, "{\"type\":\"text\",\"text\":");
		put_text(b, a);
		sb_lit(b, "}],\"stop_reason\":\"end_turn\"");
	}
	sb_lit(b, ",\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
	sb_putu(b, a->prompt_tokens);
	sb_lit(b, ",\"output_tokens\":");
	sb_putu(b, a->completion_tokens);
	sb_lit(b, "}}");
}

/* ---- streams ------------------------------------------------------------ */

enum phase {
	PH_START, /* OpenAI role chunk / message_start */
	PH_R_OPEN, /* thinking block start (Anthropic) */
	PH_R_WORDS, /* reasoning deltas */
	PH_R_SIG, /* signature_delta (Anthropic) */
	PH_R_CLOSE, /* thinking block stop (Anthropic) */
	PH_B_OPEN, /* text / tool_use block start, OpenAI tool call head */
	PH_B_PIECES, /* text deltas or argument pieces */
	PH_B_CLOSE, /* block stop (Anthropic) */
	PH_FINAL, /* finish_reason + usage / message_delta */
	PH_END, /* [DONE] / message_stop */
	PH_DONE,
};

/* One streaming response (or, without sse, a non-streaming one that hangs
 * after its headers).  Events are generated on demand into out. */
struct stream {
	struct answer a;
	struct MHD_Connection *conn;
	int fd;
	bool sse;
	bool hang; /* X-Mock-Hang: 1: nothing after the first event */
	enum phase phase;
	struct words w;
	unsigned piece;
	unsigned events;
	uint64_t drip_ns, due_ns;
	struct sb out, tmp, prefix;
	size_t out_off;
};

static void stream_free(void *cls)
{
	struct stream *st = cls;

	answer_done(&st->a);
	sb_free(&st->out);
	sb_free(&st->tmp);
	sb_free(&st->prefix);
	free(st);
}

static void oa_begin(struct stream *st)
{
	sb_put(&st->out, st->prefix.p, st->prefix.len);
}

static void oa_end(struct stream *st)
{
	sb_lit(&st->out, ",\"finish_reason\":null}]}\n\n");
}

static void put_piece(struct stream *st)
{
	const struct answer *a = &st->a;

	sb_json_strn(&st->out, a->tool_args + a->cuts[st->piece], a->cuts[st->piece + 1] - a->cuts[st->piece],
		     &st->tmp);
	st->piece++;
}

/* Appends the next OpenAI chunk; false when this step emitted nothing. */
static bool oa_next(struct stream *st)
{
	struct sb *o = &st->out;
	const char *p;
	size_t n;

	switch (st->phase) {
	case PH_START:
		oa_begin(st);
		sb_lit(o, "{\"role\":\"assistant\",\"content\":\"\"}");
		oa_end(st);
		words_init(&st->w, REASONING, 0);
		st->phase = st->a.plain ? PH_B_OPEN : PH_R_WORDS;
		return true;
	case PH_R_WORDS:
		if (!words_next(&st->w, &p, &n)) {
			st->phase = PH_B_OPEN;
			return false;
		}
		oa_begin(st);
		sb_lit(o, "{\"reasoning_content\":");
		sb_json_strn(o, p, n, &st->tmp);
		sb_lit(o, "}");
		oa_end(st);
		return true;
	case PH_B_OPEN:
		st->phase = PH_B_PIECES;
		if (!st->a.tool_name) {
			words_init(&st->w, st->a.text, st->a.words);
			return false;
		}
		oa_begin(st);
		sb_lit(
		    o,
		    "{\"tool_calls\":[{\"index\":0,\"id\":\"call_mock1\",\"type\":\"function\",\"function\":{"
		    "\"name\":");
		sb_json_str(o, st->a.tool_name);
		sb_lit(o, ",\"arguments\":\"\"}}]}");
		oa_end(st);
		return true;
	case PH_B_PIECES:
		if (st->a.tool_name) {
			if (st->piece >= st->a.pieces) {
				st->phase = PH_FINAL;
				return false;
			}
			oa_begin(st);
			sb_lit(o, "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":");
			put_piece(st);
			sb_lit(o, "}}]}");
			oa_end(st);
			return true;
		}
		if (!words_next(&st->w, &p, &n)) {
			st->phase = PH_FINAL;
			return false;
		}
		oa_begin(st);
		sb_lit(o, "{\"content\":");
		sb_json_strn(o, p, n, &st->tmp);
		sb_lit(o, "}");
		oa_end(st);
		return true;
	case PH_FINAL:
		oa_begin(st);
		sb_lit(o, "{},\"finish_reason\":");
		sb_puts(o, st->a.tool_name ? "\"tool_calls\"" : "\"stop\"");
		sb_lit(o, "}],\"usage\":");
		put_openai_usage(o, &st->a);
		sb_lit(o, "}\n\n");
		st->phase = PH_END;
		return true;
	case PH_END:
		sb_lit(o, "data: [DONE]\n\n");
		st->phase = PH_DONE;
		return true;
	default: st->phase = PH_DONE; return false;
	}
}

static void an_begin(struct stream *st, const char *event)
{
	sb_lit(&st->out, "event: ");
	sb_puts(&st->out, event);
	sb_lit(&st->out, "\ndata: ");
}

/* Appends the next Anthropic event; false when this step emitted nothing. */
static bool an_next(struct stream *st)
{
	struct sb *o = &st->out;
	const char *p;
	size_t n;

	switch (st->phase) {
	case PH_START:
		an_begin(st, "message_start");
		sb_lit(o,
		       "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock\",\"type\":\"message\","
		       "\"role\":\"assistant\",\"model\":");
		sb_json_str(o, st->a.model);
		sb_lit(o,
		       ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{"
		       "\"input_tokens\":");
		sb_putu(o, st->a.prompt_tokens);
		sb_lit(o, ",\"output_tokens\":1}}}\n\n");
		st->phase = PH_R_OPEN;
		return true;
	case PH_R_OPEN:
		an_begin(st, "content_block_start");
		sb_lit(
		    o,
		    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\","
		    "\"thinking\":\"\",\"signature\":\"\"}}\n\n");
		words_init(&st->w, REASONING, 0);
		st->phase = PH_R_WORDS;
		return true;
	case PH_R_WORDS:
		if (!words_next(&st->w, &p, &n)) {
			st->phase = PH_R_SIG;
			return false;
		}
		an_begin(st, "content_block_delta");
		sb_lit(o,
		       "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
		       "\"thinking\":");
		sb_json_strn(o, p, n, &st->tmp);
		sb_lit(o, "}}\n\n");
		return true;
	case PH_R_SIG:
		an_begin(st, "content_block_delta");
		sb_lit(
		    o,
		    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\","
		    "\"signature\":\"sig\"}}\n\n");
		st->phase = PH_R_CLOSE;
		return true;
	case PH_R_CLOSE:
		an_begin(st, "content_block_stop");
		sb_lit(o, "{\"type\":\"content_block_stop\",\"index\":0}\n\n");
		st->phase = PH_B_OPEN;
		return true;
	case PH_B_OPEN:
		an_begin(st, "content_block_start");
		if (st->a.tool_name) {
			sb_lit(o,
			       "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
			       "\"type\":\"tool_use\",\"id\":\"toolu_mock1\",\"name\":");
			sb_json_str(o, st->a.tool_name);
			sb_lit(o, ",\"input\":{}}}\n\n");
		} else {
			sb_lit(o,
			       "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
			       "\"type\":\"text\",\"text\":\"\"}}\n\n");
			words_init(&st->w, st->a.text, st->a.words);
		}
		st->phase = PH_B_PIECES;
		return true;
	case PH_B_PIECES:
		if (st->a.tool_name) {
			if (st->piece >= st->a.pieces) {
				st->phase = PH_B_CLOSE;
				return false;
			}
			an_begin(st, "content_block_delta");
			sb_lit(o,
			       "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{"
			       "\"type\":\"input_json_delta\",\"partial_json\":");
			put_piece(st);
			sb_lit(o, "}}\n\n");
			return true;
		}
		if (!words_next(&st->w, &p, &n)) {
			st->phase = PH_B_CLOSE;
			return false;
		}
		an_begin(st, "content_block_delta");
		sb_lit(o,
		       "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
		       "\"text\":");
		sb_json_strn(o, p, n, &st->tmp);
		sb_lit(o, "}}\n\n");
		return true;
	case PH_B_CLOSE:
		an_begin(st, "content_block_stop");
		sb_lit(o, "{\"type\":\"content_block_stop\",\"index\":1}\n\n");
		st->phase = PH_FINAL;
		return true;
	case PH_FINAL:
		an_begin(st, "message_delta");
		sb_lit(o, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":");
		sb_puts(o, st->a.tool_name ? "\"tool_use\"" : "\"end_turn\"");
		sb_lit(o, ",\"stop_sequence\":null},\"usage\":{\"output_tokens\":");
		sb_putu(o, st->a.completion_tokens);
		sb_lit(o, "}}\n\n");
		st->phase = PH_END;
		return true;
	case PH_END:
		an_begin(st, "message_stop");
		sb_lit(o, "{\"type\":\"message_stop\"}\n\n");
		st->phase = PH_DONE;
		return true;
	default: st->phase = PH_DONE; return false;
	}
}

/* Appends the next event to st->out; false once the stream is complete. */
static bool stream_next(struct stream *st)
{
	if (!st->sse)
		return false;
	while (st->phase != PH_DONE) {
		if (st->a.api == API_OPENAI ? oa_next(st) : an_next(st)) {
			st->events++;
			return true;
		}
	}
	return false;
}

static bool stream_hung(const struct stream *st)
{
	return st->hang && st->events >= (st->sse ? 1u : 0u);
}

/* Parks the stream's connection until due (the content reader then
 * returns 0, "no data yet"); ends the stream if its client went away. */
static ssize_t stream_park(struct stream *st, uint64_t due)
{
	if (client_gone(st->fd))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	MHD_suspend_connection(st->conn);
	park_connection(st->conn, due);
	return 0;
}

/* libmicrohttpd's content reader: copies pending event bytes, generating
 * events as needed (all that fit, or one per drip interval). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	size_t n;

	if (atomic_load_explicit(&g.stopping, memory_order_relaxed))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (st->out_off == st->out.len) {
		uint64_t now = now_ns();

		st->out.len = st->out_off = 0;
		if (stream_hung(st))
			return stream_park(st, now + HANG_POLL_NS);
		if (st->drip_ns) {
			if (now < st->due_ns)
				return stream_park(st, st->due_ns);
			st->due_ns = now + st->drip_ns;
			stream_next(st);
		} else {
			while (st->out.len < max && !stream_hung(st) && stream_next(st))
				;
		}
		if (st->out.oom)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (st->out.len == 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = st->out.len - st->out_off;
	if (n > max)
		n = max;
	memcpy(buf, st->out.p + st->out_off, n);
	st->out_off += n;
	return (ssize_t)n;
}

/* ---- requests ----------------------------------------------------------- */

enum route { RT_OPENAI, RT_ANTHROPIC, RT_HEALTH, RT_STATS, RT_RESET, RT_OTHER };

/* Per-request state, created by the URI log callback (so that the raw
 * path with its query is kept) and freed when the request completes. */
struct req {
	struct MHD_Connection *conn;
	const char *method;
	enum route route;
	bool started, counted, too_big, oom;
	bool parked; /* suspended before a response was queued */
	bool hang; /* X-Mock-Hang: 2 */
	char *body; /* NUL-terminated */
	size_t len, cap;
	size_t seen; /* body bytes received, kept or not */
	struct MHD_Response *delayed; /* a response waiting for X-Mock-Drip-Ms */
	uint64_t due;
	char uri[];
};

static void log_request(const struct req *r, unsigned status, const char *what)
{
	if (!g.o.quiet)
		fprintf(stderr, "mock-llm: %s %s -> %u%s\n", r->method, r->uri, status, what);
}

/* Queues body (taken over) as a response; MHD_NO closes the connection. */
static enum MHD_Result respond(struct req *r, unsigned status, const char *ctype, struct sb *body)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (body->oom) {
		sb_free(body);
		return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(body->len, body->p, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		sb_free(body);
		return MHD_NO;
	}
	*body = (struct sb){0};
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	log_request(r, status, "");
	return ret;
}

/* An error in the shape of the route's provider (OpenAI's elsewhere). */
static enum MHD_Result respond_error(struct req *r, unsigned status, const char *type, const char *message)
{
	struct sb b = {0};

	if (r->route == RT_ANTHROPIC) {
		sb_lit(&b, "{\"type\":\"error\",\"error\":{\"type\":");
		sb_json_str(&b, type);
		sb_lit(&b, ",\"message\":");
		sb_json_str(&b, message);
		sb_lit(&b, "}}");
	} else {
		sb_lit(&b, "{\"error\":{\"message\":");
		sb_json_str(&b, message);
		sb_lit(&b, ",\"type\":");
		sb_json_str(&b, type);
		sb_lit(&b, "}}");
	}
	return respond(r, status, "application/json", &b);
}

static enum MHD_Result req_park(struct req *r, uint64_t due)
{
	r->parked = true;
	r->due = due;
	MHD_suspend_connection(r->conn);
	park_connection(r->conn, due);
	return MHD_YES;
}

/* The handler's call after a parked request was resumed: give up if the
 * client left, park again, or queue the delayed response. */
static enum MHD_Result req_resumed(struct req *r)
{
	struct MHD_Response *resp = r->delayed;
	uint64_t now = now_ns();
	enum MHD_Result ret;

	if (atomic_load(&g.stopping) || client_gone(connection_fd(r->conn)))
		return MHD_NO;
	if (r->hang)
		return req_park(r, now + HANG_POLL_NS);
	if (now < r->due)
		return req_park(r, r->due);
	r->parked = false;
	r->delayed = NULL;
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	log_request(r, MHD_HTTP_OK, " (delayed)");
	return ret;
}

static bool key_ok(const struct req *r)
{
	const char *v;

	if (!g.o.key)
		return true;
	if (r->route == RT_ANTHROPIC) {
		v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "x-api-key");
		return v && strcmp(v, g.o.key) == 0;
	}
	v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	return v && strncmp(v, "Bearer ", 7) == 0 && strcmp(v + 7, g.o.key) == 0;
}

/* Reads control header name as an integer in [min, max] into *v (left
 * alone when the header is absent).  Returns 0 or -EINVAL. */
static int header_long(const struct req *r, const char *name, long min, long max, long *v)
{
	const char *s = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
	char *end;
	long x;

	if (!s)
		return 0;
	errno = 0;
	x = strtol(s, &end, 10);
	if (errno || end == s || *end || x < min || x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

static enum MHD_Result respond_stream(struct req *r, struct answer *a, long drip_ms, bool hang)
{
	struct MHD_Response *resp;
	struct stream *st;
	enum MHD_Result ret;

	st = calloc(1, sizeof(*st));
	if (!st) {
		answer_done(a);
		return MHD_NO;
	}
	st->a = *a;
	*a = (struct answer){0};
	st->conn = r->conn;
	st->fd = connection_fd(r->conn);
	st->sse = st->a.stream;
	st->hang = hang;
	st->drip_ns = st->sse ? (uint64_t)drip_ms * 1000000ull : 0;
	st->due_ns = now_ns() + st->drip_ns;
	if (st->sse && st->a.api == API_OPENAI) {
		sb_lit(&st->prefix,
		       "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\","
		       "\"created\":" CREATED ",\"model\":");
		sb_json_str(&st->prefix, st->a.model);
		sb_lit(&st->prefix, ",\"choices\":[{\"index\":0,\"delta\":");
	}
	resp = st->prefix.oom
	    ? NULL
	    : MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
	if (!resp) {
		stream_free(st);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				st->sse ? "text/event-stream" : "application/json");
	if (st->sse)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	log_request(r, MHD_HTTP_OK, st->sse ? " (stream)" : " (hang)");
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result respond_answer(struct req *r, struct answer *a, long drip_ms)
{
	struct MHD_Response *resp;
	struct sb b = {0};

	if (a->api == API_OPENAI)
		body_openai(&b, a);
	else
		body_anthropic(&b, a);
	answer_done(a);
	if (drip_ms == 0)
		return respond(r, MHD_HTTP_OK, "application/json", &b);
	if (b.oom)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		sb_free(&b);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	r->delayed = resp;
	return req_park(r, now_ns() + (uint64_t)drip_ms * 1000000ull);
}

/* The body as one JSON value with nothing but blanks after it; NULL if it
 * is not. */
static cJSON *parse_body(const struct req *r)
{
	const char *body = r->body ? r->body : "", *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(body, r->len, &end, false);

	if (!v)
		return NULL;
	while (end < body + r->len && is_blank(*end))
		end++;
	if (end != body + r->len) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/* [[slow:N:MS]] or [[slow:N:MS:plain]] in the last user message that is
 * not OpenClaw's own context (it appends one, <<<BEGIN_OPENCLAW_INTERNAL_
 * CONTEXT>>>, after the user's): N words, MS ms apart; "plain": no
 * reasoning before them.  Only the last one: an earlier message that was
 * aborted stays in the history unanswered. */
static void slow_marker(const cJSON *req, long *words, long *drip, bool *plain)
{
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages"), *m;
	struct sb last = {0};
	const char *p;
	long n, ms;
	int end = 0;

	cJSON_ArrayForEach(m, msgs)
	{
		struct sb t = {0};
		if (!has_string(m, "role", "user"))
			continue;
		content_text(cJSON_GetObjectItemCaseSensitive(m, "content"), &t);
		if (t.p && !strstr(t.p, "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>")) {
			sb_free(&last);
			last = t;
		} else
			sb_free(&t);
	}
	p = last.p ? strstr(last.p, "[[slow:") : NULL;
	if (p && sscanf(p, "[[slow:%ld:%ld%n", &n, &ms, &end) == 2 && n >= 0 && n <= WORDS_MAX && ms >= 0 &&
	    ms <= DRIP_MAX_MS && (strncmp(p + end, "]]", 2) == 0 || strncmp(p + end, ":plain]]", 8) == 0)) {
		*words = n;
		*drip = ms;
		*plain = p[end] == ':';
	}
	sb_free(&last);
}

/* POST /v1/chat/completions and /v1/messages, body complete. */
static enum MHD_Result handle_llm(struct req *r)
{
	long status = 0, drip = 0, words = -1, hang = 0;
	bool plain = false;
	struct answer a = {0};
	char msg[32];
	cJSON *req;
	int k;

	if (strcmp(r->method, MHD_HTTP_METHOD_POST) != 0)
		return respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "invalid_request_error",
				     "mock: use POST");
	if (!key_ok(r))
		return respond_error(r, MHD_HTTP_UNAUTHORIZED, "auth", "mock: bad key");
	if (header_long(r, "X-Mock-Status", 200, 599, &status) < 0 ||
	    header_long(r, "X-Mock-Drip-Ms", 0, DRIP_MAX_MS, &drip) < 0 ||
	    header_long(r, "X-Mock-Words", 0, WORDS_MAX, &words) < 0 ||
	    header_long(r, "X-Mock-Hang", 0, 2, &hang) < 0)
		return respond_error(r, MHD_HTTP_BAD_REQUEST, "mock", "mock: bad X-Mock-* header");
	if (status > 0) {
		snprintf(msg, sizeof(msg), "mock error %ld", status);
		return respond_error(r, (unsigned)status, "mock", msg);
	}
	if (r->too_big)
		return respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "invalid_request_error",
				     "mock: body over 64 MiB");
	if (r->oom)
		return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "mock", "mock: out of memory");
	req = parse_body(r);
	if (!cJSON_IsObject(req)) {
		cJSON_Delete(req);
		return respond_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request_error",
				     "mock: body is not a JSON object");
	}
	if (words < 0 && drip == 0)
		slow_marker(req, &words, &drip, &plain);
	k = answer_build(&a, r->route == RT_ANTHROPIC ? API_ANTHROPIC : API_OPENAI, req, r->len, words);
	a.plain = plain;
	cJSON_Delete(req);
	free(r->body);
	r->body = NULL;
	if (k < 0) {
		answer_done(&a);
		return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "mock", "mock: out of memory");
	}
	if (hang == 2) {
		answer_done(&a);
		r->hang = true;
		log_request(r, 0, " (hang before headers)");
		return req_park(r, now_ns() + HANG_POLL_NS);
	}
	if (a.stream || hang == 1)
		return respond_stream(r, &a, drip, hang == 1);
	return respond_answer(r, &a, drip);
}

static enum MHD_Result handle_stats(struct req *r)
{
	struct sb b = {0};

	sb_lit(&b, "{\"requests\":");
	sb_putu(&b, atomic_load(&g.requests));
	sb_lit(&b, ",\"completed\":");
	sb_putu(&b, atomic_load(&g.completed));
	sb_lit(&b, ",\"cancelled\":");
	sb_putu(&b, atomic_load(&g.cancelled));
	sb_lit(&b, ",\"open\":");
	sb_putu(&b, atomic_load(&g.open));
	sb_lit(&b, "}");
	return respond(r, MHD_HTTP_OK, "application/json", &b);
}

/* ---- the request record (--record) -------------------------------------- */

static enum MHD_Result record_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	cJSON *hdrs = cls, *old;
	char *name = strdup(key), *joined = NULL, *c;

	if (!name)
		return MHD_YES;
	for (c = name; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	old = cJSON_GetObjectItemCaseSensitive(hdrs, name);
	if (!old)
		cJSON_AddStringToObject(hdrs, name, value ? value : "");
	else if (asprintf(&joined, "%s, %s", cJSON_GetStringValue(old), value ? value : "") >= 0)
		cJSON_ReplaceItemInObjectCaseSensitive(hdrs, name, cJSON_CreateString(joined));
	free(joined);
	free(name);
	return MHD_YES;
}

/* True if the body is text a JSON string can hold: UTF-8 (checked by
 * iconv) without NUL bytes. */
static bool body_is_text(const char *s, size_t n)
{
	char out[4096], *in = (char *)s;
	bool ok = memchr(s, '\0', n) == NULL;
	iconv_t cd;

	if (!ok || n == 0)
		return ok;
	cd = iconv_open("UTF-8", "UTF-8");
	if (cd == (iconv_t)-1)
		return false;
	while (ok && n > 0) {
		char *o = out;
		size_t ol = sizeof(out);
		if (iconv(cd, &in, &n, &o, &ol) == (size_t)-1 && errno != E2BIG)
			ok = false;
	}
	iconv_close(cd);
	return ok;
}

static char *hex(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

/* Appends one line describing the request to the --record file, with a
 * single write() under a mutex. */
static void record_request(const struct req *r)
{
	const char *body = r->body ? r->body : "";
	unsigned char digest[32];
	char *line = NULL, *s = NULL, *bhex = NULL;
	cJSON *o = cJSON_CreateObject(), *hdrs;
	size_t n, off = 0;
	bool text = !r->too_big && !r->oom && body_is_text(body, r->len);

	if (!o)
		goto oom;
	cJSON_AddStringToObject(o, "method", r->method);
	cJSON_AddStringToObject(o, "path", r->uri);
	hdrs = cJSON_AddObjectToObject(o, "headers");
	if (hdrs)
		MHD_get_connection_values(r->conn, MHD_HEADER_KIND, record_header, hdrs);
	if (r->too_big || r->oom) {
		cJSON_AddNullToObject(o, "body");
		cJSON_AddTrueToObject(o, "body_dropped");
	} else if (text) {
		cJSON_AddStringToObject(o, "body", body);
	} else {
		cJSON_AddNullToObject(o, "body");
		bhex = hex((const unsigned char *)body, r->len);
		if (!bhex)
			goto oom;
		cJSON_AddStringToObject(o, "body_hex", bhex);
	}
	cJSON_AddNumberToObject(o, "body_len", (double)r->seen);
	if (!r->too_big && !r->oom && g.sha256 && g.sha256(GNUTLS_DIG_SHA256, body, r->len, digest) == 0 &&
	    (s = hex(digest, 32)))
		cJSON_AddStringToObject(o, "body_sha256", s);
	else
		cJSON_AddNullToObject(o, "body_sha256");
	line = cJSON_PrintUnformatted(o);
	if (!line)
		goto oom;
	n = strlen(line);
	line[n] = '\n'; /* cJSON's NUL; the line is written by length */
	pthread_mutex_lock(&g.record_lock);
	while (off < n + 1) {
		ssize_t w = write(g.record_fd, line + off, n + 1 - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_errno(-errno, "cannot write %s", g.o.record);
			break;
		}
		off += (size_t)w;
	}
	pthread_mutex_unlock(&g.record_lock);
	goto out;
oom:
	log_errno(-ENOMEM, "cannot record %s %s", r->method, r->uri);
out:
	free(line);
	free(s);
	free(bhex);
	cJSON_Delete(o);
}

/* ---- libmicrohttpd callbacks -------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	size_t n = strlen(uri);
	struct req *r = calloc(1, sizeof(*r) + n + 1);

	if (r) {
		r->conn = conn;
		memcpy(r->uri, uri, n + 1);
	}
	return r;
}

static enum route route_of(const char *url)
{
	if (strcmp(url, "/v1/chat/completions") == 0)
		return RT_OPENAI;
	if (strcmp(url, "/v1/messages") == 0)
		return RT_ANTHROPIC;
	if (strcmp(url, "/health") == 0)
		return RT_HEALTH;
	if (strcmp(url, "/_mock/stats") == 0)
		return RT_STATS;
	if (strcmp(url, "/_mock/reset") == 0)
		return RT_RESET;
	return RT_OTHER;
}

/* First call, headers only: route, count, size the body buffer. */
static void req_start(struct req *r, const char *url, const char *method)
{
	const char *cl =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;

	r->started = true;
	r->method = method;
	r->route = route_of(url);
	r->counted = r->route != RT_HEALTH && r->route != RT_STATS && r->route != RT_RESET;
	if (r->counted) {
		atomic_fetch_add_explicit(&g.requests, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&g.open, 1, memory_order_relaxed);
	}
	if (len > BODY_MAX)
		r->too_big = true;
	else if (len > 0 && (r->body = malloc(len + 1)))
		r->cap = len + 1;
}

static void req_append(struct req *r, const char *data, size_t n)
{
	r->seen += n;
	if (r->too_big || r->oom)
		return;
	if (n > BODY_MAX - r->len) {
		r->too_big = true;
		free(r->body);
		r->body = NULL;
		r->len = r->cap = 0;
		return;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap * 2 > r->len + n + 1 ? r->cap * 2 : r->len + n + 1;
		char *p = realloc(r->body, cap);
		if (!p) {
			r->oom = true;
			return;
		}
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	static const char ok[] = "ok";
	struct req *r = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (!r->started) {
		req_start(r, url, method);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		req_append(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->parked)
		return req_resumed(r);
	if (r->counted && g.record_fd >= 0)
		record_request(r);
	switch (r->route) {
	case RT_OPENAI:
	case RT_ANTHROPIC: return handle_llm(r);
	case RT_HEALTH:
		resp = MHD_create_response_from_buffer(strlen(ok), (void *)ok, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
		ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
		MHD_destroy_response(resp);
		return ret;
	case RT_STATS: return handle_stats(r);
	case RT_RESET:
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "invalid_request_error",
					     "mock: use POST");
		atomic_store(&g.requests, 0);
		atomic_store(&g.completed, 0);
		atomic_store(&g.cancelled, 0);
		return handle_stats(r);
	default: return respond_error(r, MHD_HTTP_NOT_FOUND, "not_found", "mock: no such endpoint");
	}
}

/* Counts the request's outcome and frees its state.  Any end but
 * COMPLETED_OK (and daemon shutdown) means the client went away early. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	if (!r)
		return;
	if (r->counted) {
		atomic_fetch_sub_explicit(&g.open, 1, memory_order_relaxed);
		if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
			atomic_fetch_add_explicit(&g.completed, 1, memory_order_relaxed);
		else if (toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
			atomic_fetch_add_explicit(&g.cancelled, 1, memory_order_relaxed);
	}
	if (r->delayed)
		MHD_destroy_response(r->delayed);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* ---- setup -------------------------------------------------------------- */

static int read_file(const char *path, char **out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_errno(-errno, "cannot open %s", path);
	for (;;) {
		ssize_t n;
		if (cap - len < 4096) {
			char *p = realloc(buf, cap + 65536);
			if (!p) {
				r = log_errno(-ENOMEM, "cannot read %s", path);
				break;
			}
			buf = p;
			cap += 65536;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = log_errno(-errno, "cannot read %s", path);
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* Resolves ADDR:PORT ("[v6]:PORT", ":PORT" for any IPv4 address). */
static int resolve_listen(const char *spec, struct addrinfo **res)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	const char *h0 = spec, *h1, *port;
	char host[256], *end;
	long p;
	int r;

	if (spec[0] == '[') {
		h0 = spec + 1;
		h1 = strchr(h0, ']');
		if (!h1 || h1[1] != ':')
			return log_errno(-EINVAL, "bad --listen %s, want ADDR:PORT", spec);
		port = h1 + 2;
	} else {
		h1 = strrchr(spec, ':');
		if (!h1)
			return log_errno(-EINVAL, "bad --listen %s, want ADDR:PORT", spec);
		port = h1 + 1;
	}
	errno = 0;
	p = strtol(port, &end, 10);
	if (errno || end == port || *end || p < 0 || p > 65535 || (size_t)(h1 - h0) >= sizeof(host))
		return log_errno(-EINVAL, "bad --listen %s, want ADDR:PORT", spec);
	memcpy(host, h0, (size_t)(h1 - h0));
	host[h1 - h0] = '\0';
	r = getaddrinfo(host[0] ? host : "0.0.0.0", port, &hints, res);
	if (r != 0) {
		fprintf(stderr, "mock-llm: cannot resolve %s: %s\n", spec, gai_strerror(r));
		return -EINVAL;
	}
	return 0;
}

/* SHA-256 for --record comes from GnuTLS, which libmicrohttpd has loaded
 * already (the build links only libmicrohttpd and cJSON). */
static void sha256_init(void)
{
	void *f = dlsym(RTLD_DEFAULT, "gnutls_hash_fast");

	if (!f) {
		void *h = dlopen("libgnutls.so.30", RTLD_NOW | RTLD_LOCAL);
		f = h ? dlsym(h, "gnutls_hash_fast") : NULL;
	}
	if (!f)
		log_errno(0, "GnuTLS not found, records will have \"body_sha256\": null");
	g.sha256 = (hash_fast_fn)f;
}

/* Raises the descriptor limit as far as allowed; returns the connection
 * limit it leaves room for (at most 20000). */
static unsigned connection_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1000;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur > 20000 + 64)
		return 20000;
	return rl.rlim_cur > 128 ? (unsigned)(rl.rlim_cur - 64) : 64;
}

static unsigned cpu_count(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0)
		return (unsigned)n;
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void usage(FILE *f)
{
	fputs("usage: mock-llm --listen ADDR:PORT [--tls-cert FILE --tls-key FILE] [--record FILE]\n"
	      "                [--key KEY] [--threads N] [--quiet] [--judge-answer FILE]\n",
	      f);
}

/* Returns 0, 1 after --help, or -EINVAL. */
static int parse_options(int argc, char **argv, struct mock_options *o)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"tls-cert", required_argument, NULL, 'c'},
	    {"tls-key", required_argument, NULL, 'k'},
	    {"record", required_argument, NULL, 'r'},
	    {"key", required_argument, NULL, 'K'},
	    {"threads", required_argument, NULL, 't'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"judge-answer", required_argument, NULL, 'J'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o->listen = optarg; break;
		case 'c': o->tls_cert = optarg; break;
		case 'k': o->tls_key = optarg; break;
		case 'r': o->record = optarg; break;
		case 'K': o->key = optarg; break;
		case 't': o->threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'q': o->quiet = true; break;
		case 'J': o->judge_answer = optarg; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc || !o->listen || !o->tls_cert != !o->tls_key || o->threads > 1024) {
		usage(stderr);
		return -EINVAL;
	}
	if (o->threads == 0)
		o->threads = cpu_count();
	return 0;
}

int main(int argc, char **argv)
{
	struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}};
	char *cert = NULL, *key = NULL;
	struct addrinfo *ai = NULL;
	struct MHD_Daemon *d = NULL;
	const union MHD_DaemonInfo *info;
	unsigned flags;
	sigset_t sigs;
	int r, sig;

	r = parse_options(argc, argv, &g.o);
	if (r != 0)
		return r < 0 ? 2 : 0;
	if (g.o.tls_cert) {
		if ((r = read_file(g.o.tls_cert, &cert)) < 0 || (r = read_file(g.o.tls_key, &key)) < 0)
			goto out;
		tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
		tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
	}
	if (g.o.record) {
		g.record_fd = open(g.o.record, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (g.record_fd < 0) {
			r = log_errno(-errno, "cannot open %s", g.o.record);
			goto out;
		}
		sha256_init();
	}
	if (g.o.judge_answer) {
		size_t n;
		if ((r = read_file(g.o.judge_answer, &g.judge_text)) < 0)
			goto out;
		n = strlen(g.judge_text);
		while (n && (g.judge_text[n - 1] == '\n' || g.judge_text[n - 1] == '\r'))
			g.judge_text[--n] = '\0';
	}
	r = resolve_listen(g.o.listen, &ai);
	if (r < 0)
		goto out;

	/* Worker threads inherit the mask: only sigwait() below sees these. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = timer_start();
	if (r < 0)
		goto out;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
	if (!g.o.quiet)
		flags |= MHD_USE_ERROR_LOG;
	if (cert)
		flags |= MHD_USE_TLS;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
			     MHD_OPTION_THREAD_POOL_SIZE, g.o.threads > 1 ? g.o.threads : 0u,
			     MHD_OPTION_CONNECTION_LIMIT, connection_limit(), MHD_OPTION_LISTEN_BACKLOG_SIZE,
			     4096u, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED,
			     on_completed, NULL, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!d) {
		r = log_errno(-EADDRNOTAVAIL, "cannot listen on %s", g.o.listen);
		timer_stop();
		goto out;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("ready %u\n", info ? (unsigned)info->port : 0u);
	fflush(stdout);

	while (sigwait(&sigs, &sig) != 0)
		;
	atomic_store(&g.stopping, true);
	timer_stop(); /* resumes every parked connection */
	MHD_stop_daemon(d);
	r = 0;
out:
	if (ai)
		freeaddrinfo(ai);
	if (g.record_fd >= 0)
		close(g.record_fd);
	free(cert);
	free(key);
	free(g.judge_text);
	return r < 0 ? 1 : 0;
}
