/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * desired.c - compute an instance's desired config.json.
 *
 * Setup is declarative for what can change in place (policy, DNS, the
 * --no-* switches): omitted means the documented default.  What names the
 * instance's identity (addresses, user, home, OpenClaw port) keeps its
 * current value when omitted, since changing it needs --disable first.
 * The gateway settings `sentrix provider` records are carried over as they
 * are.
 */
#include "../lib/fileio.h"
#include "../lib/instances.h"
#include "../lib/log.h"
#include "../lib/netaddr.h"
#include "../lib/paths.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "desired.h"
#include "ephemeral.h"
#include "link.h"
#include "users.h"

char *sx_policy_source(const char *name)
{
	if (strchr(name, '/'))
		return realpath(name, NULL);
	return sx_strdupf("%s/policy/%s", sx_datadir(), name);
}

int sx_policy_template_load(const char *name, struct sx_policy **ret)
{
	_cleanup_free_ char *dir = sx_policy_source(name), *why = NULL;
	int r;

	if (!dir) {
		int e = errno;
		if (e == ENOMEM)
			return -ENOMEM;
		log_error("policy %s: cannot find that directory: %s", name, strerror(e));
		return -ENOENT;
	}
	r = sx_policy_load(dir, ret, &why);
	if (r < 0)
		return log_error_errno(r, "policy %s is not usable: %s", name, why ? why : "?");
	return 0;
}

int sx_host_resolvers(char ***ret, char **loopback_seen)
{
	_cleanup_free_ char *text = NULL;
	char **v = calloc(1, sizeof(char *));
	char *save = NULL;
	int r;

	*loopback_seen = NULL;
	if (!v)
		return -ENOMEM;
	r = sx_read_file("/etc/resolv.conf", &text, NULL);
	if (r < 0) {
		sx_strv_free(v);
		return r;
	}
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char addr[64];
		uint32_t a;
		if (sscanf(line, " nameserver %63s", addr) != 1 || sx_ipv4_parse(addr, &a) < 0)
			continue;
		if ((a >> 24) == 127) {
			free(*loopback_seen);
			*loopback_seen = strdup(addr);
			continue;
		}
		if (!sx_strv_contains(v, addr) && sx_strv_push(&v, addr) < 0) {
			sx_strv_free(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

int sx_used_addresses(const char *skip, uint32_t **ret, size_t *n)
{
	struct nl_sock *sk = NULL;
	char **names = NULL;
	int r;

	r = sx_nl_open(-1, &sk);
	if (r < 0)
		return r;
	r = sx_addr_list_all(sk, ret, n);
	sx_nl_close(sk);
	if (r < 0)
		return r;
	r = sx_instances_list(&names);
	for (size_t i = 0; r == 0 && names[i]; i++) {
		_cleanup_config_ struct sx_config *c = NULL;
		_cleanup_free_ char *why = NULL;
		uint32_t *nv;

		if (streq(names[i], skip) || sx_config_load(names[i], &c, &why) < 0)
			continue;
		nv = realloc(*ret, (*n + 2) * sizeof(uint32_t));
		if (!nv) {
			r = -ENOMEM;
			break;
		}
		*ret = nv;
		(void)sx_ipv4_parse(c->host_ip, &nv[(*n)++]);
		(void)sx_ipv4_parse(c->sandbox_ip, &nv[(*n)++]);
	}
	sx_strv_free(names);
	if (r == 0) {
		/* Running ephemeral instances hold their /30 too. */
		struct sx_config **eph = NULL;
		r = sx_ephemeral_list(&eph);
		for (size_t i = 0; r == 0 && eph[i]; i++) {
			uint32_t *nv = realloc(*ret, (*n + 2) * sizeof(uint32_t));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			*ret = nv;
			(void)sx_ipv4_parse(eph[i]->host_ip, &nv[(*n)++]);
			(void)sx_ipv4_parse(eph[i]->sandbox_ip, &nv[(*n)++]);
		}
		sx_ephemeral_list_free(eph);
	}
	return r;
}

int sx_ports_used(const char *skip, struct sx_port_use **ret, size_t *n)
{
	_cleanup_(sx_strv_freep) char **names = NULL;
	struct sx_port_use *v = NULL;
	int r;

	*ret = NULL;
	*n = 0;
	r = sx_instances_list(&names);
	for (size_t i = 0; r == 0 && names[i]; i++) {
		_cleanup_config_ struct sx_config *c = NULL;
		_cleanup_free_ char *why = NULL;
		struct sx_port_use *nv;

		if (streq(names[i], skip) || sx_config_load(names[i], &c, &why) < 0)
			continue;
		nv = realloc(v, (*n + 5) * sizeof(*v));
		if (!nv) {
			r = -ENOMEM;
			break;
		}
		v = nv;
		const unsigned ports[] = {c->bridge_port, c->llm_port, c->egress_port, c->health_port,
					  c->openclaw_port};
		for (size_t k = 0; k < ELEMENTSOF(ports); k++) {
			if (!ports[k])
				continue;
			v[*n] = (struct sx_port_use){.port = ports[k], .bridge = k == 0};
			snprintf(v[*n].name, sizeof(v[*n].name), "%s", c->name);
			(*n)++;
		}
	}
	if (r < 0) {
		free(v);
		*n = 0;
		return r;
	}
	*ret = v;
	return 0;
}

char *sx_bridge_clash(const struct sx_config *c, const struct sx_port_use *used, size_t n)
{
	const unsigned p = c->bridge_port;
	const unsigned own[] = {53, c->llm_port, c->egress_port, c->health_port};
	static const char *const own_names[] = {"DNS", "LLM proxy", "egress proxy", "health"};

	if (!p)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(own); i++)
		if (own[i] == p || own[i] == p - 1)
			return sx_strdupf("port %u is also the instance's own %s port", own[i], own_names[i]);
	for (size_t i = 0; i < n; i++) {
		const unsigned q = used[i].port;
		/* pairs {p-1, p} and {q-1, q} overlap when |p - q| <= 1 */
		if (used[i].bridge && p <= q + 1 && q <= p + 1)
			return sx_strdupf("instance %s records bridge ports %u and %u", used[i].name, q - 1,
					  q);
		if (!used[i].bridge && (q == p || q == p - 1))
			return sx_strdupf("instance %s uses port %u", used[i].name, q);
	}
	return NULL;
}

/* The bridge settings: the flags given, else what config.json records, else
 * the defaults (sandbox0 8766, others the lowest free even port from
 * 8768). */
static int pick_bridge(const struct sx_options *o, const struct sx_config *current, struct sx_config *c)
{
	bool recorded = current && current->bridge_recorded;
	int r;

	if (recorded && (r = sx_config_copy_bridge(c, current)) < 0)
		return r;
	if (o->bridge_port >= 0)
		c->bridge_port = (unsigned)o->bridge_port;
	else if (!recorded && streq(c->name, "sandbox0"))
		c->bridge_port = SX_BRIDGE_PORT_DEFAULT;
	else if (!recorded) {
		_cleanup_free_ struct sx_port_use *used = NULL;
		size_t n = 0;

		r = sx_ports_used(c->name, &used, &n);
		if (r < 0)
			return log_error_errno(r, "cannot read the other instances' config.json");
		for (c->bridge_port = SX_BRIDGE_PORT_FIRST; c->bridge_port <= 65534; c->bridge_port += 2) {
			_cleanup_free_ char *clash = sx_bridge_clash(c, used, n);
			if (!clash)
				break;
		}
		if (c->bridge_port > 65534)
			return log_error_errno(-ENOSPC,
					       "no free bridge port pair from %u up; pass --bridge-port",
					       SX_BRIDGE_PORT_FIRST);
	}
	if (o->bridge_bind) {
		free(c->bridge_bind);
		if (!(c->bridge_bind = strdup(o->bridge_bind)))
			return -ENOMEM;
	}
	if (o->n_bridge_origins) {
		sx_strv_free(c->bridge_origins);
		c->bridge_origins = NULL;
		if (!streq(o->bridge_origins[0], "default") &&
		    !(c->bridge_origins = sx_strv_copy((char *const *)o->bridge_origins)))
			return -ENOMEM;
	}
	if (o->n_bridge_names) {
		sx_strv_free(c->bridge_names);
		c->bridge_names =
		    sx_strv_copy(streq(o->bridge_names[0], "none") ? NULL : (char *const *)o->bridge_names);
	}
	if (!c->bridge_names && !(c->bridge_names = calloc(1, sizeof(char *))))
		return -ENOMEM;
	return 0;
}

static int pick_addresses(const struct sx_options *o, const struct sx_config *current, struct sx_config *c)
{
	_cleanup_free_ uint32_t *used = NULL;
	uint32_t host, sandbox;
	size_t n = 0;
	const char *why;
	int r;

	if (o->host_ip) {
		(void)sx_ipv4_parse(o->host_ip, &host);
		(void)sx_ipv4_parse(o->sandbox_ip, &sandbox);
	} else if (current) {
		(void)sx_ipv4_parse(current->host_ip, &host);
		(void)sx_ipv4_parse(current->sandbox_ip, &sandbox);
	} else {
		r = sx_used_addresses(c->name, &used, &n);
		if (r < 0)
			return log_error_errno(r, "cannot list the host's addresses");
		/* sandbox0 owns the pool's first /30; others start after it. */
		r = sx_pair_allocate(used, n, SX_POOL_BASE + (streq(c->name, "sandbox0") ? 0 : 4), &host,
				     &sandbox);
		if (r < 0)
			return log_error_errno(
			    r, "no free /30 left in 10.200.0.0/16; pass --host-ip and --sandbox-ip");
	}
	if (sx_pair_check(host, sandbox, &why) < 0)
		return log_error_errno(-EINVAL, "--host-ip/--sandbox-ip: %s", why);
	sx_ipv4_format(host, c->host_ip);
	sx_ipv4_format(sandbox, c->sandbox_ip);
	return 0;
}

static int resolve_dns(const struct sx_options *o, const struct sx_policy *p, struct sx_config *c)
{
	_cleanup_free_ char *loop = NULL;
	const char *req = o->dns ? o->dns : "policy";
	int r;

	c->dns_requested = strdup(req);
	if (!c->dns_requested)
		return -ENOMEM;
	if (streq(req, "none") || (streq(req, "policy") && p->dns_mode == SX_DNS_NONE)) {
		c->dns_mode = SX_DNS_NONE;
		c->dns_servers = calloc(1, sizeof(char *));
		return c->dns_servers ? 0 : -ENOMEM;
	}
	if (streq(req, "filtered") || (streq(req, "policy") && p->dns_mode == SX_DNS_FILTERED)) {
		/* The sandbox asks the gateway on host-ip, which forwards only
		 * allowlisted names (to --resolver's servers). */
		c->dns_mode = SX_DNS_FILTERED;
		c->dns_servers = calloc(1, sizeof(char *));
		return c->dns_servers ? sx_strv_push(&c->dns_servers, c->host_ip) : -ENOMEM;
	}
	if (streq(req, "host") || (streq(req, "policy") && p->dns_mode == SX_DNS_HOST)) {
		c->dns_mode = SX_DNS_HOST;
		r = sx_host_resolvers(&c->dns_servers, &loop);
		if (r < 0)
			return log_error_errno(r, "cannot read the host's /etc/resolv.conf");
		if (!c->dns_servers[0])
			return log_error_errno(
			    -EINVAL,
			    "DNS: the host's resolvers are %s, which a network namespace cannot "
			    "reach; pass --dns with a reachable server, or --dns none",
			    loop ? loop : "not listed in /etc/resolv.conf");
		return 0;
	}
	c->dns_mode = SX_DNS_SERVERS;
	/* The policy's servers, or the --dns list. */
	if (!streq(req, "policy")) {
		c->dns_servers = sx_strv_split_commas(req);
		return c->dns_servers ? 0 : -ENOMEM;
	}
	c->dns_servers = calloc(1, sizeof(char *));
	if (!c->dns_servers)
		return -ENOMEM;
	for (size_t i = 0; p->dns_servers[i]; i++)
		if (sx_strv_push(&c->dns_servers, p->dns_servers[i]) < 0)
			return -ENOMEM;
	return 0;
}

int sx_desired_build(const struct sx_options *o, const struct sx_config *current, struct sx_config **ret,
		     struct sx_policy **ret_policy)
{
	_cleanup_config_ struct sx_config *c = calloc(1, sizeof(*c));
	_cleanup_policy_ struct sx_policy *p = NULL;
	bool named = streq(o->name, "sandbox0");
	struct sx_user existing;
	int r;

	if (!c)
		return -ENOMEM;
	if ((r = sx_config_init_paths(c, o->name)) < 0)
		return r;
	/* A policy directory is recorded by its absolute path. */
	c->policy = o->policy && strchr(o->policy, '/') ? realpath(o->policy, NULL)
							: strdup(o->policy ? o->policy : "default");
	if (!c->policy) {
		int e = errno;
		if (e == ENOMEM)
			return -ENOMEM;
		log_error("--policy %s: cannot find that directory: %s", o->policy, strerror(e));
		return -ENOENT;
	}
	if (!c->policy)
		return -ENOMEM;
	r = sx_policy_template_load(c->policy, &p);
	if (r < 0)
		return r;
	r = pick_addresses(o, current, c);
	if (r < 0)
		return r;

	if (o->user)
		c->user = strdup(o->user);
	else if (current)
		c->user = strdup(current->user);
	else
		c->user = named ? strdup("sandbox") : sx_strdupf("sandbox-%s", o->name);
	if (!c->user)
		return -ENOMEM;
	if (o->home)
		c->home = strdup(o->home);
	else if (current)
		c->home = strdup(current->home);
	else if (sx_user_lookup(c->user, &existing) == 0)
		c->home = strdup(existing.home); /* an existing user keeps its home */
	else
		c->home = sx_strdupf("/home/%s", c->user);
	if (!c->home)
		return -ENOMEM;
	c->openclaw_config = sx_strdupf("%s/.openclaw/openclaw.json", c->home);
	if (!c->openclaw_config)
		return -ENOMEM;

	c->openclaw_port = o->openclaw_port ? o->openclaw_port : current ? current->openclaw_port : 18789;
	c->llm_port = p->llm_port;
	c->egress_port = p->egress_port;
	c->health_port = 18792;
	c->auto_pair = !o->no_auto_pair;
	c->host_networking = !o->no_host_networking;
	c->guardrail = !o->no_guardrail;
	r = resolve_dns(o, p, c);
	if (r < 0)
		return r;
	/* Providers, rotation and CA are set by `sentrix provider` (or by
	 * hand), not by setup's flags: a re-run keeps them. */
	if (current && (r = sx_config_copy_gateway(c, current)) < 0)
		return r;
	if ((r = pick_bridge(o, current, c)) < 0)
		return r;
	/* --resolver sets the gateway's upstream DNS; omitted, a re-run keeps
	 * it and a new instance uses the host's ("host": empty list). */
	if (o->resolvers || !c->resolvers) {
		sx_strv_free(c->resolvers);
		c->resolvers = o->resolvers && !streq(o->resolvers, "host")
		    ? sx_strv_split_commas(o->resolvers)
		    : calloc(1, sizeof(char *));
		if (!c->resolvers)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(c);
	*ret_policy = TAKE_PTR(p);
	return 0;
}
