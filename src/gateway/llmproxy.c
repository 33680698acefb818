/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * llmproxy.c - the LLM proxy: /PROVIDER/REST from the sandbox, with the
 * instance token, becomes BASE_URL/REST at the provider with the real key.
 *
 * A call's life:
 *   1. first callback: route, token and secret checks (401, 404, 502 early);
 *   2. body chunks are collected (SX_LLM_BODY_MAX);
 *   3. the upstream request starts (upstream.c) and the client connection
 *      is suspended until the upstream's headers arrive;
 *   4. the response is relayed from a content-reader callback as bytes
 *      arrive: the connection is suspended while nothing is pending and
 *      resumed by the upstream write callback, so the client's first byte
 *      never waits for the upstream's last; a slow client pauses the
 *      upstream transfer (backpressure);
 *   5. when the upstream ends, the record is built and appended to the
 *      capture file; if the client goes away first, the upstream transfer
 *      is cancelled and the record says so.
 * While the call is open its record's head and the response body so far
 * live in a spool file (spool.h), from which a killed gateway's next start
 * recovers it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "capture.h"
#include "gateway.h"
#include "guardrail.h"
#include "httpd.h"
#include "llmreq.h"
#include "record.h"
#include "spool.h"
#include "streamguard.h"
#include "upstream.h"

/* gcc 12's -fanalyzer loses track of memory stored into a call reached
 * through libmicrohttpd's void ** request context and reports every such
 * store as a leak.  LeakSanitizer checks this file for real when the
 * gateway tests run an ASan build (`make asan && make check`). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif

#define RELAY_HIGH (256 * 1024) /* pause the upstream above this much unsent */
#define RELAY_LOW (64 * 1024) /* and resume it below this */
#define RELAY_BLOCK (4 * 1024) /* libmicrohttpd's per-response buffer: 4 KiB keeps an idle stream small */
/* A non-streaming answer up to this size is sent whole, with its length, in
 * one write (chunked relaying costs three); a bigger one is relayed. */
#define WHOLE_MAX (1024 * 1024)

enum call_state { ST_NEW, ST_BODY, ST_UPSTREAM, ST_RESPOND, ST_DONE };

struct bytes {
	char *p;
	size_t len, off, cap;
};

struct call {
	struct call *prev, *next;
	struct sx_gateway *g;
	struct MHD_Connection *conn;
	enum call_state state;
	char *uri;
	char id[17];
	uint64_t t0, t_first; /* CLOCK_MONOTONIC usec; t_first 0: none yet */
	char *provider, *endpoint, *upstream_url, *credential_header;
	cJSON *head;
	struct bytes body, out;
	CURL *easy;
	struct curl_slist *req_headers, *resp_headers;
	char errbuf[CURL_ERROR_SIZE];
	long status;
	bool headers_done, sse, upstream_done, suspended, paused, recorded, counted, too_big;
	sd_event_source *hup; /* the client socket, watched while suspended */
	CURLcode result;
	struct bytes mem; /* response body kept for the record, up to SX_CAPTURE_MEM_MAX */
	bool spilled;
	size_t resp_bytes;
	int spool_fd;
	char *spool_path;
	struct sx_streamguard *sg; /* block mode, a streamed answer: tool calls held back and scanned */
	bool guard_blocked; /* a tool call was blocked: the rest of the stream is dropped */
};

static struct call *open_calls_list;
static void suspend(struct call *c);
/* MHD_resume_connection() outside MHD_run() must be followed by a run in
 * external-polling mode; this one-shot source does it once per loop turn. */
static sd_event_source *kick_source;

static int bytes_add(struct bytes *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

static void bytes_free(struct bytes *b)
{
	free(b->p);
	*b = (struct bytes){0};
}

/* ---- responses the gateway writes itself ---- */

static enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, const char *type,
				    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, const char *type,
				    const char *fmt, ...)
{
	_cleanup_cjson_ cJSON *j = cJSON_CreateObject();
	_cleanup_free_ char *msg = NULL, *text = NULL;
	cJSON *e = j ? cJSON_AddObjectToObject(j, "error") : NULL;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!e || !msg)
		return MHD_NO;
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "type", type);
	text = cJSON_PrintUnformatted(j);
	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- the record ---- */

static void count_request(struct call *c, long status)
{
	struct sx_metrics *m = &c->g->metrics;
	/* The route comes from the sandbox: only configured names become label
	 * values (each is a series kept for good, and must not break the text
	 * format); anything else counts as "-". */
	const char *p = c->provider && sx_config_provider(c->g->config, c->provider) ? c->provider : "-";
	sx_labelled_inc(&m->requests, "provider=\"%s\",status=\"%ld\"", p, status);
}

/* Builds the call's record and appends it to the capture file (once). */
static void finish_record(struct call *c, const char *error, bool complete)
{
	struct sx_gateway *g = c->g;
	_cleanup_free_ char *spooled = NULL, *rec = NULL;
	const char *body = c->mem.p;
	size_t len = c->mem.len;
	uint64_t t = sx_now_usec();
	struct sx_record_end e = {
	    .status = c->headers_done ? c->status : -1,
	    .sse = c->sse,
	    .first_byte_ms = c->t_first ? (double)(c->t_first - c->t0) / 1000.0 : -1,
	    .total_ms = (double)(t - c->t0) / 1000.0,
	    .request_bytes = c->body.len,
	    .error = error,
	    .complete = complete,
	    .no_reasoning = g->no_reasoning,
	};

	if (c->recorded || !c->head)
		return;
	c->recorded = true;
	if (c->spilled) {
		cJSON *head = NULL;
		long status;
		bool sse;
		if (sx_spool_read(c->spool_path, &head, &status, &sse, &spooled, &len) == 0) {
			cJSON_Delete(head);
			body = spooled;
		} else {
			body = NULL;
			len = 0;
			e.error = error ? error : "the spooled response could not be read back";
		}
	}
	rec = sx_record_finish(c->head, body, len, &e);
	if (!rec || sx_capture_append(g->capture, rec) < 0)
		g->metrics.capture_errors += !rec;
	sx_histogram_observe(&g->metrics.request_seconds, e.total_ms / 1000.0);
	if (c->t_first)
		sx_histogram_observe(&g->metrics.first_byte_seconds, e.first_byte_ms / 1000.0);
	g->metrics.bytes_in += c->body.len;
	g->metrics.bytes_out += c->resp_bytes;
	count_request(c, c->headers_done ? c->status : 502);
	if (c->spool_fd >= 0) {
		sx_spool_release(c->spool_fd, TAKE_PTR(c->spool_path));
		c->spool_fd = -EBADF;
	}
}

/* ---- the upstream side ---- */

static int on_kick(sd_event_source *s, void *data)
{
	struct sx_gateway *g = data;
	sx_httpd_kick(g->llm);
	return 0;
}

static void resume(struct call *c)
{
	if (c->suspended) {
		c->suspended = false;
		MHD_resume_connection(c->conn);
		sd_event_source_set_enabled(kick_source, SD_EVENT_ONESHOT);
	}
}

/* True while a non-streaming answer is still coming and fits in memory:
 * the client connection stays suspended until it is whole. */
static bool wait_whole(const struct call *c)
{
	return c->state == ST_UPSTREAM && !c->sse && !c->upstream_done && c->out.len < WHOLE_MAX;
}

static size_t on_header(char *buf, size_t size, size_t n, void *data)
{
	struct call *c = data;
	size_t len = size * n;
	static const char *const hop[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
					  "te",		"trailer",    "upgrade",	  "content-length",
					  "date"};
	const char *colon;

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		curl_slist_free_all(c->resp_headers); /* a new block (after 1xx) */
		c->resp_headers = NULL;
		c->sse = false;
		return len;
	}
	if (len <= 2 && (buf[0] == '\r' || buf[0] == '\n')) {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
		if (c->status >= 200 && !c->headers_done) {
			c->headers_done = true;
			if (c->spool_fd >= 0)
				sx_spool_status(c->spool_fd, c->status, c->sse);
			if (!wait_whole(c))
				resume(c);
		}
		return len;
	}
	colon = memchr(buf, ':', len);
	if (colon) {
		_cleanup_free_ char *name = strndup(buf, (size_t)(colon - buf)), *line = NULL;
		const char *v = colon + 1, *end = buf + len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		if (!name)
			return 0;
		for (size_t i = 0; i < ELEMENTSOF(hop); i++)
			if (strcasecmp(name, hop[i]) == 0)
				return len;
		if (strcasecmp(name, "content-type") == 0)
			c->sse = (size_t)(end - v) >= 17 && strncasecmp(v, "text/event-stream", 17) == 0;
		line = sx_strdupf("%s: %.*s", name, (int)(end - v), v);
		struct curl_slist *l = line ? curl_slist_append(c->resp_headers, line) : NULL;
		if (!l)
			return 0;
		c->resp_headers = l;
	}
	return len;
}

/* What the stream guard lets through goes to the client. */
static void emit_out(void *userdata, const char *data, size_t len)
{
	struct call *c = userdata;
	if (bytes_add(&c->out, data, len) < 0)
		log_warn("call %s: out of memory relaying the stream", c->id);
}

/* Queues upstream bytes for the client: as they are, or through the stream
 * guard (block mode, a streamed answer), which may hold a tool call back
 * or end the stream.  Returns false when the rest must not be relayed. */
static bool relay_out(struct call *c, const char *data, size_t len)
{
	if (!c->sg && c->sse && c->g->guardrail && c->status < 300) {
		const struct sx_provider *p = sx_config_provider(c->g->config, c->provider);
		c->sg = sx_streamguard_new(c->g->guardrail, p && streq(p->api, "anthropic-messages"));
	}
	if (!c->sg)
		return bytes_add(&c->out, data, len) == 0;
	if (sx_streamguard_feed(c->sg, data, len, emit_out, c) == 0)
		return true;
	c->guard_blocked = true;
	log_warn("call %s: stream ended by the guardrail: %s", c->id, sx_streamguard_why(c->sg));
	return false;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	struct call *c = userp;
	size_t len = size * n;
	bool more;

	if (c->out.len - c->out.off > RELAY_HIGH) {
		c->paused = true;
		return CURL_WRITEFUNC_PAUSE; /* curl keeps the data and offers it again */
	}
	if (!c->t_first)
		c->t_first = sx_now_usec();
	more = relay_out(c, data, len);
	c->resp_bytes += len;
	if (!c->spilled) {
		if (c->mem.len + len <= SX_CAPTURE_MEM_MAX)
			bytes_add(&c->mem, data, len);
		else {
			c->spilled = true; /* the record is rebuilt from the spool file */
			bytes_free(&c->mem);
		}
	}
	if (c->spool_fd >= 0 && sx_spool_body(c->spool_fd, data, len) < 0) {
		log_warn_errno(-errno, "call %s: cannot write its spool file", c->id);
		close(c->spool_fd);
		c->spool_fd = -EBADF;
		unlink(c->spool_path);
	}
	if (!wait_whole(c))
		resume(c);
	return more ? len : 0; /* 0: curl ends the transfer (a blocked stream) */
}

static const char *error_kind(CURLcode r)
{
	switch (r) {
	case CURLE_COULDNT_RESOLVE_HOST: return "dns";
	case CURLE_COULDNT_CONNECT: return "connect";
	case CURLE_OPERATION_TIMEDOUT: return "timeout";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR: return "tls";
	default: return "other";
	}
}

static void on_upstream_done(CURL *easy, CURLcode result, void *data)
{
	struct call *c = data;
	struct sx_metrics *m = &c->g->metrics;
	_cleanup_free_ char *error = NULL;

	c->upstream_done = true;
	if (c->sg && !c->guard_blocked && result == CURLE_OK && sx_streamguard_end(c->sg, emit_out, c))
		c->guard_blocked = true;
	/* A stream the guard ended: the client got its error event and a
	 * clean end; the record says why. */
	if (c->guard_blocked && result == CURLE_WRITE_ERROR)
		result = CURLE_OK;
	c->result = result;
	if (c->guard_blocked) {
		error = sx_strdupf("blocked by the guardrail: %s", sx_streamguard_why(c->sg));
	} else if (result != CURLE_OK) {
		error = sx_strdupf("upstream %s: %s", error_kind(result),
				   *c->errbuf ? c->errbuf : curl_easy_strerror(result));
		sx_labelled_inc(&m->upstream_errors, "kind=\"%s\"", error_kind(result));
		free(c->g->last_error);
		c->g->last_error = error ? strdup(error) : NULL;
		log_warn("call %s to %s: %s", c->id, c->provider, error ? error : "failed");
	} else if (c->status >= 400) {
		error = sx_strdupf("upstream answered %ld", c->status);
		sx_labelled_inc(&m->upstream_errors, "kind=\"http_%ldxx\"", c->status / 100);
	}
	finish_record(c, error, result == CURLE_OK);
	curl_easy_cleanup(easy);
	c->easy = NULL;
	curl_slist_free_all(c->req_headers);
	c->req_headers = NULL;
	resume(c);
}

static enum MHD_Result add_request_header(void *cls, enum MHD_ValueKind kind, const char *name,
					  const char *value)
{
	struct call *c = cls;
	_cleanup_free_ char *line = NULL;
	struct curl_slist *l;

	if (sx_llm_forward_header(name, value, &line) <= 0)
		return MHD_YES;
	l = curl_slist_append(c->req_headers, line);
	if (l)
		c->req_headers = l;
	return MHD_YES;
}

static int start_upstream(struct call *c, const char *method)
{
	struct sx_gateway *g = c->g;
	struct curl_slist *l;
	CURL *e;

	MHD_get_connection_values(c->conn, MHD_HEADER_KIND, add_request_header, c);
	l = curl_slist_append(c->req_headers, c->credential_header);
	if (l)
		l = curl_slist_append(c->req_headers = l, "Expect:");
	if (!l)
		return -ENOMEM;
	c->req_headers = l;
	e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	c->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, c->upstream_url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->req_headers);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body.p ? c->body.p : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body.len);
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	/* A stream may think for a long while between events, but not forever. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 600L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (g->config->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, g->config->ca_file);
	return sx_upstream_add(g->upstream, e, on_upstream_done, c);
}

/* ---- the client side ---- */

static ssize_t relay(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct call *c = cls;
	size_t pending = c->out.len - c->out.off;

	if (pending) {
		size_t n = pending < max ? pending : max;
		memcpy(buf, c->out.p + c->out.off, n);
		c->out.off += n;
		if (c->out.off == c->out.len) {
			c->out.off = c->out.len = 0;
			if (c->out.cap > RELAY_LOW) /* an idle stream holds no big buffer */
				bytes_free(&c->out);
		}
		if (c->paused && c->out.len - c->out.off < RELAY_LOW && c->easy) {
			c->paused = false;
			curl_easy_pause(c->easy, CURLPAUSE_CONT);
		}
		return (ssize_t)n;
	}
	if (c->upstream_done)
		return c->result == CURLE_OK ? MHD_CONTENT_READER_END_OF_STREAM
					     : MHD_CONTENT_READER_END_WITH_ERROR;
	suspend(c);
	return 0;
}

static enum MHD_Result queue_upstream_response(struct call *c)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (c->upstream_done && c->result == CURLE_OK && !c->sse && c->out.off == 0) {
		resp = MHD_create_response_from_buffer(c->out.len, c->out.p ? c->out.p : (char *)"",
						       c->out.p ? MHD_RESPMEM_MUST_FREE
								: MHD_RESPMEM_PERSISTENT);
		if (resp)
			c->out = (struct bytes){0}; /* the response owns it now */
	} else
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, RELAY_BLOCK, relay, c, NULL);
	if (!resp)
		return MHD_NO;
	for (struct curl_slist *h = c->resp_headers; h; h = h->next) {
		char *colon = strchr(h->data, ':');
		if (!colon)
			continue;
		*colon = 0;
		MHD_add_response_header(resp, h->data, colon + 2);
		*colon = ':';
	}
	ret = MHD_queue_response(c->conn, (unsigned)c->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result upstream_failed(struct call *c)
{
	unsigned status = c->result == CURLE_OPERATION_TIMEDOUT ? 504 : 502;
	return respond_json(c->conn, status, "sentrix_upstream", "sentrix: provider %s unreachable: %s",
			    c->provider, *c->errbuf ? c->errbuf : curl_easy_strerror(c->result));
}

static bool token_ok(struct call *c)
{
	return sx_llm_token_ok(MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Authorization"),
			       MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "x-api-key"),
			       c->g->token);
}

static enum MHD_Result too_large(struct call *c)
{
	count_request(c, 413);
	return respond_json(c->conn, 413, "sentrix_too_large", "sentrix: request body over %d MiB",
			    SX_LLM_BODY_MAX >> 20);
}

/* Checks and routes a new call; queues the error response itself. */
static enum MHD_Result begin(struct call *c)
{
	struct sx_gateway *g = c->g;
	const struct sx_provider *p;
	_cleanup_free_ char *key = NULL;
	const char *cl;

	if (g->stopping)
		return respond_json(c->conn, 503, "sentrix_stopping", "sentrix: the gateway is stopping");
	if (sx_llm_split_route(c->uri ? c->uri : "", &c->provider, &c->endpoint) < 0) {
		count_request(c, 404);
		return respond_json(c->conn, 404, "sentrix_route",
				    "sentrix: use /PROVIDER/... (see `sentrix provider list`)");
	}
	if (!token_ok(c)) {
		count_request(c, 401);
		return respond_json(c->conn, 401, "sentrix_auth", "sentrix: missing or wrong instance token");
	}
	p = sx_config_provider(g->config, c->provider);
	if (!p) {
		count_request(c, 404);
		return respond_json(c->conn, 404, "sentrix_route",
				    "sentrix: no provider '%s' (add it with `sentrix provider set %s ...`)",
				    c->provider, c->provider);
	}
	key = sx_gateway_secret(g, p->key_env);
	if (!key || !*key) {
		count_request(c, 502);
		free(g->last_error);
		g->last_error = sx_strdupf("secret %s for provider %s is not set", p->key_env, p->name);
		log_warn("provider %s: the secret %s is not set", p->name, p->key_env);
		return respond_json(
		    c->conn, 502, "sentrix_secret",
		    "sentrix: the secret %s for provider %s is not set; run `sentrix secrets set %s`",
		    p->key_env, p->name, p->key_env);
	}
	cl = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (sx_llm_too_large(cl))
		return too_large(c);
	c->upstream_url = sx_llm_upstream_url(p->base_url, c->endpoint);
	c->credential_header = streq(p->api, "anthropic-messages")
	    ? sx_strdupf("x-api-key: %s", key)
	    : sx_strdupf("Authorization: Bearer %s", key);
	explicit_bzero(key, strlen(key));
	if (!c->upstream_url || !c->credential_header)
		return MHD_NO;
	c->state = ST_BODY;
	return MHD_YES;
}

/* Call ids: a random 64-bit start drawn once, then counted up, so ids
 * stay unique across restarts without a getrandom() per call. */
static void random_id(char out[17])
{
	static uint64_t next;
	if (!next && getrandom(&next, sizeof(next), 0) != sizeof(next))
		next = sx_now_usec() * 0x9E3779B97F4A7C15ULL;
	snprintf(out, 17, "%016llx", (unsigned long long)next++);
}

static cJSON *make_head(struct call *c, const char *method)
{
	char stamp[40];
	struct sx_llm_head h = {
	    .timestamp = stamp,
	    .id = c->id,
	    .instance = c->g->name,
	    .provider = c->provider,
	    .endpoint = c->endpoint,
	    .method = method,
	    .run_id = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "X-Sentrix-Run"),
	    .body = c->body.p,
	    .body_len = c->body.len,
	};

	sx_utc_stamp(stamp);
	return sx_llm_record_head(&h);
}

/* The guardrail refused the request (BLOCK: guardrail.refusal_status, 403
 * by default) or could not scan it with fail_mode "closed" (FAIL: 503):
 * the call is recorded, with the reason as its error, and never reaches
 * the provider.  With 400 the answer is a provider-style
 * invalid_request_error whose message holds no description (OpenClaw reads
 * 401/403, and words such as "unauthorized" in a message, as a failed login
 * and then stops using the provider's key for minutes). */
static enum MHD_Result refuse_guarded(struct call *c, const char *method, enum sx_guard_verdict v,
				      const char *rule, const char *why)
{
	unsigned status = v == SX_GUARD_BLOCK ? c->g->policy->guardrail_refusal_status : 503;
	_cleanup_free_ char *err = v == SX_GUARD_BLOCK
	    ? sx_strdupf("blocked by the guardrail: %s", why)
	    : strdup("the guardrail could not scan the request (guardrail.fail_mode is \"closed\")");

	if (status != 400 && status != 403 && status != 503)
		status = 403;
	random_id(c->id);
	c->head = make_head(c, method);
	if (!c->head || !err)
		return MHD_NO;
	c->status = status;
	c->headers_done = true;
	finish_record(c, err, true);
	log_warn("call %s: %s", c->id, err);
	if (status == 400)
		return respond_json(
		    c->conn, 400, "invalid_request_error",
		    "sentrix guardrail: this request was not sent to the model: it carries what rule "
		    "%s finds (call %s; `sentrix logs` shows it)",
		    rule ? rule : "?", c->id);
	return respond_json(c->conn, status, "sentrix_guardrail", "sentrix: %s", err);
}

/* The body is in: write the spool file, start the upstream request and
 * wait for its headers. */
static enum MHD_Result send_upstream(struct call *c, const char *method)
{
	struct sx_gateway *g = c->g;
	_cleanup_free_ char *spool_head = NULL;
	int r;

	random_id(c->id);
	c->head = make_head(c, method);
	if (!c->head)
		return MHD_NO;
	cJSON_AddNumberToObject(c->head, "request_bytes", (double)c->body.len);
	spool_head = cJSON_PrintUnformatted(c->head);
	cJSON_DeleteItemFromObject(c->head, "request_bytes");
	if (spool_head) {
		r = sx_spool_create(g->log_dir, spool_head, &c->spool_path);
		if (r < 0)
			log_warn_errno(r, "call %s: cannot create its spool file; a crash would lose it",
				       c->id);
		else
			c->spool_fd = r;
	}
	r = start_upstream(c, method);
	if (r < 0) {
		finish_record(c, "the gateway could not start the upstream request", false);
		return respond_json(c->conn, 500, "sentrix_internal",
				    "sentrix: cannot start the upstream request");
	}
	c->counted = true;
	g->open_calls++;
	c->state = ST_UPSTREAM;
	suspend(c);
	return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				 const char *version, const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct call *c = *con_cls;

	if (!c)
		return MHD_NO;
	switch (c->state) {
	case ST_NEW:
		c->conn = conn;
		c->t0 = sx_now_usec();
		if (begin(c) == MHD_NO)
			return MHD_NO;
		if (c->state == ST_NEW)
			c->state = ST_DONE; /* an error response is queued */
		return MHD_YES;
	case ST_BODY:
		if (*upload_data_size) {
			/* libmicrohttpd takes a response only once the body is in:
			 * drop the rest of a body that is too large, answer at the end. */
			if (c->too_big || c->body.len + *upload_data_size > SX_LLM_BODY_MAX) {
				c->too_big = true;
				bytes_free(&c->body);
				*upload_data_size = 0;
				return MHD_YES;
			}
			if (bytes_add(&c->body, upload_data, *upload_data_size) < 0)
				return MHD_NO;
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (c->too_big) {
			c->state = ST_DONE;
			return too_large(c);
		}
		if (c->g->guardrail) {
			_cleanup_free_ char *rule = NULL, *why = NULL;
			enum sx_guard_verdict v =
			    sx_guardrail_check(c->g->guardrail, c->body.p, c->body.len, &rule, &why);
			if (v != SX_GUARD_PASS) {
				c->state = ST_DONE;
				return refuse_guarded(c, method, v, rule, why);
			}
		}
		return send_upstream(c, method);
	case ST_UPSTREAM:
		if (c->headers_done && !wait_whole(c)) {
			c->state = ST_RESPOND;
			return queue_upstream_response(c);
		}
		if (c->upstream_done) {
			c->state = ST_DONE;
			return upstream_failed(c);
		}
		suspend(c);
		return MHD_YES;
	default: *upload_data_size = 0; return MHD_YES;
	}
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct call *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->g = cls;
	c->uri = strdup(uri);
	c->spool_fd = -EBADF;
	c->next = open_calls_list;
	if (open_calls_list)
		open_calls_list->prev = c;
	open_calls_list = c;
	return c;
}

static void call_free(struct call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (open_calls_list == c)
		open_calls_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sd_event_source_disable_unref(c->hup);
	if (c->spool_fd >= 0)
		sx_spool_release(c->spool_fd, TAKE_PTR(c->spool_path));
	curl_slist_free_all(c->req_headers);
	curl_slist_free_all(c->resp_headers);
	cJSON_Delete(c->head);
	bytes_free(&c->body);
	bytes_free(&c->out);
	bytes_free(&c->mem);
	sx_streamguard_free(c->sg);
	if (c->credential_header)
		explicit_bzero(c->credential_header, strlen(c->credential_header));
	free(c->credential_header);
	free(c->uri);
	free(c->provider);
	free(c->endpoint);
	free(c->upstream_url);
	free(c->spool_path);
	free(c);
}

/* Ends a call whose upstream is still running: cancel it, record why. */
static void abandon(struct call *c, const char *why)
{
	if (c->easy) {
		sx_upstream_cancel(c->g->upstream, c->easy);
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
		c->upstream_done = true;
		c->result = CURLE_ABORTED_BY_CALLBACK;
	}
	finish_record(c, why, false);
}

/* A suspended connection is not polled by libmicrohttpd, so a client that
 * goes away while its call waits for the upstream (for the headers, or for
 * the next event of a quiet stream) would go unnoticed until the upstream
 * speaks again, minutes later for a model thinking.  A watch on the client
 * socket (EPOLLRDHUP) while suspended cancels the upstream at once. */
static int on_client_hup(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct call *c = data;

	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	if (!c->suspended)
		return 0; /* libmicrohttpd polls this connection and sees it itself */
	if (c->easy)
		abandon(c, "the client disconnected before the response ended");
	resume(c); /* libmicrohttpd then finds the socket closed and ends the request */
	return 0;
}

static void suspend(struct call *c)
{
	const union MHD_ConnectionInfo *ci;

	c->suspended = true;
	MHD_suspend_connection(c->conn);
	if (c->hup) /* registered once per call and left on: epoll_ctl costs */
		return;
	ci = MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci || sd_event_add_io(c->g->loop, &c->hup, ci->connect_fd, EPOLLRDHUP, on_client_hup, c) < 0)
		log_debug("call %s: cannot watch the client socket; a hang-up shows at the next write",
			  c->id);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct sx_gateway *g = cls;
	struct call *c = *con_cls;

	if (!c)
		return;
	*con_cls = NULL;
	if (c->easy)
		abandon(c, "the client disconnected before the response ended");
	if (c->counted)
		g->open_calls--;
	call_free(c);
	if (g->stopping && g->open_calls == 0)
		sd_event_exit(g->loop, 0);
}

void sx_llmproxy_abort_all(struct sx_gateway *g, const char *why)
{
	for (struct call *c = open_calls_list; c; c = c->next)
		if (c->easy || (c->head && !c->recorded))
			abandon(c, why);
}

int sx_llmproxy_start(struct sx_gateway *g)
{
	struct sx_httpd_handlers h = {
	    .access = on_access,
	    .completed = on_completed,
	    .uri = on_uri,
	    .cls = g,
	};
	int r = sd_event_add_defer(g->loop, &kick_source, on_kick, g);
	if (r < 0)
		return log_error_errno(r, "cannot create the LLM proxy's resume source");
	sd_event_source_set_enabled(kick_source, SD_EVENT_OFF);
	return sx_httpd_start(g->loop, "LLM proxy", g->listen_host, g->config->llm_port, &h, &g->llm);
}
