/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * status.c - check every piece of an instance against its config.json.
 *
 * Each check ends in one state: ok, missing, drifted (there but not as
 * config.json and the policy say), or skipped (cannot apply here, with the
 * reason).  The JSON keys are a stable interface; README.md documents them.
 */
#include <stdarg.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fileio.h"
#include "../lib/instances.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/safepath.h"
#include "../lib/strv.h"
#include "bridge.h"
#include "child.h"
#include "ephemeral.h"
#include "openclaw.h"
#include "render.h"
#include "runtime.h"
#include "status.h"
#include "unitlog.h"
#include "units.h"
#include "users.h"

enum state { OK, MISSING, DRIFTED, SKIPPED };
static const char *const state_names[] = {"ok", "missing", "drifted", "skipped"};

struct report {
	cJSON *checks;
	cJSON *units; /* systemd's view of the instance's units, or NULL */
	bool failed;
	bool json;
};

static void check(struct report *rep, const char *id, enum state s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void check(struct report *rep, const char *id, enum state s, const char *fmt, ...)
{
	_cleanup_free_ char *detail = NULL;
	cJSON *o = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&detail, fmt, ap) < 0)
		detail = NULL;
	va_end(ap);
	cJSON_AddStringToObject(o, "state", state_names[s]);
	cJSON_AddBoolToObject(o, "ok", s == OK || s == SKIPPED);
	cJSON_AddStringToObject(o, "detail", detail ? detail : "");
	cJSON_AddItemToObject(rep->checks, id, o);
	if (s == MISSING || s == DRIFTED)
		rep->failed = true;
	if (!rep->json)
		printf("  %-8s %-16s %s\n", state_names[s], id, detail ? detail : "");
}

static void check_users(struct report *rep, const struct sx_config *c)
{
	struct sx_user u, g;
	struct stat st;

	if (sx_user_lookup(c->gateway_user, &g) == 0)
		check(rep, "gateway_user", OK, "%s (uid %u)", c->gateway_user, (unsigned)g.uid);
	else
		check(rep, "gateway_user", MISSING, "no user %s", c->gateway_user);
	if (sx_user_lookup(c->user, &u) < 0) {
		check(rep, "user", MISSING, "no user %s", c->user);
		check(rep, "home", MISSING, "%s (no user)", c->home);
		return;
	}
	check(rep, "user", u.uid ? OK : DRIFTED, "%s (uid %u)", c->user, (unsigned)u.uid);
	if (sx_safe_stat(c->home, true, &st) < 0 || !S_ISDIR(st.st_mode))
		check(rep, "home", MISSING, "%s does not exist", c->home);
	else if (st.st_uid != u.uid)
		check(rep, "home", DRIFTED, "%s is owned by uid %u, not %s", c->home, (unsigned)st.st_uid,
		      c->user);
	else
		check(rep, "home", OK, "%s", c->home);
}

/* The gateway token file: the gateway user's alone, and the token OpenClaw
 * sends (gateway.auth.token in openclaw.json, when that is readable). */
static void check_token(struct report *rep, const struct sx_config *c)
{
	_cleanup_cjson_ cJSON *oc = NULL;
	_cleanup_free_ char *token = NULL, *why = NULL;
	const cJSON *want;
	struct sx_user g;
	struct stat st;

	if (stat(c->token_path, &st) < 0 || sx_read_file(c->token_path, &token, NULL) < 0) {
		check(rep, "gateway_token", MISSING, "%s does not exist", c->token_path);
		return;
	}
	if ((st.st_mode & 07777) != 0600 || sx_user_lookup(c->gateway_user, &g) < 0 || st.st_uid != g.uid) {
		check(rep, "gateway_token", DRIFTED, "%s must be mode 0600 and owned by %s", c->token_path,
		      c->gateway_user);
		return;
	}
	if (!*token) {
		check(rep, "gateway_token", DRIFTED, "%s is empty", c->token_path);
		return;
	}
	if (sx_json_load(c->openclaw_config, &oc, &why) < 0) {
		check(rep, "gateway_token", OK, "%s (openclaw.json unreadable: not compared)", c->token_path);
		return;
	}
	want = sx_json_get_path(oc, "gateway.auth.token");
	if (!cJSON_IsString(want) || !streq(want->valuestring, token))
		check(rep, "gateway_token", DRIFTED, "%s differs from gateway.auth.token in %s",
		      c->token_path, c->openclaw_config);
	else
		check(rep, "gateway_token", OK, "%s (matches %s)", c->token_path, c->openclaw_config);
}

static void check_files(struct report *rep, const struct sx_config *c, struct sx_policy **policy)
{
	_cleanup_free_ char *why = NULL, *want = NULL;
	struct sx_user g;
	struct stat st;

	if (sx_policy_load(c->policy_dir, policy, &why) < 0)
		check(rep, "policy", MISSING, "%s", why ? why : "unreadable");
	else if (stat(c->policy_dir, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022))
		check(rep, "policy", DRIFTED, "%s must be root-owned and not writable by others",
		      c->policy_dir);
	else
		check(rep, "policy", OK, "%s (%s)", c->policy_dir, c->policy);

	if (stat(c->secrets_path, &st) < 0)
		check(rep, "secrets", MISSING, "%s does not exist", c->secrets_path);
	else if ((st.st_mode & 077) || sx_user_lookup(c->gateway_user, &g) < 0 || st.st_uid != g.uid)
		check(rep, "secrets", DRIFTED, "%s must be mode 0600 and owned by %s", c->secrets_path,
		      c->gateway_user);
	else
		check(rep, "secrets", OK, "%s", c->secrets_path);

	check_token(rep, c);

	if (sx_render_resolv(c, &want) < 0 || !sx_path_exists(c->resolv_conf))
		check(rep, "resolv_conf", MISSING, "%s does not exist", c->resolv_conf);
	else if (!sx_file_has_content(c->resolv_conf, want, strlen(want)))
		check(rep, "resolv_conf", DRIFTED, "%s differs from DNS mode %s", c->resolv_conf,
		      sx_dns_mode_name(c->dns_mode));
	else {
		_cleanup_free_ char *servers = sx_strv_join(c->dns_servers, ",");
		check(rep, "resolv_conf", OK, "%s: %s%s%s", c->resolv_conf, sx_dns_mode_name(c->dns_mode),
		      servers && *servers ? " " : "", servers ? servers : "");
	}
}

/* The bridge's device key (a valid key, 0600, the gateway user's; the
 * same test setup applies before keeping one) and its directory. */
static void check_bridge(struct report *rep, const struct sx_config *c)
{
	const char *why = NULL;
	struct sx_user g;
	struct stat st;
	int r;

	if (sx_user_lookup(c->gateway_user, &g) < 0) {
		check(rep, "device_key", MISSING, "%s (no user %s)", c->device_key, c->gateway_user);
		check(rep, "bridge_dir", MISSING, "%s (no user %s)", c->bridge_dir, c->gateway_user);
		return;
	}
	r = sx_device_key_check(c->device_key, g.uid, NULL, &why);
	if (r == 0)
		check(rep, "device_key", OK, "%s", c->device_key);
	else if (r == -ENOENT)
		check(rep, "device_key", MISSING, "%s does not exist", c->device_key);
	else if (why)
		check(rep, "device_key", DRIFTED, "%s is %s (mode 0600, owner %s, 64 hex digits wanted)",
		      c->device_key, why, c->gateway_user);
	else
		check(rep, "device_key", DRIFTED, "%s: %s", c->device_key, strerror(-r));

	r = sx_safe_stat(c->bridge_dir, false, &st);
	if (r == -ENOENT)
		check(rep, "bridge_dir", MISSING, "%s does not exist", c->bridge_dir);
	else if (r < 0 || !S_ISDIR(st.st_mode))
		check(rep, "bridge_dir", DRIFTED, "%s is not a directory", c->bridge_dir);
	else if ((st.st_mode & 07777) != 0750 || st.st_uid != g.uid || st.st_gid != g.gid)
		check(rep, "bridge_dir", DRIFTED, "%s must be mode 0750 and owned by %s:%s", c->bridge_dir,
		      c->gateway_user, c->gateway_user);
	else if (c->bridge_port)
		check(rep, "bridge_dir", OK, "%s (bridge on %s:%u, trust page on port %u)", c->bridge_dir,
		      c->bridge_bind, c->bridge_port, c->bridge_port - 1);
	else
		check(rep, "bridge_dir", OK, "%s (no bridge port)", c->bridge_dir);
}

static void check_net(struct report *rep, const struct sx_config *c, const struct sx_policy *p)
{
	struct sx_runtime_state st;

	if (sx_runtime_inspect(c, p, &st) < 0) {
		check(rep, "netns", MISSING, "cannot inspect the network pieces");
		return;
	}
	check(rep, "netns", st.netns ? OK : MISSING, "%s", c->netns_path);
	check(rep, "host_interface",
	      !st.host_link	    ? MISSING
		  : st.host_link_up ? OK
				    : DRIFTED,
	      "%s%s", c->host_ifname, st.host_link && !st.host_link_up ? " is down" : "");
	check(rep, "host_address", st.host_addr ? OK : MISSING, "%s/%u on %s", c->host_ip, c->prefix_len,
	      c->host_ifname);
	check(rep, "sandbox_interface",
	      !st.sandbox_link	       ? MISSING
		  : st.sandbox_link_up ? OK
				       : DRIFTED,
	      "%s in %s", c->sandbox_ifname, c->netns);
	check(rep, "sandbox_address", st.sandbox_addr ? OK : MISSING, "%s/%u on %s", c->sandbox_ip,
	      c->prefix_len, c->sandbox_ifname);
	check(rep, "loopback", st.lo_up ? OK : MISSING, "lo up in %s", c->netns);
	check(rep, "default_route", st.default_route ? OK : MISSING, "default via %s in %s", c->host_ip,
	      c->netns);
	check(rep, "ipv6_disabled", st.ipv6_off ? OK : DRIFTED, "IPv6 off in %s", c->netns);
	if (!st.nft_sandbox.present)
		check(rep, "nft_sandbox", MISSING, "table inet %s in %s", c->nft_sandbox_table, c->netns);
	else if (!streq(st.nft_sandbox.tag, st.want_sandbox.tag) ||
		 st.nft_sandbox.rules != st.want_sandbox.rules)
		check(rep, "nft_sandbox", DRIFTED, "table inet %s differs from policy %s",
		      c->nft_sandbox_table, c->policy);
	else
		check(rep, "nft_sandbox", OK, "table inet %s in %s, %llu packet(s) dropped",
		      c->nft_sandbox_table, c->netns, (unsigned long long)st.nft_sandbox.dropped_packets);
	if (!c->host_networking)
		check(rep, "nft_host", SKIPPED,
		      "--no-host-networking: no host table (only the netns table guards)");
	else if (!st.nft_host.present)
		check(rep, "nft_host", MISSING, "table inet %s", c->nft_host_table);
	else if (!streq(st.nft_host.tag, st.want_host.tag) || st.nft_host.rules != st.want_host.rules)
		check(rep, "nft_host", DRIFTED, "table inet %s differs from policy %s", c->nft_host_table,
		      c->policy);
	else
		check(rep, "nft_host", OK, "table inet %s, %llu packet(s) dropped", c->nft_host_table,
		      (unsigned long long)st.nft_host.dropped_packets);
	if (!st.forward_needed)
		check(rep, "ip_forward", OK, "not needed by policy %s (now %s)", c->policy, st.forward_value);
	else
		check(rep, "ip_forward", streq(st.forward_value, "1") ? OK : DRIFTED,
		      "net.ipv4.ip_forward=%s", st.forward_value);
	if (!*st.log_netns_value)
		check(rep, "drop_log", SKIPPED,
		      "net.netfilter.nf_log_all_netns exists only in the host's initial network namespace");
	else
		check(rep, "drop_log", streq(st.log_netns_value, "1") ? OK : DRIFTED,
		      "net.netfilter.nf_log_all_netns=%s (the netns table's drop log reaches the kernel log)",
		      st.log_netns_value);
	sx_runtime_state_clear(&st);
}

static void check_openclaw(struct report *rep, const struct sx_config *c, const struct sx_policy *p)
{
	_cleanup_cjson_ cJSON *current = NULL, *desired = NULL;
	_cleanup_free_ char *why = NULL;
	const cJSON *token;
	int r;

	(void)sx_json_load(c->openclaw_config, &current, &why);
	free(why);
	why = NULL;
	/* The providers' API key must be the file's own gateway token (the
	 * gateway_token check compares that with the token file). */
	token = current ? sx_json_get_path(current, "gateway.auth.token") : NULL;
	desired = sx_openclaw_desired(
	    c, p, current, cJSON_IsString(token) && *token->valuestring ? token->valuestring : NULL);
	r = desired ? sx_openclaw_check(c->openclaw_config, desired, &why) : -ENOMEM;
	if (r == 0)
		check(rep, "openclaw_config", OK, "%s", c->openclaw_config);
	else
		check(rep, "openclaw_config", r == -ENOENT ? MISSING : DRIFTED, "%s: %s", c->openclaw_config,
		      why ? why : "unreadable");
}

/* The last journal lines of a unit, as a JSON array of strings. */
static cJSON *last_lines(char *unit, unsigned n)
{
	char *units[] = {unit, NULL};
	_cleanup_free_ char *text = NULL;
	cJSON *arr = cJSON_CreateArray();
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f || !arr) {
		if (f)
			fclose(f);
		return arr;
	}
	(void)sx_unitlog_print(units, NULL, n, false, f);
	fclose(f);
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		cJSON_AddItemToArray(arr, cJSON_CreateString(line));
	return arr;
}

/* Each unit's state, sub-state, result, last exit status and restart
 * count; a failed unit's last journal lines.  JSON: "units". */
static void report_units(struct report *rep, const struct sx_config *c)
{
	_cleanup_(sx_strv_freep) char **units = sx_instance_units(c->name);
	struct sx_unit_state st[4];
	size_t n = MIN(sx_strv_length(units), ELEMENTSOF(st));

	if (!units || sx_unit_states((const char *const *)units, n, st) < 0)
		return;
	rep->units = cJSON_CreateObject();
	for (size_t i = 0; i < n; i++) {
		cJSON *u = cJSON_CreateObject();
		bool failed = streq(st[i].active, "failed");
		cJSON_AddStringToObject(u, "active_state", st[i].active ? st[i].active : "unknown");
		cJSON_AddStringToObject(u, "sub_state", st[i].sub ? st[i].sub : "unknown");
		if (st[i].result) {
			cJSON_AddStringToObject(u, "result", st[i].result);
			cJSON_AddNumberToObject(u, "exec_main_status", st[i].exec_status);
			cJSON_AddNumberToObject(u, "restarts", st[i].restarts);
		}
		if (!rep->json)
			printf("  unit     %-32s %s (%s)%s%s%s\n", units[i],
			       st[i].active ? st[i].active : "?", st[i].sub ? st[i].sub : "?",
			       st[i].result ? ", result " : "", st[i].result ? st[i].result : "",
			       st[i].restarts ? ", restarted" : "");
		if (failed) {
			cJSON *lines = last_lines(units[i], 10), *l;
			cJSON_ArrayForEach(l, lines) if (!rep->json)
			    printf("           | %s\n", l->valuestring);
			cJSON_AddItemToObject(u, "journal", lines);
		}
		cJSON_AddItemToObject(rep->units, units[i], u);
		sx_unit_state_clear(&st[i]);
	}
}

/* A launcher in the home: a regular file of the home's owner (the
 * sandbox may have replaced it: a symlink there is drifted, not ok). */
static enum state launcher_state(const char *path)
{
	struct stat st;
	int r = path ? sx_safe_stat(path, false, &st) : -ENOMEM;

	if (r == -ENOENT || r == -ENOMEM)
		return MISSING;
	return r == 0 && S_ISREG(st.st_mode) ? OK : DRIFTED;
}

static void check_units(struct report *rep, const struct sx_config *c)
{
	static const char *const units[] = {"sentrix-netns@.service", "sentrix-gateway@.service",
					    "sentrix-sandbox@.service", "sentrix@.target"};
	_cleanup_free_ char *wants = sx_strdupf(SX_WANTS_DIR "/sentrix@%s.target", c->name);
	_cleanup_free_ char *dropin =
	    sx_strdupf(SX_SYSTEMD_ETC "/sentrix-sandbox@%s.service.d/50-sentrix-instance.conf", c->name);
	_cleanup_free_ char *target = sx_strdupf("sentrix@%s.target", c->name), *state = NULL;
	_cleanup_free_ char *run = sx_strdupf("%s/run-sandbox.sh", c->home),
			    *pair = sx_strdupf("%s/pair.sh", c->home),
			    *bashrc = sx_strdupf("%s/.bashrc", c->home);
	bool all = true;

	for (size_t i = 0; i < ELEMENTSOF(units); i++) {
		_cleanup_free_ char *p = sx_strdupf("%s/%s", sx_unitdir(), units[i]);
		all = all && p && sx_path_exists(p);
	}
	check(rep, "unit_files", all ? OK : MISSING, "template units in %s", sx_unitdir());
	check(rep, "unit_dropin", dropin && sx_path_exists(dropin) ? OK : MISSING, "%s",
	      dropin ? dropin : "");
	check(rep, "unit_enabled", wants && sx_path_exists(wants) ? OK : MISSING, "%s", wants ? wants : "");
	if (!sx_systemd_running())
		check(rep, "unit_active", SKIPPED, "systemd is not running here: %s starts at next boot",
		      target);
	else {
		state = sx_unit_active_state(target);
		check(rep, "unit_active", streq(state, "active") ? OK : MISSING, "%s is %s", target,
		      state ? state : "unknown");
		report_units(rep, c);
	}
	enum state launchers = launcher_state(run);
	if (launchers == OK)
		launchers = launcher_state(pair);
	if (launchers == OK)
		launchers = launcher_state(bashrc);
	check(rep, "launchers", launchers, "%s, %s, %s", run ? run : "", pair ? pair : "",
	      bashrc ? bashrc : "");
}

/* `sentrix-gateway --health` (this binary speaks no HTTP): its exit status
 * and the line it printed (/health's JSON). */
static int run_healthcheck(const char *prog, const struct sx_config *c, char **line)
{
	char *argv[] = {(char *)prog, "--health", "--name", c->name, "--config", c->config_path, NULL};

	return sx_run_captured(argv, 10, false, line);
}

int sx_gateway_health(const struct sx_config *c, char **line)
{
	_cleanup_free_ char *prog = sx_find_program("sentrix-gateway");

	if (!prog)
		return -ENOENT;
	return run_healthcheck(prog, c, line);
}

static void check_gateway(struct report *rep, const struct sx_config *c)
{
	_cleanup_free_ char *prog = sx_find_program("sentrix-gateway"), *line = NULL, *why = NULL;
	_cleanup_cjson_ cJSON *j = NULL;
	int r;

	if (!prog) {
		check(rep, "gateway", SKIPPED, "sentrix-gateway is not installed");
		return;
	}
	r = run_healthcheck(prog, c, &line);
	if (r == 0 && line && sx_json_parse(line, &j, &why) == 0) {
		const cJSON *up = cJSON_GetObjectItem(j, "upstreams");
		check(rep, "gateway", OK, "ready on %s:%u, %d provider(s), capture %s", c->host_ip,
		      c->health_port, cJSON_IsNumber(up) ? up->valueint : 0, sx_json_str(j, "capture_file"));
	} else if (r == 3 && !sx_systemd_running())
		check(rep, "gateway", SKIPPED,
		      "not running (systemd is not running here; start it by hand as user %s with its one "
		      "capability, as sentrix-gateway(8) shows: setpriv --reuid %s --regid %s --clear-groups "
		      "--inh-caps +net_bind_service --ambient-caps +net_bind_service sentrix-gateway --name "
		      "%s)",
		      c->gateway_user, c->gateway_user, c->gateway_user, c->name);
	else if (r == 3)
		check(rep, "gateway", MISSING,
		      "nothing answers on %s:%u (see systemctl status sentrix-gateway@%s)", c->host_ip,
		      c->health_port, c->name);
	else
		check(rep, "gateway", DRIFTED, "not ready: %s", line && *line ? line : "no answer");
}

int sx_status_main(const struct sx_options *o)
{
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_policy_ struct sx_policy *p = NULL;
	_cleanup_cjson_ cJSON *out = NULL;
	_cleanup_free_ char *why = NULL, *text = NULL;
	struct report rep = {.json = o->json};
	cJSON *net, *bridge, *cfg;
	int r;

	r = sx_config_load(o->name, &c, &why);
	if (r < 0) {
		if (r == -ENOENT)
			log_error("there is no instance %s here (no " SX_ETC_DIR "/%s/config.json); "
				  "set it up with `sentrix sandbox setup --name %s`",
				  o->name, o->name, o->name);
		else
			log_error("instance %s: %s", o->name, why ? why : strerror(-r));
		if (o->json)
			printf("{\"name\":\"%s\",\"ok\":false,\"exists\":false,\"checks\":{}}\n", o->name);
		return 1;
	}
	out = cJSON_CreateObject();
	rep.checks = cJSON_CreateObject();
	if (!out || !rep.checks) {
		cJSON_Delete(rep.checks);
		return 1;
	}
	if (!o->json)
		printf("sentrix instance %s (policy %s)\n", c->name, c->policy);
	check_users(&rep, c);
	check(&rep, "config", OK, "%s", c->config_path);
	check_files(&rep, c, &p);
	check_bridge(&rep, c);
	if (p) {
		check_net(&rep, c, p);
		check_openclaw(&rep, c, p);
	}
	check_units(&rep, c);
	check_gateway(&rep, c);

	if (!o->json) {
		cJSON_Delete(rep.checks);
		cJSON_Delete(rep.units);
		printf("%s\n",
		       rep.failed ? "NOT OK: something is missing or drifted; `sentrix sandbox setup` with "
				    "the same flags repairs it"
				  : "ok");
		return rep.failed ? 1 : 0;
	}
	cJSON_AddStringToObject(out, "name", c->name);
	cJSON_AddBoolToObject(out, "exists", true);
	cJSON_AddBoolToObject(out, "ok", !rep.failed);
	cJSON_AddStringToObject(out, "policy", c->policy);
	cJSON_AddBoolToObject(out, "systemd", sx_systemd_running());
	/* The same "network" object as config.json (one definition). */
	cfg = sx_config_to_json(c);
	net = cfg ? cJSON_DetachItemFromObject(cfg, "network") : NULL;
	/* and config.json's "bridge": bind, port, trust_port, origins, names */
	bridge = cfg ? cJSON_DetachItemFromObject(cfg, "bridge") : NULL;
	cJSON_Delete(cfg);
	if (net)
		cJSON_AddItemToObject(out, "network", net);
	if (bridge)
		cJSON_AddItemToObject(out, "bridge", bridge);
	cJSON_AddItemToObject(out, "checks", rep.checks);
	cJSON_AddItemToObject(out, "units", rep.units ? rep.units : cJSON_CreateObject());
	text = sx_json_print(out);
	if (text)
		fputs(text, stdout);
	return rep.failed ? 1 : 0;
}

static void list_one(const struct sx_config *c, const char *state, bool json, cJSON *arr)
{
	_cleanup_free_ char *unit = sx_strdupf("sentrix@%s.target", c->name);
	/* The target's state when systemd runs (an ephemeral job has none). */
	_cleanup_free_ char *target = unit && !streq(state, "ephemeral") ? sx_unit_active_state(unit) : NULL;
	cJSON *o2;

	if (!json) {
		printf("%-12s %-11s %-15s %-15s %-9s %s\n", c->name, c->policy, c->host_ip, c->sandbox_ip,
		       state, target ? target : "-");
		return;
	}
	o2 = cJSON_CreateObject();
	cJSON_AddStringToObject(o2, "name", c->name);
	cJSON_AddStringToObject(o2, "policy", c->policy);
	cJSON_AddStringToObject(o2, "host_ip", c->host_ip);
	cJSON_AddStringToObject(o2, "sandbox_ip", c->sandbox_ip);
	cJSON_AddStringToObject(o2, "state", state);
	cJSON_AddBoolToObject(o2, "ephemeral", streq(state, "ephemeral"));
	cJSON_AddItemToObject(o2, "target", target ? cJSON_CreateString(target) : cJSON_CreateNull());
	cJSON_AddItemToArray(arr, o2);
}

int sx_list_main(const struct sx_options *o)
{
	_cleanup_cjson_ cJSON *arr = cJSON_CreateArray();
	_cleanup_free_ char *text = NULL;
	struct sx_config **eph = NULL;
	char **names = NULL;
	int r;

	r = sx_instances_list(&names);
	if (r < 0) {
		log_error_errno(r, "cannot read " SX_ETC_DIR);
		return 1;
	}
	if (!o->json)
		printf("%-12s %-11s %-15s %-15s %-9s %s\n", "NAME", "POLICY", "HOST-IP", "SANDBOX-IP",
		       "STATE", "TARGET");
	for (size_t i = 0; names[i]; i++) {
		_cleanup_config_ struct sx_config *c = NULL;
		_cleanup_free_ char *why = NULL;

		if (sx_config_load(names[i], &c, &why) < 0) {
			log_warn("%s: %s", names[i], why ? why : "unreadable");
			continue;
		}
		list_one(c, sx_path_exists(c->netns_path) ? "up" : "down", o->json, arr);
	}
	sx_strv_free(names);
	/* Running ephemeral jobs (their launcher alive), state "ephemeral". */
	if (sx_ephemeral_list(&eph) == 0)
		for (size_t i = 0; eph[i]; i++)
			list_one(eph[i], "ephemeral", o->json, arr);
	sx_ephemeral_list_free(eph);
	if (o->json) {
		text = sx_json_print(arr);
		if (text)
			fputs(text, stdout);
	}
	return 0;
}
