/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * spool.c - per-call spool files (layout in spool.h).  Writes are plain
 * write(2)s without fsync: they survive the process being killed, which is
 * what recovery needs; power loss loses at most the calls in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "spool.h"

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sx_spool_create(const char *dir, const char *id, const char *head, char **ret_path)
{
	_cleanup_free_ char *path = sx_strdupf("%s/spool/%s", dir, id);
	int fd, r;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, head, strlen(head));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (r < 0) {
		close(fd);
		unlink(path);
		return r;
	}
	*ret_path = TAKE_PTR(path);
	return fd;
}

int sx_spool_status(int fd, long status, bool sse)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "status %ld %s\n", status, sse ? "sse" : "body");
	return write_all(fd, line, (size_t)n);
}

int sx_spool_body(int fd, const void *data, size_t len)
{
	return write_all(fd, data, len);
}

int sx_spool_read(const char *path, cJSON **head, long *status, bool *sse, char **body, size_t *len)
{
	_cleanup_free_ char *text = NULL, *why = NULL;
	size_t n;
	char *nl, *rest, kind[8] = "";
	int r;

	r = sx_read_file(path, &text, &n);
	if (r < 0)
		return r;
	nl = memchr(text, '\n', n);
	if (!nl)
		return -EBADMSG; /* killed before the head was written */
	*nl = 0;
	r = sx_json_parse(text, head, &why);
	if (r < 0)
		return -EBADMSG;
	rest = nl + 1;
	*status = -1;
	*sse = false;
	nl = memchr(rest, '\n', n - (size_t)(rest - text));
	if (nl && strncmp(rest, "status ", 7) == 0) {
		*nl = 0;
		if (sscanf(rest, "status %ld %7s", status, kind) == 2) {
			*sse = streq(kind, "sse");
			rest = nl + 1;
		} else
			*status = -1;
	}
	*len = n - (size_t)(rest - text);
	*body = malloc(*len + 1);
	if (!*body) {
		cJSON_Delete(*head);
		return -ENOMEM;
	}
	memcpy(*body, rest, *len);
	(*body)[*len] = 0;
	return 0;
}
