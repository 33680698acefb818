/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * pair.c - `sentrix sandbox pair [--name NAME]`.
 *
 * The bridge pairs by itself (docs/bridge.md); this command asks the
 * running gateway for a fresh handshake (SIGUSR1, to the pid its pid file
 * names once reload.c has checked it is the gateway user's
 * sentrix-gateway) and reads the outcome from /health through
 * `sentrix-gateway --health`: this program speaks no HTTP and opens nothing
 * of the sandbox user's.
 */
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "../lib/config.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "pair.h"
#include "reload.h"
#include "status.h"

#define PAIR_WAIT_S 90

/* /health's "bridge" object, or NULL when the gateway did not answer. */
static cJSON *bridge_health(const struct sx_config *c)
{
	_cleanup_free_ char *line = NULL, *why = NULL;
	cJSON *j = NULL, *b;

	if (sx_gateway_health(c, &line) != 0 || !line || sx_json_parse(line, &j, &why) < 0)
		return NULL;
	b = cJSON_DetachItemFromObject(j, "bridge");
	cJSON_Delete(j);
	return b;
}

int sx_pair_main(const struct sx_options *o)
{
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_free_ char *why = NULL;
	pid_t pid;
	int r;

	if (geteuid() != 0) {
		log_error("sentrix sandbox pair needs root (it signals the instance's gateway)");
		return 1;
	}
	r = sx_config_load(o->name, &c, &why);
	if (r < 0) {
		log_error_errno(r, "instance %s: %s", o->name, why ? why : "no config.json; set it up first");
		return 1;
	}
	if (!c->bridge_port) {
		log_error("instance %s has no bridge (bridge.port is 0): `sentrix sandbox setup --name %s "
			  "--bridge-port N` gives it one",
			  o->name, o->name);
		return 1;
	}
	pid = sx_gateway_pid(c);
	if (pid <= 0) {
		log_error(
		    "the gateway of %s is not running: start the instance (`sentrix sandbox start --name "
		    "%s`, or by hand as sentrix-gateway(8) shows), then pair again",
		    o->name, o->name);
		return 1;
	}
	if (kill(pid, SIGUSR1) < 0) {
		log_error_errno(-errno, "cannot signal the gateway (pid %d)", (int)pid);
		return 1;
	}
	printf("asked the gateway of %s (pid %d) for a fresh handshake with OpenClaw\n", o->name, (int)pid);
	fflush(stdout);
	for (int i = 0; i < PAIR_WAIT_S * 2; i++) {
		_cleanup_cjson_ cJSON *b = NULL;
		/* The handshake takes a moment: do not read the old state. */
		usleep(500 * 1000);
		b = bridge_health(c);
		if (b && cJSON_IsTrue(cJSON_GetObjectItem(b, "agent_connected"))) {
			printf("paired: OpenClaw's gateway knows the bridge as device %s (\"sentrix-bridge "
			       "%s\"); "
			       "the bridge is connected\n",
			       sx_json_str(b, "device_id") ? sx_json_str(b, "device_id") : "?", o->name);
			return 0;
		}
		if (i == PAIR_WAIT_S * 2 - 1) {
			const char *err = b ? sx_json_str(b, "last_error") : NULL;
			log_error(
			    "the bridge is not connected to OpenClaw after %d s%s%s; is OpenClaw running "
			    "(`sentrix sandbox run --name %s` or the sandbox unit)? `sentrix sandbox journal "
			    "--name %s` has the gateway's messages",
			    PAIR_WAIT_S, err && *err ? ": " : "", err ? err : "", o->name, o->name);
		}
	}
	return 1;
}
