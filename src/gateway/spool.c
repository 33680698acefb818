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
#include "llmreq.h"
#include "spool.h"

/* Spool files are reused: creating and unlinking a file per call cost more
 * CPU than the rest of the proxying together (ext4 inode allocation, see
 * bench/llm.sh), so a finished call's file is truncated and kept for the
 * next one.  An empty file is a free slot; recovery ignores it. */
#define SPOOL_IDLE_MAX 256

struct sx_spool {
	char *dir; /* DIR/spool */
	struct sx_spool_file idle[SPOOL_IDLE_MAX];
	size_t n_idle;
	unsigned long next_slot;
};

int sx_spool_new(const char *dir, struct sx_spool **ret)
{
	struct sx_spool *s = calloc(1, sizeof(*s));

	if (!s || !(s->dir = sx_strdupf("%s/spool", dir))) {
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

void sx_spool_free(struct sx_spool *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_idle; i++) {
		close(s->idle[i].fd);
		unlink(s->idle[i].path);
		free(s->idle[i].path);
	}
	free(s->dir);
	free(s);
}

int sx_spool_open(struct sx_spool *s, const char *meta, const void *request, size_t request_len,
		  struct sx_spool_file *f)
{
	struct sx_spool_file t = {.fd = -1};
	struct iovec iov[4] = {{(void *)meta, strlen(meta)},
			       {(void *)"\n", 1},
			       {(void *)request, request_len},
			       {(void *)"\n", 1}};
	size_t want = iov[0].iov_len + 2 + request_len;

	if (s->n_idle)
		t = s->idle[--s->n_idle];
	else {
		t.path = sx_strdupf("%s/slot-%lu", s->dir, s->next_slot++);
		if (!t.path)
			return -ENOMEM;
		t.fd = open(t.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
		if (t.fd < 0) {
			int r = -errno;
			free(t.path);
			return r;
		}
	}
	if (sx_writev_all(t.fd, iov, 4, want) < 0) {
		int r = errno ? -errno : -EIO;
		sx_spool_release(s, &t);
		return r;
	}
	*f = t;
	return 0;
}

void sx_spool_release(struct sx_spool *s, struct sx_spool_file *f)
{
	if (f->fd < 0)
		return;
	if (ftruncate(f->fd, 0) == 0 && s->n_idle < SPOOL_IDLE_MAX)
		s->idle[s->n_idle++] = *f;
	else {
		close(f->fd);
		unlink(f->path);
		free(f->path);
	}
	*f = (struct sx_spool_file){.fd = -1};
}

int sx_spool_status(struct sx_spool_file *f, long status, bool sse, const void *body, size_t len)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "status %ld %s\n", status, sse ? "sse" : "body");
	struct iovec iov[2] = {{line, (size_t)n}, {(void *)body, len}};
	return sx_writev_all(f->fd, iov, 2, (size_t)n + len);
}

int sx_spool_body(struct sx_spool_file *f, const void *data, size_t len)
{
	return sx_write_all(f->fd, data, len);
}

/* The head: the meta line's fields and the raw request made into what a
 * live call's record starts with. */
static cJSON *read_head(const cJSON *meta, const char *request, size_t len)
{
	struct sx_llm_head h = {
	    .timestamp = sx_json_str(meta, "timestamp") ?: "",
	    .id = sx_json_str(meta, "id") ?: "",
	    .instance = sx_json_str(meta, "instance") ?: "",
	    .provider = sx_json_str(meta, "provider") ?: "",
	    .endpoint = sx_json_str(meta, "endpoint") ?: "",
	    .method = sx_json_str(meta, "method") ?: "",
	    .run_id = sx_json_str(meta, "run_id"),
	    .body = request,
	    .body_len = len,
	};
	return sx_llm_record_head(&h);
}

int sx_spool_read(const char *path, cJSON **head, size_t *request_bytes, long *status, bool *sse,
		  char **body, size_t *len)
{
	_cleanup_free_ char *text = NULL, *why = NULL;
	_cleanup_cjson_ cJSON *meta = NULL;
	const cJSON *rb;
	size_t n, req_len;
	char *nl, *rest, *req, kind[8] = "";
	int r;

	r = sx_read_file(path, &text, &n);
	if (r < 0)
		return r;
	nl = memchr(text, '\n', n);
	if (!nl)
		return -EBADMSG; /* killed before the head was written */
	*nl = 0;
	if (sx_json_parse(text, &meta, &why) < 0)
		return -EBADMSG;
	rb = cJSON_GetObjectItem(meta, "request_bytes");
	if (!cJSON_IsNumber(rb) || rb->valuedouble < 0)
		return -EBADMSG;
	req_len = (size_t)rb->valuedouble;
	req = nl + 1;
	if (req_len + 1 > n - (size_t)(req - text) || req[req_len] != '\n')
		return -EBADMSG; /* killed while the head was written */
	*head = read_head(meta, req, req_len);
	if (!*head)
		return -ENOMEM;
	*request_bytes = req_len;
	rest = req + req_len + 1;
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
		*head = NULL;
		return -ENOMEM;
	}
	memcpy(*body, rest, *len);
	(*body)[*len] = 0;
	return 0;
}
