/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * llmproxy.c - the LLM proxy: /PROVIDER/REST from the sandbox, with the
 * instance token, becomes BASE_URL/REST at the provider with the real key.
 *
 * The data path is the proxy's own (evloop.h): client connections
 * (httpserv.c) and provider connections (upclient.c) sit in one
 * edge-triggered epoll set, so a wake-up serves every ready socket.
 *
 * A call's life:
 *   1. the request head: route, token and secret checks (401, 404, 502,
 *      413 answered at once); the upstream header lines are built here;
 *   2. body bytes are collected (SX_LLM_BODY_MAX);
 *   3. the body is in: the guardrail looks at it (block mode), the spool
 *      file gets the head fields and the raw body (nothing is parsed on
 *      the way up), and the request goes upstream;
 *   4. a streamed answer (SSE) goes to the client chunk by chunk as it
 *      arrives, after the spool file has it; a plain answer is collected
 *      and sent whole with its length (past WHOLE_MAX it is relayed);
 *      a slow client pauses the upstream read (backpressure);
 *   5. the upstream ended: the client has its last byte first, then the
 *      record is built (the request parsed only now) and appended to the
 *      capture file.  A client that goes away cancels the upstream, and
 *      the record says so.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/uio.h>

#include "../lib/buf.h"
#include "../lib/jsonraw.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "capture.h"
#include "evloop.h"
#include "gateway.h"
#include "guardrail.h"
#include "httpserv.h"
#include "llmproxy.h"
#include "llmreq.h"
#include "record.h"
#include "recorder.h"
#include "resolver.h"
#include "spool.h"
#include "streamguard.h"
#include "upclient.h"

#define RELAY_HIGH (256 * 1024) /* pause the upstream above this much unsent */
/* A non-streaming answer up to this size is sent whole, with its length, in
 * one write; a bigger one is relayed. */
#define WHOLE_MAX (1024 * 1024)

struct sx_llmproxy {
	struct sx_gateway *g;
	struct sx_evloop *loop; /* the gateway's */
	struct sx_hsrv *srv;
	struct sx_upclient *up;
	struct sx_resolver *resolver; /* the host's DNS, for provider names */
	struct sx_spool *spool;
	struct sx_recorder *recorder;
	struct sx_evdefer wake_recorder; /* once per batch of finished calls */
	struct call *calls;
	uint64_t next_id;
};

struct call {
	struct call *prev, *next;
	struct sx_llmproxy *p;
	struct sx_hconn *conn; /* NULL once the client is gone */
	struct sx_upreq *up; /* while the upstream request runs */
	struct sx_evdefer fin; /* finishes a call the stream guard ended */
	const char *method; /* static (http-parser's names) */
	char id[17];
	char stamp[40];
	uint64_t t0, t_first; /* CLOCK_MONOTONIC usec; t_first 0: none yet */
	char *provider, *endpoint, *upstream_url, *run_id;
	bool anthropic;
	struct sx_buf fwd; /* header lines for the provider, the credential last */
	struct iovec fwd_iov; /* fwd, as the upclient takes it (valid until done) */
	size_t cred_off;
	/* The request body: in the spool slot as it arrives, else in body
	 * (no slot could be had or grown); req/req_len point at it once whole. */
	struct sx_buf body;
	const char *req;
	size_t req_len;
	struct sx_buf resp_head; /* the provider's header lines for the client */
	struct sx_buf out; /* a plain answer, collected until it ends */
	struct sx_buf mem; /* the relayed answer for the record when there is no spool slot */
	long status;
	bool headers_done, sse, relaying, sent, recorded, too_big, counted, paused;
	bool guard_blocked;
	bool slot_full; /* the answer could not grow in the slot: it is kept in mem */
	int slot_err; /* why there is no slot */
	size_t resp_bytes;
	struct sx_spool_slot *slot; /* the call in the spool (NULL: none could be had) */
	struct sx_streamguard *sg; /* block mode, a streamed answer: tool calls held back and scanned */
	char *error; /* why the upstream failed */
	enum sx_up_error up_err;
};

/* ---- answers the gateway writes itself ---- */

static void respond_json(struct sx_hconn *conn, unsigned status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void respond_json(struct sx_hconn *conn, unsigned status, const char *type, const char *fmt, ...)
{
	static const char ct[] = "Content-Type: application/json\r\n";
	_cleanup_cjson_ cJSON *j = cJSON_CreateObject();
	_cleanup_free_ char *msg = NULL, *text = NULL;
	cJSON *e = j ? cJSON_AddObjectToObject(j, "error") : NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (e && msg) {
		cJSON_AddStringToObject(e, "message", msg);
		cJSON_AddStringToObject(e, "type", type);
		text = cJSON_PrintUnformatted(j);
	}
	if (!text) {
		sx_hconn_end(conn, false);
		return;
	}
	sx_hconn_respond(conn, status, ct, sizeof(ct) - 1, text, strlen(text));
}

static void count_request(struct sx_gateway *g, const char *provider, long status)
{
	/* The route comes from the sandbox: only configured names become label
	 * values (each is a series kept for good, and must not break the text
	 * format); anything else counts as "-". */
	const char *p = provider && sx_config_provider(g->config, provider) ? provider : "-";
	sx_labelled_inc(&g->metrics.requests, "provider=\"%s\",status=\"%ld\"", p, status);
}

/* ---- calls ---- */

static void call_free(struct call *c)
{
	struct sx_llmproxy *p = c->p;

	if (c->prev)
		c->prev->next = c->next;
	else if (p->calls == c)
		p->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sx_evloop_undefer(p->loop, &c->fin);
	if (c->up)
		sx_upreq_cancel(c->up);
	sx_spool_release(p->spool, c->slot);
	if (c->counted) {
		p->g->open_calls--;
		if (p->g->stopping && p->g->open_calls == 0) {
			sd_event_exit(p->g->loop, 0);
			sx_evloop_poke(p->loop);
		}
	}
	explicit_bzero(c->fwd.p + c->cred_off, c->fwd.len - c->cred_off);
	sx_buf_free(&c->fwd);
	sx_buf_free(&c->body);
	sx_buf_free(&c->resp_head);
	sx_buf_free(&c->out);
	sx_buf_free(&c->mem);
	sx_streamguard_free(c->sg);
	free(c->provider);
	free(c->endpoint);
	free(c->upstream_url);
	free(c->run_id);
	free(c->error);
	free(c);
}

/* Call ids: a random 64-bit start drawn once, then counted up, so ids
 * stay unique across restarts without a getrandom() per call. */
static void next_id(struct sx_llmproxy *p, char out[17])
{
	if (!p->next_id && getrandom(&p->next_id, sizeof(p->next_id), 0) != sizeof(p->next_id))
		p->next_id = sx_now_usec() * 0x9E3779B97F4A7C15ULL;
	snprintf(out, 17, "%016llx", (unsigned long long)p->next_id++);
}

/* Hands the call's record to the recorder thread (once): after the client
 * has had its last byte.  The request, the answer and the spool slot go
 * with it. */
static void finish_record(struct call *c, const char *error, bool complete)
{
	struct sx_gateway *g = c->p->g;
	struct sx_record_job *j;
	uint64_t t = sx_now_usec();
	struct sx_record_end e = {
	    .status = c->headers_done ? c->status : -1,
	    .sse = c->sse,
	    .first_byte_ms = c->t_first ? (double)(c->t_first - c->t0) / 1000.0 : -1,
	    .total_ms = (double)(t - c->t0) / 1000.0,
	    .request_bytes = c->req_len,
	    .complete = complete,
	    .no_reasoning = g->no_reasoning,
	};

	if (c->recorded || !c->sent)
		return;
	c->recorded = true;
	sx_histogram_observe(&g->metrics.request_seconds, e.total_ms / 1000.0);
	if (c->t_first)
		sx_histogram_observe(&g->metrics.first_byte_seconds, e.first_byte_ms / 1000.0);
	g->metrics.bytes_in += c->req_len;
	g->metrics.bytes_out += c->resp_bytes;
	count_request(g, c->provider, c->headers_done ? c->status : 502);
	j = calloc(1, sizeof(*j));
	if (!j || (error && !(j->error = strdup(error)))) {
		free(j);
		__atomic_fetch_add(&g->metrics.capture_errors, 1, __ATOMIC_RELAXED);
		log_error("call %s: out of memory: it is not recorded", c->id);
		return;
	}
	memcpy(j->stamp, c->stamp, sizeof(j->stamp));
	memcpy(j->id, c->id, sizeof(j->id));
	j->instance = g->name;
	j->method = c->method;
	j->provider = TAKE_PTR(c->provider);
	j->endpoint = TAKE_PTR(c->endpoint);
	j->run_id = TAKE_PTR(c->run_id);
	j->request = c->slot ? NULL : c->body.p; /* NULL: in the slot */
	j->request_len = c->req_len;
	if (!c->slot)
		c->body = (struct sx_buf){0};
	if (!c->relaying) {
		j->response = c->out.p;
		j->response_len = c->out.len;
		c->out = (struct sx_buf){0};
	} else if (c->slot && !c->slot_full) {
		j->slot = c->slot; /* the answer is in it */
	} else {
		j->response = c->mem.p;
		j->response_len = c->mem.len;
		c->mem = (struct sx_buf){0};
	}
	if (!j->slot)
		j->slot = c->slot;
	c->slot = NULL;
	j->end = e;
	sx_recorder_push(c->p->recorder, j);
	sx_evloop_defer(c->p->loop, &c->p->wake_recorder);
}

static void wake_recorder(struct sx_evdefer *d)
{
	sx_recorder_wake(sx_container_of(d, struct sx_llmproxy, wake_recorder)->recorder);
}

/* ---- the provider's side ---- */

static void up_headers(void *data, int status, const struct sx_up_header *h, size_t n)
{
	static const char *const hop[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
					  "te",		"trailer",    "upgrade",	  "content-length",
					  "date"};
	struct call *c = data;

	c->status = status;
	c->headers_done = true;
	for (size_t i = 0; i < n; i++) {
		bool skip = false;
		for (size_t k = 0; k < ELEMENTSOF(hop) && !skip; k++)
			skip = h[i].name_len == strlen(hop[k]) &&
			    strncasecmp(h[i].name, hop[k], h[i].name_len) == 0;
		if (skip)
			continue;
		if (h[i].name_len == 12 && strncasecmp(h[i].name, "content-type", 12) == 0)
			c->sse =
			    h[i].value_len >= 17 && strncasecmp(h[i].value, "text/event-stream", 17) == 0;
		/* CR or LF inside a value would split the line: dropped. */
		if (memchr(h[i].value, '\r', h[i].value_len) || memchr(h[i].value, '\n', h[i].value_len))
			continue;
		if (sx_buf_add(&c->resp_head, h[i].name, h[i].name_len) < 0 ||
		    sx_buf_add(&c->resp_head, ": ", 2) < 0 ||
		    sx_buf_add(&c->resp_head, h[i].value, h[i].value_len) < 0 ||
		    sx_buf_add(&c->resp_head, "\r\n", 2) < 0)
			log_warn("call %s: out of memory copying the response headers", c->id);
	}
	if (c->sse) {
		/* Streamed: the client gets the head now, the events as they come. */
		c->relaying = true;
		if (c->slot)
			sx_spool_status(c->slot, c->status, true);
		if (c->conn)
			sx_hconn_begin(c->conn, (unsigned)c->status, c->resp_head.p, c->resp_head.len);
	}
}

/* What the stream guard lets through goes to the client. */
static void emit_out(void *userdata, const char *data, size_t len)
{
	struct call *c = userdata;
	if (c->conn)
		sx_hconn_send(c->conn, data, len);
}

/* Relays upstream bytes to the client: as they are, or through the stream
 * guard (block mode, a streamed answer), which may hold a tool call back
 * or end the stream.  Returns false when the rest must not be relayed. */
static bool relay_out(struct call *c, const char *data, size_t len)
{
	struct sx_gateway *g = c->p->g;

	if (!c->sg && c->sse && g->guardrail && c->status < 300)
		c->sg = sx_streamguard_new(g->guardrail, c->anthropic);
	if (!c->sg) {
		emit_out(c, data, len);
		return true;
	}
	if (sx_streamguard_feed(c->sg, data, len, emit_out, c) == 0)
		return true;
	c->guard_blocked = true;
	log_warn("call %s: stream ended by the guardrail: %s", c->id, sx_streamguard_why(c->sg));
	return false;
}

/* Keeps answer bytes for the record, before the client gets them: in the
 * spool slot (which the record is then built from), else in memory. */
static void keep(struct call *c, const char *data, size_t len)
{
	if (c->slot && !c->slot_full && sx_spool_body(c->slot, data, len) < 0) {
		/* The slot stays (the request in it is what goes upstream); a
		 * crash would recover the answer up to here. */
		size_t n;
		const char *had = sx_spool_body_bytes(c->slot, &n);
		log_warn("call %s: its spool slot cannot grow; a crash would lose the rest of its answer",
			 c->id);
		sx_buf_add(&c->mem, had, n);
		c->slot_full = true;
	}
	if ((!c->slot || c->slot_full) && sx_buf_add(&c->mem, data, len) < 0)
		log_warn("call %s: out of memory keeping the answer for the record", c->id);
}

/* A plain answer past WHOLE_MAX: from now on it is relayed. */
static void start_relaying(struct call *c)
{
	c->relaying = true;
	if (c->slot)
		sx_spool_status(c->slot, c->status, false);
	keep(c, c->out.p, c->out.len);
	if (c->conn) {
		sx_hconn_begin(c->conn, (unsigned)c->status, c->resp_head.p, c->resp_head.len);
		sx_hconn_send(c->conn, c->out.p, c->out.len);
	}
	sx_buf_free(&c->out);
}

static void finish(struct call *c, enum sx_up_error err, const char *message);

static void on_fin(struct sx_evdefer *d)
{
	struct call *c = sx_container_of(d, struct call, fin);
	finish(c, SX_UP_OK, NULL);
}

static bool up_body(void *data, const char *p, size_t len)
{
	struct call *c = data;

	if (!c->t_first)
		c->t_first = sx_now_usec();
	c->resp_bytes += len;
	if (!c->relaying) {
		if (sx_buf_add(&c->out, p, len) < 0) {
			log_warn("call %s: out of memory collecting the answer", c->id);
			return false;
		}
		if (c->out.len > WHOLE_MAX)
			start_relaying(c);
		return true;
	}
	keep(c, p, len);
	if (!relay_out(c, p, len)) {
		/* The upclient ends the request without done(): finish after
		 * this callback has returned. */
		c->up = NULL;
		sx_evloop_defer(c->p->loop, &c->fin);
		return false;
	}
	if (c->conn && sx_hconn_pending(c->conn) > RELAY_HIGH && !c->paused) {
		c->paused = true;
		sx_upreq_pause(c->up);
	}
	return true;
}

static const char *error_kind(enum sx_up_error e)
{
	switch (e) {
	case SX_UP_DNS: return "dns";
	case SX_UP_CONNECT: return "connect";
	case SX_UP_TIMEOUT: return "timeout";
	case SX_UP_TLS: return "tls";
	default: return "other";
	}
}

/* The upstream ended (or the guard ended the stream): the client gets the
 * rest first, then the record is written and the call freed. */
static void finish(struct call *c, enum sx_up_error err, const char *message)
{
	struct sx_gateway *g = c->p->g;
	struct sx_metrics *m = &g->metrics;
	_cleanup_free_ char *error = NULL;
	bool ok = err == SX_UP_OK;

	c->up = NULL;
	if (c->sg && !c->guard_blocked && ok && sx_streamguard_end(c->sg, emit_out, c))
		c->guard_blocked = true;
	if (c->guard_blocked) {
		error = sx_strdupf("blocked by the guardrail: %s", sx_streamguard_why(c->sg));
	} else if (!ok) {
		error = sx_strdupf("upstream %s: %s", error_kind(err), message ? message : "failed");
		sx_labelled_inc(&m->upstream_errors, "kind=\"%s\"", error_kind(err));
		sx_gateway_set_error(g, "%s", error ? error : "upstream failed");
		log_warn("call %s to %s: %s", c->id, c->provider, error ? error : "failed");
	} else if (c->status >= 400) {
		error = sx_strdupf("upstream answered %ld", c->status);
		sx_labelled_inc(&m->upstream_errors, "kind=\"http_%ldxx\"", c->status / 100);
	}
	if (c->guard_blocked)
		ok = true; /* the client got the error event and a clean end */
	if (c->conn) {
		struct sx_hconn *conn = c->conn;
		c->conn = NULL; /* the request ends here */
		if (!c->headers_done)
			respond_json(conn, err == SX_UP_TIMEOUT ? 504 : 502, "sentrix_upstream",
				     "sentrix: provider %s unreachable: %s", c->provider,
				     message ? message : "failed");
		else if (c->relaying)
			sx_hconn_end(conn, ok);
		else if (ok) {
			/* The spool slot gets the answer before the client does. */
			if (c->slot) {
				sx_spool_status(c->slot, c->status, false);
				if (sx_spool_body(c->slot, c->out.p, c->out.len) < 0)
					log_warn("call %s: its spool slot cannot grow; a crash would lose "
						 "its answer",
						 c->id);
			}
			sx_hconn_respond(conn, (unsigned)c->status, c->resp_head.p, c->resp_head.len,
					 c->out.p, c->out.len);
		} else {
			/* Broken mid-answer: the client sees a broken response. */
			sx_hconn_begin(conn, (unsigned)c->status, c->resp_head.p, c->resp_head.len);
			sx_hconn_send(conn, c->out.p, c->out.len);
			sx_hconn_end(conn, false);
		}
	}
	finish_record(c, error, ok);
	call_free(c);
}

static void up_done(void *data, enum sx_up_error err, const char *message)
{
	finish(data, err, message);
}

static const struct sx_upreq_ops up_ops = {
    .headers = up_headers,
    .body = up_body,
    .done = up_done,
};

/* ---- the client's side ---- */

static const char *header(const struct sx_hreq *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->names[i], name) == 0)
			return req->values[i];
	return NULL;
}

/* The header lines for the provider: the client's, filtered, then the
 * real credential.  0 or -ENOMEM. */
static int build_forward(struct call *c, const struct sx_hreq *req, const struct sx_provider *prov,
			 const char *key)
{
	for (size_t i = 0; i < req->n_headers; i++) {
		_cleanup_free_ char *line = NULL;
		int r = sx_llm_forward_header(req->names[i], req->values[i], &line);
		if (r < 0)
			return r;
		if (r > 0 &&
		    (sx_buf_add(&c->fwd, line, strlen(line)) < 0 || sx_buf_add(&c->fwd, "\r\n", 2) < 0))
			return -ENOMEM;
	}
	c->cred_off = c->fwd.len;
	c->anthropic = streq(prov->api, "anthropic-messages");
	if (sx_buf_add(&c->fwd, c->anthropic ? "x-api-key: " : "Authorization: Bearer ",
		       c->anthropic ? 11 : 22) < 0 ||
	    sx_buf_add(&c->fwd, key, strlen(key)) < 0 || sx_buf_add(&c->fwd, "\r\n", 2) < 0)
		return -ENOMEM;
	return 0;
}

static void *on_request(void *cls, struct sx_hconn *conn, const struct sx_hreq *req)
{
	struct sx_llmproxy *p = cls;
	struct sx_gateway *g = p->g;
	_cleanup_free_ char *provider = NULL, *endpoint = NULL, *key = NULL;
	const struct sx_provider *prov;
	const char *run;
	struct call *c;

	if (g->stopping) {
		respond_json(conn, 503, "sentrix_stopping", "sentrix: the gateway is stopping");
		return NULL;
	}
	if (sx_llm_split_route(req->url, &provider, &endpoint) < 0) {
		count_request(g, NULL, 404);
		respond_json(conn, 404, "sentrix_route",
			     "sentrix: use /PROVIDER/... (see `sentrix provider list`)");
		return NULL;
	}
	if (!sx_llm_token_ok(header(req, "Authorization"), header(req, "x-api-key"), g->token)) {
		count_request(g, provider, 401);
		respond_json(conn, 401, "sentrix_auth", "sentrix: missing or wrong instance token");
		return NULL;
	}
	prov = sx_config_provider(g->config, provider);
	if (!prov) {
		count_request(g, provider, 404);
		respond_json(conn, 404, "sentrix_route",
			     "sentrix: no provider '%s' (add it with `sentrix provider set %s ...`)",
			     provider, provider);
		return NULL;
	}
	key = sx_gateway_secret(g, prov->key_env);
	if (!key || !*key) {
		count_request(g, provider, 502);
		sx_gateway_set_error(g, "secret %s for provider %s is not set", prov->key_env, prov->name);
		log_warn("provider %s: the secret %s is not set", prov->name, prov->key_env);
		respond_json(
		    conn, 502, "sentrix_secret",
		    "sentrix: the secret %s for provider %s is not set; run `sentrix secrets set %s`",
		    prov->key_env, prov->name, prov->key_env);
		return NULL;
	}
	if (req->content_length > SX_LLM_BODY_MAX) {
		count_request(g, provider, 413);
		respond_json(conn, 413, "sentrix_too_large", "sentrix: request body over %d MiB",
			     SX_LLM_BODY_MAX >> 20);
		explicit_bzero(key, strlen(key));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		explicit_bzero(key, strlen(key));
		sx_hconn_end(conn, false);
		return NULL;
	}
	c->p = p;
	c->conn = conn;
	c->t0 = sx_now_usec();
	c->method = req->method;
	c->fin.fn = on_fin;
	c->provider = TAKE_PTR(provider);
	c->endpoint = TAKE_PTR(endpoint);
	c->upstream_url = sx_llm_upstream_url(prov->base_url, c->endpoint);
	run = header(req, "X-Sentrix-Run");
	c->run_id = run ? strdup(run) : NULL;
	c->next = p->calls;
	if (p->calls)
		p->calls->prev = c;
	p->calls = c;
	/* The body goes into the slot as it comes: no copy of it in memory. */
	c->slot = sx_spool_take(p->spool, req->content_length > 0 ? (size_t)req->content_length : 0);
	c->slot_err = c->slot ? 0 : -errno;
	if (build_forward(c, req, prov, key) < 0 || !c->upstream_url || (run && !c->run_id)) {
		explicit_bzero(key, strlen(key));
		call_free(c);
		sx_hconn_end(conn, false);
		return NULL;
	}
	explicit_bzero(key, strlen(key));
	return c;
}

/* The request goes on without the slot (it cannot grow, or cannot be
 * opened): what it holds of the body is moved to memory. */
static int leave_slot(struct call *c)
{
	size_t n;
	const char *had = sx_spool_request_bytes(c->slot, &n);
	int r = sx_buf_add(&c->body, had, n);

	sx_spool_release(c->p->spool, c->slot);
	c->slot = NULL;
	c->slot_err = -EFBIG;
	return r;
}

static void on_body(void *ctx, const char *data, size_t len)
{
	struct call *c = ctx;

	if (c->too_big || c->req_len + len > SX_LLM_BODY_MAX) {
		/* A chunked body over the limit: drop it, answer at the end. */
		c->too_big = true;
		sx_buf_free(&c->body);
		sx_spool_release(c->p->spool, c->slot);
		c->slot = NULL;
		return;
	}
	c->req_len += len;
	if (c->slot && sx_spool_request(c->slot, data, len) == 0)
		return;
	if ((c->slot && leave_slot(c) < 0) || sx_buf_add(&c->body, data, len) < 0)
		c->too_big = true; /* out of memory */
}

/* The guardrail refused the request (BLOCK: guardrail.refusal_status, 403
 * by default) or could not scan it with fail_mode "closed" (FAIL: 503):
 * the call is recorded, with the reason as its error, and never reaches
 * the provider.  With 400 the answer is a provider-style
 * invalid_request_error whose message holds no description (OpenClaw reads
 * 401/403, and words such as "unauthorized" in a message, as a failed login
 * and then stops using the provider's key for minutes). */
static void refuse_guarded(struct call *c, enum sx_guard_verdict v, const char *rule, const char *why)
{
	struct sx_gateway *g = c->p->g;
	unsigned status = v == SX_GUARD_BLOCK ? g->policy->guardrail_refusal_status : 503;
	_cleanup_free_ char *err = v == SX_GUARD_BLOCK
	    ? sx_strdupf("blocked by the guardrail: %s", why)
	    : strdup("the guardrail could not scan the request (guardrail.fail_mode is \"closed\")");
	struct sx_hconn *conn = c->conn;

	if (status != 400 && status != 403 && status != 503)
		status = 403;
	c->conn = NULL;
	c->status = status;
	c->headers_done = true;
	c->sent = true; /* recorded like a sent call */
	log_warn("call %s: %s", c->id, err ? err : "refused by the guardrail");
	if (status == 400)
		respond_json(
		    conn, 400, "invalid_request_error",
		    "sentrix guardrail: this request was not sent to the model: it carries what rule "
		    "%s finds (call %s; `sentrix logs` shows it)",
		    rule ? rule : "?", c->id);
	else
		respond_json(conn, status, "sentrix_guardrail", "sentrix: %s", err ? err : "refused");
	finish_record(c, err ? err : "refused by the guardrail", true);
	call_free(c);
}

/* The spool file's first line: the record's head fields but the request. */
/* The slot's meta object, written straight (a tree cost ten allocations
 * per call); read back with a JSON parser (spool.c). */
static char *spool_meta(const struct call *c)
{
	const char *fields[][2] = {{"timestamp", c->stamp},	{"id", c->id},
				   {"instance", c->p->g->name}, {"run_id", c->run_id},
				   {"provider", c->provider},	{"endpoint", c->endpoint},
				   {"method", c->method}};
	struct sx_buf b = {0};
	char tail[48];

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (sx_buf_add(&b, i ? ",\"" : "{\"", 2) < 0 ||
		    sx_buf_add(&b, fields[i][0], strlen(fields[i][0])) < 0 || sx_buf_add(&b, "\":", 2) < 0 ||
		    (fields[i][1] ? sx_json_add_string(&b, fields[i][1], strlen(fields[i][1]), NULL)
				  : sx_buf_add(&b, "null", 4)) < 0)
			goto fail;
	}
	snprintf(tail, sizeof(tail), ",\"request_bytes\":%zu}", c->req_len);
	if (sx_buf_add(&b, tail, strlen(tail) + 1) < 0)
		goto fail;
	return b.p;
fail:
	sx_buf_free(&b);
	return NULL;
}

static void on_complete(void *ctx)
{
	struct call *c = ctx;
	struct sx_llmproxy *p = c->p;
	struct sx_gateway *g = p->g;
	_cleanup_free_ char *meta = NULL;
	int r;

	if (c->too_big) {
		struct sx_hconn *conn = c->conn;
		c->conn = NULL;
		count_request(g, c->provider, 413);
		respond_json(conn, 413, "sentrix_too_large", "sentrix: request body over %d MiB",
			     SX_LLM_BODY_MAX >> 20);
		call_free(c);
		return;
	}
	next_id(p, c->id);
	sx_utc_stamp(c->stamp);
	c->req = c->slot ? sx_spool_request_bytes(c->slot, &c->req_len) : c->body.p;
	if (g->guardrail) {
		_cleanup_free_ char *rule = NULL, *why = NULL;
		enum sx_guard_verdict v = sx_guardrail_check(g->guardrail, c->req, c->req_len, &rule, &why);
		if (v != SX_GUARD_PASS) {
			refuse_guarded(c, v, rule, why);
			return;
		}
	}
	meta = spool_meta(c);
	r = !c->slot ? c->slot_err : !meta ? -ENOMEM : sx_spool_open(c->slot, meta);
	if (r < 0) {
		log_warn_errno(r, "call %s: no spool slot; a crash would lose it", c->id);
		if (c->slot && leave_slot(c) < 0) {
			struct sx_hconn *conn = c->conn;
			c->conn = NULL;
			respond_json(conn, 500, "sentrix_internal", "sentrix: out of memory");
			call_free(c);
			return;
		}
		c->req = c->body.p;
	}
	c->sent = true;
	c->counted = true;
	g->open_calls++;
	(void)sx_upclient_set_ca_file(p->up, g->config->ca_file); /* a SIGHUP may have changed it */
	c->fwd_iov = (struct iovec){c->fwd.p, c->fwd.len};
	c->up =
	    sx_upreq_start(p->up, c->method, c->upstream_url, &c->fwd_iov, 1, c->req, c->req_len, &up_ops, c);
	if (!c->up) {
		struct sx_hconn *conn = c->conn;
		c->conn = NULL;
		respond_json(conn, 500, "sentrix_internal", "sentrix: cannot start the upstream request");
		finish_record(c, "the gateway could not start the upstream request", false);
		call_free(c);
	}
}

static void on_drained(void *ctx)
{
	struct call *c = ctx;
	if (c->paused && c->up) {
		c->paused = false;
		sx_upreq_resume(c->up);
	}
}

/* The client went away before its answer ended: the upstream is
 * cancelled and the record says so. */
static void on_closed(void *ctx)
{
	struct call *c = ctx;

	c->conn = NULL;
	if (c->up) {
		sx_upreq_cancel(c->up);
		c->up = NULL;
	}
	finish_record(c, "the client disconnected before the response ended", false);
	call_free(c);
}

static const struct sx_hsrv_ops srv_ops = {
    .request = on_request,
    .body = on_body,
    .complete = on_complete,
    .drained = on_drained,
    .closed = on_closed,
};

/* ---- the service ---- */

int sx_llmproxy_new(struct sx_gateway *g, struct sx_llmproxy **ret)
{
	struct sx_llmproxy *p = calloc(1, sizeof(*p));
	struct sx_upclient_opts o = {
	    .ca_file = g->config->ca_file,
	    .connect_secs = 10,
	    /* A stream may think for a long while between events, but not forever. */
	    .idle_secs = 600,
	    .keepalive_secs = 60,
	    .max_idle_per_origin = 256,
	};
	int r;

	if (!p)
		return -ENOMEM;
	p->g = g;
	p->loop = g->evloop;
	p->wake_recorder.fn = wake_recorder;
	if ((r = sx_spool_new(g->log_dir, g->no_reasoning, &p->spool)) < 0 ||
	    (r = sx_resolver_new(g->loop, NULL, &p->resolver)) < 0 ||
	    (r = sx_upclient_new(p->loop, p->resolver, &o, &p->up)) < 0 ||
	    (r = sx_recorder_new(g->capture, p->spool, &g->metrics, &p->recorder)) < 0 ||
	    (r = sx_hsrv_start(p->loop, "LLM proxy", g->listen_host, g->config->llm_port, &srv_ops, p,
			       &p->srv)) < 0) {
		sx_llmproxy_free(p);
		return r == -ENOMEM ? log_error_errno(r, "LLM proxy: out of memory") : r;
	}
	*ret = p;
	return 0;
}

void sx_llmproxy_quiesce(struct sx_llmproxy *p)
{
	sx_hsrv_quiesce(p->srv);
}

void sx_llmproxy_abort_all(struct sx_llmproxy *p, const char *why)
{
	for (struct call *c = p->calls; c; c = c->next) {
		if (c->up) {
			sx_upreq_cancel(c->up);
			c->up = NULL;
		}
		finish_record(c, why, false);
	}
}

void sx_llmproxy_free(struct sx_llmproxy *p)
{
	if (!p)
		return;
	sx_hsrv_free(p->srv); /* no callbacks: the calls are freed below */
	while (p->calls) {
		p->calls->counted = false;
		call_free(p->calls);
	}
	sx_upclient_free(p->up);
	sx_evloop_undefer(p->loop, &p->wake_recorder);
	sx_recorder_free(p->recorder); /* writes what is queued */
	sx_resolver_free(p->resolver);
	sx_spool_free(p->spool);
	free(p);
}
