/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * httpd.h - a libmicrohttpd daemon driven by the gateway's sd-event loop.
 */
#pragma once

#include <microhttpd.h>
#include <systemd/sd-event.h>

struct sx_httpd;

struct sx_httpd_handlers {
	MHD_AccessHandlerCallback access;
	MHD_RequestCompletedCallback completed; /* may be NULL */
	/* Called with the raw request URI before parsing (the query string
	 * intact); its return value becomes the request's context.  May be NULL. */
	void *(*uri)(void *cls, const char *uri, struct MHD_Connection *c);
	void *cls;
};

/* Listens on host:port (IPv4 or IPv6 literal).  Returns 0 or a negative
 * errno after logging. */
int sx_httpd_start(sd_event *loop, const char *what, const char *host, unsigned port,
		   const struct sx_httpd_handlers *h, struct sx_httpd **ret);

/* Stops accepting new connections; open ones carry on. */
void sx_httpd_quiesce(struct sx_httpd *d);

/* Runs the daemon now (after resuming a connection from outside MHD). */
void sx_httpd_kick(struct sx_httpd *d);

/* Stops the daemon (no suspended connections may remain) and frees it. */
void sx_httpd_free(struct sx_httpd *d);
