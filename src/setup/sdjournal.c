/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * sdjournal.c - dlopen() libsystemd.so.0 and resolve the sd-journal calls
 * we use.
 */

#include "../lib/util.h"
#include "dlsyms.h"
#include "sdjournal.h"

const struct sx_sdjournal *sx_sdjournal(void)
{
	static struct sx_sdjournal t;
	static void *handle;
	const struct sx_dlsym syms[] = {
	    {"sd_journal_open", (void **)&t.open},
	    {"sd_journal_close", (void **)&t.close},
	    {"sd_journal_add_match", (void **)&t.add_match},
	    {"sd_journal_add_disjunction", (void **)&t.add_disjunction},
	    {"sd_journal_seek_tail", (void **)&t.seek_tail},
	    {"sd_journal_previous_skip", (void **)&t.previous_skip},
	    {"sd_journal_next", (void **)&t.next},
	    {"sd_journal_get_data", (void **)&t.get_data},
	    {"sd_journal_get_realtime_usec", (void **)&t.get_realtime_usec},
	    {"sd_journal_wait", (void **)&t.wait},
	};

	return sx_dlsyms(&handle, "libsystemd.so.0", syms, ELEMENTSOF(syms)) == 0 ? &t : NULL;
}
