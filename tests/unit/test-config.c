/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-config.c - config.json to struct and back (src/lib/config.c).
 */
#include "testutil.h"

#include "lib/config.h"
#include "lib/strv.h"

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
    SF(token_path),
    SF(ca_file),
    SF(bridge_bind),
    SF(relay_socket),
    SF(bridge_dir),
    SF(device_key),
};

/* Two string lists, NULL and empty told apart. */
static void assert_same_strv(const char *what, char *const *a, char *const *b)
{
	if (!a != !b)
		fail_msg("%s: one list is NULL, the other is not", what);
	assert_int_equal(sx_strv_length(a), sx_strv_length(b));
	for (size_t i = 0; i < sx_strv_length(a); i++)
		assert_string_equal(a[i], b[i]);
}

static const char *str_field(const struct sx_config *c, size_t i)
{
	return *(char *const *)((const char *)c + str_fields[i].off);
}

static void assert_same_provider(const struct sx_provider *a, const struct sx_provider *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->api, b->api);
	assert_string_equal(a->base_url, b->base_url);
	assert_string_equal(a->key_env, b->key_env);
	if (!streq_ptr(a->default_model, b->default_model))
		fail_msg("%s: default_model %s != %s", a->name,
			 a->default_model ? a->default_model : "(null)",
			 b->default_model ? b->default_model : "(null)");
	assert_int_equal(sx_strv_length(a->models), sx_strv_length(b->models));
	for (size_t i = 0; i < sx_strv_length(a->models); i++)
		assert_string_equal(a->models[i], b->models[i]);
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
	assert_int_equal(a->rotate_mins, b->rotate_mins);
	assert_int_equal(a->n_providers, b->n_providers);
	for (size_t i = 0; i < a->n_providers; i++)
		assert_same_provider(&a->providers[i], &b->providers[i]);
	assert_int_equal(a->bridge_port, b->bridge_port);
	assert_same_strv("bridge_origins", a->bridge_origins, b->bridge_origins);
	assert_same_strv("bridge_names", a->bridge_names, b->bridge_names);
}

static void set(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	assert_non_null(*field);
}

/* Adds a provider (models: NULL-terminated) through sx_config_set_provider(). */
static void add_provider(struct sx_config *c, const char *name, const char *api, const char *url,
			 const char *key, const char *def, const char **models)
{
	struct sx_provider p = {.name = (char *)name,
				.api = (char *)api,
				.base_url = (char *)url,
				.key_env = (char *)key,
				.models = (char **)models,
				.default_model = (char *)def};

	assert_int_equal(sx_config_set_provider(c, &p), 0);
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
	set(&c->token_path, "/etc/sentrix/elsewhere/gateway.token");
	set(&c->ca_file, "/etc/ssl/corp-ca.pem");
	c->rotate_mins = 30;
	add_provider(c, "openai", "openai-completions", "https://api.openai.com/v1", "OPENAI_API_KEY",
		     "gpt-5", (const char *[]){"gpt-4.1", "gpt-5", NULL});
	add_provider(c, "my-llm_2", "anthropic-messages", "http://10.0.0.9:8080", "MY_KEY", NULL,
		     (const char *[]){NULL});
	set(&c->bridge_bind, "192.0.2.7");
	c->bridge_port = 9002;
	c->bridge_origins = calloc(1, sizeof(char *));
	assert_int_equal(sx_strv_push(&c->bridge_origins, "https://chat.example.com"), 0);
	assert_int_equal(sx_strv_push(&c->bridge_origins, "http://localhost:3000/"), 0);
	c->bridge_names = calloc(1, sizeof(char *));
	assert_int_equal(sx_strv_push(&c->bridge_names, "box.example.com"), 0);
	assert_int_equal(sx_strv_push(&c->bridge_names, "192.0.2.7"), 0);
	set(&c->device_key, "/etc/sentrix/elsewhere/device.key");
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
	assert_string_equal(c->token_path, "/etc/sentrix/sxt1/gateway.token");
	assert_string_equal(c->device_key, "/etc/sentrix/sxt1/device.key");
	assert_string_equal(c->bridge_dir, "/var/lib/sentrix/bridge.d/sxt1");
	assert_string_equal(c->relay_socket, "/run/sentrix/sxt1/openclaw.sock");
	assert_string_equal(c->bridge_bind, "127.0.0.1");
	assert_int_equal(c->bridge_port, 0);
	assert_int_equal(c->rotate_mins, SX_ROTATE_MINS_DEFAULT);
	assert_null(c->ca_file);
	assert_int_equal(c->n_providers, 0);
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
	assert_true(f->bridge_recorded);

	/* no bridge, the built-in origins (null), no extra names */
	c->bridge_port = 0;
	sx_strv_free(c->bridge_origins);
	c->bridge_origins = NULL;
	sx_strv_free(c->bridge_names);
	c->bridge_names = calloc(1, sizeof(char *));
	_cleanup_config_ struct sx_config *g = round_trip(c);
	assert_same_config(c, g);
	assert_null(g->bridge_origins);
	assert_true(g->bridge_recorded);
	c->bridge_port = 65535;
	_cleanup_config_ struct sx_config *h = round_trip(c);
	assert_int_equal(h->bridge_port, 65535);
}

/* config.json's "bridge": the trust port is written for the gateway's
 * readers; a config.json from before the bridge loads with none, and
 * says so (setup then picks the defaults). */
static void test_bridge_section(void **state)
{
	_cleanup_config_ struct sx_config *c = make_config(), *d = NULL, *e = NULL;
	_cleanup_cjson_ cJSON *j = sx_config_to_json(c);
	char *why = NULL;

	assert_int_equal((int)cJSON_GetNumberValue(sx_json_get_path(j, "bridge.trust_port")), 9001);
	assert_string_equal(cJSON_GetStringValue(sx_json_get_path(j, "bridge.bind")), "192.0.2.7");
	assert_string_equal(cJSON_GetStringValue(sx_json_get_path(j, "paths.bridge_dir")),
			    "/var/lib/sentrix/bridge.d/ci1");
	sx_json_remove_path(j, "bridge");
	sx_json_remove_path(j, "paths.device_key");
	sx_json_remove_path(j, "paths.bridge_dir");
	assert_int_equal(sx_config_from_json(j, &d, &why), 0);
	assert_false(d->bridge_recorded);
	assert_int_equal(d->bridge_port, 0);
	assert_string_equal(d->bridge_bind, "127.0.0.1");
	assert_null(d->bridge_origins);
	assert_string_equal(d->device_key, "/etc/sentrix/ci1/device.key");
	assert_string_equal(d->bridge_dir, "/var/lib/sentrix/bridge.d/ci1");

	/* what setup re-runs carry over */
	e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(sx_config_init_paths(e, "ci1"), 0);
	assert_int_equal(sx_config_copy_bridge(e, c), 0);
	assert_int_equal(e->bridge_port, 9002);
	assert_string_equal(e->bridge_bind, "192.0.2.7");
	assert_same_strv("origins", e->bridge_origins, c->bridge_origins);
	assert_same_strv("names", e->bridge_names, c->bridge_names);
}

static void test_load_path(void **state)
{
	_cleanup_config_ struct sx_config *c = make_config(), *d = NULL;
	_cleanup_cjson_ cJSON *j = sx_config_to_json(c);
	_cleanup_free_ char *path = tmp_path("config.json"), *why = NULL;
	struct sx_config *bad = NULL;

	write_json(path, j);
	assert_int_equal(sx_config_load_path(path, &d, &why), 0);
	assert_same_config(c, d);

	/* errors name the file and the field */
	write_text(path, "{\"version\": 1, \"name\": \"ci1\"}\n");
	assert_int_equal(sx_config_load_path(path, &bad, &why), -EINVAL);
	assert_null(bad);
	assert_contains(why, path);
	assert_contains(why, "policy");
	free(why);
	why = NULL;

	assert_int_equal(unlink(path), 0);
	assert_int_equal(sx_config_load_path(path, &bad, &why), -ENOENT);
	assert_null(bad);
}

/* Each case breaks the full serialised config at path, setting it to the
 * JSON value (NULL: removing it), and from_json must refuse it with a why
 * containing part. */
static void test_from_json_rejects(void **state)
{
	static const struct {
		const char *path, *value, *part;
	} cases[] = {
	    {"version", "2", "version"},
	    {"version", NULL, "version"},
	    {"version", "\"1\"", "version"},
	    {"name", "\"Bad_Name\"", "name"},
	    {"name", NULL, "name"},
	    {"network.host_ip", "\"10.200.0\"", "network.host_ip"},
	    {"network.sandbox_ip", "\"10.200.0.600\"", "network.sandbox_ip"},
	    {"network.sandbox_ip", "1", "network.sandbox_ip"},
	    {"ports.health", NULL, "ports.health"},
	    {"ports.openclaw", "0", "ports.openclaw"},
	    {"ports.llm_proxy", "70000", "ports.llm_proxy"},
	    {"ports.egress_proxy", "\"18791\"", "ports.egress_proxy"},
	    {"paths.openclaw_config", NULL, "paths.openclaw_config"},
	    {"paths.journal", "5", "paths.journal"},
	    {"users", NULL, "users.sandbox"},
	    {"dns.mode", "\"google\"", "dns.mode"},
	    {"dns.servers", "[\"1.1.1.1\", \"9.9.9.9\", \"x\"]", "dns.servers"},
	    {"options.guardrail", "\"yes\"", "options.guardrail"},
	    {"network.host_networking", NULL, "network.host_networking"},
	    {"gateway", "[]", "gateway"},
	    {"gateway.token_path", "\"gateway.token\"", "gateway.token_path"},
	    {"gateway.token_path", "1", "gateway.token_path"},
	    {"gateway.rotate_mins", "0", "gateway.rotate_mins"},
	    {"gateway.rotate_mins", "1.5", "gateway.rotate_mins"},
	    {"gateway.rotate_mins", "\"10\"", "gateway.rotate_mins"},
	    {"gateway.rotate_mins", "10081", "gateway.rotate_mins"},
	    {"gateway.ca_file", "\"ca.pem\"", "gateway.ca_file"},
	    {"gateway.ca_file", "false", "gateway.ca_file"},
	    {"gateway.providers", "{}", "gateway.providers"},
	    {"gateway.providers", "[1]", "gateway.providers[0]"},
	    {"gateway.providers", "[{\"api\": \"openai-completions\"}]", "gateway.providers[0].name"},
	    {"bridge", "[]", "bridge"},
	    {"bridge.port", "1", "bridge.port"},
	    {"bridge.port", "65536", "bridge.port"},
	    {"bridge.port", "-1", "bridge.port"},
	    {"bridge.port", "8766.5", "bridge.port"},
	    {"bridge.port", "\"8766\"", "bridge.port"},
	    {"bridge.bind", "\"localhost\"", "bridge.bind"},
	    {"bridge.bind", "5", "bridge.bind"},
	    {"bridge.origins", "\"https://a.example\"", "bridge.origins"},
	    {"bridge.origins", "[\"https://a.example/path\"]", "bridge.origins"},
	    {"bridge.origins", "[\"ftp://a.example\"]", "bridge.origins"},
	    {"bridge.origins", "[5]", "bridge.origins"},
	    {"bridge.names", "[\"a b\"]", "bridge.names"},
	    {"bridge.names", "[\"\"]", "bridge.names"},
	    {"bridge.names", "{}", "bridge.names"},
	    {"paths.device_key", "\"device.key\"", "paths.device_key"},
	    {"paths.bridge_dir", "7", "paths.bridge_dir"},
	};
	_cleanup_config_ struct sx_config *c = make_config();

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_cjson_ cJSON *j = sx_config_to_json(c);
		const char *value = cases[i].value ? cases[i].value : "(removed)";
		struct sx_config *d = NULL;
		char *why = NULL;
		int r;

		assert_non_null(j);
		if (cases[i].value)
			assert_int_equal(sx_json_set_path(j, cases[i].path, parse(cases[i].value)), 0);
		else
			sx_json_remove_path(j, cases[i].path);
		r = sx_config_from_json(j, &d, &why);
		if (r != -EINVAL) {
			sx_config_free(d);
			tu_fail_free(why, "%s = %s: from_json returned %d, expected -EINVAL", cases[i].path,
				     value, r);
		}
		assert_null(d);
		if (!why || !strstr(why, cases[i].part))
			tu_fail_free(why, "%s = %s: why \"%s\" does not name \"%s\"", cases[i].path, value,
				     why ? why : "(null)", cases[i].part);
		free(why);
	}
}

/* Each case replaces one member of the second provider of make_config()
 * (NULL value: removes it); from_json must refuse with a why naming
 * gateway.providers[1] and part. */
static void test_from_json_rejects_providers(void **state)
{
	static const struct {
		const char *key, *value, *part;
	} cases[] = {
	    {"name", "\"My-LLM\"", ".name"},
	    {"name", "\"-x\"", ".name"},
	    {"name", "\"abcdefghijklmnopqrstuvwxyz0123456\"", ".name"},
	    {"name", "\"openai\"", "listed twice"},
	    {"name", NULL, ".name"},
	    {"api", "\"openai-responses\"", ".api"},
	    {"api", "5", ".api"},
	    {"base_url", "\"ftp://x\"", ".base_url"},
	    {"base_url", "\"https://\"", ".base_url"},
	    {"base_url", "\"https://a b\"", ".base_url"},
	    {"key_env", "\"lower\"", ".key_env"},
	    {"key_env", "\"1X\"", ".key_env"},
	    {"key_env", NULL, ".key_env"},
	    {"models", "\"m\"", ".models"},
	    {"models", "[\"a b\"]", ".models"},
	    {"models", "[5]", ".models"},
	    {"default_model", "\"absent-model\"", ".default_model"},
	    {"default_model", "7", ".default_model"},
	};
	_cleanup_config_ struct sx_config *c = make_config();

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_cjson_ cJSON *j = sx_config_to_json(c);
		cJSON *p = cJSON_GetArrayItem(sx_json_get_path(j, "gateway.providers"), 1);
		struct sx_config *d = NULL;
		char *why = NULL;
		int r;

		assert_non_null(p);
		if (cases[i].value)
			cJSON_ReplaceItemInObject(p, cases[i].key, parse(cases[i].value));
		else
			cJSON_DeleteItemFromObject(p, cases[i].key);
		r = sx_config_from_json(j, &d, &why);
		if (r != -EINVAL) {
			sx_config_free(d);
			tu_fail_free(why, "%s = %s: from_json returned %d", cases[i].key,
				     cases[i].value ? cases[i].value : "(removed)", r);
		}
		if (!why || !strstr(why, "gateway.providers[1]") || !strstr(why, cases[i].part))
			tu_fail_free(why, "%s = %s: why \"%s\" does not name the provider and \"%s\"",
				     cases[i].key, cases[i].value ? cases[i].value : "(removed)",
				     why ? why : "(null)", cases[i].part);
		free(why);
	}
}

/* A config.json written before "gateway" existed loads with the defaults;
 * so do a "gateway" object with members missing and a provider without
 * models or default_model. */
static void test_gateway_defaults(void **state)
{
	_cleanup_config_ struct sx_config *c = make_config(), *d = NULL, *e = NULL;
	_cleanup_cjson_ cJSON *j = sx_config_to_json(c);
	char *why = NULL;

	sx_json_remove_path(j, "gateway");
	assert_int_equal(sx_config_from_json(j, &d, &why), 0);
	assert_string_equal(d->token_path, "/etc/sentrix/ci1/gateway.token");
	assert_int_equal(d->rotate_mins, 10);
	assert_null(d->ca_file);
	assert_int_equal(d->n_providers, 0);
	assert_null(sx_config_provider(d, "openai"));
	/* and it writes the defaults back out */
	_cleanup_config_ struct sx_config *f = round_trip(d);
	assert_same_config(d, f);

	assert_int_equal(
	    sx_json_set_path(j, "gateway",
			     parse("{\"providers\": [{\"name\": \"p\", \"api\": "
				   "\"anthropic-messages\", \"base_url\": \"http://h\", \"key_env\": "
				   "\"P_API_KEY\"}]}")),
	    0);
	assert_int_equal(sx_config_from_json(j, &e, &why), 0);
	assert_int_equal(e->rotate_mins, 10);
	assert_int_equal(e->n_providers, 1);
	assert_non_null(e->providers[0].models);
	assert_null(e->providers[0].models[0]);
	assert_null(e->providers[0].default_model);
	assert_ptr_equal(sx_config_provider(e, "p"), &e->providers[0]);
}

static void test_provider_set_remove(void **state)
{
	_cleanup_config_ struct sx_config *c = make_config(), *d = calloc(1, sizeof(*d));
	const struct sx_provider *p;

	/* replaced in place: the order stays */
	add_provider(c, "openai", "anthropic-messages", "https://proxy.example", "OTHER", NULL,
		     (const char *[]){"m", NULL});
	assert_int_equal(c->n_providers, 2);
	p = sx_config_provider(c, "openai");
	assert_ptr_equal(p, &c->providers[0]);
	assert_string_equal(p->api, "anthropic-messages");
	assert_string_equal(p->key_env, "OTHER");
	assert_null(p->default_model);
	assert_int_equal(sx_strv_length(p->models), 1);
	/* a new name is appended */
	add_provider(c, "third", "openai-completions", "http://h", "T", NULL, (const char *[]){NULL});
	assert_int_equal(c->n_providers, 3);
	assert_string_equal(c->providers[2].name, "third");

	assert_int_equal(sx_config_remove_provider(c, "my-llm_2"), 1);
	assert_int_equal(c->n_providers, 2);
	assert_string_equal(c->providers[0].name, "openai");
	assert_string_equal(c->providers[1].name, "third");
	assert_int_equal(sx_config_remove_provider(c, "my-llm_2"), 0);
	assert_null(sx_config_provider(c, "my-llm_2"));

	/* what setup re-runs carry over */
	assert_non_null(d);
	assert_int_equal(sx_config_init_paths(d, "ci1"), 0);
	assert_int_equal(sx_config_copy_gateway(d, c), 0);
	assert_int_equal(d->rotate_mins, 30);
	assert_string_equal(d->ca_file, "/etc/ssl/corp-ca.pem");
	assert_int_equal(d->n_providers, 2);
	assert_same_provider(&d->providers[0], &c->providers[0]);
	assert_same_provider(&d->providers[1], &c->providers[1]);
	assert_string_equal(d->token_path, "/etc/sentrix/ci1/gateway.token");
}

static void test_validators(void **state)
{
	static const struct {
		const char *url;
		bool ok;
	} urls[] = {
	    {"https://api.openai.com/v1", true},
	    {"http://10.0.0.1:8080", true},
	    {"https://h/", true},
	    {"http://[::1]:8080/v1", true},
	    {"https://h:1/x?y=z", true},
	    {"HTTPS://h", false},
	    {"ftp://h", false},
	    {"https://", false},
	    {"https:///v1", false},
	    {"https://:80/", false},
	    {"https://u:p@h/", false},
	    {"https://h:0/", false},
	    {"https://h:65536/", false},
	    {"https://h:/", false},
	    {"https://h:8o/", false},
	    {"https://h/a b", false},
	    {"https://h/\n", false},
	    {"api.openai.com", false},
	    {"http://[]/", false},
	    {"http://[::1/", false},
	    {"http://[::1]x/", false},
	    {"http://[::1]:99999/", false},
	};
	const char *why;
	char *k;

	for (size_t i = 0; i < ELEMENTSOF(urls); i++)
		if (sx_url_valid(urls[i].url, &why) != urls[i].ok)
			fail_msg("%s: expected %s (%s)", urls[i].url, urls[i].ok ? "valid" : "invalid",
				 why ? why : "");
	assert_true(sx_provider_name_valid("openai"));
	assert_true(sx_provider_name_valid("0"));
	assert_true(sx_provider_name_valid("a_b-c"));
	assert_true(sx_provider_name_valid("abcdefghijklmnopqrstuvwxyz012345"));
	assert_false(sx_provider_name_valid("abcdefghijklmnopqrstuvwxyz0123456"));
	assert_false(sx_provider_name_valid(""));
	assert_false(sx_provider_name_valid("_a"));
	assert_false(sx_provider_name_valid("-a"));
	assert_false(sx_provider_name_valid("Open"));
	assert_false(sx_provider_name_valid("a.b"));
	assert_false(sx_provider_name_valid("a/b"));
	assert_true(sx_provider_api_valid("openai-completions"));
	assert_true(sx_provider_api_valid("anthropic-messages"));
	assert_false(sx_provider_api_valid("openai-responses"));
	assert_false(sx_provider_api_valid(NULL));
	assert_true(sx_env_name_valid("OPENAI_API_KEY"));
	assert_true(sx_env_name_valid("_X1"));
	assert_false(sx_env_name_valid("1X"));
	assert_false(sx_env_name_valid("lower"));
	assert_false(sx_env_name_valid("A-B"));
	assert_false(sx_env_name_valid(""));
	assert_true(sx_model_id_valid("gpt-4.1"));
	assert_true(sx_model_id_valid("openai/gpt-4o:free"));
	assert_false(sx_model_id_valid(""));
	assert_false(sx_model_id_valid("a b"));
	assert_false(sx_model_id_valid("a\tb"));
	k = sx_provider_default_key_env("my-llm_2");
	assert_string_equal(k, "MY_LLM_2_API_KEY");
	free(k);
	k = sx_provider_default_key_env("openai");
	assert_string_equal(k, "OPENAI_API_KEY");
	free(k);

	static const struct {
		const char *s;
		bool ok;
	} origins[] = {
	    {"https://openclaw-sentrix.vercel.app", true},
	    {"http://localhost:3000", true},
	    {"https://localhost:3000/", true},
	    {"http://127.0.0.1:8080", true},
	    {"http://[::1]:3000", true},
	    {"https://a-b.example.COM", true},
	    {"https://localhost:3000//", false},
	    {"https://localhost:3000/x", false},
	    {"https://h?x", false},
	    {"https://h#x", false},
	    {"https://u@h", false},
	    {"https://h:0", false},
	    {"https://h:65536", false},
	    {"https://h:", false},
	    {"https://", false},
	    {"https://-h.example", false},
	    {"https://h..example", false},
	    {"https://10.0.0", false},
	    {"https://[]", false},
	    {"https://[::1", false},
	    {"ws://h", false},
	    {"HTTPS://h", false},
	    {"h.example", false},
	    {"", false},
	};
	for (size_t i = 0; i < ELEMENTSOF(origins); i++)
		if (sx_bridge_origin_valid(origins[i].s) != origins[i].ok)
			fail_msg("origin %s: expected %s", origins[i].s, origins[i].ok ? "valid" : "invalid");
	assert_true(sx_bridge_name_valid("localhost"));
	assert_true(sx_bridge_name_valid("box.example.com"));
	assert_true(sx_bridge_name_valid("192.0.2.7"));
	assert_true(sx_bridge_name_valid("a-1.b"));
	assert_false(sx_bridge_name_valid(""));
	assert_false(sx_bridge_name_valid("a b"));
	assert_false(sx_bridge_name_valid("*.example.com"));
	assert_false(sx_bridge_name_valid("a..b"));
	assert_false(sx_bridge_name_valid("-a.b"));
	assert_false(sx_bridge_name_valid("a-.b"));
	assert_false(sx_bridge_name_valid("a.b."));
	assert_false(sx_bridge_name_valid("10.0.0"));
	assert_false(sx_bridge_name_valid("300.1.1.1"));
	assert_false(sx_bridge_name_valid("a_b"));
	assert_false(sx_bridge_name_valid(NULL));
}

/* Asserts a and b differ in identity and what names the option. */
static void expect_other_identity(const struct sx_config *a, const struct sx_config *b, const char *option)
{
	const char *what = NULL;

	assert_false(sx_config_same_identity(a, b, &what));
	assert_string_equal(what, option);
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
	expect_other_identity(a, b, "--host-ip/--sandbox-ip");
	strcpy(b->host_ip, a->host_ip);

	strcpy(b->sandbox_ip, "10.200.0.10");
	expect_other_identity(a, b, "--host-ip/--sandbox-ip");
	strcpy(b->sandbox_ip, a->sandbox_ip);

	set(&b->user, "someone");
	expect_other_identity(a, b, "--user");
	set(&b->user, a->user);

	set(&b->home, "/srv/elsewhere");
	expect_other_identity(a, b, "--sandbox-home");
	set(&b->home, a->home);

	b->openclaw_port = 1234;
	expect_other_identity(a, b, "--openclaw-port");
	b->openclaw_port = a->openclaw_port;

	assert_true(sx_config_same_identity(a, b, &what));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_paths),	     cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_load_path),	     cmocka_unit_test(test_from_json_rejects),
	    cmocka_unit_test(test_same_identity),    cmocka_unit_test(test_from_json_rejects_providers),
	    cmocka_unit_test(test_gateway_defaults), cmocka_unit_test(test_provider_set_remove),
	    cmocka_unit_test(test_validators),	     cmocka_unit_test(test_bridge_section),
	};

	return cmocka_run_group_tests_name("config", tests, tu_group_setup, tu_group_teardown);
}
