/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * httpd.c - libmicrohttpd in "external epoll" mode inside sd-event.
 *
 * Why libmicrohttpd: it parses HTTP/1.1 (chunked bodies, pipelining,
 * 100-continue) for us, hands request bodies over incrementally, streams
 * responses from a callback with suspend/resume (what a relay needs), and
 * exposes one epoll fd, so the whole gateway runs on one loop next to
 * libcurl's multi-socket interface.  Measured against nginx in bench/llm.sh.
 *
 * MHD_USE_EPOLL gives one fd that is readable whenever any listening or
 * connection socket (or the inter-thread channel that MHD_resume_connection
 * signals) needs attention; we watch it and call MHD_run(), then re-arm a
 * timer for MHD's own timeouts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "httpd.h"

/* Idle keep-alive connections and stalled clients are dropped after this;
 * suspended connections (waiting for an upstream) do not time out. */
#define SX_HTTPD_TIMEOUT_SECS 300

struct sx_httpd {
	struct MHD_Daemon *mhd;
	sd_event_source *io, *timer, *again;
	char *what;
};

static void rearm(struct sx_httpd *d)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t now;

	if (MHD_get_timeout(d->mhd, &ms) != MHD_YES) {
		sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
		return;
	}
	if (ms == 0) { /* work is pending: run again on the next loop turn */
		sd_event_source_set_enabled(d->again, SD_EVENT_ONESHOT);
		return;
	}
	sd_event_now(sd_event_source_get_event(d->timer), CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(d->timer, now + ms * 1000);
	sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

static void run(struct sx_httpd *d)
{
	MHD_run(d->mhd);
	rearm(d);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	run(data);
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *data)
{
	run(data);
	return 0;
}

static int on_again(sd_event_source *s, void *data)
{
	run(data);
	return 0;
}

void sx_httpd_kick(struct sx_httpd *d)
{
	run(d);
}

static __attribute__((format(printf, 2, 0))) void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	log_debug("%s: %s", (const char *)cls, buf);
}

static int parse_addr(const char *host, unsigned port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return AF_INET6;
	}
	return -EINVAL;
}

int sx_httpd_start(sd_event *loop, const char *what, const char *host, unsigned port,
		   const struct sx_httpd_handlers *h, struct sx_httpd **ret)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct sx_httpd *d;
	int family, r;

	family = parse_addr(host, port, &ss);
	if (family < 0)
		return log_error_errno(-EINVAL, "%s: '%s' is not an IP address to listen on", what, host);
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->what = strdup(what))) {
		free(d);
		return -ENOMEM;
	}
	struct MHD_OptionItem opts[9] = {
	    {MHD_OPTION_SOCK_ADDR, 0, &ss},
	    {MHD_OPTION_CONNECTION_TIMEOUT, SX_HTTPD_TIMEOUT_SECS, NULL},
	    {MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, NULL},
	    {MHD_OPTION_CONNECTION_LIMIT, 20000, NULL},
	    /* Per-connection buffer pool (headers, request body chunks, the
	     * response block): 16 KiB instead of 32 keeps 1000 idle streams
	     * small; request headers up to ~12 KiB still fit. */
	    {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 16 * 1024, NULL},
	    {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, d->what},
	};
	size_t n = 6;
	if (h->completed)
		opts[n++] =
		    (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)h->completed, h->cls};
	if (h->uri)
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)h->uri, h->cls};
	opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	d->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, h->access, h->cls, MHD_OPTION_ARRAY,
				  opts, MHD_OPTION_END);
	if (!d->mhd) {
		r = -errno ?: -EADDRNOTAVAIL;
		free(d->what);
		free(d);
		return log_error_errno(r,
				       "%s: cannot listen on %s:%u (is the instance up, is the port free?)",
				       what, host, port);
	}
	info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	r = sd_event_add_io(loop, &d->io, info->epoll_fd, EPOLLIN, on_io, d);
	/* What is left for the timer are connection timeouts, in seconds: a
	 * coarse accuracy lets sd-event keep its timerfd as it is when MHD's
	 * deadline moves on after every request (one syscall less each). */
	if (r >= 0)
		r = sd_event_add_time(loop, &d->timer, CLOCK_MONOTONIC, 0, 1000000, on_timer, d);
	if (r >= 0)
		r = sd_event_add_defer(loop, &d->again, on_again, d);
	if (r < 0) {
		sx_httpd_free(d);
		return log_error_errno(r, "%s: cannot watch the listener", what);
	}
	rearm(d);
	*ret = d;
	return 0;
}

void sx_httpd_quiesce(struct sx_httpd *d)
{
	int fd = MHD_quiesce_daemon(d->mhd);
	if (fd >= 0)
		close(fd);
	run(d);
}

void sx_httpd_free(struct sx_httpd *d)
{
	if (!d)
		return;
	sd_event_source_disable_unref(d->io);
	sd_event_source_disable_unref(d->timer);
	sd_event_source_disable_unref(d->again);
	if (d->mhd)
		MHD_stop_daemon(d->mhd);
	free(d->what);
	free(d);
}
