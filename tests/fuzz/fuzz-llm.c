/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fuzz-llm.c - requests on the LLM port, through the gateway's own HTTP
 * server (httpserv.c) to what the LLM proxy does with them.
 *
 * Feeds: raw bytes as the sandbox sends them to HOST_IP:18790, one or more
 * pipelined HTTP/1.1 requests, maybe malformed, written into one end of a
 * socketpair whose other end is a connection of a real sx_hsrv
 * (sx_hsrv_adopt(), what its accept does) on the proxy's edge-triggered
 * epoll set (evloop.c), driven batch by batch without blocking
 * (sx_evloop_dispatch_once()).  So http-parser, the head buffer, the bytes
 * held behind a request while it is answered, 100-continue, early
 * answers, the output queue (the server's end has a small send buffer)
 * and closing are the server's own.  The handler does with each request
 * what llmproxy.c's callbacks do, with the same llmreq.c functions: at the
 * head the route split (/PROVIDER/REST), the token check (Authorization:
 * Bearer or x-api-key), the provider, the size limit (401, 404 and 413
 * answered at once), every header through the upstream filter, the
 * upstream URL; the body; then, as an upstream answering after the batch,
 * the record's head (the request body as JSON, model, stream,
 * X-Sentrix-Run) made by record.c into a capture record with a canned
 * answer, and the answer: whole (sx_hconn_respond), or for "stream": true
 * relayed in chunks (sx_hconn_begin, _send, _end), broken off mid-answer
 * when the body's length is odd.  Answering lets the next pipelined request
 * through.  libcurl and the upstream are not involved.
 *
 * Each input runs twice: written at once, then cut into pieces (1 to 8
 * bytes, or up to size/16 + 64; the cuts are drawn from a seed made of the
 * input) with a batch after each; then the client half-closes, and closes.
 * fuzz-max-len is past the server's 64 KiB limits (read buffer, held
 * bytes, head).
 *
 * Why: these bytes come straight from the agent.  Besides the sanitizers
 * (a handler keeps the head's strings until its answer, as the API
 * allows) the harness checks
 *  - the requests against a second http-parser run over the whole input
 *    (the reference): the handler gets no more requests than the input
 *    holds, each with the method, URL, headers (in order; a NUL in a value
 *    as SP) and Content-Length sent, a body never longer than, and at its
 *    end equal to, the one sent;
 *  - the upstream side: no forwarded header line holds CR, LF or NUL (the
 *    whole value as sent, not cut), a name that is not a token, or a
 *    credential, Host, X-Sentrix-Run or hop-by-hop header; the upstream
 *    URL starts with the base URL; the record is one JSON object that
 *    reads back, valid UTF-8, at most 256 levels deep;
 *  - what the server writes: every response starts with "HTTP/1.1 " and a
 *    3-digit status and the stream parses as responses (http-parser),
 *    whose statuses are the handler's answers in order, then at most one
 *    400 or 431 of the server's own, ending with a whole response unless
 *    the last answer was broken off;
 *  - the connection: after a "Connection: close" answer the server
 *    closes (once the request is in, or at once for an error or a refused
 *    100-continue), as it does after input that does not parse; while it
 *    keeps it open it has handed over every request of the input and read
 *    every byte; every request handed over is answered or closed();
 *  - both runs see the same requests and get the same bytes back.
 *
 * fuzz-max-len: 140000
 */
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <strings.h>
#include <sys/socket.h>

#include "fuzz.h"

#include "lib/buf.h"
#include "gateway/evloop.h"
#include "gateway/httpserv.h"
#include "gateway/llmreq.h"
#include "gateway/record.h"

#define TOKEN "sxt-fuzz-token-0123456789abcdef"
#define BASE_URL "https://api.example.test/v1/"
#define ROUNDS_MAX 50000 /* batches per phase: far more than any input needs */
#define IDLE_ROUNDS 3 /* batches without anything happening: settled */
#define STALL_ROUNDS 100 /* ... with bytes left to write: stalled */
#define DISCARD_MAX (64LL * 1024 * 1024) /* httpserv.c's */

static sd_event *event;
static struct sx_evloop *loop;
static bool verbose; /* FUZZ_VERBOSE=1: what happened, on stderr */

static const char *const providers[] = {"openai", "anthropic"};

/* ---- growing byte buffers: src/lib/buf.c's, always NUL-terminated here
 * (out of memory is a failed run) ---- */

static void fbuf_add(struct sx_buf *b, const void *data, size_t n)
{
	FUZZ_CHECK(sx_buf_reserve(b, n + 1) == 0, "out of memory");
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0; /* always a string too */
}

static __attribute__((format(printf, 2, 3))) void fbuf_printf(struct sx_buf *b, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	FUZZ_CHECK(n >= 0, "out of memory");
	fbuf_add(b, s, (size_t)n);
	free(s);
}

/* Room for one more element in an array of n grown by doubling. */
static void *grow(void *p, size_t n, size_t size)
{
	if (n & (n - 1)) /* not a power of two (nor 0): there is room */
		return p;
	p = realloc(p, (n ? 2 * n : 1) * size);
	FUZZ_CHECK(p, "out of memory");
	return p;
}

/* ---- the reference: http-parser over the whole input at once ---- */

struct ref_req {
	struct sx_buf url, body;
	struct sx_buf *names, *values;
	size_t n_headers;
	unsigned method;
	bool chunked, head_done, done;
	uint64_t content_length; /* http-parser's (ULLONG_MAX: none) */
};

static struct {
	struct ref_req *r;
	size_t n, n_heads; /* messages begun, heads complete */
	bool in_value;
	bool error; /* the input does not parse to its end */
} ref;

static struct ref_req *ref_cur(void)
{
	FUZZ_CHECK(ref.n, "reference: a callback outside a message");
	return &ref.r[ref.n - 1];
}

static int ref_on_begin(http_parser *p)
{
	ref.r = grow(ref.r, ref.n, sizeof(*ref.r));
	ref.r[ref.n++] = (struct ref_req){0};
	ref.in_value = false;
	return 0;
}

static int ref_on_url(http_parser *p, const char *at, size_t len)
{
	fbuf_add(&ref_cur()->url, at, len);
	return 0;
}

static int ref_on_field(http_parser *p, const char *at, size_t len)
{
	struct ref_req *q = ref_cur();

	if (q->head_done)
		return 0; /* a trailer, after a chunked body: not the handler's */
	if (!q->n_headers || ref.in_value) { /* a new header */
		q->names = grow(q->names, q->n_headers, sizeof(*q->names));
		q->values = grow(q->values, q->n_headers, sizeof(*q->values));
		q->names[q->n_headers] = q->values[q->n_headers] = (struct sx_buf){0};
		q->n_headers++;
	}
	ref.in_value = false;
	fbuf_add(&q->names[q->n_headers - 1], at, len);
	return 0;
}

static int ref_on_value(http_parser *p, const char *at, size_t len)
{
	struct ref_req *q = ref_cur();

	if (q->head_done)
		return 0;
	FUZZ_CHECK(q->n_headers, "reference: a header value without a name");
	ref.in_value = true;
	fbuf_add(&q->values[q->n_headers - 1], at, len);
	return 0;
}

static int ref_on_headers_complete(http_parser *p)
{
	struct ref_req *q = ref_cur();

	q->head_done = true;
	q->method = p->method;
	q->chunked = p->flags & F_CHUNKED;
	q->content_length = p->content_length;
	ref.n_heads++;
	return 0;
}

static int ref_on_body(http_parser *p, const char *at, size_t len)
{
	fbuf_add(&ref_cur()->body, at, len);
	return 0;
}

static int ref_on_complete(http_parser *p)
{
	ref_cur()->done = true;
	return 0;
}

static const http_parser_settings ref_settings = {
    .on_message_begin = ref_on_begin,
    .on_message_complete = ref_on_complete,
    .on_url = ref_on_url,
    .on_header_field = ref_on_field,
    .on_header_value = ref_on_value,
    .on_headers_complete = ref_on_headers_complete,
    .on_body = ref_on_body,
};

/* Parses the whole input as one request stream.  http-parser stops after
 * a request for another protocol (CONNECT, Upgrade); parsing goes on
 * after it here, as on a connection that stays HTTP (httpserv.c closes
 * it after the answer instead). */
static void ref_parse(const uint8_t *data, size_t size)
{
	http_parser p;
	size_t off = 0;

	http_parser_init(&p, HTTP_REQUEST);
	while (off < size) {
		size_t n = http_parser_execute(&p, &ref_settings, (const char *)data + off, size - off);
		off += n;
		ref.error = HTTP_PARSER_ERRNO(&p) != HPE_OK;
		if (ref.error || !p.upgrade || n == 0)
			break;
	}
}

static void ref_free(void)
{
	for (size_t i = 0; i < ref.n; i++) {
		struct ref_req *q = &ref.r[i];
		sx_buf_free(&q->url);
		sx_buf_free(&q->body);
		for (size_t k = 0; k < q->n_headers; k++) {
			sx_buf_free(&q->names[k]);
			sx_buf_free(&q->values[k]);
		}
		free(q->names);
		free(q->values);
	}
	free(ref.r);
	ref.r = NULL;
	ref.n = ref.n_heads = 0;
	ref.error = false;
}

/* ---- one run of the input through a server ---- */

/* A request the handler took (llmproxy.c's struct call). */
struct req {
	struct req *prev, *next;
	struct sx_hconn *conn;
	size_t idx; /* in the input, from 0 */
	struct sx_hreq head; /* the server's, valid until the answer has ended */
	char *provider, *endpoint, *run_id;
	const char *method; /* static (http-parser's names) */
	long long content_length;
	struct sx_buf body;
	size_t got; /* body bytes received */
	bool too_big, complete;
};

struct answer {
	unsigned status;
	size_t idx; /* the request's */
	bool early; /* before a body the server does not read (100-continue, over 64 MiB) */
};

struct run {
	const char *name;
	struct sx_buf log; /* what the handler saw and did, to compare the runs */
	struct sx_buf out; /* what the server wrote */
	size_t n_seen; /* requests handed to the handler */
	size_t body_bytes; /* body bytes handed to it, all requests */
	struct answer *answers; /* the handler's, in order */
	size_t n_answers;
	bool last_broken; /* the last answer was broken off */
	struct req *reqs; /* taken, neither answered nor closed */
	struct req *pending; /* complete, to answer after this batch */
	unsigned events; /* handler callbacks so far */
	bool eof; /* the server closed its end */
	size_t input_size;
};

static struct run *cur;

static void req_free(struct run *r, struct req *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		r->reqs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	if (r->pending == q)
		r->pending = NULL;
	free(q->provider);
	free(q->endpoint);
	free(q->run_id);
	sx_buf_free(&q->body);
	free(q);
}

static void note_answer(struct run *r, size_t idx, bool early, unsigned status, const char *how)
{
	r->answers = grow(r->answers, r->n_answers, sizeof(*r->answers));
	r->answers[r->n_answers++] = (struct answer){status, idx, early};
	fbuf_printf(&r->log, "answer %u %s\n", status, how);
	if (verbose)
		fprintf(stderr, "fuzz-llm: %s: answer %u %s\n", r->name, status, how);
}

/* llmproxy.c's respond_json(). */
static void respond_json(struct run *r, struct sx_hconn *conn, size_t idx, bool early, unsigned status,
			 const char *message)
{
	static const char ct[] = "Content-Type: application/json\r\n";
	_cleanup_free_ char *text =
	    sx_strdupf("{\"error\":{\"message\":\"%s\",\"type\":\"sentrix_fuzz\"}}", message);

	FUZZ_CHECK(text, "out of memory");
	note_answer(r, idx, early, status, "whole");
	r->last_broken = false;
	sx_hconn_respond(conn, status, ct, sizeof(ct) - 1, text, strlen(text));
}

static bool bytes_eq(const struct sx_buf *b, const char *s)
{
	return b->len == strlen(s) && memcmp(b->p ? b->p : "", s, b->len) == 0;
}

/* A header value as sent, a NUL in it as SP (RFC 9110 5.5). */
static bool value_eq(const struct sx_buf *b, const char *s)
{
	if (b->len != strlen(s))
		return false;
	for (size_t i = 0; i < b->len; i++)
		if (s[i] != (b->p[i] ? b->p[i] : ' '))
			return false;
	return true;
}

/* The header filter (llmproxy.c's build_forward), on one header, against
 * the bytes the reference read for it. */
static void check_forward(const char *name, const char *value, const struct sx_buf *ref_value)
{
	static const char *const never[] = {"authorization",  "x-api-key",	  "host",
					    "x-sentrix-run",  "connection",	  "expect",
					    "content-length", "transfer-encoding"};
	_cleanup_free_ char *line = NULL;
	int r = sx_llm_forward_header(name, value, &line);

	FUZZ_CHECK(r >= 0, "sx_llm_forward_header failed");
	if (r == 0)
		return;
	FUZZ_CHECK(!strpbrk(line, "\r\n"), "a forwarded header line holds a line break: %s", line);
	/* The line is a C string: a NUL in the value as sent would cut it. */
	FUZZ_CHECK(strlen(line) == strlen(name) + 2 + ref_value->len,
		   "a forwarded header line is not the whole value as sent (a NUL?): %s", line);
	for (const char *p = line; *p != ':'; p++)
		FUZZ_CHECK(*p > 0x20 && *p < 0x7f, "a forwarded header name is not a token: %s", line);
	for (size_t i = 0; i < ELEMENTSOF(never); i++)
		FUZZ_CHECK(strncasecmp(line, never[i], strlen(never[i])) != 0 ||
			       line[strlen(never[i])] != ':',
			   "header %s is forwarded: %s", never[i], line);
}

/* The head as the server parsed it against the reference's request idx. */
static void check_head(struct run *r, const struct sx_hreq *h, size_t idx)
{
	const struct ref_req *q;
	long long want_cl;

	FUZZ_CHECK(idx < ref.n_heads && ref.r[idx].head_done,
		   "%s: request %zu handed over, but the input holds %zu", r->name, idx + 1, ref.n_heads);
	q = &ref.r[idx];
	FUZZ_CHECK(streq(h->method, http_method_str((enum http_method)q->method)),
		   "%s: request %zu: method %s, sent %s", r->name, idx + 1, h->method,
		   http_method_str((enum http_method)q->method));
	FUZZ_CHECK(bytes_eq(&q->url, h->url), "%s: request %zu: URL '%s', sent '%s' (%zu bytes)", r->name,
		   idx + 1, h->url, q->url.p ? q->url.p : "", q->url.len);
	FUZZ_CHECK(h->n_headers == q->n_headers, "%s: request %zu: %zu headers, sent %zu", r->name, idx + 1,
		   h->n_headers, q->n_headers);
	for (size_t i = 0; i < h->n_headers; i++) {
		FUZZ_CHECK(bytes_eq(&q->names[i], h->names[i]) && value_eq(&q->values[i], h->values[i]),
			   "%s: request %zu: header %zu is '%s: %s', sent '%s: %s'", r->name, idx + 1, i + 1,
			   h->names[i], h->values[i], q->names[i].p ? q->names[i].p : "",
			   q->values[i].p ? q->values[i].p : "");
		check_forward(h->names[i], h->values[i], &q->values[i]);
	}
	want_cl = q->chunked || q->content_length == ULLONG_MAX ? -1
	    : q->content_length > LLONG_MAX			? LLONG_MAX
								: (long long)q->content_length;
	FUZZ_CHECK(h->content_length == want_cl, "%s: request %zu: content_length %lld, sent %lld", r->name,
		   idx + 1, h->content_length, want_cl);
}

static const char *header(const struct sx_hreq *h, const char *name)
{
	for (size_t i = 0; i < h->n_headers; i++)
		if (strcasecmp(h->names[i], name) == 0)
			return h->values[i];
	return NULL;
}

/* llmproxy.c's on_request(). */
static void *on_request(void *cls, struct sx_hconn *conn, const struct sx_hreq *h)
{
	struct run *r = cls;
	size_t idx = r->n_seen++;
	_cleanup_free_ char *provider = NULL, *endpoint = NULL, *url = NULL;
	const char *run;
	bool known = false, early = h->expect_continue || h->content_length > DISCARD_MAX;
	struct req *q;

	r->events++;
	check_head(r, h, idx);
	fbuf_printf(&r->log, "request %zu %s %s, %zu headers, length %lld%s\n", idx + 1, h->method, h->url,
		    h->n_headers, h->content_length, h->expect_continue ? ", 100-continue" : "");
	if (verbose)
		fprintf(stderr, "fuzz-llm: %s: request %zu %s %s\n", r->name, idx + 1, h->method, h->url);
	if (sx_llm_split_route(h->url, &provider, &endpoint) < 0) {
		respond_json(r, conn, idx, early, 404, "sentrix: use /PROVIDER/...");
		return NULL;
	}
	FUZZ_CHECK(*provider && !strpbrk(provider, "/?"), "bad provider '%s' from '%s'", provider, h->url);
	if (!sx_llm_token_ok(header(h, "Authorization"), header(h, "x-api-key"), TOKEN)) {
		respond_json(r, conn, idx, early, 401, "sentrix: missing or wrong instance token");
		return NULL;
	}
	for (size_t i = 0; i < ELEMENTSOF(providers); i++)
		known |= streq(provider, providers[i]);
	if (!known) {
		respond_json(r, conn, idx, early, 404, "sentrix: no such provider");
		return NULL;
	}
	if (h->content_length > SX_LLM_BODY_MAX) {
		respond_json(r, conn, idx, early, 413, "sentrix: request body too large");
		return NULL;
	}
	url = sx_llm_upstream_url(BASE_URL, endpoint);
	FUZZ_CHECK(url && strncmp(url, BASE_URL, strlen(BASE_URL) - 1) == 0, "upstream URL %s", url);
	q = calloc(1, sizeof(*q));
	FUZZ_CHECK(q, "out of memory");
	q->conn = conn;
	q->idx = idx;
	q->head = *h;
	q->method = h->method;
	q->content_length = h->content_length;
	q->provider = TAKE_PTR(provider);
	q->endpoint = TAKE_PTR(endpoint);
	run = header(h, "X-Sentrix-Run");
	q->run_id = run ? strdup(run) : NULL;
	FUZZ_CHECK(!run || q->run_id, "out of memory");
	q->next = r->reqs;
	if (r->reqs)
		r->reqs->prev = q;
	r->reqs = q;
	return q;
}

static void on_body(void *ctx, const char *p, size_t len)
{
	struct req *q = ctx;
	const struct sx_buf *sent = &ref.r[q->idx].body;

	cur->events++;
	cur->body_bytes += len;
	FUZZ_CHECK(!q->complete, "%s: request %zu: body bytes after its end", cur->name, q->idx + 1);
	FUZZ_CHECK(cur->body_bytes <= cur->input_size, "%s: %zu body bytes from an input of %zu", cur->name,
		   cur->body_bytes, cur->input_size);
	/* Every byte as sent, never more (the reference keeps even a body
	 * over the limit). */
	FUZZ_CHECK(q->got + len <= sent->len && memcmp(sent->p + q->got, p, len) == 0,
		   "%s: request %zu: body bytes %zu..%zu differ from what was sent (%zu bytes)", cur->name,
		   q->idx + 1, q->got, q->got + len, sent->len);
	q->got += len;
	if (q->too_big || q->body.len + len > SX_LLM_BODY_MAX) {
		q->too_big = true; /* llmproxy.c drops it and answers 413 at the end */
		sx_buf_free(&q->body);
		return;
	}
	fbuf_add(&q->body, p, len);
}

static void on_complete(void *ctx)
{
	struct req *q = ctx;
	const struct sx_buf *sent = &ref.r[q->idx].body;

	cur->events++;
	FUZZ_CHECK(!q->complete && !cur->pending, "%s: request %zu: complete twice, or while another is",
		   cur->name, q->idx + 1);
	q->complete = true;
	check_head(cur, &q->head, q->idx); /* still valid (and unchanged) */
	if (!q->too_big)
		FUZZ_CHECK(
		    q->body.len == sent->len &&
			(q->content_length < 0 || (unsigned long long)q->content_length == q->body.len),
		    "%s: request %zu: a body of %zu bytes, sent %zu, Content-Length %lld", cur->name,
		    q->idx + 1, q->body.len, sent->len, q->content_length);
	fbuf_printf(&cur->log, "complete %zu, %zu body bytes\n", q->idx + 1, q->body.len);
	cur->pending = q; /* answered after this batch, like an upstream */
}

static void on_drained(void *ctx)
{
	cur->events++;
}

static void on_closed(void *ctx)
{
	struct req *q = ctx;

	cur->events++;
	fbuf_printf(&cur->log, "closed %zu\n", q->idx + 1);
	req_free(cur, q);
}

static const struct sx_hsrv_ops ops = {
    .request = on_request,
    .body = on_body,
    .complete = on_complete,
    .drained = on_drained,
    .closed = on_closed,
};

/* llmproxy.c's on_complete() and finish(), with an upstream that answered
 * at once: the record, then the answer. */
static void answer_pending(struct run *r)
{
	static const char whole[] = "{\"choices\":[{\"message\":{\"content\":\"ok\"}}],"
				    "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}";
	static const char events[] = "data: {\"choices\":[{\"delta\":{\"content\":\"o\"}}]}\n\n"
				     "data: {\"choices\":[{\"delta\":{\"content\":\"k\"}}]}\n\n"
				     "data: [DONE]\n\n";
	static const char ct_json[] = "Content-Type: application/json\r\n";
	static const char ct_sse[] = "Content-Type: text/event-stream\r\n";
	struct req *q = r->pending;
	struct sx_llm_head h;
	struct sx_record_end e = {.status = 200, .first_byte_ms = 1, .total_ms = 2, .complete = true};
	_cleanup_cjson_ cJSON *head = NULL;
	_cleanup_free_ char *rec = NULL;
	bool stream;

	if (!q)
		return;
	r->pending = NULL;
	check_head(r, &q->head, q->idx);
	if (q->too_big) {
		respond_json(r, q->conn, q->idx, false, 413, "sentrix: request body too large");
		req_free(r, q);
		return;
	}
	h = (struct sx_llm_head){
	    .timestamp = "2026-11-23T10:00:00.000Z",
	    .id = "0123456789abcdef",
	    .instance = "sxtfuzz",
	    .provider = q->provider,
	    .endpoint = q->endpoint,
	    .method = q->method,
	    .run_id = q->run_id,
	    .body = q->body.p,
	    .body_len = q->body.len,
	};
	head = sx_llm_record_head(&h);
	FUZZ_CHECK(head, "no record head");
	stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(head, "stream"));
	e.request_bytes = q->body.len;
	e.sse = stream;
	rec = stream ? sx_record_finish(TAKE_PTR(head), events, sizeof(events) - 1, &e)
		     : sx_record_finish(TAKE_PTR(head), whole, sizeof(whole) - 1, &e);
	fuzz_check_json_object("the record", rec);
	if (!stream) {
		note_answer(r, q->idx, false, 200, "whole");
		r->last_broken = false;
		sx_hconn_respond(q->conn, 200, ct_json, sizeof(ct_json) - 1, whole, sizeof(whole) - 1);
	} else {
		bool ok = !(q->body.len & 1);
		note_answer(r, q->idx, false, 200, ok ? "stream" : "broken");
		r->last_broken = !ok;
		sx_hconn_begin(q->conn, 200, ct_sse, sizeof(ct_sse) - 1);
		sx_hconn_send(q->conn, events, 40);
		if (ok)
			sx_hconn_send(q->conn, events + 40, sizeof(events) - 1 - 40);
		sx_hconn_end(q->conn, ok);
	}
	req_free(r, q);
}

/* ---- what the server wrote ---- */

static int resp_on_complete(http_parser *p)
{
	http_parser_pause(p, 1); /* one response at a time */
	return 0;
}

static const http_parser_settings resp_settings = {.on_message_complete = resp_on_complete};

/* Checks the server's output so far (whole: the connection is closed).
 * True when it holds a "Connection: close" response after which the
 * server must close the connection at once. */
static bool check_output(struct run *r, bool whole)
{
	const char *o = r->out.p;
	size_t off = 0, finals = 0;
	bool closing = false, must_close = false;
	http_parser p;

	http_parser_init(&p, HTTP_RESPONSE);
	while (off < r->out.len) {
		size_t left = r->out.len - off, n;
		const char *s = o + off;
		/* Each response's first bytes, as far as they are in. */
		static const char pre[] = "HTTP/1.1 ";
		for (size_t i = 0; i < left && i < 13; i++)
			FUZZ_CHECK(i < 9	? s[i] == pre[i]
				       : i < 12 ? s[i] >= '0' && s[i] <= '9'
						: s[i] == ' ',
				   "%s: a response starts with '%.*s'", r->name, (int)(left < 40 ? left : 40),
				   s);
		FUZZ_CHECK(!closing, "%s: bytes after a \"Connection: close\" response: '%.*s'", r->name,
			   (int)(left < 40 ? left : 40), s);
		n = http_parser_execute(&p, &resp_settings, s, left);
		if (HTTP_PARSER_ERRNO(&p) == HPE_OK && n == left)
			break; /* a response not complete yet */
		FUZZ_CHECK(HTTP_PARSER_ERRNO(&p) == HPE_PAUSED,
			   "%s: the output does not parse (%s) at '%.*s'", r->name,
			   http_errno_name(HTTP_PARSER_ERRNO(&p)), (int)(left - n < 60 ? left - n : 60),
			   s + n);
		http_parser_pause(&p, 0);
		off += n;
		if (p.status_code / 100 == 1)
			continue; /* 100 Continue */
		if (finals < r->n_answers)
			FUZZ_CHECK(p.status_code == r->answers[finals].status,
				   "%s: response %zu has status %u, the handler answered %u", r->name,
				   finals + 1, p.status_code, r->answers[finals].status);
		else
			FUZZ_CHECK(finals == r->n_answers && (p.status_code == 400 || p.status_code == 431),
				   "%s: response %zu (status %u) is not the handler's (it gave %zu)", r->name,
				   finals + 1, p.status_code, r->n_answers);
		closing = !http_should_keep_alive(&p);
		/* The server's own (an error), or to a request that is all in:
		 * the server must close now (else it reads the body first). */
		must_close |= closing &&
		    (finals >= r->n_answers || r->answers[finals].early ||
		     ref.r[r->answers[finals].idx].done);
		finals++;
	}
	if (!whole)
		return must_close;
	/* The connection is closed: a response ended by it ends now; a
	 * response may be cut only when the handler broke it off. */
	if (off < r->out.len) {
		http_parser_execute(&p, &resp_settings, NULL, 0);
		if (HTTP_PARSER_ERRNO(&p) == HPE_PAUSED) {
			finals++;
		} else {
			FUZZ_CHECK(r->last_broken && finals + 1 == r->n_answers,
				   "%s: the output ends inside a response (%s)", r->name,
				   http_errno_name(HTTP_PARSER_ERRNO(&p)));
			finals++;
		}
	}
	FUZZ_CHECK(finals >= r->n_answers, "%s: %zu responses written, the handler answered %zu", r->name,
		   finals, r->n_answers);
	return must_close;
}

/* Reads what the server wrote.  True when something came. */
static bool drain(struct run *r, int fd)
{
	bool got = false;
	char buf[16384];
	ssize_t n;

	while (!r->eof && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			FUZZ_CHECK(errno == EAGAIN || errno == EINTR || errno == ECONNRESET,
				   "reading the server's output: %s", strerror(errno));
			if (errno == ECONNRESET)
				break;
			if (errno == EAGAIN)
				return got;
			continue;
		}
		fbuf_add(&r->out, buf, (size_t)n);
		got = true;
	}
	if (!r->eof)
		got = true;
	r->eof = true;
	return got;
}

/* One batch and what follows it: the answer the handler owes, the
 * output.  True when anything happened. */
static bool round_trip(struct run *r, int fd)
{
	unsigned events = r->events;
	size_t out = r->out.len, answers = r->n_answers;
	int n = sx_evloop_dispatch_once(loop, 0);

	FUZZ_CHECK(n >= 0, "sx_evloop_dispatch_once: %s", strerror(-n));
	answer_pending(r);
	if (fd >= 0)
		drain(r, fd);
	return n > 0 || r->events != events || r->out.len != out || r->n_answers != answers;
}

/* The pieces the second run writes: 1 to 8 bytes, or up to size/16 + 64. */
static size_t next_piece(uint64_t *st, size_t size)
{
	uint64_t x = (*st = *st * 6364136223846793005ULL + 1442695040888963407ULL) >> 33;

	if ((x & 3) == 0)
		return 1 + (size_t)(x >> 2) % 8;
	return 1 + (size_t)(x >> 2) % (size / 16 + 64);
}

static void run_input(struct run *r, const uint8_t *data, size_t size, bool pieces)
{
	struct sx_hsrv *srv = NULL;
	uint64_t st = 0xcbf29ce484222325ULL;
	size_t off = 0;
	int sv[2], round, idle, k;
	bool cut = false, closing;

	for (size_t i = 0; i < size; i++)
		st = (st ^ data[i]) * 0x100000001b3ULL;
	r->input_size = size;
	FUZZ_CHECK(sx_hsrv_start(loop, "fuzz", NULL, 0, &ops, r, &srv) == 0, "sx_hsrv_start failed");
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0,
		   "socketpair: %s", strerror(errno));
	/* A small send buffer on the server's end (the kernel makes it 8 KiB):
	 * a few answers fill it, and the rest waits in the connection's
	 * output queue for EPOLLOUT, as for a client that reads slowly. */
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &(int){4096}, sizeof(int));
	FUZZ_CHECK(sx_hsrv_adopt(srv, sv[1]) == 0, "sx_hsrv_adopt failed");
	cur = r;

	/* The requests, until everything is written and nothing happens (or
	 * nothing has happened for long: the server stopped reading). */
	for (round = idle = 0; round < ROUNDS_MAX && idle < STALL_ROUNDS; round++) {
		bool progress = false;
		if ((off == size || cut) && idle >= IDLE_ROUNDS)
			break;
		if (off < size && !cut) {
			size_t want = pieces ? next_piece(&st, size) : size - off;
			ssize_t n =
			    send(sv[0], data + off, want < size - off ? want : size - off, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n, progress = true;
			else if (n < 0 && errno != EAGAIN)
				cut = true; /* the server closed the connection */
		}
		progress |= round_trip(r, sv[0]);
		idle = progress ? 0 : idle + 1;
	}
	FUZZ_CHECK(round < ROUNDS_MAX, "%s: no rest after %d batches", r->name, round);
	FUZZ_CHECK(off == size || cut || r->eof, "%s: the server stopped reading after %zu of %zu bytes",
		   r->name, off, size);
	if (verbose)
		fprintf(stderr, "fuzz-llm: %s: the server wrote %zu bytes:\n%.*s\n", r->name, r->out.len,
			(int)(r->out.len < 4096 ? r->out.len : 4096), r->out.p ? r->out.p : "");
	closing = check_output(r, r->eof);
	FUZZ_CHECK(!closing || r->eof,
		   "%s: the server answered \"Connection: close\" but keeps the connection", r->name);
	FUZZ_CHECK(!ref.error || r->eof || off < size,
		   "%s: the input does not parse, but the server keeps the connection", r->name);
	FUZZ_CHECK(r->eof || off < size || r->n_seen == ref.n_heads,
		   "%s: the server keeps the connection but handed over %zu of the %zu requests", r->name,
		   r->n_seen, ref.n_heads);
	if (verbose)
		fprintf(stderr, "fuzz-llm: %s: %zu of %zu bytes taken in %d batches, %zu requests, %s\n",
			r->name, off, size, round, r->n_seen, r->eof ? "closed by the server" : "open");

	/* The client half-closes: the server closes, telling the handler
	 * about a request in progress. */
	shutdown(sv[0], SHUT_WR);
	for (k = idle = 0; k < ROUNDS_MAX && !r->eof && idle < IDLE_ROUNDS; k++)
		idle = round_trip(r, sv[0]) ? 0 : idle + 1;
	FUZZ_CHECK(r->eof, "%s: the server keeps a half-closed connection", r->name);
	close(sv[0]);
	for (k = idle = 0; k < 10 && idle < IDLE_ROUNDS; k++)
		idle = round_trip(r, -1) ? 0 : idle + 1;
	check_output(r, true);
	FUZZ_CHECK(!r->reqs, "%s: request %zu was neither answered nor told closed", r->name,
		   r->reqs->idx + 1);
	fbuf_printf(&r->log, "%zu requests\n", r->n_seen);
	sx_hsrv_free(srv);
	cur = NULL;
}

static void run_free(struct run *r)
{
	while (r->reqs)
		req_free(r, r->reqs);
	sx_buf_free(&r->log);
	sx_buf_free(&r->out);
	free(r->answers);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	verbose = getenv("FUZZ_VERBOSE");
	if (sd_event_new(&event) < 0 || sx_evloop_new(event, &loop) < 0) {
		fputs("fuzz-llm: cannot make an event loop\n", stderr);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = {.name = "written at once"}, cut = {.name = "written in pieces"};

	if (verbose)
		fprintf(stderr, "fuzz-llm: input of %zu bytes\n", size);
	ref_parse(data, size);
	run_input(&whole, data, size, false);
	run_input(&cut, data, size, true);
	FUZZ_CHECK(whole.log.len == cut.log.len && memcmp(whole.log.p, cut.log.p, whole.log.len) == 0,
		   "the handler saw different things written at once:\n%s\nand in pieces:\n%s", whole.log.p,
		   cut.log.p);
	FUZZ_CHECK(whole.out.len == cut.out.len &&
		       memcmp(whole.out.p ? whole.out.p : "", cut.out.p ? cut.out.p : "", whole.out.len) == 0,
		   "the server wrote different bytes when the input came at once (%zu) and in pieces (%zu)",
		   whole.out.len, cut.out.len);
	run_free(&whole);
	run_free(&cut);
	ref_free();
	return 0;
}
