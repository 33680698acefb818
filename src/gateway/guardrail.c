/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * guardrail.c - the inline guardrail (see guardrail.h).
 *
 * The request body is scanned as the patrol scans a record (every view),
 * with the scanner told to confirm HIGH rules only: the proxy blocks on
 * those alone, and skipping the rest keeps the added latency down.  A clean
 * request costs the wide stage's linear passes and nothing else.
 */
#include "guardrail.h"

#include <errno.h>
#include <string.h>

#include "../lib/log.h"
#include "../lib/policy.h"
#include "../lib/util.h"
#include "gateway.h"
#include "scan.h"

struct sx_guardrail {
	struct sx_ruleset *rs;
	struct sx_engine *engine;
	struct sx_scanner *scanner;
	bool fail_closed;
	bool unarmed; /* the packs did not load and fail_mode is "open" */
	unsigned refs;
};

struct sx_guardrail *sx_guardrail_ref(struct sx_guardrail *gr)
{
	gr->refs++;
	return gr;
}

void sx_guardrail_free(struct sx_guardrail *gr)
{
	sx_guardrail_unref(gr);
}

void sx_guardrail_unref(struct sx_guardrail *gr)
{
	if (!gr || --gr->refs > 0)
		return;
	sx_scanner_free(gr->scanner);
	sx_engine_free(gr->engine);
	if (gr->rs)
		sx_ruleset_free(gr->rs);
	free(gr);
}

int sx_guardrail_start(struct sx_gateway *g, struct sx_guardrail **ret)
{
	_cleanup_free_ char *why = NULL;
	struct sx_guardrail *gr;
	int r;

	*ret = NULL;
	if (!streq(g->policy->guardrail_mode, "block"))
		return 0;
	if (!(gr = calloc(1, sizeof(*gr))))
		return -ENOMEM;
	gr->refs = 1;
	gr->fail_closed = streq(g->policy->guardrail_fail_mode, "closed");
	r = sx_engine_load_policy(g->config->policy_dir, g->policy->patrol_packs, SX_SEV_HIGH, &gr->rs,
				  &gr->engine, &why);
	if (r == 0)
		r = sx_scanner_new(gr->engine, &gr->scanner);
	if (r < 0) {
		if (gr->fail_closed) {
			log_error(
			    "guardrail: %s; guardrail.fail_mode is \"closed\", so the gateway does not start "
			    "(fix the pack, `sentrix policy check %s`)",
			    why ? why : strerror(-r), g->config->policy_dir);
			sx_guardrail_free(gr);
			return r;
		}
		log_warn("guardrail: %s; guardrail.fail_mode is \"open\": requests pass unscanned",
			 why ? why : strerror(-r));
		gr->unarmed = true;
	} else {
		sx_scanner_set_min_severity(gr->scanner, SX_SEV_HIGH);
		log_info("guardrail: block mode, %zu rule(s), fail_mode %s", gr->rs->n_rules,
			 gr->fail_closed ? "closed" : "open");
	}
	*ret = gr;
	return 0;
}

/* Scans with the HIGH-only scanner (json: every view of a JSON text;
 * else plain tool-call text) and turns the first HIGH hit into a verdict. */
static enum sx_guard_verdict check(struct sx_guardrail *gr, const char *text, size_t len, bool json,
				   char **ret_rule, char **ret_why)
{
	struct sx_hits hits = {0};
	const struct sx_hit *h = NULL;
	int r;

	*ret_rule = *ret_why = NULL;
	if (gr->unarmed)
		return SX_GUARD_PASS;
	r = json ? sx_scan_json(gr->scanner, text ? text : "", len, &hits)
		 : sx_scan_plain(gr->scanner, text ? text : "", len, true, &hits);
	if (r < 0) {
		sx_hits_clear(&hits);
		return gr->fail_closed ? SX_GUARD_FAIL : SX_GUARD_PASS;
	}
	for (size_t i = 0; i < hits.n && !h; i++)
		if (hits.v[i].rule->severity == SX_SEV_HIGH)
			h = &hits.v[i];
	if (!h) {
		sx_hits_clear(&hits);
		return SX_GUARD_PASS;
	}
	_cleanup_free_ char *red = sx_redact(h->rule, h->value);
	*ret_rule = strdup(h->rule->id);
	*ret_why = sx_strdupf("%s carries %s %s%s%s (rule %s, %s)", json ? "the request" : "a tool call",
			      h->rule->description, red ? red : "", json ? " in " : "", json ? h->where : "",
			      h->rule->id, sx_category_name(h->rule->category));
	sx_hits_clear(&hits);
	return SX_GUARD_BLOCK;
}

enum sx_guard_verdict sx_guardrail_check(struct sx_guardrail *gr, const char *body, size_t len,
					 char **ret_rule, char **ret_why)
{
	return check(gr, body, len, true, ret_rule, ret_why);
}

enum sx_guard_verdict sx_guardrail_check_tool(struct sx_guardrail *gr, const char *text, size_t len,
					      char **ret_rule, char **ret_why)
{
	return check(gr, text, len, false, ret_rule, ret_why);
}
