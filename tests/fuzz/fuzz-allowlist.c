/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fuzz-allowlist.c - the allowlist's judgement of a host name, on any
 * bytes.
 *
 * Feeds: lines.  The first is a host name as the sandbox could ask for it
 * (the egress proxy passes what http-parser takes for a URL's host; the
 * filtered DNS passes any owner name ldns prints, escapes included); the
 * others are domain patterns and address ranges as a policy lists them.
 * src/lib/allowlist.c judges them as the proxy and DNS do:
 * sx_host_normalize() (the characters, labels and length of a name),
 * sx_host_is_ip_literal() (every IPv4 spelling inet_aton takes, numeric
 * last labels), sx_domain_allowed() and sx_wildcard_without_apex() (exact
 * and "*.x" patterns), and sx_cidr_parse()/sx_cidr_contains()/
 * sx_addr_special() on the first bytes taken as an IPv4 and an IPv6
 * address.
 *
 * Why: this is the allowlist itself; fuzz-egress and fuzz-dns reach it
 * only through their parsers' narrower alphabets.  Besides the sanitizers
 * the harness checks what the rules promise: a normalized name is lower
 * case, without a trailing dot or empty label, at most 253 bytes; an
 * allowed name equals a pattern or ends in ".x" for a "*.x" pattern, and
 * is never the apex of a wildcard alone.
 *
 * fuzz-max-len: 2048
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>

#include "fuzz.h"

#include "lib/allowlist.h"

#define PATTERNS_MAX 8

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

/* The pattern normalized as the matcher reads it: lower case, one
 * trailing dot dropped. */
static void lower(const char *p, char *out, size_t size)
{
	size_t n = 0;

	for (; *p && n + 1 < size; p++)
		out[n++] = (char)tolower((unsigned char)*p);
	if (n && out[n - 1] == '.')
		n--;
	out[n] = 0;
}

static bool explains(char *const *patterns, const char *host)
{
	char pat[SX_HOST_MAX + 3];
	size_t hn = strlen(host);

	for (size_t i = 0; patterns[i]; i++) {
		lower(patterns[i], pat, sizeof(pat));
		if (streq(pat, host))
			return true;
		if (strncmp(pat, "*.", 2) == 0 && hn > strlen(pat) - 1 &&
		    streq(host + hn - (strlen(pat) - 1), pat + 1))
			return true;
	}
	return false;
}

static void addresses(const uint8_t *data, size_t size, const struct sx_cidr *cidrs, size_t n)
{
	struct sockaddr_in in4 = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	char out[64];

	memcpy(&in4.sin_addr, data, MIN(size, 4));
	memcpy(&in6.sin6_addr, data, MIN(size, 16));
	(void)sx_addr_special((struct sockaddr *)&in4);
	(void)sx_addr_special((struct sockaddr *)&in6);
	sx_addr_format((struct sockaddr *)&in6, out);
	FUZZ_CHECK(strlen(out) < sizeof(out), "address text overran");
	for (size_t i = 0; i < n; i++) {
		(void)sx_cidr_contains(&cidrs[i], (struct sockaddr *)&in4);
		(void)sx_cidr_contains(&cidrs[i], (struct sockaddr *)&in6);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = strndup((const char *)data, size);
	char *patterns[PATTERNS_MAX + 1] = {NULL}, *save = NULL, *host, *line;
	struct sx_cidr cidrs[PATTERNS_MAX];
	char norm[SX_HOST_MAX + 1];
	size_t n = 0, nc = 0, index = 0;
	const char *why = NULL;

	if (!text)
		return 0;
	host = strtok_r(text, "\n", &save);
	if (!host)
		return 0;
	while (n < PATTERNS_MAX && (line = strtok_r(NULL, "\n", &save))) {
		patterns[n++] = line;
		if (sx_cidr_parse(line, &cidrs[nc]) == 0) {
			FUZZ_CHECK(cidrs[nc].prefix <= (cidrs[nc].family == AF_INET ? 32u : 128u),
				   "prefix %u", cidrs[nc].prefix);
			nc++;
		}
	}
	addresses(data, size, cidrs, nc);
	while (sx_wildcard_without_apex(patterns, &index))
		;
	if (sx_host_normalize(host, norm, &why) < 0) {
		FUZZ_CHECK(why, "refused without a reason");
		return 0;
	}
	FUZZ_CHECK(*norm && strlen(norm) <= SX_HOST_MAX, "normalized to %zu bytes", strlen(norm));
	FUZZ_CHECK(norm[0] != '.' && norm[strlen(norm) - 1] != '.' && !strstr(norm, ".."),
		   "normalized '%s' has an empty label", norm);
	for (const char *c = norm; *c; c++)
		FUZZ_CHECK(!isupper((unsigned char)*c), "normalized '%s' is not lower case", norm);
	(void)sx_host_is_ip_literal(norm);
	if (sx_domain_allowed(patterns, norm))
		FUZZ_CHECK(explains(patterns, norm), "'%s' allowed, but no pattern says so", norm);
	return 0;
}
