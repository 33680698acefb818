/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-netaddr.c - IPv4 parsing, the /30 pair rules and allocation, instance
 * names and port numbers (src/lib/netaddr.c, src/lib/util.c).
 */
#include "testutil.h"

#include "lib/netaddr.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static void test_ipv4_parse_canonical(void **state)
{
	static const struct {
		const char *s;
		uint32_t a;
	} ok[] = {
	    {"10.200.0.1", IP(10, 200, 0, 1)}, {"0.0.0.0", 0},
	    {"255.255.255.255", 0xffffffffu},  {"192.168.1.254", IP(192, 168, 1, 254)},
	    {"1.2.3.4", IP(1, 2, 3, 4)},
	};

	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		uint32_t a = 0x12345678;
		if (sx_ipv4_parse(ok[i].s, &a) != 0)
			fail_msg("sx_ipv4_parse(\"%s\") refused a canonical address", ok[i].s);
		/* host byte order */
		assert_int_equal(a, ok[i].a);
	}
}

static void test_ipv4_parse_rejects(void **state)
{
	/* inet_pton() (glibc) refuses the inet_aton() shorthands, hex, octal-looking
	 * leading zeros and surrounding blanks: an operator gets exactly what they
	 * typed or an error. */
	static const char *const bad[] = {
	    "10.1",	 "10.1.2",     "0x0a.0.0.1", "010.0.0.1", "1.2.3.04", "00.0.0.0",
	    "1.2.3.4.5", "",	       "256.0.0.1",  "1.2.3.256", "-1.2.3.4", "1.2.3.4 ",
	    " 1.2.3.4",	 "1.2.3.4/30", "a.b.c.d",    "1..2.3",	  "::1",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		uint32_t a = 0xdeadbeef;
		int r = sx_ipv4_parse(bad[i], &a);
		if (r != -EINVAL)
			fail_msg("sx_ipv4_parse(\"%s\") returned %d, expected -EINVAL", bad[i], r);
		/* the output is not touched on failure */
		assert_int_equal(a, 0xdeadbeef);
	}
	assert_int_equal(sx_ipv4_parse(NULL, &(uint32_t){0}), -EINVAL);
}

static void test_ipv4_format_round_trip(void **state)
{
	static const char *const s[] = {"10.200.0.1", "0.0.0.0", "255.255.255.255", "172.16.254.3"};
	char out[16];

	for (size_t i = 0; i < ELEMENTSOF(s); i++) {
		uint32_t a;
		assert_int_equal(sx_ipv4_parse(s[i], &a), 0);
		sx_ipv4_format(a, out);
		assert_string_equal(out, s[i]);
	}
	sx_ipv4_format(SX_POOL_BASE, out);
	assert_string_equal(out, "10.200.0.0");
}

static void expect_pair_ok(uint32_t host, uint32_t sandbox)
{
	const char *why = NULL;
	char h[16], s[16];

	if (sx_pair_check(host, sandbox, &why) != 0) {
		sx_ipv4_format(host, h);
		sx_ipv4_format(sandbox, s);
		fail_msg("pair %s/%s refused: %s", h, s, why ? why : "(no reason)");
	}
}

static void expect_pair_bad(uint32_t host, uint32_t sandbox, const char *why_part)
{
	const char *why = NULL;
	char h[16], s[16];
	int r = sx_pair_check(host, sandbox, &why);

	sx_ipv4_format(host, h);
	sx_ipv4_format(sandbox, s);
	if (r != -EINVAL)
		fail_msg("pair %s/%s: returned %d, expected -EINVAL", h, s, r);
	if (!why || !strstr(why, why_part))
		fail_msg("pair %s/%s: reason \"%s\" does not mention \"%s\"", h, s, why ? why : "(null)",
			 why_part);
}

static void test_pair_check(void **state)
{
	/* the two middle addresses of one /30, either way round */
	expect_pair_ok(IP(10, 200, 0, 1), IP(10, 200, 0, 2));
	expect_pair_ok(IP(10, 200, 0, 2), IP(10, 200, 0, 1));
	expect_pair_ok(IP(10, 200, 0, 5), IP(10, 200, 0, 6));
	expect_pair_ok(IP(192, 168, 77, 9), IP(192, 168, 77, 10)); /* outside the pool is allowed */

	expect_pair_bad(IP(10, 200, 0, 1), IP(10, 200, 0, 1), "same");
	/* adjacent, but .2 and .5 lie in different /30s */
	expect_pair_bad(IP(10, 200, 0, 2), IP(10, 200, 0, 5), "/30");
	expect_pair_bad(IP(10, 200, 0, 1), IP(10, 200, 1, 2), "/30");
	/* network and broadcast addresses of the /30 */
	expect_pair_bad(IP(10, 200, 0, 0), IP(10, 200, 0, 1), "network");
	expect_pair_bad(IP(10, 200, 0, 1), IP(10, 200, 0, 0), "network");
	expect_pair_bad(IP(10, 200, 0, 2), IP(10, 200, 0, 3), "broadcast");
	expect_pair_bad(IP(10, 200, 0, 3), IP(10, 200, 0, 2), "broadcast");
	/* special ranges */
	expect_pair_bad(IP(127, 0, 0, 1), IP(127, 0, 0, 2), "loopback");
	expect_pair_bad(IP(127, 10, 20, 5), IP(127, 10, 20, 6), "loopback");
	expect_pair_bad(IP(0, 0, 0, 1), IP(0, 0, 0, 2), "0.0.0.0/8");
	expect_pair_bad(IP(224, 0, 0, 1), IP(224, 0, 0, 2), "multicast");
	expect_pair_bad(IP(240, 0, 0, 1), IP(240, 0, 0, 2), "reserved");
}

static void expect_alloc(const uint32_t *used, size_t n, uint32_t start, uint32_t want_host)
{
	uint32_t host = 0, sandbox = 0;
	char s[16], h[16];
	int r = sx_pair_allocate(used, n, start, &host, &sandbox);

	sx_ipv4_format(start, s);
	if (r != 0)
		fail_msg("allocation from %s failed: %d", s, r);
	if (host != want_host) {
		sx_ipv4_format(host, h);
		fail_msg("allocation from %s gave host %s", s, h);
	}
	assert_int_equal(sandbox, want_host + 1);
	/* what the allocator hands out always passes the pair rules */
	expect_pair_ok(host, sandbox);
}

static void test_pair_allocate_basic(void **state)
{
	/* sandbox0's block, then the first block of the other instances */
	expect_alloc(NULL, 0, SX_POOL_BASE, IP(10, 200, 0, 1));
	expect_alloc(NULL, 0, SX_POOL_BASE + 4, IP(10, 200, 0, 5));
	/* an unaligned start means its block */
	expect_alloc(NULL, 0, SX_POOL_BASE + 6, IP(10, 200, 0, 5));
	/* a start below the pool begins at the pool */
	expect_alloc(NULL, 0, SX_POOL_BASE - 8, IP(10, 200, 0, 1));
}

static void test_pair_allocate_skips_used(void **state)
{
	/* .6 (sandbox end of .4/30) and .11 (broadcast of .8/30) make both
	 * blocks taken, whichever of their addresses is in use. */
	const uint32_t used[] = {IP(10, 200, 0, 6), IP(10, 200, 0, 11), IP(192, 168, 0, 1)};
	expect_alloc(used, ELEMENTSOF(used), SX_POOL_BASE + 4, IP(10, 200, 0, 13));

	/* a host interface on the network address of a block also takes it */
	const uint32_t used2[] = {IP(10, 200, 0, 4)};
	expect_alloc(used2, ELEMENTSOF(used2), SX_POOL_BASE + 4, IP(10, 200, 0, 9));

	/* addresses outside the pool never block anything */
	const uint32_t used3[] = {IP(10, 201, 0, 5), IP(10, 199, 255, 254)};
	expect_alloc(used3, ELEMENTSOF(used3), SX_POOL_BASE + 4, IP(10, 200, 0, 5));

	/* used addresses before the start do not matter either */
	const uint32_t used4[] = {IP(10, 200, 0, 1)};
	expect_alloc(used4, ELEMENTSOF(used4), SX_POOL_BASE + 4, IP(10, 200, 0, 5));
}

static void test_pair_allocate_last_block_then_full(void **state)
{
	const uint32_t last = SX_POOL_BASE + SX_POOL_SIZE - 4; /* 10.200.255.252 */
	uint32_t used[] = {last - 4 + 2, 0};
	uint32_t h = 0, s = 0;

	/* the last /30 of the pool can be allocated */
	expect_alloc(used, 1, last - 4, IP(10, 200, 255, 253));
	/* and once it is used too, nothing is left */
	used[1] = last + 1;
	assert_int_equal(sx_pair_allocate(used, 2, last - 4, &h, &s), -ENOSPC);
	/* a start beyond the pool finds nothing */
	assert_int_equal(sx_pair_allocate(NULL, 0, SX_POOL_BASE + SX_POOL_SIZE, &h, &s), -ENOSPC);
}

static void test_pair_allocate_pool_exhausted(void **state)
{
	size_t n = SX_POOL_SIZE / 4;
	uint32_t *used = calloc(n, sizeof(*used));
	uint32_t h = 0xffffffffu, s = 0xffffffffu;

	assert_non_null(used);
	/* one address in every block, alternating which one */
	for (size_t i = 0; i < n; i++)
		used[i] = SX_POOL_BASE + (uint32_t)i * 4 + (i % 2 ? 2 : 1);
	assert_int_equal(sx_pair_allocate(used, n, SX_POOL_BASE, &h, &s), -ENOSPC);
	assert_int_equal(sx_pair_allocate(used, n, SX_POOL_BASE + 4, &h, &s), -ENOSPC);
	/* freeing one block in the middle makes exactly that block available */
	used[1000] = IP(10, 0, 0, 1);
	expect_alloc(used, n, SX_POOL_BASE + 4, SX_POOL_BASE + 1000 * 4 + 1);
	free(used);
}

static void test_name_valid(void **state)
{
	static const char *const good[] = {"sandbox0", "ci1", "a", "a-b", "abcdefghijk", "0", "x-", "a--b"};
	static const char *const bad[] = {"",	 "abcdefghijkl", "-a", "A",   "sandBox", "a_b", "a.b",
					  "a/b", "a b",		 "é",  "a\n", "..",	 "a:b"};

	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		if (!sx_name_valid(good[i]))
			fail_msg("name \"%s\" refused", good[i]);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (sx_name_valid(bad[i]))
			fail_msg("name \"%s\" accepted", bad[i]);
	assert_false(sx_name_valid(NULL));
}

static void test_parse_port(void **state)
{
	static const struct {
		const char *s;
		unsigned v;
	} good[] = {{"1", 1}, {"80", 80}, {"18789", 18789}, {"65535", 65535}, {"08080", 8080}};
	static const char *const bad[] = {"0",
					  "65536",
					  "70000",
					  "",
					  "-1",
					  "+80",
					  "80a",
					  "abc",
					  "0x50",
					  "8 0",
					  "1e3",
					  "80 ",
					  "99999999999999999999999"};

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		unsigned v = 0;
		if (sx_parse_port(good[i].s, &v) != 0)
			fail_msg("port \"%s\" refused", good[i].s);
		assert_int_equal(v, good[i].v);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		unsigned v = 4242;
		if (sx_parse_port(bad[i], &v) != -EINVAL)
			fail_msg("port \"%s\" accepted", bad[i]);
		assert_int_equal(v, 4242);
	}
	assert_int_equal(sx_parse_port(NULL, &(unsigned){0}), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4_parse_canonical),
	    cmocka_unit_test(test_ipv4_parse_rejects),
	    cmocka_unit_test(test_ipv4_format_round_trip),
	    cmocka_unit_test(test_pair_check),
	    cmocka_unit_test(test_pair_allocate_basic),
	    cmocka_unit_test(test_pair_allocate_skips_used),
	    cmocka_unit_test(test_pair_allocate_last_block_then_full),
	    cmocka_unit_test(test_pair_allocate_pool_exhausted),
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_parse_port),
	};

	return cmocka_run_group_tests_name("netaddr", tests, NULL, NULL);
}
