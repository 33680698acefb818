/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rulepack.c - loading and validating patrol rule packs.
 *
 * Everything a pack says is checked here, before any pattern reaches the
 * engine: unknown keys are errors (a typo such as "severty" must not
 * silently drop a rule's severity), ids are unique over the whole ruleset,
 * and patterns stay in the subset both Vectorscan and PCRE2 accept with the
 * same meaning (no back-references, look-around, \K, atomic or possessive
 * groups, conditionals).  Whether a pattern compiles is the engine's to say
 * (src/gateway/scan.c), with the rule's id in the message.
 */
#include "rulepack.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "fileio.h"
#include "jsonutil.h"
#include "paths.h"
#include "strv.h"
#include "util.h"

static const char *const category_names[SX_CAT_COUNT] = {"secret", "pii", "unsafe_tool", "injection", "harm"};
static const char *const severity_names[] = {NULL, "LOW", "MEDIUM", "HIGH"};

const char *sx_category_name(enum sx_rule_category c)
{
	return c < SX_CAT_COUNT ? category_names[c] : "?";
}

int sx_category_from_name(const char *s, enum sx_rule_category *ret)
{
	for (unsigned i = 0; i < SX_CAT_COUNT; i++)
		if (streq(s, category_names[i])) {
			*ret = i;
			return 0;
		}
	return -EINVAL;
}

const char *sx_severity_name(enum sx_severity s)
{
	return s >= SX_SEV_LOW && s <= SX_SEV_HIGH ? severity_names[s] : "?";
}

int sx_severity_from_name(const char *s, enum sx_severity *ret)
{
	for (unsigned i = SX_SEV_LOW; i <= SX_SEV_HIGH; i++)
		if (streq(s, severity_names[i])) {
			*ret = i;
			return 0;
		}
	return -EINVAL;
}

char *sx_patrol_pack_dir(void)
{
	return sx_strdupf("%s/patrol", sx_datadir());
}

static void rule_free(struct sx_rule *r)
{
	free(r->id);
	free(r->pack);
	free(r->label);
	free(r->pattern);
	free(r->prefilter);
	free(r->description);
	sx_strv_free(r->keywords);
	sx_strv_free(r->match_examples);
	sx_strv_free(r->nomatch_examples);
}

void sx_ruleset_free(struct sx_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_rules; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	sx_strv_free(rs->packs);
	free(rs);
}

static bool id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static bool label_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* The constructs Vectorscan rejects or reads differently from PCRE2.
 * Returns what is wrong, or NULL. */
static const char *pattern_unsupported(const char *p)
{
	bool in_class = false;
	for (const char *s = p; *s; s++) {
		if (*s == '\\') {
			char c = s[1];
			if (!c)
				return "ends in a backslash";
			if (!in_class && ((c >= '1' && c <= '9') || c == 'k' || c == 'g'))
				return "back-references are not supported";
			if (!in_class && c == 'K')
				return "\\K is not supported";
			s++;
			continue;
		}
		if (in_class) {
			if (*s == ']')
				in_class = false;
			continue;
		}
		if (*s == '[') {
			in_class = true;
			if (s[1] == '^')
				s++;
			if (s[1] == ']')
				s++;
			continue;
		}
		if (*s == '(' && s[1] == '?') {
			char c = s[2];
			if (c == '=' || c == '!' || (c == '<' && (s[3] == '=' || s[3] == '!')))
				return "look-around is not supported";
			if (c == '>')
				return "atomic groups are not supported";
			if (c == '(')
				return "conditionals are not supported";
		}
		if ((*s == '+' || *s == '*' || *s == '?' || *s == '}') && s[1] == '+')
			return "possessive quantifiers are not supported";
	}
	return NULL;
}

static int take_strings(const cJSON *arr, char ***out, bool lower)
{
	const cJSON *e;
	if (!cJSON_IsArray(arr))
		return -EINVAL;
	cJSON_ArrayForEach(e, arr)
	{
		if (!cJSON_IsString(e) || !*e->valuestring)
			return -EINVAL;
		if (lower)
			for (const char *c = e->valuestring; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					return -EINVAL;
		if (sx_strv_push(out, e->valuestring) < 0)
			return -ENOMEM;
	}
	return 0;
}

#define BAD(...)                                                                                             \
	({                                                                                                   \
		*why = sx_strdupf(__VA_ARGS__);                                                              \
		-EINVAL;                                                                                     \
	})

static int parse_rule(const cJSON *j, const char *pack, struct sx_rule *r, char **why)
{
	static const char *const keys[] = {"id",	"category", "severity",	  "label",	 "pattern",
					   "group",	"caseless", "validator",  "min_entropy", "keywords",
					   "scope",	"decode",   "confidence", "description", "examples",
					   "prefilter", NULL};
	const char *id = sx_json_str(j, "id"), *s, *bad;
	const cJSON *v;

	if (!cJSON_IsObject(j))
		return BAD("pack %s: a rule is not an object", pack);
	if (!id || !id_valid(id))
		return BAD("pack %s: a rule's \"id\" is missing or not [a-z0-9-]{1,64}", pack);
	for (const cJSON *k = j->child; k; k = k->next) {
		bool known = false;
		for (size_t i = 0; keys[i]; i++)
			known = known || streq(k->string, keys[i]);
		if (!known)
			return BAD("pack %s, rule %s: unknown key \"%s\"", pack, id, k->string);
	}
	r->id = strdup(id);
	r->pack = strdup(pack);
	r->min_entropy = 3.5;
	r->confidence = 0.9;
	if (!r->id || !r->pack)
		return -ENOMEM;

	if (sx_category_from_name(sx_json_str(j, "category"), &r->category) < 0)
		return BAD(
		    "pack %s, rule %s: \"category\" must be secret, pii, unsafe_tool, injection or harm",
		    pack, id);
	if (sx_severity_from_name(sx_json_str(j, "severity"), &r->severity) < 0)
		return BAD("pack %s, rule %s: \"severity\" must be LOW, MEDIUM or HIGH", pack, id);
	s = sx_json_str(j, "pattern");
	if (!s || !*s)
		return BAD("pack %s, rule %s: \"pattern\" is missing", pack, id);
	if ((bad = pattern_unsupported(s)))
		return BAD("pack %s, rule %s: \"pattern\": %s (patterns must mean the same to Vectorscan and "
			   "PCRE2)",
			   pack, id, bad);
	if (!(r->pattern = strdup(s)))
		return -ENOMEM;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "prefilter"))) {
		if (!cJSON_IsString(v) || !*v->valuestring)
			return BAD("pack %s, rule %s: \"prefilter\" must be a pattern", pack, id);
		if ((bad = pattern_unsupported(v->valuestring)))
			return BAD("pack %s, rule %s: \"prefilter\": %s", pack, id, bad);
		if (!(r->prefilter = strdup(v->valuestring)))
			return -ENOMEM;
	}
	s = sx_json_str(j, "description");
	if (!s || !*s)
		return BAD("pack %s, rule %s: \"description\" is missing", pack, id);
	if (!(r->description = strdup(s)))
		return -ENOMEM;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "label"))) {
		if (!cJSON_IsString(v) || !label_valid(v->valuestring))
			return BAD("pack %s, rule %s: \"label\" must be [A-Z0-9_]{1,64}", pack, id);
		if (!(r->label = strdup(v->valuestring)))
			return -ENOMEM;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "group"))) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9 ||
		    v->valuedouble != (int)v->valuedouble)
			return BAD("pack %s, rule %s: \"group\" must be a whole number 0..9", pack, id);
		r->group = (unsigned)v->valueint;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "caseless"))) {
		if (!cJSON_IsBool(v))
			return BAD("pack %s, rule %s: \"caseless\" must be true or false", pack, id);
		r->caseless = cJSON_IsTrue(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "decode"))) {
		if (!cJSON_IsBool(v))
			return BAD("pack %s, rule %s: \"decode\" must be true or false", pack, id);
		r->decode = cJSON_IsTrue(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "scope"))) {
		if (!cJSON_IsString(v) ||
		    !(streq(v->valuestring, "any") || streq(v->valuestring, "tool_call")))
			return BAD("pack %s, rule %s: \"scope\" must be any or tool_call", pack, id);
		r->tool_scope = streq(v->valuestring, "tool_call");
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "validator"))) {
		if (!cJSON_IsString(v) || sx_validator_from_name(v->valuestring, &r->validator) < 0)
			return BAD("pack %s, rule %s: unknown \"validator\" (docs/patrol.md lists them)",
				   pack, id);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "min_entropy"))) {
		if (!cJSON_IsNumber(v) || v->valuedouble <= 0 || v->valuedouble > 8)
			return BAD("pack %s, rule %s: \"min_entropy\" must be a number in (0, 8] bits", pack,
				   id);
		r->min_entropy = v->valuedouble;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "confidence"))) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1)
			return BAD("pack %s, rule %s: \"confidence\" must be a number in [0, 1]", pack, id);
		r->confidence = v->valuedouble;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "keywords"))) {
		int k = take_strings(v, &r->keywords, true);
		if (k == -ENOMEM)
			return k;
		if (k < 0)
			return BAD("pack %s, rule %s: \"keywords\" must be a list of lower-case strings",
				   pack, id);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "examples"))) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "match"),
			    *n = cJSON_GetObjectItemCaseSensitive(v, "nomatch");
		int k = 0;
		if (!cJSON_IsObject(v))
			k = -EINVAL;
		if (k == 0 && m)
			k = take_strings(m, &r->match_examples, false);
		if (k == 0 && n)
			k = take_strings(n, &r->nomatch_examples, false);
		if (k == -ENOMEM)
			return k;
		if (k < 0)
			return BAD(
			    "pack %s, rule %s: \"examples\" must be {\"match\": [strings], \"nomatch\": "
			    "[strings]}",
			    pack, id);
	}
	return 0;
}

int sx_ruleset_add_pack(struct sx_ruleset *rs, const char *pack_name, const char *text, char **why)
{
	_cleanup_cjson_ cJSON *j = NULL;
	_cleanup_free_ char *jwhy = NULL;
	const cJSON *rules, *e;
	const char *name;
	int r;

	if ((r = sx_json_parse(text, &j, &jwhy)) < 0)
		return BAD("pack %s: %s", pack_name, jwhy ? jwhy : "not JSON");
	name = sx_json_str(j, "pack");
	if (!streq(name, pack_name))
		return BAD("pack %s: \"pack\" must be \"%s\" (the file's name)", pack_name, pack_name);
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "version")))
		return BAD("pack %s: \"version\" (a string) is missing", pack_name);
	rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
	if (!cJSON_IsArray(rules) || cJSON_GetArraySize(rules) == 0)
		return BAD("pack %s: \"rules\" must be a non-empty list", pack_name);
	cJSON_ArrayForEach(e, rules)
	{
		struct sx_rule *grown = reallocarray(rs->rules, rs->n_rules + 1, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		rs->rules = grown;
		memset(&rs->rules[rs->n_rules], 0, sizeof(*grown));
		r = parse_rule(e, pack_name, &rs->rules[rs->n_rules], why);
		rs->n_rules++; /* counted even when half-parsed: freed with the rest */
		if (r < 0)
			return r;
		for (size_t i = 0; i + 1 < rs->n_rules; i++)
			if (streq(rs->rules[i].id, rs->rules[rs->n_rules - 1].id))
				return BAD("pack %s: rule id %s is used twice (also in pack %s)", pack_name,
					   rs->rules[i].id, rs->rules[i].pack);
	}
	return sx_strv_push(&rs->packs, pack_name);
}

int sx_ruleset_load(const char *dir, char *const *packs, struct sx_ruleset **ret, char **why)
{
	_cleanup_ruleset_ struct sx_ruleset *rs = calloc(1, sizeof(*rs));
	_cleanup_free_ char *all = NULL;
	size_t all_len = 0;
	char fp[17];
	int r;

	if (!rs)
		return -ENOMEM;
	for (size_t i = 0; packs && packs[i]; i++) {
		_cleanup_free_ char *path = NULL, *text = NULL;
		size_t len;
		char *grown;
		if (!id_valid(packs[i]))
			return BAD("patrol pack name \"%s\" is not [a-z0-9-]{1,64}", packs[i]);
		if (!(path = sx_strdupf("%s/%s.json", dir, packs[i])))
			return -ENOMEM;
		if ((r = sx_read_file(path, &text, &len)) < 0) {
			*why = sx_strdupf("patrol pack %s: cannot read %s: %s", packs[i], path, strerror(-r));
			return r;
		}
		if ((r = sx_ruleset_add_pack(rs, packs[i], text, why)) < 0)
			return r;
		/* The version covers the names and the bytes, in order. */
		if (!(grown = realloc(all, all_len + strlen(packs[i]) + 1 + len)))
			return -ENOMEM;
		all = grown;
		memcpy(all + all_len, packs[i], strlen(packs[i]) + 1);
		all_len += strlen(packs[i]) + 1;
		memcpy(all + all_len, text, len);
		all_len += len;
	}
	sx_fingerprint(all ? all : "", all_len, fp);
	snprintf(rs->version, sizeof(rs->version), "rs-%s", fp);
	*ret = TAKE_PTR(rs);
	return 0;
}
