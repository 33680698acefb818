/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * config.c - config.json to struct and back.  The JSON layout is part of the
 * interface contract and documented in README.md ("config.json").
 */
#include "config.h"
#include "jsonutil.h"
#include "netaddr.h"
#include "paths.h"
#include "strv.h"
#include "util.h"

void sx_config_free(struct sx_config *c)
{
	if (!c)
		return;
	char **strs[] = {&c->name,	     &c->policy,       &c->host_ifname,	   &c->sandbox_ifname,
			 &c->netns,	     &c->netns_path,   &c->nft_host_table, &c->nft_sandbox_table,
			 &c->dns_requested,  &c->user,	       &c->home,	   &c->gateway_user,
			 &c->etc_dir,	     &c->config_path,  &c->policy_dir,	   &c->secrets_path,
			 &c->state_dir,	     &c->journal_path, &c->log_dir,	   &c->resolv_conf,
			 &c->openclaw_config};
	for (size_t i = 0; i < ELEMENTSOF(strs); i++)
		free(*strs[i]);
	sx_strv_free(c->dns_servers);
	free(c);
}

#define SET(field, ...)                                                                                      \
	do {                                                                                                 \
		free(c->field);                                                                              \
		if (!(c->field = sx_strdupf(__VA_ARGS__)))                                                   \
			return -ENOMEM;                                                                      \
	} while (0)

int sx_config_init_paths(struct sx_config *c, const char *instance)
{
	/* instance may be c->name itself, which SET() frees: copy it first. */
	_cleanup_free_ char *name = strdup(instance);

	if (!name)
		return -ENOMEM;
	SET(name, "%s", name);
	SET(host_ifname, "sx-%s", name);
	SET(sandbox_ifname, "eth0");
	SET(netns, "%s", name);
	SET(netns_path, SX_NETNS_DIR "/%s", name);
	SET(nft_host_table, "sentrix_%s", name);
	SET(nft_sandbox_table, "sentrix");
	SET(gateway_user, SX_GATEWAY_USER);
	SET(etc_dir, SX_ETC_DIR "/%s", name);
	SET(config_path, SX_ETC_DIR "/%s/config.json", name);
	SET(policy_dir, SX_ETC_DIR "/%s/policy", name);
	SET(secrets_path, SX_ETC_DIR "/%s/secrets.env", name);
	SET(state_dir, SX_STATE_DIR "/%s", name);
	SET(journal_path, SX_STATE_DIR "/%s/journal.db", name);
	SET(log_dir, SX_LOG_DIR "/%s", name);
	SET(resolv_conf, SX_NETNS_ETC_DIR "/%s/resolv.conf", name);
	c->prefix_len = SX_PREFIX_LEN;
	return 0;
}

static cJSON *strv_to_json(char *const *v)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && v && v[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

cJSON *sx_config_to_json(const struct sx_config *c)
{
	cJSON *j = cJSON_CreateObject(), *o;

	if (!j)
		return NULL;
	cJSON_AddNumberToObject(j, "version", SX_CONFIG_VERSION);
	cJSON_AddStringToObject(j, "name", c->name);
	cJSON_AddStringToObject(j, "policy", c->policy);

	o = cJSON_AddObjectToObject(j, "network");
	cJSON_AddStringToObject(o, "host_ip", c->host_ip);
	cJSON_AddStringToObject(o, "sandbox_ip", c->sandbox_ip);
	cJSON_AddNumberToObject(o, "prefix_len", c->prefix_len);
	cJSON_AddStringToObject(o, "host_interface", c->host_ifname);
	cJSON_AddStringToObject(o, "sandbox_interface", c->sandbox_ifname);
	cJSON_AddStringToObject(o, "netns", c->netns);
	cJSON_AddStringToObject(o, "netns_path", c->netns_path);
	cJSON_AddStringToObject(o, "nft_host_table", c->nft_host_table);
	cJSON_AddStringToObject(o, "nft_sandbox_table", c->nft_sandbox_table);
	cJSON_AddBoolToObject(o, "host_networking", c->host_networking);

	o = cJSON_AddObjectToObject(j, "ports");
	cJSON_AddNumberToObject(o, "openclaw", c->openclaw_port);
	cJSON_AddNumberToObject(o, "llm_proxy", c->llm_port);
	cJSON_AddNumberToObject(o, "egress_proxy", c->egress_port);
	cJSON_AddNumberToObject(o, "health", c->health_port);

	o = cJSON_AddObjectToObject(j, "dns");
	cJSON_AddStringToObject(o, "requested", c->dns_requested);
	cJSON_AddStringToObject(o, "mode", sx_dns_mode_name(c->dns_mode));
	cJSON_AddItemToObject(o, "servers", strv_to_json(c->dns_servers));

	o = cJSON_AddObjectToObject(j, "users");
	cJSON_AddStringToObject(o, "sandbox", c->user);
	cJSON_AddStringToObject(o, "sandbox_home", c->home);
	cJSON_AddStringToObject(o, "gateway", c->gateway_user);

	o = cJSON_AddObjectToObject(j, "options");
	cJSON_AddBoolToObject(o, "auto_pair", c->auto_pair);
	cJSON_AddBoolToObject(o, "guardrail", c->guardrail);

	o = cJSON_AddObjectToObject(j, "paths");
	cJSON_AddStringToObject(o, "etc_dir", c->etc_dir);
	cJSON_AddStringToObject(o, "config", c->config_path);
	cJSON_AddStringToObject(o, "policy_dir", c->policy_dir);
	cJSON_AddStringToObject(o, "secrets", c->secrets_path);
	cJSON_AddStringToObject(o, "state_dir", c->state_dir);
	cJSON_AddStringToObject(o, "journal", c->journal_path);
	cJSON_AddStringToObject(o, "log_dir", c->log_dir);
	cJSON_AddStringToObject(o, "resolv_conf", c->resolv_conf);
	cJSON_AddStringToObject(o, "openclaw_config", c->openclaw_config);
	return j;
}

/* Reads "section.key" as a string into *dst; missing or mistyped is an error. */
static int take_str(const cJSON *j, const char *path, char **dst, char **why)
{
	const cJSON *v = sx_json_get_path(j, path);

	if (!cJSON_IsString(v)) {
		*why = sx_strdupf("%s: missing or not a string", path);
		return -EINVAL;
	}
	free(*dst);
	*dst = strdup(v->valuestring);
	return *dst ? 0 : -ENOMEM;
}

static int take_port(const cJSON *j, const char *path, unsigned *dst, char **why)
{
	const cJSON *v = sx_json_get_path(j, path);

	if (!cJSON_IsNumber(v) || v->valueint < 1 || v->valueint > 65535) {
		*why = sx_strdupf("%s: missing or not a port number", path);
		return -EINVAL;
	}
	*dst = (unsigned)v->valueint;
	return 0;
}

static int take_bool(const cJSON *j, const char *path, bool *dst, char **why)
{
	const cJSON *v = sx_json_get_path(j, path);

	if (!cJSON_IsBool(v)) {
		*why = sx_strdupf("%s: missing or not a boolean", path);
		return -EINVAL;
	}
	*dst = cJSON_IsTrue(v);
	return 0;
}

static int take_ip(const cJSON *j, const char *path, char dst[16], char **why)
{
	const cJSON *v = sx_json_get_path(j, path);
	uint32_t a;

	if (!cJSON_IsString(v) || sx_ipv4_parse(v->valuestring, &a) < 0) {
		*why = sx_strdupf("%s: missing or not an IPv4 address", path);
		return -EINVAL;
	}
	sx_ipv4_format(a, dst);
	return 0;
}

int sx_config_from_json(const cJSON *j, struct sx_config **ret, char **why)
{
	_cleanup_config_ struct sx_config *c = calloc(1, sizeof(*c));
	_cleanup_free_ char *mode = NULL;
	const cJSON *servers, *it;
	int r = 0;

	*why = NULL;
	if (!c)
		return -ENOMEM;
	if (!cJSON_IsNumber(cJSON_GetObjectItem(j, "version")) ||
	    cJSON_GetObjectItem(j, "version")->valueint != SX_CONFIG_VERSION) {
		*why = strdup("version: not a sentrix config.json of version 1");
		return -EINVAL;
	}
	if ((r = take_str(j, "name", &c->name, why)) < 0)
		return r;
	if (!sx_name_valid(c->name)) {
		*why = strdup("name: not a valid instance name");
		return -EINVAL;
	}
	if ((r = sx_config_init_paths(c, c->name)) < 0)
		return r;
	/* Recorded names win over derived ones: read every one back. */
	if ((r = take_str(j, "policy", &c->policy, why)) < 0 ||
	    (r = take_ip(j, "network.host_ip", c->host_ip, why)) < 0 ||
	    (r = take_ip(j, "network.sandbox_ip", c->sandbox_ip, why)) < 0 ||
	    (r = take_str(j, "network.host_interface", &c->host_ifname, why)) < 0 ||
	    (r = take_str(j, "network.sandbox_interface", &c->sandbox_ifname, why)) < 0 ||
	    (r = take_str(j, "network.netns", &c->netns, why)) < 0 ||
	    (r = take_str(j, "network.netns_path", &c->netns_path, why)) < 0 ||
	    (r = take_str(j, "network.nft_host_table", &c->nft_host_table, why)) < 0 ||
	    (r = take_str(j, "network.nft_sandbox_table", &c->nft_sandbox_table, why)) < 0 ||
	    (r = take_bool(j, "network.host_networking", &c->host_networking, why)) < 0 ||
	    (r = take_port(j, "ports.openclaw", &c->openclaw_port, why)) < 0 ||
	    (r = take_port(j, "ports.llm_proxy", &c->llm_port, why)) < 0 ||
	    (r = take_port(j, "ports.egress_proxy", &c->egress_port, why)) < 0 ||
	    (r = take_port(j, "ports.health", &c->health_port, why)) < 0 ||
	    (r = take_str(j, "dns.requested", &c->dns_requested, why)) < 0 ||
	    (r = take_str(j, "dns.mode", &mode, why)) < 0 ||
	    (r = take_str(j, "users.sandbox", &c->user, why)) < 0 ||
	    (r = take_str(j, "users.sandbox_home", &c->home, why)) < 0 ||
	    (r = take_str(j, "users.gateway", &c->gateway_user, why)) < 0 ||
	    (r = take_bool(j, "options.auto_pair", &c->auto_pair, why)) < 0 ||
	    (r = take_bool(j, "options.guardrail", &c->guardrail, why)) < 0 ||
	    (r = take_str(j, "paths.etc_dir", &c->etc_dir, why)) < 0 ||
	    (r = take_str(j, "paths.config", &c->config_path, why)) < 0 ||
	    (r = take_str(j, "paths.policy_dir", &c->policy_dir, why)) < 0 ||
	    (r = take_str(j, "paths.secrets", &c->secrets_path, why)) < 0 ||
	    (r = take_str(j, "paths.state_dir", &c->state_dir, why)) < 0 ||
	    (r = take_str(j, "paths.journal", &c->journal_path, why)) < 0 ||
	    (r = take_str(j, "paths.log_dir", &c->log_dir, why)) < 0 ||
	    (r = take_str(j, "paths.resolv_conf", &c->resolv_conf, why)) < 0 ||
	    (r = take_str(j, "paths.openclaw_config", &c->openclaw_config, why)) < 0)
		return r;
	if (cJSON_IsNumber(sx_json_get_path(j, "network.prefix_len")) &&
	    sx_json_get_path(j, "network.prefix_len")->valueint != SX_PREFIX_LEN) {
		*why = strdup("network.prefix_len: only 30 is supported");
		return -EINVAL;
	}
	if (sx_dns_mode_from_name(mode, &c->dns_mode) < 0) {
		*why = strdup("dns.mode: not none, host or servers");
		return -EINVAL;
	}
	c->dns_servers = calloc(1, sizeof(char *));
	if (!c->dns_servers)
		return -ENOMEM;
	servers = sx_json_get_path(j, "dns.servers");
	cJSON_ArrayForEach(it, servers)
	{
		uint32_t a;
		if (!cJSON_IsString(it) || sx_ipv4_parse(it->valuestring, &a) < 0) {
			*why = strdup("dns.servers: not a list of IPv4 addresses");
			return -EINVAL;
		}
		if (sx_strv_push(&c->dns_servers, it->valuestring) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

int sx_config_load_path(const char *path, struct sx_config **ret, char **why)
{
	_cleanup_cjson_ cJSON *j = NULL;
	int r;

	*why = NULL;
	r = sx_json_load(path, &j, why);
	if (r < 0)
		return r;
	r = sx_config_from_json(j, ret, why);
	if (r < 0 && *why) {
		char *w = sx_strdupf("%s: %s", path, *why);
		free(*why);
		*why = w;
	}
	return r;
}

int sx_config_load(const char *name, struct sx_config **ret, char **why)
{
	_cleanup_free_ char *path = sx_strdupf(SX_ETC_DIR "/%s/config.json", name);

	if (!path)
		return -ENOMEM;
	return sx_config_load_path(path, ret, why);
}

bool sx_config_same_identity(const struct sx_config *a, const struct sx_config *b, const char **what)
{
	if (!streq(a->host_ip, b->host_ip) || !streq(a->sandbox_ip, b->sandbox_ip))
		*what = "--host-ip/--sandbox-ip";
	else if (!streq_ptr(a->user, b->user))
		*what = "--user";
	else if (!streq_ptr(a->home, b->home))
		*what = "--sandbox-home";
	else if (a->openclaw_port != b->openclaw_port)
		*what = "--openclaw-port";
	else
		return true;
	return false;
}
