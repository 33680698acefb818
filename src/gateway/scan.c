/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * scan.c - the detection engine (see scan.h for the design).
 *
 * Two stages.  The wide one runs Vectorscan over whole texts in every view
 * with HS_FLAG_SINGLEMATCH (one callback per rule and pass at most), which
 * only marks the rules that fired: clean traffic never leaves it.  The
 * narrow one runs when some rule fired: cJSON parses the text so each hit
 * can say where it is and tool-call scope can apply, and each fired rule's
 * PCRE2 program walks the strings, extracts the rule's group and runs the
 * keywords and validator checks.  Patterns mean the same to both engines
 * (rulepack.c keeps them in the common subset), so the wide stage is an
 * exact filter, not a heuristic.
 */
#include "scan.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <hs/hs.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <utf8proc.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "../lib/validators.h"

#define CONTEXT_BYTES 100
#define KEYWORD_WINDOW 64
#define BASE64_MIN_RUN 24
#define N_VIEWS 5

const char *sx_view_name(enum sx_view v)
{
	static const char *const names[N_VIEWS] = {"raw", "text", "normalized", "base64", "rot13"};
	return v < N_VIEWS ? names[v] : "?";
}

struct sx_engine {
	const struct sx_ruleset *rs;
	enum sx_severity min; /* rules below it are left out of the databases */
	hs_database_t *all; /* every rule; ids are rule indexes */
	hs_database_t *raw; /* rules that may match a backslash (may_match_backslash()); NULL: none */
	hs_database_t *decode; /* rules with "decode": true; ids are rule indexes; NULL: none */
	pcre2_code **re; /* per rule */
};

struct buf {
	char *p;
	size_t len, cap;
};

struct sx_scanner {
	const struct sx_engine *e;
	hs_scratch_t *scratch;
	pcre2_match_data *md;
	uint8_t *fired[N_VIEWS]; /* per view, per rule: the wide stage saw it */
	unsigned n_fired;
	enum sx_severity min_severity;
	struct buf text, norm, rot, b64, tmp; /* view buffers, reused */
	struct sx_scan_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int buf_reserve(struct buf *b, size_t n)
{
	if (n <= b->cap && b->p)
		return 0;
	size_t cap = MAX(MAX(n, b->cap * 2), (size_t)64);
	char *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int buf_put(struct buf *b, const void *d, size_t n)
{
	if (buf_reserve(b, b->len + n) < 0)
		return -ENOMEM;
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

static void tables_init(void);

/* ---- compiling ---- */

/* The byte value of a class member or escape at s (after its backslash
 * when esc), and its length; -1 for a class escape (\\d, \\w, \\s …). */
static int class_atom(const char *s, bool esc, size_t *len)
{
	static const char simple[] = "nrtfvae0";
	static const char values[] = "\n\r\t\f\v\a\x1b\0";
	*len = 1;
	if (!esc)
		return (unsigned char)s[0];
	if (s[0] == 'x' && s[1] && s[2]) {
		char hex[3] = {s[1], s[2], 0};
		*len = 3;
		return (int)strtol(hex, NULL, 16);
	}
	const char *k = strchr(simple, s[0]);
	if (k && s[0])
		return (unsigned char)values[k - simple];
	if (strchr("dwshvDWSHVN", s[0]))
		return s[0] == 'd' || s[0] == 'w' || s[0] == 's' || s[0] == 'h' || s[0] == 'v' ? -1 : -2;
	return (unsigned char)s[0];
}

/* Whether a pattern could match a backslash byte, judged from its text and
 * erring towards yes: a literal or escaped backslash, ".", a negated class,
 * a negated class escape (\\S, \\W, \\D …), \\x5c, or a class or range that
 * holds 0x5c.  A rule that cannot match a backslash finds in the raw view
 * only what it also finds in the text view (unescaping changes nothing but
 * backslash sequences), so the raw view is scanned for the others alone. */
static bool may_match_backslash(const char *p)
{
	/* The packs' "word start, or just after an escaped newline, tab or
	 * return" prefix: what it finds in the raw view after "\\n" the text
	 * view finds after the newline itself, with \\b. */
	static const char escape_or_word[] = "(?:\\\\[nrt]|\\b)";
	bool in_class = false;
	int prev = -1;
	for (const char *s = p; *s; s++) {
		size_t n;
		int v;
		if (!in_class && strncmp(s, escape_or_word, sizeof(escape_or_word) - 1) == 0) {
			s += sizeof(escape_or_word) - 2;
			continue;
		}
		if (!in_class) {
			if (*s == '.' || (*s == '[' && s[1] == '^'))
				return true;
			if (*s == '[') {
				in_class = true;
				prev = -1;
				if (s[1] == ']')
					s++;
				continue;
			}
			if (*s != '\\')
				continue;
			if (!s[1])
				return true;
			v = class_atom(s + 1, true, &n);
			if (v == '\\' || v == -2 || s[1] == 'Q' || s[1] == 'C' || s[1] == 'X')
				return true;
			s += n;
			continue;
		}
		if (*s == ']') {
			in_class = false;
			continue;
		}
		if (*s == '-' && prev >= 0 && s[1] && s[1] != ']') {
			int hi = s[1] == '\\' ? class_atom(s + 2, true, &n) : class_atom(s + 1, false, &n);
			if (hi < 0 || (prev <= '\\' && hi >= '\\'))
				return true;
			s += n + (s[1] == '\\');
			prev = -1;
			continue;
		}
		v = *s == '\\' ? class_atom(s + 1, true, &n) : class_atom(s, false, &n);
		if (v == '\\' || v == -2)
			return true;
		if (*s == '\\')
			s += n;
		prev = v;
	}
	return false;
}

enum db_kind {
	DB_ALL,
	DB_RAW, /* rules that may match a backslash: the raw view's own */
	DB_DECODE,
};

static bool in_db(const struct sx_rule *r, enum db_kind kind, enum sx_severity min)
{
	if (r->severity < min)
		return false;
	switch (kind) {
	/* The pattern alone decides what the raw view can add; but a rule
	 * whose prefilter may match a backslash stays in too: measured, the
	 * raw database with the keyword-anchored prefilters (us-ssn, es-dni,
	 * nl-bsn) scans in half the time of the one without them. */
	case DB_RAW: return !r->tool_scope && may_match_backslash(r->prefilter ? r->prefilter : r->pattern);
	case DB_DECODE: return r->decode;
	default: return true;
	}
}

static int compile_db(const struct sx_ruleset *rs, enum db_kind kind, enum sx_severity min,
		      hs_database_t **ret, char **why)
{
	_cleanup_free_ const char **exprs = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*exprs));
	_cleanup_free_ unsigned *flags = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*flags));
	_cleanup_free_ unsigned *ids = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*ids));
	hs_compile_error_t *err = NULL;
	unsigned n = 0;

	*ret = NULL;
	if (!exprs || !flags || !ids)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n_rules; i++) {
		if (!in_db(&rs->rules[i], kind, min))
			continue;
		exprs[n] = rs->rules[i].prefilter ? rs->rules[i].prefilter : rs->rules[i].pattern;
		flags[n] = HS_FLAG_SINGLEMATCH | (rs->rules[i].caseless ? HS_FLAG_CASELESS : 0);
		ids[n++] = (unsigned)i;
	}
	if (n == 0)
		return 0;
	if (hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, ret, &err) != HS_SUCCESS) {
		if (err && err->expression >= 0)
			*why = sx_strdupf("rule %s: pattern does not compile (Vectorscan): %s",
					  rs->rules[ids[err->expression]].id, err->message);
		else
			*why = sx_strdupf("the ruleset does not compile (Vectorscan): %s",
					  err ? err->message : "unknown error");
		hs_free_compile_error(err);
		return -EINVAL;
	}
	return 0;
}

void sx_engine_free(struct sx_engine *e)
{
	if (!e)
		return;
	hs_free_database(e->all);
	hs_free_database(e->raw);
	hs_free_database(e->decode);
	for (size_t i = 0; e->re && i < e->rs->n_rules; i++)
		pcre2_code_free(e->re[i]);
	free(e->re);
	free(e);
}

int sx_engine_new(const struct sx_ruleset *rs, struct sx_engine **ret, char **why)
{
	return sx_engine_new_min(rs, SX_SEV_LOW, ret, why);
}

int sx_engine_new_min(const struct sx_ruleset *rs, enum sx_severity min, struct sx_engine **ret, char **why)
{
	struct sx_engine *e = calloc(1, sizeof(*e));
	int r;

	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (!e)
		return -ENOMEM;
	pthread_once(&once, tables_init);
	e->rs = rs;
	e->min = min;
	e->re = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*e->re));
	if (!e->re) {
		sx_engine_free(e);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct sx_rule *rule = &rs->rules[i];
		PCRE2_UCHAR msg[160];
		PCRE2_SIZE at;
		uint32_t groups = 0;
		int code;
		e->re[i] = pcre2_compile((PCRE2_SPTR)rule->pattern, PCRE2_ZERO_TERMINATED,
					 rule->caseless ? PCRE2_CASELESS : 0, &code, &at, NULL);
		if (!e->re[i]) {
			pcre2_get_error_message(code, msg, sizeof(msg));
			*why = sx_strdupf("rule %s: pattern does not compile (PCRE2) at offset %zu: %s",
					  rule->id, (size_t)at, (char *)msg);
			sx_engine_free(e);
			return -EINVAL;
		}
		pcre2_pattern_info(e->re[i], PCRE2_INFO_CAPTURECOUNT, &groups);
		if (rule->group > groups) {
			*why = sx_strdupf("rule %s: \"group\" is %u but the pattern has %u group(s)",
					  rule->id, rule->group, groups);
			sx_engine_free(e);
			return -EINVAL;
		}
		/* Without JIT (an architecture without it) PCRE2 interprets. */
		(void)pcre2_jit_compile(e->re[i], PCRE2_JIT_COMPLETE);
	}
	if ((r = compile_db(rs, DB_ALL, min, &e->all, why)) < 0 ||
	    (r = compile_db(rs, DB_RAW, min, &e->raw, why)) < 0 ||
	    (r = compile_db(rs, DB_DECODE, min, &e->decode, why)) < 0) {
		sx_engine_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

const struct sx_ruleset *sx_engine_ruleset(const struct sx_engine *e)
{
	return e->rs;
}

/* ---- scanners ---- */

void sx_scanner_free(struct sx_scanner *s)
{
	if (!s)
		return;
	hs_free_scratch(s->scratch);
	pcre2_match_data_free(s->md);
	for (unsigned v = 0; v < N_VIEWS; v++)
		free(s->fired[v]);
	free(s->text.p);
	free(s->norm.p);
	free(s->rot.p);
	free(s->b64.p);
	free(s->tmp.p);
	free(s);
}

int sx_scanner_new(const struct sx_engine *e, struct sx_scanner **ret)
{
	struct sx_scanner *s = calloc(1, sizeof(*s));
	size_t n = e->rs->n_rules ? e->rs->n_rules : 1;

	if (!s)
		return -ENOMEM;
	s->e = e;
	s->min_severity = SX_SEV_LOW;
	s->md = pcre2_match_data_create(10, NULL);
	for (unsigned v = 0; v < N_VIEWS; v++)
		s->fired[v] = calloc(n, 1);
	if (!s->md || !s->fired[N_VIEWS - 1] || !s->fired[0] || !s->fired[1] || !s->fired[2] ||
	    !s->fired[3] || (e->all && hs_alloc_scratch(e->all, &s->scratch) != HS_SUCCESS) ||
	    (e->raw && hs_alloc_scratch(e->raw, &s->scratch) != HS_SUCCESS) ||
	    (e->decode && hs_alloc_scratch(e->decode, &s->scratch) != HS_SUCCESS)) {
		sx_scanner_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

struct sx_scan_stats *sx_scanner_stats(struct sx_scanner *s)
{
	return &s->stats;
}

void sx_scanner_set_min_severity(struct sx_scanner *s, enum sx_severity min)
{
	s->min_severity = min;
}

void sx_hits_clear(struct sx_hits *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].value);
		free(h->v[i].where);
		free(h->v[i].context);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

/* ---- views ---- */

static void put_utf8(struct buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xC0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xE0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xF0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	memcpy(b->p + b->len, u, n); /* the caller reserved room: an escape is longer than its value */
	b->len += n;
}

static int hex4(const char *s, size_t left, uint32_t *ret)
{
	uint32_t v = 0;
	if (left < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*ret = v;
	return 0;
}

/* The text view of a whole JSON text for the wide stage: every string
 * escape decoded in place of itself (the structure stays; every string's
 * content comes out whole and contiguous, which is all the filter needs).
 * An escape that is not valid is copied as it is. */
static int unescape(const char *in, size_t len, struct buf *out)
{
	const char *p = in, *end = in + len;
	out->len = 0;
	if (buf_reserve(out, len + 1) < 0)
		return -ENOMEM;
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		size_t n = bs ? (size_t)(bs - p) : (size_t)(end - p);
		memcpy(out->p + out->len, p, n);
		out->len += n;
		p += n;
		if (!bs)
			break;
		if (p + 1 >= end) {
			out->p[out->len++] = *p++;
			break;
		}
		char c = p[1], d = 0;
		uint32_t cp, lo;
		switch (c) {
		case 'n': d = '\n'; break;
		case 't': d = '\t'; break;
		case 'r': d = '\r'; break;
		case 'b': d = '\b'; break;
		case 'f': d = '\f'; break;
		case '"':
		case '\\':
		case '/': d = c; break;
		case 'u':
			if (hex4(p + 2, (size_t)(end - p - 2), &cp) < 0)
				break;
			if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 12 && p[6] == '\\' && p[7] == 'u' &&
			    hex4(p + 8, (size_t)(end - p - 8), &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
				put_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
				p += 12;
				continue;
			}
			put_utf8(out, cp >= 0xD800 && cp < 0xE000 ? 0xFFFD : cp);
			p += 6;
			continue;
		}
		if (d) {
			out->p[out->len++] = d;
			p += 2;
		} else {
			out->p[out->len++] = *p++;
		}
	}
	return 0;
}

static bool has_non_ascii(const char *s, size_t len)
{
	/* Word at a time: the common case is all ASCII. */
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080ull)
			return true;
	}
	for (; i < len; i++)
		if ((unsigned char)s[i] & 0x80)
			return true;
	return false;
}

/* NFKC with default-ignorable characters (zero-width, tag characters, soft
 * hyphen, …) removed.  Bytes that are not UTF-8 become '?' first (utf8proc
 * refuses them).  out holds the result; -ENOMEM or 0. */
static int normalize(const char *in, size_t len, struct buf *tmp, struct buf *out)
{
	utf8proc_uint8_t *dst = NULL;
	utf8proc_ssize_t n;
	const unsigned char *u = (const unsigned char *)in;

	tmp->len = 0;
	if (buf_reserve(tmp, len + 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = sx_utf8_next(u + i, len - i, &cp);
		if (k == 0 || cp == 0) {
			tmp->p[tmp->len++] = '?';
			i++;
		} else {
			memcpy(tmp->p + tmp->len, u + i, k);
			tmp->len += k;
			i += k;
		}
	}
	n = utf8proc_map((const utf8proc_uint8_t *)tmp->p, (utf8proc_ssize_t)tmp->len, &dst,
			 UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_IGNORE);
	out->len = 0;
	if (n < 0)
		return buf_put(out, tmp->p,
			       tmp->len); /* cannot happen after the cleaning; scan it as it is */
	int r = buf_put(out, dst, (size_t)n);
	free(dst);
	return r;
}

/* Byte tables for the two decodings: a table lookup per byte keeps these
 * views close to memcpy speed. */
static unsigned char rot13_table[256];
static signed char b64_table[256];

static void tables_init(void)
{
	for (int c = 0; c < 256; c++) {
		rot13_table[c] = (unsigned char)c;
		b64_table[c] = -1;
	}
	for (int c = 'a'; c <= 'z'; c++) {
		rot13_table[c] = (unsigned char)('a' + (c - 'a' + 13) % 26);
		rot13_table[c - 'a' + 'A'] = (unsigned char)('A' + (c - 'a' + 13) % 26);
		b64_table[c - 'a' + 'A'] = (signed char)(c - 'a');
		b64_table[c] = (signed char)(c - 'a' + 26);
	}
	for (int c = '0'; c <= '9'; c++)
		b64_table[c] = (signed char)(c - '0' + 52);
	b64_table['+'] = b64_table['-'] = 62;
	b64_table['/'] = b64_table['_'] = 63;
}

static int rot13(const char *in, size_t len, struct buf *out)
{
	out->len = 0;
	if (len == 0)
		return 0;
	if (buf_reserve(out, len) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		out->p[i] = (char)rot13_table[(unsigned char)in[i]];
	out->len = len;
	return 0;
}

static inline int b64_value(unsigned char c)
{
	return b64_table[c];
}

/* Appends the decoding of one base64 run (either alphabet) to out when it
 * decodes to mostly printable text, followed by a newline. */
static int b64_decode_run(const char *s, size_t n, struct buf *out)
{
	size_t start = out->len, printable = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (buf_reserve(out, out->len + n * 3 / 4 + 2) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 6) | (uint32_t)b64_value((unsigned char)s[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			unsigned char c = (unsigned char)(acc >> bits);
			out->p[out->len++] = (char)c;
			if ((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' || c == '\r' || c >= 0x80)
				printable++;
			/* Images and other binary data: give up early. */
			if (out->len - start == 64 && printable < 56) {
				out->len = start;
				return 0;
			}
		}
	}
	if (printable * 10 < (out->len - start) * 9) {
		out->len = start;
		return 0;
	}
	out->p[out->len++] = '\n';
	return 0;
}

/* The base64 view: every run of at least BASE64_MIN_RUN base64 characters
 * in s, decoded. */
static int base64_view(const char *s, size_t len, struct buf *out)
{
	out->len = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && b64_value((unsigned char)s[j]) >= 0)
			j++;
		if (j - i >= BASE64_MIN_RUN && b64_decode_run(s + i, j - i, out) < 0)
			return -ENOMEM;
		i = j == i ? i + 1 : j;
	}
	return 0;
}

/* ---- the wide stage ---- */

struct fire_ctx {
	struct sx_scanner *s;
	uint8_t *fired;
};

static int on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
		    void *ctx)
{
	struct fire_ctx *f = ctx;
	if (!f->fired[id]) {
		f->fired[id] = 1;
		f->s->n_fired++;
	}
	return 0;
}

static void wide(struct sx_scanner *s, const hs_database_t *db, enum sx_view v, const char *p, size_t n)
{
	struct fire_ctx f = {s, s->fired[v]};
	uint64_t t0 = now_ns();
	uint64_t dt;
	if (db && n > 0)
		hs_scan(db, p, (unsigned)MIN(n, (size_t)UINT32_MAX), 0, s->scratch, on_match, &f);
	dt = now_ns() - t0;
	s->stats.ns_scan += dt;
	s->stats.ns_scan_view[v] += dt;
}

/* ---- the narrow stage ---- */

static bool ci_contains(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++) {
		size_t j = 0;
		while (j < k) {
			char c = hay[i + j];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != needle[j])
				break;
			j++;
		}
		if (j == k)
			return true;
	}
	return false;
}

static bool keywords_ok(const struct sx_rule *r, const char *p, size_t ms, size_t me)
{
	size_t from = ms > KEYWORD_WINDOW ? ms - KEYWORD_WINDOW : 0;
	if (!r->keywords)
		return true;
	for (size_t i = 0; r->keywords[i]; i++)
		if (ci_contains(p + from, me - from, r->keywords[i]))
			return true;
	return false;
}

static bool hit_known(const struct sx_hits *h, const struct sx_rule *r, const char *v, size_t n)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].rule == r && strlen(h->v[i].value) == n && memcmp(h->v[i].value, v, n) == 0)
			return true;
	return false;
}

static bool rule_has_hit(const struct sx_hits *h, const struct sx_rule *r)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].rule == r)
			return true;
	return false;
}

/* Moves i back to the start of a UTF-8 sequence. */
static size_t utf8_floor(const char *p, size_t i)
{
	while (i > 0 && ((unsigned char)p[i] & 0xC0) == 0x80)
		i--;
	return i;
}

/* Where a string sits in the JSON text: a chain of frames up to the root,
 * made into "request.messages[2].content" only when a hit needs it (most
 * strings have none, and a string per node would cost an allocation). */
struct pathf {
	const struct pathf *up;
	const char *key; /* member name; NULL: index */
	size_t idx;
	const char *literal; /* the root's name ("$", "raw"), or NULL */
};

static void path_put(FILE *f, const struct pathf *p)
{
	if (!p)
		return;
	if (p->literal) {
		fputs(p->literal, f);
		return;
	}
	path_put(f, p->up);
	if (p->key)
		fprintf(f, "%s%s", p->up && !p->up->literal ? "." : "", p->key);
	else
		fprintf(f, "[%zu]", p->idx);
}

static char *path_string(const struct pathf *p)
{
	char *out = NULL;
	if (!p) /* the text itself is a string */
		return strdup("$");
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	if (!f)
		return NULL;
	path_put(f, p);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static const struct pathf path_root = {.literal = "$"}, path_raw = {.literal = "raw"};

/* gcc 12's -fanalyzer does not follow the strings into the grown array
 * (a struct assignment through h->v) and reports them leaked; they are
 * freed by sx_hits_clear(). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
static int add_hit(struct sx_hits *h, const struct sx_rule *r, const char *p, size_t len, size_t vs,
		   size_t ve, const struct pathf *where, enum sx_view view)
{
	size_t cs = utf8_floor(p, vs > CONTEXT_BYTES ? vs - CONTEXT_BYTES : 0);
	size_t ce = ve + CONTEXT_BYTES < len ? utf8_floor(p, ve + CONTEXT_BYTES) : len;
	_cleanup_free_ char *value = strndup(p + vs, ve - vs), *at = path_string(where),
			    *context = strndup(p + cs, ce - cs);
	struct sx_hit *grown;

	if (!value || !at || !context)
		return -ENOMEM;
	grown = reallocarray(h->v, h->n + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	h->v = grown;
	h->v[h->n++] = (struct sx_hit){.rule = r,
				       .view = view,
				       .value_at = vs - cs,
				       .value = TAKE_PTR(value),
				       .where = TAKE_PTR(at),
				       .context = TAKE_PTR(context)};
	return 1;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Runs rule i's PCRE2 program over p; every match that passes the rule's
 * checks and is new becomes a hit.  Returns hits added or -ENOMEM. */
static int confirm(struct sx_scanner *s, size_t i, const char *p, size_t len, const struct pathf *where,
		   enum sx_view view, struct sx_hits *h)
{
	const struct sx_rule *r = &s->e->rs->rules[i];
	PCRE2_SIZE off = 0, *ov;
	int added = 0, k;
	uint64_t t0 = now_ns();

	while (off <= len) {
		int rc = pcre2_match(s->e->re[i], (PCRE2_SPTR)p, len, off, 0, s->md, NULL);
		if (rc < 0)
			break;
		ov = pcre2_get_ovector_pointer(s->md);
		size_t ms = ov[0], me = ov[1];
		size_t vs = ov[2 * r->group], ve = ov[2 * r->group + 1];
		off = me > ms ? me : me + 1;
		if (rc <= (int)r->group || vs == PCRE2_UNSET || ve <= vs)
			continue;
		if (!keywords_ok(r, p, ms, me))
			continue;
		if (r->validator != SX_VALIDATOR_NONE &&
		    !sx_validate(r->validator, p + vs, ve - vs, r->min_entropy))
			continue;
		if (hit_known(h, r, p + vs, ve - vs))
			continue;
		if ((k = add_hit(h, r, p, len, vs, ve, where, view)) < 0)
			return k;
		added++;
	}
	s->stats.ns_confirm += now_ns() - t0;
	return added;
}

/* Confirms every rule that fired in view v and applies to this string. */
static int confirm_fired(struct sx_scanner *s, enum sx_view v, const char *p, size_t len,
			 const struct pathf *where, bool tool_text, bool decode_only, struct sx_hits *h)
{
	const struct sx_ruleset *rs = s->e->rs;
	int added = 0, k;
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct sx_rule *r = &rs->rules[i];
		if (!s->fired[v][i] || r->severity < s->min_severity || (r->tool_scope && !tool_text) ||
		    (decode_only && !r->decode))
			continue;
		if ((k = confirm(s, i, p, len, where, v, h)) < 0)
			return k;
		added += k;
	}
	return added;
}

/* One string of the text: the text view as it is, then the other views of
 * it where the wide stage saw something in them. */
static int narrow_string(struct sx_scanner *s, const char *p, size_t len, const struct pathf *where,
			 bool tool_text, struct sx_hits *h)
{
	int added = 0, k;
	if ((k = confirm_fired(s, SX_VIEW_TEXT, p, len, where, tool_text, false, h)) < 0)
		return k;
	added += k;
	if (has_non_ascii(p, len)) {
		struct buf n = {0};
		if (normalize(p, len, &s->tmp, &n) < 0)
			return -ENOMEM;
		k = confirm_fired(s, SX_VIEW_NORMALIZED, n.p, n.len, where, tool_text, false, h);
		free(n.p);
		if (k < 0)
			return k;
		added += k;
	}
	if (s->e->decode) {
		struct buf d = {0};
		if (rot13(p, len, &d) < 0)
			return -ENOMEM;
		k = confirm_fired(s, SX_VIEW_ROT13, d.p, d.len, where, tool_text, true, h);
		if (k >= 0) {
			added += k;
			if (base64_view(p, len, &d) < 0)
				k = -ENOMEM;
			else if ((k = confirm_fired(s, SX_VIEW_BASE64, d.p, d.len, where, tool_text, true,
						    h)) >= 0)
				added += k;
		}
		free(d.p);
		if (k < 0)
			return k;
	}
	return added;
}

/* Whether a member or element under key sits in a tool call: OpenAI's
 * tool_calls and function_call, Anthropic's tool_use blocks' input. */
static bool tool_key(const cJSON *parent, const char *key)
{
	if (!key)
		return false;
	if (streq(key, "tool_calls") || streq(key, "function_call"))
		return true;
	return streq(key, "input") && streq(sx_json_str(parent, "type"), "tool_use");
}

static int walk(struct sx_scanner *s, const cJSON *node, const struct pathf *path, bool tool_text,
		struct sx_hits *h)
{
	int added = 0, k;
	if (cJSON_IsString(node) && node->valuestring)
		return narrow_string(s, node->valuestring, strlen(node->valuestring), path, tool_text, h);
	if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
		return 0;
	size_t idx = 0;
	for (const cJSON *c = node->child; c; c = c->next, idx++) {
		struct pathf sub = {.up = path, .idx = idx};
		bool tool = tool_text;
		if (cJSON_IsObject(node)) {
			sub.key = c->string ? c->string : "";
			tool = tool || tool_key(node, c->string);
		}
		/* A tool call's name is tool text too. */
		if ((k = walk(s, c, &sub, tool, h)) < 0)
			return k;
		added += k;
	}
	return added;
}

/* The wide stage over one text and its views; returns whether any rule
 * fired. */
static int wide_all(struct sx_scanner *s, const char *text, size_t len)
{
	const char *t = text;
	size_t tlen = len;
	uint64_t t0;

	for (unsigned v = 0; v < N_VIEWS; v++)
		memset(s->fired[v], 0, s->e->rs->n_rules);
	s->n_fired = 0;
	s->stats.bytes += len;
	s->stats.texts++;

	if (memchr(text, '\\', len)) {
		/* The raw view for the rules that may match a backslash; the
		 * text view (the raw bytes, escapes undone) for all. */
		wide(s, s->e->raw, SX_VIEW_RAW, text, len);
		t0 = now_ns();
		if (unescape(text, len, &s->text) < 0)
			return -ENOMEM;
		s->stats.ns_views += now_ns() - t0;
		t = s->text.p;
		tlen = s->text.len;
		wide(s, s->e->all, SX_VIEW_TEXT, t, tlen);
	} else {
		/* No escapes: the two views are the same bytes. */
		wide(s, s->e->all, SX_VIEW_RAW, text, len);
		memcpy(s->fired[SX_VIEW_TEXT], s->fired[SX_VIEW_RAW], s->e->rs->n_rules);
	}
	if (has_non_ascii(t, tlen)) {
		t0 = now_ns();
		if (normalize(t, tlen, &s->tmp, &s->norm) < 0)
			return -ENOMEM;
		s->stats.ns_views += now_ns() - t0;
		wide(s, s->e->all, SX_VIEW_NORMALIZED, s->norm.p, s->norm.len);
	}
	if (s->e->decode) {
		t0 = now_ns();
		if (rot13(t, tlen, &s->rot) < 0 || base64_view(t, tlen, &s->b64) < 0)
			return -ENOMEM;
		s->stats.ns_views += now_ns() - t0;
		wide(s, s->e->decode, SX_VIEW_ROT13, s->rot.p, s->rot.len);
		wide(s, s->e->decode, SX_VIEW_BASE64, s->b64.p, s->b64.len);
	}
	return s->n_fired > 0;
}

/* Hits of rules that found nothing in the strings one by one: a value
 * whose pattern spans the JSON around it (a key and its value, as in
 * `"password": "…"`), in the unescaped text as a whole ("$"), else in the
 * raw bytes ("raw": a value only its escaped form matches). */
static int narrow_whole(struct sx_scanner *s, const char *text, size_t len, bool unescaped, struct sx_hits *h)
{
	const struct sx_ruleset *rs = s->e->rs;
	int added = 0, k;
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct sx_rule *r = &rs->rules[i];
		if (r->tool_scope || r->severity < s->min_severity || rule_has_hit(h, r))
			continue;
		if (unescaped && s->fired[SX_VIEW_TEXT][i] &&
		    (k = confirm(s, i, s->text.p, s->text.len, &path_root, SX_VIEW_TEXT, h)) != 0) {
			if (k < 0)
				return k;
			added += k;
			continue;
		}
		if (s->fired[SX_VIEW_RAW][i] &&
		    (k = confirm(s, i, text, len, &path_raw, SX_VIEW_RAW, h)) != 0) {
			if (k < 0)
				return k;
			added += k;
		}
	}
	return added;
}

/* Forgets what tool-call rules saw in a text that holds no tool call (none
 * of the keys tool_key() looks for): they could confirm nothing, and a
 * record that only they fired in needs no parsing. */
/* Whether text has the member "key" with a value opening with open then
 * (for arrays) a first element: `"tool_calls": [ {`, JSON whitespace allowed. */
static bool has_member(const char *text, size_t len, const char *key, const char *open)
{
	size_t k = strlen(key);
	for (const char *p = text, *end = text + len; (p = memmem(p, (size_t)(end - p), key, k)); p += k) {
		const char *q = p + k;
		for (const char *want = open; *want && q < end; want++) {
			while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
				q++;
			if (q == end || *q != *want)
				break;
			q++;
			if (!want[1])
				return true;
		}
	}
	return false;
}

static void drop_tool_rules(struct sx_scanner *s, const char *text, size_t len)
{
	const struct sx_ruleset *rs = s->e->rs;
	if (has_member(text, len, "\"tool_calls\"", ":[{") ||
	    has_member(text, len, "\"function_call\"", ":{") || memmem(text, len, "\"tool_use\"", 10))
		return;
	for (size_t i = 0; i < rs->n_rules; i++) {
		if (!rs->rules[i].tool_scope)
			continue;
		for (unsigned v = 0; v < N_VIEWS; v++)
			if (s->fired[v][i]) {
				s->fired[v][i] = 0;
				s->n_fired--;
			}
	}
}

int sx_scan_json(struct sx_scanner *s, const char *text, size_t len, struct sx_hits *h)
{
	_cleanup_cjson_ cJSON *j = NULL;
	uint64_t t0;
	int r, added;

	if ((r = wide_all(s, text, len)) <= 0)
		return r;
	drop_tool_rules(s, text, len);
	if (s->n_fired == 0)
		return 0;
	t0 = now_ns();
	j = sx_json_parse_depth(text, len, SX_JSON_EMBED_DEPTH);
	s->stats.ns_json += now_ns() - t0;
	s->stats.parsed++;
	if (j)
		added = walk(s, j, NULL, false, h);
	else
		added = narrow_string(s, text, len, &path_root, false, h);
	if (added < 0)
		return added;
	if ((r = narrow_whole(s, text, len, memchr(text, '\\', len) != NULL, h)) < 0)
		return r;
	return added + r;
}

int sx_scan_plain(struct sx_scanner *s, const char *text, size_t len, bool tool_text, struct sx_hits *h)
{
	int r;
	/* A plain string's raw view is the string itself: no escapes to undo. */
	for (unsigned v = 0; v < N_VIEWS; v++)
		memset(s->fired[v], 0, s->e->rs->n_rules);
	s->n_fired = 0;
	wide(s, s->e->all, SX_VIEW_TEXT, text, len);
	if (has_non_ascii(text, len)) {
		if (normalize(text, len, &s->tmp, &s->norm) < 0)
			return -ENOMEM;
		wide(s, s->e->all, SX_VIEW_NORMALIZED, s->norm.p, s->norm.len);
	}
	if (s->e->decode) {
		if (rot13(text, len, &s->rot) < 0 || base64_view(text, len, &s->b64) < 0)
			return -ENOMEM;
		wide(s, s->e->decode, SX_VIEW_ROT13, s->rot.p, s->rot.len);
		wide(s, s->e->decode, SX_VIEW_BASE64, s->b64.p, s->b64.len);
	}
	if (s->n_fired == 0)
		return 0;
	r = narrow_string(s, text, len, &path_root, tool_text, h);
	return r;
}

/* ---- redaction ---- */

char *sx_redact(const struct sx_rule *r, const char *value)
{
	const char *label = r->label ? r->label : r->id;
	size_t n = strlen(value);
	if (n < 12)
		return sx_strdupf("[%s]", label);
	size_t from = utf8_floor(value, n - 4);
	return sx_strdupf("[%s …%s]", label, value + from);
}

/* Replaces every whole occurrence of each hit's value in b by its
 * redaction, and a value's head or tail cut off at b's edges by "…". */
static int redact_all(struct buf *b, const struct sx_hits *all)
{
	for (size_t i = 0; i < all->n; i++) {
		const char *v = all->v[i].value;
		size_t vn = strlen(v);
		_cleanup_free_ char *red = sx_redact(all->v[i].rule, v);
		struct buf out = {0};
		if (!red)
			return -ENOMEM;
		if (vn == 0)
			continue;
		for (size_t k = 0; k < b->len;) {
			/* A value's tail at the start, or head at the end (4+ bytes). */
			size_t edge = 0;
			if (k == 0)
				for (size_t t = MIN(vn - 1, b->len); t >= 4 && !edge; t--)
					if (memcmp(b->p, v + vn - t, t) == 0)
						edge = t;
			if (!edge && b->len - k < vn && b->len - k >= 4 &&
			    memcmp(b->p + k, v, b->len - k) == 0)
				edge = b->len - k;
			if (edge) {
				if (buf_put(&out, "…", strlen("…")) < 0)
					goto oom;
				k += edge;
				continue;
			}
			if (b->len - k >= vn && memcmp(b->p + k, v, vn) == 0) {
				if (buf_put(&out, red, strlen(red)) < 0)
					goto oom;
				k += vn;
				continue;
			}
			if (buf_put(&out, b->p + k, 1) < 0)
				goto oom;
			k++;
		}
		free(b->p);
		*b = out;
		continue;
	oom:
		free(out.p);
		return -ENOMEM;
	}
	return 0;
}

char *sx_hit_excerpt(const struct sx_hit *hit, const struct sx_hits *all, size_t max)
{
	struct buf b = {0};
	size_t n = strlen(hit->context), vn = strlen(hit->value), from, to;
	/* The window around the value, before redaction, so that the value
	 * itself stays in whole (and is then redacted). */
	size_t half = max > vn ? (max - vn) / 2 : 0;
	from = utf8_floor(hit->context, hit->value_at > half ? hit->value_at - half : 0);
	to = hit->value_at + vn + half < n ? utf8_floor(hit->context, hit->value_at + vn + half) : n;
	if (buf_put(&b, hit->context + from, to - from) < 0 || redact_all(&b, all) < 0 ||
	    buf_put(&b, "", 1) < 0) {
		free(b.p);
		return NULL;
	}
	/* Newlines and tabs would make the excerpt hard to read on one line. */
	for (char *c = b.p; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	return b.p;
}

/* ---- a policy's ruleset ---- */

int sx_engine_load_policy(const char *policy_dir, char *const *packs, enum sx_severity min,
			  struct sx_ruleset **ret_rs, struct sx_engine **ret_engine, char **why)
{
	_cleanup_free_ char *dir = sx_strdupf("%s/patrol", policy_dir), *shipped = sx_patrol_pack_dir();
	_cleanup_ruleset_ struct sx_ruleset *rs = NULL;
	struct stat sb;
	int r;

	if (!dir || !shipped)
		return -ENOMEM;
	/* An instance provisioned before packs were copied uses the shipped ones. */
	r = sx_ruleset_load(stat(dir, &sb) == 0 ? dir : shipped, packs, &rs, why);
	if (r < 0)
		return r;
	if (ret_engine && (r = sx_engine_new_min(rs, min, ret_engine, why)) < 0)
		return r;
	*ret_rs = TAKE_PTR(rs);
	return 0;
}

/* ---- a pack's own examples ---- */

int sx_engine_check_examples(const struct sx_engine *e, char **report)
{
	struct sx_scanner *s = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int failed = 0;

	*report = NULL;
	if (sx_scanner_new(e, &s) < 0 || !(out = open_memstream(&text, &len))) {
		sx_scanner_free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < e->rs->n_rules; i++) {
		const struct sx_rule *r = &e->rs->rules[i];
		for (unsigned want = 0; want < 2; want++) {
			char **ex = want ? r->match_examples : r->nomatch_examples;
			for (size_t k = 0; ex && ex[k]; k++) {
				struct sx_hits h = {0};
				bool got;
				if (sx_scan_plain(s, ex[k], strlen(ex[k]), r->tool_scope, &h) < 0) {
					sx_hits_clear(&h);
					failed = -ENOMEM;
					goto done;
				}
				got = rule_has_hit(&h, r);
				sx_hits_clear(&h);
				if (got != (bool)want) {
					fprintf(out, "rule %s (pack %s): example %s \"%.60s%s\"\n", r->id,
						r->pack,
						want ? "not flagged:" : "flagged though listed as nomatch:",
						ex[k], strlen(ex[k]) > 60 ? "…" : "");
					failed++;
				}
			}
		}
	}
done:
	fclose(out);
	sx_scanner_free(s);
	if (failed > 0)
		*report = text;
	else
		free(text);
	return failed;
}
