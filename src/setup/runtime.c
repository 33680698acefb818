/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * runtime.c - build and remove an instance's network from config.json.
 *
 * Order matters for safety: the sandbox-side nftables table is in place
 * before the veth carries traffic, and IPv6 is off in the namespace before
 * the sandbox end of the veth exists (new interfaces copy "default").
 */
#include "../lib/log.h"
#include "../lib/netaddr.h"
#include "../lib/paths.h"
#include "../lib/util.h"
#include "actions.h"
#include "hostres.h"
#include "link.h"
#include "netns.h"
#include "nft.h"
#include "runtime.h"

#define FORWARD_SYSCTL "net.ipv4.ip_forward"
/* The kernel drops log lines from non-initial namespaces unless this is
 * on; the sandbox table's "sentrix-NAME-drop" lines need it. */
#define LOG_NETNS_SYSCTL "net.netfilter.nf_log_all_netns"
#define STALE_LINK_WAIT_MS 3000

static void nl_closep(struct nl_sock **s)
{
	sx_nl_close(*s);
}
#define _cleanup_nl_ _cleanup_(nl_closep)

/* Writes a sysctl inside the namespace fd (sysctls under net/ belong to the
 * network namespace of the task that opens them). */
static int ns_sysctl(int nsfd, const char *key, const char *value)
{
	_cleanup_close_ int saved = -EBADF;
	char cur[32];
	int r;

	r = sx_netns_enter(nsfd, &saved);
	if (r < 0)
		return r;
	if (sx_sysctl_read(key, cur, sizeof(cur)) < 0 || !streq(cur, value))
		r = sx_sysctl_write(key, value);
	int r2 = sx_netns_leave(&saved);
	return r < 0 ? r : r2;
}

static void nftp(struct sx_nft **n)
{
	sx_nft_close(*n);
}
#define _cleanup_nft_ _cleanup_(nftp)

/* Applies a table unless the kernel already has exactly this version
 * (re-applying would reset its counters).  fresh: the namespace was just
 * created, so there is nothing to look at. */
static int ensure_table(struct sx_nft *n, bool fresh, const char *table, const struct sx_ruleset *rs,
			unsigned *changes)
{
	struct sx_nft_state st = {0};
	int r;

	if (!fresh) {
		r = sx_nft_inspect(n, table, &st);
		if (r < 0)
			return r;
		if (st.present && streq(st.tag, rs->tag) && st.rules == rs->rules)
			return 0;
	}
	(*changes)++;
	return sx_nft_apply(n, table, rs);
}

/* Returns 1 when it created the namespace, 0 when it was there. */
static int ensure_netns(const struct sx_config *c, unsigned *changes)
{
	_cleanup_nl_ struct nl_sock *sk = NULL;
	int r;

	if (sx_netns_mounted(c->netns_path))
		return 0;
	/* A veth whose namespace was just removed is reaped by the kernel in
	 * the background; wait for it rather than fail with "File exists". */
	r = sx_nl_open(-1, &sk);
	if (r < 0)
		return r;
	if (sx_link_index(sk, c->host_ifname) > 0 &&
	    sx_link_wait_gone(c->host_ifname, STALE_LINK_WAIT_MS) < 0) {
		/* Not going away by itself: it is a leftover of ours (the
		 * name sx-NAME is sentrix's), delete it. */
		r = sx_link_delete(sk, c->host_ifname);
		if (r < 0)
			return log_error_errno(r, "cannot remove stale interface %s", c->host_ifname);
	}
	r = sx_netns_create(c->netns_path);
	if (r < 0 && r != -EEXIST)
		return log_error_errno(r, "cannot create network namespace %s", c->netns_path);
	(*changes)++;
	return 1;
}

int sx_runtime_up(const struct sx_config *c, const struct sx_policy *p, unsigned *changes)
{
	_cleanup_nl_ struct nl_sock *host = NULL, *ns = NULL;
	_cleanup_nft_ struct sx_nft *nft_ns = NULL, *nft_host = NULL;
	_cleanup_close_ int nsfd = -EBADF;
	struct sx_ruleset host_rs = {0}, ns_rs = {0};
	_cleanup_free_ char *v6key = NULL;
	uint32_t host_ip, sandbox_ip;
	bool fresh;
	int r;

	if (sx_ipv4_parse(c->host_ip, &host_ip) < 0 || sx_ipv4_parse(c->sandbox_ip, &sandbox_ip) < 0)
		return log_error_errno(-EINVAL, "config.json holds a bad address");
	r = sx_host_dir_acquire(SX_NETNS_DIR, 0755, c->name);
	if (r < 0)
		return r;
	r = ensure_netns(c, changes);
	if (r < 0)
		return r;
	fresh = r > 0;
	sx_checkpoint();
	nsfd = sx_netns_open(c->netns_path);
	if (nsfd < 0)
		return log_error_errno(nsfd, "cannot open %s", c->netns_path);

	/* Inside first: no IPv6, and the allowlist table, before any link. */
	if ((r = ns_sysctl(nsfd, "net.ipv6.conf.all.disable_ipv6", "1")) < 0 ||
	    (r = ns_sysctl(nsfd, "net.ipv6.conf.default.disable_ipv6", "1")) < 0)
		return r;
	r = sx_nft_render_sandbox(c, p, &ns_rs);
	if (r == 0)
		r = sx_nft_open(nsfd, &nft_ns);
	if (r == 0)
		r = ensure_table(nft_ns, fresh, c->nft_sandbox_table, &ns_rs, changes);
	sx_ruleset_clear(&ns_rs);
	if (r < 0)
		return r;

	if ((r = sx_nl_open(-1, &host)) < 0 || (r = sx_nl_open(nsfd, &ns)) < 0)
		return r;
	if (sx_link_index(host, c->host_ifname) <= 0) {
		/* A half-made pair (crash) can leave the peer behind alone. */
		(void)sx_link_delete(ns, c->sandbox_ifname);
		r = sx_veth_create(host, c->host_ifname, c->sandbox_ifname, nsfd);
		if (r < 0)
			return log_error_errno(r, "cannot create veth pair %s/%s", c->host_ifname,
					       c->sandbox_ifname);
		(*changes)++;
		sx_checkpoint();
	}
	v6key = sx_strdupf("net.ipv6.conf.%s.disable_ipv6", c->host_ifname);
	if (!v6key)
		return -ENOMEM;
	(void)sx_sysctl_write(v6key, "1"); /* per-link, dies with the link */
	if ((r = sx_addr_add(host, c->host_ifname, host_ip, c->prefix_len)) < 0 ||
	    (r = sx_link_set_up(host, c->host_ifname)) < 0)
		return log_error_errno(r, "cannot configure %s", c->host_ifname);
	if ((r = sx_link_set_up(ns, "lo")) < 0 ||
	    (r = sx_addr_add(ns, c->sandbox_ifname, sandbox_ip, c->prefix_len)) < 0 ||
	    (r = sx_link_set_up(ns, c->sandbox_ifname)) < 0 ||
	    (r = sx_route_add_default(ns, c->sandbox_ifname, host_ip)) < 0)
		return log_error_errno(r, "cannot configure %s inside %s", c->sandbox_ifname, c->netns_path);

	r = sx_nft_open(-1, &nft_host);
	if (r < 0)
		return r;
	if (c->host_networking) {
		r = sx_nft_render_host(c, p, &host_rs);
		if (r == 0)
			r = ensure_table(nft_host, false, c->nft_host_table, &host_rs, changes);
		sx_ruleset_clear(&host_rs);
		if (r < 0)
			return r;
		sx_checkpoint();
	} else if ((r = sx_nft_delete(nft_host, c->nft_host_table)) < 0)
		return r;

	/* Only the initial network namespace has this sysctl: inside a
	 * container (nspawn --private-network, LXC) there is nothing to set. */
	if (access("/proc/sys/net/netfilter/nf_log_all_netns", F_OK) == 0 &&
	    (r = sx_host_sysctl_acquire(LOG_NETNS_SYSCTL, "1", c->name)) < 0)
		return r;
	/* Routing for the sandbox only when the policy routes anything. */
	if (sx_policy_routes(p, c->dns_mode))
		r = sx_host_sysctl_acquire(FORWARD_SYSCTL, "1", c->name);
	else
		r = sx_host_sysctl_release(FORWARD_SYSCTL, c->name);
	return r;
}

int sx_runtime_down(const struct sx_config *c, bool final)
{
	_cleanup_nft_ struct sx_nft *nft = NULL;
	int r;

	r = sx_nft_open(-1, &nft);
	if (r == 0)
		r = sx_nft_delete(nft, c->nft_host_table);
	if (r < 0)
		return r;
	r = sx_host_sysctl_release(FORWARD_SYSCTL, c->name);
	if (r == 0)
		r = sx_host_sysctl_release(LOG_NETNS_SYSCTL, c->name);
	if (r < 0)
		return r;
	/* Removing the namespace takes the veth with it (its sandbox end
	 * lives there); the kernel reaps the pair in the background. */
	r = sx_netns_remove(c->netns_path);
	if (r < 0)
		return r;
	if (!final)
		return 0;
	/* For good (--disable): wait until the host's link list is as it
	 * was, and let go of /run/netns, which `up` keeps between runs. */
	r = sx_link_wait_gone(c->host_ifname, STALE_LINK_WAIT_MS);
	if (r == -ETIMEDOUT) {
		_cleanup_nl_ struct nl_sock *sk = NULL;
		if ((r = sx_nl_open(-1, &sk)) == 0)
			r = sx_link_delete(sk, c->host_ifname);
	}
	if (r < 0)
		return log_error_errno(r, "cannot remove %s", c->host_ifname);
	return sx_host_dir_release(SX_NETNS_DIR, c->name);
}

void sx_runtime_state_clear(struct sx_runtime_state *st)
{
	sx_ruleset_clear(&st->want_host);
	sx_ruleset_clear(&st->want_sandbox);
}

int sx_runtime_inspect(const struct sx_config *c, const struct sx_policy *p, struct sx_runtime_state *st)
{
	_cleanup_nl_ struct nl_sock *host = NULL, *ns = NULL;
	_cleanup_nft_ struct sx_nft *nft_host = NULL, *nft_ns = NULL;
	_cleanup_close_ int nsfd = -EBADF, saved = -EBADF;
	uint32_t host_ip = 0, sandbox_ip = 0;
	int r;

	*st = (struct sx_runtime_state){0};
	(void)sx_ipv4_parse(c->host_ip, &host_ip);
	(void)sx_ipv4_parse(c->sandbox_ip, &sandbox_ip);
	if ((r = sx_nft_render_host(c, p, &st->want_host)) < 0 ||
	    (r = sx_nft_render_sandbox(c, p, &st->want_sandbox)) < 0)
		return r;
	st->forward_needed = sx_policy_routes(p, c->dns_mode);
	(void)sx_sysctl_read(FORWARD_SYSCTL, st->forward_value, sizeof(st->forward_value));
	(void)sx_sysctl_read(LOG_NETNS_SYSCTL, st->log_netns_value, sizeof(st->log_netns_value));

	r = sx_nl_open(-1, &host);
	if (r < 0)
		return r;
	st->host_link = sx_link_index(host, c->host_ifname) > 0;
	st->host_link_up = sx_link_is_up(host, c->host_ifname);
	st->host_addr = sx_addr_present(host, c->host_ifname, host_ip, c->prefix_len);
	r = sx_nft_open(-1, &nft_host);
	if (r == 0)
		r = sx_nft_inspect(nft_host, c->nft_host_table, &st->nft_host);
	if (r < 0)
		return r;

	st->netns = sx_netns_mounted(c->netns_path);
	if (!st->netns)
		return 0;
	nsfd = sx_netns_open(c->netns_path);
	if (nsfd < 0)
		return 0;
	if (sx_nl_open(nsfd, &ns) == 0) {
		st->sandbox_link = sx_link_index(ns, c->sandbox_ifname) > 0;
		st->sandbox_link_up = sx_link_is_up(ns, c->sandbox_ifname);
		st->sandbox_addr = sx_addr_present(ns, c->sandbox_ifname, sandbox_ip, c->prefix_len);
		st->lo_up = sx_link_is_up(ns, "lo");
		st->default_route = sx_route_default_present(ns, c->sandbox_ifname, host_ip);
	}
	if (sx_netns_enter(nsfd, &saved) == 0) {
		char v[8] = "";
		(void)sx_sysctl_read("net.ipv6.conf.all.disable_ipv6", v, sizeof(v));
		st->ipv6_off = streq(v, "1");
		(void)sx_netns_leave(&saved);
	}
	r = sx_nft_open(nsfd, &nft_ns);
	return r < 0 ? r : sx_nft_inspect(nft_ns, c->nft_sandbox_table, &st->nft_sandbox);
}

static bool table_matches(const struct sx_nft_state *have, const struct sx_ruleset *want)
{
	return have->present && streq(have->tag, want->tag) && have->rules == want->rules;
}

bool sx_runtime_ok(const struct sx_config *c, const struct sx_runtime_state *st)
{
	return st->netns && st->host_link && st->host_link_up && st->host_addr && st->sandbox_link &&
	    st->sandbox_link_up && st->sandbox_addr && st->lo_up && st->default_route && st->ipv6_off &&
	    table_matches(&st->nft_sandbox, &st->want_sandbox) &&
	    (c->host_networking ? table_matches(&st->nft_host, &st->want_host) : !st->nft_host.present) &&
	    (!st->forward_needed || streq(st->forward_value, "1"));
}
