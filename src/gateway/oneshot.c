/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * oneshot.c - sentrix-gateway's one-shot commands: `--investigate ID`
 * (a case file for one flag, by hand) and `--rescan` (the patrol reviews
 * every capture file again; patrol.c).  The front door's `sentrix police
 * investigate` and `sentrix patrol rescan` exec them, because they change
 * state only the gateway user may write (police.db, patrol_state.db,
 * reports/).  They run beside the serving gateway, not in it: SQLite's
 * locks keep the two apart, and no instance lock is taken.
 *
 * Run by root (the usual case: `sudo sentrix police investigate`), the
 * process first becomes the instance's gateway user, so every file it
 * creates is that user's as if the gateway had written it.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/util.h"
#include "gateway.h"
#include "judge.h"
#include "patrol.h"
#include "police.h"

/* Becomes user (groups, gid, uid; no new privileges). */
static int become_user(const char *user)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return log_error_errno(errno ? -errno : -ESRCH,
				       "no user %s to run as (the gateway user); run sentrix sandbox setup",
				       user);
	if (initgroups(user, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		return log_error_errno(-errno, "cannot take the groups of %s", user);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return log_error_errno(-errno, "cannot become %s", user);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_error_errno(-errno, "cannot set no_new_privs");
	return 0;
}

int sx_gateway_oneshot_prepare(struct sx_gateway *g)
{
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_free_ char *why = NULL;
	int r;

	if (geteuid() == 0) {
		r = sx_config_load_path(g->config_path, &c, &why);
		if (r == -ENOENT)
			return log_error_errno(r, "no instance %s (%s is missing); run sentrix sandbox setup",
					       g->name, g->config_path);
		if (r < 0)
			return log_error_errno(r, "cannot load %s%s%s", g->config_path, why ? ": " : "",
					       why ? why : "");
		if ((r = become_user(c->gateway_user ? c->gateway_user : SX_GATEWAY_USER)) < 0)
			return r;
	}
	if ((r = sx_gateway_load(g)) < 0)
		return r;
	if (!g->log_dir && !(g->log_dir = strdup(g->config->log_dir)))
		return log_error_errno(-ENOMEM, "out of memory");
	return 0;
}

int sx_gateway_investigate(struct sx_gateway *g, const char *flag_id)
{
	_cleanup_free_ char *case_id = NULL, *why = NULL;
	enum sx_escalation level = SX_ESCALATE_MEDIUM_ABOVE;
	struct sx_police *p = NULL;
	struct sx_judge *judge = NULL;
	int r;

	if (g->config->police_escalation && sx_escalation_from_name(g->config->police_escalation, &level) < 0)
		log_warn("police.escalation \"%s\" is not low_above, medium_above or high_only; using "
			 "medium_above",
			 g->config->police_escalation);
	if ((r = sx_police_open(g->log_dir, level, &p)) < 0)
		return r;
	/* The policy's judge writes the summary and action when there is one;
	 * without it (or when it cannot be used) the case gets the
	 * deterministic ones. */
	r = sx_patrol_judge_open(g, &judge, &why);
	if (r == -ENOMEM) {
		sx_police_close(p);
		return r;
	}
	if (r < 0)
		log_warn("%s; the case gets the deterministic summary and action", why ? why : strerror(-r));
	if (judge)
		sx_police_set_judge(p, sx_judge_case, judge);
	r = sx_police_investigate(p, flag_id, true, &case_id);
	sx_police_close(p);
	sx_judge_free(judge);
	if (r < 0)
		return r;
	printf("%s\n", case_id);
	return fflush(stdout) == 0 ? 0 : log_error_errno(-errno, "cannot write the case id");
}
