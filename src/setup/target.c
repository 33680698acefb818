/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * target.c - `sentrix sandbox start|stop|restart|enable|disable-boot`.
 *
 * An instance runs as sentrix@NAME.target, which wants its three services;
 * the services are PartOf= it, so stopping or restarting the target takes
 * them along.  These commands ask systemd over D-Bus (units.c) and wait as
 * systemctl does; a unit that fails is named with its last journal lines.
 * Without systemd there is no unit to drive: the error says what to use
 * instead.
 */
#include "../lib/config.h"
#include "../lib/log.h"
#include "../lib/strv.h"
#include "target.h"
#include "unitlog.h"
#include "units.h"

/* Names each unit of the instance that failed, with its last lines. */
static void explain_failure(char **units)
{
	struct sx_unit_state st[4];
	size_t n = MIN(sx_strv_length(units), ELEMENTSOF(st));

	if (sx_unit_states((const char *const *)units, n, st) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (streq(st[i].active, "failed") || (st[i].result && !streq(st[i].result, "success"))) {
			char *one[] = {units[i], NULL};
			log_error("%s is %s (result %s, exit status %d); its last journal lines:", units[i],
				  st[i].active ? st[i].active : "?", st[i].result ? st[i].result : "?",
				  st[i].exec_status);
			(void)sx_unitlog_print(one, NULL, 10, false, stderr);
		}
		sx_unit_state_clear(&st[i]);
	}
}

int sx_target_main(const struct sx_options *o, enum sx_target_verb verb)
{
	static const char *const done[] = {[SX_TARGET_START] = "is active",
					   [SX_TARGET_STOP] = "is stopped",
					   [SX_TARGET_RESTART] = "was restarted and is active",
					   [SX_TARGET_ENABLE] = "starts at boot",
					   [SX_TARGET_DISABLE] = "no longer starts at boot"};
	_cleanup_(sx_strv_freep) char **units = NULL;
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_free_ char *why = NULL;
	int r;

	r = sx_config_load(o->name, &c, &why);
	if (r == -ENOENT) {
		log_error("there is no instance %s here; set it up with `sentrix sandbox setup --name %s`",
			  o->name, o->name);
		return 1;
	}
	if (r < 0) {
		log_error("instance %s: %s", o->name, why ? why : strerror(-r));
		return 1;
	}
	units = sx_instance_units(o->name);
	if (!units)
		return 1;
	r = sx_target_do(verb, (const char *const *)units, sx_strv_length(units));
	if (r == -EHOSTDOWN) {
		log_error(
		    "systemd is not running here, so there is no %s to drive: bring the network up "
		    "with `sentrix sandbox up --name %s` (down: `sentrix sandbox down`), start the "
		    "gateway by hand (sentrix-gateway(8)) and OpenClaw with `sentrix sandbox run --name %s`",
		    units[0], o->name, o->name);
		return 1;
	}
	if (r == -ETIMEDOUT) {
		log_error("%s did not settle within 90 s; see `sentrix sandbox status --name %s`", units[0],
			  o->name);
		return 1;
	}
	if (r < 0) {
		if (verb != SX_TARGET_ENABLE && verb != SX_TARGET_DISABLE)
			explain_failure(units);
		return 1;
	}
	printf("sentrix: %s %s\n", units[0], done[verb]);
	return 0;
}
