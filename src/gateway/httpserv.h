/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * httpserv.h - the LLM proxy's listening side: HTTP/1.1 connections from
 * the sandbox on the proxy's epoll set (evloop.h), requests parsed by
 * http-parser, responses written with writev as soon as they are queued.
 *
 * One request at a time per connection: a pipelined next request waits
 * (unparsed) until the current response has ended.  A connection without
 * a request in progress is closed after 300 s without a byte.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "evloop.h"

struct sx_hsrv;
struct sx_hconn;

/* A request head; valid until the request's response has ended. */
struct sx_hreq {
	const char *method;
	const char *url; /* as sent: path and query */
	size_t n_headers;
	const char *const *names; /* n_headers each, NUL-terminated */
	const char *const *values;
	bool expect_continue; /* "Expect: 100-continue" (answered by the server) */
	long long content_length; /* -1: none (chunked or no body) */
};

struct sx_hsrv_ops {
	/* A request head arrived.  Returns the request's handler context, or
	 * NULL after queueing a response (sx_hconn_respond): the body is then
	 * read and dropped. */
	void *(*request)(void *cls, struct sx_hconn *c, const struct sx_hreq *req);
	/* Body bytes (transfer coding undone). */
	void (*body)(void *ctx, const char *p, size_t len);
	/* The whole body is in. */
	void (*complete)(void *ctx);
	/* Queued output fell below the low-water mark (backpressure). */
	void (*drained)(void *ctx);
	/* The client went away (or broke the protocol) before the response
	 * ended; the connection is gone when this returns, ctx must forget it. */
	void (*closed)(void *ctx);
};

/* Listens on host:port (an IP literal; NULL: no listener, connections
 * come only through sx_hsrv_adopt()).  0 or a negative errno, logged. */
int sx_hsrv_start(struct sx_evloop *loop, const char *what, const char *host, unsigned port,
		  const struct sx_hsrv_ops *ops, void *cls, struct sx_hsrv **ret);
/* Takes over fd, an already connected, non-blocking stream socket, as a
 * client connection (the listener's accept does this for each client;
 * tests/fuzz/fuzz-llm.c hands it one end of a socketpair).  On failure fd
 * is closed.  0 or a negative errno (not logged). */
int sx_hsrv_adopt(struct sx_hsrv *s, int fd);
/* Stops accepting connections; open ones carry on. */
void sx_hsrv_quiesce(struct sx_hsrv *s);
/* Closes every connection (without callbacks) and frees. */
void sx_hsrv_free(struct sx_hsrv *s);

/* A whole response: status, header lines ("Name: value\r\n"..., may be
 * empty; the server adds Content-Length and Connection) and the body.
 * Ends the request. */
void sx_hconn_respond(struct sx_hconn *c, unsigned status, const char *headers, size_t headers_len,
		      const void *body, size_t len);
/* A response of unknown length: the head now (chunked for HTTP/1.1, else
 * ended by closing the connection), then sx_hconn_send()s, then
 * sx_hconn_end(). */
void sx_hconn_begin(struct sx_hconn *c, unsigned status, const char *headers, size_t headers_len);
void sx_hconn_send(struct sx_hconn *c, const void *data, size_t len);
/* Ends the request: ok, the response is complete (last chunk); else the
 * connection is closed so that the client sees a broken response. */
void sx_hconn_end(struct sx_hconn *c, bool ok);
/* Bytes queued but not yet taken by the socket. */
size_t sx_hconn_pending(const struct sx_hconn *c);
/* The client socket's fd (for logging). */
int sx_hconn_fd(const struct sx_hconn *c);
