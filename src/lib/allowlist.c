/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * allowlist.c - domain pattern matching, IP-literal detection and the
 * address classes the egress proxy never connects to.  See allowlist.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"
#include "util.h"

int sx_host_normalize(const char *host, char *out, const char **why)
{
	size_t n = strlen(host);

	if (n > 0 && host[n - 1] == '.')
		n--;
	if (n == 0) {
		*why = "empty host name";
		return -EINVAL;
	}
	if (n > SX_HOST_MAX) {
		*why = "host name longer than 253 characters";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)host[i];
		if (ch == ':' || ch == '[' || ch == ']') {
			*why = "IP address literal (IPv6)";
			return -EINVAL;
		}
		if (!isalnum(ch) && ch != '.' && ch != '-' && ch != '_') {
			*why = "character not allowed in a host name";
			return -EINVAL;
		}
		/* i == n - 1: a second trailing dot, "example.com.." */
		if (ch == '.' && (i == 0 || host[i - 1] == '.' || i == n - 1)) {
			*why = "empty label in host name";
			return -EINVAL;
		}
		out[i] = (char)tolower(ch);
	}
	out[n] = 0;
	return 0;
}

/* A label a URL parser reads as a number: decimal digits, or 0x followed
 * by hex digits (WHATWG's "ends in a number" rule). */
static bool numeric_label(const char *s, size_t n)
{
	size_t i = 0;

	if (n >= 2 && s[0] == '0' && s[1] == 'x') {
		for (i = 2; i < n; i++)
			if (!isxdigit((unsigned char)s[i]))
				return false;
		return true;
	}
	for (; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

bool sx_host_is_ip_literal(const char *host)
{
	struct in_addr a;
	const char *last = strrchr(host, '.');

	/* inet_aton() takes every historic IPv4 spelling: 127.1,
	 * 2130706433, 0177.0.0.1, 0x7f.0.0.1. */
	if (inet_aton(host, &a))
		return true;
	last = last ? last + 1 : host;
	return numeric_label(last, strlen(last));
}

static bool pattern_matches(const char *pattern, const char *host)
{
	char pat[SX_HOST_MAX + 3];
	size_t pn = strlen(pattern), hn = strlen(host);

	if (pn >= sizeof(pat))
		return false;
	memcpy(pat, pattern, pn + 1);
	if (pn > 0 && pat[pn - 1] == '.')
		pat[--pn] = 0;
	for (size_t i = 0; i < pn; i++)
		pat[i] = (char)tolower((unsigned char)pat[i]);
	if (strncmp(pat, "*.", 2) != 0)
		return streq(pat, host);
	/* "*.x": host must end in ".x" with at least one label before it. */
	return hn > pn - 1 && streq(host + hn - (pn - 1), pat + 1);
}

bool sx_domain_allowed(char *const *patterns, const char *host)
{
	for (size_t i = 0; patterns && patterns[i]; i++)
		if (pattern_matches(patterns[i], host))
			return true;
	return false;
}

const char *sx_wildcard_without_apex(char *const *patterns, size_t *index)
{
	for (size_t i = index ? *index : 0; patterns && patterns[i]; i++) {
		char apex[SX_HOST_MAX + 1];
		const char *why;

		/* A top-level domain ("*.com") has no host of its own to miss. */
		if (strncmp(patterns[i], "*.", 2) != 0 ||
		    sx_host_normalize(patterns[i] + 2, apex, &why) < 0 || !strchr(apex, '.'))
			continue;
		if (!sx_domain_allowed(patterns, apex)) {
			if (index)
				*index = i + 1;
			return patterns[i];
		}
	}
	return NULL;
}

int sx_cidr_parse(const char *s, struct sx_cidr *ret)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	*ret = (struct sx_cidr){0};
	if (inet_pton(AF_INET, buf, ret->addr) == 1)
		ret->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, buf, ret->addr) == 1)
		ret->family = AF_INET6, max = 128;
	else
		return -EINVAL;
	ret->prefix = max;
	if (slash && (sx_parse_uint(slash + 1, max, &ret->prefix) < 0))
		return -EINVAL;
	return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* The address bytes of sa, IPv4-mapped IPv6 unwrapped to IPv4. */
static int addr_bytes(const struct sockaddr *sa, const uint8_t **bytes)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (sa->sa_family == AF_INET) {
		*bytes = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		return AF_INET;
	}
	*bytes = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (memcmp(*bytes, mapped, sizeof(mapped)) == 0) {
		*bytes += 12;
		return AF_INET;
	}
	return AF_INET6;
}

bool sx_cidr_contains(const struct sx_cidr *c, const struct sockaddr *sa)
{
	const uint8_t *b;
	int family = addr_bytes(sa, &b);

	return family == c->family && prefix_equal(b, c->addr, c->prefix);
}

struct special {
	const char *cidr;
	const char *why;
};

static const struct special specials[] = {
    {"0.0.0.0/8", "unspecified"},
    {"10.0.0.0/8", "private"},
    {"100.64.0.0/10", "CGNAT"},
    {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local"},
    {"172.16.0.0/12", "private"},
    {"192.0.0.0/24", "reserved"},
    {"192.168.0.0/16", "private"},
    {"198.18.0.0/15", "reserved"},
    {"224.0.0.0/4", "multicast"},
    {"255.255.255.255/32", "broadcast"},
    {"240.0.0.0/4", "reserved"},
    {"::/128", "unspecified"},
    {"::1/128", "loopback"},
    {"64:ff9b::/96", "reserved"}, /* NAT64: could reach private IPv4 */
    {"fc00::/7", "private"},
    {"fe80::/10", "link-local"},
    {"fec0::/10", "private"},
    {"ff00::/8", "multicast"},
};

const char *sx_addr_special(const struct sockaddr *sa)
{
	/* Parsed once: every proxied connection asks. */
	static struct sx_cidr parsed[ELEMENTSOF(specials)];
	static bool ready;

	if (!ready) {
		for (size_t i = 0; i < ELEMENTSOF(specials); i++)
			if (sx_cidr_parse(specials[i].cidr, &parsed[i]) < 0)
				abort(); /* a typo in the table above */
		ready = true;
	}
	for (size_t i = 0; i < ELEMENTSOF(specials); i++)
		if (sx_cidr_contains(&parsed[i], sa))
			return specials[i].why;
	return NULL;
}

void sx_addr_format(const struct sockaddr *sa, char out[64])
{
	const void *a = sa->sa_family == AF_INET
	    ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
	    : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!inet_ntop(sa->sa_family, a, out, 64))
		snprintf(out, 64, "?");
}
