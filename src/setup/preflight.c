/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * preflight.c - read-only checks run before setup touches the host.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/netaddr.h"
#include "../lib/paths.h"
#include "../lib/safepath.h"
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

/* True when path is dir or lies below it. */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* The sandbox home becomes the sandbox user's and is mounted writable in
 * the sandbox: it must be a directory of its own, never a system one, and
 * only root may be able to replace it (its parent is root's alone). */
static int check_home(const struct sx_config *want)
{
	static const char *const system_dirs[] = {
	    "/",	 "/bin",       "/boot",	     "/dev",	  "/etc",	  "/home",
	    "/lib",	 "/lib32",     "/lib64",     "/libx32",	  "/media",	  "/mnt",
	    "/opt",	 "/proc",      "/root",	     "/run",	  "/sbin",	  "/srv",
	    "/sys",	 "/tmp",       "/usr",	     "/var",	  "/var/tmp",	  "/var/lib",
	    "/var/log",	 "/var/cache", "/var/spool", "/var/mail", "/var/backups", "/var/opt",
	    "/var/local"};
	static const char *const system_trees[] = {
	    "/bin",  "/boot", "/dev",  "/etc", "/lib", "/lib32", "/lib64",   "/libx32",	   "/proc",
	    "/root", "/run",  "/sbin", "/sys", "/tmp", "/usr",	 "/var/tmp", SX_STATE_DIR, SX_LOG_DIR};
	_cleanup_parent_ struct sx_parent parent = {.dfd = -EBADF};
	const char *home = want->home;
	struct sx_user u;
	struct stat st;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(system_dirs); i++)
		if (streq(home, system_dirs[i]))
			return log_error_errno(
			    -EINVAL,
			    "--sandbox-home %s is a system directory; give the sandbox user a "
			    "home of its own (default /home/%s)",
			    home, want->user);
	for (size_t i = 0; i < ELEMENTSOF(system_trees); i++)
		if (path_under(home, system_trees[i]))
			return log_error_errno(
			    -EINVAL,
			    "--sandbox-home %s lies under %s, a system directory; give the "
			    "sandbox user a home of its own (default /home/%s)",
			    home, system_trees[i], want->user);
	r = sx_parent_open(home, true, &parent);
	if (r == -ENOENT)
		return log_error_errno(r, "--sandbox-home %s: its parent directory does not exist", home);
	if (r < 0)
		return log_error_errno(r, "--sandbox-home %s: cannot open its parent directory", home);
	if (parent.dir.st_uid != 0 || (parent.dir.st_mode & 022))
		return log_error_errno(-EPERM,
				       "--sandbox-home %s: its parent directory belongs to uid %u or is "
				       "writable by others, who could replace the home; choose a home in a "
				       "directory only root can change (such as /home)",
				       home, (unsigned)parent.dir.st_uid);
	if (fstatat(parent.dfd, parent.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : log_error_errno(-errno, "--sandbox-home %s", home);
	if (!S_ISDIR(st.st_mode))
		return log_error_errno(-ENOTDIR, "--sandbox-home %s exists and is not a directory", home);
	if (sx_user_lookup(want->user, &u) < 0 || u.uid != st.st_uid)
		return log_error_errno(-EPERM,
				       "--sandbox-home %s exists and belongs to uid %u, not to the sandbox "
				       "user %s; choose another home (or remove that directory)",
				       home, (unsigned)st.st_uid, want->user);
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
		return log_error_errno(r, "cannot read %s; move what is there away and run setup again",
				       want->openclaw_config);
	if (!cJSON_IsObject(j))
		return log_error_errno(-EINVAL, "%s: the top level is not a JSON object",
				       want->openclaw_config);
	return 0;
}

/* The bridge's port pair is free, and its key and directory, when there,
 * are what setup can keep or replace (not a symlink or something else). */
static int check_bridge(const struct sx_config *want)
{
	_cleanup_free_ struct sx_port_use *used = NULL;
	_cleanup_free_ char *clash = NULL;
	struct stat st;
	size_t n = 0;
	int r;

	r = sx_ports_used(want->name, &used, &n);
	if (r < 0)
		return log_error_errno(r, "cannot read the other instances' config.json");
	clash = sx_bridge_clash(want, used, n);
	if (clash)
		return log_error_errno(
		    -EADDRINUSE,
		    "bridge ports %u (trust page) and %u: %s; choose another --bridge-port "
		    "(or 0 for no bridge)",
		    want->bridge_port - 1, want->bridge_port, clash);
	r = sx_safe_stat(want->device_key, false, &st);
	if (r == 0 && !S_ISREG(st.st_mode))
		return log_error_errno(-EEXIST, "%s exists and is not a regular file; move it away",
				       want->device_key);
	r = sx_safe_stat(want->bridge_dir, false, &st);
	if (r == 0 && !S_ISDIR(st.st_mode))
		return log_error_errno(-ENOTDIR, "%s exists and is not a directory; move it away",
				       want->bridge_dir);
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
	    (r = check_user(want)) < 0 || (r = check_home(want)) < 0 || (r = check_openclaw(want)) < 0 ||
	    (r = check_bridge(want)) < 0)
		return r;
	if (want->openclaw_port == want->llm_port || want->openclaw_port == want->egress_port)
		log_info("note: --openclaw-port %u equals a gateway port; they live on different addresses",
			 want->openclaw_port);
	return 0;
}
