/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * paths.c - data and unit directories, overridable for tests, and where
 * the sibling programs are.
 */
#include <libgen.h>
#include <stdlib.h>
#include <unistd.h>

#include "paths.h"
#include "util.h"

const char *sx_datadir(void)
{
	const char *e = getenv("SENTRIX_DATADIR");
	return e && *e ? e : SX_DATADIR;
}

const char *sx_unitdir(void)
{
	const char *e = getenv("SENTRIX_UNITDIR");
	return e && *e ? e : SX_UNITDIR;
}

char *sx_find_program(const char *prog)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *dirs[] = {NULL, SX_SBINDIR, SX_BINDIR};

	if (n > 0) {
		self[n] = 0;
		dirs[0] = dirname(self);
	}
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		char *p;
		if (!dirs[i])
			continue;
		p = sx_strdupf("%s/%s", dirs[i], prog);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}
