/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * link.c - rtnetlink through libnl-route-3.
 *
 * The veth is created with its peer already inside the sandbox namespace
 * (IFLA_NET_NS_FD on the peer), so the peer's name "eth0" never exists in
 * the host namespace, where it would clash with the host's own eth0.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <time.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "link.h"
#include "netns.h"

static int nl_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_EXIST: return -EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV: return -ENODEV;
	case NLE_PERM: return -EPERM;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_BUSY: return -EBUSY;
	case NLE_INVAL: return -EINVAL;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_NOADDR: return -EADDRNOTAVAIL;
	default: return -EIO;
	}
}

int sx_nl_open(int netns_fd, struct nl_sock **ret)
{
	_cleanup_close_ int saved = -EBADF;
	struct nl_sock *sk;
	int r, e;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	if (netns_fd >= 0 && (r = sx_netns_enter(netns_fd, &saved)) < 0) {
		nl_socket_free(sk);
		return r;
	}
	e = nl_connect(sk, NETLINK_ROUTE);
	r = sx_netns_leave(&saved);
	if (e < 0 || r < 0) {
		nl_socket_free(sk);
		return e < 0
		    ? log_error_errno(nl_to_errno(e), "cannot open rtnetlink socket: %s", nl_geterror(e))
		    : r;
	}
	*ret = sk;
	return 0;
}

void sx_nl_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);
}

static void linkp(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}
#define _cleanup_link_ _cleanup_(linkp)

int sx_veth_create(struct nl_sock *sk, const char *host_name, const char *peer_name, int netns_fd)
{
	_cleanup_link_ struct rtnl_link *link = rtnl_link_veth_alloc();
	struct rtnl_link *peer;
	int e;

	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, host_name);
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(peer, peer_name);
	rtnl_link_set_ns_fd(peer, netns_fd);
	e = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(peer);
	if (e < 0)
		return nl_to_errno(e);
	return 0;
}

int sx_link_index(struct nl_sock *sk, const char *name)
{
	_cleanup_link_ struct rtnl_link *l = NULL;
	int e = rtnl_link_get_kernel(sk, 0, name, &l);

	if (e == -NLE_OBJ_NOTFOUND || e == -NLE_NODEV)
		return 0;
	if (e < 0)
		return nl_to_errno(e);
	return rtnl_link_get_ifindex(l);
}

bool sx_link_is_up(struct nl_sock *sk, const char *name)
{
	_cleanup_link_ struct rtnl_link *l = NULL;

	if (rtnl_link_get_kernel(sk, 0, name, &l) < 0)
		return false;
	return rtnl_link_get_flags(l) & IFF_UP;
}

int sx_link_set_up(struct nl_sock *sk, const char *name)
{
	_cleanup_link_ struct rtnl_link *l = NULL, *change = NULL;
	int e;

	e = rtnl_link_get_kernel(sk, 0, name, &l);
	if (e < 0)
		return nl_to_errno(e);
	if (rtnl_link_get_flags(l) & IFF_UP)
		return 0;
	change = rtnl_link_alloc();
	if (!change)
		return -ENOMEM;
	rtnl_link_set_flags(change, IFF_UP);
	e = rtnl_link_change(sk, l, change, 0);
	return e < 0 ? nl_to_errno(e) : 0;
}

int sx_link_delete(struct nl_sock *sk, const char *name)
{
	_cleanup_link_ struct rtnl_link *l = rtnl_link_alloc();
	int e;

	if (!l)
		return -ENOMEM;
	rtnl_link_set_name(l, name);
	e = rtnl_link_delete(sk, l);
	if (e == -NLE_OBJ_NOTFOUND || e == -NLE_NODEV)
		return 0;
	return e < 0 ? nl_to_errno(e) : 0;
}

static struct nl_addr *ipv4_nl_addr(uint32_t a, unsigned prefix)
{
	uint32_t be = htonl(a);
	struct nl_addr *na = nl_addr_build(AF_INET, &be, 4);

	if (na)
		nl_addr_set_prefixlen(na, (int)prefix);
	return na;
}

int sx_addr_add(struct nl_sock *sk, const char *ifname, uint32_t addr, unsigned prefix)
{
	struct rtnl_addr *ra;
	struct nl_addr *local;
	int ifindex, e;

	ifindex = sx_link_index(sk, ifname);
	if (ifindex <= 0)
		return ifindex < 0 ? ifindex : -ENODEV;
	if (sx_addr_present(sk, ifname, addr, prefix))
		return 0;
	ra = rtnl_addr_alloc();
	local = ipv4_nl_addr(addr, prefix);
	if (!ra || !local) {
		rtnl_addr_put(ra);
		nl_addr_put(local);
		return -ENOMEM;
	}
	rtnl_addr_set_ifindex(ra, ifindex);
	rtnl_addr_set_local(ra, local);
	e = rtnl_addr_add(sk, ra, 0);
	nl_addr_put(local);
	rtnl_addr_put(ra);
	return e < 0 ? nl_to_errno(e) : 0;
}

struct addr_walk {
	int ifindex; /* 0: every link */
	uint32_t want;
	unsigned prefix;
	bool found;
	uint32_t *list;
	size_t n;
};

static void addr_visit(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *ra = (struct rtnl_addr *)obj;
	struct addr_walk *w = arg;
	struct nl_addr *local = rtnl_addr_get_local(ra);
	uint32_t be, a;

	if (rtnl_addr_get_family(ra) != AF_INET || !local || nl_addr_get_len(local) != 4)
		return;
	if (w->ifindex && rtnl_addr_get_ifindex(ra) != w->ifindex)
		return;
	memcpy(&be, nl_addr_get_binary_addr(local), 4);
	a = ntohl(be);
	if (a == w->want && (unsigned)rtnl_addr_get_prefixlen(ra) == w->prefix)
		w->found = true;
	if (!w->ifindex) {
		uint32_t *nl = realloc(w->list, (w->n + 1) * sizeof(uint32_t));
		if (nl) {
			w->list = nl;
			w->list[w->n++] = a;
		}
	}
}

static int addr_walk(struct nl_sock *sk, struct addr_walk *w)
{
	struct nl_cache *cache = NULL;
	int e = rtnl_addr_alloc_cache(sk, &cache);

	if (e < 0)
		return nl_to_errno(e);
	nl_cache_foreach(cache, addr_visit, w);
	nl_cache_free(cache);
	return 0;
}

bool sx_addr_present(struct nl_sock *sk, const char *ifname, uint32_t addr, unsigned prefix)
{
	struct addr_walk w = {.want = addr, .prefix = prefix};

	w.ifindex = sx_link_index(sk, ifname);
	if (w.ifindex <= 0)
		return false;
	return addr_walk(sk, &w) == 0 && w.found;
}

int sx_addr_list_all(struct nl_sock *sk, uint32_t **ret, size_t *n)
{
	struct addr_walk w = {0};
	int r = addr_walk(sk, &w);

	if (r < 0) {
		free(w.list);
		return r;
	}
	*ret = w.list;
	*n = w.n;
	return 0;
}

static struct rtnl_route *default_route(int ifindex, uint32_t gw)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = ipv4_nl_addr(0, 0), *via = ipv4_nl_addr(gw, 32);

	if (!rt || !nh || !dst || !via) {
		rtnl_route_put(rt);
		rtnl_route_nh_free(nh);
		nl_addr_put(dst);
		nl_addr_put(via);
		return NULL;
	}
	rtnl_route_set_family(rt, AF_INET);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_dst(rt, dst);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_nh_set_gateway(nh, via);
	rtnl_route_add_nexthop(rt, nh);
	nl_addr_put(dst);
	nl_addr_put(via);
	return rt;
}

int sx_route_add_default(struct nl_sock *sk, const char *ifname, uint32_t gw)
{
	struct rtnl_route *rt;
	int ifindex, e;

	if (sx_route_default_present(sk, ifname, gw))
		return 0;
	ifindex = sx_link_index(sk, ifname);
	if (ifindex <= 0)
		return ifindex < 0 ? ifindex : -ENODEV;
	rt = default_route(ifindex, gw);
	if (!rt)
		return -ENOMEM;
	e = rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_route_put(rt);
	return e < 0 ? nl_to_errno(e) : 0;
}

struct route_walk {
	int ifindex;
	uint32_t gw;
	bool found;
};

static void route_nh_visit(struct rtnl_nexthop *nh, void *arg)
{
	struct route_walk *w = arg;
	struct nl_addr *via = rtnl_route_nh_get_gateway(nh);
	uint32_t be;

	if (!via || nl_addr_get_len(via) != 4 || rtnl_route_nh_get_ifindex(nh) != w->ifindex)
		return;
	memcpy(&be, nl_addr_get_binary_addr(via), 4);
	if (ntohl(be) == w->gw)
		w->found = true;
}

static void route_visit(struct nl_object *obj, void *arg)
{
	struct rtnl_route *rt = (struct rtnl_route *)obj;
	struct nl_addr *dst = rtnl_route_get_dst(rt);

	if (rtnl_route_get_family(rt) != AF_INET || rtnl_route_get_table(rt) != RT_TABLE_MAIN)
		return;
	if (dst && nl_addr_get_prefixlen(dst) != 0)
		return;
	rtnl_route_foreach_nexthop(rt, route_nh_visit, arg);
}

bool sx_route_default_present(struct nl_sock *sk, const char *ifname, uint32_t gw)
{
	struct route_walk w = {.gw = gw};
	struct nl_cache *cache = NULL;

	w.ifindex = sx_link_index(sk, ifname);
	if (w.ifindex <= 0 || rtnl_route_alloc_cache(sk, AF_INET, 0, &cache) < 0)
		return false;
	nl_cache_foreach(cache, route_visit, &w);
	nl_cache_free(cache);
	return w.found;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int link_event(struct nl_msg *msg, void *arg)
{
	(void)msg;
	*(bool *)arg = true;
	return NL_OK;
}

int sx_link_wait_gone(const char *name, int timeout_ms)
{
	struct nl_sock *sk = NULL, *ev = NULL;
	long deadline = now_ms() + timeout_ms;
	bool seen = false;
	int r;

	/* Subscribe before looking, so a removal between the look and the
	 * wait is not missed. */
	ev = nl_socket_alloc();
	if (!ev)
		return -ENOMEM;
	nl_socket_disable_seq_check(ev);
	nl_socket_modify_cb(ev, NL_CB_VALID, NL_CB_CUSTOM, link_event, &seen);
	if (nl_connect(ev, NETLINK_ROUTE) < 0 || nl_socket_add_membership(ev, RTNLGRP_LINK) < 0) {
		nl_socket_free(ev);
		return -EIO;
	}
	r = sx_nl_open(-1, &sk);
	while (r == 0) {
		struct pollfd p = {.fd = nl_socket_get_fd(ev), .events = POLLIN};
		long left;

		r = sx_link_index(sk, name);
		if (r <= 0)
			break;
		left = deadline - now_ms();
		if (left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		r = poll(&p, 1, (int)left);
		if (r < 0) {
			r = -errno;
			break;
		}
		if (r > 0)
			nl_recvmsgs_default(ev);
		r = 0;
	}
	sx_nl_close(sk);
	nl_socket_free(ev);
	return r < 0 ? r : 0;
}
