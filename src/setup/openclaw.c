/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * openclaw.c - compute, apply, check and revert sentrix's openclaw.json keys.
 *
 * Pure text-in, text-out functions: the journalled file handling lives in
 * provision.c, so these are unit-testable without root.  Every key that is
 * not sentrix's is kept; a file that is not strict JSON (OpenClaw accepts
 * JSON5) is refused with the line where the JSON5 feature sits, because
 * re-serialising it would drop comments.
 */
#include "../lib/jsonutil.h"
#include "../lib/util.h"
#include "openclaw.h"

static void add(cJSON *d, const char *path, cJSON *v)
{
	cJSON_AddItemToObject(d, path, v);
}

/* models.providers.NAME for every provider of the instance.  The sandbox
 * reaches each only through the gateway's LLM proxy on host-ip, which
 * checks the instance token (sent as the API key) and swaps in the real
 * key from secrets.env; the real key never enters the sandbox. */
static void add_providers(cJSON *d, const struct sx_config *c, const cJSON *current, const char *token)
{
	const struct sx_provider *def = NULL;

	for (size_t i = 0; i < c->n_providers; i++) {
		const struct sx_provider *pr = &c->providers[i];
		_cleanup_free_ char *path = sx_strdupf("models.providers.%s", pr->name),
				    *url = sx_strdupf("http://%s:%u/%s", c->host_ip, c->llm_port, pr->name);
		cJSON *o = cJSON_CreateObject(), *models;

		if (!o || !path || !url) {
			cJSON_Delete(o);
			continue;
		}
		cJSON_AddStringToObject(o, "baseUrl", url);
		cJSON_AddItemToObject(o, "apiKey", token ? cJSON_CreateString(token) : cJSON_CreateNull());
		cJSON_AddStringToObject(o, "api", pr->api);
		/* OpenClaw requires models on a custom provider, each with
		 * an id and a name. */
		models = cJSON_AddArrayToObject(o, "models");
		for (size_t m = 0; pr->models && pr->models[m]; m++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "id", pr->models[m]);
			cJSON_AddStringToObject(e, "name", pr->models[m]);
			cJSON_AddItemToArray(models, e);
		}
		add(d, path, o);
		if (pr->default_model && !def)
			def = pr;
	}
	if (def) {
		/* agents.defaults.model is "provider/model" or {primary,
		 * fallbacks}: keep the form the file has (fallbacks stay). */
		const cJSON *m = current ? sx_json_get_path(current, "agents.defaults.model") : NULL;
		_cleanup_free_ char *ref = sx_strdupf("%s/%s", def->name, def->default_model);
		if (ref)
			add(d, cJSON_IsString(m) ? "agents.defaults.model" : "agents.defaults.model.primary",
			    cJSON_CreateString(ref));
	}
}

cJSON *sx_openclaw_desired(const struct sx_config *c, const struct sx_policy *p, const cJSON *current,
			   const char *token)
{
	cJSON *d = cJSON_CreateObject(), *origins;
	const cJSON *channels, *ch;

	if (!d)
		return NULL;
	/* The gateway serves on the sandbox side of the veth, with a token:
	 * OpenClaw refuses a non-loopback bind without one. */
	add(d, "gateway.mode", cJSON_CreateString("local"));
	add(d, "gateway.port", cJSON_CreateNumber(c->openclaw_port));
	add(d, "gateway.bind", cJSON_CreateString("custom"));
	add(d, "gateway.customBindHost", cJSON_CreateString(c->sandbox_ip));
	add(d, "gateway.auth.mode", cJSON_CreateString("token"));
	add(d, "gateway.auth.token", token ? cJSON_CreateString(token) : cJSON_CreateNull());
	/* The browser reaches the gateway through the sentrix WSS bridge
	 * (port 8766); OpenClaw needs the allowed origins for a non-loopback
	 * bind. */
	origins = cJSON_CreateArray();
	cJSON_AddItemToArray(origins, cJSON_CreateString("https://localhost:8766"));
	cJSON_AddItemToArray(origins, cJSON_CreateString("https://127.0.0.1:8766"));
	add(d, "gateway.controlUi.allowedOrigins", origins);
	if (c->guardrail) {
		add(d, "proxy.enabled", cJSON_CreateTrue());
		char *url = sx_strdupf("http://%s:%u", c->host_ip, c->egress_port);
		add(d, "proxy.proxyUrl", cJSON_CreateString(url ? url : ""));
		free(url);
		/* web_fetch connects directly unless told the env proxy is the
		 * operator's and enforces policy after DNS (OpenClaw's words):
		 * sentrix's egress proxy is exactly that, and the sandbox can
		 * reach nothing else. */
		add(d, "tools.web.fetch.useTrustedEnvProxy", cJSON_CreateTrue());
	}
	add(d, "tools.exec.security", cJSON_CreateString(p->exec_security));
	/* OpenClaw's own tool sandbox needs Docker; on a sentrix host sentrix
	 * is the sandbox, so the policy keeps it "off". */
	add(d, "agents.defaults.sandbox.mode", cJSON_CreateString(p->sandbox_mode));
	/* DM pairing is per channel in OpenClaw; set it on every channel the
	 * operator configured (adding channels would enable them). */
	channels = current ? sx_json_get_path(current, "channels") : NULL;
	cJSON_ArrayForEach(ch, channels)
	{
		char *path;
		if (!cJSON_IsObject(ch) || streq(ch->string, "defaults"))
			continue;
		path = sx_strdupf("channels.%s.dmPolicy", ch->string);
		if (path)
			add(d, path, cJSON_CreateString(p->dm_policy));
		free(path);
	}
	add_providers(d, c, current, token);
	return d;
}

/* True when have is what want describes; a null in want (the token when
 * the caller does not know it) stands for any non-empty string. */
static bool matches(const cJSON *have, const cJSON *want)
{
	const cJSON *it;

	if (cJSON_IsNull(want))
		return cJSON_IsString(have) && *have->valuestring;
	if (!cJSON_IsObject(want) || !cJSON_IsObject(have))
		return have && cJSON_Compare(have, want, true);
	if (cJSON_GetArraySize(have) != cJSON_GetArraySize(want))
		return false;
	cJSON_ArrayForEach(
	    it, want) if (!matches(cJSON_GetObjectItemCaseSensitive(have, it->string), it)) return false;
	return true;
}

/* A copy of v for a message, with every credential (token, apiKey)
 * replaced: status output ends up in logs. */
static char *print_redacted(const cJSON *v)
{
	_cleanup_cjson_ cJSON *copy = cJSON_Duplicate(v, true);

	if (cJSON_IsObject(copy)) {
		if (cJSON_GetObjectItemCaseSensitive(copy, "apiKey"))
			cJSON_ReplaceItemInObjectCaseSensitive(copy, "apiKey",
							       cJSON_CreateString("(hidden)"));
		if (cJSON_GetObjectItemCaseSensitive(copy, "token"))
			cJSON_ReplaceItemInObjectCaseSensitive(copy, "token", cJSON_CreateString("(hidden)"));
	}
	return copy ? cJSON_PrintUnformatted(copy) : NULL;
}

int sx_openclaw_check_json(const cJSON *root, const cJSON *desired, char **why)
{
	const cJSON *want;

	cJSON_ArrayForEach(want, desired)
	{
		const cJSON *have = sx_json_get_path(root, want->string);
		if (cJSON_IsNull(want)) { /* token: set and non-empty */
			if (!cJSON_IsString(have) || !*have->valuestring) {
				*why = sx_strdupf("%s is not set", want->string);
				return -EUCLEAN;
			}
			continue;
		}
		if (!matches(have, want)) {
			bool secret = strstr(want->string, "token") != NULL;
			_cleanup_free_ char *h = !have ? strdup("absent")
			    : secret		       ? strdup("another value")
						       : print_redacted(have);
			_cleanup_free_ char *w = secret ? strdup("the instance token") : print_redacted(want);
			*why = sx_strdupf("%s is %s, expected %s", want->string, h ? h : "?", w ? w : "?");
			return -EUCLEAN;
		}
	}
	return 0;
}

int sx_openclaw_check(const char *path, const cJSON *desired, char **why)
{
	_cleanup_cjson_ cJSON *root = NULL;
	int r;

	r = sx_json_load(path, &root, why);
	if (r < 0) {
		if (!*why)
			*why = strdup(r == -ENOENT ? "file missing" : strerror(-r));
		return r;
	}
	return sx_openclaw_check_json(root, desired, why);
}

static bool strv_json_has(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it) && streq(it->valuestring, s)) return true;
	return false;
}

/* Adds to created every parent object of path that root lacks. */
static void note_created_parents(const cJSON *root, const char *path, cJSON *created)
{
	_cleanup_free_ char *copy = strdup(path);
	bool missing = false;

	for (char *dot = copy ? strchr(copy, '.') : NULL; dot; dot = strchr(dot + 1, '.')) {
		*dot = 0;
		missing = missing || !sx_json_get_path(root, copy);
		if (missing && !strv_json_has(created, copy))
			cJSON_AddItemToArray(created, cJSON_CreateString(copy));
		*dot = '.';
	}
}

int sx_openclaw_apply(const char *text, const cJSON *desired, char **out, cJSON **undo, char **why)
{
	_cleanup_cjson_ cJSON *root = NULL, *u = NULL;
	cJSON *values, *absent, *created;
	const cJSON *want;
	int r;

	if (text) {
		r = sx_json_parse(text, &root, why);
		if (r < 0)
			return r;
		if (!cJSON_IsObject(root)) {
			*why = strdup("line 1: the top level is not a JSON object");
			return -EINVAL;
		}
	} else if (!(root = cJSON_CreateObject()))
		return -ENOMEM;
	u = cJSON_CreateObject();
	if (!u)
		return -ENOMEM;
	values = cJSON_AddObjectToObject(u, "values");
	absent = cJSON_AddArrayToObject(u, "absent");
	created = cJSON_AddArrayToObject(u, "created");
	cJSON_ArrayForEach(want, desired)
	{
		const cJSON *have = sx_json_get_path(root, want->string);
		if (have)
			cJSON_AddItemToObject(values, want->string, cJSON_Duplicate(have, true));
		else {
			cJSON_AddItemToArray(absent, cJSON_CreateString(want->string));
			note_created_parents(root, want->string, created);
		}
		r = sx_json_set_path(root, want->string, cJSON_Duplicate(want, true));
		if (r < 0) {
			*why = sx_strdupf("%s: a parent of this key is not an object", want->string);
			return r;
		}
	}
	*out = sx_json_print(root);
	if (!*out)
		return -ENOMEM;
	*undo = TAKE_PTR(u);
	return 0;
}

/* Depth of a dotted path, for removing created parents deepest first. */
static int depth(const char *p)
{
	int d = 0;
	for (; *p; p++)
		d += *p == '.';
	return d;
}

int sx_openclaw_revert(const char *text, const cJSON *undo, char **out, char **why)
{
	_cleanup_cjson_ cJSON *root = NULL;
	const cJSON *it, *created = cJSON_GetObjectItem(undo, "created");
	int r, maxd = 0;

	r = sx_json_parse(text, &root, why);
	if (r < 0)
		return r;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(undo, "values")) if ((r = sx_json_set_path(
									     root, it->string,
									     cJSON_Duplicate(it, true))) < 0)
	{
		*why = sx_strdupf("%s: a parent of this key is no longer an object", it->string);
		return r;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(undo, "absent")) if (cJSON_IsString(it))
	    sx_json_remove_path(root, it->valuestring);
	/* Objects sentrix created, if nothing else lives in them now. */
	cJSON_ArrayForEach(it, created) if (cJSON_IsString(it) && depth(it->valuestring) > maxd) maxd =
	    depth(it->valuestring);
	for (int d = maxd; d >= 0; d--)
		cJSON_ArrayForEach(it, created)
		{
			const cJSON *o;
			if (!cJSON_IsString(it) || depth(it->valuestring) != d)
				continue;
			o = sx_json_get_path(root, it->valuestring);
			if (cJSON_IsObject(o) && !o->child)
				sx_json_remove_path(root, it->valuestring);
		}
	*out = sx_json_print(root);
	return *out ? 0 : -ENOMEM;
}
