/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * preflight.c - read-only checks run before setup touches the host.
 */
#include <sys/stat.h>
#include <sys/utsname.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/netaddr.h"
#include "../lib/paths.h"
#include "desired.h"
#include "link.h"
#include "netns.h"
#include "nft.h"
#include "preflight.h"
#include "users.h"

/* veth can be a module or built in; either is fine, neither is fatal. */
static bool veth_available(void)
{
	struct utsname u;
	_cleanup_free_ char *builtin = NULL, *modules = NULL, *p = NULL;

	if (sx_path_exists("/sys/module/veth"))
		return true;
	if (uname(&u) < 0)
		return true; /* cannot tell: let the kernel say */
	p = sx_strdupf("/lib/modules/%s/modules.builtin", u.release);
	if (p && sx_read_file(p, &builtin, NULL) == 0 && strstr(builtin, "/veth.ko"))
		return true;
	free(p);
	p = sx_strdupf("/lib/modules/%s/modules.dep", u.release);
	if (p && sx_read_file(p, &modules, NULL) == 0 && strstr(modules, "/veth.ko"))
		return true;
	return !sx_path_exists("/lib/modules"); /* no module tree at all: built-in kernel */
}

static int check_kernel(void)
{
	struct sx_nft_state st;
	struct sx_nft *n = NULL;
	int r;

	if (!sx_path_exists("/proc/self/ns/net"))
		return log_error_errno(-EOPNOTSUPP, "this kernel has no network namespaces (CONFIG_NET_NS)");
	if (!veth_available())
		return log_error_errno(-EOPNOTSUPP, "this kernel has no veth driver (CONFIG_VETH)");
	/* Listing a table is read-only and fails only without nf_tables. */
	r = sx_nft_open(-1, &n);
	if (r == 0)
		r = sx_nft_inspect(n, "sentrix_preflight_probe", &st);
	sx_nft_close(n);
	if (r < 0)
		return log_error_errno(-EOPNOTSUPP, "nftables is not usable here (CONFIG_NF_TABLES)");
	return 0;
}

static int check_addresses(const struct sx_config *want, const struct sx_config *current)
{
	_cleanup_free_ uint32_t *used = NULL;
	uint32_t host, sandbox, block;
	size_t n = 0;
	int r;

	if (current)
		return 0; /* identity was checked equal: the addresses are ours */
	(void)sx_ipv4_parse(want->host_ip, &host);
	(void)sx_ipv4_parse(want->sandbox_ip, &sandbox);
	block = host & ~3u;
	r = sx_used_addresses(want->name, &used, &n);
	if (r < 0)
		return log_error_errno(r, "cannot list the host's addresses");
	for (size_t i = 0; i < n; i++)
		if (sx_in_block30(used[i], block)) {
			char a[16];
			sx_ipv4_format(used[i], a);
			return log_error_errno(
			    -EADDRINUSE,
			    "%s/30 is in use (%s is on a host interface or another instance); "
			    "choose another --host-ip/--sandbox-ip pair",
			    want->host_ip, a);
		}
	return 0;
}

static int check_names(const struct sx_config *want, const struct sx_config *current)
{
	struct nl_sock *sk = NULL;
	int idx, r;

	if (current)
		return 0;
	r = sx_nl_open(-1, &sk);
	if (r < 0)
		return r;
	idx = sx_link_index(sk, want->host_ifname);
	sx_nl_close(sk);
	if (idx > 0)
		return log_error_errno(-EEXIST,
				       "interface %s already exists but instance %s is not set up "
				       "(an interrupted setup? then run `sentrix sandbox setup --disable "
				       "--name %s`; otherwise choose another --name)",
				       want->host_ifname, want->name, want->name);
	if (sx_netns_mounted(want->netns_path))
		return log_error_errno(-EEXIST,
				       "a network namespace %s exists already (an interrupted "
				       "setup? then run `sentrix sandbox setup --disable --name %s`; "
				       "otherwise choose another --name)",
				       want->netns_path, want->name);
	return 0;
}

static int check_user(const struct sx_config *want)
{
	struct sx_user u;

	if (sx_user_lookup(want->user, &u) == 0 && u.uid == 0)
		return log_error_errno(-EPERM, "--user %s has uid 0; the sandbox user must be unprivileged",
				       want->user);
	if (streq(want->user, SX_GATEWAY_USER))
		return log_error_errno(-EINVAL, "--user %s is the gateway's account; choose another name",
				       want->user);
	return 0;
}

static int check_openclaw(const struct sx_config *want)
{
	_cleanup_cjson_ cJSON *j = NULL;
	_cleanup_free_ char *why = NULL;
	int r;

	r = sx_json_load(want->openclaw_config, &j, &why);
	if (r == -ENOENT)
		return 0;
	if (r == -EINVAL)
		return log_error_errno(r,
				       "%s: %s; OpenClaw reads JSON5 but sentrix only rewrites plain "
				       "JSON, so nothing was changed: remove the comments/trailing commas "
				       "and run setup again",
				       want->openclaw_config, why ? why : "not JSON");
	if (r < 0)
		return log_error_errno(r, "cannot read %s", want->openclaw_config);
	if (!cJSON_IsObject(j))
		return log_error_errno(-EINVAL, "%s: the top level is not a JSON object",
				       want->openclaw_config);
	return 0;
}

static int check_install(void)
{
	static const char *const units[] = {"sentrix-netns@.service", "sentrix-gateway@.service",
					    "sentrix-sandbox@.service", "sentrix@.target"};
	static const char *const templates[] = {"run-sandbox.sh", "pair.sh", "bashrc", "sandbox-dropin.conf"};

	for (size_t i = 0; i < ELEMENTSOF(units); i++) {
		_cleanup_free_ char *p = sx_strdupf("%s/%s", sx_unitdir(), units[i]);
		if (p && !sx_path_exists(p))
			return log_error_errno(-ENOENT,
					       "unit %s is missing; install sentrix first (make install)", p);
	}
	for (size_t i = 0; i < ELEMENTSOF(templates); i++) {
		_cleanup_free_ char *p = sx_strdupf("%s/templates/%s", sx_datadir(), templates[i]);
		if (p && !sx_path_exists(p))
			return log_error_errno(
			    -ENOENT, "template %s is missing; install sentrix first (make install)", p);
	}
	return 0;
}

int sx_preflight(const struct sx_config *want, const struct sx_config *current)
{
	int r;

	if (current) {
		const char *what;
		if (!sx_config_same_identity(current, want, &what))
			return log_error_errno(
			    -EINVAL,
			    "instance %s is set up with another %s; run "
			    "`sentrix sandbox setup --disable --name %s` first to change it",
			    want->name, what, want->name);
	}
	if ((r = check_kernel()) < 0 || (r = check_install()) < 0 ||
	    (r = check_addresses(want, current)) < 0 || (r = check_names(want, current)) < 0 ||
	    (r = check_user(want)) < 0 || (r = check_openclaw(want)) < 0)
		return r;
	if (want->openclaw_port == want->llm_port || want->openclaw_port == want->egress_port)
		log_info("note: --openclaw-port %u equals a gateway port; they live on different addresses",
			 want->openclaw_port);
	return 0;
}
