/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * tunnel.c - a two-way relay between two sockets with splice(2).
 *
 * Each direction moves bytes socket -> pipe -> socket inside the kernel, so
 * a 1 GiB download never passes through user memory.  The pipe is the
 * direction's buffer and its backpressure: while it is full the source
 * socket is not read, so a slow reader slows the writer down instead of
 * growing memory.  A tunnel therefore holds at most two pipes' worth of
 * data whatever the traffic: the kernel's default 64 KiB each, grown to
 * 1 MiB once a direction has carried 4 MiB (bulk downloads).
 *
 * Half-close: when one side sends FIN and its bytes are delivered, the other
 * side gets shutdown(SHUT_WR) and the opposite direction goes on until it
 * ends as well (a client that sends its whole request, then waits for the
 * answer, works).  Idle tunnels are closed after idle_secs without a byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/util.h"
#include "tunnel.h"

#define PIPE_BULK_BYTES (1024 * 1024)
#define PIPE_BULK_AFTER (4 * 1024 * 1024) /* bytes moved before the pipe grows */
#define ROUNDS_PER_EVENT 16 /* then let other connections run */

struct half {
	int from, to; /* the tunnel's fds, not owned here */
	int pipe[2];
	size_t queued; /* bytes in the pipe */
	size_t cap; /* the pipe's size */
	bool pipe_full; /* the last splice into the pipe found no room */
	bool eof; /* `from` sent FIN */
	bool shut; /* `to` got SHUT_WR */
	uint64_t moved; /* bytes delivered to `to` */
};

struct sx_tunnel {
	int fd[2]; /* client, server */
	sd_event_source *src[2];
	uint32_t mask[2];
	struct half up, down;
	sd_event_source *idle;
	uint64_t last_usec;
	unsigned idle_secs;
	bool close_on_server_eof;
	sx_tunnel_done done;
	void *data;
};

static void release(struct sx_tunnel *t)
{
	for (int i = 0; i < 2; i++) {
		sd_event_source_disable_unref(t->src[i]);
		safe_close(t->fd[i]);
		safe_close(t->up.pipe[i]);
		safe_close(t->down.pipe[i]);
	}
	sd_event_source_disable_unref(t->idle);
}

/* Closes everything, reports once, frees the tunnel. */
static void finish(struct sx_tunnel *t, const char *end)
{
	struct sx_tunnel_result res = {.bytes_up = t->up.moved, .bytes_down = t->down.moved, .end = end};

	release(t);
	t->done(t->data, &res);
	free(t);
}

/* Moves what it can in one direction: drain the pipe into `to`, refill it
 * from `from`, until neither moves a byte (or ROUNDS_PER_EVENT).  Returns 0,
 * or a negative errno when a side failed (the tunnel must end). */
static int pump(struct half *h)
{
	for (int round = 0; round < ROUNDS_PER_EVENT; round++) {
		bool progress = false;
		ssize_t n;

		if (h->queued > 0) {
			n = splice(h->pipe[0], NULL, h->to, NULL, h->queued,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				h->queued -= (size_t)n;
				h->moved += (uint64_t)n;
				h->pipe_full = false;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -errno;
			}
		}
		if (!h->eof && !h->pipe_full && h->queued < h->cap) {
			n = splice(h->from, NULL, h->pipe[1], NULL, h->cap - h->queued,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				h->queued += (size_t)n;
				progress = true;
			} else if (n == 0) {
				h->eof = true;
			} else if (errno == EAGAIN) {
				/* Bytes still queued mean `to` is full (the drain
				 * above stopped short); whether the pipe or the
				 * socket ran dry, stop reading until `to` takes
				 * more.  splice fills pipe slots, not bytes, so a
				 * pipe can be full below cap. */
				if (h->queued > 0)
					h->pipe_full = true;
			} else if (errno != EINTR) {
				return -errno;
			}
		}
		if (h->eof && h->queued == 0 && !h->shut) {
			shutdown(h->to, SHUT_WR);
			h->shut = true;
		}
		if (!progress)
			break;
	}
	/* A bulk transfer gets a bigger pipe: fewer splices per byte.  Short
	 * tunnels keep the kernel's default and never pay for the pages. */
	if (h->cap < PIPE_BULK_BYTES && h->moved >= PIPE_BULK_AFTER) {
		int sz = fcntl(h->pipe[1], F_SETPIPE_SZ, PIPE_BULK_BYTES);
		if (sz > 0)
			h->cap = (size_t)sz;
		else
			h->cap = PIPE_BULK_BYTES; /* the user's pipe budget is spent: do not retry */
	}
	return 0;
}

/* What each fd waits for now; a source with nothing to wait for is off,
 * so a hung-up socket does not wake the loop over and over. */
static void update_masks(struct sx_tunnel *t)
{
	uint32_t want[2] = {0, 0};

	if (!t->up.eof && !t->up.pipe_full && t->up.queued < t->up.cap)
		want[0] |= EPOLLIN;
	if (t->down.queued > 0)
		want[0] |= EPOLLOUT;
	if (!t->down.eof && !t->down.pipe_full && t->down.queued < t->down.cap)
		want[1] |= EPOLLIN;
	if (t->up.queued > 0)
		want[1] |= EPOLLOUT;
	for (int i = 0; i < 2; i++) {
		if (want[i] == t->mask[i])
			continue;
		if (want[i])
			sd_event_source_set_io_events(t->src[i], want[i]);
		sd_event_source_set_enabled(t->src[i], want[i] ? SD_EVENT_ON : SD_EVENT_OFF);
		t->mask[i] = want[i];
	}
}

static bool done_relaying(const struct sx_tunnel *t)
{
	bool down_over = t->down.eof && t->down.queued == 0;
	if (t->close_on_server_eof && down_over)
		return true;
	return down_over && t->up.eof && t->up.queued == 0;
}

static int run(struct sx_tunnel *t)
{
	int r = pump(&t->up);
	if (r == 0)
		r = pump(&t->down);
	if (r < 0) {
		finish(t, r == -EPIPE || r == -ECONNRESET ? "reset" : "socket error");
		return 0;
	}
	if (done_relaying(t)) {
		finish(t, "closed");
		return 0;
	}
	update_masks(t);
	return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct sx_tunnel *t = data;

	t->last_usec = sx_now_usec();
	if (revents & EPOLLERR) {
		finish(t, "reset");
		return 0;
	}
	return run(t);
}

static int on_idle(sd_event_source *s, uint64_t usec, void *data)
{
	struct sx_tunnel *t = data;
	uint64_t limit = (uint64_t)t->idle_secs * 1000000ULL, quiet = sx_now_usec() - t->last_usec;

	if (quiet >= limit) {
		finish(t, "idle timeout");
		return 0;
	}
	sd_event_source_set_time_relative(s, limit - quiet);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static int open_pipe(struct half *h, int from, int to)
{
	h->from = from;
	h->to = to;
	if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		h->pipe[0] = h->pipe[1] = -EBADF;
		return -errno;
	}
	h->cap = (size_t)MAX(fcntl(h->pipe[1], F_GETPIPE_SZ), 4096);
	return 0;
}

static int prefill(struct half *h, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (write(h->pipe[1], buf, len) != (ssize_t)len)
		return -EMSGSIZE;
	h->queued = len;
	return 0;
}

int sx_tunnel_start(sd_event *loop, int client, int server, const void *prefix_up, size_t up_len,
		    const void *prefix_down, size_t down_len, bool close_on_server_eof, unsigned idle_secs,
		    sx_tunnel_done done, void *data, struct sx_tunnel **ret)
{
	struct sx_tunnel *t = calloc(1, sizeof(*t));
	int r;

	if (!t) {
		safe_close(client);
		safe_close(server);
		return -ENOMEM;
	}
	t->fd[0] = client;
	t->fd[1] = server;
	t->up.pipe[0] = t->up.pipe[1] = t->down.pipe[0] = t->down.pipe[1] = -EBADF;
	t->idle_secs = idle_secs ?: 300;
	t->close_on_server_eof = close_on_server_eof;
	t->done = done;
	t->data = data;
	t->last_usec = sx_now_usec();
	if ((r = open_pipe(&t->up, client, server)) < 0 || (r = open_pipe(&t->down, server, client)) < 0 ||
	    (r = prefill(&t->up, prefix_up, up_len)) < 0 ||
	    (r = prefill(&t->down, prefix_down, down_len)) < 0)
		goto fail;
	/* Both read; each also waits to write when its pipe has a prefix. */
	t->mask[0] = EPOLLIN | (down_len ? EPOLLOUT : 0);
	t->mask[1] = EPOLLIN | (up_len ? EPOLLOUT : 0);
	for (int i = 0; i < 2; i++)
		if ((r = sd_event_add_io(loop, &t->src[i], t->fd[i], t->mask[i], on_io, t)) < 0)
			goto fail;
	r = sd_event_add_time_relative(loop, &t->idle, CLOCK_MONOTONIC, (uint64_t)t->idle_secs * 1000000ULL,
				       1000000ULL, on_idle, t);
	if (r < 0)
		goto fail;
	*ret = t;
	return 0;
fail:
	release(t);
	free(t);
	return r;
}

void sx_tunnel_abort(struct sx_tunnel *t)
{
	finish(t, "gateway stopping");
}
