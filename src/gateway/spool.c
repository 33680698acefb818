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
#include <sys/uio.h>
#include <unistd.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "spool.h"

/* Spool files are reused: creating and unlinking a file per call cost more
 * CPU than the rest of the proxying together (ext4 inode allocation, see
 * bench/llm.sh), so a finished call's file is truncated and kept for the
 * next one.  An empty file is a free slot; recovery ignores it. */
#define SPOOL_IDLE_MAX 256

struct slot {
	int fd;
	char *path;
};
static struct slot idle[SPOOL_IDLE_MAX];
static size_t n_idle;
static unsigned long next_slot;

int sx_spool_create(const char *dir, const char *head, char **ret_path)
{
	struct slot s = {.fd = -EBADF};
	struct iovec iov[2] = {{(void *)head, strlen(head)}, {(void *)"\n", 1}};
	ssize_t want = (ssize_t)(iov[0].iov_len + 1);

	if (n_idle)
		s = idle[--n_idle];
	else {
		s.path = sx_strdupf("%s/spool/slot-%lu", dir, next_slot++);
		if (!s.path)
			return -ENOMEM;
		s.fd = open(s.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
		if (s.fd < 0) {
			int r = -errno;
			free(s.path);
			return r;
		}
	}
	if (writev(s.fd, iov, 2) != want) {
		int r = errno ? -errno : -EIO;
		sx_spool_release(s.fd, s.path);
		return r;
	}
	*ret_path = s.path;
	return s.fd;
}

void sx_spool_release(int fd, char *path)
{
	if (ftruncate(fd, 0) == 0 && n_idle < SPOOL_IDLE_MAX) {
		idle[n_idle++] = (struct slot){fd, path};
		return;
	}
	close(fd);
	unlink(path);
	free(path);
}

int sx_spool_status(int fd, long status, bool sse)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "status %ld %s\n", status, sse ? "sse" : "body");
	return sx_write_all(fd, line, (size_t)n);
}

int sx_spool_body(int fd, const void *data, size_t len)
{
	return sx_write_all(fd, data, len);
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

void sx_spool_drop_idle(void)
{
	for (size_t i = 0; i < n_idle; i++) {
		close(idle[i].fd);
		unlink(idle[i].path);
		free(idle[i].path);
		idle[i].path = NULL;
	}
	n_idle = 0;
}
