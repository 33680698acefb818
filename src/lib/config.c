/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * config.c - config.json to struct and back.  The JSON layout is part of the
 * interface contract and documented in README.md ("config.json").
 */
#include <ctype.h>

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
	free(c->token_path);
	free(c->ca_file);
	sx_strv_free(c->resolvers);
	free(c->bridge_bind);
	sx_strv_free(c->bridge_origins);
	sx_strv_free(c->bridge_names);
	free(c->relay_socket);
	free(c->bridge_dir);
	free(c->device_key);
	free(c->police_escalation);
	for (size_t i = 0; i < c->n_providers; i++)
		sx_provider_clear(&c->providers[i]);
	free(c->providers);
	free(c);
}

void sx_provider_clear(struct sx_provider *p)
{
	free(p->name);
	free(p->api);
	free(p->base_url);
	free(p->key_env);
	sx_strv_free(p->models);
	free(p->default_model);
	*p = (struct sx_provider){0};
}

/* strdup() of a string that may be NULL; false only when out of memory. */
static bool dup_opt(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

int sx_provider_copy(struct sx_provider *dst, const struct sx_provider *src)
{
	struct sx_provider p = {0};

	p.models = calloc(1, sizeof(char *));
	if (!p.models || !dup_opt(&p.name, src->name) || !dup_opt(&p.api, src->api) ||
	    !dup_opt(&p.base_url, src->base_url) || !dup_opt(&p.key_env, src->key_env) ||
	    !dup_opt(&p.default_model, src->default_model))
		goto oom;
	for (size_t i = 0; src->models && src->models[i]; i++)
		if (sx_strv_push(&p.models, src->models[i]) < 0)
			goto oom;
	*dst = p;
	return 0;
oom:
	sx_provider_clear(&p);
	return -ENOMEM;
}

const struct sx_provider *sx_config_provider(const struct sx_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_providers; i++)
		if (streq(c->providers[i].name, name))
			return &c->providers[i];
	return NULL;
}

int sx_config_set_provider(struct sx_config *c, const struct sx_provider *p)
{
	struct sx_provider copy, *slot = (struct sx_provider *)sx_config_provider(c, p->name);

	if (sx_provider_copy(&copy, p) < 0)
		return -ENOMEM;
	if (!slot) {
		struct sx_provider *v = realloc(c->providers, (c->n_providers + 1) * sizeof(*v));
		if (!v) {
			sx_provider_clear(&copy);
			return -ENOMEM;
		}
		c->providers = v;
		slot = &v[c->n_providers++];
	} else
		sx_provider_clear(slot);
	*slot = copy;
	return 0;
}

int sx_config_remove_provider(struct sx_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_providers; i++) {
		if (!streq(c->providers[i].name, name))
			continue;
		sx_provider_clear(&c->providers[i]);
		memmove(&c->providers[i], &c->providers[i + 1],
			(c->n_providers - i - 1) * sizeof(*c->providers));
		c->n_providers--;
		return 1;
	}
	return 0;
}

int sx_config_copy_gateway(struct sx_config *dst, const struct sx_config *src)
{
	free(dst->ca_file);
	if (!dup_opt(&dst->ca_file, src->ca_file))
		return -ENOMEM;
	dst->rotate_mins = src->rotate_mins ? src->rotate_mins : SX_ROTATE_MINS_DEFAULT;
	if (src->police_escalation) {
		free(dst->police_escalation);
		if (!(dst->police_escalation = strdup(src->police_escalation)))
			return -ENOMEM;
	}
	sx_strv_free(dst->resolvers);
	dst->resolvers = sx_strv_copy(src->resolvers);
	if (!dst->resolvers)
		return -ENOMEM;
	for (size_t i = 0; i < src->n_providers; i++)
		if (sx_config_set_provider(dst, &src->providers[i]) < 0)
			return -ENOMEM;
	return 0;
}

int sx_config_copy_bridge(struct sx_config *dst, const struct sx_config *src)
{
	free(dst->bridge_bind);
	sx_strv_free(dst->bridge_origins);
	sx_strv_free(dst->bridge_names);
	dst->bridge_port = src->bridge_port;
	dst->bridge_bind = strdup(src->bridge_bind ? src->bridge_bind : "127.0.0.1");
	dst->bridge_origins = src->bridge_origins ? sx_strv_copy(src->bridge_origins) : NULL;
	dst->bridge_names = sx_strv_copy(src->bridge_names);
	if (!dst->bridge_bind || (src->bridge_origins && !dst->bridge_origins) || !dst->bridge_names)
		return -ENOMEM;
	return 0;
}

/* A DNS name: dot-separated labels of 1-63 [A-Za-z0-9-], not starting or
 * ending with "-", at most 253 characters in all. */
static bool dns_name_valid(const char *s, size_t n)
{
	size_t label = 0;

	if (n < 1 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-') ||
		    (ch == '-' && label == 0) || ++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

/* A host name of n bytes: an IPv4 address, or a DNS name whose last label
 * is not all digits (so "10.0.0" is neither). */
static bool host_valid(const char *s, size_t n)
{
	char buf[254];
	size_t last;
	uint32_t a;

	if (n < 1 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (sx_ipv4_parse(buf, &a) == 0)
		return true;
	last = strrchr(buf, '.') ? (size_t)(strrchr(buf, '.') - buf) + 1 : 0;
	return dns_name_valid(buf, n) && strspn(buf + last, "0123456789") != n - last;
}

bool sx_bridge_name_valid(const char *s)
{
	return s && host_valid(s, strlen(s));
}

bool sx_bridge_origin_valid(const char *s)
{
	const char *host, *end, *port = NULL;
	size_t n;

	if (!s || strlen(s) > 253)
		return false;
	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else
		return false;
	if (*host == '[') {
		/* [IPv6]: hex digits, ":" and "." (an embedded IPv4) */
		const char *close = strchr(host, ']');
		if (!close || close == host + 1 ||
		    strspn(host + 1, "0123456789abcdefABCDEF:.") != (size_t)(close - host - 1))
			return false;
		end = close + 1;
	} else {
		end = host + strcspn(host, ":/");
		if (!host_valid(host, (size_t)(end - host)))
			return false;
	}
	if (*end == ':') {
		unsigned v = 0;
		port = end + 1;
		n = strspn(port, "0123456789");
		if (n < 1 || n > 5)
			return false;
		for (size_t i = 0; i < n; i++)
			v = v * 10 + (unsigned)(port[i] - '0');
		if (v < 1 || v > 65535)
			return false;
		end = port + n;
	}
	return *end == 0 || streq(end, "/");
}

bool sx_provider_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 32 || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

bool sx_provider_api_valid(const char *s)
{
	return streq(s, "openai-completions") || streq(s, "anthropic-messages");
}

bool sx_env_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 128 || (*s >= '0' && *s <= '9'))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

bool sx_model_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 200)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* Not a URL parser (the gateway hands the URL to libcurl): a gate that
 * keeps out what cannot be an upstream, and credentials, which belong in
 * secrets.env. */
bool sx_url_valid(const char *url, const char **why)
{
	const char *host, *end, *colon, *after;

	*why = NULL;
	if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		*why = "must start with http:// or https://";
	else if (strlen(url) > 2048)
		*why = "is longer than 2048 characters";
	else {
		for (const char *p = url; *p && !*why; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				*why = "contains a space or a control character";
		host = strstr(url, "://") + 3;
		end = host + strcspn(host, "/?#");
		/* [IPv6]: the port's colon comes after the bracket */
		after = *host == '[' ? memchr(host, ']', (size_t)(end - host)) : host;
		after = after ? after : end;
		colon = memchr(after, ':', (size_t)(end - after));
		if (*why)
			;
		else if (memchr(host, '@', (size_t)(end - host)))
			*why = "carries credentials (user@host): put the key in secrets.env instead";
		else if (host == end || colon == host ||
			 (*host == '[' && (after == end || after == host + 1)) ||
			 (*host == '[' && after + 1 != end && after[1] != ':'))
			*why = "has no host";
		else if (colon &&
			 (colon + 1 == end || strspn(colon + 1, "0123456789") != (size_t)(end - colon - 1) ||
			  strtoul(colon + 1, NULL, 10) < 1 || strtoul(colon + 1, NULL, 10) > 65535 ||
			  end - colon - 1 > 5))
			*why = "has a port that is not a number 1-65535";
	}
	return !*why;
}

char *sx_provider_default_key_env(const char *name)
{
	char *s = sx_strdupf("%s_API_KEY", name);

	for (char *p = s; p && *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	return s;
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
	SET(token_path, SX_ETC_DIR "/%s/gateway.token", name);
	SET(relay_socket, SX_RUN_DIR "/%s/openclaw.sock", name);
	SET(bridge_dir, SX_BRIDGE_DIRS "/%s", name);
	SET(device_key, SX_ETC_DIR "/%s/device.key", name);
	SET(bridge_bind, "127.0.0.1");
	c->prefix_len = SX_PREFIX_LEN;
	if (!c->rotate_mins)
		c->rotate_mins = SX_ROTATE_MINS_DEFAULT;
	if (!c->police_escalation && !(c->police_escalation = strdup(SX_POLICE_ESCALATION_DEFAULT)))
		return -ENOMEM;
	return 0;
}

static cJSON *strv_to_json(char *const *v)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && v && v[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *provider_to_json(const struct sx_provider *p)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "api", p->api);
	cJSON_AddStringToObject(o, "base_url", p->base_url);
	cJSON_AddStringToObject(o, "key_env", p->key_env);
	cJSON_AddItemToObject(o, "models", strv_to_json(p->models));
	cJSON_AddItemToObject(o, "default_model",
			      p->default_model ? cJSON_CreateString(p->default_model) : cJSON_CreateNull());
	return o;
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
	cJSON_AddStringToObject(o, "relay_socket", c->relay_socket);
	cJSON_AddStringToObject(o, "bridge_dir", c->bridge_dir);
	cJSON_AddStringToObject(o, "device_key", c->device_key);

	o = cJSON_AddObjectToObject(j, "bridge");
	cJSON_AddStringToObject(o, "bind", c->bridge_bind);
	cJSON_AddNumberToObject(o, "port", c->bridge_port);
	cJSON_AddNumberToObject(o, "trust_port", c->bridge_port ? c->bridge_port - 1 : 0);
	cJSON_AddItemToObject(o, "origins",
			      c->bridge_origins ? strv_to_json(c->bridge_origins) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "names", strv_to_json(c->bridge_names));

	o = cJSON_AddObjectToObject(j, "gateway");
	cJSON_AddStringToObject(o, "token_path", c->token_path);
	cJSON_AddNumberToObject(o, "rotate_mins", c->rotate_mins);
	cJSON_AddItemToObject(o, "ca_file", c->ca_file ? cJSON_CreateString(c->ca_file) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "resolvers", strv_to_json(c->resolvers));
	o = cJSON_AddArrayToObject(o, "providers");
	for (size_t i = 0; i < c->n_providers; i++)
		cJSON_AddItemToArray(o, provider_to_json(&c->providers[i]));

	o = cJSON_AddObjectToObject(j, "police");
	cJSON_AddStringToObject(o, "escalation",
				c->police_escalation ? c->police_escalation : SX_POLICE_ESCALATION_DEFAULT);
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

/* Reads one entry of gateway.providers (i: its index, for messages). */
static int take_provider(const cJSON *j, size_t i, struct sx_provider *p, char **why)
{
	const cJSON *models = cJSON_GetObjectItem(j, "models"), *dm = cJSON_GetObjectItem(j, "default_model"),
		    *it;
	const char *url_why;
	int r;

#define FAIL(...)                                                                                            \
	do {                                                                                                 \
		*why = sx_strdupf("gateway.providers[%zu]" __VA_ARGS__);                                     \
		return -EINVAL;                                                                              \
	} while (0)
	if (!cJSON_IsObject(j))
		FAIL(": not an object", i);
	if ((r = take_str(j, "name", &p->name, why)) < 0 || (r = take_str(j, "api", &p->api, why)) < 0 ||
	    (r = take_str(j, "base_url", &p->base_url, why)) < 0 ||
	    (r = take_str(j, "key_env", &p->key_env, why)) < 0) {
		char *w = sx_strdupf("gateway.providers[%zu].%s", i, *why ? *why : "");
		free(*why);
		*why = w;
		return r;
	}
	if (!sx_provider_name_valid(p->name))
		FAIL(".name: \"%s\" is not [a-z0-9][a-z0-9_-]{0,31}", i, p->name);
	if (!sx_provider_api_valid(p->api))
		FAIL(".api: \"%s\" is not openai-completions or anthropic-messages", i, p->api);
	if (!sx_url_valid(p->base_url, &url_why))
		FAIL(".base_url: %s", i, url_why);
	if (!sx_env_name_valid(p->key_env))
		FAIL(".key_env: \"%s\" is not [A-Z_][A-Z0-9_]*", i, p->key_env);
	p->models = calloc(1, sizeof(char *));
	if (!p->models)
		return -ENOMEM;
	if (models && !cJSON_IsArray(models))
		FAIL(".models: not a list", i);
	cJSON_ArrayForEach(it, models)
	{
		if (!cJSON_IsString(it) || !sx_model_id_valid(it->valuestring))
			FAIL(".models: not a list of model ids", i);
		if (!sx_strv_contains(p->models, it->valuestring) &&
		    sx_strv_push(&p->models, it->valuestring) < 0)
			return -ENOMEM;
	}
	if (dm && !cJSON_IsNull(dm)) {
		if (!cJSON_IsString(dm) || !sx_strv_contains(p->models, dm->valuestring))
			FAIL(".default_model: not one of the provider's models", i);
		if (!(p->default_model = strdup(dm->valuestring)))
			return -ENOMEM;
	}
	return 0;
#undef FAIL
}

/* Reads the optional "gateway" object; a config.json written before it
 * existed gets the defaults init_paths set. */
/* A list of IPv4 addresses (absent: empty) into *out. */
static int take_ipv4_list(const cJSON *arr, const char *what, char ***out, char **why)
{
	const cJSON *it;

	*out = calloc(1, sizeof(char *));
	if (!*out)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr)
	{
		uint32_t a;
		if (!cJSON_IsString(it) || sx_ipv4_parse(it->valuestring, &a) < 0) {
			*why = sx_strdupf("%s: not a list of IPv4 addresses", what);
			return -EINVAL;
		}
		if (sx_strv_push(out, it->valuestring) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int take_gateway(const cJSON *j, struct sx_config *c, char **why)
{
	const cJSON *g = cJSON_GetObjectItem(j, "gateway"), *v, *it;
	size_t i = 0;
	int r;

	if (!g)
		return 0;
	if (!cJSON_IsObject(g)) {
		*why = strdup("gateway: not an object");
		return -EINVAL;
	}
	v = cJSON_GetObjectItem(g, "token_path");
	if (v && (!cJSON_IsString(v) || v->valuestring[0] != '/')) {
		*why = strdup("gateway.token_path: not an absolute path");
		return -EINVAL;
	}
	if (v && (r = take_str(g, "token_path", &c->token_path, why)) < 0)
		return r;
	v = cJSON_GetObjectItem(g, "rotate_mins");
	if (v &&
	    (!cJSON_IsNumber(v) || v->valuedouble != (double)v->valueint || v->valueint < 1 ||
	     v->valueint > 10080)) {
		*why = strdup("gateway.rotate_mins: not a whole number of minutes 1-10080");
		return -EINVAL;
	}
	if (v)
		c->rotate_mins = (unsigned)v->valueint;
	v = cJSON_GetObjectItem(g, "ca_file");
	if (v && !cJSON_IsNull(v) && (!cJSON_IsString(v) || v->valuestring[0] != '/')) {
		*why = strdup("gateway.ca_file: neither null nor an absolute path");
		return -EINVAL;
	}
	if (cJSON_IsString(v) && !(c->ca_file = strdup(v->valuestring)))
		return -ENOMEM;
	if ((r = take_ipv4_list(cJSON_GetObjectItem(g, "resolvers"), "gateway.resolvers", &c->resolvers,
				why)) < 0)
		return r;
	v = cJSON_GetObjectItem(g, "providers");
	if (v && !cJSON_IsArray(v)) {
		*why = strdup("gateway.providers: not a list");
		return -EINVAL;
	}
	c->providers = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*c->providers));
	if (!c->providers)
		return -ENOMEM;
	cJSON_ArrayForEach(it, v)
	{
		struct sx_provider *p = &c->providers[i];
		r = take_provider(it, i, p, why);
		if (r == 0 && sx_config_provider(c, p->name)) {
			*why = sx_strdupf("gateway.providers[%zu].name: \"%s\" is listed twice", i, p->name);
			r = -EINVAL;
		}
		if (r < 0) {
			sx_provider_clear(p);
			return r;
		}
		c->n_providers = ++i;
	}
	return 0;
}

bool sx_police_escalation_valid(const char *s)
{
	return streq(s, "low_above") || streq(s, "medium_above") || streq(s, "high_only");
}

/* Reads the optional "police" object: escalation (default medium_above). */
static int take_police(const cJSON *j, struct sx_config *c, char **why)
{
	const cJSON *o = cJSON_GetObjectItem(j, "police"), *v;

	if (!o)
		return 0;
	if (!cJSON_IsObject(o)) {
		*why = strdup("police: not an object");
		return -EINVAL;
	}
	v = cJSON_GetObjectItem(o, "escalation");
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !sx_police_escalation_valid(v->valuestring)) {
		*why = strdup("police.escalation: not low_above, medium_above or high_only");
		return -EINVAL;
	}
	free(c->police_escalation);
	c->police_escalation = strdup(v->valuestring);
	return c->police_escalation ? 0 : -ENOMEM;
}

/* A list of at most SX_BRIDGE_LIST_MAX strings that valid() accepts
 * (absent or null: NULL). */
static int take_word_list(const cJSON *arr, const char *what, bool (*valid)(const char *),
			  const char *expected, char ***out, char **why)
{
	const cJSON *it;

	*out = NULL;
	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > SX_BRIDGE_LIST_MAX) {
		*why = sx_strdupf("%s: not a list (of at most %d)", what, SX_BRIDGE_LIST_MAX);
		return -EINVAL;
	}
	*out = calloc(1, sizeof(char *));
	if (!*out)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it) || !valid(it->valuestring)) {
			*why = sx_strdupf("%s: \"%s\" is not %s", what,
					  cJSON_IsString(it) ? it->valuestring : "(not a string)", expected);
			return -EINVAL;
		}
		if (sx_strv_push(out, it->valuestring) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Reads the optional "bridge" object.  A config.json written before the
 * bridge existed has none: no bridge until setup runs again. */
static int take_bridge(const cJSON *j, struct sx_config *c, char **why)
{
	const cJSON *b = cJSON_GetObjectItem(j, "bridge"), *v;
	uint32_t a;
	int r;

	c->bridge_port = 0;
	if (!b)
		return 0;
	if (!cJSON_IsObject(b)) {
		*why = strdup("bridge: not an object");
		return -EINVAL;
	}
	c->bridge_recorded = true;
	v = cJSON_GetObjectItem(b, "bind");
	if (v && (!cJSON_IsString(v) || sx_ipv4_parse(v->valuestring, &a) < 0)) {
		*why = strdup("bridge.bind: not an IPv4 address");
		return -EINVAL;
	}
	if (v) {
		free(c->bridge_bind);
		if (!(c->bridge_bind = strdup(v->valuestring)))
			return -ENOMEM;
	}
	v = cJSON_GetObjectItem(b, "port");
	if (v &&
	    (!cJSON_IsNumber(v) || v->valuedouble != (double)v->valueint || v->valueint < 0 ||
	     v->valueint == 1 || v->valueint > 65535)) {
		*why = strdup("bridge.port: not 0 (no bridge) or a port number 2-65535");
		return -EINVAL;
	}
	if (v)
		c->bridge_port = (unsigned)v->valueint;
	if ((r = take_word_list(cJSON_GetObjectItem(b, "origins"), "bridge.origins", sx_bridge_origin_valid,
				"an origin (http[s]://HOST[:PORT])", &c->bridge_origins, why)) < 0 ||
	    (r = take_word_list(cJSON_GetObjectItem(b, "names"), "bridge.names", sx_bridge_name_valid,
				"a DNS name or an IPv4 address", &c->bridge_names, why)) < 0)
		return r;
	/* names: absent is no extra name (origins: absent is the built-in list) */
	if (!c->bridge_names && !(c->bridge_names = calloc(1, sizeof(char *))))
		return -ENOMEM;
	return 0;
}

/* An optional absolute path under "paths" (config.json from before it
 * was recorded keeps the derived one). */
static int take_opt_path(const cJSON *j, const char *path, char **dst, char **why)
{
	const cJSON *v = sx_json_get_path(j, path);

	if (!v)
		return 0;
	if (!cJSON_IsString(v) || v->valuestring[0] != '/') {
		*why = sx_strdupf("%s: not an absolute path", path);
		return -EINVAL;
	}
	free(*dst);
	*dst = strdup(v->valuestring);
	return *dst ? 0 : -ENOMEM;
}

int sx_config_from_json(const cJSON *j, struct sx_config **ret, char **why)
{
	_cleanup_config_ struct sx_config *c = calloc(1, sizeof(*c));
	_cleanup_free_ char *mode = NULL;
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
		*why = strdup("dns.mode: not none, host, servers or filtered");
		return -EINVAL;
	}
	if ((r = take_ipv4_list(sx_json_get_path(j, "dns.servers"), "dns.servers", &c->dns_servers, why)) < 0)
		return r;
	if ((r = take_gateway(j, c, why)) < 0 || (r = take_bridge(j, c, why)) < 0 ||
	    (r = take_police(j, c, why)) < 0 ||
	    (r = take_opt_path(j, "paths.relay_socket", &c->relay_socket, why)) < 0 ||
	    (r = take_opt_path(j, "paths.bridge_dir", &c->bridge_dir, why)) < 0 ||
	    (r = take_opt_path(j, "paths.device_key", &c->device_key, why)) < 0)
		return r;
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
