/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * paths.c - data and unit directories, overridable for tests.
 */
#include <stdlib.h>

#include "paths.h"

const char *sx_datadir(void)
{
	const char *e = getenv("SENTRIX_DATADIR");
	return e && *e ? e : SX_PREFIX "/share/sentrix";
}

const char *sx_unitdir(void)
{
	const char *e = getenv("SENTRIX_UNITDIR");
	return e && *e ? e : SX_PREFIX "/lib/systemd/system";
}
