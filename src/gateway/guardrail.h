/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * guardrail.h - the inline guardrail: in policy guardrail.mode "block" the
 * LLM proxy scans each request body with the patrol's packs (scan.h) before
 * it leaves, and refuses one that carries a HIGH finding (a secret, a card
 * number, a destructive tool call being replayed …) with 403.  Runs on the
 * proxy's event loop with its own scanner; only HIGH rules are confirmed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct sx_gateway;
struct sx_guardrail;

/* Nothing to do (0, *ret NULL) unless the policy says "block".  A ruleset
 * that does not load is an error with fail_mode "closed" (the gateway does
 * not start) and a warning with "open" (requests pass unscanned). */
int sx_guardrail_start(struct sx_gateway *g, struct sx_guardrail **ret);
/* The gateway's reference (a stream's guard keeps its own, so a SIGHUP that
 * replaces the guardrail leaves open streams theirs). */
void sx_guardrail_free(struct sx_guardrail *gr);
struct sx_guardrail *sx_guardrail_ref(struct sx_guardrail *gr);
void sx_guardrail_unref(struct sx_guardrail *gr);

enum sx_guard_verdict {
	SX_GUARD_PASS,
	SX_GUARD_BLOCK, /* *ret_why names the rule and the redacted value */
	SX_GUARD_FAIL, /* could not scan, fail_mode "closed": refuse with 503 */
};

/* Scans a request body.  On BLOCK, *ret_rule is the rule's id and *ret_why
 * a sentence for the client (both caller frees). */
enum sx_guard_verdict sx_guardrail_check(struct sx_guardrail *gr, const char *body, size_t len,
					 char **ret_rule, char **ret_why);

/* The same for a tool call's name and arguments (plain text; the tool-call
 * rules apply), as a stream's guard assembled them. */
enum sx_guard_verdict sx_guardrail_check_tool(struct sx_guardrail *gr, const char *text, size_t len,
					      char **ret_rule, char **ret_why);
