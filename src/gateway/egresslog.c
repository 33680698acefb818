/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * egresslog.c - egress.jsonl: every egress decision, one JSON object per
 * line, appended with one write(2) so lines never interleave.  Decisions
 * are also counted in /metrics by kind and decision.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "egresslog.h"

static int log_fd = -EBADF;

int sx_egresslog_open(const char *dir)
{
	_cleanup_free_ char *path = sx_strdupf("%s/egress.jsonl", dir);

	if (!path)
		return -ENOMEM;
	log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (log_fd < 0)
		return log_error_errno(-errno, "cannot open the egress audit file %s", path);
	return 0;
}

void sx_egresslog_close(void)
{
	log_fd = safe_close(log_fd);
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

void sx_egresslog_write(struct sx_metrics *m, const struct sx_egress_event *e)
{
	_cleanup_free_ char *line = NULL;
	char stamp[40];

	sx_labelled_inc(&m->egress, "kind=\"%s\",decision=\"%s\"", e->kind, e->decision);
	m->egress_bytes_up += e->bytes_up;
	m->egress_bytes_down += e->bytes_down;
	if (log_fd < 0)
		return;
	sx_utc_stamp(stamp);
	line = sx_egresslog_line(e, stamp);
	if (!line || sx_write_all(log_fd, line, strlen(line)) < 0)
		log_warn("cannot append to egress.jsonl: %s decision for %s not recorded", e->decision,
			 e->host ? e->host : "?");
}
