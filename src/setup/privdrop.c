/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * privdrop.c - drop to the sandbox user and clear every capability set.
 *
 * The bounding set is emptied while we still hold CAP_SETPCAP; setresuid()
 * to a non-zero uid then clears permitted and effective (no KEEP_CAPS), and
 * a final capset() clears inheritable.  PR_SET_NO_NEW_PRIVS makes setuid
 * binaries and file capabilities inert for everything the command runs.
 */
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "../lib/fileio.h"
#include "../lib/log.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "privdrop.h"
#include "users.h"

/* The highest capability this kernel knows: asked of the kernel itself
 * (PR_CAPBSET_READ answers EINVAL past it), so no /proc/sys is needed
 * (the sandbox unit runs with ProcSubset=pid). */
static int last_cap(void)
{
	int cap = 0;

	while (cap < 255 && prctl(PR_CAPBSET_READ, (unsigned long)cap + 1, 0, 0, 0) >= 0)
		cap++;
	return cap;
}

/* A policy limit; 0 means unlimited.  prlimit(2), not setrlimit(2):
 * sentrix-sandbox@.service refuses the @resources system calls, which
 * include setrlimit but not prlimit64. */
static int set_limit(int resource, unsigned long value)
{
	struct rlimit rl = {.rlim_cur = value ? value : RLIM_INFINITY,
			    .rlim_max = value ? value : RLIM_INFINITY};

	return prlimit(0, resource, &rl, NULL) < 0 ? -errno : 0;
}

int sx_privdrop(const char *user, uid_t uid, gid_t gid, const struct sx_policy *p)
{
	int r;

	if (prlimit(0, RLIMIT_CORE, &(struct rlimit){0, 0}, NULL) < 0)
		return log_error_errno(-errno, "cannot set the core size limit");
	if ((r = set_limit(RLIMIT_NOFILE, p->limit_nofile)) < 0 ||
	    (r = set_limit(RLIMIT_NPROC, p->limit_nproc)) < 0 ||
	    (r = set_limit(RLIMIT_FSIZE, p->limit_fsize_mb * 1024UL * 1024UL)) < 0)
		return log_error_errno(r, "cannot set the policy's resource limits");
	return sx_privdrop_ids(user, uid, gid);
}

int sx_privdrop_ids(const char *user, uid_t uid, gid_t gid)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};
	gid_t groups[64];
	size_t ngroups = 0;
	int r;

	if ((r = sx_user_groups(user, gid, groups, ELEMENTSOF(groups), &ngroups)) < 0)
		return log_error_errno(r, "cannot read the groups of %s", user);
	if (setgroups(ngroups, groups) < 0 || setresgid(gid, gid, gid) < 0)
		return log_error_errno(-errno, "cannot take the groups of %s", user);
	for (int cap = 0, last = last_cap(); cap <= last; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return log_error_errno(-errno, "cannot drop capability %d from the bounding set",
					       cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return log_error_errno(-errno, "cannot clear the ambient capabilities");
	if (setresuid(uid, uid, uid) < 0)
		return log_error_errno(-errno, "cannot become %s", user);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return log_error_errno(-errno, "cannot clear the capability sets");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_error_errno(-errno, "cannot set no_new_privs");
	return 0;
}

static int push_kv(char ***env, const char *k, const char *v)
{
	_cleanup_free_ char *s = sx_strdupf("%s=%s", k, v);
	return s ? sx_strv_push(env, s) : -ENOMEM;
}

char **sx_sandbox_env(const struct sx_config *c, const char *user, const char *home)
{
	static const char *const passed[] = {"LANG", "TERM", "TZ"};
	/* Every third one is a NO_PROXY. */
	static const char *const proxy_vars[] = {"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
						 "https_proxy", "http_proxy", "no_proxy"};
	_cleanup_free_ char *proxy = sx_strdupf("http://%s:%u", c->host_ip, c->egress_port);
	_cleanup_free_ char *no_proxy = sx_strdupf("%s,localhost,127.0.0.1", c->host_ip);
	_cleanup_free_ char *state = sx_strdupf("%s/.openclaw", home);
	_cleanup_free_ char *config = sx_strdupf("%s/.openclaw/openclaw.json", home);
	char **env = calloc(1, sizeof(char *));

	if (!env || !proxy || !no_proxy || !state || !config)
		goto fail;
	if (push_kv(&env, "PATH", "/usr/local/bin:/usr/bin:/bin") < 0 || push_kv(&env, "HOME", home) < 0 ||
	    push_kv(&env, "USER", user) < 0 || push_kv(&env, "LOGNAME", user) < 0 ||
	    push_kv(&env, "OPENCLAW_CONFIG_PATH", config) < 0 ||
	    push_kv(&env, "OPENCLAW_STATE_DIR", state) < 0 ||
	    push_kv(&env, "OPENCLAW_LOAD_SHELL_ENV", "0") < 0)
		goto fail;
	/* Both spellings: curl reads only lower-case http_proxy, Node's
	 * libraries mostly the upper-case ones.  NO_PROXY holds host-ip so
	 * LLM calls go straight to the LLM proxy. */
	for (size_t i = 0; i < ELEMENTSOF(proxy_vars); i++)
		if (push_kv(&env, proxy_vars[i], i % 3 == 2 ? no_proxy : proxy) < 0)
			goto fail;
	for (size_t i = 0; i < ELEMENTSOF(passed); i++) {
		const char *v = getenv(passed[i]);
		if (v && push_kv(&env, passed[i], v) < 0)
			goto fail;
	}
	if (!getenv("LANG") && push_kv(&env, "LANG", "C.UTF-8") < 0)
		goto fail;
	return env;
fail:
	sx_strv_free(env);
	return NULL;
}
