/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * reload.c - SIGHUP to a running sentrix-gateway.
 *
 * The gateway writes its pid to /var/log/sentrix/NAME/gateway.pid and
 * re-reads config.json, gateway.token and secrets.env on SIGHUP.  That
 * directory belongs to the gateway user, so root does not trust the pid
 * file alone: the process must be called sentrix-gateway and run as the
 * gateway user, or no signal is sent (a stale file after a crash, a pid
 * reused by something else).
 */
#include <signal.h>
#include <sys/stat.h>

#include "../lib/fileio.h"
#include "../lib/safepath.h"
#include "../lib/util.h"
#include "reload.h"
#include "users.h"

/* The pid in the instance's pid file when it is a gateway of this
 * instance's gateway user, else 0. */
pid_t sx_gateway_pid(const struct sx_config *c)
{
	_cleanup_free_ char *pidfile = sx_strdupf("%s/gateway.pid", c->log_dir), *text = NULL, *proc = NULL,
			    *comm = NULL;
	struct sx_user u;
	struct stat st;
	char *end;
	long pid;

	/* In the gateway user's directory: its own small regular file only. */
	if (!pidfile || sx_safe_read(pidfile, 64, &text, NULL, NULL) < 0)
		return 0;
	errno = 0;
	pid = strtol(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n') || pid <= 1 || pid > 0x3fffffff)
		return 0;
	proc = sx_strdupf("/proc/%ld", pid);
	comm = sx_strdupf("/proc/%ld/comm", pid);
	if (!proc || !comm || stat(proc, &st) < 0 || sx_user_lookup(c->gateway_user, &u) < 0 ||
	    st.st_uid != u.uid)
		return 0;
	free(text);
	text = NULL;
	if (sx_read_file(comm, &text, NULL) < 0)
		return 0;
	text[strcspn(text, "\n")] = 0;
	return streq(text, "sentrix-gateway") ? (pid_t)pid : 0;
}

void sx_gateway_reload(const struct sx_config *c, FILE *out, bool quiet_if_absent)
{
	pid_t pid = sx_gateway_pid(c);

	if (pid > 0 && kill(pid, SIGHUP) == 0)
		fprintf(out, "sentrix: gateway reloaded (pid %d)\n", (int)pid);
	else if (!quiet_if_absent)
		fprintf(out,
			"sentrix: the gateway of %s is not running; it will pick this up when it starts\n",
			c->name);
}
