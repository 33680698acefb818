/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * health.c - GET /health (JSON) and GET /metrics (Prometheus text) on
 * HOST_IP:health_port.  nftables keeps the sandbox away from this port;
 * `sentrix sandbox status` reads /health.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/jsonutil.h"
#include "../lib/util.h"
#include "bridge.h"
#include "patrol.h"
#include "capture.h"
#include "egress.h"
#include "gateway.h"
#include "httpd.h"

static char *health_json(struct sx_gateway *g)
{
	_cleanup_cjson_ cJSON *j = cJSON_CreateObject();
	cJSON *providers;
	struct timespec ts;

	if (!j)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	cJSON_AddStringToObject(j, "state", g->stopping ? "stopping" : "ready");
	cJSON_AddStringToObject(j, "instance", g->name);
	cJSON_AddStringToObject(j, "version", SX_VERSION);
	cJSON_AddNumberToObject(
	    j, "uptime_s",
	    (double)((uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000 - g->started_usec) / 1e6);
	cJSON_AddNumberToObject(j, "open_streams", g->open_calls);
	cJSON_AddNumberToObject(j, "upstreams", (double)g->config->n_providers);
	providers = cJSON_AddArrayToObject(j, "providers");
	for (size_t i = 0; providers && i < g->config->n_providers; i++)
		cJSON_AddItemToArray(providers, cJSON_CreateString(g->config->providers[i].name));
	cJSON_AddStringToObject(j, "capture_file", sx_capture_path(g->capture));
	cJSON_AddNumberToObject(j, "capture_records", (double)sx_capture_records(g->capture));
	const char *err = g->last_error ? g->last_error : sx_patrol_error(g->patrol);
	cJSON_AddItemToObject(j, "last_error", err ? cJSON_CreateString(err) : cJSON_CreateNull());
	sx_bridge_health(g->bridge, j);
	return cJSON_PrintUnformatted(j);
}

static char *metrics_text(struct sx_gateway *g, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	g->metrics.egress_open = sx_egress_open(g->egress); /* a gauge: read when asked */
	sx_metrics_render(&g->metrics, g->open_calls, f);
	sx_bridge_metrics(g->bridge, f);
	if (g->patrol)
		sx_patrol_metrics(g->patrol, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *type, char *body,
				 size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				 const char *version, const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct sx_gateway *g = cls;
	char *body;
	size_t len = 0;

	if (!streq(method, "GET") && !streq(method, "HEAD"))
		return send_text(conn, 405, "text/plain", strdup("GET only\n"), 9);
	if (streq(url, "/health")) {
		body = health_json(g);
		return body ? send_text(conn, g->stopping ? 503 : 200, "application/json", body, strlen(body))
			    : MHD_NO;
	}
	if (streq(url, "/metrics")) {
		body = metrics_text(g, &len);
		return body ? send_text(conn, 200, "text/plain; version=0.0.4", body, len) : MHD_NO;
	}
	return send_text(conn, 404, "text/plain", strdup("try /health or /metrics\n"), 24);
}

int sx_health_start(struct sx_gateway *g)
{
	struct sx_httpd_handlers h = {.access = on_access, .cls = g};
	return sx_httpd_start(g->loop, "health", g->listen_host, g->config->health_port, &h, &g->health);
}
