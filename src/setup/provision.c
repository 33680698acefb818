/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * provision.c - the setup and --disable flows.
 *
 * Setup: lock, compute the desired state, preflight (read-only), confirm,
 * then run the steps below, each made of journalled actions.  A failure
 * undoes what this run recorded, newest first, and reports the step.
 * Disable: lock, walk the journal backwards.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "../lib/fileio.h"
#include "../lib/rulepack.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/strv.h"
#include "actions.h"
#include "bridge.h"
#include "desired.h"
#include "instance.h"
#include "lock.h"
#include "netns.h"
#include "preflight.h"
#include "provision.h"
#include "reload.h"
#include "render.h"
#include "units.h"

struct steps {
	struct sx_ctx *x;
	const char *step; /* name of the step running, for the failure message */
	uid_t uid, gateway_uid;
	gid_t gid, gateway_gid;
	char *token; /* the instance's gateway token, from the openclaw step */
};

static int step_users(struct steps *s)
{
	const struct sx_config *c = s->x->config;
	int r;

	s->step = "users";
	r = sx_act_user(s->x, c->gateway_user, true, "/nonexistent", "/usr/sbin/nologin", true,
			&s->gateway_uid, &s->gateway_gid);
	if (r == 0)
		r = sx_act_user(s->x, c->user, false, c->home, "/bin/bash", false, &s->uid, &s->gid);
	if (r == 0)
		r = sx_act_mkdir(s->x, c->home, 0750, s->uid, s->gid, true, true);
	return r;
}

/* Copies every regular file of directory src (whose names end in suffix,
 * when given) into dst, root-owned and world-readable. */
static int copy_files(struct steps *s, const char *src, const char *dst, const char *suffix)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(src);
	if (!d)
		return log_error_errno(-errno, "cannot read %s", src);
	while (r == 0 && (de = readdir(d))) {
		_cleanup_free_ char *from = NULL, *to = NULL, *text = NULL;
		size_t len, n = strlen(de->d_name);
		if (de->d_name[0] == '.' || de->d_type != DT_REG)
			continue;
		if (suffix && (n <= strlen(suffix) || strcmp(de->d_name + n - strlen(suffix), suffix) != 0))
			continue;
		from = sx_strdupf("%s/%s", src, de->d_name);
		to = sx_strdupf("%s/%s", dst, de->d_name);
		if (!from || !to)
			r = -ENOMEM;
		else if ((r = sx_read_file(from, &text, &len)) < 0)
			log_error_errno(r, "cannot read %s", from);
		else
			r = sx_act_write_file(s->x, to, text, len, 0644, 0, 0, false);
	}
	closedir(d);
	return r;
}

/* The policy template's files, and the shipped patrol rule packs in
 * policy/patrol/ beside them (root's, like the rest: the gateway reads
 * them, nobody else may change them). */
static int copy_policy(struct steps *s)
{
	const struct sx_config *c = s->x->config;
	_cleanup_free_ char *src = sx_policy_source(c->policy), *packs = sx_patrol_pack_dir(),
			    *dst = sx_strdupf("%s/patrol", c->policy_dir);
	int r;

	if (!src || !packs || !dst)
		return -ENOMEM;
	if ((r = copy_files(s, src, c->policy_dir, NULL)) < 0 ||
	    (r = sx_act_mkdir(s->x, dst, 0755, 0, 0, false, false)) < 0)
		return r;
	return copy_files(s, packs, dst, ".json");
}

static int step_instance_dir(struct steps *s)
{
	const struct sx_config *c = s->x->config;
	_cleanup_cjson_ cJSON *j = NULL;
	_cleanup_free_ char *text = NULL;
	int r;

	s->step = "instance configuration";
	j = sx_config_to_json(c);
	text = j ? sx_json_print(j) : NULL;
	if (!text)
		return -ENOMEM;
	/* /etc/sentrix/NAME stays while secrets.env (kept) is in it. */
	if ((r = sx_act_host_dir(s->x, SX_ETC_DIR, 0755, true)) < 0 ||
	    (r = sx_act_mkdir(s->x, c->etc_dir, 0755, 0, 0, false, true)) < 0 ||
	    (r = sx_act_write_file(s->x, c->config_path, text, strlen(text), 0644, 0, 0, false)) < 0 ||
	    (r = sx_act_mkdir(s->x, c->policy_dir, 0755, 0, 0, true, false)) < 0 ||
	    (r = copy_policy(s)) < 0 ||
	    (r = sx_act_ensure_file(s->x, c->secrets_path, 0600, s->gateway_uid, s->gateway_gid, true)) < 0 ||
	    (r = sx_act_host_dir(s->x, SX_LOG_DIR, 0755, true)) < 0 ||
	    (r = sx_act_mkdir(s->x, c->log_dir, 0750, s->gateway_uid, s->gateway_gid, true, true)) < 0)
		return r;
	return 0;
}

/* The browser bridge's device key and directory (bridge.c), the gateway
 * user's: made whether or not a bridge port is set, so `sentrix sandbox
 * pair` can turn the bridge on later. */
static int step_bridge(struct steps *s)
{
	s->step = "bridge device key and directory";
	return sx_act_bridge(s->x, s->gateway_uid, s->gateway_gid);
}

static int step_network(struct steps *s)
{
	s->step = "network (netns, veth, nftables, sysctls)";
	return sx_act_runtime(s->x);
}

static int step_resolv(struct steps *s)
{
	const struct sx_config *c = s->x->config;
	_cleanup_free_ char *dir = sx_strdupf(SX_NETNS_ETC_DIR "/%s", c->name), *text = NULL;
	int r;

	s->step = "resolv.conf";
	if (!dir)
		return -ENOMEM;
	if ((r = sx_render_resolv(c, &text)) < 0 ||
	    (r = sx_act_host_dir(s->x, SX_NETNS_ETC_DIR, 0755, false)) < 0 ||
	    (r = sx_act_mkdir(s->x, dir, 0755, 0, 0, false, false)) < 0)
		return r;
	return sx_act_write_file(s->x, c->resolv_conf, text, strlen(text), 0644, 0, 0, false);
}

static int step_openclaw(struct steps *s)
{
	s->step = "openclaw.json patch";
	free(s->token);
	s->token = NULL;
	return sx_act_openclaw(s->x, s->uid, s->gid, &s->token);
}

/* The token OpenClaw sends (gateway.auth.token, and the API key of every
 * provider), for the gateway user alone: the gateway accepts the
 * sandbox's LLM calls only with it.  The token alone, no newline. */
static int step_token(struct steps *s)
{
	const struct sx_config *c = s->x->config;

	s->step = "gateway token";
	return sx_act_write_file(s->x, c->token_path, s->token, strlen(s->token), 0600, s->gateway_uid,
				 s->gateway_gid, false);
}

static int step_units(struct steps *s)
{
	s->step = "systemd units";
	return sx_act_units(s->x);
}

static int write_rendered(struct steps *s, const char *template, const char *file, mode_t mode)
{
	_cleanup_free_ char *text = NULL, *path = sx_strdupf("%s/%s", s->x->config->home, file);
	int r;

	if (!path)
		return -ENOMEM;
	r = sx_render_template(template, s->x->config, &text);
	if (r < 0)
		return r;
	return sx_act_write_file(s->x, path, text, strlen(text), mode, s->uid, s->gid, false);
}

static int step_launchers(struct steps *s)
{
	int r;

	s->step = "launcher scripts";
	if ((r = write_rendered(s, "run-sandbox.sh", "run-sandbox.sh", 0755)) < 0 ||
	    (r = write_rendered(s, "pair.sh", "pair.sh", 0755)) < 0)
		return r;
	return write_rendered(s, "bashrc", ".bashrc", 0644);
}

static int run_steps(struct steps *s)
{
	int (*const steps[])(struct steps *) = {step_users,   step_instance_dir, step_bridge,
						step_network, step_resolv,	 step_openclaw,
						step_token,   step_units,	 step_launchers};
	int r = 0;

	/* A step may return a positive count (units: jobs started): go on. */
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(steps); i++)
		r = steps[i](s);
	free(s->token);
	s->token = NULL;
	return r < 0 ? r : 0;
}

static int confirm(const struct sx_options *o, const char *what)
{
	char answer[16];

	if (o->non_interactive || o->dry_run)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		log_error("%s changes this host and asks for confirmation first, but there is no terminal to "
			  "ask on: pass --non-interactive",
			  what);
		return -EINVAL;
	}
	fprintf(stderr, "Proceed? [y/N] ");
	if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
		log_error("aborted; nothing was changed");
		return -ECANCELED;
	}
	return 0;
}

static int open_journal(const struct sx_config *c, bool create, struct sx_journal **j)
{
	if (create) {
		if (mkdir(SX_STATE_DIR, 0755) < 0 && errno != EEXIST)
			return log_error_errno(-errno, "cannot create " SX_STATE_DIR);
		if (mkdir(c->state_dir, 0700) < 0 && errno != EEXIST)
			return log_error_errno(-errno, "cannot create %s", c->state_dir);
	}
	return sx_journal_open(c->journal_path, create, j);
}

/* Removes the journal and its directory once nothing is left in it. */
static void drop_journal(struct sx_journal *j, const struct sx_config *c)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};

	if (j && sx_journal_count(j) != 0) {
		sx_journal_close(j);
		return;
	}
	sx_journal_close(j);
	for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
		_cleanup_free_ char *p = sx_strdupf("%s%s", c->journal_path, suffixes[i]);
		if (p)
			(void)unlink(p);
	}
	(void)rmdir(c->state_dir);
	(void)rmdir(SX_STATE_DIR); /* only when empty: host.json keeps it */
}

static void print_result_json(const struct sx_config *c, bool ok, bool changed, const char *error)
{
	_cleanup_cjson_ cJSON *j = cJSON_CreateObject();
	_cleanup_free_ char *text = NULL;

	cJSON_AddStringToObject(j, "name", c->name);
	cJSON_AddBoolToObject(j, "ok", ok);
	cJSON_AddBoolToObject(j, "changed", changed);
	if (error)
		cJSON_AddStringToObject(j, "error", error);
	cJSON_AddItemToObject(j, "config", sx_config_to_json(c));
	text = sx_json_print(j);
	if (text)
		fputs(text, stdout);
}

int sx_setup_main(const struct sx_options *o)
{
	_cleanup_config_ struct sx_config *current = NULL, *want = NULL;
	_cleanup_policy_ struct sx_policy *policy = NULL;
	_cleanup_free_ char *why = NULL;
	_cleanup_close_ int lock = -EBADF;
	struct sx_ctx x = {.out = o->json ? stderr : stdout};
	struct steps s = {.x = &x};
	int r;

	if (!o->dry_run) {
		lock = sx_lock_take();
		if (lock < 0)
			return 1;
	}
	r = sx_config_load(o->name, &current, &why);
	if (r < 0 && r != -ENOENT) {
		log_error_errno(r, "instance %s has an unreadable config.json (%s); run --disable first",
				o->name, why ? why : "");
		return 1;
	}
	if (sx_desired_build(o, current, &want, &policy) < 0 || sx_preflight(want, current) < 0)
		return 1;
	x.config = want;
	x.policy = policy;

	if (o->dry_run || !o->non_interactive) {
		struct sx_ctx plan = x;
		plan.dry_run = true;
		fprintf(plan.out, "Plan for sentrix instance %s (policy %s, host %s, sandbox %s, user %s):\n",
			want->name, want->policy, want->host_ip, want->sandbox_ip, want->user);
		r = run_steps(&(struct steps){.x = &plan});
		if (r < 0)
			return 1;
		if (plan.changes == 0)
			fprintf(plan.out, "  nothing to change\n");
		if (o->dry_run) {
			if (o->json)
				print_result_json(want, true, plan.changes > 0, NULL);
			return 0;
		}
		if (plan.changes == 0) {
			fprintf(x.out, "sentrix: instance %s is already set up; nothing changed\n",
				want->name);
			return 0;
		}
		r = confirm(o, "setup");
		if (r < 0)
			return r == -EINVAL ? 2 : 1;
	}

	sx_instance_sweep(want);
	r = open_journal(want, true, &x.journal);
	if (r < 0) {
		log_error_errno(r, "cannot open the rollback journal %s", want->journal_path);
		/* what open_journal() made, when nothing is in it */
		(void)rmdir(want->state_dir);
		(void)rmdir(SX_STATE_DIR);
		return 1;
	}
	fprintf(x.out, "Setting up sentrix instance %s:\n", want->name);
	r = run_steps(&s);
	if (r < 0) {
		log_error("setup of %s failed at step \"%s\"; rolling back", want->name, s.step);
		x.purge = true;
		if (current)
			log_error(
			    "the instance existed before this run; its previous pieces stay as they are. "
			    "Fix the cause and run setup again, or --disable");
		else if (sx_undo_all(&x) == 0)
			log_error("rolled back: the host is as it was before this setup");
		drop_journal(x.journal, want);
		if (o->json)
			print_result_json(want, false, true, s.step);
		return 1;
	}
	sx_journal_close(x.journal);
	if (o->json)
		print_result_json(want, true, x.changes > 0, NULL);
	if (x.changes == 0) {
		fprintf(x.out, "sentrix: instance %s is already set up; nothing changed\n", want->name);
		return 0;
	}
	fprintf(x.out,
		"sentrix: instance %s is set up: policy %s, sandbox %s on %s, host side %s on %s.\n"
		"Check it with: sentrix sandbox status --name %s\n",
		want->name, want->policy, want->sandbox_ip, want->sandbox_ifname, want->host_ip,
		want->host_ifname, want->name);
	/* A running gateway re-reads config.json and the policy (domains,
	 * ports, resolvers). */
	sx_gateway_reload(want, x.out, true);
	return 0;
}

int sx_disable_main(const struct sx_options *o)
{
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_free_ char *why = NULL;
	_cleanup_close_ int lock = -EBADF;
	struct sx_ctx x = {.out = o->json ? stderr : stdout, .purge = o->purge, .dry_run = o->dry_run};
	int r;

	lock = sx_lock_take();
	if (lock < 0)
		return 1;
	r = sx_config_load(o->name, &c, &why);
	if (r < 0) {
		c = calloc(1, sizeof(*c));
		if (!c || sx_config_init_paths(c, o->name) < 0)
			return 1;
	}
	x.config = c;
	r = open_journal(c, false, &x.journal);
	if (r == -ENOENT) {
		if (sx_path_exists(c->config_path)) {
			log_error(
			    "instance %s has a config.json but no rollback journal (%s); remove it by hand",
			    o->name, c->journal_path);
			return 1;
		}
		(void)rmdir(c->state_dir); /* an empty one from a run killed at once */
		fprintf(x.out, "sentrix: there is no instance %s here; nothing to do\n", o->name);
		if (o->json)
			printf("{\"name\":\"%s\",\"ok\":true,\"changed\":false}\n", o->name);
		return 0;
	}
	if (r < 0) {
		log_error_errno(r, "cannot open the rollback journal %s", c->journal_path);
		return 1;
	}
	if (!o->non_interactive || o->dry_run) {
		fprintf(x.out, "Rolling back sentrix instance %s%s: %d journalled change(s)%s\n", o->name,
			o->purge ? " with --purge" : "", sx_journal_count(x.journal),
			o->purge ? "" : " (the sandbox user, home, secrets and logs are kept)");
		if (o->dry_run) {
			sx_journal_close(x.journal);
			return 0;
		}
		r = confirm(o, "--disable");
		if (r < 0) {
			sx_journal_close(x.journal);
			return r == -EINVAL ? 2 : 1;
		}
	}
	sx_instance_sweep(c);
	/* While OpenClaw still runs (the walk stops it): its pairing of the
	 * bridge's key, which the walk then removes. */
	sx_bridge_unpair(c, x.out);
	r = sx_undo_all(&x);
	drop_journal(x.journal, c);
	if (o->json)
		printf("{\"name\":\"%s\",\"ok\":%s,\"changed\":true}\n", o->name, r < 0 ? "false" : "true");
	if (r < 0)
		return 1;
	fprintf(x.out, "sentrix: instance %s is rolled back%s\n", o->name, o->purge ? " and purged" : "");
	return 0;
}
