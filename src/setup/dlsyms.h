/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * dlsyms.h - load a shared library and a table of its symbols on first use.
 *
 * sentrix-setup starts on every sandboxed command and every boot; most runs
 * need neither libsystemd nor libnftables, and mapping a library and its
 * dependencies is most of a short run's start-up on a VM (page faults).  So
 * those two are opened with dlopen() by the code that needs them.
 */
#pragma once

struct sx_dlsym {
	const char *name;
	void **where;
};

/* Opens lib and resolves every symbol into *where.  Returns 0, or -ENOPKG
 * after logging which library or symbol is missing.  Idempotent per handle:
 * *handle caches the library. */
int sx_dlsyms(void **handle, const char *lib, const struct sx_dlsym *syms, unsigned n);
