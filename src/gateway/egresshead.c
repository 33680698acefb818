/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * egresshead.c - the egress proxy's request head, from bytes to a verdict.
 *
 * http-parser reads the head as it arrives (it may come in many reads);
 * its callbacks only note where the URL and each header name and value
 * sit in the buffer, so nothing is copied until the head is whole.  Then
 * the target is taken apart with http-parser's URL parser and judged with
 * the allowlist rules (src/lib/allowlist.c).  Kept apart from the sockets
 * and the loop (egress.c) so the bytes the sandbox sends can be fuzzed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/util.h"
#include "egresshead.h"

/* Adds the len bytes at `at` to span s.  http-parser hands a URL, a name
 * or a value over in pieces, one per read, which follow each other in the
 * buffer; a piece that does not start where the span ends skipped bytes:
 * obsolete line folding (a value continued on a line starting with a
 * blank), whose CR LF the span would swallow.  Refused (RFC 9112 5.2 lets
 * a proxy refuse it): forwarded, the CR LF would end the rewritten head
 * early, our "Connection: close" would become body, and the bytes after it
 * a second request for any host on that server. */
static int span_add(struct sx_egress_head *h, struct sx_span *s, const char *at, size_t len)
{
	if (s->len && at != h->buf + s->off + s->len) {
		h->bad = "obsolete line folding in the request head";
		return 1;
	}
	if (!s->len)
		s->off = (size_t)(at - h->buf);
	s->len += len;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct sx_egress_head *h = p->data;
	return span_add(h, &h->url, at, len);
}

static int on_field(http_parser *p, const char *at, size_t len)
{
	struct sx_egress_head *h = p->data;
	if (h->in_value || h->n_headers == 0) {
		if (h->n_headers == SX_EGRESS_HEADERS_MAX)
			return 1;
		h->names[h->n_headers++] = (struct sx_span){(size_t)(at - h->buf), 0};
		h->in_value = false;
	}
	return span_add(h, &h->names[h->n_headers - 1], at, len);
}

static int on_value(http_parser *p, const char *at, size_t len)
{
	struct sx_egress_head *h = p->data;
	struct sx_span *v = &h->values[h->n_headers - 1];
	if (!h->in_value)
		*v = (struct sx_span){(size_t)(at - h->buf), 0};
	h->in_value = true;
	return span_add(h, v, at, len);
}

static int on_headers_complete(http_parser *p)
{
	struct sx_egress_head *h = p->data;
	h->done = true;
	return 2; /* stop here: what follows is relayed, not parsed */
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
};

void sx_egress_head_init(struct sx_egress_head *h)
{
	*h = (struct sx_egress_head){0};
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = h;
}

/* True when name (n bytes) is an HTTP field name: an RFC 9110 token,
 * visible ASCII except delimiters. */
static bool token(const char *name, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch <= 0x20 || ch >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", ch))
			return false;
	}
	return true;
}

/* What a complete head must be before it is judged and, for plain HTTP,
 * rewritten field by field: HTTP/1, header names that are tokens, values
 * without a line break.  http-parser is lenient on all three (a request
 * line without a version is HTTP/0.9 to it, yet headers follow), and each
 * would let the rewritten head say something else to the server than
 * what was judged.  Returns NULL or why not. */
static const char *head_problem(const struct sx_egress_head *h)
{
	if (h->parser.http_major != 1)
		return "only HTTP/1.0 and HTTP/1.1 requests are proxied";
	for (size_t i = 0; i < h->n_headers; i++) {
		if (!token(h->buf + h->names[i].off, h->names[i].len))
			return "a header name that is not a token";
		if (memchr(h->buf + h->values[i].off, '\r', h->values[i].len) ||
		    memchr(h->buf + h->values[i].off, '\n', h->values[i].len) ||
		    memchr(h->buf + h->values[i].off, 0, h->values[i].len))
			return "a line break in a header value";
	}
	return NULL;
}

int sx_egress_head_parse(struct sx_egress_head *h, size_t n, unsigned *status, const char **why)
{
	size_t before = h->len, parsed;

	h->len += n;
	parsed = http_parser_execute(&h->parser, &settings, h->buf + before, n);
	if (h->done) {
		h->head_len = before + parsed;
		if ((*why = head_problem(h))) {
			*status = 400;
			return -EBADMSG;
		}
		return 1;
	}
	if (HTTP_PARSER_ERRNO(&h->parser) != HPE_OK) {
		*status = 400;
		*why = h->bad ? h->bad : http_errno_description(HTTP_PARSER_ERRNO(&h->parser));
		return -EBADMSG;
	}
	if (h->len == sizeof(h->buf)) {
		*status = 431;
		*why = "request head larger than 16 KiB";
		return -EBADMSG;
	}
	return 0;
}

static const char *const hop_headers[] = {
    "proxy-connection", "proxy-authorization", "connection", "keep-alive", "x-sentrix-run", "host", NULL};

static bool hop_header(const char *name, size_t len)
{
	for (size_t i = 0; hop_headers[i]; i++)
		if (strlen(hop_headers[i]) == len && strncasecmp(name, hop_headers[i], len) == 0)
			return true;
	return false;
}

char *sx_egress_head_rewrite(const struct sx_egress_head *h, size_t *len)
{
	struct http_parser_url u;
	const char *url = h->buf + h->url.off, *path = "/", *query = "";
	int path_len = 1, query_len = 0;
	size_t size = 0;
	char *out = NULL;
	FILE *f;

	http_parser_url_init(&u);
	if (http_parser_parse_url(url, h->url.len, 0, &u) != 0)
		return NULL;
	if (u.field_set & (1 << UF_PATH))
		path = url + u.field_data[UF_PATH].off, path_len = u.field_data[UF_PATH].len;
	if (u.field_set & (1 << UF_QUERY))
		query = url + u.field_data[UF_QUERY].off - 1, query_len = u.field_data[UF_QUERY].len + 1;
	f = open_memstream(&out, &size);
	if (!f)
		return NULL;
	fprintf(f, "%s %.*s%.*s HTTP/%u.%u\r\nHost: %s", h->method, path_len, path, query_len, query,
		h->parser.http_major, h->parser.http_minor, h->host);
	if (h->port != 80)
		fprintf(f, ":%u", h->port);
	fputs("\r\n", f);
	for (size_t i = 0; i < h->n_headers; i++) {
		if (hop_header(h->buf + h->names[i].off, h->names[i].len))
			continue;
		fprintf(f, "%.*s: %.*s\r\n", (int)h->names[i].len, h->buf + h->names[i].off,
			(int)h->values[i].len, h->buf + h->values[i].off);
	}
	fputs("Connection: close\r\n\r\n", f);
	/* Body bytes that came with the head follow it. */
	fwrite(h->buf + h->head_len, 1, h->len - h->head_len, f);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	*len = size;
	return out;
}

static bool port_allowed(const struct sx_policy *p, unsigned port)
{
	for (size_t i = 0; i < p->n_egress_ports; i++)
		if (p->egress_ports[i] == port)
			return true;
	return false;
}

/* Fills host and port from the request target.  Returns NULL or why not. */
static const char *parse_target(struct sx_egress_head *h)
{
	struct http_parser_url u;
	const char *url = h->buf + h->url.off, *why = NULL;
	char raw[SX_HOST_MAX + 3];
	size_t hlen;

	http_parser_url_init(&u);
	if (http_parser_parse_url(url, h->url.len, h->is_connect, &u) != 0 || !(u.field_set & (1 << UF_HOST)))
		return h->is_connect ? "CONNECT wants host:port"
				     : "a proxy request needs an absolute http:// URL";
	if (!h->is_connect) {
		const char *schema = url + u.field_data[UF_SCHEMA].off;
		if (!(u.field_set & (1 << UF_SCHEMA)) || u.field_data[UF_SCHEMA].len != 4 ||
		    strncasecmp(schema, "http", 4) != 0)
			return "only http:// URLs are forwarded (use CONNECT for https)";
	}
	hlen = u.field_data[UF_HOST].len;
	if (hlen >= sizeof(raw))
		return "host name too long";
	memcpy(raw, url + u.field_data[UF_HOST].off, hlen);
	raw[hlen] = 0;
	/* http-parser strips IPv6 brackets; a ':' left in the host means one. */
	if (strchr(raw, ':'))
		return "IP address literal (IPv6): connect by name";
	h->port = u.field_set & (1 << UF_PORT) ? u.port : 80;
	if (sx_host_normalize(raw, h->host, &why) < 0) {
		snprintf(h->host, sizeof(h->host), "%.*s", SX_HOST_MAX, raw);
		return why;
	}
	return NULL;
}

/* OpenClaw's managed proxy (proxy.enabled) sends every request through
 * the egress proxy, its LLM calls to http://HOST_IP:LLM_PORT too, ignoring
 * NO_PROXY.  That one destination, the gateway's own LLM proxy, which the
 * sandbox may reach directly anyway, is relayed as it is; no other address
 * of the gateway is (the health port stays shut). */
static bool own_llm_proxy(const struct sx_egress_head *h, const char *listen_host, unsigned llm_port)
{
	struct in_addr a;

	return h->port == llm_port && streq(h->host, listen_host) && inet_pton(AF_INET, listen_host, &a) == 1;
}

enum sx_egress_verdict sx_egress_head_judge(struct sx_egress_head *h, const struct sx_policy *p,
					    const char *listen_host, unsigned llm_port, unsigned *status,
					    char *reason, size_t reason_size)
{
	const char *why;

	h->is_connect = h->parser.method == HTTP_CONNECT;
	h->method = http_method_str((enum http_method)h->parser.method);
	for (size_t i = 0; i < h->n_headers; i++)
		if (h->names[i].len == 13 &&
		    strncasecmp(h->buf + h->names[i].off, "X-Sentrix-Run", 13) == 0) {
			snprintf(h->run_id, sizeof(h->run_id), "%.*s", (int)MIN(h->values[i].len, 64),
				 h->buf + h->values[i].off);
			h->has_run_id = true;
		}
	*status = 403;
	if ((why = parse_target(h))) {
		if (!strstr(why, "literal"))
			*status = 400;
		snprintf(reason, reason_size, "%s", why);
		return SX_EGRESS_REFUSE;
	}
	if (own_llm_proxy(h, listen_host, llm_port))
		return SX_EGRESS_OWN_LLM;
	if (sx_host_is_ip_literal(h->host)) {
		snprintf(reason, reason_size, "IP address literal: connect by name");
		return SX_EGRESS_REFUSE;
	}
	if (!port_allowed(p, h->port)) {
		snprintf(reason, reason_size, "port %u is not in the policy's egress.ports", h->port);
		return SX_EGRESS_REFUSE;
	}
	if (!sx_domain_allowed(p->domains, h->host)) {
		snprintf(reason, reason_size, "host is not in the policy's egress.domains");
		return SX_EGRESS_REFUSE;
	}
	return SX_EGRESS_RESOLVE;
}
