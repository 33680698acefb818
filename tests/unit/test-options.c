/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-options.c - sentrix-setup's command line (src/setup/options.c).
 */
#include "testutil.h"

#include "setup/options.h"

/* Runs sx_options_parse() on "sentrix-setup" followed by the NULL-terminated
 * args.  getopt_long() permutes the pointer array, so it is copied. */
static int parse_v(struct sx_options *o, char *const *args)
{
	char *argv[64] = {"sentrix-setup"};
	int argc = 1;

	for (size_t i = 0; args[i]; i++) {
		assert_true(argc < 63);
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;
	/* Poison the struct: parse must initialise every field itself. */
	memset(o, 0xa5, sizeof(*o));
	return sx_options_parse(argc, argv, o);
}
#define PARSE(o, ...) parse_v((o), (char *const[]){__VA_ARGS__, NULL})

static void test_defaults(void **state)
{
	struct sx_options o;

	assert_int_equal(parse_v(&o, (char *const[]){NULL}), 0);
	assert_int_equal(o.command, SX_CMD_SETUP);
	assert_string_equal(o.name, "sandbox0");
	assert_null(o.policy);
	assert_null(o.sandbox_ip);
	assert_null(o.host_ip);
	assert_null(o.home);
	assert_null(o.user);
	assert_null(o.dns);
	assert_int_equal(o.openclaw_port, 0);
	assert_int_equal(o.bridge_port, -1);
	assert_null(o.bridge_bind);
	assert_int_equal(o.n_bridge_origins, 0);
	assert_null(o.bridge_origins[0]);
	assert_int_equal(o.n_bridge_names, 0);
	assert_null(o.bridge_names[0]);
	assert_false(o.no_auto_pair || o.no_host_networking || o.no_guardrail || o.non_interactive ||
		     o.disable || o.dry_run || o.json || o.purge || o.help);

	/* the explicit "setup" word means the same */
	assert_int_equal(PARSE(&o, "setup"), 0);
	assert_int_equal(o.command, SX_CMD_SETUP);
	assert_string_equal(o.name, "sandbox0");
}

static void test_commands(void **state)
{
	struct sx_options o;

	assert_int_equal(PARSE(&o, "status", "--name", "x", "--json"), 0);
	assert_int_equal(o.command, SX_CMD_STATUS);
	assert_string_equal(o.name, "x");
	assert_true(o.json);
	assert_false(o.help);

	assert_int_equal(PARSE(&o, "status"), 0);
	assert_int_equal(o.command, SX_CMD_STATUS);
	assert_string_equal(o.name, "sandbox0");
	assert_false(o.json);

	assert_int_equal(PARSE(&o, "list", "--json"), 0);
	assert_int_equal(o.command, SX_CMD_LIST);
	assert_true(o.json);

	assert_int_equal(PARSE(&o, "up", "--name", "ci1"), 0);
	assert_int_equal(o.command, SX_CMD_UP);
	assert_string_equal(o.name, "ci1");

	assert_int_equal(PARSE(&o, "down", "--name=ci2"), 0);
	assert_int_equal(o.command, SX_CMD_DOWN);
	assert_string_equal(o.name, "ci2");
}

static void test_all_setup_flags(void **state)
{
	struct sx_options o;

	assert_int_equal(PARSE(&o, "setup", "--policy", "strict", "--sandbox-ip", "10.200.0.6", "--host-ip",
			       "10.200.0.5", "--sandbox-home", "/srv/sb", "--user", "sbuser",
			       "--openclaw-port", "18800", "--dns", "1.1.1.1,9.9.9.9", "--no-auto-pair",
			       "--no-host-networking", "--no-guardrail", "--non-interactive", "--name", "ci1",
			       "--dry-run", "--json"),
			 0);
	assert_int_equal(o.command, SX_CMD_SETUP);
	assert_string_equal(o.policy, "strict");
	assert_string_equal(o.sandbox_ip, "10.200.0.6");
	assert_string_equal(o.host_ip, "10.200.0.5");
	assert_string_equal(o.home, "/srv/sb");
	assert_string_equal(o.user, "sbuser");
	assert_int_equal(o.openclaw_port, 18800);
	assert_string_equal(o.dns, "1.1.1.1,9.9.9.9");
	assert_true(o.no_auto_pair);
	assert_true(o.no_host_networking);
	assert_true(o.no_guardrail);
	assert_true(o.non_interactive);
	assert_string_equal(o.name, "ci1");
	assert_true(o.dry_run);
	assert_true(o.json);
	assert_false(o.disable);
	assert_false(o.purge);
	assert_false(o.help);

	/* the command word is optional, "--opt=value" works too */
	assert_int_equal(PARSE(&o, "--policy=permissive", "--dns=host", "--openclaw-port=1"), 0);
	assert_int_equal(o.command, SX_CMD_SETUP);
	assert_string_equal(o.policy, "permissive");
	assert_string_equal(o.dns, "host");
	assert_int_equal(o.openclaw_port, 1);

	assert_int_equal(PARSE(&o, "--policy", "default", "--dns", "none", "--openclaw-port", "65535"), 0);
	assert_string_equal(o.policy, "default");
	assert_string_equal(o.dns, "none");
	assert_int_equal(o.openclaw_port, 65535);

	assert_int_equal(PARSE(&o, "--disable", "--purge", "--name", "ci1", "--non-interactive"), 0);
	assert_true(o.disable);
	assert_true(o.purge);
	assert_string_equal(o.name, "ci1");

	assert_int_equal(PARSE(&o, "--disable"), 0);
	assert_true(o.disable);
	assert_false(o.purge);
}

static void test_bridge_flags(void **state)
{
	struct sx_options o;

	assert_int_equal(PARSE(&o, "--bridge-port", "9002", "--bridge-bind", "0.0.0.0", "--bridge-origin",
			       "https://chat.example.com", "--bridge-origin", "http://localhost:3000/",
			       "--bridge-origin", "https://chat.example.com", "--bridge-name",
			       "box.example.com", "--bridge-name=192.0.2.7"),
			 0);
	assert_int_equal(o.bridge_port, 9002);
	assert_string_equal(o.bridge_bind, "0.0.0.0");
	/* in order, a repeat dropped */
	assert_int_equal(o.n_bridge_origins, 2);
	assert_string_equal(o.bridge_origins[0], "https://chat.example.com");
	assert_string_equal(o.bridge_origins[1], "http://localhost:3000/");
	assert_null(o.bridge_origins[2]);
	assert_int_equal(o.n_bridge_names, 2);
	assert_string_equal(o.bridge_names[1], "192.0.2.7");
	assert_null(o.bridge_names[2]);

	assert_int_equal(PARSE(&o, "--bridge-port", "0"), 0);
	assert_int_equal(o.bridge_port, 0);
	assert_int_equal(PARSE(&o, "--bridge-port", "2"), 0);
	assert_int_equal(o.bridge_port, 2);
	assert_int_equal(PARSE(&o, "--bridge-port", "65535"), 0);
	assert_int_equal(o.bridge_port, 65535);
	/* the words that go back to the defaults */
	assert_int_equal(PARSE(&o, "--bridge-origin", "default", "--bridge-name", "none"), 0);
	assert_string_equal(o.bridge_origins[0], "default");
	assert_string_equal(o.bridge_names[0], "none");
}

static void test_help(void **state)
{
	struct sx_options o;

	assert_int_equal(PARSE(&o, "--help"), 0);
	assert_true(o.help);
	assert_int_equal(o.command, SX_CMD_SETUP);
	assert_int_equal(PARSE(&o, "-h"), 0);
	assert_true(o.help);
	assert_int_equal(PARSE(&o, "status", "--help"), 0);
	assert_true(o.help);
	assert_int_equal(o.command, SX_CMD_STATUS);
	assert_int_equal(PARSE(&o, "list", "-h"), 0);
	assert_true(o.help);
	assert_int_equal(o.command, SX_CMD_LIST);
}

static void test_invalid(void **state)
{
	static const struct {
		const char *what;
		char *args[12]; /* after argv[0], NULL-terminated by the zeros */
	} cases[] = {
	    {"unknown option", {"--frobnicate"}},
	    {"unknown short option", {"-x"}},
	    {"missing argument", {"--name"}},
	    {"missing port argument", {"--openclaw-port"}},
	    {"--name too long", {"--name", "abcdefghijkl"}},
	    {"--name empty", {"--name", ""}},
	    {"--name capital", {"--name", "Sandbox"}},
	    {"--name leading dash", {"--name=-a"}},
	    {"--name underscore", {"status", "--name", "a_b"}},
	    {"--policy bogus", {"--policy", "bogus"}},
	    {"--policy capital", {"--policy", "Strict"}},
	    {"--sandbox-ip bad", {"--sandbox-ip", "10.200.0", "--host-ip", "10.200.0.5"}},
	    {"--host-ip bad", {"--sandbox-ip", "10.200.0.6", "--host-ip", "10.200.0.256"}},
	    {"--sandbox-ip without --host-ip", {"--sandbox-ip", "10.200.0.6"}},
	    {"--host-ip without --sandbox-ip", {"--host-ip", "10.200.0.5"}},
	    {"--openclaw-port 0", {"--openclaw-port", "0"}},
	    {"--openclaw-port 70000", {"--openclaw-port", "70000"}},
	    {"--openclaw-port abc", {"--openclaw-port", "abc"}},
	    {"--openclaw-port -1", {"--openclaw-port=-1"}},
	    {"--dns bogus", {"--dns", "bogus"}},
	    {"--dns with a bad item", {"--dns", "1.2.3.4,x"}},
	    {"--dns empty", {"--dns", ""}},
	    {"--dns only commas", {"--dns", ",,"}},
	    {"--dns Host", {"--dns", "Host"}},
	    {"--purge without --disable", {"--purge"}},
	    {"--user with ':'", {"--user", "a:b"}},
	    {"--user with '/'", {"--user", "a/b"}},
	    {"--user with space", {"--user", "a b"}},
	    {"--user empty", {"--user", ""}},
	    {"--user leading dash", {"--user=-x"}},
	    {"--user 32 chars", {"--user", "abcdefghijklmnopqrstuvwxyz012345"}},
	    {"--sandbox-home relative", {"--sandbox-home", "home/sb"}},
	    {"--sandbox-home /", {"--sandbox-home", "/"}},
	    {"--sandbox-home with ..", {"--sandbox-home", "/home/../etc"}},
	    {"--sandbox-home with ':'", {"--sandbox-home", "/home/a:b"}},
	    {"unexpected positional", {"setup", "extra"}},
	    {"positional after options", {"--name", "x", "status"}},
	    {"two command words", {"status", "list"}},
	    {"list --policy", {"list", "--policy", "strict"}},
	    {"list --name", {"list", "--name", "x"}},
	    {"status --policy", {"status", "--policy", "strict"}},
	    {"status --disable", {"status", "--disable"}},
	    {"up --dns", {"up", "--dns", "host"}},
	    {"down --purge", {"down", "--purge"}},
	    {"--bridge-port 1", {"--bridge-port", "1"}},
	    {"--bridge-port 65536", {"--bridge-port", "65536"}},
	    {"--bridge-port -1", {"--bridge-port=-1"}},
	    {"--bridge-port x", {"--bridge-port", "x"}},
	    {"--bridge-port empty", {"--bridge-port", ""}},
	    {"--bridge-bind name", {"--bridge-bind", "localhost"}},
	    {"--bridge-bind bad", {"--bridge-bind", "10.0.0.256"}},
	    {"--bridge-origin path", {"--bridge-origin", "https://a.example/app"}},
	    {"--bridge-origin scheme", {"--bridge-origin", "ws://a.example"}},
	    {"--bridge-origin no host", {"--bridge-origin", "https://"}},
	    {"--bridge-origin port 0", {"--bridge-origin", "https://a.example:0"}},
	    {"--bridge-origin query", {"--bridge-origin", "https://a.example?x"}},
	    {"--bridge-origin default mixed",
	     {"--bridge-origin", "default", "--bridge-origin", "https://a.b"}},
	    {"--bridge-name space", {"--bridge-name", "a b"}},
	    {"--bridge-name wildcard", {"--bridge-name", "*.example.com"}},
	    {"--bridge-name none mixed", {"--bridge-name", "a.example", "--bridge-name", "none"}},
	    {"status --bridge-port", {"status", "--bridge-port", "9000"}},
	    {"exec --bridge-name", {"exec", "--bridge-name", "a", "--", "true"}},
	    {"unknown command", {"frobnicate"}},
	    {"command word with capital", {"Status"}},
	};
	struct sx_options o;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int r = parse_v(&o, cases[i].args);
		if (r != -EINVAL)
			fail_msg("%s: returned %d, expected -EINVAL", cases[i].what, r);
	}
}

static void test_valid_edge_values(void **state)
{
	struct sx_options o;

	/* 11 characters is the longest name */
	assert_int_equal(PARSE(&o, "--name", "abcdefghijk"), 0);
	assert_string_equal(o.name, "abcdefghijk");
	/* 31 characters is the longest user name */
	assert_int_equal(PARSE(&o, "--user", "abcdefghijklmnopqrstuvwxyz01234"), 0);
	assert_string_equal(o.user, "abcdefghijklmnopqrstuvwxyz01234");
	assert_int_equal(PARSE(&o, "--dns", "9.9.9.9"), 0);
	assert_string_equal(o.dns, "9.9.9.9");
	/* IPs are only parsed here; the /30 rules are checked later */
	assert_int_equal(PARSE(&o, "--sandbox-ip", "10.200.0.6", "--host-ip", "10.200.0.5"), 0);
	assert_string_equal(o.sandbox_ip, "10.200.0.6");
	assert_string_equal(o.host_ip, "10.200.0.5");
}

/* sx_options_parse() is documented to reset getopt itself, so a second parse
 * in the same process must not see anything of the first, even when the
 * first stopped inside a cluster of short options. */
static void test_parse_state_does_not_leak(void **state)
{
	struct sx_options o;

	assert_int_equal(PARSE(&o, "-Xh"), -EINVAL);
	assert_int_equal(PARSE(&o, "status"), 0);
	assert_int_equal(o.command, SX_CMD_STATUS);
	assert_false(o.help);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_all_setup_flags),
	    cmocka_unit_test(test_bridge_flags),
	    cmocka_unit_test(test_help),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_valid_edge_values),
	    /* last: when it fails it leaves getopt in the state it tests for */
	    cmocka_unit_test(test_parse_state_does_not_leak),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
