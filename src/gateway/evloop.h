/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * evloop.h - the gateway's main loop: the LLM data path's own epoll set,
 * edge-triggered, drained in batches, with sd-event inside it.
 *
 * sd-event costs two system calls per loop turn (epoll_wait, and a gettid
 * in sd_event_prepare) and dispatches one source per turn.  The LLM
 * proxy's client and provider sockets live in this set instead, and so
 * does sd-event's own epoll descriptor: one epoll_wait serves every ready
 * socket, then the deferred work queued meanwhile; sd-event takes a turn
 * only when its descriptor is readable (a signal, a timer, the egress
 * proxy, /health, ...).  sd-event timers created or moved from a data-path
 * callback take effect at sd-event's next turn, which comes at least once a
 * second.
 *
 * Sockets are added once with EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET and
 * never modified: a reader reads until a short read (or EAGAIN), a writer
 * writes until EAGAIN and then waits for the next EPOLLOUT edge.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct sx_evloop;

/* The struct that embeds member m (a watch or a deferred step). */
#define sx_container_of(ptr, type, m) ((type *)(void *)((char *)(ptr)-offsetof(type, m)))

/* Embedded in the owner's struct; fn gets the epoll events. */
struct sx_evwatch {
	void (*fn)(struct sx_evwatch *w, uint32_t events);
	int fd;
};

/* Deferred work: runs after the current batch of events (or at the next
 * loop turn when queued from outside a batch).  Embedded; queued at most
 * once at a time. */
struct sx_evdefer {
	void (*fn)(struct sx_evdefer *d);
	struct sx_evdefer *next;
	bool queued;
};

int sx_evloop_new(sd_event *loop, struct sx_evloop **ret);
/* Runs until sd_event_exit(); returns its exit code or a negative errno. */
int sx_evloop_run(struct sx_evloop *l);
/* One batch, without sd-event: waits up to timeout_ms (0: not at all, -1:
 * for ever) for ready sockets, runs their callbacks, then the deferred work
 * (also what was queued outside a batch).  The number of socket events, or
 * a negative errno.  For tests/fuzz/fuzz-llm.c, which drives a server
 * round by round; the gateway runs sx_evloop_run(). */
int sx_evloop_dispatch_once(struct sx_evloop *l, int timeout_ms);
/* Gives sd-event a turn after the current batch (after sd_event_exit() or
 * a change to its sources from a data-path callback that must not wait). */
void sx_evloop_poke(struct sx_evloop *l);
void sx_evloop_free(struct sx_evloop *l);
sd_event *sx_evloop_event(struct sx_evloop *l);

/* Watches fd (non-blocking) edge-triggered for input, output and hang-up.
 * 0 or a negative errno. */
int sx_evloop_add(struct sx_evloop *l, struct sx_evwatch *w, int fd,
		  void (*fn)(struct sx_evwatch *w, uint32_t events));
/* Stops watching w and closes its fd.  Events of the current batch still
 * pending for w are dropped, so its owner may be freed right after (but
 * not while a callback of the owner is still running below on the stack). */
void sx_evloop_close(struct sx_evloop *l, struct sx_evwatch *w);

/* Queues d to run after this batch (or at the next loop turn when queued
 * outside a batch). */
void sx_evloop_defer(struct sx_evloop *l, struct sx_evdefer *d);
/* Removes d from the queue if it is there. */
void sx_evloop_undefer(struct sx_evloop *l, struct sx_evdefer *d);
