/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * evloop.c - the LLM data path's epoll set inside sd-event (evloop.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "evloop.h"

#define BATCH 256
#define HEARTBEAT_MS 1000

struct sx_evloop {
	sd_event *loop;
	int epfd;
	sd_event_source *later; /* runs deferred work queued outside a batch */
	struct sx_evwatch sdw; /* sd-event's epoll fd, in our set */
	bool sd_ready, poked;
	struct epoll_event ev[BATCH];
	int n, i; /* the batch being dispatched, and the next event in it */
	bool dispatching;
	struct sx_evdefer *head, **tail;
};

static void run_deferred(struct sx_evloop *l)
{
	struct sx_evdefer *d;

	/* Work queued while this runs runs too, in order. */
	while ((d = l->head)) {
		l->head = d->next;
		if (!l->head)
			l->tail = &l->head;
		d->next = NULL;
		d->queued = false;
		d->fn(d);
	}
}

/* Dispatches one batch of ready sockets, then the deferred work. */
static int dispatch(struct sx_evloop *l, int timeout_ms)
{
	int n = epoll_wait(l->epfd, l->ev, BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	l->dispatching = true;
	l->n = n;
	for (l->i = 0; l->i < l->n; l->i++) {
		struct sx_evwatch *w = l->ev[l->i].data.ptr;
		if (w)
			w->fn(w, l->ev[l->i].events);
	}
	l->n = l->i = 0;
	run_deferred(l);
	l->dispatching = false;
	return n;
}

int sx_evloop_dispatch_once(struct sx_evloop *l, int timeout_ms)
{
	return dispatch(l, timeout_ms);
}

/* sd-event's own epoll descriptor is one of ours: it is readable when one
 * of its sources (signals, timers, the other listeners) is ready. */
static void on_sd_event(struct sx_evwatch *w, uint32_t events)
{
	struct sx_evloop *l = sx_container_of(w, struct sx_evloop, sdw);
	l->sd_ready = true;
}

int sx_evloop_run(struct sx_evloop *l)
{
	sd_event *e = l->loop;
	bool armed = false;
	uint64_t turned = sx_now_usec(); /* sd-event's last turn */
	int r, code = 0;

	for (;;) {
		if (!armed) {
			r = sd_event_prepare(e);
			if (r < 0)
				return r;
			if (r == 0)
				armed = true;
			else {
				r = sd_event_dispatch(e);
				if (r < 0)
					return r;
				if (sd_event_get_state(e) == SD_EVENT_FINISHED)
					break;
				continue;
			}
		}
		/* Armed: sd-event's timers are set; wait for anything, a second at
		 * most: timers set from a data-path callback are armed at
		 * sd-event's next turn, which comes at least once a second. */
		l->sd_ready = false;
		r = dispatch(l, HEARTBEAT_MS);
		if (r < 0)
			return log_error_errno(r, "epoll_wait");
		if (!l->sd_ready && !l->poked && sx_now_usec() - turned < HEARTBEAT_MS * 1000ULL)
			continue; /* only our sockets: no sd-event turn, no syscall for it */
		l->poked = false;
		armed = false;
		turned = sx_now_usec();
		r = sd_event_wait(e, 0);
		if (r < 0)
			return r;
		if (r > 0) {
			r = sd_event_dispatch(e);
			if (r < 0)
				return r;
		}
		if (sd_event_get_state(e) == SD_EVENT_FINISHED)
			break;
	}
	(void)sd_event_get_exit_code(e, &code);
	return code;
}

void sx_evloop_poke(struct sx_evloop *l)
{
	l->poked = true;
}

static int on_later(sd_event_source *s, void *data)
{
	struct sx_evloop *l = data;
	l->dispatching = true;
	run_deferred(l);
	l->dispatching = false;
	return 0;
}

int sx_evloop_new(sd_event *loop, struct sx_evloop **ret)
{
	struct sx_evloop *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	l->loop = loop;
	l->tail = &l->head;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		r = -errno;
		free(l);
		return log_error_errno(r, "LLM proxy: epoll_create1");
	}
	/* Level-triggered: it stays readable until sd-event has run. */
	l->sdw = (struct sx_evwatch){.fn = on_sd_event, .fd = sd_event_get_fd(loop)};
	r = l->sdw.fd;
	if (r >= 0 &&
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sdw.fd,
		      &(struct epoll_event){.events = EPOLLIN, .data.ptr = &l->sdw}) < 0)
		r = -errno;
	if (r >= 0)
		r = sd_event_add_defer(loop, &l->later, on_later, l);
	if (r < 0) {
		sx_evloop_free(l);
		return log_error_errno(r, "LLM proxy: cannot add its epoll set to the loop");
	}
	sd_event_source_set_enabled(l->later, SD_EVENT_OFF);
	*ret = l;
	return 0;
}

void sx_evloop_free(struct sx_evloop *l)
{
	if (!l)
		return;
	sd_event_source_disable_unref(l->later);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}

sd_event *sx_evloop_event(struct sx_evloop *l)
{
	return l->loop;
}

int sx_evloop_add(struct sx_evloop *l, struct sx_evwatch *w, int fd,
		  void (*fn)(struct sx_evwatch *w, uint32_t events))
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = w};

	w->fn = fn;
	w->fd = fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void sx_evloop_close(struct sx_evloop *l, struct sx_evwatch *w)
{
	if (w->fd < 0)
		return;
	/* close() alone removes fd from the set (no other copy of it exists). */
	close(w->fd);
	w->fd = -1;
	for (int i = l->i + 1; i < l->n; i++)
		if (l->ev[i].data.ptr == w)
			l->ev[i].data.ptr = NULL;
}

void sx_evloop_defer(struct sx_evloop *l, struct sx_evdefer *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = NULL;
	*l->tail = d;
	l->tail = &d->next;
	if (!l->dispatching)
		sd_event_source_set_enabled(l->later, SD_EVENT_ONESHOT);
}

void sx_evloop_undefer(struct sx_evloop *l, struct sx_evdefer *d)
{
	struct sx_evdefer **p;

	if (!d->queued)
		return;
	for (p = &l->head; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			if (!*p)
				l->tail = p;
			break;
		}
	d->queued = false;
	d->next = NULL;
}
