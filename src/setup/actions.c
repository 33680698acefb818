/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * actions.c - journalled host changes and the undo walk.
 *
 * The pattern of every action: look at the host; if nothing needs to
 * change, say so and return; otherwise record the intent (with what undo
 * needs) in the journal, reach a checkpoint, change the host, reach another
 * checkpoint.  A row is recorded once per (kind, target), so the first
 * recorded state, the true original, survives any number of re-runs.
 */
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/safepath.h"
#include "actions.h"
#include "hostres.h"
#include "runtime.h"
#include "units.h"
#include "users.h"

void sx_ctx_say(struct sx_ctx *x, bool changed, const char *fmt, ...)
{
	va_list ap;

	if (changed)
		x->changes++;
	if (!x->out || (!changed && !x->dry_run))
		return;
	fprintf(x->out, "  %2u. %s", ++x->step, changed ? "" : "(unchanged) ");
	va_start(ap, fmt);
	vfprintf(x->out, fmt, ap);
	va_end(ap);
	fputc('\n', x->out);
}

void sx_checkpoint(void)
{
	static long count, kill_at = -1;

	if (kill_at < 0) {
		const char *e = getenv("SENTRIX_TEST_KILL_AT");
		kill_at = e ? strtol(e, NULL, 10) : 0;
	}
	if (kill_at > 0 && ++count == kill_at)
		raise(SIGKILL);
}

/* Records (kind, target) with undo data; a no-op in a dry run. */
static int record(struct sx_ctx *x, const char *kind, const char *target, cJSON *undo, const void *prior,
		  size_t prior_len, bool keep)
{
	int r;

	if (!undo)
		return -ENOMEM;
	r = sx_journal_record(x->journal, kind, target, undo, prior, prior_len, keep);
	cJSON_Delete(undo);
	if (r < 0)
		return r;
	sx_checkpoint();
	return 0;
}

int sx_act_mkdir(struct sx_ctx *x, const char *path, mode_t mode, uid_t uid, gid_t gid, bool tree, bool keep)
{
	struct stat st;
	cJSON *undo;
	int r;

	r = sx_safe_stat(path, true, &st);
	if (r == 0) {
		if (!S_ISDIR(st.st_mode))
			return log_error_errno(-ENOTDIR, "%s exists and is not a directory; move it away",
					       path);
		/* Keep ownership right on re-runs (a user created later). */
		if (!x->dry_run && (st.st_uid != uid || st.st_gid != gid) &&
		    sx_journal_get(x->journal, "dir", path, &undo) == 0) {
			cJSON_Delete(undo);
			if ((r = sx_safe_chown(path, uid, gid, (mode_t)-1)) < 0)
				return log_error_errno(r, "cannot chown %s", path);
		}
		sx_ctx_say(x, false, "directory %s exists", path);
		return 0;
	}
	if (r != -ENOENT)
		return log_error_errno(r, "cannot look at %s", path);
	sx_ctx_say(x, true, "create directory %s (mode %04o)", path, (unsigned)mode);
	if (x->dry_run)
		return 0;
	undo = cJSON_CreateObject();
	cJSON_AddBoolToObject(undo, "tree", tree);
	r = record(x, "dir", path, undo, NULL, 0, keep);
	if (r < 0)
		return r;
	r = sx_safe_mkdir(path, mode, uid, gid, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot create %s", path);
	sx_checkpoint();
	return 0;
}

int sx_act_host_dir(struct sx_ctx *x, const char *path, mode_t mode, bool keep)
{
	int r;

	if (sx_path_exists(path) && x->dry_run) {
		sx_ctx_say(x, false, "directory %s exists", path);
		return 0;
	}
	if (!sx_path_exists(path))
		sx_ctx_say(x, true, "create shared directory %s", path);
	if (x->dry_run)
		return 0;
	r = record(x, "hostdir", path, cJSON_CreateObject(), NULL, 0, keep);
	if (r < 0)
		return r;
	r = sx_host_dir_acquire(path, mode, x->config->name);
	sx_checkpoint();
	return r;
}

static cJSON *file_undo(bool existed, const struct stat *st)
{
	cJSON *u = cJSON_CreateObject();

	cJSON_AddBoolToObject(u, "existed", existed);
	if (existed) {
		cJSON_AddNumberToObject(u, "mode", st->st_mode & 07777);
		cJSON_AddNumberToObject(u, "uid", st->st_uid);
		cJSON_AddNumberToObject(u, "gid", st->st_gid);
	}
	return u;
}

int sx_act_write_file(struct sx_ctx *x, const char *path, const char *data, size_t len, mode_t mode,
		      uid_t uid, gid_t gid, bool keep)
{
	_cleanup_free_ char *prior = NULL;
	size_t prior_len = 0;
	struct stat st;
	bool existed;
	int r;

	r = sx_safe_stat(path, false, &st);
	if (r < 0 && r != -ENOENT)
		return log_error_errno(r, "cannot write %s; move what is there away and run again", path);
	existed = r == 0;
	if (existed && !S_ISREG(st.st_mode))
		return log_error_errno(-EEXIST, "%s exists and is not a regular file; move it away", path);
	if (existed && (st.st_mode & 07777) == mode && st.st_uid == uid && st.st_gid == gid &&
	    sx_file_has_content(path, data, len)) {
		sx_ctx_say(x, false, "%s is up to date", path);
		return 0;
	}
	sx_ctx_say(x, true, "%s %s", existed ? "update" : "write", path);
	if (x->dry_run)
		return 0;
	if (existed) {
		r = sx_safe_read(path, SX_MANAGED_FILE_MAX, &prior, &prior_len, NULL);
		if (r < 0)
			return log_error_errno(r, "cannot read %s", path);
	}
	r = record(x, "file", path, file_undo(existed, &st), existed ? prior : NULL, prior_len, keep);
	if (r < 0)
		return r;
	r = sx_write_file_atomic(path, data, len, mode, uid, gid);
	if (r < 0)
		return log_error_errno(r, "cannot write %s", path);
	sx_checkpoint();
	return 0;
}

int sx_act_ensure_file(struct sx_ctx *x, const char *path, mode_t mode, uid_t uid, gid_t gid, bool keep)
{
	struct stat st;
	int r;

	r = sx_safe_stat(path, false, &st);
	if (r == 0) {
		if (!S_ISREG(st.st_mode))
			return log_error_errno(-EEXIST, "%s exists and is not a regular file; move it away",
					       path);
		if (!x->dry_run && (st.st_uid != uid || st.st_gid != gid || (st.st_mode & 07777) != mode)) {
			/* Owner and mode are part of the contract (a secret
			 * file readable by others is a leak): repair them. */
			if ((r = sx_safe_chown(path, uid, gid, mode)) < 0)
				return log_error_errno(r, "cannot set owner and mode of %s", path);
			sx_ctx_say(x, true, "repair owner and mode of %s", path);
			return 0;
		}
		sx_ctx_say(x, false, "%s exists (content kept)", path);
		return 0;
	}
	if (r != -ENOENT)
		return log_error_errno(r, "cannot look at %s", path);
	return sx_act_write_file(x, path, "", 0, mode, uid, gid, keep);
}

/* readlink() of path's last component through its directory; -EINVAL
 * when it is not a link. */
static int read_link(const char *path, char *buf, size_t size)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	ssize_t n;
	int r;

	r = sx_parent_open(path, false, &p);
	if (r < 0)
		return r;
	n = readlinkat(p.dfd, p.name, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

int sx_act_symlink(struct sx_ctx *x, const char *path, const char *target)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	char buf[4096];
	cJSON *undo;
	int r, had;

	had = read_link(path, buf, sizeof(buf));
	if (had == 0 && streq(buf, target)) {
		sx_ctx_say(x, false, "link %s -> %s exists", path, target);
		return 0;
	}
	if (had < 0 && had != -ENOENT)
		return log_error_errno(-EEXIST, "%s exists and is not a symlink; move it away", path);
	sx_ctx_say(x, true, "link %s -> %s", path, target);
	if (x->dry_run)
		return 0;
	undo = cJSON_CreateObject();
	cJSON_AddStringToObject(undo, "target", target);
	r = sx_journal_record(x->journal, "symlink", path, undo, NULL, 0, false);
	/* Re-pointing a link of ours: undo must expect the new target. */
	if (r == 1)
		r = sx_journal_update(x->journal, "symlink", path, undo);
	cJSON_Delete(undo);
	if (r < 0)
		return r;
	sx_checkpoint();
	r = sx_parent_open(path, false, &p);
	if (r < 0)
		return log_error_errno(r, "cannot create link %s", path);
	if (had == 0 && unlinkat(p.dfd, p.name, 0) < 0)
		return log_error_errno(-errno, "cannot replace %s", path);
	if (symlinkat(target, p.dfd, p.name) < 0)
		return log_error_errno(-errno, "cannot create link %s", path);
	sx_checkpoint();
	return 0;
}

int sx_act_user(struct sx_ctx *x, const char *name, bool system, const char *home, const char *shell,
		bool shared, uid_t *uid, gid_t *gid)
{
	struct sx_user u;
	bool first;
	cJSON *undo;
	int r;

	r = sx_user_lookup(name, &u);
	if (r == 0) {
		if (u.uid == 0)
			return log_error_errno(
			    -EPERM, "user %s has uid 0; sentrix will not run a sandbox as root", name);
		if (!x->dry_run && shared) {
			/* Every instance takes a reference on the shared
			 * account, so the last one purged removes it - when
			 * sentrix created it (host.json knows). */
			undo = cJSON_CreateObject();
			cJSON_AddBoolToObject(undo, "shared", true);
			r = record(x, "user", name, undo, NULL, 0, true);
			if (r == 0)
				r = sx_host_ref_acquire("accounts", name, x->config->name, NULL, true,
							&first);
			if (r < 0)
				return r;
		}
		sx_ctx_say(x, false, "user %s exists (uid %u)", name, (unsigned)u.uid);
		*uid = u.uid;
		*gid = u.gid;
		return 0;
	}
	if (r != -ENOENT)
		return log_error_errno(r, "cannot read /etc/passwd");
	sx_ctx_say(x, true, "create %suser %s (home %s, shell %s)", system ? "system " : "", name, home,
		   shell);
	if (x->dry_run) {
		*uid = *gid = 0;
		return 0;
	}
	undo = cJSON_CreateObject();
	cJSON_AddBoolToObject(undo, "shared", shared);
	r = record(x, "user", name, undo, NULL, 0, true);
	if (r < 0)
		return r;
	if (shared && (r = sx_host_ref_acquire("accounts", name, x->config->name, NULL, false, &first)) < 0)
		return r;
	r = sx_user_create(name, system, home, shell, system ? "sentrix gateway" : "sentrix sandbox", &u);
	if (r < 0)
		return log_error_errno(r, "cannot create user %s", name);
	sx_checkpoint();
	*uid = u.uid;
	*gid = u.gid;
	return 0;
}

int sx_act_runtime(struct sx_ctx *x)
{
	const struct sx_config *c = x->config;
	struct sx_runtime_state st;
	cJSON *undo;
	bool ok;
	int r;

	r = sx_runtime_inspect(c, x->policy, &st);
	ok = r == 0 && sx_runtime_ok(c, &st);
	sx_runtime_state_clear(&st);
	sx_ctx_say(x, !ok,
		   "%snetwork (as `sentrix sandbox up`): netns %s, veth %s/%s, %s/%u and %s/%u, "
		   "nftables tables inet %s and inet %s (in the netns), sysctls",
		   ok ? "" : "bring up ", c->netns_path, c->host_ifname, c->sandbox_ifname, c->host_ip,
		   c->prefix_len, c->sandbox_ip, c->prefix_len, c->nft_host_table, c->nft_sandbox_table);
	if (x->dry_run)
		return 0;
	undo = cJSON_CreateObject();
	cJSON_AddItemToObject(undo, "config", sx_config_to_json(c));
	r = record(x, "runtime", c->netns_path, undo, NULL, 0, false);
	if (r < 0)
		return r;
	if (ok)
		return 0;
	/* The row may predate a policy change: keep its config current. */
	undo = cJSON_CreateObject();
	cJSON_AddItemToObject(undo, "config", sx_config_to_json(c));
	r = sx_journal_update(x->journal, "runtime", c->netns_path, undo);
	cJSON_Delete(undo);
	if (r < 0)
		return r;
	r = sx_runtime_up(c, x->policy, &(unsigned){0});
	sx_checkpoint();
	return r;
}

/* ---- undo ---- */

/* Undo of a file or directory the sandbox (or gateway) user may since
 * have replaced: a refusal (a symlink, another owner in their directory)
 * leaves it alone, so the agent cannot stop its instance's rollback. */
static int left_alone(int r, const char *path)
{
	if (r != -ELOOP && r != -EPERM)
		return r;
	log_warn("left %s as it is (not what sentrix wrote there); the rollback goes on", path);
	return 0;
}

static int undo_file(const struct sx_journal_entry *e)
{
	const cJSON *u = e->undo;
	struct stat st;
	int r;

	/* Whatever sits there now is looked at first: only a regular file
	 * is replaced or removed. */
	r = sx_safe_stat(e->target, false, &st);
	if (r < 0 && r != -ENOENT)
		return log_error_errno(left_alone(r, e->target), "cannot look at %s", e->target);
	if (r == 0 && !S_ISREG(st.st_mode))
		return left_alone(-EPERM, e->target);
	if (!cJSON_IsTrue(cJSON_GetObjectItem(u, "existed")) || !e->prior) {
		r = sx_safe_unlink(e->target);
		return r < 0 ? log_error_errno(r, "cannot remove %s", e->target) : 0;
	}
	r = sx_write_file_atomic(e->target, e->prior, e->prior_len,
				 (mode_t)cJSON_GetObjectItem(u, "mode")->valueint,
				 (uid_t)cJSON_GetObjectItem(u, "uid")->valuedouble,
				 (gid_t)cJSON_GetObjectItem(u, "gid")->valuedouble);
	return r < 0 ? log_error_errno(left_alone(r, e->target), "cannot restore %s", e->target) : 0;
}

static int undo_dir(const struct sx_journal_entry *e)
{
	int r;

	if (cJSON_IsTrue(cJSON_GetObjectItem(e->undo, "tree")))
		r = sx_rm_rf(e->target);
	else if ((r = sx_safe_rmdir(e->target)) == -ENOTEMPTY) {
		log_info("kept %s: it holds files sentrix did not create", e->target);
		return 0;
	}
	return r < 0 ? log_error_errno(left_alone(r, e->target), "cannot remove %s", e->target) : 0;
}

/* A directory --disable keeps for what it holds (/etc/sentrix/NAME for
 * secrets.env, and /etc/sentrix itself) goes when it holds nothing: a
 * setup killed before writing secrets.env must leave no empty one. */
static bool kept_dir_empty(const struct sx_journal_entry *e)
{
	if (streq(e->kind, "hostdir"))
		return sx_dir_entries(e->target) == 0;
	return streq(e->kind, "dir") && !cJSON_IsTrue(cJSON_GetObjectItem(e->undo, "tree")) &&
	    sx_dir_entries(e->target) == 0;
}

static int undo_symlink(const struct sx_journal_entry *e)
{
	char buf[4096];

	if (read_link(e->target, buf, sizeof(buf)) < 0)
		return 0;
	if (!streq(buf, sx_json_str(e->undo, "target"))) {
		log_warn("kept %s: it no longer points where sentrix pointed it", e->target);
		return 0;
	}
	return sx_safe_unlink(e->target);
}

static int undo_user(const struct sx_journal_entry *e, const char *instance)
{
	if (cJSON_IsTrue(cJSON_GetObjectItem(e->undo, "shared"))) {
		bool last;
		int r = sx_host_ref_release("accounts", e->target, instance, &last, NULL);
		if (r < 0 || !last)
			return r;
	}
	return sx_user_delete(e->target);
}

static int undo_runtime(const struct sx_journal_entry *e)
{
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_free_ char *why = NULL;
	int r;

	r = sx_config_from_json(cJSON_GetObjectItem(e->undo, "config"), &c, &why);
	if (r < 0)
		return log_error_errno(r, "journal: runtime entry unreadable: %s", why ? why : "");
	return sx_runtime_down(c, true);
}

struct undo_walk {
	struct sx_ctx *x;
	int kept;
};

static int undo_one(const struct sx_journal_entry *e, void *userdata)
{
	struct undo_walk *w = userdata;
	struct sx_ctx *x = w->x;
	const char *instance = x->config->name;
	int r;

	if (e->keep && !x->purge && !kept_dir_empty(e)) {
		w->kept++;
		return 0;
	}
	sx_checkpoint();
	if (streq(e->kind, "file"))
		r = undo_file(e);
	else if (streq(e->kind, "dir"))
		r = undo_dir(e);
	else if (streq(e->kind, "hostdir"))
		r = sx_host_dir_release(e->target, instance);
	else if (streq(e->kind, "symlink"))
		r = undo_symlink(e);
	else if (streq(e->kind, "user"))
		r = undo_user(e, instance);
	else if (streq(e->kind, "runtime"))
		r = undo_runtime(e);
	else if (streq(e->kind, "openclaw"))
		r = sx_openclaw_undo(e);
	else if (streq(e->kind, "units"))
		r = sx_units_undo(e);
	else
		r = log_error_errno(-EINVAL, "journal: unknown action kind %s", e->kind);
	if (r < 0)
		return log_error_errno(r, "undo of %s %s failed; fix the cause and run --disable again",
				       e->kind, e->target);
	if (x->out)
		fprintf(x->out, "  undone: %s %s\n", e->kind, e->target);
	r = sx_journal_remove(x->journal, e->seq);
	sx_checkpoint();
	return r;
}

int sx_undo_all(struct sx_ctx *x)
{
	struct undo_walk w = {.x = x};
	int r = sx_journal_foreach_reverse(x->journal, undo_one, &w);

	if (r == 0 && w.kept && x->out)
		fprintf(x->out,
			"  kept: %d item(s) (sandbox user, home, secrets, logs); --purge removes them\n",
			w.kept);
	return r;
}
