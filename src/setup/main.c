/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * main.c - sentrix-setup: the root provisioner.
 *
 *   sentrix-setup [setup] [OPTIONS]      provision or (--disable) roll back
 *   sentrix-setup status|list|up|down    inspect and run an instance
 *   sentrix-setup provider set|list|remove   the gateway's LLM upstreams
 *   sentrix-setup secrets set|list|remove    their keys in secrets.env
 *
 * Normally reached as `sentrix sandbox ...`, `sentrix provider ...` or
 * `sentrix secrets ...`, which exec this program.
 */
#include <unistd.h>

#include "../lib/config.h"
#include "../lib/log.h"
#include "actions.h"
#include "desired.h"
#include "ephemeral.h"
#include "launcher.h"
#include "lock.h"
#include "options.h"
#include "pair.h"
#include "provider.h"
#include "provision.h"
#include "runtime.h"
#include "secrets.h"
#include "status.h"
#include "target.h"
#include "unitlog.h"

static int updown_main(const struct sx_options *o)
{
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_policy_ struct sx_policy *p = NULL;
	_cleanup_free_ char *why = NULL;
	_cleanup_close_ int lock = -EBADF;
	unsigned changes = 0;
	int r;

	lock = sx_lock_take();
	if (lock < 0)
		return 1;
	r = sx_config_load(o->name, &c, &why);
	if (r == -ENOENT && o->command == SX_CMD_DOWN) {
		/* The netns unit's ExecStop can run after --disable removed
		 * the instance: nothing left to take down is success. */
		log_info("instance %s is not set up; nothing to take down", o->name);
		return 0;
	}
	if (r < 0) {
		log_error("instance %s is not set up (%s)", o->name, why ? why : strerror(-r));
		return 1;
	}
	if (o->command == SX_CMD_DOWN)
		return sx_runtime_down(c, false) < 0 ? 1 : 0;
	r = sx_policy_load(c->policy_dir, &p, &why);
	if (r < 0) {
		log_error("instance %s: policy unusable: %s", o->name, why ? why : strerror(-r));
		return 1;
	}
	return sx_runtime_up(c, p, &changes) < 0 ? 1 : 0;
}

static int gc_main(void)
{
	_cleanup_close_ int lock = sx_lock_take();
	int r;

	if (lock < 0)
		return 1;
	r = sx_ephemeral_gc();
	if (r < 0) {
		log_error_errno(r, "gc failed");
		return 1;
	}
	printf("sentrix: removed %d abandoned ephemeral instance(s)\n", r);
	return 0;
}

/* "provider" or "secrets" for their commands, else NULL. */
static const char *provider_or_secrets(enum sx_command cmd)
{
	switch (cmd) {
	case SX_CMD_PROVIDER_SET:
	case SX_CMD_PROVIDER_LIST:
	case SX_CMD_PROVIDER_REMOVE: return "provider";
	case SX_CMD_SECRETS_SET:
	case SX_CMD_SECRETS_LIST:
	case SX_CMD_SECRETS_REMOVE: return "secrets";
	default: return NULL;
	}
}

int main(int argc, char **argv)
{
	struct sx_options o;
	const char *group;

	sx_log_set_program("sentrix");
	if (getenv("SENTRIX_DEBUG"))
		sx_log_set_level(SX_LOG_DEBUG);
	if (sx_options_parse(argc, argv, &o) < 0)
		return 2;
	if (o.help) {
		sx_options_help(&o);
		return 0;
	}
	if (geteuid() != 0 && (group = provider_or_secrets(o.command))) {
		log_error(
		    "sentrix %s %s reads and writes root-only instance files (config.json, "
		    "secrets.env, the sandbox user's openclaw.json), so it needs root: run it with sudo",
		    group, argv[2]);
		return 1;
	}
	if (geteuid() != 0) {
		log_error("sentrix sandbox %s changes and inspects network namespaces, nftables and system "
			  "accounts, so it needs root: run it with sudo",
			  argc > 1 && argv[1][0] != '-' ? argv[1] : "setup");
		return 1;
	}
	/* Leftovers of a killed ephemeral launcher are gone by the next
	 * sentrix-setup run at the latest. */
	if (o.command == SX_CMD_SETUP || o.command == SX_CMD_LIST || o.command == SX_CMD_UP ||
	    o.command == SX_CMD_DOWN || provider_or_secrets(o.command)) {
		_cleanup_close_ int lock = sx_lock_take();
		if (lock >= 0)
			(void)sx_ephemeral_gc();
	}
	switch (o.command) {
	case SX_CMD_SETUP: return o.disable ? sx_disable_main(&o) : sx_setup_main(&o);
	case SX_CMD_STATUS: return sx_status_main(&o);
	case SX_CMD_LIST: return sx_list_main(&o);
	case SX_CMD_UP:
	case SX_CMD_DOWN: return updown_main(&o);
	case SX_CMD_EXEC: return sx_exec_main(&o);
	case SX_CMD_RUN: return sx_run_main(&o);
	case SX_CMD_START: return sx_target_main(&o, SX_TARGET_START);
	case SX_CMD_STOP: return sx_target_main(&o, SX_TARGET_STOP);
	case SX_CMD_RESTART: return sx_target_main(&o, SX_TARGET_RESTART);
	case SX_CMD_ENABLE: return sx_target_main(&o, SX_TARGET_ENABLE);
	case SX_CMD_DISABLE_BOOT: return sx_target_main(&o, SX_TARGET_DISABLE);
	case SX_CMD_JOURNAL: return sx_journal_main(&o);
	case SX_CMD_PAIR: return sx_pair_main(&o);
	case SX_CMD_GC: return gc_main();
	case SX_CMD_PROVIDER_SET:
	case SX_CMD_PROVIDER_LIST:
	case SX_CMD_PROVIDER_REMOVE: return sx_provider_main(&o);
	case SX_CMD_SECRETS_SET:
	case SX_CMD_SECRETS_LIST:
	case SX_CMD_SECRETS_REMOVE: return sx_secrets_main(&o);
	}
	return 2;
}
