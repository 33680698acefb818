/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * units.c - unit enablement through sd-bus, or by hand without systemd.
 *
 * With systemd running, setup asks the manager itself (Reload,
 * EnableUnitFiles, StartUnit) so its view stays coherent.  Without it (a
 * container, an image being built) setup writes the same enablement symlink
 * `systemctl enable` would, and says the units start at next boot or with
 * `sentrix sandbox up`.  libsystemd is loaded on demand (sdbus.h).
 */
#include <stdarg.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/strv.h"
#include "render.h"
#include "sdbus.h"
#include "units.h"

#define MANAGER_DEST "org.freedesktop.systemd1"
#define MANAGER_PATH "/org/freedesktop/systemd1"
#define MANAGER_IFACE "org.freedesktop.systemd1.Manager"

/* What sd_booted() checks, without loading libsystemd for it. */
bool sx_systemd_running(void)
{
	return access("/run/systemd/system/", F_OK) == 0;
}

static void busp(sd_bus **b)
{
	if (*b)
		sx_sdbus()->flush_close_unref(*b);
}

static void bus_errorp(sd_bus_error *e)
{
	if (sx_sdbus())
		sx_sdbus()->error_free(e);
}

/* Opens the system bus; returns 0 or a negative errno, logged. */
static int bus_open(sd_bus **bus)
{
	const struct sx_sdbus *b = sx_sdbus();
	int r;

	if (!b)
		return -ENOPKG;
	r = b->open_system(bus);
	return r < 0 ? log_error_errno(r, "cannot connect to systemd") : 0;
}

static int call(sd_bus *bus, const char *method, sd_bus_message **reply, const char *types, ...)
{
	_cleanup_(bus_errorp) sd_bus_error err = SD_BUS_ERROR_NULL;
	const struct sx_sdbus *b = sx_sdbus();
	sd_bus_message *m = NULL;
	va_list ap;
	int r;

	r = b->new_method_call(bus, &m, MANAGER_DEST, MANAGER_PATH, MANAGER_IFACE, method);
	if (r < 0)
		return r;
	va_start(ap, types);
	r = types ? b->appendv(m, types, ap) : 0;
	va_end(ap);
	if (r >= 0)
		r = b->call(bus, m, 60 * 1000000ULL, &err, reply);
	b->message_unref(m);
	if (r < 0)
		log_error("systemd %s failed: %s", method, err.message ? err.message : strerror(-r));
	return r;
}

static int append(sd_bus_message *m, const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = sx_sdbus()->appendv(m, types, ap);
	va_end(ap);
	return r;
}

/* Calls a method taking an array of unit file names first. */
static int call_files(sd_bus *bus, const char *method, const char *unit, bool enable)
{
	_cleanup_(bus_errorp) sd_bus_error err = SD_BUS_ERROR_NULL;
	const struct sx_sdbus *b = sx_sdbus();
	sd_bus_message *m = NULL, *reply = NULL;
	int r;

	r = b->new_method_call(bus, &m, MANAGER_DEST, MANAGER_PATH, MANAGER_IFACE, method);
	if (r >= 0)
		r = b->append_strv(m, (char *[]){(char *)unit, NULL});
	if (r >= 0)
		r = enable ? append(m, "bb", false, true) : append(m, "b", false);
	if (r >= 0)
		r = b->call(bus, m, 60 * 1000000ULL, &err, &reply);
	b->message_unref(m);
	b->message_unref(reply);
	if (r < 0)
		log_error("systemd %s %s failed: %s", method, unit, err.message ? err.message : strerror(-r));
	return r;
}

static int bus_enable_start(const char *target)
{
	_cleanup_(busp) sd_bus *bus = NULL;
	sd_bus_message *reply = NULL;
	int r;

	r = bus_open(&bus);
	if (r < 0)
		return r;
	if ((r = call(bus, "Reload", NULL, NULL)) < 0 ||
	    (r = call_files(bus, "EnableUnitFiles", target, true)) < 0 ||
	    (r = call(bus, "Reload", NULL, NULL)) < 0)
		return r;
	r = call(bus, "StartUnit", &reply, "ss", target, "replace");
	sx_sdbus()->message_unref(reply);
	return r;
}

/* ActiveState of a unit on an open bus, or NULL. */
static char *active_state(sd_bus *bus, const char *unit)
{
	_cleanup_free_ char *path = NULL;
	char *state = NULL;

	if (sx_sdbus()->path_encode("/org/freedesktop/systemd1/unit", unit, &path) < 0)
		return NULL;
	if (sx_sdbus()->get_property_string(bus, MANAGER_DEST, path, "org.freedesktop.systemd1.Unit",
					    "ActiveState", NULL, &state) < 0)
		return NULL;
	return state;
}

/* Waits (at most 30 s) until unit is neither active nor on its way. */
static void wait_stopped(sd_bus *bus, const char *unit)
{
	for (int i = 0; i < 300; i++) {
		_cleanup_free_ char *state = active_state(bus, unit);
		if (!state || streq(state, "inactive") || streq(state, "failed"))
			return;
		usleep(100 * 1000);
	}
	log_warn("%s is still stopping; continuing", unit);
}

/* ResetFailedUnit, quietly: a unit that is not failed (or not loaded)
 * answers an error that means nothing to do. */
static void reset_failed(sd_bus *bus, const char *unit)
{
	_cleanup_(bus_errorp) sd_bus_error err = SD_BUS_ERROR_NULL;
	const struct sx_sdbus *b = sx_sdbus();
	sd_bus_message *m = NULL, *reply = NULL;

	if (b->new_method_call(bus, &m, MANAGER_DEST, MANAGER_PATH, MANAGER_IFACE, "ResetFailedUnit") >= 0 &&
	    append(m, "s", unit) >= 0)
		(void)b->call(bus, m, 10 * 1000000ULL, &err, &reply);
	b->message_unref(m);
	b->message_unref(reply);
}

static int bus_stop_disable(const char *target)
{
	_cleanup_(busp) sd_bus *bus = NULL;
	sd_bus_message *reply = NULL;
	const char *at = strchr(target, '@'), *dot = strrchr(target, '.');
	int r;

	r = bus_open(&bus);
	if (r < 0)
		return r;
	/* Stopping the target stops the services: they are PartOf= it. */
	r = call(bus, "StopUnit", &reply, "ss", target, "replace");
	sx_sdbus()->message_unref(reply);
	if (r < 0)
		return r;
	/* StopUnit only queues the jobs.  The rollback must not remove the
	 * home or the netns under a still running OpenClaw or gateway, so wait
	 * for those two.  Not for the netns unit: its ExecStop (`down`) waits
	 * for the lock this run holds, and finds nothing left to do. */
	if (at && dot && dot > at) {
		const char *services[] = {"sentrix-sandbox", "sentrix-gateway"};
		for (size_t i = 0; i < ELEMENTSOF(services); i++) {
			_cleanup_free_ char *unit =
			    sx_strdupf("%s@%.*s.service", services[i], (int)(dot - at - 1), at + 1);
			if (unit)
				wait_stopped(bus, unit);
		}
	}
	if ((r = call_files(bus, "DisableUnitFiles", target, false)) < 0)
		return r;
	r = call(bus, "Reload", NULL, NULL);
	/* A start the stop cut short (a --disable right after setup) leaves
	 * the unit "failed" in systemd's memory: nothing of it may stay. */
	if (r >= 0 && at && dot && dot > at) {
		const char *all[] = {"sentrix-netns", "sentrix-gateway", "sentrix-sandbox"};
		for (size_t i = 0; i < ELEMENTSOF(all); i++) {
			_cleanup_free_ char *unit =
			    sx_strdupf("%s@%.*s.service", all[i], (int)(dot - at - 1), at + 1);
			if (unit)
				reset_failed(bus, unit);
		}
	}
	return r;
}

char *sx_unit_active_state(const char *unit)
{
	_cleanup_(busp) sd_bus *bus = NULL;

	if (!sx_systemd_running() || bus_open(&bus) < 0)
		return NULL;
	return active_state(bus, unit);
}

char **sx_instance_units(const char *name)
{
	static const char *const prefixes[] = {"sentrix@", "sentrix-netns@", "sentrix-gateway@",
					       "sentrix-sandbox@"};
	char **v = calloc(ELEMENTSOF(prefixes) + 1, sizeof(char *));

	for (size_t i = 0; v && i < ELEMENTSOF(prefixes); i++)
		if (!(v[i] = sx_strdupf("%s%s.%s", prefixes[i], name, i == 0 ? "target" : "service"))) {
			sx_strv_free(v);
			return NULL;
		}
	return v;
}

/* One string property of org.freedesktop.systemd1.{Unit,Service}. */
static char *unit_string(sd_bus *bus, const char *path, const char *iface, const char *name)
{
	char *v = NULL;

	return sx_sdbus()->get_property_string(bus, MANAGER_DEST, path, iface, name, NULL, &v) < 0 ? NULL : v;
}

void sx_unit_state_clear(struct sx_unit_state *s)
{
	free(s->active);
	free(s->sub);
	free(s->result);
	*s = (struct sx_unit_state){0};
}

/* Fills s for unit on an open bus; services add their result, main exit
 * status and restart count. */
static int unit_state(sd_bus *bus, const char *unit, struct sx_unit_state *s)
{
	static const char service_iface[] = "org.freedesktop.systemd1.Service";
	_cleanup_free_ char *path = NULL;
	const struct sx_sdbus *b = sx_sdbus();
	int32_t status = 0;
	uint32_t restarts = 0;

	*s = (struct sx_unit_state){.exec_status = -1};
	if (b->path_encode("/org/freedesktop/systemd1/unit", unit, &path) < 0)
		return -ENOMEM;
	s->active = unit_string(bus, path, "org.freedesktop.systemd1.Unit", "ActiveState");
	s->sub = unit_string(bus, path, "org.freedesktop.systemd1.Unit", "SubState");
	if (!s->active || !s->sub)
		return -EIO;
	if (!strstr(unit, ".service"))
		return 0;
	s->result = unit_string(bus, path, service_iface, "Result");
	if (b->get_property_trivial(bus, MANAGER_DEST, path, service_iface, "ExecMainStatus", NULL, 'i',
				    &status) >= 0)
		s->exec_status = status;
	if (b->get_property_trivial(bus, MANAGER_DEST, path, service_iface, "NRestarts", NULL, 'u',
				    &restarts) >= 0)
		s->restarts = restarts;
	return 0;
}

int sx_unit_states(const char *const *units, size_t n, struct sx_unit_state *out)
{
	_cleanup_(busp) sd_bus *bus = NULL;
	int r;

	for (size_t i = 0; i < n; i++)
		out[i] = (struct sx_unit_state){.exec_status = -1};
	if (!sx_systemd_running())
		return -EHOSTDOWN;
	if ((r = bus_open(&bus)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		(void)unit_state(bus, units[i], &out[i]);
	return 0;
}

/* Until the job at path is done (it vanishes from the bus), at most
 * timeout_s seconds. */
static int wait_job(sd_bus *bus, const char *path, unsigned timeout_s)
{
	for (unsigned i = 0; i < timeout_s * 10; i++) {
		_cleanup_free_ char *state = unit_string(bus, path, "org.freedesktop.systemd1.Job", "State");
		if (!state)
			return 0;
		usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

/* After the target's job: every unit active (start, restart), or every
 * unit inactive (stop; the target stops before its services, so they are
 * waited for too).  -EIO when one failed. */
static int wait_settled(sd_bus *bus, const char *const *units, size_t n, bool want_active, unsigned timeout_s)
{
	for (unsigned i = 0; i < timeout_s * 10; i++) {
		bool settled = true;
		for (size_t k = 0; k < n; k++) {
			_cleanup_free_ char *state = active_state(bus, units[k]);
			if (streq(state, "failed"))
				return want_active ? -EIO : 0;
			if (want_active ? !streq(state, "active") : !(streq(state, "inactive") || !state))
				settled = false;
		}
		if (settled)
			return 0;
		usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

int sx_target_do(enum sx_target_verb verb, const char *const *units, size_t n)
{
	static const char *const methods[] = {[SX_TARGET_START] = "StartUnit",
					      [SX_TARGET_STOP] = "StopUnit",
					      [SX_TARGET_RESTART] = "RestartUnit"};
	_cleanup_(busp) sd_bus *bus = NULL;
	_cleanup_free_ char *job = NULL;
	sd_bus_message *reply = NULL;
	const char *target = units[0], *path = NULL;
	int r;

	if (!sx_systemd_running())
		return -EHOSTDOWN;
	if ((r = bus_open(&bus)) < 0)
		return r;
	switch (verb) {
	case SX_TARGET_ENABLE:
		if ((r = call_files(bus, "EnableUnitFiles", target, true)) < 0)
			return r;
		return call(bus, "Reload", NULL, NULL);
	case SX_TARGET_DISABLE:
		if ((r = call_files(bus, "DisableUnitFiles", target, false)) < 0)
			return r;
		return call(bus, "Reload", NULL, NULL);
	default:
		r = call(bus, methods[verb], &reply, "ss", target, "replace");
		if (r >= 0 && sx_sdbus()->read(reply, "o", &path) >= 0 && path)
			job = strdup(path);
		sx_sdbus()->message_unref(reply);
		if (r < 0)
			return r;
		/* The job is queued: wait for it as systemctl does, then for
		 * the units to settle. */
		if (job && (r = wait_job(bus, job, 90)) < 0)
			return r;
		return wait_settled(bus, units, n, verb != SX_TARGET_STOP, 90);
	}
}

char *sx_unit_file_state(const char *unit)
{
	_cleanup_(busp) sd_bus *bus = NULL;
	sd_bus_message *reply = NULL;
	const char *state = NULL;
	char *out = NULL;

	if (!sx_systemd_running() || bus_open(&bus) < 0)
		return NULL;
	if (call(bus, "GetUnitFileState", &reply, "s", unit) >= 0 &&
	    sx_sdbus()->read(reply, "s", &state) >= 0 && state)
		out = strdup(state);
	sx_sdbus()->message_unref(reply);
	return out;
}

int sx_act_units(struct sx_ctx *x)
{
	const struct sx_config *c = x->config;
	_cleanup_free_ char *dropin_dir = NULL, *dropin = NULL, *text = NULL, *target = NULL, *wants = NULL,
			    *template = NULL;
	cJSON *undo;
	int r;

	dropin_dir = sx_strdupf(SX_SYSTEMD_ETC "/sentrix-sandbox@%s.service.d", c->name);
	dropin = sx_strdupf("%s/50-sentrix-instance.conf", dropin_dir);
	target = sx_strdupf("sentrix@%s.target", c->name);
	wants = sx_strdupf(SX_WANTS_DIR "/sentrix@%s.target", c->name);
	template = sx_strdupf("%s/" SX_UNIT_TARGET, sx_unitdir());
	if (!dropin_dir || !dropin || !target || !wants || !template)
		return -ENOMEM;

	/* The sandbox user differs per instance, and User= cannot come
	 * from an environment file: a drop-in carries it. */
	r = sx_render_template("sandbox-dropin.conf", c, &text);
	if (r < 0)
		return r;
	if ((r = sx_act_mkdir(x, dropin_dir, 0755, 0, 0, false, false)) < 0 ||
	    (r = sx_act_write_file(x, dropin, text, strlen(text), 0644, 0, 0, false)) < 0)
		return r;

	if (!sx_systemd_running()) {
		unsigned before = x->changes;
		r = sx_act_mkdir(x, SX_WANTS_DIR, 0755, 0, 0, false, false);
		if (r == 0)
			r = sx_act_symlink(x, wants, template);
		if (r == 0 && x->out && !x->dry_run && x->changes > before)
			fprintf(x->out,
				"  note: systemd is not running here; %s is enabled and starts at the next "
				"boot, or bring the network up now with `sentrix sandbox up --name %s`\n",
				target, c->name);
		return r;
	}
	sx_ctx_say(x, true, "systemd: daemon-reload, enable and start %s", target);
	if (x->dry_run)
		return 0;
	undo = cJSON_CreateObject();
	cJSON_AddStringToObject(undo, "target", target);
	r = sx_journal_record(x->journal, "units", target, undo, NULL, 0, false);
	cJSON_Delete(undo);
	if (r < 0)
		return r;
	sx_checkpoint();
	r = bus_enable_start(target);
	sx_checkpoint();
	return r;
}

int sx_units_undo(const struct sx_journal_entry *e)
{
	if (!sx_systemd_running()) {
		log_info("systemd is not running: nothing to stop for %s", e->target);
		return 0;
	}
	return bus_stop_disable(sx_json_str(e->undo, "target"));
}
