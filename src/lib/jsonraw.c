/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * jsonraw.c - one pass over a JSON text: check, compact, note the
 * top-level "model" and "stream" (jsonraw.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "jsonraw.h"
#include "util.h"

struct cur {
	const unsigned char *p, *end;
	char *o; /* output, as long as the input at most */
	int depth, max_depth;
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool is_hex(unsigned char h)
{
	return (h >= '0' && h <= '9') || ((h | 0x20) >= 'a' && (h | 0x20) <= 'f');
}

/* p at the 'u' of a \\uXXXX escape (hex checked): 1 for a high surrogate
 * (D800-DBFF), 2 for a low one (DC00-DFFF), else 0.  A text whose escapes
 * do not pair up is not UTF-8 either: refused as cJSON refuses it. */
static int escaped_surrogate(const unsigned char *p)
{
	if ((p[1] | 0x20) != 'd')
		return 0;
	if (p[2] >= '8' && p[2] <= '9')
		return 1;
	if ((p[2] | 0x20) >= 'a' && (p[2] | 0x20) <= 'b')
		return 1;
	if ((p[2] | 0x20) >= 'c' && (p[2] | 0x20) <= 'f')
		return 2;
	return 0;
}

/* The characters after a backslash that need nothing more (a strchr per
 * escape was a tenth of compacting a body of source code). */
static bool simple_escape(unsigned char ch)
{
	switch (ch) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't': return true;
	default: return false;
	}
}

/* Skips plain string bytes: printable ASCII but quote and backslash. */
static void skip_plain(struct cur *c)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
	while (c->p + 16 <= c->end) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)c->p);
		/* Signed compare: bytes >= 0x80 are negative, so below 0x20 too. */
		__m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
					    _mm_cmplt_epi8(v, space));
		int mask = _mm_movemask_epi8(stop);
		if (mask) {
			c->p += __builtin_ctz((unsigned)mask);
			return;
		}
		c->p += 16;
	}
#endif
	while (c->p + 8 <= c->end) {
		uint64_t w, q, b, low;
		memcpy(&w, c->p, 8);
		q = w ^ 0x2222222222222222ULL;
		b = w ^ 0x5c5c5c5c5c5c5c5cULL;
		q = (q - 0x0101010101010101ULL) & ~q;
		b = (b - 0x0101010101010101ULL) & ~b;
		low = (w - 0x2020202020202020ULL) & ~w;
		if ((q | b | low | w) & 0x8080808080808080ULL)
			return;
		c->p += 8;
	}
}

/* A string: copied as it is; *escaped tells whether it had escapes.  Its
 * bytes must be UTF-8: a record embeds the text without another pass. */
static int string(struct cur *c, bool *escaped)
{
	const unsigned char *start = c->p++;
	uint32_t cp;
	size_t k;

	*escaped = false;
	for (;;) {
		skip_plain(c);
		if (c->p >= c->end)
			return -EINVAL;
		if (*c->p == '"')
			break;
		if (*c->p >= 0x80) {
			k = sx_utf8_next(c->p, (size_t)(c->end - c->p), &cp);
			if (!k)
				return -EILSEQ;
			c->p += k;
			continue;
		}
		if (*c->p < 0x20)
			return -EINVAL;
		if (*c->p == '\\') {
			*escaped = true;
			if (++c->p >= c->end)
				return -EINVAL;
			if (*c->p == 'u') {
				if (c->end - c->p < 5 || !is_hex(c->p[1]) || !is_hex(c->p[2]) ||
				    !is_hex(c->p[3]) || !is_hex(c->p[4]))
					return -EINVAL;
				if (escaped_surrogate(c->p) == 2) /* a low half first */
					return -EILSEQ;
				if (escaped_surrogate(c->p) == 1) { /* a high half: a low one must follow */
					if (c->end - c->p < 11 || c->p[5] != '\\' || c->p[6] != 'u' ||
					    !is_hex(c->p[7]) || !is_hex(c->p[8]) || !is_hex(c->p[9]) ||
					    !is_hex(c->p[10]) || escaped_surrogate(c->p + 6) != 2)
						return -EILSEQ;
					c->p += 6;
				}
				c->p += 4;
			} else if (!simple_escape(*c->p))
				return -EINVAL;
		}
		c->p++;
	}
	c->p++; /* the closing quote */
	memcpy(c->o, start, (size_t)(c->p - start));
	c->o += c->p - start;
	return 0;
}

static int number(struct cur *c)
{
	const unsigned char *start = c->p;
	bool digits = false;

	if (*c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++, digits = true;
	else
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++, digits = true;
	if (!digits)
		return -EINVAL;
	if (c->p < c->end && *c->p == '.') {
		digits = false;
		for (c->p++; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++)
			digits = true;
		if (!digits)
			return -EINVAL;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		digits = false;
		for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++)
			digits = true;
		if (!digits)
			return -EINVAL;
	}
	memcpy(c->o, start, (size_t)(c->p - start));
	c->o += c->p - start;
	return 0;
}

static int literal(struct cur *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -EINVAL;
	memcpy(c->o, word, n);
	c->o += n;
	c->p += n;
	return 0;
}

static int value(struct cur *c, struct sx_json_top *top);

/* An object or an array; at depth 1 an object's "model" and "stream" are
 * noted in top. */
static int container(struct cur *c, struct sx_json_top *top)
{
	bool object = *c->p == '{', first = true;
	unsigned char close = object ? '}' : ']';
	int r;

	if (++c->depth > c->max_depth)
		return -EINVAL;
	*c->o++ = (char)*c->p++;
	for (;;) {
		const char *key = NULL, *vstart;
		bool escaped = false;
		skip_ws(c);
		if (c->p >= c->end)
			return -EINVAL;
		if (*c->p == close && first)
			break;
		if (!first) {
			if (*c->p == close)
				break;
			if (*c->p != ',')
				return -EINVAL;
			*c->o++ = ',';
			c->p++;
			skip_ws(c);
			if (c->p >= c->end)
				return -EINVAL;
		}
		first = false;
		if (object) {
			if (*c->p != '"')
				return -EINVAL;
			key = c->o;
			if ((r = string(c, &escaped)) < 0)
				return r;
			skip_ws(c);
			if (c->p >= c->end || *c->p != ':')
				return -EINVAL;
			*c->o++ = ':';
			c->p++;
			skip_ws(c);
		}
		vstart = c->o;
		if ((r = value(c, top)) < 0)
			return r;
		if (top && key && c->depth == 1 && !escaped) {
			size_t klen = (size_t)(vstart - 1 - key), vlen = (size_t)(c->o - vstart);
			/* The first of a repeated name counts, as with cJSON. */
			if (klen == 7 && memcmp(key, "\"model\"", 7) == 0 && !top->model_seen) {
				top->model_seen = true;
				if (vlen < 2 || *vstart != '"')
					continue;
				top->model_escaped = memchr(vstart, '\\', vlen) != NULL;
				if (!top->model_escaped && !(top->model = strndup(vstart + 1, vlen - 2)))
					return -ENOMEM;
			} else if (klen == 8 && memcmp(key, "\"stream\"", 8) == 0 && !top->stream_seen) {
				top->stream_seen = true;
				top->stream = vlen == 4 && memcmp(vstart, "true", 4) == 0;
			}
		}
	}
	*c->o++ = (char)*c->p++;
	c->depth--;
	return 0;
}

static int value(struct cur *c, struct sx_json_top *top)
{
	bool escaped;

	if (c->p >= c->end)
		return -EINVAL;
	switch (*c->p) {
	case '{':
	case '[': return container(c, top);
	case '"': return string(c, &escaped);
	case 't': return literal(c, "true");
	case 'f': return literal(c, "false");
	case 'n': return literal(c, "null");
	default: return (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) ? number(c) : -EINVAL;
	}
}

int sx_json_compact_to(const char *text, size_t len, int max_depth, char *out, size_t *out_len,
		       struct sx_json_top *top)
{
	struct cur c = {(const unsigned char *)text, (const unsigned char *)text + len, out, 0, max_depth};
	int r;

	if (top)
		*top = (struct sx_json_top){0};
	skip_ws(&c);
	r = value(&c, top);
	skip_ws(&c);
	if (r == 0 && c.p != c.end)
		r = -EINVAL;
	if (r < 0) {
		if (top) {
			free(top->model);
			*top = (struct sx_json_top){0};
		}
		return r;
	}
	*c.o = 0;
	*out_len = (size_t)(c.o - out);
	return 0;
}

int sx_json_compact(const char *text, size_t len, int max_depth, char **out, struct sx_json_top *top)
{
	char *buf = malloc(len + 1);
	size_t n;
	int r;

	*out = NULL;
	if (top)
		*top = (struct sx_json_top){0};
	if (!buf)
		return -ENOMEM;
	r = sx_json_compact_to(text, len, max_depth, buf, &n, top);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

cJSON *sx_json_raw_item(char *text)
{
	cJSON *item = text ? cJSON_CreateRaw("") : NULL;

	if (!item) {
		free(text);
		return NULL;
	}
	free(item->valuestring); /* cJSON frees with free(): no hooks are set */
	item->valuestring = text;
	return item;
}

int sx_json_add_string(struct sx_buf *b, const char *s, size_t n, bool *utf8)
{
	bool plain = true;
	char *c, *printed;
	cJSON *item;
	int r;

	for (size_t i = 0; i < n && plain; i++)
		plain = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\';
	if (plain) {
		if (sx_buf_reserve(b, n + 2) < 0)
			return -ENOMEM;
		b->p[b->len++] = '"';
		memcpy(b->p + b->len, s, n);
		b->len += n;
		b->p[b->len++] = '"';
		return 0;
	}
	/* Escapes as cJSON writes them (a NUL ends the string, as in cJSON). */
	c = strndup(s, n);
	item = c ? cJSON_CreateString(c) : NULL;
	printed = item ? cJSON_PrintUnformatted(item) : NULL;
	if (c && utf8 && !sx_utf8_valid(c))
		*utf8 = false;
	r = printed ? sx_buf_add(b, printed, strlen(printed)) : -ENOMEM;
	free(printed);
	cJSON_Delete(item);
	free(c);
	return r;
}
