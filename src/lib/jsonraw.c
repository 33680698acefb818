/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * jsonraw.c - one pass over a JSON text: check, compact, note the
 * top-level "model" and "stream" (jsonraw.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "jsonraw.h"
#include "util.h"

/* The output is the input without its whitespace: the bytes between two
 * stretches of whitespace go out in one copy (most texts have none: one
 * copy in all), the tokens themselves are only checked. */
struct cur {
	const unsigned char *p, *end;
	const unsigned char *run; /* input from here up to p not copied yet */
	char *o; /* output, as long as the input at most */
	int depth, max_depth;
};

static void flush(struct cur *c, const unsigned char *to)
{
	memmove(c->o, c->run, (size_t)(to - c->run)); /* in place too */
	c->o += to - c->run;
	c->run = to;
}

static void skip_some_ws(struct cur *c)
{
	const unsigned char *from = c->p;

	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
	if (c->p != from) {
		flush(c, from);
		c->run = c->p;
	}
}

/* Called between any two tokens: mostly there is nothing to skip. */
static inline void skip_ws(struct cur *c)
{
	if (c->p < c->end && *c->p <= ' ')
		skip_some_ws(c);
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
 * escape was a tenth of compacting a body of source code; a switch, not
 * inlined, a tenth of the 64-byte scan). */
static const bool simple_escapes[256] = {
    ['"'] = true, ['\\'] = true, ['/'] = true, ['b'] = true,
    ['f'] = true, ['n'] = true,	 ['r'] = true, ['t'] = true,
};

static inline bool simple_escape(unsigned char ch)
{
	return simple_escapes[ch];
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

#ifdef __SSE2__
/* One bit per byte of the 64 in v: bytes equal to ch. */
static inline uint64_t eq64(const __m128i v[4], char ch)
{
	const __m128i x = _mm_set1_epi8(ch);
	return (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[0], x)) |
	    (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[1], x)) << 16 |
	    (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[2], x)) << 32 |
	    (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[3], x)) << 48;
}

/* Bytes below 0x20 or from 0x80 on (a signed compare: those are negative). */
static inline uint64_t low_or_high64(const __m128i v[4])
{
	const __m128i x = _mm_set1_epi8(0x20);
	return (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmplt_epi8(v[0], x)) |
	    (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmplt_epi8(v[1], x)) << 16 |
	    (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmplt_epi8(v[2], x)) << 32 |
	    (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmplt_epi8(v[3], x)) << 48;
}

/* The bytes a backslash escapes, given the backslashes' bits: a run of n
 * backslashes escapes the byte after it when n is odd.  *carry (in and
 * out) is 1 when the first byte of the block is escaped by the block
 * before.  Runs are told apart by where they start: adding a run's start
 * bit to the run carries past its end, which flips the even/odd pattern
 * of the bits after runs that start on an odd bit. */
static inline uint64_t escaped64(uint64_t bslash, uint64_t *carry)
{
	const uint64_t even = 0x5555555555555555ULL;
	uint64_t follows, odd_starts, sum;

	bslash &= ~*carry; /* an escaped backslash escapes nothing */
	follows = bslash << 1 | *carry;
	odd_starts = bslash & ~even & ~follows;
	*carry = __builtin_add_overflow(odd_starts, bslash, &sum);
	return (even ^ (sum << 1)) & follows;
}

/* Skips 64 bytes at a time over a string's bytes up to its closing quote,
 * checking the escapes on the way: agents' texts (code, tool results)
 * have an escape every few dozen bytes, and stopping at each one was half
 * of a record's CPU.  Stops at the closing quote, or where the byte-wise
 * loop must look: a byte >= 0x80 (UTF-8) or < 0x20 (an error), a \u
 * escape or an invalid one (at its backslash).  *escaped is set when an
 * escape was passed. */
static void skip_string_blocks(struct cur *c, bool *escaped)
{
	uint64_t carry = 0;

	while (c->p + 64 <= c->end) {
		__m128i v[4];
		uint64_t esc = 0, quote, stop, before, bslash;
		v[0] = _mm_loadu_si128((const __m128i *)(const void *)c->p);
		v[1] = _mm_loadu_si128((const __m128i *)(const void *)(c->p + 16));
		v[2] = _mm_loadu_si128((const __m128i *)(const void *)(c->p + 32));
		v[3] = _mm_loadu_si128((const __m128i *)(const void *)(c->p + 48));
		quote = eq64(v, '"');
		stop = low_or_high64(v);
		bslash = eq64(v, '\\');
		if (bslash | carry) {
			esc = escaped64(bslash, &carry);
			quote &= ~esc;
			stop &= ~esc; /* an escaped one is checked below, at its backslash */
		}
		before = quote ? (quote & (0 - quote)) - 1 : ~0ULL;
		if (esc & before) {
			*escaped = true;
			/* a few per block: each checked on its own */
			for (uint64_t e = esc & before; e; e &= e - 1)
				if (!simple_escape(c->p[__builtin_ctzll(e)]))
					stop |= e & (0 - e);
		}
		if (stop & before) {
			int at = __builtin_ctzll(stop & before);
			/* an escaped byte: back to its backslash (maybe the block before) */
			c->p += at - (int)((esc >> at) & 1);
			return;
		}
		if (quote) {
			c->p += __builtin_ctzll(quote);
			return;
		}
		c->p += 64;
	}
	/* The last bytes go byte-wise; a backslash carried into them is fine
	 * there only as the start of the loop's next look: step back to it. */
	c->p -= carry;
}
#endif

/* A string: copied as it is; *escaped tells whether it had escapes.  Its
 * bytes must be UTF-8: a record embeds the text without another pass. */
static int string(struct cur *c, bool *escaped)
{
	uint32_t cp;
	size_t k;

	*escaped = false;
	c->p++; /* the opening quote */
	for (;;) {
		skip_plain(c);
#ifdef __SSE2__
		/* Short strings end in skip_plain(); long ones with escapes go on
		 * here, 64 bytes at a time. */
		if (c->p < c->end && *c->p == '\\') {
			skip_string_blocks(c, escaped);
			skip_plain(c);
		}
#endif
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
	return 0;
}

static int number(struct cur *c)
{
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
	return 0;
}

static int literal(struct cur *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -EINVAL;
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
	c->p++;
	for (;;) {
		const unsigned char *key = NULL, *key_end = NULL, *vstart;
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
			c->p++;
			skip_ws(c);
			if (c->p >= c->end)
				return -EINVAL;
		}
		first = false;
		if (object) {
			if (*c->p != '"')
				return -EINVAL;
			key = c->p;
			if ((r = string(c, &escaped)) < 0)
				return r;
			key_end = c->p;
			skip_ws(c);
			if (c->p >= c->end || *c->p != ':')
				return -EINVAL;
			c->p++;
			skip_ws(c);
		}
		vstart = c->p;
		if ((r = value(c, top)) < 0)
			return r;
		/* Tokens are copied as they are: the input's are the output's. */
		if (top && key && c->depth == 1 && !escaped) {
			size_t klen = (size_t)(key_end - key), vlen = (size_t)(c->p - vstart);
			/* The first of a repeated name counts, as with cJSON. */
			if (klen == 7 && memcmp(key, "\"model\"", 7) == 0 && !top->model_seen) {
				top->model_seen = true;
				if (vlen < 2 || *vstart != '"')
					continue;
				top->model_escaped = memchr(vstart, '\\', vlen) != NULL;
				if (!top->model_escaped &&
				    !(top->model = strndup((const char *)vstart + 1, vlen - 2)))
					return -ENOMEM;
			} else if (klen == 8 && memcmp(key, "\"stream\"", 8) == 0 && !top->stream_seen) {
				top->stream_seen = true;
				top->stream = vlen == 4 && memcmp(vstart, "true", 4) == 0;
			}
		}
	}
	c->p++;
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
	struct cur c = {(const unsigned char *)text,
			(const unsigned char *)text + len,
			(const unsigned char *)text,
			out,
			0,
			max_depth};
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
	flush(&c, c.p);
	*c.o = 0;
	*out_len = (size_t)(c.o - out);
	return 0;
}

/* Compacts into a new buffer: *out and *out_len. */
static int compact_new(const char *text, size_t len, int max_depth, char **out, size_t *out_len,
		       struct sx_json_top *top)
{
	char *buf = malloc(len + 1);
	int r;

	*out = NULL;
	if (top)
		*top = (struct sx_json_top){0};
	if (!buf)
		return -ENOMEM;
	r = sx_json_compact_to(text, len, max_depth, buf, out_len, top);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

int sx_json_compact(const char *text, size_t len, int max_depth, char **out, struct sx_json_top *top)
{
	size_t n;
	return compact_new(text, len, max_depth, out, &n, top);
}

cJSON *sx_json_raw_item(char *text, size_t len)
{
	cJSON *item = text ? cJSON_CreateRaw("") : NULL;

	if (!item) {
		free(text);
		return NULL;
	}
	free(item->valuestring); /* cJSON frees with free(): no hooks are set */
	item->valuestring = text;
	item->valueint = len <= INT_MAX ? (int)len : 0;
	return item;
}

size_t sx_json_raw_len(const cJSON *item)
{
	return item->valueint > 0 ? (size_t)item->valueint : strlen(item->valuestring);
}

int sx_json_compact_raw(const char *text, size_t len, int max_depth, cJSON **item, struct sx_json_top *top)
{
	char *out;
	size_t n;
	int r = compact_new(text, len, max_depth, &out, &n, top);

	*item = NULL;
	if (r < 0)
		return r;
	if (!(*item = sx_json_raw_item(out, n))) {
		if (top) {
			free(top->model);
			*top = (struct sx_json_top){0};
		}
		return -ENOMEM;
	}
	return 0;
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
