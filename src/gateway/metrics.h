/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * metrics.h - the gateway's counters and histograms, rendered in the
 * Prometheus text exposition format on /metrics.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SX_HIST_BUCKETS 14

struct sx_histogram {
	uint64_t counts[SX_HIST_BUCKETS + 1]; /* last: +Inf */
	double sum;
	uint64_t count;
};

struct sx_labelled {
	struct sx_labelled *next;
	char *labels; /* rendered: provider="x",status="200" */
	uint64_t value;
};

struct sx_metrics {
	struct sx_labelled *requests; /* by provider and status */
	struct sx_labelled *upstream_errors; /* by kind */
	struct sx_histogram request_seconds, first_byte_seconds;
	uint64_t bytes_in, bytes_out; /* request bodies in, response bodies out */
	uint64_t capture_records, capture_errors; /* atomic: the recorder thread adds */
	uint64_t capture_queued; /* atomic: calls ended whose record is not written yet */
	uint64_t capture_inline; /* atomic: records the proxy's thread wrote itself (backlog full) */
	struct sx_labelled *egress; /* egress decisions by kind and decision */
	uint64_t egress_bytes_up, egress_bytes_down;
	unsigned egress_open; /* tunnels and forwards in progress (set before rendering) */
};

void sx_histogram_observe(struct sx_histogram *h, double seconds);
/* Adds one to the counter with these labels (formatted), creating it. */
void sx_labelled_inc(struct sx_labelled **list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t sx_labelled_get(const struct sx_labelled *list, const char *labels);
void sx_metrics_free(struct sx_metrics *m);
/* Writes the exposition; open_calls is the gauge of open streams. */
void sx_metrics_render(const struct sx_metrics *m, unsigned open_calls, FILE *out);
