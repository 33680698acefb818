/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * egress.c - the egress proxy: the sandbox's only way to the web.
 *
 * A client sends `CONNECT host:port` (TLS then passes through untouched)
 * or a plain-HTTP request with an absolute URI.  The request head is parsed
 * with http-parser, then judged in this order (1-3 in egresshead.c, which
 * holds everything done with the head's bytes), each refusal answered with
 * 403 and a one-line reason:
 *
 *   1. the host is a name, not an IP literal in any spelling;
 *   2. the port is in the policy's egress.ports;
 *   3. the name matches egress.domains (allowlist.h for the rules);
 *   4. it resolves (c-ares, never blocking the loop), and
 *   5. the address we are about to connect to is not loopback, private,
 *      link-local, CGNAT, multicast or this host's own, unless the policy's
 *      egress.allow_ranges lists it.
 *
 * Step 5 judges the very address passed to connect(): there is no second
 * lookup, so a name that re-binds between check and use gains nothing.
 * Allowed requests become a tunnel (tunnel.c).  Every decision, with bytes
 * and duration once the tunnel ends, goes to egress.jsonl (egresslog.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/allowlist.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "egress.h"
#include "egresshead.h"
#include "egresslog.h"
#include "gateway.h"
#include "listen.h"
#include "resolver.h"
#include "tunnel.h"

#define MAX_CONNS 4096 /* beyond this, new connections are closed at once */
#define HEAD_TIMEOUT_USEC (30 * 1000000ULL)
#define CONNECT_TIMEOUT_USEC (10 * 1000000ULL)
#define OWN_ADDR_MAX 64
#define OWN_ADDR_REFRESH_USEC (10 * 1000000ULL)

enum phase { READING, RESOLVING, CONNECTING, RELAYING, CLOSING };

struct conn {
	struct sx_egress *eg;
	struct conn *prev, *next;
	enum phase phase;
	int cfd, ufd;
	sd_event_source *src; /* the fd of the current phase */
	sd_event_source *timer; /* head, connect or lingering-close deadline */
	uint64_t started;

	struct sx_egress_head req; /* the request head, parsed and judged (egresshead.h) */

	struct sockaddr_storage cand[SX_RESOLVE_MAX];
	size_t n_cand, next_cand;
	char address[64];
	struct sx_tunnel *tunnel;
};

struct sx_egress {
	struct sx_gateway *g;
	int lfd;
	sd_event_source *lsrc;
	struct conn *conns;
	unsigned n_conns;
	struct sockaddr_storage own[OWN_ADDR_MAX];
	size_t n_own;
	uint64_t own_at;
};

static void conn_free(struct conn *c)
{
	struct sx_egress *eg = c->eg;

	if (c->prev)
		c->prev->next = c->next;
	else
		eg->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	eg->n_conns--;
	sd_event_source_disable_unref(c->src);
	sd_event_source_disable_unref(c->timer);
	safe_close(c->cfd);
	safe_close(c->ufd);
	free(c);
}

static void audit(struct conn *c, const char *decision, const char *reason, unsigned status,
		  const struct sx_tunnel_result *res)
{
	struct sx_egress_event e = {
	    .kind = c->req.is_connect ? "connect" : "http",
	    .run_id = c->req.has_run_id ? c->req.run_id : NULL,
	    .host = c->req.host[0] ? c->req.host : NULL,
	    .port = c->req.port,
	    .address = c->address[0] ? c->address : NULL,
	    .decision = decision,
	    .reason = reason,
	    .detail = c->req.is_connect ? NULL : c->req.method,
	    .status = status,
	    .bytes_up = res ? res->bytes_up : 0,
	    .bytes_down = res ? res->bytes_down : 0,
	    .duration_ms = (sx_now_usec() - c->started) / 1000,
	};
	sx_egresslog_write(c->eg->g->egresslog, &e);
}

/* --- ending a connection: answer, then a lingering close --------------- */

static int on_linger_read(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct conn *c = data;
	char sink[4096];
	ssize_t n = read(fd, sink, sizeof(sink));

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (revents & (EPOLLERR | EPOLLHUP)))
		conn_free(c);
	return 0;
}

static int on_linger_timeout(sd_event_source *s, uint64_t usec, void *data)
{
	conn_free(data);
	return 0;
}

static const char *status_text(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 431: return "Request Header Fields Too Large";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

/* Sends a short error answer and closes gently: reading what the client
 * still sends for up to 2 s, so our answer is not lost to a reset. */
static void answer_and_close(struct conn *c, unsigned status, const char *reason)
{
	char body[600], msg[1024];
	int blen, n;

	blen = snprintf(body, sizeof(body), "sentrix egress: %s %s:%u: %s\n",
			status == 403 ? "refused" : "failed", c->req.host[0] ? c->req.host : "?", c->req.port,
			reason);
	if (blen < 0 || (size_t)blen >= sizeof(body))
		blen = (int)sizeof(body) - 1;
	n = snprintf(msg, sizeof(msg),
		     "HTTP/1.1 %u %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
		     "Connection: close\r\n\r\n%.*s",
		     status, status_text(status), blen, blen, body);
	if (n > 0)
		(void)!send(c->cfd, msg, (size_t)MIN(n, (int)sizeof(msg) - 1), MSG_NOSIGNAL);
	shutdown(c->cfd, SHUT_WR);
	c->phase = CLOSING;
	c->src = sd_event_source_disable_unref(c->src);
	c->timer = sd_event_source_disable_unref(c->timer);
	c->ufd = safe_close(c->ufd);
	if (sd_event_add_io(c->eg->g->loop, &c->src, c->cfd, EPOLLIN, on_linger_read, c) < 0 ||
	    sd_event_add_time_relative(c->eg->g->loop, &c->timer, CLOCK_MONOTONIC, 2000000ULL, 100000ULL,
				       on_linger_timeout, c) < 0)
		conn_free(c);
}

static void refuse(struct conn *c, unsigned status, const char *reason)
{
	audit(c, status == 403 ? "refused" : "failed", reason, status, NULL);
	answer_and_close(c, status, reason);
}

/* --- the tunnel -------------------------------------------------------- */

static void on_tunnel_done(void *data, const struct sx_tunnel_result *res)
{
	struct conn *c = data;

	c->cfd = c->ufd = -EBADF; /* the tunnel closed them */
	c->tunnel = NULL;
	/* The decision was "allowed"; how the tunnel ended goes in reason
	 * unless it ended normally. */
	audit(c, "allowed", streq(res->end, "closed") ? NULL : res->end, 200, res);
	conn_free(c);
}

static void start_tunnel(struct conn *c)
{
	static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	_cleanup_free_ char *rewritten = NULL;
	const char *up;
	size_t up_len;
	int cfd = c->cfd, ufd = c->ufd, one = 1, r;

	if (c->req.is_connect) {
		up = c->req.buf + c->req.head_len; /* early bytes (a TLS ClientHello) */
		up_len = c->req.len - c->req.head_len;
	} else if (!(up = rewritten = sx_egress_head_rewrite(&c->req, &up_len))) {
		refuse(c, 400, "cannot rewrite the request");
		return;
	}
	setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->src = sd_event_source_disable_unref(c->src);
	c->timer = sd_event_source_disable_unref(c->timer);
	c->cfd = c->ufd = -EBADF; /* the tunnel owns them now, even on failure */
	c->phase = RELAYING;
	r = sx_tunnel_start(c->eg->g->loop, cfd, ufd, up, up_len, c->req.is_connect ? established : NULL,
			    c->req.is_connect ? sizeof(established) - 1 : 0, !c->req.is_connect,
			    c->eg->g->policy->idle_secs, on_tunnel_done, c, &c->tunnel);
	if (r < 0) {
		log_warn_errno(r, "egress: cannot start a tunnel to %s:%u", c->req.host, c->req.port);
		audit(c, "failed", "gateway out of resources", 503, NULL);
		conn_free(c);
	}
}

/* --- connecting -------------------------------------------------------- */

static void try_connect(struct conn *c, int last_err);

static int on_connect_ready(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct conn *c = data;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0) {
		start_tunnel(c);
		return 0;
	}
	try_connect(c, err);
	return 0;
}

static int on_connect_timeout(sd_event_source *s, uint64_t usec, void *data)
{
	try_connect(data, ETIMEDOUT);
	return 0;
}

/* Connects to the next candidate address; after the last one fails,
 * answers 502 with the last error. */
static void try_connect(struct conn *c, int last_err)
{
	sd_event *loop = c->eg->g->loop;
	char reason[160];

	c->src = sd_event_source_disable_unref(c->src);
	c->timer = sd_event_source_disable_unref(c->timer);
	c->ufd = safe_close(c->ufd);
	while (c->next_cand < c->n_cand) {
		struct sockaddr_storage *ss = &c->cand[c->next_cand++];
		socklen_t alen =
		    ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

		sx_addr_format((struct sockaddr *)ss, c->address);
		c->ufd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->ufd < 0) {
			last_err = errno;
			continue;
		}
		if (connect(c->ufd, (struct sockaddr *)ss, alen) == 0 || errno == EINPROGRESS) {
			if (sd_event_add_io(loop, &c->src, c->ufd, EPOLLOUT, on_connect_ready, c) < 0 ||
			    sd_event_add_time_relative(loop, &c->timer, CLOCK_MONOTONIC, CONNECT_TIMEOUT_USEC,
						       100000ULL, on_connect_timeout, c) < 0) {
				refuse(c, 503, "gateway out of resources");
				return;
			}
			c->phase = CONNECTING;
			return;
		}
		last_err = errno;
		c->ufd = safe_close(c->ufd);
	}
	snprintf(reason, sizeof(reason), "cannot connect to %s: %s", c->address, strerror(last_err));
	refuse(c, last_err == ETIMEDOUT ? 504 : 502, reason);
}

/* --- judging the resolved addresses ------------------------------------ */

static void refresh_own_addresses(struct sx_egress *eg)
{
	struct ifaddrs *ifa = NULL;
	uint64_t now = sx_now_usec();

	if (eg->own_at && now - eg->own_at < OWN_ADDR_REFRESH_USEC)
		return;
	eg->own_at = now;
	eg->n_own = 0;
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i && eg->n_own < OWN_ADDR_MAX; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		memcpy(&eg->own[eg->n_own++], i->ifa_addr,
		       i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
							 : sizeof(struct sockaddr_in6));
	}
	freeifaddrs(ifa);
}

static bool same_address(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

/* Why this address is off limits, or NULL.  The policy's allow_ranges
 * lift the class rules (not the own-address rule for the instance's veth
 * pair: that would be a door back into the host). */
static const char *address_refusal(struct sx_egress *eg, const struct sockaddr *sa)
{
	const struct sx_config *cfg = eg->g->config;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	const char *why;

	if (inet_pton(AF_INET, cfg->sandbox_ip, &sin.sin_addr) == 1 &&
	    same_address(sa, (struct sockaddr *)&sin))
		return "the sandbox's own address";
	if (inet_pton(AF_INET, cfg->host_ip, &sin.sin_addr) == 1 && same_address(sa, (struct sockaddr *)&sin))
		return "the gateway's own address";
	for (char **r = eg->g->policy->allow_ranges; r && *r; r++) {
		struct sx_cidr cidr;
		if (sx_cidr_parse(*r, &cidr) == 0 && sx_cidr_contains(&cidr, sa))
			return NULL;
	}
	if ((why = sx_addr_special(sa)))
		return why;
	refresh_own_addresses(eg);
	for (size_t i = 0; i < eg->n_own; i++)
		if (same_address(sa, (struct sockaddr *)&eg->own[i]))
			return "an address of this host";
	return NULL;
}

static void on_resolved(void *data, int status, const struct sockaddr_storage *addrs, size_t n)
{
	struct conn *c = data;
	char reason[200] = "", addr[64];

	if (status == ARES_ECANCELLED || status == ARES_EDESTRUCTION) { /* the gateway is stopping */
		audit(c, "failed", "gateway stopping", 503, NULL);
		conn_free(c);
		return;
	}
	if (status != ARES_SUCCESS) {
		snprintf(reason, sizeof(reason), "cannot resolve the name: %s", ares_strerror(status));
		refuse(c, status == ARES_ENOTFOUND || status == ARES_ENODATA ? 502 : 504, reason);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&addrs[i];
		const char *why = address_refusal(c->eg, sa);
		if (why) {
			if (!reason[0]) {
				sx_addr_format(sa, addr);
				snprintf(reason, sizeof(reason), "resolves to %s (%s)", addr, why);
				snprintf(c->address, sizeof(c->address), "%s", addr);
			}
			continue;
		}
		c->cand[c->n_cand] = addrs[i];
		((struct sockaddr_in *)&c->cand[c->n_cand])->sin_port = htons((uint16_t)c->req.port);
		c->n_cand++;
	}
	if (c->n_cand == 0) {
		refuse(c, 403, reason[0] ? reason : "the name has no address");
		return;
	}
	c->address[0] = 0;
	try_connect(c, 0);
}

/* --- judging the request ----------------------------------------------- */

/* The gateway's own LLM proxy (egresshead.c says why it is relayed):
 * connects to it without a lookup. */
static void connect_own_llm(struct conn *c)
{
	const struct sx_config *cfg = c->eg->g->config;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->cand[0];

	memset(sin, 0, sizeof(c->cand[0]));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)cfg->llm_port);
	inet_pton(AF_INET, c->eg->g->listen_host, &sin->sin_addr); /* checked by the judge */
	c->n_cand = 1;
	c->src = sd_event_source_disable_unref(c->src);
	c->timer = sd_event_source_disable_unref(c->timer);
	try_connect(c, 0);
}

static void judge(struct conn *c)
{
	struct sx_gateway *g = c->eg->g;
	unsigned status;
	char reason[160];

	switch (sx_egress_head_judge(&c->req, g->policy, g->listen_host, g->config->llm_port, &status, reason,
				     sizeof(reason))) {
	case SX_EGRESS_REFUSE: refuse(c, status, reason); return;
	case SX_EGRESS_OWN_LLM: connect_own_llm(c); return;
	case SX_EGRESS_RESOLVE: break;
	}
	c->phase = RESOLVING;
	c->src = sd_event_source_disable_unref(c->src);
	c->timer = sd_event_source_disable_unref(c->timer);
	sx_resolver_lookup(g->resolver, c->req.host, on_resolved, c);
}

/* --- reading the request head ------------------------------------------ */

static int on_client_read(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct conn *c = data;
	ssize_t n = read(fd, c->req.buf + c->req.len, sizeof(c->req.buf) - c->req.len);
	const char *why;
	unsigned status;
	int r;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) { /* gone before finishing its request: nothing to judge */
		conn_free(c);
		return 0;
	}
	r = sx_egress_head_parse(&c->req, (size_t)n, &status, &why);
	if (r > 0)
		judge(c);
	else if (r < 0)
		refuse(c, status, why);
	return 0;
}

static int on_head_timeout(sd_event_source *s, uint64_t usec, void *data)
{
	refuse(data, 400, "no complete request within 30 s");
	return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct sx_egress *eg = data;

	for (int i = 0; i < 64; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (cfd < 0)
			return 0;
		if (eg->n_conns >= MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			close(cfd);
			continue;
		}
		c->eg = eg;
		c->cfd = cfd;
		c->ufd = -EBADF;
		c->started = sx_now_usec();
		sx_egress_head_init(&c->req);
		c->next = eg->conns;
		if (eg->conns)
			eg->conns->prev = c;
		eg->conns = c;
		eg->n_conns++;
		if (sd_event_add_io(eg->g->loop, &c->src, cfd, EPOLLIN, on_client_read, c) < 0 ||
		    sd_event_add_time_relative(eg->g->loop, &c->timer, CLOCK_MONOTONIC, HEAD_TIMEOUT_USEC,
					       1000000ULL, on_head_timeout, c) < 0)
			conn_free(c);
	}
	return 0;
}

int sx_egress_start(struct sx_gateway *g)
{
	struct sx_egress *eg = calloc(1, sizeof(*eg));
	int r;

	if (!eg)
		return -ENOMEM;
	eg->g = g;
	g->egress = eg;
	eg->lfd = sx_listen_ip(g->listen_host, g->config->egress_port, SOCK_STREAM, 1024);
	if (eg->lfd < 0)
		return log_error_errno(eg->lfd, "egress proxy: cannot listen on %s:%u", g->listen_host,
				       g->config->egress_port);
	r = sd_event_add_io(g->loop, &eg->lsrc, eg->lfd, EPOLLIN, on_accept, eg);
	if (r < 0)
		return log_error_errno(r, "egress proxy: cannot watch the listener");
	return 0;
}

void sx_egress_quiesce(struct sx_egress *eg)
{
	if (!eg)
		return;
	eg->lsrc = sd_event_source_disable_unref(eg->lsrc);
	eg->lfd = safe_close(eg->lfd);
}

void sx_egress_stop(struct sx_egress *eg)
{
	if (!eg)
		return;
	sx_egress_quiesce(eg);
	/* Lookups in flight end first: their callbacks free their conns. */
	sx_resolver_cancel(eg->g->resolver);
	while (eg->conns) {
		struct conn *c = eg->conns;
		if (c->tunnel)
			sx_tunnel_abort(c->tunnel); /* frees c through on_tunnel_done */
		else
			conn_free(c);
	}
	eg->g->egress = NULL;
	free(eg);
}

unsigned sx_egress_open(const struct sx_egress *eg)
{
	return eg ? eg->n_conns : 0;
}
