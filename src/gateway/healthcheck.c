/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * healthcheck.c - `sentrix-gateway --health --name NAME`: asks a running
 * gateway for /health and prints the answer.  `sentrix sandbox status`
 * runs it, so the setup binary never speaks HTTP itself.
 *
 * Exit status: 0 ready, 1 answering but not ready (or a bad answer),
 * 3 nothing listening (the gateway is not running).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/config.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "gateway.h"

struct answer {
	char *p;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *userp)
{
	struct answer *a = userp;
	size_t len = size * n;
	char *p;
	if (a->len + len > 64 * 1024)
		return 0;
	p = realloc(a->p, a->len + len + 1);
	if (!p)
		return 0;
	memcpy(p + a->len, data, len);
	a->p = p;
	a->len += len;
	a->p[a->len] = 0;
	return len;
}

int sx_gateway_healthcheck(const char *config_path, const char *listen_host)
{
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_free_ char *why = NULL, *url = NULL;
	_cleanup_cjson_ cJSON *j = NULL;
	struct answer a = {0};
	long status = 0;
	CURLcode res;
	CURL *e;
	int r;

	r = sx_config_load_path(config_path, &c, &why);
	if (r < 0) {
		log_error("cannot load %s: %s", config_path, why ? why : strerror(-r));
		return 1;
	}
	url = sx_strdupf("http://%s:%u/health", listen_host ? listen_host : c->host_ip, c->health_port);
	e = curl_easy_init();
	if (!url || !e)
		return 1;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 3000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &a);
	res = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	if (res == CURLE_COULDNT_CONNECT) {
		printf("{\"state\":\"not running\",\"url\":\"%s\"}\n", url);
		free(a.p);
		return 3;
	}
	if (res != CURLE_OK) {
		printf("{\"state\":\"unreachable\",\"url\":\"%s\",\"error\":\"%s\"}\n", url,
		       curl_easy_strerror(res));
		free(a.p);
		return 1;
	}
	if (a.p && sx_json_parse(a.p, &j, &why) == 0)
		printf("%s\n", a.p);
	else
		printf("{\"state\":\"bad answer\",\"url\":\"%s\",\"status\":%ld}\n", url, status);
	free(a.p);
	return status == 200 && j && streq_ptr(sx_json_str(j, "state"), "ready") ? 0 : 1;
}
