/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * provider.c - `sentrix provider set|list|remove`: the LLM upstreams of an
 * instance's gateway.
 *
 * A provider lives in two files.  config.json gateway.providers tells the
 * gateway where /PROVIDER/... goes and which secrets.env variable holds the
 * real key.  The sandbox user's openclaw.json gets models.providers.PROVIDER
 * pointing OpenClaw at the gateway's LLM proxy on host-ip, with the
 * instance's gateway token as its API key, so the real key never enters the
 * sandbox.  Both files change through setup's journalled actions (the
 * openclaw.json keys through the journal row setup's patch made), so a
 * provider's keys go back to the user's own values when it is removed and
 * when the instance is disabled, and a crash half-way is as safe as one in
 * setup.  Every change is first run as a dry run, which finds what would
 * fail (a JSON5 openclaw.json, a missing user) before anything is written.
 */
#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/strv.h"
#include "actions.h"
#include "instance.h"
#include "provider.h"
#include "reload.h"
#include "secrets.h"
#include "users.h"

/* The provider the options describe.  Returns 0, or -EINVAL after a usage
 * message (the default key variable of a name starting with a digit is not
 * a valid variable name). */
static int build(const struct sx_options *o, struct sx_provider *p)
{
	size_t n;

	p->name = strdup(o->target);
	p->api = strdup(o->api);
	p->base_url = strdup(o->base_url);
	p->key_env = o->key_env ? strdup(o->key_env) : sx_provider_default_key_env(o->target);
	p->default_model = o->default_model ? strdup(o->default_model) : NULL;
	p->models = calloc(1, sizeof(char *));
	if (!p->name || !p->api || !p->base_url || !p->key_env || !p->models ||
	    (o->default_model && !p->default_model))
		return -ENOMEM;
	for (size_t i = 0; i < o->n_models; i++)
		if (sx_strv_push(&p->models, o->models[i]) < 0)
			return -ENOMEM;
	/* https://host/v1/ and https://host/v1 are one upstream. */
	n = strlen(p->base_url);
	while (n > 1 && p->base_url[n - 1] == '/' && p->base_url[n - 2] != '/')
		p->base_url[--n] = 0;
	if (!sx_env_name_valid(p->key_env)) {
		fprintf(stderr,
			"sentrix: the default key variable %s is not a valid name ([A-Z_][A-Z0-9_]*); pass "
			"--key-env VAR\n",
			p->key_env);
		return -EINVAL;
	}
	return 0;
}

/* True when a provider of c takes its key from var. */
static bool uses_key(const struct sx_config *c, const char *var)
{
	for (size_t i = 0; i < c->n_providers; i++)
		if (streq(c->providers[i].key_env, var))
			return true;
	return false;
}

/* config.json and the openclaw.json keys for x->config, through the
 * journalled actions (a dry run when x->dry_run). */
static int write_both(struct sx_ctx *x, const char *text, const struct sx_user *u)
{
	int r = sx_act_write_file(x, x->config->config_path, text, strlen(text), 0644, 0, 0, false);

	return r < 0 ? r : sx_act_openclaw(x, u->uid, u->gid, NULL);
}

/* Makes the host match want (in's config, changed): a dry run first, then
 * the change, printing its steps under the heading what.  Returns the
 * number of changes or a negative errno (logged; a failure in the dry run
 * changed nothing, one after it puts config.json back). */
static int apply(struct sx_instance *in, const char *what)
{
	const struct sx_config *want = in->config;
	_cleanup_cjson_ cJSON *j = sx_config_to_json(want);
	_cleanup_free_ char *text = j ? sx_json_print(j) : NULL, *old = NULL;
	struct sx_ctx x = {.journal = in->journal, .config = want, .policy = in->policy, .dry_run = true};
	struct sx_user u;
	int r;

	if (!text)
		return -ENOMEM;
	r = sx_user_lookup(want->user, &u);
	if (r < 0)
		return log_error_errno(
		    r, "the sandbox user %s is missing; run `sentrix sandbox setup --name %s` again",
		    want->user, want->name);
	r = write_both(&x, text, &u);
	if (r < 0 || x.changes == 0)
		return r;
	(void)sx_read_file(want->config_path, &old, NULL);
	printf("%s for sentrix instance %s:\n", what, want->name);
	x = (struct sx_ctx){.journal = in->journal, .config = want, .policy = in->policy, .out = stdout};
	r = write_both(&x, text, &u);
	if (r < 0 && old && sx_write_file_atomic(want->config_path, old, strlen(old), 0644, 0, 0) == 0)
		log_error("%s is as it was; fix the cause and run the command again", want->config_path);
	return r < 0 ? r : (int)x.changes;
}

/* Says where the provider's key comes from, and how to set it if absent. */
static void key_hint(const struct sx_config *c, const struct sx_provider *p)
{
	_cleanup_wipe_ char *secrets = NULL;

	(void)sx_read_file(c->secrets_path, &secrets, NULL);
	if (sx_secret_is_set(secrets, p->key_env))
		printf("sentrix: the key comes from %s in %s (set)\n", p->key_env, c->secrets_path);
	else
		printf("sentrix: %s is not set in %s yet: printf '%%s' \"$KEY\" | sudo sentrix secrets set "
		       "--name %s %s\n",
		       p->key_env, c->secrets_path, c->name, p->key_env);
}

static int set_main(const struct sx_options *o)
{
	_cleanup_(sx_instance_close) struct sx_instance in = {.lock = -EBADF};
	_cleanup_(sx_provider_clear) struct sx_provider p = {0};
	_cleanup_free_ char *what = sx_strdupf("Setting provider %s", o->target);
	struct sx_config *c;
	int r;

	r = build(o, &p);
	if (r < 0 || !what)
		return r == -EINVAL ? 2 : 1;
	if (sx_instance_open(o->name, true, &in) < 0)
		return 1;
	c = in.config;
	/* OpenClaw has one default model: it moves to this provider. */
	for (size_t i = 0; p.default_model && i < c->n_providers; i++) {
		free(c->providers[i].default_model);
		c->providers[i].default_model = NULL;
	}
	if (sx_config_set_provider(c, &p) < 0)
		return 1;
	r = apply(&in, what);
	if (r < 0) {
		log_error("provider %s was not set", p.name);
		return 1;
	}
	if (r == 0)
		printf("sentrix: provider %s of instance %s is already set so; nothing changed\n", p.name,
		       c->name);
	else
		printf("sentrix: provider %s set: OpenClaw calls http://%s:%u/%s, the gateway forwards to %s "
		       "(%s)\n",
		       p.name, c->host_ip, c->llm_port, p.name, p.base_url, p.api);
	if (r > 0 && p.default_model)
		printf("sentrix: the agents' default model is now %s/%s\n", p.name, p.default_model);
	key_hint(c, &p);
	if (r > 0)
		sx_gateway_reload(c, stdout, false);
	return 0;
}

static int remove_main(const struct sx_options *o)
{
	_cleanup_(sx_instance_close) struct sx_instance in = {.lock = -EBADF};
	_cleanup_free_ char *what = sx_strdupf("Removing provider %s", o->target);
	const struct sx_provider *p;
	_cleanup_free_ char *key_env = NULL;
	int r;

	if (!what || sx_instance_open(o->name, true, &in) < 0)
		return 1;
	p = sx_config_provider(in.config, o->target);
	if (!p) {
		printf("sentrix: instance %s has no provider %s; nothing changed\n", in.config->name,
		       o->target);
		return 0;
	}
	key_env = strdup(p->key_env);
	if (!key_env)
		return 1;
	sx_config_remove_provider(in.config, o->target);
	r = apply(&in, what);
	if (r < 0) {
		log_error("provider %s was not removed", o->target);
		return 1;
	}
	printf("sentrix: provider %s removed from instance %s; the openclaw.json keys it set are back to "
	       "the user's own values\n",
	       o->target, in.config->name);
	if (!uses_key(in.config, key_env))
		printf(
		    "sentrix: %s stays in %s if it is there; `sentrix secrets remove --name %s %s` removes "
		    "it\n",
		    key_env, in.config->secrets_path, in.config->name, key_env);
	sx_gateway_reload(in.config, stdout, false);
	return 0;
}

static cJSON *provider_json(const struct sx_config *c, const struct sx_provider *p, const char *secrets)
{
	cJSON *o = cJSON_CreateObject(), *m;
	char *route = sx_strdupf("http://%s:%u/%s", c->host_ip, c->llm_port, p->name);

	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "api", p->api);
	cJSON_AddStringToObject(o, "base_url", p->base_url);
	cJSON_AddStringToObject(o, "route", route ? route : "");
	cJSON_AddStringToObject(o, "key_env", p->key_env);
	cJSON_AddBoolToObject(o, "secret_set", sx_secret_is_set(secrets, p->key_env));
	m = cJSON_AddArrayToObject(o, "models");
	for (size_t i = 0; p->models && p->models[i]; i++)
		cJSON_AddItemToArray(m, cJSON_CreateString(p->models[i]));
	cJSON_AddItemToObject(o, "default_model",
			      p->default_model ? cJSON_CreateString(p->default_model) : cJSON_CreateNull());
	free(route);
	return o;
}

static void provider_print(const struct sx_config *c, const struct sx_provider *p, const char *secrets)
{
	_cleanup_free_ char *models = sx_strv_join(p->models, ", ");

	printf("%s\n", p->name);
	printf("  api        %s\n", p->api);
	printf("  upstream   %s\n", p->base_url);
	printf("  route      http://%s:%u/%s (openclaw.json models.providers.%s)\n", c->host_ip, c->llm_port,
	       p->name, p->name);
	printf("  key        %s (%s)\n", p->key_env,
	       sx_secret_is_set(secrets, p->key_env) ? "set" : "NOT SET: sentrix secrets set");
	printf("  models     %s\n", models && *models ? models : "(none)");
	printf("  default    %s%s%s\n", p->default_model ? p->name : "-", p->default_model ? "/" : "",
	       p->default_model ? p->default_model : "");
}

static int list_main(const struct sx_options *o)
{
	_cleanup_(sx_instance_close) struct sx_instance in = {.lock = -EBADF};
	_cleanup_wipe_ char *secrets = NULL;
	_cleanup_cjson_ cJSON *j = NULL;
	_cleanup_free_ char *text = NULL;
	const struct sx_config *c;
	cJSON *arr;

	if (sx_instance_open(o->name, false, &in) < 0)
		return 1;
	c = in.config;
	(void)sx_read_file(c->secrets_path, &secrets, NULL);
	if (!o->json) {
		if (c->n_providers == 0)
			printf("instance %s has no providers; add one with `sentrix provider set --name %s "
			       "...`\n",
			       c->name, c->name);
		for (size_t i = 0; i < c->n_providers; i++)
			provider_print(c, &c->providers[i], secrets);
		return 0;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "instance", c->name);
	arr = cJSON_AddArrayToObject(j, "providers");
	for (size_t i = 0; i < c->n_providers; i++)
		cJSON_AddItemToArray(arr, provider_json(c, &c->providers[i], secrets));
	text = sx_json_print(j);
	if (!text)
		return 1;
	fputs(text, stdout);
	return 0;
}

int sx_provider_main(const struct sx_options *o)
{
	switch (o->command) {
	case SX_CMD_PROVIDER_SET: return set_main(o);
	case SX_CMD_PROVIDER_REMOVE: return remove_main(o);
	case SX_CMD_PROVIDER_LIST: return list_main(o);
	default: return 2;
	}
}
