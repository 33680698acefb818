/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * upstream.c - libcurl multi-socket on sd-event.  libcurl tells us which
 * sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to time out
 * (CURLMOPT_TIMERFUNCTION); we report readiness back with
 * curl_multi_socket_action() and collect finished transfers.  The multi
 * handle keeps a connection cache, so keep-alive and TLS sessions to a
 * provider are reused across calls.
 */
#include <errno.h>
#include <stdlib.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "upstream.h"

struct sx_upstream {
	sd_event *loop;
	CURLM *multi;
	sd_event_source *timer, *now;
};

struct transfer {
	sx_upstream_done_fn done;
	void *data;
};

static void check_done(struct sx_upstream *u)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(u->multi, &left))) {
		struct transfer *t = NULL;
		CURL *easy = m->easy_handle;
		CURLcode result = m->data.result;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
		curl_multi_remove_handle(u->multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		if (t) {
			t->done(easy, result, t->data);
			free(t);
		}
	}
}

static void action(struct sx_upstream *u, curl_socket_t fd, int flags)
{
	int running;
	curl_multi_socket_action(u->multi, fd, flags, &running);
	check_done(u);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	int flags = 0;
	if (revents & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	action(data, fd, flags);
	return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sx_upstream *u = userp;
	sd_event_source *src = socketp;
	uint32_t events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (src) {
			sd_event_source_disable_unref(src);
			curl_multi_assign(u->multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (src)
		return sd_event_source_set_io_events(src, events) < 0 ? -1 : 0;
	if (sd_event_add_io(u->loop, &src, fd, events, on_io, u) < 0)
		return -1;
	curl_multi_assign(u->multi, fd, src);
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *data)
{
	action(data, CURL_SOCKET_TIMEOUT, 0);
	return 0;
}

static int on_now(sd_event_source *s, void *data)
{
	action(data, CURL_SOCKET_TIMEOUT, 0);
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct sx_upstream *u = userp;
	uint64_t now;

	if (timeout_ms < 0)
		return sd_event_source_set_enabled(u->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
	/* timeout 0 means "call now": let the loop do it on its next turn
	 * rather than re-entering libcurl from inside its own callback. */
	if (timeout_ms == 0)
		return sd_event_source_set_enabled(u->now, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
	sd_event_now(u->loop, CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(u->timer, now + (uint64_t)timeout_ms * 1000);
	return sd_event_source_set_enabled(u->timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

int sx_upstream_new(sd_event *loop, struct sx_upstream **ret)
{
	struct sx_upstream *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	u->loop = loop;
	u->multi = curl_multi_init();
	if (!u->multi) {
		free(u);
		return log_error_errno(-ENOMEM, "cannot create the libcurl multi handle");
	}
	/* accuracy 1 ms (libcurl's unit): sd-event's default (0) is 250 ms */
	r = sd_event_add_time(loop, &u->timer, CLOCK_MONOTONIC, 0, 1000, on_timer, u);
	if (r >= 0 && (r = sd_event_add_defer(loop, &u->now, on_now, u)) >= 0)
		sd_event_source_set_enabled(u->now, SD_EVENT_OFF);
	if (r < 0) {
		sx_upstream_free(u);
		return log_error_errno(r, "cannot create the upstream timer");
	}
	sd_event_source_set_enabled(u->timer, SD_EVENT_OFF);
	curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
	curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
	/* Keep enough idle connections to a provider for bursts of calls. */
	curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 1024L);
	*ret = u;
	return 0;
}

void sx_upstream_free(struct sx_upstream *u)
{
	if (!u)
		return;
	if (u->multi)
		curl_multi_cleanup(u->multi);
	sd_event_source_disable_unref(u->timer);
	sd_event_source_disable_unref(u->now);
	free(u);
}

int sx_upstream_add(struct sx_upstream *u, CURL *easy, sx_upstream_done_fn done, void *data)
{
	struct transfer *t = calloc(1, sizeof(*t));
	CURLMcode mc;

	if (!t)
		return -ENOMEM;
	t->done = done;
	t->data = data;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	mc = curl_multi_add_handle(u->multi, easy);
	if (mc != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(t);
		return log_error_errno(-EIO, "cannot start an upstream request: %s", curl_multi_strerror(mc));
	}
	return 0;
}

void sx_upstream_cancel(struct sx_upstream *u, CURL *easy)
{
	struct transfer *t = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
	curl_multi_remove_handle(u->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(t);
}

void sx_upstream_kick(struct sx_upstream *u)
{
	action(u, CURL_SOCKET_TIMEOUT, 0);
}
