/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * upclient.h - the LLM proxy's HTTP/1.1 client to the providers: a pool of
 * keep-alive connections per origin (scheme, host, port) on the proxy's
 * epoll set (evloop.h), responses parsed by http-parser, TLS by OpenSSL
 * with the peer verified (the configured CA file, else the system's CAs,
 * and the host name), names resolved asynchronously (resolver.h).
 *
 * One request per connection at a time (no pipelining).  A request sent on
 * a reused connection that the provider had closed (no response byte yet)
 * is sent again once on a new connection.  HEAD is not supported (its
 * response would be read as if it had a body).
 *
 * Memory: the client has one 64 KiB read buffer for every connection; a
 * connection costs ~120 bytes and a request ~250 plus its request line,
 * the response head while it is read, and what arrived past a pause.  An
 * idle TLS connection costs OpenSSL ~19 KiB on top (OpenSSL 3.0, record
 * buffers released).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "evloop.h"

struct sx_resolver;
struct sx_upclient;
struct sx_upreq;

enum sx_up_error {
	SX_UP_OK = 0,
	SX_UP_DNS, /* the name did not resolve */
	SX_UP_CONNECT, /* no connection (refused, unreachable) */
	SX_UP_TIMEOUT, /* connect (10 s) or no byte for idle_secs */
	SX_UP_TLS, /* handshake or verification failed */
	SX_UP_OTHER, /* the connection broke, a malformed response, out of memory */
};

/* A response header: pointers into the parser's buffer, valid only during
 * the headers callback. */
struct sx_up_header {
	const char *name, *value;
	size_t name_len, value_len;
};

struct sx_upreq_ops {
	/* The final response head (status >= 200; 1xx are skipped). */
	void (*headers)(void *data, int status, const struct sx_up_header *h, size_t n);
	/* Body bytes as they arrive, transfer coding undone.  Return false to
	 * end the request here (done is then not called). */
	bool (*body)(void *data, const char *p, size_t len);
	/* The response ended (SX_UP_OK, message "ok") or failed; message says
	 * why (valid during the call).  The request is freed after this
	 * returns. */
	void (*done)(void *data, enum sx_up_error err, const char *message);
};

struct sx_upclient_opts {
	const char *ca_file; /* NULL: the system's CAs */
	unsigned connect_secs; /* 10 */
	unsigned idle_secs; /* a response with no byte for this long fails: 600 */
	unsigned keepalive_secs; /* an idle pooled connection is closed after: 60 */
	unsigned max_idle_per_origin; /* 256 */
};

int sx_upclient_new(struct sx_evloop *loop, struct sx_resolver *resolver, const struct sx_upclient_opts *opts,
		    struct sx_upclient **ret);
/* Closes every connection; requests still open are dropped without their
 * done callback.  Not from inside a request's callback. */
void sx_upclient_free(struct sx_upclient *u);
/* A new CA file (SIGHUP): connections made from now on use it.  The same
 * file as now (compared by name) changes nothing. */
int sx_upclient_set_ca_file(struct sx_upclient *u, const char *ca_file);

/* Starts METHOD url (http:// or https://, the path and query sent as they
 * are) with the header lines in headers (each "Name: value\r\n", written as
 * they are after the request line and Host; the caller adds credentials and
 * leaves out Host, Content-Length and hop-by-hop headers) and the body
 * (Content-Length is added when body_len > 0 or the method is not GET).
 * headers and body must stay valid until done (or cancel).  The callbacks
 * never run before this returns.  Returns the request or NULL with errno
 * set (EINVAL: a URL that is not http(s) or has user info, a method that
 * is not a token; ENOMEM). */
struct sx_upreq *sx_upreq_start(struct sx_upclient *u, const char *method, const char *url,
				const struct iovec *headers, size_t n_headers, const void *body,
				size_t body_len, const struct sx_upreq_ops *ops, void *data);
/* Stops reading the response (backpressure); resume reads on again (also
 * what is already in the socket). */
void sx_upreq_pause(struct sx_upreq *r);
void sx_upreq_resume(struct sx_upreq *r);
/* Ends the request now without calling done; its connection is closed
 * (not reused).  Safe from inside the request's own callbacks. */
void sx_upreq_cancel(struct sx_upreq *r);

/* Connections open (in use and idle), for /metrics and tests. */
unsigned sx_upclient_connections(const struct sx_upclient *u);
