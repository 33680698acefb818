/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rulepack.h - patrol rule packs (docs/patrol.md): JSON files of detection
 * rules, each a pattern with a category, a severity and optional checks
 * (validator, keywords, scope).  This file loads and validates them; the
 * engine that compiles and runs them is src/gateway/scan.c.
 *
 * A ruleset is the packs a policy names (patrol.packs), loaded from one
 * directory in that order.  Its version is a fingerprint of the packs'
 * bytes, so an edited pack means a new version and a re-review.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "validators.h"

enum sx_rule_category {
	SX_CAT_SECRET,
	SX_CAT_PII,
	SX_CAT_UNSAFE_TOOL,
	SX_CAT_INJECTION,
	SX_CAT_HARM,
	SX_CAT_COUNT,
};

/* Ordered: a higher value is more severe (police queues by it). */
enum sx_severity {
	SX_SEV_LOW = 1,
	SX_SEV_MEDIUM = 2,
	SX_SEV_HIGH = 3,
};

struct sx_rule {
	char *id, *pack, *label, *pattern, *description;
	char *
	    prefilter; /* NULL: the pattern; else a cheaper one for Vectorscan that matches wherever it does */
	enum sx_rule_category category;
	enum sx_severity severity;
	unsigned group; /* capture group holding the value (0: the match) */
	bool caseless;
	bool tool_scope; /* scope "tool_call": tool calls' names and arguments only */
	bool decode; /* also scan base64 and ROT13 decodings */
	enum sx_validator validator;
	double min_entropy;
	double confidence;
	char **keywords; /* lower-case; NULL: none required */
	char **match_examples, **nomatch_examples;
};

struct sx_ruleset {
	struct sx_rule *rules;
	size_t n_rules;
	char **packs; /* names, in load order */
	char version[24]; /* "rs-" + 16 hex digits */
};

void sx_ruleset_free(struct sx_ruleset *rs);
static inline void sx_ruleset_freep(struct sx_ruleset **rs)
{
	if (*rs)
		sx_ruleset_free(*rs);
}
#define _cleanup_ruleset_ __attribute__((cleanup(sx_ruleset_freep)))

/* Loads DIR/NAME.json for every name in packs (NULL-terminated).  Returns
 * 0, or -EINVAL with *why naming the pack, the rule and the key at fault
 * (caller frees), or another negative errno (-ENOENT: a pack is missing;
 * *why says which). */
int sx_ruleset_load(const char *dir, char *const *packs, struct sx_ruleset **ret, char **why);

/* Parses one pack's JSON text into rs (appending); pack_name is the file's
 * name without .json and must match the pack's "pack" key. */
int sx_ruleset_add_pack(struct sx_ruleset *rs, const char *pack_name, const char *text, char **why);

const char *sx_category_name(enum sx_rule_category c);
int sx_category_from_name(const char *s, enum sx_rule_category *ret);
const char *sx_severity_name(enum sx_severity s);
int sx_severity_from_name(const char *s, enum sx_severity *ret);

/* The directory the shipped packs are installed in: DATADIR/patrol
 * (SENTRIX_DATADIR overrides DATADIR, as for the policy templates).
 * Caller frees; NULL when out of memory. */
char *sx_patrol_pack_dir(void);
