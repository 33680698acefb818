/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * dns.c - the filtered DNS forwarder (policy egress.dns.mode "filtered").
 *
 * The sandbox's resolv.conf names host-ip; nftables lets the sandbox send
 * DNS there and nowhere else.  Here every query is parsed with ldns: a
 * question for a name the policy's egress.domains allow is forwarded as is
 * to the upstream resolvers (c-ares, resolver.c) and the answer relayed;
 * anything else gets NXDOMAIN at once (dnsmsg.c holds what is done with the
 * messages' bytes).  So names outside the allowlist
 * cannot carry data out (no DNS tunnel), and the sandbox learns only the
 * addresses of names it may reach anyway.  Every query is recorded in
 * egress.jsonl (kind "dns").
 *
 * UDP and TCP (RFC 7766: two-byte length prefix, several queries per
 * connection) on host-ip:53.  Binding port 53 needs CAP_NET_BIND_SERVICE,
 * which the unit grants and main.c drops once everything listens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/allowlist.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "dns.h"
#include "dnsmsg.h"
#include "egresslog.h"
#include "gateway.h"
#include "listen.h"
#include "resolver.h"

#define DNS_MAX 65535
#define TCP_CONNS_MAX 64
#define TCP_IDLE_USEC (10 * 1000000ULL)

struct tcp_conn;

struct sx_dns {
	struct sx_gateway *g;
	int ufd, tfd;
	sd_event_source *usrc, *tsrc;
	struct tcp_conn *tcp[TCP_CONNS_MAX];
	unsigned n_tcp;
};

struct tcp_conn {
	struct sx_dns *d;
	int fd;
	sd_event_source *src, *timer, *reap;
	unsigned pending; /* forwarded queries not answered yet */
	bool closed; /* freed when the last pending answer arrives */
	size_t len;
	uint8_t buf[2 + DNS_MAX];
};

/* One query on its way: where the answer goes and what it was. */
struct pending {
	struct sx_dns *d;
	struct tcp_conn *tcp; /* NULL: UDP */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint16_t id;
	uint16_t udp_max;
	char name[SX_HOST_MAX + 1];
	char qtype[16];
	uint64_t started;
	ldns_pkt *query; /* forwarded queries: for a SERVFAIL answer */
};

/* Frees t for good (its slot too). */
static void tcp_forget(struct tcp_conn *t)
{
	for (size_t i = 0; i < TCP_CONNS_MAX; i++)
		if (t->d->tcp[i] == t)
			t->d->tcp[i] = NULL;
	t->d->n_tcp--;
	sd_event_source_disable_unref(t->reap);
	free(t);
}

static int on_tcp_reap(sd_event_source *s, void *data)
{
	tcp_forget(data);
	return 0;
}

/* Frees t once the current callback is over (a defer source), so no
 * caller up the stack is left holding a freed connection. */
static void tcp_release(struct tcp_conn *t)
{
	if (!t->reap && sd_event_add_defer(t->d->g->loop, &t->reap, on_tcp_reap, t) < 0)
		log_warn("filtered DNS: cannot schedule freeing a TCP connection (%zu bytes leak)",
			 sizeof(*t));
}

/* Closes t; it stays allocated while forwarded queries are out. */
static void tcp_free(struct tcp_conn *t)
{
	t->src = sd_event_source_disable_unref(t->src);
	t->timer = sd_event_source_disable_unref(t->timer);
	t->fd = safe_close(t->fd);
	t->closed = true;
	if (t->pending == 0)
		tcp_release(t);
}

static void audit(struct pending *p, const char *decision, const char *reason, const char *address)
{
	struct sx_egress_event e = {
	    .kind = "dns",
	    .host = p->name[0] ? p->name : NULL,
	    .address = address,
	    .decision = decision,
	    .reason = reason,
	    .detail = p->qtype,
	    .duration_ms = (sx_now_usec() - p->started) / 1000,
	};
	sx_egresslog_write(p->d->g->egresslog, &e);
}

/* Sends wire-format answer to the query's client. */
static void reply(struct pending *p, const uint8_t *wire, size_t len)
{
	if (!p->tcp) {
		(void)!sendto(p->d->ufd, wire, len, MSG_DONTWAIT, (struct sockaddr *)&p->peer, p->peer_len);
		return;
	}
	if (p->tcp->closed)
		return;
	uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	struct iovec iov[2] = {{prefix, 2}, {(void *)wire, len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	/* Small answers into a fresh socket buffer: a short write means a
	 * client that does not read; drop it. */
	if (sendmsg(p->tcp->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)(len + 2))
		tcp_free(p->tcp);
}

/* Answers from pkt (id and size fitted to the client), then frees pkt. */
static void reply_pkt(struct pending *p, ldns_pkt *pkt)
{
	size_t len = 0;
	uint8_t *wire = sx_dns_answer_wire(pkt, p->id, p->tcp ? 0 : p->udp_max, &len);

	if (wire)
		reply(p, wire, len);
	LDNS_FREE(wire);
	ldns_pkt_free(pkt);
}

/* An answer with no records and rcode, for the question of query. */
static void reply_rcode(struct pending *p, const ldns_pkt *query, ldns_pkt_rcode rcode)
{
	ldns_pkt *a = sx_dns_question_only(query, rcode);

	if (a)
		reply_pkt(p, a);
}

static void pending_done(struct pending *p)
{
	if (p->tcp && --p->tcp->pending == 0 && p->tcp->closed)
		tcp_release(p->tcp);
	ldns_pkt_free(p->query);
	free(p);
}

static void on_upstream_answer(void *data, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct pending *p = data;
	ldns_pkt *answer = NULL;
	char addr[64];

	if (status == ARES_ECANCELLED || status == ARES_EDESTRUCTION) {
		pending_done(p);
		return;
	}
	/* c-ares reports NXDOMAIN and NODATA as errors but hands over the
	 * upstream's answer, which is relayed as it is. */
	if (!abuf || alen <= 0 || ldns_wire2pkt(&answer, abuf, (size_t)alen) != LDNS_STATUS_OK) {
		/* No usable answer (no server answered, or only with REFUSED or
		 * SERVFAIL): the client gets SERVFAIL rather than silence. */
		audit(p, "failed", ares_strerror(status), NULL);
		reply_rcode(p, p->query, LDNS_RCODE_SERVFAIL);
		pending_done(p);
		return;
	}
	sx_dns_first_address(answer, addr);
	audit(p, "allowed", status == ARES_SUCCESS ? NULL : ares_strerror(status), addr[0] ? addr : NULL);
	reply_pkt(p, answer);
	pending_done(p);
}

/* Judges one query; answers it or forwards it.  tcp is NULL for UDP. */
static void handle_query(struct sx_dns *d, struct tcp_conn *tcp, const struct sockaddr_storage *peer,
			 socklen_t peer_len, const uint8_t *wire, size_t len)
{
	struct pending *p = calloc(1, sizeof(*p));
	struct sx_dns_query q;
	enum sx_dns_verdict v;

	if (!p)
		return;
	p->d = d;
	p->tcp = tcp;
	if (peer)
		memcpy(&p->peer, peer, peer_len);
	p->peer_len = peer_len;
	p->started = sx_now_usec();
	if (tcp)
		tcp->pending++;
	v = sx_dns_judge(wire, len, d->g->policy->domains, &q);
	p->id = q.id;
	p->udp_max = q.udp_max;
	memcpy(p->name, q.name, sizeof(p->name));
	memcpy(p->qtype, q.qtype, sizeof(p->qtype));
	if (v == SX_DNS_FORWARD) {
		p->query = TAKE_PTR(q.pkt);
		sx_resolver_send(d->g->resolver, wire, (int)len, on_upstream_answer, p);
		return;
	}
	if (v == SX_DNS_ANSWER) {
		audit(p, "refused", q.reason, NULL);
		reply_rcode(p, q.pkt, q.rcode);
	}
	sx_dns_query_done(&q);
	pending_done(p);
}

static int on_udp(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct sx_dns *d = data;

	for (int i = 0; i < 32; i++) {
		uint8_t buf[4096];
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&peer, &plen);
		if (n < 0)
			return 0;
		handle_query(d, NULL, &peer, plen, buf, (size_t)n);
	}
	return 0;
}

static int on_tcp_idle(sd_event_source *s, uint64_t usec, void *data)
{
	tcp_free(data);
	return 0;
}

/* One query of a TCP connection; false once answering closed it. */
static bool tcp_query(const uint8_t *msg, size_t len, void *data)
{
	struct tcp_conn *t = data;

	handle_query(t->d, t, NULL, 0, msg, len);
	return !t->closed;
}

static int on_tcp_read(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct tcp_conn *t = data;
	ssize_t n = read(fd, t->buf + t->len, sizeof(t->buf) - t->len);
	size_t used;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		tcp_free(t);
		return 0;
	}
	t->len += (size_t)n;
	sd_event_source_set_time_relative(t->timer, TCP_IDLE_USEC);
	used = sx_dns_tcp_frames(t->buf, t->len, tcp_query, t);
	memmove(t->buf, t->buf + used, t->len - used);
	t->len -= used;
	return 0;
}

static int on_tcp_accept(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct sx_dns *d = data;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct tcp_conn *t;

	if (cfd < 0)
		return 0;
	if (d->n_tcp >= TCP_CONNS_MAX || !(t = calloc(1, sizeof(*t)))) {
		close(cfd);
		return 0;
	}
	t->d = d;
	t->fd = cfd;
	d->n_tcp++;
	for (size_t i = 0; i < TCP_CONNS_MAX; i++)
		if (!d->tcp[i]) {
			d->tcp[i] = t;
			break;
		}
	if (sd_event_add_io(d->g->loop, &t->src, cfd, EPOLLIN, on_tcp_read, t) < 0 ||
	    sd_event_add_time_relative(d->g->loop, &t->timer, CLOCK_MONOTONIC, TCP_IDLE_USEC, 1000000ULL,
				       on_tcp_idle, t) < 0)
		tcp_free(t);
	return 0;
}

int sx_dns_start(struct sx_gateway *g, unsigned port)
{
	struct sx_dns *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	d->g = g;
	d->ufd = d->tfd = -EBADF;
	g->dns = d;
	d->ufd = sx_listen_ip(g->listen_host, port, SOCK_DGRAM, 0);
	if (d->ufd >= 0)
		d->tfd = sx_listen_ip(g->listen_host, port, SOCK_STREAM, 64);
	if (d->ufd < 0 || d->tfd < 0) {
		r = d->ufd < 0 ? d->ufd : d->tfd;
		return log_error_errno(r, "filtered DNS: cannot listen on %s:%u%s", g->listen_host, port,
				       r == -EACCES
					   ? " (port 53 needs CAP_NET_BIND_SERVICE: the unit grants it; by "
					     "hand, start the gateway with setpriv --ambient-caps "
					     "+net_bind_service, see sentrix-gateway(8))"
					   : "");
	}
	if ((r = sd_event_add_io(g->loop, &d->usrc, d->ufd, EPOLLIN, on_udp, d)) < 0 ||
	    (r = sd_event_add_io(g->loop, &d->tsrc, d->tfd, EPOLLIN, on_tcp_accept, d)) < 0)
		return log_error_errno(r, "filtered DNS: cannot watch the sockets");
	return 0;
}

void sx_dns_stop(struct sx_dns *d)
{
	if (!d)
		return;
	/* Lookups were cancelled first: nothing is pending any more. */
	for (size_t i = 0; i < TCP_CONNS_MAX; i++)
		if (d->tcp[i]) {
			if (!d->tcp[i]->closed)
				tcp_free(d->tcp[i]);
			tcp_forget(d->tcp[i]);
		}
	sd_event_source_disable_unref(d->usrc);
	sd_event_source_disable_unref(d->tsrc);
	safe_close(d->ufd);
	safe_close(d->tfd);
	d->g->dns = NULL;
	free(d);
}
