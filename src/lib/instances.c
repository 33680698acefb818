/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * instances.c - enumerate instances from /etc/sentrix.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "instances.h"
#include "paths.h"
#include "strv.h"
#include "util.h"

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sx_instances_list(char ***ret)
{
	char **v = calloc(1, sizeof(char *));
	struct dirent *de;
	DIR *d;

	if (!v)
		return -ENOMEM;
	d = opendir(SX_ETC_DIR);
	if (!d) {
		*ret = v;
		return errno == ENOENT ? 0 : -errno;
	}
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL;
		if (!sx_name_valid(de->d_name))
			continue;
		p = sx_strdupf(SX_ETC_DIR "/%s/config.json", de->d_name);
		if (p && sx_path_exists(p) && sx_strv_push(&v, de->d_name) < 0) {
			closedir(d);
			sx_strv_free(v);
			return -ENOMEM;
		}
	}
	closedir(d);
	qsort(v, sx_strv_length(v), sizeof(char *), cmp);
	*ret = v;
	return 0;
}
