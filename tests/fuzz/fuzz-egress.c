/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fuzz-egress.c - request heads on the egress proxy's port.
 *
 * Feeds: the bytes a sandboxed client sends to HOST_IP:18791 before the
 * proxy decides, `CONNECT host:port` or a plain-HTTP request with an
 * absolute URL, headers, and maybe early bytes after the head.  The first
 * byte of the input sets how the bytes arrive (1 to 256 per read), since
 * http-parser's callbacks see a head cut at every read; the rest goes
 * through egresshead.c as egress.c feeds it: sx_egress_head_parse() read
 * by read into the 16 KiB head buffer, then sx_egress_head_judge() against
 * a policy like the default one (ports 80 and 443, a name and a wildcard;
 * IP-literal detection and domain matching in src/lib/allowlist.c), then,
 * for an allowed plain-HTTP request, sx_egress_head_rewrite(), and the
 * audit line every decision writes to egress.jsonl (egresslog.c).  No
 * lookups and no connections: the verdict is where the bytes stop
 * mattering.
 *
 * Why: the egress proxy is the sandbox's only way out, and its judge is
 * the allowlist.  Besides the sanitizers the harness checks that an
 * allowed request really names an allowed host and port and no IP
 * literal, that a rewritten request parses back as one request for the
 * same host with a single Host header and no proxy or X-Sentrix-Run
 * headers, and that the audit line is valid JSON in UTF-8.
 *
 * fuzz-max-len: 17000
 */
#include <strings.h>

#include "fuzz.h"

#include "gateway/egresshead.h"
#include "gateway/egresslog.h"

#define LISTEN_HOST "10.200.0.1"
#define LLM_PORT 18790

static char *domains[] = {"allowed.test", "*.wild.test", "Example.COM.", NULL};
static unsigned ports[] = {80, 443};
static struct sx_policy policy = {.domains = domains, .egress_ports = ports, .n_egress_ports = 2};
static struct sx_egress_head head;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

/* The rewritten request, parsed again. */
struct reparse {
	bool done;
	unsigned hosts, banned, closes;
	bool in_field;
	char field[64];
	size_t field_len;
	char host[300];
	size_t host_len;
	bool host_value;
};

static int re_field(http_parser *p, const char *at, size_t len)
{
	struct reparse *r = p->data;
	if (!r->in_field)
		r->field_len = 0;
	r->in_field = true;
	r->host_value = false;
	for (size_t i = 0; i < len && r->field_len < sizeof(r->field) - 1; i++)
		r->field[r->field_len++] = at[i];
	r->field[r->field_len] = 0;
	return 0;
}

static int re_value(http_parser *p, const char *at, size_t len)
{
	struct reparse *r = p->data;
	if (r->in_field) {
		r->in_field = false;
		if (strcasecmp(r->field, "host") == 0) {
			r->hosts++;
			r->host_value = true;
			r->host_len = 0;
		}
		if (strcasecmp(r->field, "proxy-authorization") == 0 ||
		    strcasecmp(r->field, "x-sentrix-run") == 0 ||
		    strcasecmp(r->field, "proxy-connection") == 0)
			r->banned++;
		if (strcasecmp(r->field, "connection") == 0 && len == 5 && strncmp(at, "close", 5) == 0)
			r->closes++;
	}
	for (size_t i = 0; r->host_value && i < len && r->host_len < sizeof(r->host) - 1; i++)
		r->host[r->host_len++] = at[i];
	r->host[r->host_len] = 0;
	return 0;
}

static int re_headers_complete(http_parser *p)
{
	((struct reparse *)p->data)->done = true;
	return 2;
}

/* A rewritten plain-HTTP request must read back as the same request for
 * the same host, with our Host header only. */
static void check_rewrite(const struct sx_egress_head *h, const char *out, size_t len)
{
	static const http_parser_settings s = {.on_header_field = re_field,
					       .on_header_value = re_value,
					       .on_headers_complete = re_headers_complete};
	struct reparse r = {0};
	http_parser p;
	char want[300];
	size_t head_len = len - (h->len - h->head_len), parsed;

	http_parser_init(&p, HTTP_REQUEST);
	p.data = &r;
	parsed = http_parser_execute(&p, &s, out, len);
	FUZZ_CHECK(r.done, "the rewritten request does not parse (%s): %.*s",
		   http_errno_description(HTTP_PARSER_ERRNO(&p)), (int)MIN(len, 300), out);
	/* Our head ends where we wrote its blank line, after Connection: close. */
	FUZZ_CHECK(parsed == head_len && r.closes == 1,
		   "the rewritten head ends after %zu bytes, not %zu (Connection: close %u times): %.*s",
		   parsed, head_len, r.closes, (int)MIN(len, 300), out);
	FUZZ_CHECK(p.method == h->parser.method, "the rewritten request changed its method");
	FUZZ_CHECK(r.hosts == 1, "the rewritten request has %u Host headers: %.*s", r.hosts,
		   (int)MIN(len, 300), out);
	FUZZ_CHECK(r.banned == 0, "the rewritten request kept a proxy header: %.*s", (int)MIN(len, 300), out);
	if (h->port == 80)
		snprintf(want, sizeof(want), "%s", h->host);
	else
		snprintf(want, sizeof(want), "%s:%u", h->host, h->port);
	FUZZ_CHECK(streq(r.host, want), "the rewritten request is for %s, not %s", r.host, want);
}

static void check_audit(const struct sx_egress_head *h, const char *decision, const char *reason,
			unsigned status)
{
	struct sx_egress_event e = {
	    .kind = h->is_connect ? "connect" : "http",
	    .run_id = h->has_run_id ? h->run_id : NULL,
	    .host = h->host[0] ? h->host : NULL,
	    .port = h->port,
	    .decision = decision,
	    .reason = reason,
	    .detail = h->is_connect ? NULL : h->method,
	    .status = status,
	};
	_cleanup_free_ char *line = sx_egresslog_line(&e, "2026-11-23T10:00:00.000Z");

	FUZZ_CHECK(line && line[0] && line[strlen(line) - 1] == '\n', "no audit line");
	line[strlen(line) - 1] = 0;
	fuzz_check_json_object("the audit line", line);
}

static void judge(struct sx_egress_head *h)
{
	char reason[160];
	unsigned status = 0;
	enum sx_egress_verdict v =
	    sx_egress_head_judge(h, &policy, LISTEN_HOST, LLM_PORT, &status, reason, sizeof(reason));
	_cleanup_free_ char *out = NULL;
	size_t len = 0;

	switch (v) {
	case SX_EGRESS_REFUSE:
		FUZZ_CHECK(status == 400 || status == 403, "refused with status %u", status);
		check_audit(h, "refused", reason, status);
		return;
	case SX_EGRESS_OWN_LLM:
		FUZZ_CHECK(streq(h->host, LISTEN_HOST) && h->port == LLM_PORT,
			   "%s:%u relayed as the LLM port", h->host, h->port);
		return;
	case SX_EGRESS_RESOLVE: break;
	}
	FUZZ_CHECK(h->host[0] && !sx_host_is_ip_literal(h->host), "allowed an IP literal: %s", h->host);
	FUZZ_CHECK(h->port == 80 || h->port == 443, "allowed port %u", h->port);
	FUZZ_CHECK(streq(h->host, "allowed.test") || streq(h->host, "example.com") ||
		       (strlen(h->host) > 10 && streq(h->host + strlen(h->host) - 10, ".wild.test")),
		   "allowed host %s", h->host);
	for (const char *c = h->host; *c; c++)
		FUZZ_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr(".-_", *c),
			   "allowed host %s is not normalized", h->host);
	if (!h->is_connect) {
		out = sx_egress_head_rewrite(h, &len);
		FUZZ_CHECK(out, "an allowed request cannot be rewritten");
		check_rewrite(h, out, len);
	}
	check_audit(h, "allowed", NULL, 200);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk, off = 1;
	unsigned status = 0;
	const char *why = NULL;
	int r = 0;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	sx_egress_head_init(&head);
	while (off < size && r == 0) {
		size_t n = MIN(MIN(chunk, size - off), sizeof(head.buf) - head.len);
		memcpy(head.buf + head.len, data + off, n);
		off += n;
		r = sx_egress_head_parse(&head, n, &status, &why);
		FUZZ_CHECK(head.len <= sizeof(head.buf), "the head overran its buffer");
	}
	if (r < 0) {
		FUZZ_CHECK(why && (status == 400 || status == 431), "a bad head answered %u", status);
		check_audit(&head, "refused", why, status);
	} else if (r > 0) {
		FUZZ_CHECK(head.head_len <= head.len, "head_len %zu past %zu bytes read", head.head_len,
			   head.len);
		judge(&head);
	}
	return 0;
}
