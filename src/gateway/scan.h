/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * scan.h - the patrol's detection engine: a ruleset (src/lib/rulepack.h)
 * compiled once into a Vectorscan database that finds candidates in one
 * pass over the bytes, and PCRE2 (JIT) programs that confirm each candidate
 * and extract its value, which the rule's validator and keywords then check.
 *
 * A JSON text (a capture record, a request body) is scanned in the views of
 * docs/patrol.md: raw bytes, its strings unescaped, and those NFKC-normalised
 * with invisible characters removed, plus base64 and ROT13 decodings for the
 * rules that ask for them.  The cheap pass runs over whole texts; only a text
 * in which some rule fired is parsed (cJSON) to name where each hit is and to
 * apply tool-call scope, so clean traffic costs a few linear passes.
 *
 * An engine is read-only once built and may be shared between threads; each
 * thread scans with its own sx_scanner (Vectorscan scratch, PCRE2 match data).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/rulepack.h"

enum sx_view {
	SX_VIEW_RAW,
	SX_VIEW_TEXT,
	SX_VIEW_NORMALIZED,
	SX_VIEW_BASE64,
	SX_VIEW_ROT13,
};
const char *sx_view_name(enum sx_view v);

struct sx_hit {
	const struct sx_rule *rule;
	char *value; /* the matched value (the rule's group): never written out whole */
	char *where; /* JSON path of the string ("request.messages[2].content"), "raw" or "$" */
	char *context; /* up to 100 bytes either side of the value, unredacted */
	size_t value_at; /* the value's offset in context */
	enum sx_view view;
};

struct sx_hits {
	struct sx_hit *v;
	size_t n;
};
void sx_hits_clear(struct sx_hits *h);

/* Time per stage, for `make bench` (nanoseconds) and bytes seen. */
struct sx_scan_stats {
	uint64_t bytes, texts, parsed;
	uint64_t ns_views, ns_scan, ns_confirm, ns_json;
	uint64_t ns_scan_view[5]; /* ns_scan by view (enum sx_view) */
};

struct sx_engine;
struct sx_scanner;

/* Compiles rs (which must outlive the engine).  On -EINVAL *why names the
 * rule whose pattern does not compile and why (caller frees). */
int sx_engine_new(const struct sx_ruleset *rs, struct sx_engine **ret, char **why);
/* The same with the rules below min left out of the engine (the inline
 * guardrail acts on HIGH alone: a smaller database scans faster). */
int sx_engine_new_min(const struct sx_ruleset *rs, enum sx_severity min, struct sx_engine **ret, char **why);
void sx_engine_free(struct sx_engine *e);
const struct sx_ruleset *sx_engine_ruleset(const struct sx_engine *e);

int sx_scanner_new(const struct sx_engine *e, struct sx_scanner **ret);
void sx_scanner_free(struct sx_scanner *s);
struct sx_scan_stats *sx_scanner_stats(struct sx_scanner *s);
/* Only hits at or above this severity are confirmed (the inline guardrail
 * blocks on HIGH alone); default LOW. */
void sx_scanner_set_min_severity(struct sx_scanner *s, enum sx_severity min);

/* Scans a JSON text (one capture record line, a request body) in every view,
 * appending confirmed hits to hits (one per rule and value).  Text that is
 * not JSON is scanned as one plain string.  Returns the number of hits added
 * or -ENOMEM. */
int sx_scan_json(struct sx_scanner *s, const char *text, size_t len, struct sx_hits *hits);

/* Scans plain text as one string; tool_text: it is a tool call's name or
 * arguments (rules with scope tool_call apply).  Returns as sx_scan_json(). */
int sx_scan_plain(struct sx_scanner *s, const char *text, size_t len, bool tool_text, struct sx_hits *hits);

/* Loads the packs a policy names from POLICY_DIR/patrol (the shipped ones,
 * sx_patrol_pack_dir(), when the policy directory has none: an instance
 * provisioned before packs were copied, or a template) and compiles them
 * when ret_engine is not NULL.  *why says what is wrong (caller frees). */
int sx_engine_load_policy(const char *policy_dir, char *const *packs, enum sx_severity min,
			  struct sx_ruleset **ret_rs, struct sx_engine **ret_engine, char **why);

/* Runs every rule's examples through the engine (match: the rule must
 * flag it; nomatch: it must not).  Returns the number of examples that went
 * wrong, each described on a line of *report (caller frees), or -ENOMEM. */
int sx_engine_check_examples(const struct sx_engine *e, char **report);

/* A value as flags and reports show it: "[LABEL …last4]", or "[LABEL]" when
 * the value is shorter than 12 bytes (LABEL: the rule's label, else its id).
 * Caller frees; NULL when out of memory. */
char *sx_redact(const struct sx_rule *r, const char *value);

/* hit's context with every hit's value in it redacted, cut to at most max
 * bytes around the value, on UTF-8 boundaries.  Caller frees. */
char *sx_hit_excerpt(const struct sx_hit *hit, const struct sx_hits *all, size_t max);
