/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * util.c - string helpers, name and port validation, content fingerprints.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "util.h"

char *sx_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Instance names become interface names (sx-NAME, at most 15 bytes), table
 * names and path components, so they are kept to [a-z0-9-]{1,11} and may
 * not start with '-' (it would read as an option). */
bool sx_name_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n < 1 || n > 11 || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

int sx_parse_uint(const char *s, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9') /* no sign, no blank: strtoul would skip them */
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int sx_parse_port(const char *s, unsigned *ret)
{
	unsigned v;
	if (sx_parse_uint(s, 65535, &v) < 0 || v < 1)
		return -EINVAL;
	*ret = v;
	return 0;
}

void sx_fingerprint(const void *data, size_t len, char out[17])
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

size_t sx_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, c = s[0] & 0x1F, min = 0x80;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, c = s[0] & 0x0F, min = 0x800;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

bool sx_utf8_valid(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = text ? strlen(text) : 0, k;
	uint32_t cp;

	for (size_t i = 0; i < n; i += k)
		if (!(k = sx_utf8_next(p + i, n - i, &cp)))
			return false;
	return true;
}

char *sx_utf8_clean(char *text)
{
	size_t n, bad = 0, k;
	uint32_t cp;
	char *out, *o;

	if (!text)
		return NULL;
	n = strlen(text);
	for (size_t i = 0; i < n; i += k ? k : 1) {
		/* Plain ASCII eight bytes at a time: most of a record. */
		uint64_t w;
		while (i + 8 <= n && (memcpy(&w, text + i, 8), !(w & 0x8080808080808080ULL)))
			i += 8;
		if (i >= n)
			break;
		bad += !(k = sx_utf8_next((const unsigned char *)text + i, n - i, &cp));
	}
	if (!bad)
		return text;
	out = malloc(n + 2 * bad + 1);
	if (out) {
		o = out;
		for (size_t i = 0; i < n; i += k ? k : 1) {
			k = sx_utf8_next((const unsigned char *)text + i, n - i, &cp);
			memcpy(o, k ? text + i : "\xEF\xBF\xBD", k ? k : 3);
			o += k ? k : 3;
		}
		*o = 0;
	}
	free(text);
	return out;
}

void sx_utc_stamp(char out[40])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

uint64_t sx_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

void sx_step_aside(uint64_t *last, uint64_t every_usec)
{
	uint64_t now = sx_now_usec();

	if (now - *last >= every_usec) {
		sched_yield();
		*last = sx_now_usec();
	}
}
