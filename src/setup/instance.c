/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * instance.c - open an existing instance for `sentrix provider` and
 * `sentrix secrets`.
 *
 * These commands change an instance setup built, so they take the same
 * host-wide lock, read the same config.json and policy, and record their
 * changes in the same rollback journal: `--disable` then undoes them with
 * everything else, and a crash in the middle is as safe as one in setup.
 */
#include <libgen.h>

#include "../lib/fileio.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "instance.h"
#include "lock.h"

/* Fills in (already initialised) part by part; the caller closes it on
 * failure. */
static int open_parts(const char *name, bool change, struct sx_instance *in)
{
	_cleanup_free_ char *why = NULL;
	int r;

	if (change && (in->lock = sx_lock_take()) < 0)
		return in->lock;
	r = sx_config_load(name, &in->config, &why);
	if (r == -ENOENT) {
		log_error("there is no instance %s here (no " SX_ETC_DIR "/%s/config.json); run "
			  "`sentrix sandbox setup --name %s` first",
			  name, name, name);
		return r;
	}
	if (r < 0) {
		log_error("instance %s has an unusable config.json (%s); run `sentrix sandbox setup --name "
			  "%s` again",
			  name, why ? why : strerror(-r), name);
		return r;
	}
	if (!change)
		return 0;
	sx_instance_sweep(in->config);
	free(why);
	why = NULL;
	r = sx_policy_load(in->config->policy_dir, &in->policy, &why);
	if (r < 0) {
		log_error("instance %s: the policy in %s is unusable (%s); run `sentrix sandbox setup --name "
			  "%s` again",
			  name, in->config->policy_dir, why ? why : strerror(-r), name);
		return r;
	}
	r = sx_journal_open(in->config->journal_path, false, &in->journal);
	if (r < 0)
		return log_error_errno(
		    r,
		    "instance %s: cannot open its rollback journal %s; run `sentrix sandbox "
		    "setup --name %s` again",
		    name, in->config->journal_path, name);
	return 0;
}

int sx_instance_open(const char *name, bool change, struct sx_instance *ret)
{
	struct sx_instance in = {.lock = -EBADF};
	int r = open_parts(name, change, &in);

	if (r < 0) {
		sx_instance_close(&in);
		return r;
	}
	*ret = in;
	return 0;
}

void sx_instance_close(struct sx_instance *in)
{
	if (in->journal)
		sx_journal_close(in->journal);
	sx_policy_free(in->policy);
	sx_config_free(in->config);
	if (in->lock >= 0)
		close(in->lock);
	*in = (struct sx_instance){.lock = -EBADF};
}

void sx_instance_sweep(const struct sx_config *c)
{
	_cleanup_free_ char *netns_etc = sx_strdupf(SX_NETNS_ETC_DIR "/%s", c->name),
			    *dropin = sx_strdupf(SX_SYSTEMD_ETC "/sentrix-sandbox@%s.service.d", c->name),
			    *oc_dir = c->openclaw_config ? strdup(c->openclaw_config) : NULL;
	const char *dirs[] = {"/etc", /* the account files */
			      SX_ETC_DIR, c->etc_dir, SX_STATE_DIR, c->state_dir,
			      netns_etc,  dropin,     c->home,	    oc_dir ? dirname(oc_dir) : NULL};

	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		int n = dirs[i] ? sx_sweep_tmp(dirs[i]) : 0;
		if (n > 0)
			log_info("removed %d temporary file(s) a killed sentrix run left in %s", n, dirs[i]);
	}
}
