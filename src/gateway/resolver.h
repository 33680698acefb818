/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * resolver.h - asynchronous DNS for the egress proxy and the filtered DNS
 * forwarder: one c-ares channel driven by the gateway's sd-event loop, so
 * a slow resolver never stalls other connections.
 */
#pragma once

#include <ares.h>
#include <systemd/sd-event.h>

struct sx_resolver;

/* servers: IPv4/IPv6 addresses to ask (NULL or empty: the host's
 * /etc/resolv.conf, as c-ares reads it).  Returns 0 or a negative errno
 * after logging. */
int sx_resolver_new(sd_event *loop, char *const *servers, struct sx_resolver **ret);
void sx_resolver_free(struct sx_resolver *r);

/* Looks up name's A and AAAA records (DNS only, never /etc/hosts when
 * servers were given).  cb runs later from the loop, also on failure
 * (status != ARES_SUCCESS, res NULL); the callee frees res with
 * ares_freeaddrinfo(). */
void sx_resolver_lookup(struct sx_resolver *r, const char *name, ares_addrinfo_callback cb, void *data);

/* Sends a raw DNS query (wire format) to the upstream servers; cb gets the
 * raw answer.  For the filtered DNS forwarder. */
void sx_resolver_send(struct sx_resolver *r, const unsigned char *query, int len, ares_callback cb,
		      void *data);

/* Cancels every lookup in flight: their callbacks run with
 * ARES_ECANCELLED (before free, so owners can let go of their state). */
void sx_resolver_cancel(struct sx_resolver *r);
