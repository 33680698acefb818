/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * sdjournal.h - libsystemd's sd-journal, loaded on first use (as sdbus.h:
 * only `sentrix sandbox journal` and status of a failed unit read it).
 */
#pragma once

#include <systemd/sd-journal.h>

struct sx_sdjournal {
	__typeof__(&sd_journal_open) open;
	__typeof__(&sd_journal_close) close;
	__typeof__(&sd_journal_add_match) add_match;
	__typeof__(&sd_journal_add_disjunction) add_disjunction;
	__typeof__(&sd_journal_seek_tail) seek_tail;
	__typeof__(&sd_journal_previous_skip) previous_skip;
	__typeof__(&sd_journal_next) next;
	__typeof__(&sd_journal_get_data) get_data;
	__typeof__(&sd_journal_get_realtime_usec) get_realtime_usec;
	__typeof__(&sd_journal_wait) wait;
};

/* The loaded function table, or NULL (after logging) when libsystemd
 * cannot be loaded. */
const struct sx_sdjournal *sx_sdjournal(void);
