/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * unitlog.c - an instance's lines in the systemd journal (sd-journal).
 *
 * `sentrix sandbox journal` and status (the last lines of a failed unit)
 * read the system journal filtered to one instance: what its units wrote
 * (_SYSTEMD_UNIT), what systemd said about them (UNIT), and what the
 * gateway tagged with its instance (SENTRIX_INSTANCE).  Lines print as
 * "2026-12-07T10:00:00Z UNIT[PID]: MESSAGE", UTC like the capture files.
 */
#include <poll.h>
#include <signal.h>
#include <time.h>

#include "../lib/log.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "sdjournal.h"
#include "units.h"
#include "unitlog.h"

static volatile sig_atomic_t stop_following;

static void on_signal(int sig)
{
	(void)sig;
	stop_following = 1;
}

/* The value of FIELD in the current entry, as "FIELD=value" stripped of
 * its name; NULL when absent. */
static char *field(const struct sx_sdjournal *sj, sd_journal *j, const char *name)
{
	const void *data;
	size_t len, n = strlen(name);

	if (sj->get_data(j, name, &data, &len) < 0 || len <= n + 1)
		return NULL;
	return strndup((const char *)data + n + 1, len - n - 1);
}

/* Opens the journal matching units (any of them) or, unless NULL, the
 * gateway's lines of instance. */
static int open_matching(const struct sx_sdjournal *sj, char *const *units, const char *instance,
			 sd_journal **ret)
{
	static const char *const fields[] = {"_SYSTEMD_UNIT", "UNIT"};
	_cleanup_free_ char *tag = instance ? sx_strdupf("SENTRIX_INSTANCE=%s", instance) : NULL;
	sd_journal *j = NULL;
	int r;

	if (instance && !tag)
		return -ENOMEM;
	r = sj->open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
	if (r < 0)
		return log_error_errno(r, "cannot open the system journal");
	/* Same-field matches are OR'ed; a disjunction ORs the groups. */
	for (size_t f = 0; r >= 0 && f < ELEMENTSOF(fields); f++) {
		for (size_t i = 0; r >= 0 && units[i]; i++) {
			_cleanup_free_ char *m = sx_strdupf("%s=%s", fields[f], units[i]);
			r = m ? sj->add_match(j, m, 0) : -ENOMEM;
		}
		if (r >= 0 && (tag || f + 1 < ELEMENTSOF(fields)))
			r = sj->add_disjunction(j);
	}
	if (r >= 0 && tag)
		r = sj->add_match(j, tag, 0);
	if (r < 0) {
		sj->close(j);
		return log_error_errno(r, "cannot filter the journal");
	}
	*ret = j;
	return 0;
}

/* Prints the current entry as one line. */
static void print_entry(const struct sx_sdjournal *sj, sd_journal *j, FILE *out)
{
	_cleanup_free_ char *msg = field(sj, j, "MESSAGE"), *unit = field(sj, j, "_SYSTEMD_UNIT"),
			    *ident = field(sj, j, "SYSLOG_IDENTIFIER"), *pid = field(sj, j, "_PID");
	uint64_t usec = 0;
	char stamp[32] = "?";
	struct tm tm;
	time_t t;

	if (sj->get_realtime_usec(j, &usec) >= 0) {
		t = (time_t)(usec / 1000000);
		if (gmtime_r(&t, &tm))
			strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	/* systemd's own lines about a unit carry UNIT= and come from PID 1. */
	fprintf(out, "%s %s%s%s%s: %s\n", stamp,
		ident	   ? ident
		    : unit ? unit
			   : "?",
		pid ? "[" : "", pid ? pid : "", pid ? "]" : "", msg ? msg : "");
}

/* Positions j on the entry before the last n ones, so next() walks them. */
static int seek_last(const struct sx_sdjournal *sj, sd_journal *j, unsigned n)
{
	int r = sj->seek_tail(j);

	if (r < 0)
		return r;
	r = sj->previous_skip(j, (uint64_t)n + 1);
	/* Fewer entries than n: from the start. */
	return r < 0 ? r : 0;
}

int sx_unitlog_print(char *const *units, const char *instance, unsigned lines, bool follow, FILE *out)
{
	const struct sx_sdjournal *sj = sx_sdjournal();
	sd_journal *j = NULL;
	int r;

	if (!sj)
		return -ENOPKG;
	if ((r = open_matching(sj, units, instance, &j)) < 0)
		return r;
	r = seek_last(sj, j, lines);
	while (r >= 0 && (r = sj->next(j)) > 0)
		print_entry(sj, j, out);
	if (follow && r >= 0) {
		struct sigaction sa = {.sa_handler = on_signal};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		fflush(out);
		while (!stop_following) {
			r = sj->wait(j, 500 * 1000);
			if (r < 0)
				break;
			while ((r = sj->next(j)) > 0)
				print_entry(sj, j, out);
			if (r < 0)
				break;
			fflush(out);
		}
	}
	sj->close(j);
	return r < 0 ? log_error_errno(r, "cannot read the system journal") : 0;
}

int sx_journal_main(const struct sx_options *o)
{
	_cleanup_(sx_strv_freep) char **units = sx_instance_units(o->name);

	if (!units)
		return 1;
	if (!sx_systemd_running())
		log_warn("systemd is not running here: the journal holds no lines of this boot's units");
	return sx_unitlog_print(units, o->name, o->lines ? o->lines : 50, o->follow, stdout) < 0 ? 1 : 0;
}
