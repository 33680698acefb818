/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * metrics.c - counters and fixed-bucket histograms; rendering follows the
 * Prometheus text format 0.0.4 (HELP, TYPE, _bucket{le=...}, _sum, _count).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "metrics.h"

/* Seconds; LLM calls span milliseconds (errors) to minutes (long streams). */
static const double bucket_le[SX_HIST_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						  0.1,	  0.25,	 0.5,	 1,	2.5,  10,    60};

void sx_histogram_observe(struct sx_histogram *h, double seconds)
{
	size_t i = 0;
	while (i < SX_HIST_BUCKETS && seconds > bucket_le[i])
		i++;
	h->counts[i]++;
	h->sum += seconds;
	h->count++;
}

void sx_labelled_inc(struct sx_labelled **list, const char *fmt, ...)
{
	char labels[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(labels, sizeof(labels), fmt, ap);
	va_end(ap);
	for (struct sx_labelled *l = *list; l; l = l->next)
		if (streq(l->labels, labels)) {
			l->value++;
			return;
		}
	struct sx_labelled *n = calloc(1, sizeof(*n));
	if (!n || !(n->labels = strdup(labels))) {
		free(n);
		return; /* out of memory: the count is lost, nothing else */
	}
	n->value = 1;
	n->next = *list;
	*list = n;
}

uint64_t sx_labelled_get(const struct sx_labelled *list, const char *labels)
{
	for (; list; list = list->next)
		if (streq(list->labels, labels))
			return list->value;
	return 0;
}

static void free_list(struct sx_labelled *l)
{
	while (l) {
		struct sx_labelled *next = l->next;
		free(l->labels);
		free(l);
		l = next;
	}
}

void sx_metrics_free(struct sx_metrics *m)
{
	free_list(m->requests);
	free_list(m->upstream_errors);
	free_list(m->egress);
	m->requests = m->upstream_errors = m->egress = NULL;
}

static void render_counter(FILE *out, const char *name, const char *help, uint64_t v)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
		(unsigned long long)v);
}

static void render_labelled(FILE *out, const char *name, const char *help, const struct sx_labelled *l)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (; l; l = l->next)
		fprintf(out, "%s{%s} %llu\n", name, l->labels, (unsigned long long)l->value);
}

static void render_histogram(FILE *out, const char *name, const char *help, const struct sx_histogram *h)
{
	uint64_t cumulative = 0;

	fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < SX_HIST_BUCKETS; i++) {
		cumulative += h->counts[i];
		fprintf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bucket_le[i],
			(unsigned long long)cumulative);
	}
	cumulative += h->counts[SX_HIST_BUCKETS];
	fprintf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
		(unsigned long long)cumulative, name, h->sum, name, (unsigned long long)h->count);
}

void sx_metrics_render(const struct sx_metrics *m, unsigned open_calls, FILE *out)
{
	render_labelled(out, "sentrix_llm_requests_total", "LLM proxy requests by provider and status",
			m->requests);
	fprintf(out,
		"# HELP sentrix_llm_open_streams Calls in progress\n# TYPE sentrix_llm_open_streams gauge\n"
		"sentrix_llm_open_streams %u\n",
		open_calls);
	render_histogram(out, "sentrix_llm_request_duration_seconds",
			 "Whole call, request start to last byte", &m->request_seconds);
	render_histogram(out, "sentrix_llm_first_byte_seconds",
			 "Request start to the upstream's first body byte", &m->first_byte_seconds);
	render_counter(out, "sentrix_llm_request_bytes_total", "Request body bytes from the sandbox",
		       m->bytes_in);
	render_counter(out, "sentrix_llm_response_bytes_total", "Response body bytes from upstreams",
		       m->bytes_out);
	render_counter(out, "sentrix_capture_records_total", "Records written to capture files",
		       m->capture_records);
	render_counter(out, "sentrix_capture_errors_total", "Records that could not be written",
		       m->capture_errors);
	fprintf(out,
		"# HELP sentrix_capture_queued Calls ended whose record the recorder has not written yet\n"
		"# TYPE sentrix_capture_queued gauge\nsentrix_capture_queued %llu\n",
		(unsigned long long)__atomic_load_n(&m->capture_queued, __ATOMIC_RELAXED));
	render_counter(out, "sentrix_capture_inline_total",
		       "Records the proxy's thread wrote itself: the recorder's backlog was full",
		       __atomic_load_n(&m->capture_inline, __ATOMIC_RELAXED));
	render_labelled(out, "sentrix_llm_upstream_errors_total", "Upstream failures by kind",
			m->upstream_errors);
	render_labelled(out, "sentrix_egress_decisions_total",
			"Egress proxy and filtered DNS decisions by kind and decision", m->egress);
	fprintf(out,
		"# HELP sentrix_egress_open Egress tunnels and forwards in progress\n"
		"# TYPE sentrix_egress_open gauge\nsentrix_egress_open %u\n",
		m->egress_open);
	render_counter(out, "sentrix_egress_bytes_up_total",
		       "Bytes from the sandbox through the egress proxy", m->egress_bytes_up);
	render_counter(out, "sentrix_egress_bytes_down_total",
		       "Bytes to the sandbox through the egress proxy", m->egress_bytes_down);
}
