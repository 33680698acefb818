/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * evloop.c - the LLM data path's epoll set inside sd-event (evloop.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../lib/log.h"
#include "evloop.h"

#define BATCH 256

struct sx_evloop {
	sd_event *loop;
	int epfd;
	sd_event_source *io, *later; /* later: runs deferred work queued outside a batch */
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

static int on_epoll(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct sx_evloop *l = data;
	int n;

	l->dispatching = true;
	/* Drain: a full batch may hide more ready sockets. */
	do {
		n = epoll_wait(l->epfd, l->ev, BATCH, 0);
		if (n < 0) {
			if (errno != EINTR)
				log_warn_errno(-errno, "LLM proxy: epoll_wait");
			break;
		}
		l->n = n;
		for (l->i = 0; l->i < l->n; l->i++) {
			struct sx_evwatch *w = l->ev[l->i].data.ptr;
			if (w)
				w->fn(w, l->ev[l->i].events);
		}
		l->n = l->i = 0;
		run_deferred(l);
	} while (n == BATCH);
	l->dispatching = false;
	return 0;
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
	r = sd_event_add_io(loop, &l->io, l->epfd, EPOLLIN, on_epoll, l);
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
	sd_event_source_disable_unref(l->io);
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
