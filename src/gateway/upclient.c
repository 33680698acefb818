/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * upclient.c - the LLM proxy's HTTP/1.1 client to the providers (upclient.h).
 *
 * A request's life: sx_upreq_start() builds the request line and Host into
 * one small allocation and queues a deferred step, so no callback runs
 * below it.  The step takes the origin's most recently used idle
 * connection or opens one: a lookup (resolver.h) unless the host is an IP
 * literal, a non-blocking connect to each address in turn, then the TLS
 * handshake.  The request goes out with sendmsg (or SSL_write) straight
 * from the caller's buffers; after EAGAIN a saved position says where to
 * go on.  Response bytes are read into the client's one read buffer and fed
 * to http-parser, whose callbacks copy the head into a per-request buffer
 * (freed once the headers callback returned) and pass body bytes on.  A
 * response read to its end on a keep-alive connection returns the
 * connection to its origin's pool, still in the epoll set, so a server's
 * close of an idle connection is seen at once.
 *
 * Sockets sit in the evloop set edge-triggered for good: every handler
 * reads until EAGAIN (or a short read) and writes until EAGAIN.  One 1 s
 * timer, on while connections exist, enforces the connect, response-idle
 * and keep-alive limits.
 *
 * Nothing is freed while a caller's callback runs below: a cancel from a
 * request's own callback sets a flag and pauses the parser, and the code
 * that ran the parser drops the request when it returns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "resolver.h"
#include "upclient.h"

#define READ_BUF (64 * 1024)
#define GATHER_MAX (16 * 1024) /* TLS: small pieces go out as one record */
#define HEAD_MAX (64 * 1024) /* a response's header fields */
#define HEADERS_MAX 128
#define IOV_BATCH 64
#define USEC 1000000ULL

enum conn_state { C_RESOLVING, C_CONNECTING, C_HANDSHAKE, C_BUSY, C_IDLE };

/* Where requests go: connections are pooled per (scheme, host, port).  Kept
 * until the client is freed: the proxy talks to a handful of providers. */
struct origin {
	struct origin *next;
	struct conn *idle; /* most recently used first */
	unsigned n_idle;
	uint16_t port;
	bool tls;
	bool literal; /* host is an IP address: addr, no lookup */
	struct sockaddr_storage addr;
	char host[]; /* IPv6 without brackets */
};

struct conn {
	struct sx_evwatch w;
	struct sx_upclient *u; /* NULL: closed during its lookup, whose answer frees it */
	struct origin *o;
	struct conn *prev, *next; /* u->conns */
	struct conn *iprev, *inext; /* o->idle */
	struct sx_upreq *req; /* NULL while idle */
	SSL *ssl;
	struct sockaddr_storage *addrs; /* while connecting */
	uint8_t n_addrs, next_addr;
	enum conn_state state;
	bool reused; /* served a request before: the server may have closed it meanwhile */
	bool hup; /* the server shut its side */
	uint64_t since; /* opened; then the last byte moved; idle: since when */
};

struct hspan {
	uint32_t name, name_len, value, value_len; /* offsets into hbuf */
};

struct sx_upreq {
	struct sx_upclient *u;
	struct sx_upreq *prev, *next; /* u->reqs */
	struct origin *o;
	struct conn *c;
	const struct sx_upreq_ops *ops;
	void *data;
	/* What is sent, as segments: head (request line, Host), the caller's
	 * headers, tail (Content-Length, blank line; after head in its
	 * allocation), body; seg/off: the next byte. */
	char *head;
	uint32_t head_len, tail_len;
	const struct iovec *headers;
	size_t n_headers;
	const char *body;
	size_t body_len;
	size_t seg, off;
	http_parser parser;
	char *hbuf; /* the response's header fields, until the headers callback */
	struct hspan *spans; /* HEADERS_MAX, while the head is read */
	uint32_t hlen, hcap, n_spans;
	char *stash; /* read past a pause: fed first on resume */
	size_t stash_len;
	const char *why; /* a parser callback's reason to fail */
	struct sx_evdefer kick; /* start, or read on after a resume */
	unsigned in_cb;
	bool begun, got_byte, retried, paused, cancelled, stopped, complete, in_value, head_done;
};

struct sx_upclient {
	struct sx_evloop *loop;
	struct sx_resolver *resolver;
	SSL_CTX *ctx;
	char *ca_file; /* ctx's CA file (NULL: the system's CAs) */
	unsigned connect_secs, idle_secs, keepalive_secs, max_idle;
	struct origin *origins;
	struct conn *conns;
	unsigned n_conns;
	struct sx_upreq *reqs;
	sd_event_source *tick;
	bool ticking;
	char rbuf[READ_BUF]; /* every connection reads here: no buffer per stream */
	char gather[GATHER_MAX];
};

static void conn_run(struct conn *c, uint32_t events);
static void on_conn_io(struct sx_evwatch *w, uint32_t events);
static void req_begin(struct sx_upreq *r, bool fresh);

/* ---- small helpers ---- */

static size_t n_segs(const struct sx_upreq *r)
{
	return r->n_headers + 3;
}

static struct iovec seg_at(const struct sx_upreq *r, size_t i)
{
	if (i == 0)
		return (struct iovec){r->head, r->head_len};
	if (i <= r->n_headers)
		return r->headers[i - 1];
	if (i == r->n_headers + 1)
		return (struct iovec){r->head + r->head_len, r->tail_len};
	return (struct iovec){(void *)r->body, r->body_len};
}

static bool all_sent(const struct sx_upreq *r)
{
	return r->seg >= n_segs(r);
}

static void advance(struct sx_upreq *r, size_t n)
{
	while (!all_sent(r)) {
		size_t left = seg_at(r, r->seg).iov_len - r->off;
		if (n < left) {
			r->off += n;
			return;
		}
		n -= left;
		r->seg++;
		r->off = 0;
	}
}

/* "1.2.3.4:443" or "[::1]:443". */
static void addr_str(const struct sockaddr_storage *a, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(s->sin6_port));
	} else {
		const struct sockaddr_in *s = (const struct sockaddr_in *)a;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(s->sin_port));
	}
}

static void set_port(struct sockaddr_storage *a, uint16_t port)
{
	if (a->ss_family == AF_INET6)
		((struct sockaddr_in6 *)a)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)a)->sin_port = htons(port);
}

/* OpenSSL's reason for the failure: the first error queued is the cause
 * (its queue is per thread, cleared before each call). */
static const char *tls_reason(void)
{
	unsigned long e = ERR_peek_error();
	const char *s;

	if (ERR_SYSTEM_ERROR(e))
		return strerror(ERR_GET_REASON(e));
	s = e ? ERR_reason_error_string(e) : NULL;
	return s ? s : "protocol error";
}

/* An SSL_* call's result as the plain-socket calls give it: -EAGAIN (wait
 * for the next edge), 0 (the server closed), -errno, -EPROTO (TLS). */
static int tls_err(SSL *ssl, int ret)
{
	int saved = errno;

	switch (SSL_get_error(ssl, ret)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE: return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN: return 0;
	case SSL_ERROR_SYSCALL: return saved > 0 ? -saved : 0;
	default: return -EPROTO;
	}
}

/* ---- connections and the pool ---- */

/* Armed when the first connection opens, again by each tick while any
 * are open.  Armed from the data path, the timer needs sd-event's next
 * turn to take effect: poke it (rare, so cheap). */
static void tick_arm(struct sx_upclient *u)
{
	if (u->ticking)
		return;
	if (sd_event_source_set_time_relative(u->tick, USEC) >= 0 &&
	    sd_event_source_set_enabled(u->tick, SD_EVENT_ONESHOT) >= 0)
		u->ticking = true;
	sx_evloop_poke(u->loop);
}

static struct conn *conn_new(struct sx_upclient *u, struct origin *o)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->w.fd = -1;
	c->u = u;
	c->o = o;
	c->since = sx_now_usec();
	c->next = u->conns;
	if (u->conns)
		u->conns->prev = c;
	u->conns = c;
	u->n_conns++;
	tick_arm(u);
	return c;
}

static void idle_unlink(struct conn *c)
{
	if (c->iprev)
		c->iprev->inext = c->inext;
	else
		c->o->idle = c->inext;
	if (c->inext)
		c->inext->iprev = c->iprev;
	c->iprev = c->inext = NULL;
	c->o->n_idle--;
}

/* Closes c; its request, if any, must have been detached. */
static void conn_close(struct conn *c)
{
	struct sx_upclient *u = c->u;

	if (c->state == C_IDLE)
		idle_unlink(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		u->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	u->n_conns--;
	SSL_free(c->ssl);
	sx_evloop_close(u->loop, &c->w);
	free(c->addrs);
	if (c->state == C_RESOLVING) {
		/* The resolver has no per-lookup cancel: its answer frees c. */
		*c = (struct conn){.state = C_RESOLVING};
		return;
	}
	free(c);
}

static struct conn *pool_take(struct origin *o)
{
	struct conn *c = o->idle;

	if (c) {
		idle_unlink(c);
		c->state = C_BUSY;
		c->reused = true;
	}
	return c;
}

/* Last in, first out: the warmest connection is reused, and the coldest
 * reach keepalive_secs and go. */
static void pool_put(struct conn *c)
{
	struct origin *o = c->o;

	if (o->n_idle >= c->u->max_idle) {
		conn_close(c);
		return;
	}
	c->state = C_IDLE;
	c->since = sx_now_usec();
	c->iprev = NULL;
	c->inext = o->idle;
	if (o->idle)
		o->idle->iprev = c;
	o->idle = c;
	o->n_idle++;
}

static void conn_attach(struct conn *c, struct sx_upreq *r)
{
	c->req = r;
	r->c = c;
	c->since = sx_now_usec();
	http_parser_init(&r->parser, HTTP_RESPONSE);
	r->parser.data = r;
}

/* Lets go of r's connection, if any: back to the pool, or closed. */
static void req_release(struct sx_upreq *r, bool reusable)
{
	struct conn *c = r->c;

	if (!c)
		return;
	c->req = NULL;
	r->c = NULL;
	if (reusable)
		pool_put(c);
	else
		conn_close(c);
}

/* ---- the end of a request ---- */

static void req_free(struct sx_upreq *r)
{
	struct sx_upclient *u = r->u;

	sx_evloop_undefer(u->loop, &r->kick);
	if (r->prev)
		r->prev->next = r->next;
	else
		u->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	free(r->head);
	free(r->hbuf);
	free(r->spans);
	free(r->stash);
	free(r);
}

/* Ends r without done(): cancelled, or its body callback said stop. */
static void req_drop(struct sx_upreq *r)
{
	req_release(r, false);
	req_free(r);
}

static void req_end(struct sx_upreq *r, enum sx_up_error err, const char *message)
{
	r->in_cb++; /* a cancel from done() only sets a flag */
	r->ops->done(r->data, err, message);
	req_free(r);
}

__attribute__((format(printf, 3, 4))) static void req_fail(struct sx_upreq *r, enum sx_up_error err,
							   const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	req_release(r, false);
	req_end(r, err, msg);
}

/* The response ended; reusable: nothing was read past it. */
static void req_complete(struct sx_upreq *r, bool reusable)
{
	struct conn *c = r->c;
	bool keep = reusable && !c->hup && all_sent(r) && http_should_keep_alive(&r->parser);

	req_release(r, keep && !(c->ssl && SSL_pending(c->ssl)));
	req_end(r, SX_UP_OK, "ok");
}

/* The connection broke under r: err is a negative errno, or 0 when the
 * server closed it.  A reused connection that breaks before the first
 * response byte was most likely closed by the server as it sat idle (the
 * close crossed our request): r goes again, once, on a new connection. */
static void req_broken(struct sx_upreq *r, int err)
{
	if (r->c->reused && !r->got_byte && !r->retried &&
	    (err == 0 || err == -EPIPE || err == -ECONNRESET)) {
		log_debug("upstream %s:%u: a kept-alive connection closed under a request, sending it again",
			  r->o->host, r->o->port);
		req_release(r, false);
		r->retried = true;
		r->seg = r->off = 0;
		req_begin(r, true);
	} else if (err == 0) {
		req_fail(r, SX_UP_OTHER, "the connection closed before the response %s",
			 r->got_byte ? "ended" : "began");
	} else if (err == -EPROTO) {
		req_fail(r, SX_UP_OTHER, "TLS: %s", tls_reason());
	} else {
		req_fail(r, SX_UP_OTHER, "connection to %s:%u: %s", r->o->host, r->o->port, strerror(-err));
	}
}

/* ---- the response, through http-parser ---- */

/* After a caller's callback: a pause, cancel or stop halts the parser at
 * once; feed() sees why when http_parser_execute() returns. */
static int halt_if_asked(struct sx_upreq *r)
{
	if (r->cancelled || r->stopped || r->paused)
		http_parser_pause(&r->parser, 1);
	return 0;
}

static int head_add(struct sx_upreq *r, const char *at, size_t len)
{
	if (r->hlen + len > HEAD_MAX) {
		r->why = "the response head is larger than 64 KiB";
		return -1;
	}
	if (r->hlen + len > r->hcap) {
		uint32_t cap = r->hcap ? r->hcap : 1024;
		char *p;
		while (cap < r->hlen + len)
			cap *= 2;
		if (!(p = realloc(r->hbuf, cap))) {
			r->why = "out of memory";
			return -1;
		}
		r->hbuf = p;
		r->hcap = cap;
	}
	memcpy(r->hbuf + r->hlen, at, len);
	r->hlen += (uint32_t)len;
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct sx_upreq *r = p->data;

	/* After a 1xx: its fields go. */
	r->hlen = r->n_spans = 0;
	r->in_value = false;
	return 0;
}

/* http-parser hands a name or value over in pieces when it spans reads;
 * each piece is appended to hbuf, so a field ends up contiguous there. */
static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct sx_upreq *r = p->data;

	if (r->head_done)
		return 0; /* a trailer */
	if (r->in_value || r->n_spans == 0) {
		if (r->n_spans == HEADERS_MAX) {
			r->why = "more than 128 response header fields";
			return -1;
		}
		if (!r->spans && !(r->spans = calloc(HEADERS_MAX, sizeof(*r->spans)))) {
			r->why = "out of memory";
			return -1;
		}
		r->spans[r->n_spans++] = (struct hspan){.name = r->hlen};
		r->in_value = false;
	}
	r->spans[r->n_spans - 1].name_len += (uint32_t)len;
	return head_add(r, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct sx_upreq *r = p->data;
	struct hspan *s;

	if (r->head_done)
		return 0;
	s = &r->spans[r->n_spans - 1];
	if (!r->in_value) {
		s->value = r->hlen;
		r->in_value = true;
	}
	s->value_len += (uint32_t)len;
	return head_add(r, at, len);
}

static int on_headers_complete(http_parser *p)
{
	struct sx_upreq *r = p->data;
	struct sx_up_header h[HEADERS_MAX];

	if (p->status_code < 200)
		return 0; /* 1xx: skipped, the final response follows */
	r->head_done = true;
	for (uint32_t i = 0; i < r->n_spans; i++)
		h[i] = (struct sx_up_header){r->hbuf + r->spans[i].name, r->hbuf + r->spans[i].value,
					     r->spans[i].name_len, r->spans[i].value_len};
	if (r->ops->headers) {
		r->in_cb++;
		r->ops->headers(r->data, p->status_code, h, r->n_spans);
		r->in_cb--;
	}
	/* A streaming response's head is not kept while it streams. */
	free(TAKE_PTR(r->hbuf));
	free(TAKE_PTR(r->spans));
	r->hlen = r->hcap = r->n_spans = 0;
	return halt_if_asked(r);
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct sx_upreq *r = p->data;

	if (r->ops->body) {
		r->in_cb++;
		if (!r->ops->body(r->data, at, len))
			r->stopped = true;
		r->in_cb--;
	}
	/* A pause after the last body bytes is moot: the response ends in this
	 * same call.  Paused there, http-parser would not complete the message
	 * before one more byte, which never comes on a kept-alive connection. */
	if (r->paused && !r->cancelled && !r->stopped && http_body_is_final(p))
		return 0;
	return halt_if_asked(r);
}

static int on_message_complete(http_parser *p)
{
	struct sx_upreq *r = p->data;

	if (p->status_code < 200)
		return 0;
	r->complete = true;
	http_parser_pause(p, 1); /* bytes after it are not a response we asked for */
	return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Feeds n response bytes to r's parser.  True when the caller may read on;
 * false when r ended (and is freed) or was paused. */
static bool feed(struct sx_upreq *r, const char *p, size_t n)
{
	enum http_errno e;
	size_t used;

	if (HTTP_PARSER_ERRNO(&r->parser) == HPE_PAUSED)
		http_parser_pause(&r->parser, 0);
	used = http_parser_execute(&r->parser, &settings, p, n);
	e = HTTP_PARSER_ERRNO(&r->parser);
	if (r->cancelled || r->stopped) {
		req_drop(r);
	} else if (r->complete) {
		req_complete(r, used == n);
	} else if (r->why) {
		req_fail(r, SX_UP_OTHER, "%s", r->why);
	} else if (e == HPE_PAUSED) {
		/* Paused by a callback: the shared read buffer is reused by the
		 * next read, so what follows waits here until resume. */
		if (used < n) {
			if (!(r->stash = malloc(n - used))) {
				req_fail(r, SX_UP_OTHER, "out of memory");
				return false;
			}
			memcpy(r->stash, p + used, n - used);
			r->stash_len = n - used;
		}
	} else if (e != HPE_OK) {
		req_fail(r, SX_UP_OTHER, "a malformed response: %s", http_errno_description(e));
	} else {
		return true;
	}
	return false;
}

/* The server closed the connection: the end of a close-delimited body, or
 * too early. */
static void req_eof(struct sx_upreq *r)
{
	if (HTTP_PARSER_ERRNO(&r->parser) == HPE_PAUSED)
		http_parser_pause(&r->parser, 0);
	http_parser_execute(&r->parser, &settings, NULL, 0);
	if (r->complete)
		req_complete(r, false);
	else
		req_broken(r, 0);
}

/* ---- socket I/O ---- */

/* Reads into the shared buffer: bytes, 0 at EOF, -EAGAIN, -errno. */
static ssize_t conn_recv(struct conn *c)
{
	ssize_t n;
	int k;

	if (!c->ssl) {
		n = read(c->w.fd, c->u->rbuf, READ_BUF);
		return n < 0 ? -errno : n;
	}
	ERR_clear_error();
	errno = 0;
	k = SSL_read(c->ssl, c->u->rbuf, READ_BUF);
	return k > 0 ? k : tls_err(c->ssl, k);
}

/* Reads what the socket holds for c: edge-triggered, so until it is
 * drained, unless the request is paused. */
static void conn_read(struct conn *c)
{
	for (;;) {
		struct sx_upreq *r = c->req;
		ssize_t n;

		if (r && r->paused)
			return;
		n = conn_recv(c);
		if (n == -EAGAIN)
			return;
		if (n == -EINTR)
			continue;
		if (!r) {
			log_debug("upstream %s:%u: idle connection closed (%s)", c->o->host, c->o->port,
				  n == 0      ? "by the server"
				      : n > 0 ? "unasked-for bytes"
					      : strerror((int)-n));
			conn_close(c);
			return;
		}
		if (n == 0) {
			req_eof(r);
			return;
		}
		if (n < 0) {
			req_broken(r, (int)n);
			return;
		}
		r->got_byte = true;
		c->since = sx_now_usec();
		if (!feed(r, c->u->rbuf, (size_t)n))
			return;
		/* A short read drained the socket, unless the server's FIN came
		 * with the edge: its EOF must be read now, no edge tells again.
		 * SSL_read returns a record at a time: TLS reads to WANT_READ. */
		if (!c->ssl && !c->hup && (size_t)n < READ_BUF)
			return;
	}
}

static ssize_t send_plain(struct conn *c, struct sx_upreq *r)
{
	struct iovec iov[IOV_BATCH];
	struct msghdr m = {.msg_iov = iov};
	ssize_t n;

	for (size_t i = r->seg; i < n_segs(r) && m.msg_iovlen < IOV_BATCH; i++) {
		struct iovec v = seg_at(r, i);
		if (i == r->seg) {
			v.iov_base = (char *)v.iov_base + r->off;
			v.iov_len -= r->off;
		}
		if (v.iov_len)
			iov[m.msg_iovlen++] = v;
	}
	n = sendmsg(c->w.fd, &m, MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

/* A big piece is written from where it is; small ones (the head, header
 * lines) are gathered into one record.  After WANT_WRITE OpenSSL wants the
 * same bytes again: the same position gathers the same bytes, and
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them sit in the shared buffer. */
static ssize_t send_tls(struct conn *c, struct sx_upreq *r)
{
	struct iovec v = seg_at(r, r->seg);
	const char *p = (const char *)v.iov_base + r->off;
	size_t len = v.iov_len - r->off;
	int k;

	if (len < GATHER_MAX) {
		size_t off = r->off;
		len = 0;
		for (size_t i = r->seg; i < n_segs(r) && len < GATHER_MAX; i++, off = 0) {
			struct iovec s = seg_at(r, i);
			size_t take = MIN(s.iov_len - off, GATHER_MAX - len);
			if (take)
				memcpy(c->u->gather + len, (const char *)s.iov_base + off, take);
			len += take;
		}
		p = c->u->gather;
	}
	ERR_clear_error();
	errno = 0;
	k = SSL_write(c->ssl, p, (int)MIN(len, (size_t)INT_MAX));
	if (k > 0)
		return k;
	k = tls_err(c->ssl, k);
	return k == 0 ? -EPIPE : k;
}

/* Sends what is left of r's request.  False when r ended. */
static bool req_send(struct sx_upreq *r)
{
	struct conn *c = r->c;

	while (!all_sent(r)) {
		ssize_t n = c->ssl ? send_tls(c, r) : send_plain(c, r);
		if (n == -EAGAIN)
			return true; /* on at the next EPOLLOUT edge */
		if (n == -EINTR)
			continue;
		if (n < 0) {
			req_broken(r, (int)n);
			return false;
		}
		advance(r, (size_t)n);
		c->since = sx_now_usec();
	}
	return true;
}

/* A busy connection's turn: send what is left, then read.  TLS reads on
 * any edge: a record may be half in OpenSSL and half in the socket. */
static void conn_run(struct conn *c, uint32_t events)
{
	if (!all_sent(c->req) && !req_send(c->req))
		return;
	if (c->ssl || events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		conn_read(c);
}

/* ---- connecting ---- */

static void connect_failed(struct conn *c, int err)
{
	char a[INET6_ADDRSTRLEN + 16] = "?";

	if (c->next_addr > 0)
		addr_str(&c->addrs[c->next_addr - 1], a, sizeof(a));
	if (c->o->literal)
		req_fail(c->req, SX_UP_CONNECT, "connect to %s: %s", a, strerror(-err));
	else
		req_fail(c->req, SX_UP_CONNECT, "connect to %s (%s): %s", c->o->host, a, strerror(-err));
}

/* Starts a connect to the next address; err: why the previous one failed. */
static void conn_connect(struct conn *c, int err)
{
	c->state = C_CONNECTING;
	while (c->next_addr < c->n_addrs) {
		const struct sockaddr_storage *a = &c->addrs[c->next_addr++];
		socklen_t len =
		    a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		int one = 1, fd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			err = -errno;
			continue;
		}
		/* The request goes out in one write; a stream's small events
		 * must not wait for an ACK. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (const struct sockaddr *)a, len) < 0 && errno != EINPROGRESS) {
			err = -errno;
			close(fd);
			continue;
		}
		if ((err = sx_evloop_add(c->u->loop, &c->w, fd, on_conn_io)) < 0) {
			close(fd);
			c->w.fd = -1;
			continue;
		}
		c->hup = false; /* a hang-up seen was the previous address's */
		return; /* the first edge tells how it went */
	}
	connect_failed(c, err ?: -EHOSTUNREACH);
}

static void handshake(struct conn *c)
{
	long v;
	int k;

	ERR_clear_error();
	errno = 0;
	k = SSL_connect(c->ssl);
	if (k == 1) {
		c->state = C_BUSY;
		c->since = sx_now_usec();
		conn_run(c, EPOLLIN);
		return;
	}
	k = tls_err(c->ssl, k);
	if (k == -EAGAIN)
		return;
	v = SSL_get_verify_result(c->ssl);
	if (v != X509_V_OK)
		req_fail(c->req, SX_UP_TLS, "TLS: certificate verify failed: %s",
			 X509_verify_cert_error_string(v));
	else if (k == -EPROTO)
		req_fail(c->req, SX_UP_TLS, "TLS handshake with %s:%u: %s", c->o->host, c->o->port,
			 tls_reason());
	else
		req_fail(c->req, SX_UP_TLS, "TLS handshake with %s:%u: %s", c->o->host, c->o->port,
			 k ? strerror(-k) : "the server closed the connection");
}

static void tls_start(struct conn *c)
{
	struct origin *o = c->o;
	SSL *s = SSL_new(c->u->ctx); /* holds a reference to the context */
	bool ok = s && SSL_set_fd(s, c->w.fd);

	c->ssl = s;
	if (ok) {
		SSL_set_connect_state(s);
		/* SNI is for names only (RFC 6066); an address is checked
		 * against the certificate's IP SANs. */
		if (o->literal)
			ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), o->host) == 1;
		else
			ok = SSL_set_tlsext_host_name(s, o->host) == 1 && SSL_set1_host(s, o->host) == 1;
	}
	if (!ok) {
		req_fail(c->req, SX_UP_TLS, "TLS: cannot set up a connection: %s", tls_reason());
		return;
	}
	c->state = C_HANDSHAKE;
	handshake(c);
}

static void on_connecting(struct conn *c, uint32_t events)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->w.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		sx_evloop_close(c->u->loop, &c->w);
		conn_connect(c, -err);
		return;
	}
	if (!(events & EPOLLOUT))
		return;
	free(TAKE_PTR(c->addrs));
	c->n_addrs = c->next_addr = 0;
	if (c->o->tls) {
		tls_start(c);
		return;
	}
	c->state = C_BUSY;
	c->since = sx_now_usec();
	conn_run(c, events);
}

static void on_conn_io(struct sx_evwatch *w, uint32_t events)
{
	struct conn *c = sx_container_of(w, struct conn, w);

	if (events & (EPOLLRDHUP | EPOLLHUP))
		c->hup = true;
	switch (c->state) {
	case C_CONNECTING: on_connecting(c, events); break;
	case C_HANDSHAKE: handshake(c); break;
	case C_BUSY: conn_run(c, events); break;
	case C_IDLE:
		/* Only the server's close (or junk) is expected here. */
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			conn_read(c);
		break;
	case C_RESOLVING: break;
	}
}

static void on_resolved(void *data, int status, const struct sockaddr_storage *addrs, size_t n)
{
	struct conn *c = data;

	if (!c->u) {
		free(c); /* closed while the lookup ran */
		return;
	}
	c->state = C_CONNECTING; /* the lookup is over: a close frees c now */
	if (status != ARES_SUCCESS) {
		req_fail(c->req, SX_UP_DNS, "DNS: %s: %s", c->o->host, ares_strerror(status));
		return;
	}
	n = MIN(n, (size_t)SX_RESOLVE_MAX);
	if (!(c->addrs = malloc(n * sizeof(*addrs)))) {
		req_fail(c->req, SX_UP_OTHER, "out of memory");
		return;
	}
	memcpy(c->addrs, addrs, n * sizeof(*addrs));
	for (size_t i = 0; i < n; i++)
		set_port(&c->addrs[i], c->o->port);
	c->n_addrs = (uint8_t)n;
	conn_connect(c, 0);
}

/* Sends r on the origin's warmest idle connection or a new one (fresh:
 * always a new one). */
static void req_begin(struct sx_upreq *r, bool fresh)
{
	struct origin *o = r->o;
	struct conn *c = fresh ? NULL : pool_take(o);

	r->begun = true;
	if (c) {
		conn_attach(c, r);
		conn_run(c, 0);
		return;
	}
	if (!(c = conn_new(r->u, o))) {
		req_fail(r, SX_UP_OTHER, "out of memory");
		return;
	}
	conn_attach(c, r);
	if (!o->literal) {
		/* The answer may come before this returns (cached). */
		c->state = C_RESOLVING;
		sx_resolver_lookup(r->u->resolver, o->host, on_resolved, c);
		return;
	}
	on_resolved(c, ARES_SUCCESS, &o->addr, 1);
}

/* The deferred step: start the request, or read on after a resume (ET
 * will not report what already sat in the socket). */
static void on_kick(struct sx_evdefer *d)
{
	struct sx_upreq *r = sx_container_of(d, struct sx_upreq, kick);
	size_t n = r->stash_len;
	char *stash;
	bool more;

	if (!r->begun) {
		req_begin(r, false);
		return;
	}
	if (!r->c || r->c->state != C_BUSY || r->paused)
		return;
	if (r->stash) {
		stash = TAKE_PTR(r->stash);
		r->stash_len = 0;
		more = feed(r, stash, n);
		free(stash);
		if (!more)
			return;
	}
	conn_run(r->c, EPOLLIN);
}

static bool expired(const struct sx_upclient *u, const struct conn *c, uint64_t now)
{
	switch (c->state) {
	case C_IDLE: return now - c->since >= u->keepalive_secs * USEC;
	case C_BUSY: return !c->req->paused && now - c->since >= u->idle_secs * USEC;
	default: return now - c->since >= u->connect_secs * USEC;
	}
}

static int on_tick(sd_event_source *s, uint64_t usec, void *data)
{
	struct sx_upclient *u = data;
	uint64_t now = sx_now_usec();
	struct conn *c, *next;

	u->ticking = false;
	for (c = u->conns; c; c = next) {
		next = c->next;
		if (!expired(u, c, now))
			continue;
		if (c->state == C_IDLE) {
			log_debug("upstream %s:%u: idle connection closed after %u s", c->o->host, c->o->port,
				  u->keepalive_secs);
			conn_close(c);
			continue;
		}
		if (c->state == C_BUSY)
			req_fail(c->req, SX_UP_TIMEOUT, "%s:%u sent nothing for %u s", c->o->host, c->o->port,
				 u->idle_secs);
		else if (c->state == C_RESOLVING)
			req_fail(c->req, SX_UP_TIMEOUT, "DNS: %s: timed out", c->o->host);
		else
			req_fail(c->req, SX_UP_TIMEOUT, "connect to %s:%u: timed out after %u s", c->o->host,
				 c->o->port, u->connect_secs);
		next = u->conns; /* done() may have closed any connection: start over */
	}
	if (u->n_conns)
		tick_arm(u);
	return 0;
}

/* ---- the interface ---- */

static int ctx_new(const char *ca_file, SSL_CTX **ret)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok;

	if (!ctx)
		return log_error_errno(-ENOMEM, "upstream TLS: cannot create a context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* An idle connection keeps no record buffers; writes may stop after a
	 * record and be retried from another buffer with the same bytes. */
	SSL_CTX_set_mode(ctx,
			 SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Servers often close without close_notify; http-parser tells a cut
	 * Content-Length or chunked body from a whole one. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	ERR_clear_error();
	ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
		     : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		log_error("upstream TLS: cannot load %s: %s", ca_file ? ca_file : "the system's CAs",
			  tls_reason());
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	*ret = ctx;
	return 0;
}

int sx_upclient_new(struct sx_evloop *loop, struct sx_resolver *resolver, const struct sx_upclient_opts *opts,
		    struct sx_upclient **ret)
{
	struct sx_upclient *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	u->loop = loop;
	u->resolver = resolver;
	u->connect_secs = opts && opts->connect_secs ? opts->connect_secs : 10;
	u->idle_secs = opts && opts->idle_secs ? opts->idle_secs : 600;
	u->keepalive_secs = opts && opts->keepalive_secs ? opts->keepalive_secs : 60;
	u->max_idle = opts && opts->max_idle_per_origin ? opts->max_idle_per_origin : 256;
	r = ctx_new(opts ? opts->ca_file : NULL, &u->ctx);
	if (r >= 0 && opts && opts->ca_file && !(u->ca_file = strdup(opts->ca_file)))
		r = -ENOMEM;
	if (r >= 0)
		r = sd_event_add_time_relative(sx_evloop_event(loop), &u->tick, CLOCK_MONOTONIC, USEC,
					       USEC / 4, on_tick, u);
	if (r < 0) {
		sx_upclient_free(u);
		return r;
	}
	sd_event_source_set_enabled(u->tick, SD_EVENT_OFF);
	*ret = u;
	return 0;
}

void sx_upclient_free(struct sx_upclient *u)
{
	if (!u)
		return;
	while (u->reqs)
		req_drop(u->reqs);
	while (u->conns)
		conn_close(u->conns);
	while (u->origins) {
		struct origin *o = u->origins;
		u->origins = o->next;
		free(o);
	}
	SSL_CTX_free(u->ctx);
	sd_event_source_disable_unref(u->tick);
	free(u->ca_file);
	free(u);
}

int sx_upclient_set_ca_file(struct sx_upclient *u, const char *ca_file)
{
	SSL_CTX *ctx;
	char *copy = NULL;
	int r;

	if (streq_ptr(ca_file, u->ca_file))
		return 0;
	if (ca_file && !(copy = strdup(ca_file)))
		return -ENOMEM;
	r = ctx_new(ca_file, &ctx);
	if (r < 0) {
		free(copy);
		return r;
	}
	SSL_CTX_free(u->ctx); /* open connections hold their own reference */
	u->ctx = ctx;
	free(u->ca_file);
	u->ca_file = copy;
	return 0;
}

static struct origin *origin_get(struct sx_upclient *u, bool tls, const char *host, size_t len, uint16_t port)
{
	struct origin *o;

	for (o = u->origins; o; o = o->next)
		if (o->tls == tls && o->port == port && strlen(o->host) == len &&
		    strncasecmp(o->host, host, len) == 0)
			return o;
	if (!(o = calloc(1, sizeof(*o) + len + 1)))
		return NULL;
	memcpy(o->host, host, len);
	o->tls = tls;
	o->port = port;
	if (inet_pton(AF_INET, o->host, &((struct sockaddr_in *)&o->addr)->sin_addr) == 1)
		o->addr.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, o->host, &((struct sockaddr_in6 *)&o->addr)->sin6_addr) == 1)
		o->addr.ss_family = AF_INET6;
	o->literal = o->addr.ss_family != 0;
	o->next = u->origins;
	u->origins = o;
	return o;
}

/* An RFC 9110 token: what a method must be, so it cannot end the line. */
static bool token(const char *s)
{
	return *s &&
	    s[strspn(s,
		     "!#$%&'*+-.^_`|~0123456789"
		     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")] == '\0';
}

/* "METHOD target HTTP/1.1\r\nHost: host[:port]\r\n" then the tail. */
static char *build_head(const struct sx_upreq *r, const char *method, const char *url,
			const struct http_parser_url *pu, uint32_t *tail_len)
{
	const struct origin *o = r->o;
	size_t end = pu->field_set & (1 << UF_FRAGMENT) ? pu->field_data[UF_FRAGMENT].off - 1u : strlen(url);
	size_t start = pu->field_set & (1 << UF_PATH) ? pu->field_data[UF_PATH].off
	    : pu->field_set & (1 << UF_QUERY)	      ? pu->field_data[UF_QUERY].off - 1u
						      : end;
	bool v6 = strchr(o->host, ':');
	char port[8] = "", tail[48] = "\r\n";

	if (o->port != (o->tls ? 443 : 80))
		snprintf(port, sizeof(port), ":%u", o->port);
	if (r->body_len > 0 || !streq(method, "GET"))
		snprintf(tail, sizeof(tail), "Content-Length: %zu\r\n\r\n", r->body_len);
	*tail_len = (uint32_t)strlen(tail);
	return sx_strdupf("%s %s%.*s HTTP/1.1\r\nHost: %s%s%s%s\r\n%s", method,
			  start == end || url[start] != '/' ? "/" : "", (int)(end - start), url + start,
			  v6 ? "[" : "", o->host, v6 ? "]" : "", port, tail);
}

struct sx_upreq *sx_upreq_start(struct sx_upclient *u, const char *method, const char *url,
				const struct iovec *headers, size_t n_headers, const void *body,
				size_t body_len, const struct sx_upreq_ops *ops, void *data)
{
	struct http_parser_url pu;
	struct sx_upreq *r;
	struct origin *o;
	const char *scheme;
	size_t scheme_len;
	uint32_t tail_len;
	bool tls;

	http_parser_url_init(&pu);
	if (!method || !url || !token(method) || http_parser_parse_url(url, strlen(url), 0, &pu) != 0 ||
	    !(pu.field_set & (1 << UF_SCHEMA)) || !(pu.field_set & (1 << UF_HOST)) ||
	    pu.field_data[UF_HOST].len == 0 || pu.field_set & (1 << UF_USERINFO))
		goto invalid;
	scheme = url + pu.field_data[UF_SCHEMA].off;
	scheme_len = pu.field_data[UF_SCHEMA].len;
	tls = scheme_len == 5 && strncasecmp(scheme, "https", 5) == 0;
	if (!tls && !(scheme_len == 4 && strncasecmp(scheme, "http", 4) == 0))
		goto invalid;
	if (!(pu.field_set & (1 << UF_PORT)))
		pu.port = tls ? 443 : 80;
	if (pu.port == 0)
		goto invalid;
	o = origin_get(u, tls, url + pu.field_data[UF_HOST].off, pu.field_data[UF_HOST].len, pu.port);
	if (!o || !(r = calloc(1, sizeof(*r)))) {
		errno = ENOMEM;
		return NULL;
	}
	*r = (struct sx_upreq){.u = u,
			       .o = o,
			       .ops = ops,
			       .data = data,
			       .headers = headers,
			       .n_headers = n_headers,
			       .body = body,
			       .body_len = body_len};
	if (!(r->head = build_head(r, method, url, &pu, &tail_len))) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->tail_len = tail_len;
	r->head_len = (uint32_t)(strlen(r->head) - tail_len);
	r->next = u->reqs;
	if (u->reqs)
		u->reqs->prev = r;
	u->reqs = r;
	r->kick.fn = on_kick;
	sx_evloop_defer(u->loop, &r->kick);
	return r;
invalid:
	errno = EINVAL;
	return NULL;
}

void sx_upreq_pause(struct sx_upreq *r)
{
	r->paused = true;
}

void sx_upreq_resume(struct sx_upreq *r)
{
	if (!r->paused)
		return;
	r->paused = false;
	if (r->c)
		r->c->since = sx_now_usec(); /* a paused response is not idle */
	if (r->begun)
		sx_evloop_defer(r->u->loop, &r->kick);
}

void sx_upreq_cancel(struct sx_upreq *r)
{
	if (!r)
		return;
	if (r->in_cb) {
		r->cancelled = true; /* dropped once the callback returned */
		return;
	}
	req_drop(r);
}

unsigned sx_upclient_connections(const struct sx_upclient *u)
{
	return u->n_conns;
}
