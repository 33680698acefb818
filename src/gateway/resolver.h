/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * resolver.h - asynchronous DNS for the egress proxy and the filtered DNS
 * forwarder: one c-ares channel driven by the gateway's sd-event loop, so
 * a slow resolver never stalls other connections.
 */
#pragma once

#include <ares.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

struct sx_resolver;

/* servers: IPv4/IPv6 addresses to ask (NULL or empty: the host's
 * /etc/resolv.conf, as c-ares reads it).  Returns 0 or a negative errno
 * after logging. */
int sx_resolver_new(sd_event *loop, char *const *servers, struct sx_resolver **ret);
void sx_resolver_free(struct sx_resolver *r);

/* Asks these servers from now on (SIGHUP); NULL or empty keeps the current
 * ones (switching back to the host's needs a restart).  Returns 0 or
 * -EINVAL after logging. */
int sx_resolver_set_servers(struct sx_resolver *r, char *const *servers);

#define SX_RESOLVE_MAX 8

/* The answer to a lookup: status ARES_SUCCESS and 1..n addresses (IPv4
 * first), or an ARES_* error and none.  ARES_ECANCELLED or
 * ARES_EDESTRUCTION: the gateway is stopping. */
typedef void (*sx_resolved_cb)(void *data, int status, const struct sockaddr_storage *addrs, size_t n);

/* Looks up name's A and AAAA records (DNS only, never /etc/hosts when
 * servers were given).  Answers are cached for their TTL (at most 5
 * minutes); a cached answer calls cb before this returns, otherwise cb runs
 * later from the loop. */
void sx_resolver_lookup(struct sx_resolver *r, const char *name, sx_resolved_cb cb, void *data);

/* Sends a raw DNS query (wire format) to the upstream servers; cb gets the
 * raw answer.  For the filtered DNS forwarder. */
void sx_resolver_send(struct sx_resolver *r, const unsigned char *query, int len, ares_callback cb,
		      void *data);

/* Cancels every lookup in flight: their callbacks run with
 * ARES_ECANCELLED (before free, so owners can let go of their state). */
void sx_resolver_cancel(struct sx_resolver *r);
