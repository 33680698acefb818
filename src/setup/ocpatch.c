/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * ocpatch.c - the journalled openclaw.json patch and its undo.
 *
 * The journal row keeps: the original bytes (prior), owner and mode, what
 * reverting sentrix's keys needs (sx_openclaw_apply's undo), the gateway token, whether
 * sentrix wrote the .bak, and a fingerprint of the bytes sentrix wrote last.
 * `sentrix provider` patches through the same row: its keys
 * (models.providers.NAME, the default model) join the undo data the first
 * time they are set, and go back to their originals when the provider is
 * removed (they are no longer desired) or the instance is disabled.
 * Undo restores the original bytes when the file is still exactly what
 * sentrix wrote; when someone edited it since, only sentrix's keys go back
 * to their original values and everything else they changed stays.
 */
#include <libgen.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/safepath.h"
#include "actions.h"
#include "openclaw.h"

static int new_token(char out[49])
{
	unsigned char b[24];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -errno;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

static bool in_array(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it) && streq(it->valuestring, s)) return true;
	return false;
}

static bool recorded(const cJSON *undo, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(undo, "values"), key) ||
	    in_array(cJSON_GetObjectItem(undo, "absent"), key);
}

/* Adds to the row's undo data what fresh knows and the row does not: a key
 * sentrix sets for the first time on a re-run (a policy change) has its
 * current value as its original. */
static void merge_undo(cJSON *row_undo, const cJSON *fresh)
{
	cJSON *values = cJSON_GetObjectItem(row_undo, "values"),
	      *absent = cJSON_GetObjectItem(row_undo, "absent"),
	      *created = cJSON_GetObjectItem(row_undo, "created");
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(fresh, "values")) if (!recorded(row_undo, it->string))
	    cJSON_AddItemToObject(values, it->string, cJSON_Duplicate(it, true));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(fresh, "absent")) if (!recorded(row_undo, it->valuestring))
	    cJSON_AddItemToArray(absent, cJSON_CreateString(it->valuestring));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(fresh, "created")) if (!in_array(created, it->valuestring))
	    cJSON_AddItemToArray(created, cJSON_CreateString(it->valuestring));
}

/* The part of the row's undo data for keys desired no longer contains
 * (--no-guardrail, a channel removed): they go back to their originals. */
static cJSON *stale_undo(const cJSON *row_undo, const cJSON *desired)
{
	cJSON *u = cJSON_CreateObject(), *values, *absent;
	const cJSON *it;

	if (!u)
		return NULL;
	values = cJSON_AddObjectToObject(u, "values");
	absent = cJSON_AddArrayToObject(u, "absent");
	cJSON_AddItemToObject(u, "created", cJSON_Duplicate(cJSON_GetObjectItem(row_undo, "created"), true));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(row_undo, "values")) if (!cJSON_GetObjectItemCaseSensitive(
										desired, it->string))
	    cJSON_AddItemToObject(values, it->string, cJSON_Duplicate(it, true));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(row_undo, "absent")) if (!cJSON_GetObjectItemCaseSensitive(
										desired, it->valuestring))
	    cJSON_AddItemToArray(absent, cJSON_CreateString(it->valuestring));
	return u;
}

static bool stale_empty(const cJSON *stale)
{
	return !cJSON_GetObjectItem(stale, "values")->child && !cJSON_GetObjectItem(stale, "absent")->child;
}

/* Forgets the stale keys, and created parents that are gone from text. */
static void forget_stale(cJSON *row_undo, const cJSON *stale, const char *text)
{
	_cleanup_cjson_ cJSON *now = cJSON_Parse(text);
	cJSON *absent = cJSON_GetObjectItem(row_undo, "absent"),
	      *created = cJSON_GetObjectItem(row_undo, "created");
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(stale, "values"))
	    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItem(row_undo, "values"), it->string);
	for (int i = cJSON_GetArraySize(absent) - 1; i >= 0; i--)
		if (in_array(cJSON_GetObjectItem(stale, "absent"),
			     cJSON_GetArrayItem(absent, i)->valuestring))
			cJSON_DeleteItemFromArray(absent, i);
	for (int i = cJSON_GetArraySize(created) - 1; i >= 0; i--)
		if (!sx_json_get_path(now, cJSON_GetArrayItem(created, i)->valuestring))
			cJSON_DeleteItemFromArray(created, i);
}

int sx_act_openclaw(struct sx_ctx *x, uid_t uid, gid_t gid, char **ret_token)
{
	const struct sx_config *c = x->config;
	_cleanup_free_ char *dir = NULL, *text = NULL, *out = NULL, *why = NULL, *bak = NULL;
	_cleanup_cjson_ cJSON *row = NULL, *current = NULL, *desired = NULL, *undo = NULL, *stale = NULL;
	const char *token;
	char fresh_token[49], fp[17];
	struct stat st, bst;
	bool existed;
	mode_t mode;
	int r;

	dir = strdup(c->openclaw_config);
	bak = sx_strdupf("%s.bak", c->openclaw_config);
	if (!dir || !bak)
		return -ENOMEM;
	r = sx_act_mkdir(x, dirname(dir), 0700, uid, gid, false, false);
	if (r < 0)
		return r;

	/* The file sits in the sandbox user's home: read through a checked
	 * descriptor (no symlink, the user's own regular file), never by name. */
	r = sx_safe_read(c->openclaw_config, SX_MANAGED_FILE_MAX, &text, NULL, &st);
	if (r < 0 && r != -ENOENT)
		return log_error_errno(r, "cannot read %s; move what is there away and run again",
				       c->openclaw_config);
	existed = r == 0;
	if (existed) {
		r = sx_json_parse(text, &current, &why);
		if (r < 0)
			return log_error_errno(r,
					       "%s: %s; sentrix keeps OpenClaw's file intact and will not "
					       "rewrite it: make it plain JSON and run setup again",
					       c->openclaw_config, why);
	}
	if (x->journal && sx_journal_get(x->journal, "openclaw", c->openclaw_config, &row) == 0)
		token = sx_json_str(row, "token");
	else {
		const cJSON *t = current ? sx_json_get_path(current, "gateway.auth.token") : NULL;
		if ((r = new_token(fresh_token)) < 0)
			return log_error_errno(r, "cannot draw a random gateway token");
		token = t && cJSON_IsString(t) && t->valuestring && *t->valuestring ? t->valuestring
										    : fresh_token;
	}
	if (ret_token && !(*ret_token = strdup(token)))
		return -ENOMEM;
	desired = sx_openclaw_desired(c, x->policy, current, token);
	if (!desired)
		return -ENOMEM;
	/* Keys set by an earlier run that the new settings no longer want
	 * (--no-guardrail, a channel removed) go back to their originals. */
	stale = row ? stale_undo(cJSON_GetObjectItem(row, "undo"), desired) : NULL;
	if (row && !stale)
		return -ENOMEM;
	if (existed && (!stale || stale_empty(stale)) &&
	    sx_openclaw_check_json(current, desired, &why) == 0) {
		sx_ctx_say(x, false, "%s carries the sentrix settings", c->openclaw_config);
		return 0;
	}
	free(why);
	why = NULL;
	r = sx_openclaw_apply(text, desired, &out, &undo, &why);
	if (r == 0 && stale && !stale_empty(stale)) {
		char *reverted = NULL;
		r = sx_openclaw_revert(out, stale, &reverted, &why);
		free(out);
		out = reverted;
		if (r == 0)
			forget_stale(cJSON_GetObjectItem(row, "undo"), stale, out);
	}
	if (r < 0)
		return log_error_errno(r, "%s: %s", c->openclaw_config, why ? why : "cannot patch");
	sx_ctx_say(x, true,
		   "%s %s: gateway on %s:%u with a token, egress proxy %s, exec %s, sandbox mode %s, "
		   "%zu LLM provider(s) through the gateway",
		   existed ? "patch" : "create", c->openclaw_config, c->sandbox_ip, c->openclaw_port,
		   c->guardrail ? "on" : "off (--no-guardrail)", x->policy->exec_security,
		   x->policy->sandbox_mode, c->n_providers);
	if (x->dry_run)
		return 0;

	if (!row) {
		row = cJSON_CreateObject();
		cJSON_AddBoolToObject(row, "existed", existed);
		cJSON_AddNumberToObject(row, "mode", existed ? st.st_mode & 07777 : 0600);
		cJSON_AddNumberToObject(row, "uid", existed ? st.st_uid : uid);
		cJSON_AddNumberToObject(row, "gid", existed ? st.st_gid : gid);
		cJSON_AddStringToObject(row, "token", token);
		cJSON_AddItemToObject(row, "undo", cJSON_Duplicate(undo, true));
		cJSON_AddBoolToObject(row, "bak_created",
				      existed && sx_safe_stat(bak, false, &bst) == -ENOENT);
		cJSON_AddStringToObject(row, "written", "");
		r = sx_journal_record(x->journal, "openclaw", c->openclaw_config, row, text,
				      text ? strlen(text) : 0, false);
		if (r < 0)
			return r;
		sx_checkpoint();
		if (text && cJSON_IsTrue(cJSON_GetObjectItem(row, "bak_created"))) {
			r = sx_write_file_atomic(bak, text, strlen(text), st.st_mode & 07777, st.st_uid,
						 st.st_gid);
			if (r < 0)
				return log_error_errno(r, "cannot write %s", bak);
		}
	} else
		merge_undo(cJSON_GetObjectItem(row, "undo"), undo);

	/* Existing files keep their owner and mode; a new one is the
	 * sandbox user's, 0600 (it holds the gateway token). */
	mode = existed ? st.st_mode & 07777 : 0600;
	sx_fingerprint(out, strlen(out), fp);
	cJSON_ReplaceItemInObject(row, "written", cJSON_CreateString(fp));
	r = sx_journal_update(x->journal, "openclaw", c->openclaw_config, row);
	if (r < 0)
		return r;
	r = sx_write_file_atomic(c->openclaw_config, out, strlen(out), mode, existed ? st.st_uid : uid,
				 existed ? st.st_gid : gid);
	if (r < 0)
		return log_error_errno(r, "cannot write %s", c->openclaw_config);
	sx_checkpoint();
	return 0;
}

/* Removes the .bak sentrix wrote (whatever sits at its name now is only
 * unlinked, never followed). */
static int remove_bak(const char *bak, bool created)
{
	int r = created ? sx_safe_unlink(bak) : 0;

	return r < 0 ? log_error_errno(r, "cannot remove %s", bak) : 0;
}

int sx_openclaw_undo(const struct sx_journal_entry *e)
{
	const cJSON *u = e->undo;
	_cleanup_free_ char *text = NULL, *out = NULL, *why = NULL, *bak = NULL;
	bool existed = cJSON_IsTrue(cJSON_GetObjectItem(u, "existed"));
	bool bak_created = cJSON_IsTrue(cJSON_GetObjectItem(u, "bak_created"));
	struct stat st;
	char fp[17];
	int r;

	bak = sx_strdupf("%s.bak", e->target);
	if (!bak)
		return -ENOMEM;
	/* In the sandbox user's home: what sits there now is the user's. A
	 * symlink, a directory or another owner's file is left alone (and
	 * so is the .bak): the agent must not be able to steer root, nor to
	 * stop its instance's rollback. */
	r = sx_safe_read(e->target, SX_MANAGED_FILE_MAX, &text, NULL, &st);
	if (r < 0 && r != -ENOENT) {
		if (existed)
			log_warn(
			    "left %s as it is: not the file sentrix patched; the pre-sentrix file is in %s",
			    e->target, bak);
		else
			log_warn("left %s as it is: not the file sentrix created", e->target);
		return 0;
	}
	if (r == 0)
		sx_fingerprint(text, strlen(text), fp);

	/* Killed between recording and writing: the original is still there. */
	if (r == 0 && existed && e->prior && strlen(text) == e->prior_len &&
	    memcmp(text, e->prior, e->prior_len) == 0)
		return remove_bak(bak, bak_created);
	if (r == -ENOENT || streq(fp, sx_json_str(u, "written"))) {
		/* As sentrix left it (or gone): put the original back exactly. */
		if (existed && e->prior)
			r = sx_write_file_atomic(e->target, e->prior, e->prior_len,
						 (mode_t)cJSON_GetObjectItem(u, "mode")->valueint,
						 (uid_t)cJSON_GetObjectItem(u, "uid")->valuedouble,
						 (gid_t)cJSON_GetObjectItem(u, "gid")->valuedouble);
		else
			r = sx_safe_unlink(e->target);
		if (r < 0)
			return log_error_errno(r, "cannot restore %s", e->target);
		return remove_bak(bak, bak_created);
	}

	/* Edited since: revert only sentrix's keys, keep the rest. */
	r = sx_openclaw_revert(text, cJSON_GetObjectItem(u, "undo"), &out, &why);
	if (r < 0) {
		log_warn("%s changed since setup and is no longer plain JSON (%s); left as it is, the "
			 "original is in %s",
			 e->target, why ? why : "?", bak);
		return 0;
	}
	r = sx_write_file_atomic(e->target, out, strlen(out), st.st_mode & 07777, st.st_uid, st.st_gid);
	if (r < 0)
		return log_error_errno(r, "cannot write %s", e->target);
	log_info("%s was edited after setup: reverted only the keys sentrix set, kept the rest "
		 "(the pre-sentrix file is in %s)",
		 e->target, bak);
	return 0;
}
