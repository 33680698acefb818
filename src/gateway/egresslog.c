/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * egresslog.c - egress.jsonl: every egress decision, one JSON object per
 * line, appended with one write(2) so lines never interleave.  Decisions
 * are also counted in /metrics by kind and decision.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "egresslog.h"

struct sx_egresslog {
	int fd;
	struct sx_metrics *metrics;
};

int sx_egresslog_open(const char *dir, struct sx_metrics *m, struct sx_egresslog **ret)
{
	_cleanup_free_ char *path = sx_strdupf("%s/egress.jsonl", dir);
	struct sx_egresslog *l;

	if (!path || !(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	l->metrics = m;
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (l->fd < 0) {
		int r = -errno;
		free(l);
		return log_error_errno(r, "cannot open the egress audit file %s", path);
	}
	*ret = l;
	return 0;
}

void sx_egresslog_close(struct sx_egresslog *l)
{
	if (!l)
		return;
	safe_close(l->fd);
	free(l);
}

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

char *sx_egresslog_line(const struct sx_egress_event *e, const char *time)
{
	_cleanup_cjson_ cJSON *j = cJSON_CreateObject();
	_cleanup_free_ char *text = NULL;

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "time", time);
	cJSON_AddItemToObject(j, "run_id", str_or_null(e->run_id));
	cJSON_AddStringToObject(j, "kind", e->kind);
	cJSON_AddItemToObject(j, "host", str_or_null(e->host));
	cJSON_AddNumberToObject(j, "port", e->port);
	cJSON_AddItemToObject(j, "address", str_or_null(e->address));
	cJSON_AddStringToObject(j, "decision", e->decision);
	cJSON_AddItemToObject(j, "reason", str_or_null(e->reason));
	if (e->detail)
		cJSON_AddStringToObject(j, streq(e->kind, "dns") ? "qtype" : "method", e->detail);
	cJSON_AddNumberToObject(j, "status", e->status);
	cJSON_AddNumberToObject(j, "bytes_up", (double)e->bytes_up);
	cJSON_AddNumberToObject(j, "bytes_down", (double)e->bytes_down);
	cJSON_AddNumberToObject(j, "duration_ms", (double)e->duration_ms);
	/* The run id comes from the sandbox as bytes, cut at 64: invalid
	 * UTF-8 would make the line invalid JSON for strict readers. */
	text = sx_utf8_clean(cJSON_PrintUnformatted(j));
	return text ? sx_strdupf("%s\n", text) : NULL;
}

void sx_egresslog_write(struct sx_egresslog *l, const struct sx_egress_event *e)
{
	_cleanup_free_ char *line = NULL;
	struct sx_metrics *m;
	char stamp[40];

	if (!l)
		return;
	m = l->metrics;
	sx_labelled_inc(&m->egress, "kind=\"%s\",decision=\"%s\"", e->kind, e->decision);
	m->egress_bytes_up += e->bytes_up;
	m->egress_bytes_down += e->bytes_down;
	sx_utc_stamp(stamp);
	line = sx_egresslog_line(e, stamp);
	if (!line || sx_write_all(l->fd, line, strlen(line)) < 0)
		log_warn("cannot append to egress.jsonl: %s decision for %s not recorded", e->decision,
			 e->host ? e->host : "?");
}
