/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * ephemeral.c - create, destroy and collect throwaway instances.
 */
#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/netaddr.h"
#include "../lib/paths.h"
#include "../lib/strv.h"
#include "desired.h"
#include "ephemeral.h"
#include "render.h"
#include "runtime.h"
#include "users.h"

/* Field 22 of /proc/PID/stat: tells a live launcher from a reused pid. */
static unsigned long long start_time(pid_t pid)
{
	_cleanup_free_ char *path = sx_strdupf("/proc/%d/stat", (int)pid), *text = NULL;
	unsigned long long t = 0;
	const char *p;

	if (!path || sx_read_file(path, &text, NULL) < 0 || !(p = strrchr(text, ')')))
		return 0;
	/* after ")": state is field 3; start time is field 22 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &t) != 1)
		return 0;
	return t;
}

static int set_paths(struct sx_config *c, const char *policy, const char *name)
{
	int r = sx_config_init_paths(c, name);

	if (r < 0)
		return r;
	free(c->etc_dir);
	free(c->config_path);
	free(c->policy_dir);
	free(c->state_dir);
	free(c->resolv_conf);
	c->etc_dir = sx_strdupf(SX_EPHEMERAL_DIR "/%s", name);
	c->config_path = sx_strdupf(SX_EPHEMERAL_DIR "/%s/config.json", name);
	c->policy_dir = sx_strdupf("%s/policy/%s", sx_datadir(), policy);
	c->state_dir = sx_strdupf(SX_EPHEMERAL_DIR "/%s", name);
	c->resolv_conf = sx_strdupf(SX_EPHEMERAL_DIR "/%s/resolv.conf", name);
	c->user = strdup(name);
	c->home = sx_strdupf("/home/%s", name);
	c->openclaw_config = sx_strdupf("/home/%s/.openclaw/openclaw.json", name);
	c->policy = strdup(policy);
	c->dns_requested = strdup("policy");
	return c->etc_dir && c->config_path && c->policy_dir && c->state_dir && c->resolv_conf && c->user &&
		c->home && c->openclaw_config && c->policy && c->dns_requested
	    ? 0
	    : -ENOMEM;
}

void sx_ephemeral_list_free(struct sx_config **v)
{
	for (size_t i = 0; v && v[i]; i++)
		sx_config_free(v[i]);
	free(v);
}

/* Reads one record: its config, launcher pid, start time and uid. */
static int load_record(const char *name, struct sx_config **c, pid_t *pid, unsigned long long *start,
		       uid_t *uid)
{
	_cleanup_free_ char *path = sx_strdupf(SX_EPHEMERAL_DIR "/%s/config.json", name), *why = NULL;
	_cleanup_cjson_ cJSON *j = NULL;
	const cJSON *e;
	int r;

	if (!path)
		return -ENOMEM;
	r = sx_json_load(path, &j, &why);
	if (r < 0)
		return r;
	e = cJSON_GetObjectItem(j, "ephemeral");
	if (!cJSON_IsObject(e))
		return -EINVAL;
	*pid = (pid_t)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "pid"));
	*start = (unsigned long long)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "start_time"));
	*uid = (uid_t)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "uid"));
	r = sx_config_from_json(j, c, &why);
	return r;
}

static int list_names(char ***ret)
{
	char **v = calloc(1, sizeof(char *));
	struct dirent *de;
	DIR *d;

	if (!v)
		return -ENOMEM;
	*ret = v;
	d = opendir(SX_EPHEMERAL_DIR);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		if (sx_name_valid(de->d_name) && sx_strv_push(ret, de->d_name) < 0) {
			closedir(d);
			return -ENOMEM;
		}
	closedir(d);
	return 0;
}

int sx_ephemeral_list(struct sx_config ***ret)
{
	char **names = NULL;
	struct sx_config **v;
	size_t n = 0;
	int r;

	r = list_names(&names);
	v = calloc(sx_strv_length(names) + 1, sizeof(*v));
	if (r < 0 || !v) {
		sx_strv_free(names);
		free(v);
		return r < 0 ? r : -ENOMEM;
	}
	for (size_t i = 0; names[i]; i++) {
		pid_t pid = 0;
		unsigned long long st = 0;
		uid_t uid = 0;
		if (load_record(names[i], &v[n], &pid, &st, &uid) == 0)
			n++;
	}
	sx_strv_free(names);
	*ret = v;
	return 0;
}

static bool uid_taken(uid_t uid)
{
	char **names = NULL;
	bool taken = false;
	struct passwd *pw;
	FILE *f;

	f = fopen("/etc/passwd", "re");
	while (f && (pw = fgetpwent(f)))
		taken = taken || pw->pw_uid == uid || pw->pw_gid == uid;
	if (f)
		fclose(f);
	if (list_names(&names) == 0)
		for (size_t i = 0; !taken && names[i]; i++) {
			_cleanup_config_ struct sx_config *c = NULL;
			unsigned long long st = 0;
			pid_t pid = 0;
			uid_t u = 0;
			if (load_record(names[i], &c, &pid, &st, &u) == 0 && u == uid)
				taken = true;
		}
	sx_strv_free(names);
	return taken;
}

static int write_record(const struct sx_config *c, uid_t uid)
{
	_cleanup_cjson_ cJSON *j = sx_config_to_json(c);
	_cleanup_free_ char *text = NULL, *resolv = NULL;
	cJSON *e;
	int r;

	if (!j)
		return -ENOMEM;
	e = cJSON_AddObjectToObject(j, "ephemeral");
	cJSON_AddNumberToObject(e, "pid", getpid());
	cJSON_AddNumberToObject(e, "start_time", (double)start_time(getpid()));
	cJSON_AddNumberToObject(e, "uid", uid);
	text = sx_json_print(j);
	if (!text || (r = sx_render_resolv(c, &resolv)) < 0)
		return -ENOMEM;
	if ((mkdir(SX_RUN_DIR, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(SX_EPHEMERAL_DIR, 0755) < 0 && errno != EEXIST) || mkdir(c->etc_dir, 0755) < 0)
		return log_error_errno(-errno, "cannot create %s", c->etc_dir);
	if ((r = sx_write_file_atomic(c->resolv_conf, resolv, strlen(resolv), 0644, 0, 0)) < 0 ||
	    (r = sx_write_file_atomic(c->config_path, text, strlen(text), 0644, 0, 0)) < 0)
		return log_error_errno(r, "cannot write the record of %s", c->name);
	return 0;
}

static void remove_record(const struct sx_config *c)
{
	(void)sx_rm_rf(c->etc_dir);
	(void)rmdir(SX_EPHEMERAL_DIR);
	(void)rmdir(SX_RUN_DIR);
}

int sx_ephemeral_create(const char *policy, struct sx_config **ret, struct sx_policy **ret_policy,
			uid_t *ret_uid)
{
	_cleanup_config_ struct sx_config *c = calloc(1, sizeof(*c));
	_cleanup_policy_ struct sx_policy *p = NULL;
	_cleanup_free_ uint32_t *used = NULL;
	unsigned char rnd[4];
	char name[12];
	uint32_t host, sandbox;
	size_t n = 0;
	unsigned changes = 0;
	uid_t uid;
	int r;

	if (!c)
		return -ENOMEM;
	if ((r = sx_policy_template_load(policy, &p)) < 0)
		return r;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return log_error_errno(-errno, "cannot draw a name");
	snprintf(name, sizeof(name), "e-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	if ((r = set_paths(c, policy, name)) < 0)
		return r;
	for (uid = SX_EPHEMERAL_UID_MIN; uid <= SX_EPHEMERAL_UID_MAX && uid_taken(uid); uid++)
		;
	if (uid > SX_EPHEMERAL_UID_MAX)
		return log_error_errno(-ENOSPC, "every transient uid %u-%u is in use", SX_EPHEMERAL_UID_MIN,
				       SX_EPHEMERAL_UID_MAX);
	if ((r = sx_used_addresses(name, &used, &n)) < 0 ||
	    (r = sx_pair_allocate(used, n, SX_POOL_BASE + 4, &host, &sandbox)) < 0)
		return log_error_errno(r, "no free /30 in 10.200.0.0/16 for an ephemeral instance");
	sx_ipv4_format(host, c->host_ip);
	sx_ipv4_format(sandbox, c->sandbox_ip);
	c->openclaw_port = 18789;
	c->llm_port = p->llm_port;
	c->egress_port = p->egress_port;
	c->health_port = 18792;
	c->host_networking = true;
	c->guardrail = true;
	c->dns_mode = p->dns_mode == SX_DNS_SERVERS ? SX_DNS_SERVERS : SX_DNS_NONE;
	c->dns_servers = calloc(1, sizeof(char *));
	for (size_t i = 0; c->dns_servers && c->dns_mode == SX_DNS_SERVERS && p->dns_servers[i]; i++)
		if (sx_strv_push(&c->dns_servers, p->dns_servers[i]) < 0)
			return -ENOMEM;
	if (p->dns_mode == SX_DNS_HOST) {
		_cleanup_free_ char *loop = NULL;
		sx_strv_free(c->dns_servers);
		c->dns_servers = NULL;
		if (sx_host_resolvers(&c->dns_servers, &loop) == 0 && c->dns_servers[0])
			c->dns_mode = SX_DNS_HOST;
	}
	if (!c->dns_servers)
		return -ENOMEM;
	/* Record first: if this process dies from here on, gc finds it. */
	if ((r = write_record(c, uid)) < 0)
		return r;
	r = sx_runtime_up(c, p, &changes);
	if (r < 0) {
		(void)sx_ephemeral_destroy(c);
		return r;
	}
	*ret = TAKE_PTR(c);
	*ret_policy = TAKE_PTR(p);
	*ret_uid = uid;
	return 0;
}

int sx_ephemeral_destroy(const struct sx_config *c)
{
	int r = sx_runtime_down(c, true);

	if (r < 0)
		return r;
	remove_record(c);
	return 0;
}

int sx_ephemeral_gc(void)
{
	char **names = NULL;
	int r, removed = 0;

	r = list_names(&names);
	for (size_t i = 0; r == 0 && names[i]; i++) {
		_cleanup_config_ struct sx_config *c = NULL;
		unsigned long long st = 0;
		pid_t pid = 0;
		uid_t uid = 0;
		r = load_record(names[i], &c, &pid, &st, &uid);
		if (r == -ENOENT) {
			/* A launcher died between creating the record's directory
			 * and writing it; nothing was brought up before that (and
			 * creators hold the lock gc runs under). */
			_cleanup_free_ char *dir = sx_strdupf(SX_EPHEMERAL_DIR "/%s", names[i]);
			if (dir)
				(void)sx_rm_rf(dir);
			(void)rmdir(SX_EPHEMERAL_DIR);
			(void)rmdir(SX_RUN_DIR);
		}
		if (r < 0) {
			r = 0;
			continue;
		}
		if (pid > 0 && kill(pid, 0) == 0 && start_time(pid) == st)
			continue; /* its launcher still runs */
		log_info("removing ephemeral instance %s left by a launcher that died", c->name);
		if (sx_ephemeral_destroy(c) == 0)
			removed++;
	}
	sx_strv_free(names);
	return r < 0 ? r : removed;
}
