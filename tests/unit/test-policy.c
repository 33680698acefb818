/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-policy.c - policy.json parsing and validation (src/lib/policy.c) and
 * the shipped templates under policy/.
 */
#include "testutil.h"

#include "lib/policy.h"
#include "lib/strv.h"

/* ---- helpers ---- */

/* Test JSON is written with ' for " to stay readable. */
static char *js(const char *s)
{
	char *t = strdup(s);

	assert_non_null(t);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static struct sx_policy *parse_ok_at(const char *json, int line)
{
	_cleanup_free_ char *t = js(json);
	struct sx_policy *p = NULL;
	char *why = NULL;
	int r = sx_policy_parse(t, &p, &why);

	if (r != 0)
		tu_fail_free(why, "line %d: policy refused (%d): %s\n%s", line, r, why ? why : "(no reason)",
			     t);
	assert_non_null(p);
	return p;
}
#define parse_ok(json) parse_ok_at((json), __LINE__)

/* Asserts the policy is refused with -EINVAL and why contains every
 * non-NULL part. */
static void expect_invalid_at(const char *json, const char *part1, const char *part2, int line)
{
	char *t = js(json);
	struct sx_policy *p = NULL;
	char *why = NULL, msg[1024] = "";
	int r = sx_policy_parse(t, &p, &why);

	/* Build the failure message first and free everything, so a failing
	 * case leaks nothing under valgrind. */
	if (r != -EINVAL)
		snprintf(msg, sizeof(msg), "line %d: returned %d, expected -EINVAL for\n%s", line, r, t);
	else if (p)
		snprintf(msg, sizeof(msg), "line %d: -EINVAL but a policy was returned for\n%s", line, t);
	else if (!why)
		snprintf(msg, sizeof(msg), "line %d: no reason given for\n%s", line, t);
	else if ((part1 && !strstr(why, part1)) || (part2 && !strstr(why, part2)))
		snprintf(msg, sizeof(msg), "line %d: reason \"%s\" lacks \"%s\"/\"%s\" for\n%s", line, why,
			 part1, part2 ? part2 : "", t);
	sx_policy_free(p);
	free(why);
	free(t);
	if (*msg)
		fail_msg("%s", msg);
}
#define expect_invalid(json, part) expect_invalid_at((json), (part), NULL, __LINE__)
#define expect_invalid2(json, part1, part2) expect_invalid_at((json), (part1), (part2), __LINE__)

/* A minimal valid policy with egress members spliced in. */
#define EGRESS(members) "{'name': 't', 'egress': {'dns': {'mode': 'none'}" members "}}"
/* A minimal valid policy with top-level members spliced in. */
#define TOP(members) "{'name': 't', 'egress': {'dns': {'mode': 'none'}}" members "}"
/* A minimal policy with the given egress.dns value. */
#define DNS(value) "{'name': 't', 'egress': {'dns': " value "}}"

static bool has_port(const struct sx_policy *p, unsigned port)
{
	for (size_t i = 0; i < p->n_routed_tcp_ports; i++)
		if (p->routed_tcp_ports[i] == port)
			return true;
	return false;
}

/* Every template is named after its directory, hides sentrix's own state
 * and host secrets from the sandbox, and keeps OpenClaw's Docker sandbox off
 * (sentrix is the sandbox). */
static void check_common(const struct sx_policy *p, const char *name)
{
	static const char *const hidden[] = {"/etc/sentrix", "/var/lib/sentrix", "/var/log/sentrix",
					     "/etc/shadow", "/root"};

	assert_string_equal(p->name, name);
	for (size_t i = 0; i < ELEMENTSOF(hidden); i++) {
		/* "-/path": hidden where it exists (sentrix's own directories
		 * do not exist on a runner that only runs ephemeral jobs) */
		char optional[64];
		snprintf(optional, sizeof(optional), "-%s", hidden[i]);
		if (!sx_strv_contains(p->fs_hidden, hidden[i]) && !sx_strv_contains(p->fs_hidden, optional))
			fail_msg("policy %s does not hide %s", p->name, hidden[i]);
	}
	assert_true(sx_strv_contains(p->fs_read_only, "/"));
	assert_true(sx_strv_contains(p->fs_writable, "~"));
	assert_int_equal(p->llm_port, 18790);
	assert_int_equal(p->egress_port, 18791);
	assert_string_equal(p->sandbox_mode, "off");
	assert_string_equal(p->dm_policy, "pairing");
	assert_int_equal(sx_strv_length(p->patrol_packs), 4);
	assert_non_null(p->description);
	assert_true(strlen(p->description) > 0);
}

/* policy/NAME from $SENTRIX_DATADIR, the working directory (make check runs
 * from the top of the tree) or its parents, checked by check_common(). */
static struct sx_policy *load_template(const char *name)
{
	const char *dd = getenv("SENTRIX_DATADIR");
	const char *const bases[] = {dd && *dd ? dd : ".", ".", "..", "../.."};
	struct sx_policy *p = NULL;
	char *why = NULL;

	for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
		_cleanup_free_ char *dir = sx_strdupf("%s/policy/%s", bases[i], name);
		_cleanup_free_ char *file = sx_strdupf("%s/policy.json", dir);
		struct stat st;
		int r;

		assert_non_null(dir);
		assert_non_null(file);
		if (stat(file, &st) < 0)
			continue;
		r = sx_policy_load(dir, &p, &why);
		if (r != 0)
			tu_fail_free(why, "%s: %s", file, why ? why : "(no reason)");
		assert_non_null(p);
		check_common(p, name);
		return p;
	}
	fail_msg("policy/%s/policy.json not found (run from the source tree or set SENTRIX_DATADIR)", name);
	return NULL;
}

/* ---- shipped templates ---- */

static void test_template_default(void **state)
{
	_cleanup_policy_ struct sx_policy *p = load_template("default");

	assert_int_equal(p->dns_mode, SX_DNS_FILTERED);
	assert_int_equal(sx_strv_length(p->dns_servers), 0);
	assert_int_equal(p->n_routed_tcp_ports, 0);
	assert_true(sx_strv_contains(p->domains, "api.anthropic.com"));
	assert_true(sx_strv_contains(p->domains, "*.github.com"));
	assert_int_equal(p->n_egress_ports, 2);
	assert_int_equal(p->egress_ports[0], 80);
	assert_int_equal(p->egress_ports[1], 443);
	assert_int_equal(p->idle_secs, 300);
	assert_string_equal(p->exec_security, "deny");
	assert_string_equal(p->seccomp_profile, "default");
	assert_string_equal(p->guardrail_mode, "observe");
	/* filtered DNS is answered by the gateway: nothing routed (only
	 * --dns host or servers would route) */
	assert_false(sx_policy_routes(p, p->dns_mode));
	assert_true(sx_policy_routes(p, SX_DNS_HOST));
	assert_false(sx_policy_routes(p, SX_DNS_NONE));
}

static void test_template_strict(void **state)
{
	_cleanup_policy_ struct sx_policy *p = load_template("strict");

	assert_int_equal(p->dns_mode, SX_DNS_NONE);
	assert_int_equal(sx_strv_length(p->dns_servers), 0);
	assert_int_equal(p->n_routed_tcp_ports, 0);
	assert_string_equal(p->exec_security, "deny");
	assert_string_equal(p->seccomp_profile, "strict");
	assert_string_equal(p->guardrail_mode, "block");
	assert_int_equal(p->guardrail_refusal_status, 403);
	assert_true(sx_strv_contains(p->fs_hidden, "/home"));
	/* egress.ports absent: 443 only */
	assert_int_equal(p->n_egress_ports, 1);
	assert_int_equal(p->egress_ports[0], 443);
	/* strict makes the host route nothing for the sandbox */
	assert_false(sx_policy_routes(p, p->dns_mode));
}

static void test_template_permissive(void **state)
{
	_cleanup_policy_ struct sx_policy *p = load_template("permissive");

	assert_int_equal(p->dns_mode, SX_DNS_HOST);
	assert_int_equal(p->n_routed_tcp_ports, 2);
	assert_true(has_port(p, 80));
	assert_true(has_port(p, 443));
	assert_string_equal(p->exec_security, "allowlist");
	assert_string_equal(p->seccomp_profile, "permissive");
	/* routed ports need forwarding even with DNS off */
	assert_true(sx_policy_routes(p, SX_DNS_NONE));
}

static void test_load_paths(void **state)
{
	struct sx_policy *q = NULL;
	char *why = NULL;
	_cleanup_free_ char *file = tmp_path("custom.json"), *missing = tmp_path("nothere");

	/* a path ending in .json is the file itself */
	write_text(file, "{\"name\": \"mine\", \"egress\": {\"dns\": {\"mode\": \"host\"}}}\n");
	assert_int_equal(sx_policy_load(file, &q, &why), 0);
	assert_string_equal(q->name, "mine");
	sx_policy_free(q);
	q = NULL;

	/* a missing directory: -ENOENT and the file named */
	assert_int_equal(sx_policy_load(missing, &q, &why), -ENOENT);
	assert_null(q);
	assert_contains(why, "nothere/policy.json");
	free(why);
	why = NULL;

	/* a validation error is prefixed with the file */
	write_text(file, "{\"name\": \"mine\", \"egress\": {\"dns\": {\"mode\": \"google\"}}}\n");
	assert_int_equal(sx_policy_load(file, &q, &why), -EINVAL);
	assert_null(q);
	assert_contains(why, "custom.json");
	assert_contains(why, "egress.dns.mode");
	free(why);
}

/* ---- inline policies ---- */

static void test_minimal_defaults(void **state)
{
	_cleanup_policy_ struct sx_policy *p = parse_ok(EGRESS(""));

	assert_string_equal(p->name, "t");
	assert_string_equal(p->description, "");
	assert_int_equal(p->dns_mode, SX_DNS_NONE);
	assert_int_equal(p->llm_port, 18790);
	assert_int_equal(p->egress_port, 18791);
	assert_int_equal(p->n_routed_tcp_ports, 0);
	assert_int_equal(sx_strv_length(p->domains), 0);
	assert_int_equal(sx_strv_length(p->dns_servers), 0);
	assert_int_equal(sx_strv_length(p->fs_hidden), 0);
	assert_int_equal(sx_strv_length(p->patrol_packs), 0);
	/* defaults are the safe choices */
	assert_string_equal(p->exec_security, "deny");
	assert_string_equal(p->sandbox_mode, "off");
	assert_string_equal(p->dm_policy, "pairing");
	assert_string_equal(p->guardrail_mode, "observe");
	assert_string_equal(p->seccomp_profile, "default");
	assert_false(sx_policy_routes(p, p->dns_mode));
}

static void test_full_policy(void **state)
{
	_cleanup_policy_ struct sx_policy *p = parse_ok(
	    "{'name': 'full', 'description': 'd',"
	    " 'egress': {'gateway_ports': {'llm': 1000, 'egress': 65535},"
	    "  'dns': {'mode': 'servers', 'servers': ['1.1.1.1', '9.9.9.9']},"
	    "  'routed_tcp_ports': [22, 8443], 'domains': ['example.com', '*.example.org']},"
	    " 'filesystem': {'read_only': ['/usr'], 'hidden': ['/srv/x'], 'writable': ['~/work', '/tmp']},"
	    " 'seccomp': {'profile': 'permissive'},"
	    " 'openclaw': {'exec_security': 'full', 'sandbox_mode': 'off', 'dm_policy': 'disabled'},"
	    " 'guardrail': {'mode': 'block'}, 'patrol': {'packs': ['pii', 'tools']}}");

	assert_string_equal(p->name, "full");
	assert_string_equal(p->description, "d");
	assert_int_equal(p->llm_port, 1000);
	assert_int_equal(p->egress_port, 65535);
	assert_int_equal(p->dns_mode, SX_DNS_SERVERS);
	assert_int_equal(sx_strv_length(p->dns_servers), 2);
	assert_string_equal(p->dns_servers[0], "1.1.1.1");
	assert_string_equal(p->dns_servers[1], "9.9.9.9");
	assert_int_equal(p->n_routed_tcp_ports, 2);
	assert_int_equal(p->routed_tcp_ports[0], 22);
	assert_int_equal(p->routed_tcp_ports[1], 8443);
	assert_int_equal(sx_strv_length(p->domains), 2);
	assert_string_equal(p->domains[1], "*.example.org");
	assert_string_equal(p->fs_read_only[0], "/usr");
	assert_string_equal(p->fs_hidden[0], "/srv/x");
	assert_string_equal(p->fs_writable[0], "~/work");
	assert_string_equal(p->seccomp_profile, "permissive");
	assert_string_equal(p->exec_security, "full");
	assert_string_equal(p->dm_policy, "disabled");
	assert_string_equal(p->guardrail_mode, "block");
	assert_int_equal(sx_strv_length(p->patrol_packs), 2);
	assert_true(sx_policy_routes(p, SX_DNS_NONE));
}

static void test_patrol_judge(void **state)
{
	_cleanup_policy_ struct sx_policy *none = parse_ok(TOP(", 'patrol': {'packs': ['pii']}"));
	_cleanup_policy_ struct sx_policy *p = parse_ok(
	    TOP(", 'patrol': {'packs': ['harm'], 'judge': {'provider': 'openai', 'model': 'gpt-4o-mini'}}"));
	_cleanup_policy_ struct sx_policy *q =
	    parse_ok(TOP(", 'patrol': {'judge': {'provider': 'my-llm', 'model': 'm', 'max_tokens': 64, "
			 "'version': '2b'}}"));

	assert_null(none->judge_provider);
	assert_string_equal(p->judge_provider, "openai");
	assert_string_equal(p->judge_model, "gpt-4o-mini");
	assert_string_equal(p->judge_version, "1");
	assert_int_equal(p->judge_max_tokens, SX_JUDGE_MAX_TOKENS_DEFAULT);
	assert_string_equal(q->judge_version, "2b");
	assert_int_equal(q->judge_max_tokens, 64);
	expect_invalid2(TOP(", 'patrol': {'judge': {'provider': 'p', 'model': 'm', 'temp': 0}}"),
			"patrol.judge.temp", "unknown key");
	expect_invalid(TOP(", 'patrol': {'judge': {'model': 'm'}}"), "patrol.judge.provider");
	expect_invalid(TOP(", 'patrol': {'judge': {'provider': 'Bad Name', 'model': 'm'}}"),
		       "patrol.judge.provider");
	expect_invalid(TOP(", 'patrol': {'judge': {'provider': 'p'}}"), "patrol.judge.model");
	expect_invalid(TOP(", 'patrol': {'judge': {'provider': 'p', 'model': 'a b'}}"), "patrol.judge.model");
	expect_invalid(TOP(", 'patrol': {'judge': {'provider': 'p', 'model': 'm', 'max_tokens': 0}}"),
		       "patrol.judge.max_tokens");
	expect_invalid(TOP(", 'patrol': {'judge': {'provider': 'p', 'model': 'm', 'max_tokens': 1.5}}"),
		       "patrol.judge.max_tokens");
	expect_invalid(TOP(", 'patrol': {'judge': {'provider': 'p', 'model': 'm', 'version': 'a@b'}}"),
		       "patrol.judge.version");
	expect_invalid(TOP(", 'patrol': {'judge': 'openai'}"), "patrol.judge");
}

static void test_unknown_keys(void **state)
{
	/* a misspelt key is an error, named with its full path */
	expect_invalid2(TOP(", 'egres': {}"), "policy.egres", "unknown key");
	expect_invalid2(EGRESS(", 'domain': []"), "egress.domain", "unknown key");
	expect_invalid2(DNS("{'mode': 'none', 'foo': 1}"), "egress.dns.foo", "unknown key");
	expect_invalid2(EGRESS(", 'gateway_ports': {'llm': 1, 'egres': 2}"), "egress.gateway_ports.egres",
			"unknown key");
	expect_invalid2(TOP(", 'filesystem': {'readonly': []}"), "filesystem.readonly", "unknown key");
	expect_invalid2(TOP(", 'openclaw': {'exec': 'deny'}"), "openclaw.exec", "unknown key");
	expect_invalid2(TOP(", 'guardrail': {'mode': 'block', 'x': 1}"), "guardrail.x", "unknown key");
	expect_invalid2(TOP(", 'patrol': {'pack': []}"), "patrol.pack", "unknown key");
	expect_invalid2(TOP(", 'seccomp': {'Profile': 'strict'}"), "seccomp.Profile", "unknown key");
}

static void test_structure(void **state)
{
	expect_invalid("{'name': 't'}", "policy.egress");
	expect_invalid("{'egress': {'dns': {'mode': 'none'}}}", "policy.name");
	expect_invalid("{'name': 'Bad', 'egress': {'dns': {'mode': 'none'}}}", "policy.name");
	expect_invalid("{'name': 'abcdefghijkl', 'egress': {'dns': {'mode': 'none'}}}", "policy.name");
	expect_invalid("{'name': 1, 'egress': {'dns': {'mode': 'none'}}}", "policy.name");
	expect_invalid("{'name': 't', 'egress': []}", "egress");
	expect_invalid("{'name': 't', 'egress': {}}", "egress.dns");
	expect_invalid("[]", "policy");
	expect_invalid(TOP(", 'filesystem': []"), "filesystem");
	expect_invalid(TOP(", 'description': 5"), "policy.description");
}

static void test_dns(void **state)
{
	expect_invalid(DNS("{'mode': 'google'}"), "egress.dns.mode");
	expect_invalid(DNS("{'mode': 'None'}"), "egress.dns.mode");
	expect_invalid(DNS("{'mode': 1}"), "egress.dns.mode");
	expect_invalid(DNS("{}"), "egress.dns.mode");
	expect_invalid(DNS("'host'"), "egress.dns");
	/* servers mode needs servers; other modes must not list any */
	expect_invalid(DNS("{'mode': 'servers'}"), "egress.dns.servers");
	expect_invalid(DNS("{'mode': 'servers', 'servers': []}"), "egress.dns.servers");
	expect_invalid(DNS("{'mode': 'host', 'servers': ['1.1.1.1']}"), "egress.dns.servers");
	expect_invalid(DNS("{'mode': 'none', 'servers': ['1.1.1.1']}"), "egress.dns.servers");
	expect_invalid2(DNS("{'mode': 'servers', 'servers': ['1.1.1']}"), "egress.dns.servers", "1.1.1");
	expect_invalid(DNS("{'mode': 'servers', 'servers': '1.1.1.1'}"), "egress.dns.servers");
	expect_invalid(DNS("{'mode': 'servers', 'servers': [1]}"), "egress.dns.servers");

	_cleanup_policy_ struct sx_policy *p = parse_ok(DNS("{'mode': 'host', 'servers': []}"));
	assert_int_equal(p->dns_mode, SX_DNS_HOST);
	assert_true(sx_policy_routes(p, p->dns_mode));

	/* filtered: answered by the gateway, never routed; servers optional */
	_cleanup_policy_ struct sx_policy *f = parse_ok(DNS("{'mode': 'filtered'}"));
	assert_int_equal(f->dns_mode, SX_DNS_FILTERED);
	assert_false(sx_policy_routes(f, f->dns_mode));
	_cleanup_policy_ struct sx_policy *fs = parse_ok(DNS("{'mode': 'filtered', 'servers': ['9.9.9.9']}"));
	assert_string_equal(fs->dns_servers[0], "9.9.9.9");
}

static void test_egress_proxy_keys(void **state)
{
	_cleanup_policy_ struct sx_policy *p = parse_ok(
	    EGRESS(", 'ports': [443, 8443], 'allow_ranges': ['10.1.2.0/24', 'fd00::/8'], 'idle_secs': 60"));

	assert_int_equal(p->n_egress_ports, 2);
	assert_int_equal(p->egress_ports[1], 8443);
	assert_string_equal(p->allow_ranges[0], "10.1.2.0/24");
	assert_int_equal(p->idle_secs, 60);
	expect_invalid(EGRESS(", 'ports': [0]"), "egress.ports");
	expect_invalid(EGRESS(", 'ports': 443"), "egress.ports");
	expect_invalid(EGRESS(", 'ports': ['443']"), "egress.ports");
	expect_invalid2(EGRESS(", 'allow_ranges': ['10.1.2.0/33']"), "egress.allow_ranges", "10.1.2.0/33");
	expect_invalid(EGRESS(", 'allow_ranges': ['example.com']"), "egress.allow_ranges");
	expect_invalid(EGRESS(", 'idle_secs': 0"), "egress.idle_secs");
	expect_invalid(EGRESS(", 'idle_secs': 86401"), "egress.idle_secs");
	expect_invalid(EGRESS(", 'idle_secs': 'long'"), "egress.idle_secs");
	/* wildcards only as a leading "*." label */
	expect_invalid(EGRESS(", 'domains': ['*']"), "egress.domains");
	expect_invalid(EGRESS(", 'domains': ['a.*.com']"), "egress.domains");
	expect_invalid(EGRESS(", 'domains': ['*example.com']"), "egress.domains");
}

static void test_ports(void **state)
{
	static const char *const bad[] = {"0", "70000", "65536", "'80'", "1.5", "-1", "true", "null", "[80]"};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *llm = sx_strdupf(EGRESS(", 'gateway_ports': {'llm': %s}"), bad[i]);
		_cleanup_free_ char *eg = sx_strdupf(EGRESS(", 'gateway_ports': {'egress': %s}"), bad[i]);
		_cleanup_free_ char *routed = sx_strdupf(EGRESS(", 'routed_tcp_ports': [443, %s]"), bad[i]);

		expect_invalid(llm, "egress.gateway_ports.llm");
		expect_invalid(eg, "egress.gateway_ports.egress");
		expect_invalid(routed, "egress.routed_tcp_ports");
	}
	expect_invalid(EGRESS(", 'routed_tcp_ports': 80"), "egress.routed_tcp_ports");
	expect_invalid(EGRESS(", 'gateway_ports': []"), "egress.gateway_ports");

	/* the two gateway ports must differ, defaults included */
	expect_invalid(EGRESS(", 'gateway_ports': {'llm': 2000, 'egress': 2000}"), "must differ");
	expect_invalid(EGRESS(", 'gateway_ports': {'llm': 18791}"), "must differ");
	expect_invalid(EGRESS(", 'gateway_ports': {'egress': 18790}"), "must differ");

	/* swapping them is fine */
	_cleanup_policy_ struct sx_policy *p =
	    parse_ok(EGRESS(", 'gateway_ports': {'llm': 18791, 'egress': 18790}"));
	assert_int_equal(p->llm_port, 18791);
	assert_int_equal(p->egress_port, 18790);
	_cleanup_policy_ struct sx_policy *q = parse_ok(EGRESS(", 'routed_tcp_ports': [1, 65535]"));
	assert_int_equal(q->n_routed_tcp_ports, 2);
	assert_true(has_port(q, 1));
	assert_true(has_port(q, 65535));
}

static void test_domain_patterns(void **state)
{
	static const char *const good[] = {
	    "example.com", "*.example.com", "example.com.", "a-b.example.com", "localhost",
	    "xn--bcher-kva.example", "a.b.c.d.e.f", "123.example", "*.com",
	    /* 63-character label */
	    "abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abc.com"};
	static const char *const bad[] = {
	    "*",
	    "*example.com",
	    "a..b",
	    "-a.com",
	    "a-.com",
	    "a.*.com",
	    "",
	    ".",
	    "*.",
	    ".example.com",
	    "*.*.example.com",
	    "exa_mple.com",
	    "example.com/path",
	    "http://example.com",
	    "example.com:443",
	    "ex ample.com",
	    /* 64-character label */
	    "abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcd.com",
	};

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		_cleanup_free_ char *j = sx_strdupf(EGRESS(", 'domains': ['%s']"), good[i]);
		_cleanup_policy_ struct sx_policy *p = parse_ok(j);
		assert_int_equal(sx_strv_length(p->domains), 1);
		assert_string_equal(p->domains[0], good[i]);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *j = sx_strdupf(EGRESS(", 'domains': ['example.org', '%s']"), bad[i]);
		_cleanup_free_ char *quoted = sx_strdupf("\"%s\"", bad[i]);
		expect_invalid2(j, "egress.domains", quoted);
	}

	/* a name longer than 253 characters */
	char longname[300] = "";
	while (strlen(longname) < 260)
		strcat(longname, "abcdefghi.");
	strcat(longname, "com");
	_cleanup_free_ char *j = sx_strdupf(EGRESS(", 'domains': ['%s']"), longname);
	expect_invalid(j, "egress.domains");

	expect_invalid(EGRESS(", 'domains': 'example.com'"), "egress.domains");
	expect_invalid(EGRESS(", 'domains': [1]"), "egress.domains");
}

/* One trailing dot is the root label and ignored; a second one leaves an
 * empty label, which no host name has. */
static void test_domain_double_trailing_dot(void **state)
{
	expect_invalid2(EGRESS(", 'domains': ['example.com..']"), "egress.domains", "example.com..");
	expect_invalid2(EGRESS(", 'domains': ['*.example.com..']"), "egress.domains", "example.com..");
}

static void test_enumerations(void **state)
{
	expect_invalid2(TOP(", 'patrol': {'packs': ['pii', 'malware']}"), "patrol.packs", "malware");
	expect_invalid(TOP(", 'patrol': {'packs': 'pii'}"), "patrol.packs");
	expect_invalid2(TOP(", 'openclaw': {'exec_security': 'ask'}"), "openclaw.exec_security", "ask");
	expect_invalid(TOP(", 'openclaw': {'exec_security': 'Deny'}"), "openclaw.exec_security");
	expect_invalid(TOP(", 'openclaw': {'exec_security': ''}"), "openclaw.exec_security");
	expect_invalid(TOP(", 'openclaw': {'exec_security': true}"), "openclaw.exec_security");
	expect_invalid(TOP(", 'openclaw': {'sandbox_mode': 'all'}"), "openclaw.sandbox_mode");
	expect_invalid(TOP(", 'openclaw': {'dm_policy': 'everyone'}"), "openclaw.dm_policy");
	expect_invalid(TOP(", 'guardrail': {'mode': 'enforce'}"), "guardrail.mode");
	expect_invalid(TOP(", 'guardrail': {'mode': 'block', 'fail_mode': 'maybe'}"), "guardrail.fail_mode");
	expect_invalid(TOP(", 'guardrail': {'mode': 'block', 'refusal_status': 401}"),
		       "guardrail.refusal_status");
	expect_invalid(TOP(", 'guardrail': {'mode': 'block', 'refusal_status': '400'}"),
		       "guardrail.refusal_status");
	expect_invalid(TOP(", 'seccomp': {'profile': 'none'}"), "seccomp.profile");

	static const char *const exec[] = {"deny", "allowlist", "full"};
	for (size_t i = 0; i < ELEMENTSOF(exec); i++) {
		_cleanup_free_ char *j = sx_strdupf(TOP(", 'openclaw': {'exec_security': '%s'}"), exec[i]);
		_cleanup_policy_ struct sx_policy *p = parse_ok(j);
		assert_string_equal(p->exec_security, exec[i]);
	}
}

static void test_filesystem_paths(void **state)
{
	_cleanup_policy_ struct sx_policy *p =
	    parse_ok(TOP(", 'filesystem': {'writable': ['~', '~/x', '/a/b..c', '/'], 'hidden': []}"));
	assert_int_equal(sx_strv_length(p->fs_writable), 4);

	expect_invalid2(TOP(", 'filesystem': {'read_only': ['etc']}"), "filesystem.read_only", "etc");
	expect_invalid(TOP(", 'filesystem': {'hidden': ['~root']}"), "filesystem.hidden");
	expect_invalid(TOP(", 'filesystem': {'writable': ['/home/../etc']}"), "filesystem.writable");
	expect_invalid(TOP(", 'filesystem': {'writable': ['']}"), "filesystem.writable");
	expect_invalid(TOP(", 'filesystem': {'writable': '/tmp'}"), "filesystem.writable");
}

static void test_malformed_json(void **state)
{
	struct sx_policy *p = NULL;

	/* the missing ':' is on line 3 */
	expect_invalid("{\n  'name': 't',\n  'egress' {}\n}\n", "line 3");
	expect_invalid("", "line 1");
	/* trailing garbage after the object */
	expect_invalid(EGRESS("") "\nx\n", "line 2");

	/* why may be NULL */
	assert_int_equal(sx_policy_parse("{", &p, NULL), -EINVAL);
	assert_int_equal(sx_policy_parse("{\"name\": \"t\"}", &p, NULL), -EINVAL);
	assert_null(p);
}

static void test_dns_mode_names(void **state)
{
	enum sx_dns_mode m;

	assert_string_equal(sx_dns_mode_name(SX_DNS_NONE), "none");
	assert_string_equal(sx_dns_mode_name(SX_DNS_HOST), "host");
	assert_string_equal(sx_dns_mode_name(SX_DNS_SERVERS), "servers");
	assert_string_equal(sx_dns_mode_name(SX_DNS_FILTERED), "filtered");
	assert_int_equal(sx_dns_mode_from_name("filtered", &m), 0);
	assert_int_equal(m, SX_DNS_FILTERED);
	assert_int_equal(sx_dns_mode_from_name("servers", &m), 0);
	assert_int_equal(m, SX_DNS_SERVERS);
	assert_int_equal(sx_dns_mode_from_name("none", &m), 0);
	assert_int_equal(m, SX_DNS_NONE);
	assert_int_equal(sx_dns_mode_from_name("HOST", &m), -EINVAL);
	assert_int_equal(sx_dns_mode_from_name(NULL, &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_template_default),
	    cmocka_unit_test(test_template_strict),
	    cmocka_unit_test(test_template_permissive),
	    cmocka_unit_test(test_load_paths),
	    cmocka_unit_test(test_minimal_defaults),
	    cmocka_unit_test(test_full_policy),
	    cmocka_unit_test(test_patrol_judge),
	    cmocka_unit_test(test_unknown_keys),
	    cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_dns),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_domain_patterns),
	    cmocka_unit_test(test_domain_double_trailing_dot),
	    cmocka_unit_test(test_enumerations),
	    cmocka_unit_test(test_filesystem_paths),
	    cmocka_unit_test(test_malformed_json),
	    cmocka_unit_test(test_dns_mode_names),
	    cmocka_unit_test(test_egress_proxy_keys),
	};

	return cmocka_run_group_tests_name("policy", tests, tu_group_setup, tu_group_teardown);
}
