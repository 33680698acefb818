/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * egresshead.h - the egress proxy's request head: read with http-parser as
 * it arrives, judged against the policy (IP literal, port, domain), and,
 * for plain HTTP, rewritten for the server.  No sockets and no loop here:
 * egress.c feeds it what it reads, and tests/fuzz/fuzz-egress.c feeds it
 * fuzzed bytes.
 */
#pragma once

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#include "../lib/allowlist.h"
#include "../lib/policy.h"

#define SX_EGRESS_HEAD_MAX (16 * 1024) /* request head, bytes */
#define SX_EGRESS_HEADERS_MAX 100

struct sx_span {
	size_t off, len; /* in sx_egress_head.buf */
};

struct sx_egress_head {
	http_parser parser;
	char buf[SX_EGRESS_HEAD_MAX]; /* what was read: the head, maybe early body bytes */
	size_t len; /* bytes in buf */
	size_t head_len; /* once done: the head's length, early bytes follow */
	bool done, in_value;
	const char *bad; /* why a callback stopped the parser */
	struct sx_span url;
	struct sx_span names[SX_EGRESS_HEADERS_MAX], values[SX_EGRESS_HEADERS_MAX];
	size_t n_headers;

	/* The request, filled by sx_egress_head_judge(). */
	bool is_connect;
	char host[SX_HOST_MAX + 1]; /* normalized; "" when there is none */
	unsigned port;
	char run_id[65]; /* X-Sentrix-Run, cut to 64 bytes */
	bool has_run_id;
	const char *method; /* static text */
};

/* Readies h for a new connection's request. */
void sx_egress_head_init(struct sx_egress_head *h);

/* Parses the n bytes the caller just read into h->buf + h->len (h->len
 * grows by n; at most SX_EGRESS_HEAD_MAX - h->len).  Returns 1 when the
 * head is complete (h->head_len bytes; what follows is relayed, not
 * parsed), 0 when more bytes are needed, or -EBADMSG with the HTTP status
 * to answer (400 malformed, or not HTTP/1, or with folded lines, a header
 * name that is not a token or a line break in a value; 431 larger than
 * SX_EGRESS_HEAD_MAX) and why (static text). */
int sx_egress_head_parse(struct sx_egress_head *h, size_t n, unsigned *status, const char **why);

enum sx_egress_verdict {
	SX_EGRESS_REFUSE, /* answer status with reason */
	SX_EGRESS_OWN_LLM, /* the gateway's own LLM proxy: relayed as it is */
	SX_EGRESS_RESOLVE, /* allowed so far: resolve h->host, judge the addresses */
};

/* Judges a complete head (rules 1-3 of egress.c: a name, not an IP
 * literal; an allowed port; an allowed domain) and fills the request
 * fields of h.  listen_host and llm_port name the gateway's own LLM proxy,
 * the one destination relayed without these rules.  On SX_EGRESS_REFUSE
 * *status and reason (reason_size bytes, one line) say why. */
enum sx_egress_verdict sx_egress_head_judge(struct sx_egress_head *h, const struct sx_policy *p,
					    const char *listen_host, unsigned llm_port, unsigned *status,
					    char *reason, size_t reason_size);

/* The plain-HTTP request as the server must see it: origin-form target,
 * our Host, no proxy or hop-by-hop headers, Connection: close, then the
 * body bytes that came with the head.  Returns it (*len bytes, caller
 * frees) or NULL when the URL does not parse or memory is short. */
char *sx_egress_head_rewrite(const struct sx_egress_head *h, size_t *len);
