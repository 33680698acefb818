/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * egresslog.h - the egress audit: one JSON line per decision of the egress
 * proxy and the filtered DNS forwarder in /var/log/sentrix/NAME/egress.jsonl
 * (format: docs/egress-format.md), and the matching /metrics counters.
 */
#pragma once

#include <stdint.h>

#include "metrics.h"

struct sx_egress_event {
	const char *kind; /* "connect" (CONNECT), "http" (plain HTTP forward), "dns" */
	const char *run_id; /* X-Sentrix-Run, or NULL */
	const char *host; /* as asked (normalized when it is a name), or NULL */
	unsigned port; /* 0 for dns */
	const char *address; /* the address connected to / answered, or NULL */
	const char *decision; /* "allowed", "refused" or "failed" */
	const char *reason; /* one line; NULL when allowed */
	const char *detail; /* dns: the query type; http: the method; or NULL */
	unsigned status; /* HTTP status sent to the client (dns: 0) */
	uint64_t bytes_up, bytes_down; /* client -> server, server -> client */
	uint64_t duration_ms;
};

/* The audit file of one gateway, DIR/egress.jsonl, and the metrics its
 * decisions are counted in. */
struct sx_egresslog;

/* Opens DIR/egress.jsonl for appending.  Returns 0 or a negative errno
 * after logging. */
int sx_egresslog_open(const char *dir, struct sx_metrics *m, struct sx_egresslog **ret);
void sx_egresslog_close(struct sx_egresslog *l);

/* The audit line for e at time (UTC, sx_utc_stamp()): one JSON object and
 * a newline (caller frees), or NULL when out of memory. */
char *sx_egresslog_line(const struct sx_egress_event *e, const char *time);

/* Appends one line (a single write) and counts the decision. */
void sx_egresslog_write(struct sx_egresslog *l, const struct sx_egress_event *e);
