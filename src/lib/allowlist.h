/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * allowlist.h - the egress allowlist's rules, shared by the gateway (egress
 * proxy, filtered DNS) and `sentrix policy check`.
 *
 * Domain patterns: "example.com" matches exactly that name; "*.example.com"
 * matches every name below it (a.example.com, a.b.example.com) but NOT
 * example.com itself.  Matching ignores case and one trailing dot.
 *
 * Addresses: whatever name is allowed, the proxy refuses to connect to an
 * IP literal written in the request, and to an address that is loopback,
 * private, link-local, CGNAT, multicast, unspecified/reserved or the
 * host's own, unless the policy lists a range holding it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SX_HOST_MAX 253

/* Copies host into out (SX_HOST_MAX + 1 bytes) lowercased, without one
 * trailing dot.  Returns 0, or -EINVAL with *why set (static text) when it
 * is not a host name: empty, too long, a character outside [A-Za-z0-9.-_],
 * an empty label. */
int sx_host_normalize(const char *host, char *out, const char **why);

/* True when host (normalized) is an IP address in any spelling a resolver
 * or URL parser would accept: dotted, shortened (127.1), one decimal number
 * (2130706433), octal (0177.0.0.1), hex (0x7f000001), or a name whose last
 * label is numeric.  IPv6 (with ':') and bracketed forms are refused by
 * sx_host_normalize already. */
bool sx_host_is_ip_literal(const char *host);

/* True when the normalized host matches one of the patterns. */
bool sx_domain_allowed(char *const *patterns, const char *host);

/* The next "*.x" pattern (from *index on) whose apex x is not listed as
 * well and is not a top-level domain, or NULL: a hint for `sentrix policy
 * check`, since users expect it to match x. */
const char *sx_wildcard_without_apex(char *const *patterns, size_t *index);

struct sx_cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

/* Parses "a.b.c.d/n", "x::y/n" or a single address (a /32 or /128).
 * Returns 0 or -EINVAL. */
int sx_cidr_parse(const char *s, struct sx_cidr *ret);
bool sx_cidr_contains(const struct sx_cidr *c, const struct sockaddr *sa);

/* Why a destination address is never connected to ("loopback", "private",
 * "link-local", "CGNAT", "multicast", "unspecified", "reserved",
 * "broadcast"), or NULL for an ordinary public address.  IPv4-mapped IPv6
 * addresses are judged as IPv4. */
const char *sx_addr_special(const struct sockaddr *sa);

/* Formats sa's address (no port) into out. */
void sx_addr_format(const struct sockaddr *sa, char out[64]);
