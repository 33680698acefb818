/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * llmreq.h - what the LLM proxy decides from a request's URI, headers and
 * body, as pure functions: the route, the token check, which headers go
 * upstream, the upstream URL and the record's head.  llmproxy.c calls them
 * with what httpserv.c parsed; tests/fuzz/fuzz-llm.c calls them the same
 * way on fuzzed requests.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define SX_LLM_BODY_MAX (32 * 1024 * 1024) /* request bodies; OpenClaw sends ~50 KB */

/* Splits "/PROVIDER/rest?query" into provider ("PROVIDER") and rest
 * ("/rest?query"), both for the caller to free.  Returns 0, -EINVAL when
 * uri does not start with "/PROVIDER", or -ENOMEM. */
int sx_llm_split_route(const char *uri, char **provider, char **rest);

/* True when the request carries the instance token want, as
 * "Authorization: Bearer TOKEN" or else "x-api-key: TOKEN" (either header
 * may be NULL); compared in constant time.  A NULL want matches nothing. */
bool sx_llm_token_ok(const char *authorization, const char *x_api_key, const char *want);

/* The header line "name: value" to send upstream for a request header, in
 * *ret_line (caller frees), or NULL when the header is not forwarded:
 * hop-by-hop headers, Host, Content-Length, Expect, Accept-Encoding (the
 * capture needs plain text), X-Sentrix-Run, the sandbox's credential, and
 * a name that is not an HTTP token.  CR and LF in the value become spaces.
 * value may be NULL (an empty value).  Returns 1 with a line, 0 without,
 * or -ENOMEM. */
int sx_llm_forward_header(const char *name, const char *value, char **ret_line);

/* The upstream URL: base_url without its trailing slashes, then endpoint
 * (the rest of the route, query included).  NULL when out of memory. */
char *sx_llm_upstream_url(const char *base_url, const char *endpoint);

/* What a record's head is made of (docs/capture-format.md). */
struct sx_llm_head {
	const char *timestamp; /* UTC, sx_utc_stamp() */
	const char *id, *instance, *provider, *endpoint, *method;
	const char *run_id; /* X-Sentrix-Run, or NULL */
	const char *body; /* the request body, body_len bytes (not NUL-terminated) */
	size_t body_len;
	/* The strings above outlive the head: it points at them rather than
	 * copying them (three allocations and a strlen per member were a
	 * tenth of a small call's record). */
	bool borrow;
};

/* The record's head: the fields above, "model" and "stream" read from the
 * body, and "request": the body as JSON when it is JSON, else as a string,
 * null when empty.  NULL when out of memory. */
cJSON *sx_llm_record_head(const struct sx_llm_head *h);
