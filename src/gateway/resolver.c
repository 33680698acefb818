/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * resolver.c - a c-ares channel on the gateway's sd-event loop.
 *
 * c-ares tells us which sockets it wants watched (ARES_OPT_SOCK_STATE_CB);
 * each gets one sd-event I/O source.  One timer carries c-ares' next
 * retransmission deadline, re-armed after every piece of work.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <time.h>

#include "../lib/log.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "resolver.h"

#define MAX_SOCKS 16
#define CACHE_SLOTS 256
#define CACHE_TTL_MAX 300 /* seconds */

struct cache_entry {
	char name[256];
	uint64_t expires; /* CLOCK_MONOTONIC usec */
	struct sockaddr_storage addrs[SX_RESOLVE_MAX];
	size_t n;
};

struct sock_watch {
	ares_socket_t fd;
	sd_event_source *src;
};

struct sx_resolver {
	sd_event *loop;
	ares_channel channel;
	bool channel_ok;
	sd_event_source *timer;
	struct sock_watch socks[MAX_SOCKS];
	struct cache_entry cache[CACHE_SLOTS];
};

static void rearm_timer(struct sx_resolver *r)
{
	struct timeval max = {.tv_sec = 5}, tv, *t = ares_timeout(r->channel, &max, &tv);
	uint64_t usec = (uint64_t)t->tv_sec * 1000000ULL + (uint64_t)t->tv_usec;

	sd_event_source_set_time_relative(r->timer, usec ?: 1);
	sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
}

static int on_sock(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct sx_resolver *r = data;

	ares_process_fd(r->channel, revents & (EPOLLIN | EPOLLERR | EPOLLHUP) ? fd : ARES_SOCKET_BAD,
			revents & EPOLLOUT ? fd : ARES_SOCKET_BAD);
	rearm_timer(r);
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *data)
{
	struct sx_resolver *r = data;

	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm_timer(r);
	return 0;
}

/* c-ares opened, changed or closed one of its sockets. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct sx_resolver *r = data;
	struct sock_watch *w = NULL, *free_slot = NULL;
	uint32_t events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);

	for (size_t i = 0; i < MAX_SOCKS; i++) {
		if (r->socks[i].src && r->socks[i].fd == fd)
			w = &r->socks[i];
		else if (!r->socks[i].src && !free_slot)
			free_slot = &r->socks[i];
	}
	if (!events) {
		if (w)
			w->src = sd_event_source_disable_unref(w->src);
		return;
	}
	if (w) {
		sd_event_source_set_io_events(w->src, events);
		return;
	}
	if (!free_slot || sd_event_add_io(r->loop, &free_slot->src, fd, events, on_sock, r) < 0) {
		log_error("resolver: cannot watch a DNS socket; lookups on it will time out");
		return;
	}
	free_slot->fd = fd;
}

int sx_resolver_set_servers(struct sx_resolver *r, char *const *servers)
{
	_cleanup_free_ char *csv = sx_strv_join(servers, ",");
	int st;

	if (!servers || !servers[0])
		return 0;
	st = csv ? ares_set_servers_ports_csv(r->channel, csv) : ARES_ENOMEM;
	if (st != ARES_SUCCESS)
		return log_error_errno(-EINVAL, "DNS upstreams %s: %s", csv ? csv : "?", ares_strerror(st));
	/* Answers from the old servers go. */
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		r->cache[i].n = 0;
	return 0;
}

int sx_resolver_new(sd_event *loop, char *const *servers, struct sx_resolver **ret)
{
	struct sx_resolver *r = calloc(1, sizeof(*r));
	struct ares_options o = {0};
	int optmask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS, st;
	bool listed = servers && servers[0];

	if (!r)
		return -ENOMEM;
	r->loop = loop;
	o.sock_state_cb = on_sock_state;
	o.sock_state_cb_data = r;
	o.timeout = 2000;
	o.tries = 2;
	/* Keep the UDP sockets between lookups: a socket, connect and close
	 * (and their epoll changes) per lookup otherwise. */
	o.flags = ARES_FLAG_STAYOPEN;
	if (listed) {
		/* Upstreams from config: DNS only, /etc/hosts stays the host's. */
		o.lookups = (char *)"b";
		optmask |= ARES_OPT_LOOKUPS;
	}
	st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st == ARES_SUCCESS)
		st = ares_init_options(&r->channel, &o, optmask);
	if (st != ARES_SUCCESS) {
		free(r);
		return log_error_errno(-EIO, "cannot set up the DNS resolver: %s", ares_strerror(st));
	}
	r->channel_ok = true;
	if (listed && (st = sx_resolver_set_servers(r, servers)) < 0) {
		sx_resolver_free(r);
		return st;
	}
	if (sd_event_add_time_relative(loop, &r->timer, CLOCK_MONOTONIC, UINT64_MAX / 2, 1000, on_timer, r) <
	    0) {
		sx_resolver_free(r);
		return log_error_errno(-ENOMEM, "cannot arm the resolver's timer");
	}
	sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
	*ret = r;
	return 0;
}

/* A small direct-mapped cache of answers, so a burst of tunnels to one
 * host costs one lookup.  Only what the name resolved to is cached; every
 * address is judged again at connect time (egress.c), so a cached answer
 * gains an attacker nothing. */
static struct cache_entry *cache_slot(struct sx_resolver *r, const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return &r->cache[h % CACHE_SLOTS];
}

struct lookup {
	struct sx_resolver *r;
	char name[256];
	sx_resolved_cb cb;
	void *data;
};

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct lookup *l = arg;
	struct sockaddr_storage addrs[SX_RESOLVE_MAX];
	unsigned ttl = CACHE_TTL_MAX;
	size_t n = 0;

	/* IPv4 first: the sandbox and most networks here are IPv4-only. */
	for (int pass = 0; status == ARES_SUCCESS && pass < 2; pass++)
		for (struct ares_addrinfo_node *a = res->nodes; a && n < SX_RESOLVE_MAX; a = a->ai_next) {
			if ((pass == 0) != (a->ai_family == AF_INET) || a->ai_addrlen > sizeof(addrs[0]))
				continue;
			memset(&addrs[n], 0, sizeof(addrs[n]));
			memcpy(&addrs[n++], a->ai_addr, a->ai_addrlen);
			ttl = MIN(ttl, (unsigned)MAX(a->ai_ttl, 0));
		}
	if (res)
		ares_freeaddrinfo(res);
	if (status == ARES_SUCCESS && n == 0)
		status = ARES_ENODATA;
	if (status == ARES_SUCCESS && ttl > 0) {
		struct cache_entry *e = cache_slot(l->r, l->name);
		snprintf(e->name, sizeof(e->name), "%s", l->name);
		memcpy(e->addrs, addrs, n * sizeof(addrs[0]));
		e->n = n;
		e->expires = sx_now_usec() + ttl * 1000000ULL;
	}
	l->cb(l->data, status, addrs, n);
	free(l);
}

void sx_resolver_lookup(struct sx_resolver *r, const char *name, sx_resolved_cb cb, void *data)
{
	struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct cache_entry *e = cache_slot(r, name);
	struct lookup *l;

	if (e->n && streq(e->name, name) && e->expires > sx_now_usec()) {
		cb(data, ARES_SUCCESS, e->addrs, e->n);
		return;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		cb(data, ARES_ENOMEM, NULL, 0);
		return;
	}
	l->r = r;
	l->cb = cb;
	l->data = data;
	snprintf(l->name, sizeof(l->name), "%s", name);
	ares_getaddrinfo(r->channel, name, NULL, &hints, on_addrinfo, l);
	rearm_timer(r);
}

void sx_resolver_send(struct sx_resolver *r, const unsigned char *query, int len, ares_callback cb,
		      void *data)
{
	ares_send(r->channel, query, len, cb, data);
	rearm_timer(r);
}

void sx_resolver_cancel(struct sx_resolver *r)
{
	if (r && r->channel_ok)
		ares_cancel(r->channel);
}

void sx_resolver_free(struct sx_resolver *r)
{
	if (!r)
		return;
	if (r->channel_ok)
		ares_destroy(r->channel); /* runs pending callbacks with ARES_EDESTRUCTION */
	for (size_t i = 0; i < MAX_SOCKS; i++)
		sd_event_source_disable_unref(r->socks[i].src);
	sd_event_source_disable_unref(r->timer);
	ares_library_cleanup();
	free(r);
}
