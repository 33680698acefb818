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
#include <sys/epoll.h>

#include "../lib/log.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "resolver.h"

#define MAX_SOCKS 16

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

int sx_resolver_new(sd_event *loop, char *const *servers, struct sx_resolver **ret)
{
	struct sx_resolver *r = calloc(1, sizeof(*r));
	struct ares_options o = {0};
	int optmask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES, st;
	bool listed = servers && servers[0];

	if (!r)
		return -ENOMEM;
	r->loop = loop;
	o.sock_state_cb = on_sock_state;
	o.sock_state_cb_data = r;
	o.timeout = 2000;
	o.tries = 2;
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
	if (listed) {
		_cleanup_free_ char *csv = sx_strv_join(servers, ",");
		st = csv ? ares_set_servers_ports_csv(r->channel, csv) : ARES_ENOMEM;
		if (st != ARES_SUCCESS) {
			sx_resolver_free(r);
			return log_error_errno(-EINVAL, "DNS upstreams %s: %s", csv ? csv : "?",
					       ares_strerror(st));
		}
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

void sx_resolver_lookup(struct sx_resolver *r, const char *name, ares_addrinfo_callback cb, void *data)
{
	struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};

	ares_getaddrinfo(r->channel, name, NULL, &hints, cb, data);
	rearm_timer(r);
}

void sx_resolver_send(struct sx_resolver *r, const unsigned char *query, int len, ares_callback cb, void *data)
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
