/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-config.c - config.json to struct and back (src/lib/config.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/config.h"
#include "lib/jsonutil.h"
#include "lib/strv.h"
#include "lib/util.h"

static char tmpdir[4096];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int group_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/sx-test-config.XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

/* Removes the directory even when a test failed half-way. */
static int group_teardown(void **state)
{
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Every char * field of struct sx_config, for field-by-field comparison. */
#define SF(f)                                                                                                \
	{                                                                                                    \
#f, offsetof(struct sx_config, f)                                                            \
	}
static const struct {
	const char *name;
	size_t off;
} str_fields[] = {
    SF(name),
    SF(policy),
    SF(host_ifname),
    SF(sandbox_ifname),
    SF(netns),
    SF(netns_path),
    SF(nft_host_table),
    SF(nft_sandbox_table),
    SF(dns_requested),
    SF(user),
    SF(home),
    SF(gateway_user),
    SF(etc_dir),
    SF(config_path),
    SF(policy_dir),
    SF(secrets_path),
    SF(state_dir),
    SF(journal_path),
    SF(log_dir),
    SF(resolv_conf),
    SF(openclaw_config),
};

static const char *str_field(const struct sx_config *c, size_t i)
{
	return *(char *const *)((const char *)c + str_fields[i].off);
}

static void assert_same_config(const struct sx_config *a, const struct sx_config *b)
{
	for (size_t i = 0; i < ELEMENTSOF(str_fields); i++)
		if (!streq_ptr(str_field(a, i), str_field(b, i)))
			fail_msg("%s: \"%s\" != \"%s\"", str_fields[i].name,
				 str_field(a, i) ? str_field(a, i) : "(null)",
				 str_field(b, i) ? str_field(b, i) : "(null)");
	assert_string_equal(a->host_ip, b->host_ip);
	assert_string_equal(a->sandbox_ip, b->sandbox_ip);
	assert_int_equal(a->prefix_len, b->prefix_len);
	assert_int_equal(a->openclaw_port, b->openclaw_port);
	assert_int_equal(a->llm_port, b->llm_port);
	assert_int_equal(a->egress_port, b->egress_port);
	assert_int_equal(a->health_port, b->health_port);
	assert_int_equal(a->dns_mode, b->dns_mode);
	assert_int_equal(sx_strv_length(a->dns_servers), sx_strv_length(b->dns_servers));
	for (size_t i = 0; i < sx_strv_length(a->dns_servers); i++)
		assert_string_equal(a->dns_servers[i], b->dns_servers[i]);
	assert_int_equal(a->auto_pair, b->auto_pair);
	assert_int_equal(a->host_networking, b->host_networking);
	assert_int_equal(a->guardrail, b->guardrail);
}

static void set(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	assert_non_null(*field);
}

/* A complete instance with values unlike the derived defaults, so a field
 * read back from the wrong key would show. */
static struct sx_config *make_config(void)
{
	struct sx_config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(sx_config_init_paths(c, "ci1"), 0);
	set(&c->policy, "strict");
	strcpy(c->host_ip, "10.200.0.5");
	strcpy(c->sandbox_ip, "10.200.0.6");
	c->openclaw_port = 18800;
	c->llm_port = 18790;
	c->egress_port = 18791;
	c->health_port = 18792;
	set(&c->dns_requested, "1.1.1.1,9.9.9.9");
	c->dns_mode = SX_DNS_SERVERS;
	assert_int_equal(sx_strv_push(&c->dns_servers, "1.1.1.1"), 0);
	assert_int_equal(sx_strv_push(&c->dns_servers, "9.9.9.9"), 0);
	set(&c->user, "sandbox-ci1");
	set(&c->home, "/home/sandbox-ci1");
	set(&c->openclaw_config, "/home/sandbox-ci1/.openclaw/openclaw.json");
	c->auto_pair = true;
	c->host_networking = false;
	c->guardrail = true;
	/* recorded names win over derived ones */
	set(&c->host_ifname, "sx-custom");
	set(&c->nft_host_table, "custom_table");
	set(&c->resolv_conf, "/etc/netns/elsewhere/resolv.conf");
	return c;
}

/* to_json, print, parse, from_json: the path a config takes through disk. */
static struct sx_config *round_trip(const struct sx_config *c)
{
	_cleanup_cjson_ cJSON *j = sx_config_to_json(c), *back = NULL;
	_cleanup_free_ char *text = NULL;
	struct sx_config *d = NULL;
	char *why = NULL;

	assert_non_null(j);
	text = sx_json_print(j);
	assert_non_null(text);
	back = cJSON_Parse(text);
	assert_non_null(back);
	if (sx_config_from_json(back, &d, &why) != 0)
		fail_msg("from_json: %s", why ? why : "(no reason)");
	assert_null(why);
	return d;
}

static void test_init_paths(void **state)
{
	_cleanup_config_ struct sx_config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(sx_config_init_paths(c, "sxt1"), 0);
	assert_string_equal(c->name, "sxt1");
	assert_string_equal(c->host_ifname, "sx-sxt1");
	assert_string_equal(c->netns, "sxt1");
	assert_string_equal(c->netns_path, "/run/netns/sxt1");
	assert_string_equal(c->nft_host_table, "sentrix_sxt1");
	assert_string_equal(c->config_path, "/etc/sentrix/sxt1/config.json");
	assert_string_equal(c->policy_dir, "/etc/sentrix/sxt1/policy");
	assert_string_equal(c->journal_path, "/var/lib/sentrix/sxt1/journal.db");
	assert_string_equal(c->resolv_conf, "/etc/netns/sxt1/resolv.conf");
	assert_int_equal(c->prefix_len, 30);
	/* the host interface name fits IFNAMSIZ for the longest instance name */
	assert_int_equal(sx_config_init_paths(c, "abcdefghijk"), 0);
	assert_true(strlen(c->host_ifname) <= 15);
	/* re-deriving from its own name field is safe */
	assert_int_equal(sx_config_init_paths(c, c->name), 0);
	assert_string_equal(c->name, "abcdefghijk");
	assert_string_equal(c->log_dir, "/var/log/sentrix/abcdefghijk");
}

static void test_round_trip(void **state)
{
	_cleanup_config_ struct sx_config *c = make_config();
	_cleanup_config_ struct sx_config *d = round_trip(c);

	assert_same_config(c, d);
	assert_string_equal(d->host_ifname, "sx-custom");

	/* the other values of every enum and bool */
	c->dns_mode = SX_DNS_NONE;
	sx_strv_free(c->dns_servers);
	c->dns_servers = NULL;
	set(&c->dns_requested, "none");
	c->auto_pair = false;
	c->host_networking = true;
	c->guardrail = false;
	c->openclaw_port = 1;
	c->health_port = 65535;
	_cleanup_config_ struct sx_config *e = round_trip(c);
	/* no servers reads back as an empty list */
	assert_non_null(e->dns_servers);
	assert_null(e->dns_servers[0]);
	assert_same_config(c, e);

	c->dns_mode = SX_DNS_HOST;
	_cleanup_config_ struct sx_config *f = round_trip(c);
	assert_int_equal(f->dns_mode, SX_DNS_HOST);
}

static void test_load_path(void **state)
{
	_cleanup_config_ struct sx_config *c = make_config(), *d = NULL;
	_cleanup_cjson_ cJSON *j = sx_config_to_json(c);
	_cleanup_free_ char *text = sx_json_print(j), *why = NULL;
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config.json", tmpdir);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(sx_config_load_path(path, &d, &why), 0);
	assert_same_config(c, d);

	/* errors name the file and the field */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"version\": 1, \"name\": \"ci1\"}\n", f);
	assert_int_equal(fclose(f), 0);
	struct sx_config *bad = NULL;
	assert_int_equal(sx_config_load_path(path, &bad, &why), -EINVAL);
	assert_null(bad);
	assert_non_null(why);
	assert_non_null(strstr(why, path));
	assert_non_null(strstr(why, "policy"));
	free(why);
	why = NULL;

	assert_int_equal(unlink(path), 0);
	assert_int_equal(sx_config_load_path(path, &bad, &why), -ENOENT);
	assert_null(bad);
}

/* Serialises the full config, lets edit() break it, expects from_json to
 * refuse it with why containing part. */
static void expect_refused_at(void (*edit)(cJSON *j), const char *part, int line)
{
	_cleanup_config_ struct sx_config *c = make_config();
	_cleanup_cjson_ cJSON *j = sx_config_to_json(c);
	struct sx_config *d = NULL;
	char *why = NULL;
	int r;

	edit(j);
	r = sx_config_from_json(j, &d, &why);
	if (r != -EINVAL) {
		sx_config_free(d);
		fail_msg("line %d: from_json returned %d, expected -EINVAL", line, r);
	}
	assert_null(d);
	if (!why || !strstr(why, part)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "line %d: why \"%s\" does not name \"%s\"", line,
			 why ? why : "(null)", part);
		free(why);
		fail_msg("%s", msg);
	}
	free(why);
}
#define expect_refused(edit, part) expect_refused_at((edit), (part), __LINE__)

#define EDIT(fn, body)                                                                                       \
	static void fn(cJSON *j)                                                                             \
	{                                                                                                    \
		body;                                                                                        \
	}

EDIT(version2, cJSON_ReplaceItemInObject(j, "version", cJSON_CreateNumber(2)))
EDIT(version_missing, cJSON_DeleteItemFromObject(j, "version"))
EDIT(version_string, cJSON_ReplaceItemInObject(j, "version", cJSON_CreateString("1")))
EDIT(name_bad, cJSON_ReplaceItemInObject(j, "name", cJSON_CreateString("Bad_Name")))
EDIT(name_missing, cJSON_DeleteItemFromObject(j, "name"))
EDIT(host_ip_bad, sx_json_set_path(j, "network.host_ip", cJSON_CreateString("10.200.0")))
EDIT(sandbox_ip_bad, sx_json_set_path(j, "network.sandbox_ip", cJSON_CreateString("10.200.0.600")))
EDIT(sandbox_ip_number, sx_json_set_path(j, "network.sandbox_ip", cJSON_CreateNumber(1)))
EDIT(health_missing, sx_json_remove_path(j, "ports.health"))
EDIT(openclaw_port_zero, sx_json_set_path(j, "ports.openclaw", cJSON_CreateNumber(0)))
EDIT(llm_port_big, sx_json_set_path(j, "ports.llm_proxy", cJSON_CreateNumber(70000)))
EDIT(egress_port_string, sx_json_set_path(j, "ports.egress_proxy", cJSON_CreateString("18791")))
EDIT(oc_config_missing, sx_json_remove_path(j, "paths.openclaw_config"))
EDIT(journal_number, sx_json_set_path(j, "paths.journal", cJSON_CreateNumber(5)))
EDIT(users_missing, cJSON_DeleteItemFromObject(j, "users"))
EDIT(dns_mode_bad, sx_json_set_path(j, "dns.mode", cJSON_CreateString("google")))
EDIT(dns_server_bad, cJSON_AddItemToArray(sx_json_get_path(j, "dns.servers"), cJSON_CreateString("x")))
EDIT(guardrail_string, sx_json_set_path(j, "options.guardrail", cJSON_CreateString("yes")))
EDIT(host_networking_missing, sx_json_remove_path(j, "network.host_networking"))

static void test_from_json_rejects(void **state)
{
	expect_refused(version2, "version");
	expect_refused(version_missing, "version");
	expect_refused(version_string, "version");
	expect_refused(name_bad, "name");
	expect_refused(name_missing, "name");
	expect_refused(host_ip_bad, "network.host_ip");
	expect_refused(sandbox_ip_bad, "network.sandbox_ip");
	expect_refused(sandbox_ip_number, "network.sandbox_ip");
	expect_refused(health_missing, "ports.health");
	expect_refused(openclaw_port_zero, "ports.openclaw");
	expect_refused(llm_port_big, "ports.llm_proxy");
	expect_refused(egress_port_string, "ports.egress_proxy");
	expect_refused(oc_config_missing, "paths.openclaw_config");
	expect_refused(journal_number, "paths.journal");
	expect_refused(users_missing, "users.sandbox");
	expect_refused(dns_mode_bad, "dns.mode");
	expect_refused(dns_server_bad, "dns.servers");
	expect_refused(guardrail_string, "options.guardrail");
	expect_refused(host_networking_missing, "network.host_networking");
}

static void test_same_identity(void **state)
{
	_cleanup_config_ struct sx_config *a = make_config(), *b = make_config();
	const char *what = NULL;

	assert_true(sx_config_same_identity(a, b, &what));

	/* policy and DNS may change in place */
	set(&b->policy, "permissive");
	b->dns_mode = SX_DNS_NONE;
	set(&b->dns_requested, "none");
	b->guardrail = false;
	assert_true(sx_config_same_identity(a, b, &what));

	strcpy(b->host_ip, "10.200.0.9");
	assert_false(sx_config_same_identity(a, b, &what));
	assert_string_equal(what, "--host-ip/--sandbox-ip");
	strcpy(b->host_ip, a->host_ip);

	strcpy(b->sandbox_ip, "10.200.0.10");
	what = NULL;
	assert_false(sx_config_same_identity(a, b, &what));
	assert_string_equal(what, "--host-ip/--sandbox-ip");
	strcpy(b->sandbox_ip, a->sandbox_ip);

	set(&b->user, "someone");
	what = NULL;
	assert_false(sx_config_same_identity(a, b, &what));
	assert_string_equal(what, "--user");
	set(&b->user, a->user);

	set(&b->home, "/srv/elsewhere");
	what = NULL;
	assert_false(sx_config_same_identity(a, b, &what));
	assert_string_equal(what, "--sandbox-home");
	set(&b->home, a->home);

	b->openclaw_port = 1234;
	what = NULL;
	assert_false(sx_config_same_identity(a, b, &what));
	assert_string_equal(what, "--openclaw-port");
	b->openclaw_port = a->openclaw_port;

	assert_true(sx_config_same_identity(a, b, &what));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_paths),	  cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_load_path),	  cmocka_unit_test(test_from_json_rejects),
	    cmocka_unit_test(test_same_identity),
	};

	return cmocka_run_group_tests_name("config", tests, group_setup, group_teardown);
}
