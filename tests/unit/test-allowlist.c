/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-allowlist.c - the egress allowlist's rules (src/lib/allowlist.c):
 * wildcard semantics, case and trailing dots, IP literals in every
 * spelling, the address classes never connected to, policy ranges.
 */
#include <arpa/inet.h>

#include "testutil.h"

#include "lib/allowlist.h"

static bool allowed(char **patterns, const char *host)
{
	char norm[SX_HOST_MAX + 1];
	const char *why;

	if (sx_host_normalize(host, norm, &why) < 0)
		return false;
	return sx_domain_allowed(patterns, norm);
}

static void test_exact_and_wildcard(void **state)
{
	char *patterns[] = {"example.com", "*.wild.test", "Mixed.Case.ORG.", NULL};

	assert_true(allowed(patterns, "example.com"));
	assert_false(allowed(patterns, "www.example.com")); /* exact means exact */
	assert_false(allowed(patterns, "badexample.com"));
	assert_true(allowed(patterns, "a.wild.test"));
	assert_true(allowed(patterns, "a.b.c.wild.test"));
	assert_false(allowed(patterns, "wild.test")); /* "*.x" does not match x */
	assert_false(allowed(patterns, "notwild.test")); /* not a label boundary */
	assert_false(allowed(patterns, "wild.test.evil.com"));
	/* case-insensitive, one trailing dot ignored, on both sides */
	assert_true(allowed(patterns, "EXAMPLE.com"));
	assert_true(allowed(patterns, "example.com."));
	assert_true(allowed(patterns, "A.Wild.Test."));
	assert_true(allowed(patterns, "mixed.case.org"));
	assert_false(allowed(patterns, "example.com.."));
	assert_false(allowed(patterns, ""));
}

static void test_normalize_rejects(void **state)
{
	static const char *const bad[] = {"",	 ".",	  "a..b", ".a",	   "a b",	   "a/b",
					  "a@b", "[::1]", "::1",  "a%2eb", "example.com.."};
	char out[SX_HOST_MAX + 1], longname[300];
	const char *why = NULL;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		why = NULL;
		if (sx_host_normalize(bad[i], out, &why) != -EINVAL)
			fail_msg("\"%s\" accepted as a host name", bad[i]);
		assert_non_null(why);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(sx_host_normalize(longname, out, &why), -EINVAL);
}

static void test_ip_literals(void **state)
{
	/* Every spelling of 127.0.0.1 a resolver or URL parser accepts, and
	 * ordinary dotted quads. */
	static const char *const literal[] = {
	    "127.0.0.1", "127.1",   "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "017700000001",
	    "127.0.1",	 "1.2.3.4", "0x7f.1",	  "10.0.0.1",	"foo.123",    "foo.0x1f"};
	static const char *const names[] = {"example.com",	"a1.b2",      "1a.example", "0x.example",
					    "xn--bcher-kva.ch", "123.example"};

	for (size_t i = 0; i < ELEMENTSOF(literal); i++)
		if (!sx_host_is_ip_literal(literal[i]))
			fail_msg("\"%s\" not seen as an IP literal", literal[i]);
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (sx_host_is_ip_literal(names[i]))
			fail_msg("\"%s\" taken for an IP literal", names[i]);
}

static const char *klass(const char *addr)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct sockaddr_in s4 = {.sin_family = AF_INET};

	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1)
		return sx_addr_special((struct sockaddr *)&s4);
	assert_int_equal(inet_pton(AF_INET6, addr, &s6.sin6_addr), 1);
	return sx_addr_special((struct sockaddr *)&s6);
}

static void test_address_classes(void **state)
{
	static const struct {
		const char *addr, *why;
	} cases[] = {
	    {"127.0.0.1", "loopback"},
	    {"127.255.0.9", "loopback"},
	    {"10.1.2.3", "private"},
	    {"172.16.0.1", "private"},
	    {"172.31.255.255", "private"},
	    {"192.168.1.1", "private"},
	    {"169.254.169.254", "link-local"},
	    {"100.64.0.1", "CGNAT"},
	    {"100.127.255.254", "CGNAT"},
	    {"224.0.0.251", "multicast"},
	    {"239.1.2.3", "multicast"},
	    {"0.0.0.0", "unspecified"},
	    {"255.255.255.255", "broadcast"},
	    {"240.0.0.1", "reserved"},
	    {"::1", "loopback"},
	    {"::", "unspecified"},
	    {"fe80::1", "link-local"},
	    {"fd00::1", "private"},
	    {"ff02::1", "multicast"},
	    {"::ffff:127.0.0.1", "loopback"},
	    {"::ffff:10.0.0.1", "private"},
	    {"64:ff9b::a00:1", "reserved"},
	};
	static const char *const public[] = {"198.51.100.10",	   "203.0.113.5", "8.8.8.8",
					     "172.32.0.1",	   "100.128.0.1", "2001:db8::1",
					     "::ffff:198.51.100.1"};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const char *got = klass(cases[i].addr);
		if (!got || strcmp(got, cases[i].why) != 0)
			fail_msg("%s: class %s, want %s", cases[i].addr, got ? got : "(public)",
				 cases[i].why);
	}
	for (size_t i = 0; i < ELEMENTSOF(public); i++)
		if (klass(public[i]))
			fail_msg("%s judged %s", public[i], klass(public[i]));
}

static void test_cidr(void **state)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct sx_cidr c;

	assert_int_equal(sx_cidr_parse("10.1.2.0/24", &c), 0);
	inet_pton(AF_INET, "10.1.2.3", &s4.sin_addr);
	assert_true(sx_cidr_contains(&c, (struct sockaddr *)&s4));
	inet_pton(AF_INET, "10.1.3.3", &s4.sin_addr);
	assert_false(sx_cidr_contains(&c, (struct sockaddr *)&s4));
	inet_pton(AF_INET6, "::ffff:10.1.2.200", &s6.sin6_addr); /* mapped: judged as IPv4 */
	assert_true(sx_cidr_contains(&c, (struct sockaddr *)&s6));
	assert_int_equal(sx_cidr_parse("10.1.2.3", &c), 0);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(sx_cidr_parse("fd00::/8", &c), 0);
	inet_pton(AF_INET6, "fd12::1", &s6.sin6_addr);
	assert_true(sx_cidr_contains(&c, (struct sockaddr *)&s6));
	assert_int_equal(sx_cidr_parse("10.1.2.0/33", &c), -EINVAL);
	assert_int_equal(sx_cidr_parse("10.1.2/24", &c), -EINVAL);
	assert_int_equal(sx_cidr_parse("/24", &c), -EINVAL);
	assert_int_equal(sx_cidr_parse("example.com/24", &c), -EINVAL);
}

static void test_wildcard_without_apex(void **state)
{
	char *lone[] = {"a.com", "*.example.com", "*.ok.org", "ok.org", "*.net", NULL};
	char *none[] = {"*.example.com", "EXAMPLE.com", NULL};
	char *covered[] = {"*.example.com", "*.com", NULL}; /* "*.com" matches example.com */
	size_t i = 0;
	const char *w = sx_wildcard_without_apex(lone, &i);

	assert_non_null(w);
	assert_string_equal(w, "*.example.com");
	/* "*.ok.org" has its apex; "*.net" is a top-level domain */
	assert_null(sx_wildcard_without_apex(lone, &i));
	i = 0;
	assert_null(sx_wildcard_without_apex(none, &i));
	i = 0;
	assert_null(sx_wildcard_without_apex(covered, &i));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_and_wildcard),
	    cmocka_unit_test(test_normalize_rejects),
	    cmocka_unit_test(test_ip_literals),
	    cmocka_unit_test(test_address_classes),
	    cmocka_unit_test(test_cidr),
	    cmocka_unit_test(test_wildcard_without_apex),
	};

	return cmocka_run_group_tests_name("allowlist", tests, NULL, NULL);
}
