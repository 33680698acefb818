/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * jsonwalk.c - reading a compacted, checked JSON text in place (jsonwalk.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "jsonwalk.h"

struct sx_jw sx_jw_text(const char *text, size_t len)
{
	return (struct sx_jw){text, text + len};
}

/* p at a string's opening quote: the byte after its closing quote.  The
 * text is valid: every backslash starts an escape of at least 2 bytes. */
static const char *string_end(const char *p, const char *end)
{
	p++;
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	while (p + 16 <= end) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote));
		unsigned b = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bslash));
		if (q && (!b || __builtin_ctz(q) < __builtin_ctz(b)))
			return p + __builtin_ctz(q) + 1;
		if (b) {
			p += __builtin_ctz(b) + 2; /* the escape's second byte is never the end */
			continue;
		}
		p += 16;
	}
#endif
	while (p < end) {
		if (*p == '"')
			return p + 1;
		p += *p == '\\' ? 2 : 1;
	}
	return end;
}

bool sx_jw_string_ends_at(const char *p, const char *text_end, const char *at)
{
	return p < at && *p == '"' && string_end(p, text_end) == at;
}

/* p at a value's first byte: the byte after the value. */
static const char *value_end(const char *p, const char *end)
{
	int depth = 0;

	if (p >= end)
		return end;
	if (*p == '"')
		return string_end(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && *p != ',' && *p != '}' && *p != ']')
			p++;
		return p;
	}
	while (p < end) {
		switch (*p) {
		case '"': p = string_end(p, end); continue;
		case '{':
		case '[': depth++; break;
		case '}':
		case ']':
			if (--depth == 0)
				return p + 1;
			break;
		}
		p++;
	}
	return end;
}

int sx_jw_members(struct sx_jw v, const char *const *keys, size_t n, struct sx_jw *out, bool *found)
{
	size_t left = n, key_len[8];
	const char *p = v.p + 1;

	if (n > sizeof(key_len) / sizeof(key_len[0]))
		return -1;
	for (size_t i = 0; i < n; i++) {
		found[i] = false;
		key_len[i] = strlen(keys[i]); /* once, not per member */
	}
	if (!sx_jw_is(v, '{'))
		return 0;
	while (left && p < v.end && *p == '"') {
		const char *name = p + 1, *name_end = string_end(p, v.end) - 1, *val = name_end + 2;
		size_t len = (size_t)(name_end - name);
		const char *after = value_end(val, v.end);
		/* An escaped name might spell a key: only a parser can tell. */
		if (memchr(name, '\\', len))
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (!found[i] && key_len[i] == len && memcmp(name, keys[i], len) == 0) {
				out[i] = (struct sx_jw){val, after};
				found[i] = true;
				left--;
				break;
			}
		}
		if (after >= v.end || *after != ',')
			break;
		p = after + 1;
	}
	return 0;
}

enum sx_jw_found sx_jw_member(struct sx_jw v, const char *key, struct sx_jw *out)
{
	bool found;

	if (sx_jw_members(v, &key, 1, out, &found) < 0)
		return SX_JW_UNSURE;
	return found ? SX_JW_FOUND : SX_JW_MISSING;
}

bool sx_jw_index(struct sx_jw v, size_t i, struct sx_jw *out)
{
	const char *p = v.p + 1;

	if (!sx_jw_is(v, '[') || p >= v.end || *p == ']')
		return false;
	for (;;) {
		const char *after = value_end(p, v.end);
		if (i-- == 0) {
			*out = (struct sx_jw){p, after};
			return true;
		}
		if (after >= v.end || *after != ',')
			return false;
		p = after + 1;
	}
}

static int hex4(const char *p, uint32_t *cp)
{
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		char h = p[i];
		*cp <<= 4;
		if (h >= '0' && h <= '9')
			*cp |= (uint32_t)(h - '0');
		else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
			*cp |= (uint32_t)((h | 0x20) - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

static char *put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | (cp >> 18));
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

long sx_jw_string(struct sx_jw v, char **buf, size_t *cap)
{
	const char *p = v.p + 1, *end = v.end - 1; /* between the quotes */
	size_t need = (size_t)(end - p) + 1; /* unescaping never grows a string */
	char *o;

	if (!sx_jw_is(v, '"') || v.end - v.p < 2)
		return -1;
	if (need > *cap) {
		char *b = realloc(*buf, need);
		if (!b)
			return -1;
		*buf = b;
		*cap = need;
	}
	o = *buf;
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		size_t n = bs ? (size_t)(bs - p) : (size_t)(end - p);
		uint32_t cp, lo;
		memcpy(o, p, n);
		o += n;
		p += n;
		if (!bs)
			break;
		p++;
		switch (*p++) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			/* What cJSON refuses (a lone or reversed surrogate) or
			 * cuts short (U+0000) is left to it. */
			if (end - p < 4 || hex4(p, &cp) < 0 || cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
				return -1;
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -1;
				p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			o = put_utf8(o, cp);
			break;
		default: /* '"', '\\', '/' */ *o++ = p[-1];
		}
	}
	*o = 0;
	return (long)(o - *buf);
}

enum sx_jw_found sx_jw_string_is(struct sx_jw v, const char *s)
{
	size_t n = strlen(s);

	if (!sx_jw_is(v, '"'))
		return SX_JW_MISSING;
	if (memchr(v.p + 1, '\\', (size_t)(v.end - v.p - 1)))
		return SX_JW_UNSURE;
	return (size_t)(v.end - v.p) == n + 2 && memcmp(v.p + 1, s, n) == 0 ? SX_JW_FOUND : SX_JW_MISSING;
}
