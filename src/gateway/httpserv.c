/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * httpserv.c - the LLM proxy's listening side (httpserv.h).
 *
 * A connection's life: bytes are read into the server's one read buffer
 * (nothing per idle connection) and handed to http-parser, whose callbacks
 * copy the URL and header pieces into the connection's head buffer and
 * pass body bytes straight to the handler.  When a request is complete the
 * parser is paused; bytes after it (a pipelined request) wait in `held`
 * until the response has ended.  Output is written at once with writev;
 * what the socket does not take waits in `out` for the next EPOLLOUT edge.
 *
 * Nothing is freed below a handler's call: errors while writing mark the
 * connection dead and a deferred step closes it and tells the handler.
 */
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "httpserv.h"
#include "listen.h"

#define READ_BUF (64 * 1024)
#define HEAD_MAX (64 * 1024) /* URL and headers of one request */
#define HELD_MAX (64 * 1024) /* bytes read past a request while it is answered */
#define DRAIN_LOW (64 * 1024) /* below this much queued output, drained() */
#define IDLE_SECS 300 /* a connection with no request in progress */
#define SWEEP_SECS 5
/* A request answered before its body was read: the body is read and
 * dropped up to this size (closing with unread bytes would reset the
 * connection, and the client might miss the answer); larger, and when the
 * client waits for "100 Continue" (it sends no body), the connection
 * closes after the answer. */
#define DISCARD_MAX (64 * 1024 * 1024)

struct sx_hconn {
	struct sx_evwatch w;
	struct sx_hsrv *s;
	struct sx_hconn *prev, *next;
	http_parser parser;
	void *ctx; /* the handler's, while a request is being answered */
	struct sx_buf head; /* "url\0name\0value\0..." */
	struct sx_buf held, out;
	size_t n_headers;
	const char **names, **values;
	long long content_length;
	uint64_t last_active; /* CLOCK_MONOTONIC usec */
	struct sx_evdefer step; /* parse held bytes, or close a dead connection */
	bool in_value; /* the last header piece was a value */
	bool in_request; /* a request's head has begun */
	bool message_done; /* the request's body has been read */
	bool responded; /* its response has ended (the handler let go) */
	bool discard; /* the body is dropped (refused early) */
	bool close_if_early; /* answered before the body is read: close after */
	bool keep_alive, chunked, close_after, dead, wr_blocked, rd_blocked;
};

struct sx_hsrv {
	struct sx_evloop *loop;
	char *what;
	struct sx_evwatch lw;
	const struct sx_hsrv_ops *ops;
	void *cls;
	struct sx_hconn *conns;
	unsigned n_conns;
	sd_event_source *sweep;
	char rbuf[READ_BUF];
};

static void kill_later(struct sx_hconn *c)
{
	c->dead = true;
	sx_evloop_defer(c->s->loop, &c->step);
}

/* ---- output ---- */

/* Writes what is queued; 0, or -1 when the connection broke. */
static int flush_out(struct sx_hconn *c)
{
	while (c->out.off < c->out.len) {
		ssize_t n = write(c->w.fd, c->out.p + c->out.off, c->out.len - c->out.off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				c->wr_blocked = true;
				return 0;
			}
			return -1;
		}
		c->out.off += (size_t)n;
	}
	sx_buf_free(&c->out); /* an idle connection keeps no buffer */
	c->wr_blocked = false;
	return 0;
}

/* Sends the iovecs now if nothing is queued, queueing what the socket
 * does not take. */
static void send_iov(struct sx_hconn *c, struct iovec *iov, int n)
{
	int i = 0;

	if (c->dead)
		return;
	if (c->out.off == c->out.len) {
		ssize_t w;
		do
			w = writev(c->w.fd, iov, n);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN) {
			kill_later(c);
			return;
		}
		/* Skip what was written, the last piece maybe in part. */
		for (size_t done = w > 0 ? (size_t)w : 0; i < n && done; i++) {
			if (done < iov[i].iov_len) {
				iov[i].iov_base = (char *)iov[i].iov_base + done;
				iov[i].iov_len -= done;
				break;
			}
			done -= iov[i].iov_len;
		}
		if (i < n)
			c->wr_blocked = true;
	}
	for (; i < n; i++)
		if (iov[i].iov_len && sx_buf_add(&c->out, iov[i].iov_base, iov[i].iov_len) < 0) {
			kill_later(c);
			return;
		}
}

static void send_bytes(struct sx_hconn *c, const void *p, size_t len)
{
	struct iovec iov = {(void *)p, len};
	send_iov(c, &iov, 1);
}

/* ---- the request's end, the next request ---- */

static int parse(struct sx_hconn *c, const char *data, size_t len);

static void reset_request(struct sx_hconn *c)
{
	sx_buf_free(&c->head);
	free(c->names);
	free(c->values);
	c->names = c->values = NULL;
	c->n_headers = 0;
	c->ctx = NULL;
	c->in_request = c->message_done = c->responded = c->discard = c->in_value = false;
	c->chunked = c->close_if_early = false;
	c->content_length = -1;
}

/* The response has ended and the request's body is read: on to the next
 * request (bytes already held first), or close. */
static void next_request(struct sx_hconn *c)
{
	if (c->close_after) {
		if (c->out.off == c->out.len)
			kill_later(c);
		return; /* closed once the output is flushed (on_conn_event) */
	}
	reset_request(c);
	http_parser_pause(&c->parser, 0);
	if (c->held.len > c->held.off || c->rd_blocked)
		sx_evloop_defer(c->s->loop, &c->step);
}

static void request_ended(struct sx_hconn *c)
{
	c->responded = true;
	c->ctx = NULL;
	if (c->message_done) {
		next_request(c);
		return;
	}
	c->discard = true;
	/* Answered before a body that is not to be read (DISCARD_MAX: too
	 * large, or the client waits for 100 Continue): close once the answer
	 * is out (on_conn_event does when it waits in `out`).
	 * Found by tests/fuzz/fuzz-llm.c: nothing closed such a connection,
	 * which stayed open after its "Connection: close" answer, never swept
	 * (a request is in progress) until the client closed it. */
	if (c->close_if_early && c->out.off == c->out.len)
		kill_later(c);
}

/* ---- parser callbacks ---- */

static int head_piece(struct sx_hconn *c, const char *at, size_t len, bool value)
{
	/* After the head, http-parser reports a chunked body's trailer fields
	 * the same way: they are dropped.  Appended, they moved the head
	 * buffer (realloc) under the URL, names and values the handler holds
	 * until its answer ends, and miscounted the headers (found by
	 * tests/fuzz/fuzz-llm.c: a use after free). */
	if (c->names)
		return 0;
	if (c->head.len + len + 1 > HEAD_MAX)
		return 1;
	/* A new name or value starts: end the last one. */
	if (value != c->in_value || !c->head.len) {
		if (c->head.len && sx_buf_add(&c->head, "", 1) < 0)
			return 1;
		if (!value)
			c->n_headers++;
	}
	c->in_value = value;
	if (sx_buf_add(&c->head, at, len) < 0)
		return 1;
	/* http-parser does not check a value's first byte: a NUL there ended
	 * the value early and made the rest of it the next header's name (the
	 * strings are NUL-terminated), shifting every later name and value.
	 * RFC 9110 5.5: replaced with SP.  Found by tests/fuzz/fuzz-llm.c. */
	for (char *q = c->head.p + c->head.len - len; q < c->head.p + c->head.len; q++)
		if (!*q)
			*q = ' ';
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct sx_hconn *c = p->data;
	c->in_request = true;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct sx_hconn *c = p->data;
	/* The URL is the first string; pieces follow each other. */
	if (c->head.len + len + 1 > HEAD_MAX)
		return 1;
	c->in_value = true; /* a following header name starts a new string */
	return sx_buf_add(&c->head, at, len) < 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	return head_piece(p->data, at, len, false);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct sx_hconn *c = p->data;
	/* An empty value has no piece: on_headers_complete fills it in. */
	return head_piece(c, at, len, true);
}

static void respond_error(struct sx_hconn *c, unsigned status, const char *msg)
{
	char body[256];
	int n =
	    snprintf(body, sizeof(body), "{\"error\":{\"message\":\"%s\",\"type\":\"sentrix_http\"}}", msg);
	c->close_after = true;
	sx_hconn_respond(c, status, "Content-Type: application/json\r\n", 32, body, (size_t)n);
}

/* Splits the head buffer into the URL and the header arrays. */
static int index_head(struct sx_hconn *c)
{
	char *p, *end;
	size_t i = 0;

	if (sx_buf_add(&c->head, "", 1) < 0)
		return -ENOMEM;
	/* A last name without a value piece: give it an empty one. */
	if (c->n_headers && !c->in_value && sx_buf_add(&c->head, "", 1) < 0)
		return -ENOMEM;
	c->names = calloc(c->n_headers + 1, sizeof(char *));
	c->values = calloc(c->n_headers + 1, sizeof(char *));
	if (!c->names || !c->values)
		return -ENOMEM;
	p = c->head.p;
	end = c->head.p + c->head.len;
	p += strlen(p) + 1; /* the URL */
	for (i = 0; i < c->n_headers && p < end; i++) {
		c->names[i] = p;
		p += strlen(p) + 1;
		c->values[i] = p < end ? p : "";
		p += p < end ? strlen(p) + 1 : 0;
	}
	c->n_headers = i;
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct sx_hconn *c = p->data;
	struct sx_hreq req = {0};

	/* -1, not 1: 1 tells http-parser that no body follows (its bytes would
	 * be read as the next request).  Seen while reading. */
	if (!c->head.len) /* an empty URL cannot pass the parser, but be sure */
		return -1;
	if (index_head(c) < 0)
		return -1;
	c->keep_alive = http_should_keep_alive(p) && p->http_major == 1 && p->http_minor >= 1;
	/* A length past LLONG_MAX (http-parser takes up to ~1.8e19) is
	 * LLONG_MAX: cast, it became negative, as if there were no length, and
	 * passed the size checks (found by tests/fuzz/fuzz-llm.c). */
	if ((p->flags & F_CHUNKED) || p->content_length == ULLONG_MAX)
		c->content_length = -1;
	else
		c->content_length = p->content_length > LLONG_MAX ? LLONG_MAX : (long long)p->content_length;
	req.method = http_method_str(p->method);
	req.url = c->head.p;
	req.n_headers = c->n_headers;
	req.names = c->names;
	req.values = c->values;
	req.content_length = c->content_length;
	for (size_t i = 0; i < c->n_headers; i++)
		if (strcasecmp(c->names[i], "expect") == 0 && strcasecmp(c->values[i], "100-continue") == 0)
			req.expect_continue = true;
	/* A request for another protocol (CONNECT, Upgrade), which is never
	 * switched to: http-parser stops after it (what follows is that
	 * protocol's), so the connection closes after the answer.  Found by
	 * tests/fuzz/fuzz-llm.c: the bytes after it in the same read were
	 * dropped, those of later reads parsed as requests. */
	if (!c->keep_alive || p->upgrade)
		c->close_after = true;
	c->close_if_early = req.expect_continue || c->content_length > DISCARD_MAX;
	c->ctx = c->s->ops->request(c->s->cls, c, &req);
	if (!c->ctx) {
		if (!c->responded)
			respond_error(c, 500, "the request could not be handled");
		return 0;
	}
	if (req.expect_continue)
		send_bytes(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct sx_hconn *c = p->data;
	if (!c->discard && c->ctx)
		c->s->ops->body(c->ctx, at, len);
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct sx_hconn *c = p->data;

	c->message_done = true;
	http_parser_pause(p, 1); /* one request at a time */
	if (c->responded)
		next_request(c);
	else if (c->ctx)
		c->s->ops->complete(c->ctx);
	return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* True when bytes read now must wait in `held`: the parser is paused on
 * a request being answered, or bytes held while it was are not parsed yet
 * (on_step, deferred, parses them; new bytes must not overtake them).
 * Found by tests/fuzz/fuzz-llm.c: an answer sent outside a batch, or from
 * an upstream socket's callback earlier in the batch, resumed the parser;
 * the client's next bytes, read before on_step ran, were parsed before the
 * held start of its pipelined request: a 400, or another request. */
static bool holding(const struct sx_hconn *c)
{
	return HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED || c->held.len > c->held.off;
}

/* Parses data; what follows a complete request is held.  0, or -1 when
 * the connection must close. */
static int parse(struct sx_hconn *c, const char *data, size_t len)
{
	size_t n;
	enum http_errno e;

	if (holding(c)) {
		if (c->held.len - c->held.off + len > HELD_MAX)
			return -1; /* a client that floods while it is answered */
		return sx_buf_add(&c->held, data, len) < 0 ? -1 : 0;
	}
	n = http_parser_execute(&c->parser, &settings, data, len);
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e == HPE_PAUSED) {
		if (n < len && sx_buf_add(&c->held, data + n, len - n) < 0)
			return -1;
		return 0;
	}
	if (e != HPE_OK) {
		/* Answer a malformed request that had no handler yet. */
		if (!c->ctx && !c->responded && !c->dead)
			respond_error(c,
				      e == HPE_CB_url || e == HPE_CB_header_field || e == HPE_CB_header_value
					  ? 431
					  : 400,
				      http_errno_description(e));
		/* A request broken mid-body: its handler lets go now. */
		if (c->ctx) {
			void *ctx = c->ctx;
			c->ctx = NULL;
			c->responded = true;
			c->s->ops->closed(ctx);
		}
		/* Nothing can be parsed after an error: close once the answers
		 * queued are out.  Found by tests/fuzz/fuzz-llm.c: after a 400
		 * the connection stayed open (never swept), and one broken
		 * mid-body closed at once, dropping the queued answers to the
		 * pipelined requests before it. */
		c->close_after = true;
		return c->out.off == c->out.len ? -1 : 0;
	}
	return 0;
}

/* ---- connections ---- */

static void conn_free(struct sx_hconn *c)
{
	struct sx_hsrv *s = c->s;

	sx_evloop_undefer(s->loop, &c->step);
	sx_evloop_close(s->loop, &c->w);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	reset_request(c);
	sx_buf_free(&c->held);
	sx_buf_free(&c->out);
	free(c);
}

/* Closes c, telling its handler if a request was being answered. */
static void conn_close(struct sx_hconn *c)
{
	void *ctx = c->ctx;

	c->ctx = NULL;
	c->dead = true;
	if (ctx && !c->responded)
		c->s->ops->closed(ctx);
	conn_free(c);
}

static void read_input(struct sx_hconn *c)
{
	struct sx_hsrv *s = c->s;

	c->rd_blocked = false;
	while (!c->dead) {
		size_t room = sizeof(s->rbuf);
		ssize_t n;
		if (holding(c)) {
			size_t held = c->held.len - c->held.off;
			if (held >= HELD_MAX) {
				c->rd_blocked = true; /* read again once this response has ended */
				return;
			}
			/* No more than can be held: the rest waits in the socket.
			 * Found by tests/fuzz/fuzz-llm.c: a full read past
			 * HELD_MAX made parse() close the connection of a client
			 * that pipelined more than 64 KiB behind a request. */
			if (room > HELD_MAX - held)
				room = HELD_MAX - held;
		}
		n = read(c->w.fd, s->rbuf, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				kill_later(c);
			return;
		}
		if (n == 0) {
			kill_later(c);
			return;
		}
		c->last_active = sx_now_usec();
		if (parse(c, s->rbuf, (size_t)n) < 0) {
			kill_later(c);
			return;
		}
		if ((size_t)n < room)
			return; /* drained (a stream socket gave less than asked) */
	}
}

/* Deferred: close a dead connection, or parse what was held. */
static void on_step(struct sx_evdefer *d)
{
	struct sx_hconn *c = sx_container_of(d, struct sx_hconn, step);
	struct sx_buf held;

	if (c->dead) {
		conn_close(c);
		return;
	}
	held = c->held;
	c->held = (struct sx_buf){0};
	if (held.len > held.off && parse(c, held.p + held.off, held.len - held.off) < 0)
		kill_later(c);
	sx_buf_free(&held);
	if (!c->dead && c->rd_blocked && HTTP_PARSER_ERRNO(&c->parser) != HPE_PAUSED)
		read_input(c);
	if (c->dead)
		sx_evloop_defer(c->s->loop, &c->step);
}

static void on_conn_event(struct sx_evwatch *w, uint32_t events)
{
	struct sx_hconn *c = sx_container_of(w, struct sx_hconn, w);

	if (events & (EPOLLERR | EPOLLHUP)) {
		conn_close(c);
		return;
	}
	if (events & EPOLLOUT && c->out.off < c->out.len) {
		size_t before = c->out.len - c->out.off;
		if (flush_out(c) < 0) {
			conn_close(c);
			return;
		}
		if (c->out.off == c->out.len && c->close_after && c->responded) {
			conn_close(c);
			return;
		}
		if (c->ctx && before >= DRAIN_LOW && c->out.len - c->out.off < DRAIN_LOW)
			c->s->ops->drained(c->ctx);
	}
	if (events & (EPOLLIN | EPOLLRDHUP))
		read_input(c);
	if (c->dead)
		conn_close(c);
}

int sx_hsrv_adopt(struct sx_hsrv *s, int fd)
{
	struct sx_hconn *c = calloc(1, sizeof(*c));
	int r = c ? sx_evloop_add(s->loop, &c->w, fd, on_conn_event) : -ENOMEM;

	if (r < 0) {
		free(c);
		close(fd);
		return r;
	}
	c->s = s;
	c->step.fn = on_step;
	c->content_length = -1;
	c->last_active = sx_now_usec();
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	return 0;
}

static void on_accept(struct sx_evwatch *w, uint32_t events)
{
	struct sx_hsrv *s = sx_container_of(w, struct sx_hsrv, lw);

	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1, r;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_warn_errno(-errno, "%s: accept", s->what);
			return;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		r = sx_hsrv_adopt(s, fd);
		if (r < 0)
			log_warn_errno(r, "%s: cannot take a connection", s->what);
	}
}

/* Closes connections idle (no request in progress) for IDLE_SECS. */
static int on_sweep(sd_event_source *src, uint64_t usec, void *data)
{
	struct sx_hsrv *s = data;
	uint64_t now = sx_now_usec();

	for (struct sx_hconn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (!c->in_request && !c->dead && now - c->last_active > IDLE_SECS * 1000000ULL)
			conn_close(c);
	}
	sd_event_source_set_time_relative(src, SWEEP_SECS * 1000000ULL);
	return 0;
}

int sx_hsrv_start(struct sx_evloop *loop, const char *what, const char *host, unsigned port,
		  const struct sx_hsrv_ops *ops, void *cls, struct sx_hsrv **ret)
{
	struct sx_hsrv *s = calloc(1, sizeof(*s));
	int fd, r;

	if (!s || !(s->what = strdup(what))) {
		free(s);
		return -ENOMEM;
	}
	s->loop = loop;
	s->ops = ops;
	s->cls = cls;
	s->lw.fd = -1;
	/* host NULL: no listener (connections come through sx_hsrv_adopt()) */
	fd = host ? sx_listen_ip(host, port, SOCK_STREAM, 4096) : -EBADF;
	if (host && fd < 0) {
		sx_hsrv_free(s);
		if (fd == -EINVAL)
			return log_error_errno(fd, "%s: '%s' is not an IP address to listen on", what, host);
		return log_error_errno(fd,
				       "%s: cannot listen on %s:%u (is the instance up, is the port free?)",
				       what, host, port);
	}
	r = host ? sx_evloop_add(loop, &s->lw, fd, on_accept) : 0;
	if (r >= 0)
		r = sd_event_add_time_relative(sx_evloop_event(loop), &s->sweep, CLOCK_MONOTONIC,
					       SWEEP_SECS * 1000000ULL, 1000000, on_sweep, s);
	if (r < 0) {
		if (fd >= 0 && s->lw.fd < 0)
			close(fd);
		sx_hsrv_free(s);
		return log_error_errno(r, "%s: cannot watch the listener", what);
	}
	*ret = s;
	return 0;
}

void sx_hsrv_quiesce(struct sx_hsrv *s)
{
	sx_evloop_close(s->loop, &s->lw);
}

void sx_hsrv_free(struct sx_hsrv *s)
{
	if (!s)
		return;
	while (s->conns) {
		s->conns->ctx = NULL;
		conn_free(s->conns);
	}
	if (s->lw.fd >= 0)
		sx_evloop_close(s->loop, &s->lw);
	sd_event_source_disable_unref(s->sweep);
	free(s->what);
	free(s);
}

/* ---- responses ---- */

static int status_line(char *buf, size_t size, unsigned status)
{
	const char *reason = http_status_str((enum http_status)status);
	if (!reason || strcmp(reason, "<unknown>") == 0)
		reason = "Status";
	return snprintf(buf, size, "HTTP/1.1 %u %s\r\n", status, reason);
}

void sx_hconn_respond(struct sx_hconn *c, unsigned status, const char *headers, size_t headers_len,
		      const void *body, size_t len)
{
	char line[96], tail[96];
	int n1, n2;

	if (!c->message_done && c->close_if_early)
		c->close_after = true;
	n1 = status_line(line, sizeof(line), status);
	n2 = snprintf(tail, sizeof(tail), "Content-Length: %zu\r\n%s\r\n", len,
		      c->close_after ? "Connection: close\r\n" : "");
	struct iovec iov[4] = {
	    {line, (size_t)n1}, {(void *)headers, headers_len}, {tail, (size_t)n2}, {(void *)body, len}};

	send_iov(c, iov, 4);
	request_ended(c);
}

void sx_hconn_begin(struct sx_hconn *c, unsigned status, const char *headers, size_t headers_len)
{
	char line[96];
	const char *tail;
	int n1 = status_line(line, sizeof(line), status);

	c->chunked = c->keep_alive;
	if (!c->chunked)
		c->close_after = true; /* the end of the body is the end of the connection */
	tail = c->chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Connection: close\r\n\r\n";
	struct iovec iov[3] = {
	    {line, (size_t)n1}, {(void *)headers, headers_len}, {(void *)tail, strlen(tail)}};
	send_iov(c, iov, 3);
}

void sx_hconn_send(struct sx_hconn *c, const void *data, size_t len)
{
	char size[24];

	if (!len)
		return;
	if (!c->chunked) {
		send_bytes(c, data, len);
		return;
	}
	struct iovec iov[3] = {{size, (size_t)snprintf(size, sizeof(size), "%zx\r\n", len)},
			       {(void *)data, len},
			       {(void *)"\r\n", 2}};
	send_iov(c, iov, 3);
}

void sx_hconn_end(struct sx_hconn *c, bool ok)
{
	if (!ok) {
		c->close_after = true;
		c->ctx = NULL;
		c->responded = true;
		kill_later(c);
		return;
	}
	if (c->chunked)
		send_bytes(c, "0\r\n\r\n", 5);
	request_ended(c);
}

size_t sx_hconn_pending(const struct sx_hconn *c)
{
	return c->out.len - c->out.off;
}

int sx_hconn_fd(const struct sx_hconn *c)
{
	return c->w.fd;
}
