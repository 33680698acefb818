/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * llmreq.c - the LLM proxy's decisions about a request, kept apart from
 * the sockets (llmproxy.c, httpserv.c, upclient.c) so that what the
 * sandbox sends can be fuzzed without a network: the route, the token, the
 * headers passed upstream and the record's head.  See llmreq.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/jsonraw.h"
#include "../lib/jsonutil.h"
#include "../lib/util.h"
#include "llmreq.h"

int sx_llm_split_route(const char *uri, char **provider, char **rest)
{
	const char *p = uri + 1, *end;

	if (uri[0] != '/')
		return -EINVAL;
	end = p + strcspn(p, "/?");
	if (end == p)
		return -EINVAL;
	*provider = strndup(p, (size_t)(end - p));
	*rest = strdup(end);
	if (!*provider || !*rest) {
		free(*provider);
		free(*rest);
		*provider = *rest = NULL;
		return -ENOMEM;
	}
	return 0;
}

bool sx_llm_token_ok(const char *authorization, const char *x_api_key, const char *want)
{
	const char *got = NULL;
	size_t n;
	unsigned char diff = 0;

	if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0)
		got = authorization + 7;
	else if (x_api_key)
		got = x_api_key;
	if (!got || !want || strlen(got) != (n = strlen(want)))
		return false;
	for (size_t i = 0; i < n; i++) /* constant time */
		diff |= (unsigned char)(got[i] ^ want[i]);
	return diff == 0;
}

/* True when name is an HTTP field name (RFC 9110 token: visible ASCII
 * except delimiters).  http-parser takes most bytes before the colon. */
static bool token(const char *name)
{
	if (!*name)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p))
			return false;
	return true;
}

int sx_llm_forward_header(const char *name, const char *value, char **ret_line)
{
	static const char *const skip[] = {"host",
					   "content-length",
					   "transfer-encoding",
					   "connection",
					   "keep-alive",
					   "proxy-connection",
					   "te",
					   "trailer",
					   "upgrade",
					   "expect",
					   "authorization",
					   "x-api-key",
					   "accept-encoding",
					   "x-sentrix-run"};

	*ret_line = NULL;
	if (!token(name))
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(skip); i++)
		if (strcasecmp(name, skip[i]) == 0)
			return 0;
	*ret_line = sx_strdupf("%s: %s", name, value ? value : "");
	if (!*ret_line)
		return -ENOMEM;
	/* A header value may hold a bare CR (http-parser ends lines at LF);
	 * the upstream client sends a header line as it is given.  An upstream (or
	 * a proxy in front of it) that ends lines at CR would read what
	 * follows the CR as another header: a request smuggled past this
	 * filter.  RFC 9110 section 5.5: replace CR, LF and NUL in a field
	 * value with SP before forwarding it. */
	for (char *p = *ret_line; (p = strpbrk(p, "\r\n"));)
		*p = ' ';
	return 1;
}

char *sx_llm_upstream_url(const char *base_url, const char *endpoint)
{
	size_t blen = strlen(base_url);

	while (blen && base_url[blen - 1] == '/')
		blen--;
	return sx_strdupf("%.*s%s", (int)blen, base_url, endpoint);
}

/* The request as the record embeds it: the body's own text, compacted
 * (one pass, no tree), when it is JSON whose "model" has no escapes; else
 * parsed (a body that is not JSON becomes a string).  *model and *stream
 * come from its top level. */
static cJSON *request_item(const char *body, size_t len, char **model, bool *stream)
{
	struct sx_json_top top;
	cJSON *req, *m;
	int r;

	*model = NULL;
	*stream = false;
	if (!len)
		return NULL;
	r = sx_json_compact_raw(body, len, SX_JSON_EMBED_DEPTH, &req, &top);
	if (r == -ENOMEM)
		return NULL;
	if (r == 0 && !top.model_escaped) {
		*model = top.model;
		*stream = top.stream;
		return req;
	}
	cJSON_Delete(req);
	free(top.model);
	/* A body nested deeper than a record can hold is kept as its text,
	 * like one that is not JSON: embedded, it made the record unreadable
	 * (`sentrix logs` skipped it, a crash repair cut the file there). */
	req = sx_json_parse_depth(body, len, SX_JSON_EMBED_DEPTH);
	if (!req) {
		_cleanup_free_ char *s = strndup(body, len);
		return s ? cJSON_CreateString(s) : NULL;
	}
	m = cJSON_GetObjectItemCaseSensitive(req, "model");
	if (cJSON_IsString(m))
		*model = strdup(m->valuestring);
	*stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "stream"));
	return req;
}

static cJSON *head_string(const struct sx_llm_head *in, const char *s)
{
	return in->borrow ? cJSON_CreateStringReference(s) : cJSON_CreateString(s);
}

cJSON *sx_llm_record_head(const struct sx_llm_head *in)
{
	cJSON *h = cJSON_CreateObject(), *req;
	_cleanup_free_ char *model = NULL;
	bool stream;

	if (!h)
		return NULL;
	req = request_item(in->body, in->body_len, &model, &stream);
	/* The names are literals: added without a copy (cJSON_AddItemToObjectCS). */
	cJSON_AddItemToObjectCS(h, "timestamp", head_string(in, in->timestamp));
	cJSON_AddItemToObjectCS(h, "id", head_string(in, in->id));
	cJSON_AddItemToObjectCS(h, "instance", head_string(in, in->instance));
	cJSON_AddItemToObjectCS(h, "run_id", in->run_id ? head_string(in, in->run_id) : cJSON_CreateNull());
	cJSON_AddItemToObjectCS(h, "provider", head_string(in, in->provider));
	cJSON_AddItemToObjectCS(h, "model", model ? cJSON_CreateString(model) : cJSON_CreateNull());
	cJSON_AddItemToObjectCS(h, "endpoint", head_string(in, in->endpoint));
	cJSON_AddItemToObjectCS(h, "method", head_string(in, in->method));
	cJSON_AddItemToObjectCS(h, "stream", cJSON_CreateBool(stream));
	cJSON_AddItemToObjectCS(h, "request", req ? req : cJSON_CreateNull());
	return h;
}
