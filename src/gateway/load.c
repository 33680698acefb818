/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * load.c - the gateway's settings: config.json, the instance's policy, the
 * token and secrets.env, read at start and on SIGHUP (gateway.h).  Kept
 * apart from main.c so that the services that read them (the LLM proxy's
 * secret lookup) do not reach into the program's start-up.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/envfile.h"
#include "../lib/fileio.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "gateway.h"
#include "resolver.h"

char *sx_gateway_secret(const struct sx_gateway *g, const char *var)
{
	char *v = NULL;
	if (!g->secrets || !var || sx_envfile_get(g->secrets, var, &v) < 0)
		return NULL;
	return v;
}

static char *read_trimmed(const char *path, int *err)
{
	char *text = NULL;
	size_t n;
	*err = sx_read_file(path, &text, &n);
	if (*err < 0)
		return NULL;
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = 0;
	return text;
}

int sx_gateway_load(struct sx_gateway *g)
{
	struct sx_config *c = NULL;
	struct sx_policy *p = NULL;
	_cleanup_free_ char *why = NULL;
	char *token, *secrets;
	int r;

	r = sx_config_load_path(g->config_path, &c, &why);
	if (r < 0)
		return log_error_errno(r, "cannot load %s%s%s", g->config_path, why ? ": " : "",
				       why ? why : "");
	/* The egress proxy and DNS judge by the policy: no policy, no gateway. */
	r = sx_policy_load(c->policy_dir, &p, &why);
	if (r < 0) {
		sx_config_free(c);
		return log_error_errno(r, "cannot load the instance's policy: %s", why ? why : strerror(-r));
	}
	token = c->token_path ? read_trimmed(c->token_path, &r) : NULL;
	if (!token)
		log_warn_errno(c->token_path ? r : -ENOENT,
			       "no instance token (%s); every LLM request will get 401 until setup writes it",
			       c->token_path ? c->token_path : "config.json names no token file");
	secrets = read_trimmed(c->secrets_path, &r);
	if (!secrets && r != -ENOENT)
		log_warn_errno(r, "cannot read %s; calls will fail with 502 until it is readable",
			       c->secrets_path);
	if (g->config &&
	    (g->config->llm_port != c->llm_port || g->config->health_port != c->health_port ||
	     g->config->egress_port != c->egress_port))
		log_warn("ports changed in config.json; restart the gateway to listen on them");
	if (g->config && (g->config->dns_mode == SX_DNS_FILTERED) != (c->dns_mode == SX_DNS_FILTERED))
		log_warn("DNS mode changed to %s; restart the gateway to %s filtered DNS",
			 sx_dns_mode_name(c->dns_mode), c->dns_mode == SX_DNS_FILTERED ? "start" : "stop");
	if (g->resolver)
		(void)sx_resolver_set_servers(g->resolver, c->resolvers);
	sx_config_free(g->config);
	g->config = c;
	sx_policy_free(g->policy);
	g->policy = p;
	if (g->token)
		explicit_bzero(g->token, strlen(g->token));
	free(g->token);
	g->token = token;
	if (g->secrets)
		explicit_bzero(g->secrets, strlen(g->secrets));
	free(g->secrets);
	g->secrets = secrets;
	return 0;
}

void sx_gateway_set_error(struct sx_gateway *g, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	free(g->last_error);
	g->last_error = text;
}
