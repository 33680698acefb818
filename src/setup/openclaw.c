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
	return d;
}

int sx_openclaw_check(const char *path, const cJSON *desired, char **why)
{
	_cleanup_cjson_ cJSON *root = NULL;
	const cJSON *want;
	int r;

	r = sx_json_load(path, &root, why);
	if (r < 0) {
		if (r == -ENOENT)
			*why = strdup("file missing");
		return r;
	}
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
		if (!have || !cJSON_Compare(have, want, true)) {
			_cleanup_free_ char *h = have ? cJSON_PrintUnformatted(have) : strdup("absent");
			_cleanup_free_ char *w = cJSON_PrintUnformatted(want);
			*why = sx_strdupf("%s is %s, expected %s", want->string, h ? h : "?", w ? w : "?");
			return -EUCLEAN;
		}
	}
	return 0;
}

int sx_openclaw_apply(const char *text, const cJSON *desired, char **out, cJSON **originals, char **why)
{
	_cleanup_cjson_ cJSON *root = NULL, *orig = NULL;
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
	orig = cJSON_CreateObject();
	if (!orig)
		return -ENOMEM;
	cJSON_ArrayForEach(want, desired)
	{
		const cJSON *have = sx_json_get_path(root, want->string);
		cJSON_AddItemToObject(orig, want->string,
				      have ? cJSON_Duplicate(have, true) : cJSON_CreateNull());
		r = sx_json_set_path(root, want->string, cJSON_Duplicate(want, true));
		if (r < 0) {
			*why = sx_strdupf("%s: a parent of this key is not an object", want->string);
			return r;
		}
	}
	*out = sx_json_print(root);
	if (!*out)
		return -ENOMEM;
	*originals = TAKE_PTR(orig);
	return 0;
}

int sx_openclaw_revert(const char *text, const cJSON *originals, char **out, char **why)
{
	_cleanup_cjson_ cJSON *root = NULL;
	const cJSON *o;
	int r;

	r = sx_json_parse(text, &root, why);
	if (r < 0)
		return r;
	cJSON_ArrayForEach(o, originals)
	{
		if (cJSON_IsNull(o))
			sx_json_remove_path(root, o->string);
		else if ((r = sx_json_set_path(root, o->string, cJSON_Duplicate(o, true))) < 0) {
			*why = sx_strdupf("%s: a parent of this key is no longer an object", o->string);
			return r;
		}
	}
	*out = sx_json_print(root);
	return *out ? 0 : -ENOMEM;
}
