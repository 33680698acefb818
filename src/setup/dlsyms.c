/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * dlsyms.c - dlopen() plus a symbol table (see dlsyms.h).
 */
#include <dlfcn.h>
#include <errno.h>

#include "../lib/log.h"
#include "dlsyms.h"

int sx_dlsyms(void **handle, const char *lib, const struct sx_dlsym *syms, unsigned n)
{
	void *h;

	if (*handle)
		return 0;
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return log_error_errno(-ENOPKG, "cannot load %s: %s", lib, dlerror());
	for (unsigned i = 0; i < n; i++) {
		*syms[i].where = dlsym(h, syms[i].name);
		if (!*syms[i].where) {
			dlclose(h);
			return log_error_errno(-ENOPKG, "%s lacks %s", lib, syms[i].name);
		}
	}
	*handle = h;
	return 0;
}
