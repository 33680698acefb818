/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * policy.c - policy.json parsing and validation.
 *
 * Validation is strict: an unknown key is an error, not a warning, because
 * a misspelt key in a security policy silently falls back to a default the
 * operator did not choose.  Every error names the key path.
 */
#include <ctype.h>
#include <stdarg.h>

#include "fileio.h"
#include "jsonutil.h"
#include "allowlist.h"
#include "config.h"
#include "netaddr.h"
#include "policy.h"

static const char *const dns_mode_names[] = {
    [SX_DNS_NONE] = "none",
    [SX_DNS_HOST] = "host",
    [SX_DNS_SERVERS] = "servers",
    [SX_DNS_FILTERED] = "filtered",
    NULL, /* terminates the list for get_string() */
};

const char *sx_dns_mode_name(enum sx_dns_mode m)
{
	return m < ELEMENTSOF(dns_mode_names) - 1 ? dns_mode_names[m] : "?";
}

int sx_dns_mode_from_name(const char *s, enum sx_dns_mode *ret)
{
	for (size_t i = 0; dns_mode_names[i]; i++)
		if (streq(s, dns_mode_names[i])) {
			*ret = (enum sx_dns_mode)i;
			return 0;
		}
	return -EINVAL;
}

bool sx_policy_routes(const struct sx_policy *p, enum sx_dns_mode effective_dns)
{
	/* "filtered" DNS is answered by the gateway on host-ip: nothing routed. */
	return (effective_dns != SX_DNS_NONE && effective_dns != SX_DNS_FILTERED) ||
	    p->n_routed_tcp_ports > 0;
}

void sx_policy_free(struct sx_policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->description);
	sx_strv_free(p->dns_servers);
	free(p->routed_tcp_ports);
	free(p->egress_ports);
	sx_strv_free(p->allow_ranges);
	sx_strv_free(p->domains);
	sx_strv_free(p->fs_read_only);
	sx_strv_free(p->fs_hidden);
	sx_strv_free(p->fs_writable);
	free(p->seccomp_profile);
	sx_strv_free(p->seccomp_deny);
	free(p->exec_security);
	free(p->sandbox_mode);
	free(p->dm_policy);
	free(p->guardrail_mode);
	free(p->guardrail_fail_mode);
	sx_strv_free(p->patrol_packs);
	free(p->judge_provider);
	free(p->judge_model);
	free(p->judge_version);
	free(p);
}

struct vctx {
	char *why;
};

static int fail(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct vctx *v, const char *fmt, ...)
{
	va_list ap;

	if (!v->why) {
		va_start(ap, fmt);
		if (vasprintf(&v->why, fmt, ap) < 0)
			v->why = NULL;
		va_end(ap);
	}
	return -EINVAL;
}

/* Rejects members of obj not named in allowed[]. */
static int only_keys(struct vctx *v, const cJSON *obj, const char *where, const char *const *allowed)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj))
		return fail(v, "%s: must be an object", where);
	cJSON_ArrayForEach(it, obj)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (streq(it->string, allowed[i]))
				ok = true;
		if (!ok)
			return fail(v, "%s.%s: unknown key", where, it->string);
	}
	return 0;
}

static int get_string(struct vctx *v, const cJSON *obj, const char *where, const char *key,
		      const char *const *choices, const char *dflt, char **ret)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *s = dflt;

	if (it) {
		if (!cJSON_IsString(it))
			return fail(v, "%s.%s: must be a string", where, key);
		s = it->valuestring;
	}
	if (choices && s) {
		bool ok = false;
		for (size_t i = 0; choices[i]; i++)
			if (streq(s, choices[i]))
				ok = true;
		if (!ok)
			return fail(v, "%s.%s: \"%s\" is not one of the allowed values", where, key, s);
	}
	*ret = s ? strdup(s) : NULL;
	return s && !*ret ? -ENOMEM : 0;
}

typedef bool (*item_check)(const char *s);

static int get_strv(struct vctx *v, const cJSON *obj, const char *where, const char *key, item_check check,
		    const char *what, char ***ret)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key), *it;
	char **out = calloc(1, sizeof(char *));

	if (!out)
		return -ENOMEM;
	*ret = out;
	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return fail(v, "%s.%s: must be an array of strings", where, key);
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it))
			return fail(v, "%s.%s: must be an array of strings", where, key);
		if (check && !check(it->valuestring))
			return fail(v, "%s.%s: \"%s\" is not %s", where, key, it->valuestring, what);
		if (sx_strv_push(ret, it->valuestring) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int get_port(struct vctx *v, const cJSON *obj, const char *where, const char *key, unsigned dflt,
		    unsigned *ret)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	*ret = dflt;
	if (!it)
		return 0;
	if (!cJSON_IsNumber(it) || it->valuedouble != (double)(int)it->valuedouble || it->valueint < 1 ||
	    it->valueint > 65535)
		return fail(v, "%s.%s: must be a port number 1-65535", where, key);
	*ret = (unsigned)it->valueint;
	return 0;
}

static bool label_ok(const char *s, size_t n)
{
	if (n < 1 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* A domain pattern: a hostname, or "*." followed by a hostname.  "*" alone
 * and wildcards in other positions are refused: they would not mean what
 * they seem to. */
static bool domain_pattern_ok(const char *s)
{
	const char *p = s;
	size_t len;

	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	len = strlen(p);
	if (len > 0 && p[len - 1] == '.')
		len--; /* one trailing dot is ignored */
	if (len > 0 && p[len - 1] == '.')
		return false;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len;) {
		const char *dot = memchr(p + i, '.', len - i);
		size_t n = dot ? (size_t)(dot - (p + i)) : len - i;
		if (!label_ok(p + i, n))
			return false;
		i += n + 1;
	}
	return true;
}

/* An absolute or ~/ path; a leading '-' marks it optional (it may be
 * missing on a host, as systemd's InaccessiblePaths=-/path). */
static bool path_ok(const char *s)
{
	size_t n;

	if (s[0] == '-')
		s++;
	n = strlen(s);

	if (s[0] != '/' && !(s[0] == '~' && (s[1] == 0 || s[1] == '/')))
		return false;
	return !strstr(s, "/../") && !(n >= 3 && streq(s + n - 3, "/.."));
}

static bool syscall_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* A whole number >= 0 at where.key (limits.*: 0 means unlimited). */
static int get_count(struct vctx *v, const cJSON *obj, const char *where, const char *key, unsigned long dflt,
		     unsigned long *ret)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	*ret = dflt;
	if (!it)
		return 0;
	if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 1e12 ||
	    it->valuedouble != (double)(unsigned long)it->valuedouble)
		return fail(v, "%s.%s: must be a whole number >= 0", where, key);
	*ret = (unsigned long)it->valuedouble;
	return 0;
}

static bool ipv4_ok(const char *s)
{
	uint32_t a;
	return sx_ipv4_parse(s, &a) == 0;
}

static bool cidr_ok(const char *s)
{
	struct sx_cidr c;
	return sx_cidr_parse(s, &c) == 0;
}

/* An array of port numbers under eg.key; dflt (0-terminated) when absent
 * (NULL: none). */
static int get_ports(struct vctx *v, const cJSON *eg, const char *key, const unsigned *dflt, unsigned **ret,
		     size_t *n_ret)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(eg, key), *it;
	size_t n = 0;

	if (arr && !cJSON_IsArray(arr))
		return fail(v, "egress.%s: must be an array of port numbers", key);
	while (!arr && dflt && dflt[n])
		n++;
	*ret = calloc((arr ? (size_t)cJSON_GetArraySize(arr) : n) + 1, sizeof(unsigned));
	if (!*ret)
		return -ENOMEM;
	*n_ret = 0;
	if (!arr) {
		for (size_t i = 0; i < n; i++)
			(*ret)[(*n_ret)++] = dflt[i];
		return 0;
	}
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsNumber(it) || it->valueint < 1 || it->valueint > 65535 ||
		    it->valuedouble != (double)it->valueint)
			return fail(v, "egress.%s: must be an array of port numbers", key);
		(*ret)[(*n_ret)++] = (unsigned)it->valueint;
	}
	return 0;
}

static int parse_egress(struct vctx *v, const cJSON *eg, struct sx_policy *p)
{
	static const char *const keys[] = {"gateway_ports", "dns",	    "routed_tcp_ports", "domains",
					   "ports",	    "allow_ranges", "idle_secs",	NULL};
	static const unsigned default_ports[] = {443, 0};
	static const char *const gw_keys[] = {"llm", "egress", NULL};
	static const char *const dns_keys[] = {"mode", "servers", NULL};
	const cJSON *gw, *dns;
	_cleanup_free_ char *mode = NULL;
	unsigned long idle;
	int r;

	if ((r = only_keys(v, eg, "egress", keys)) < 0)
		return r;
	gw = cJSON_GetObjectItemCaseSensitive(eg, "gateway_ports");
	if (gw && (r = only_keys(v, gw, "egress.gateway_ports", gw_keys)) < 0)
		return r;
	if ((r = get_port(v, gw, "egress.gateway_ports", "llm", 18790, &p->llm_port)) < 0 ||
	    (r = get_port(v, gw, "egress.gateway_ports", "egress", 18791, &p->egress_port)) < 0)
		return r;
	if (p->llm_port == p->egress_port)
		return fail(v, "egress.gateway_ports: llm and egress must differ");

	dns = cJSON_GetObjectItemCaseSensitive(eg, "dns");
	if (!dns)
		return fail(v, "egress.dns: missing (say {\"mode\": \"none\"} for no DNS)");
	if ((r = only_keys(v, dns, "egress.dns", dns_keys)) < 0)
		return r;
	if ((r = get_string(v, dns, "egress.dns", "mode", dns_mode_names, NULL, &mode)) < 0)
		return r;
	if (!mode)
		return fail(v, "egress.dns.mode: missing (none, host, servers or filtered)");
	(void)sx_dns_mode_from_name(mode, &p->dns_mode);
	if ((r = get_strv(v, dns, "egress.dns", "servers", ipv4_ok, "an IPv4 address", &p->dns_servers)) < 0)
		return r;
	/* "servers": routed to these; "filtered": the gateway forwards allowed
	 * names to these (none listed: the host's resolvers). */
	if (p->dns_mode == SX_DNS_SERVERS && !p->dns_servers[0])
		return fail(v, "egress.dns.servers: mode \"servers\" needs at least one server");
	if (p->dns_mode != SX_DNS_SERVERS && p->dns_mode != SX_DNS_FILTERED && p->dns_servers[0])
		return fail(v, "egress.dns.servers: only meaningful with mode \"servers\" or \"filtered\"");

	if ((r = get_ports(v, eg, "routed_tcp_ports", NULL, &p->routed_tcp_ports, &p->n_routed_tcp_ports)) <
	    0)
		return r;
	if ((r = get_ports(v, eg, "ports", default_ports, &p->egress_ports, &p->n_egress_ports)) < 0)
		return r;
	if ((r = get_strv(v, eg, "egress", "allow_ranges", cidr_ok, "an address range (a.b.c.d/n or x::y/n)",
			  &p->allow_ranges)) < 0)
		return r;
	if ((r = get_count(v, eg, "egress", "idle_secs", 300, &idle)) < 0)
		return r;
	if (idle < 1 || idle > 86400)
		return fail(v, "egress.idle_secs: must be 1 to 86400 seconds");
	p->idle_secs = (unsigned)idle;
	return get_strv(v, eg, "egress", "domains", domain_pattern_ok, "a domain name or *.domain pattern",
			&p->domains);
}

bool sx_judge_version_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 32)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return false;
	return true;
}

/* patrol.judge: {"provider", "model", "max_tokens", "version"}; the first
 * two are required. */
static int parse_judge(struct vctx *v, const cJSON *j, struct sx_policy *p)
{
	static const char *const keys[] = {"provider", "model", "max_tokens", "version", NULL};
	unsigned long max_tokens;
	int r;

	if ((r = only_keys(v, j, "patrol.judge", keys)) < 0)
		return r;
	if ((r = get_string(v, j, "patrol.judge", "provider", NULL, NULL, &p->judge_provider)) < 0 ||
	    (r = get_string(v, j, "patrol.judge", "model", NULL, NULL, &p->judge_model)) < 0 ||
	    (r = get_string(v, j, "patrol.judge", "version", NULL, "1", &p->judge_version)) < 0)
		return r;
	if (!p->judge_provider || !sx_provider_name_valid(p->judge_provider))
		return fail(
		    v,
		    "patrol.judge.provider: missing or not a provider name ([a-z0-9][a-z0-9_-]{0,31}, "
		    "one of `sentrix provider list`)");
	if (!p->judge_model || !sx_model_id_valid(p->judge_model))
		return fail(v,
			    "patrol.judge.model: missing or not a model id (1-200 printable characters, "
			    "no space)");
	if (!sx_judge_version_valid(p->judge_version))
		return fail(v, "patrol.judge.version: must be 1-32 characters of [A-Za-z0-9._-]");
	if ((r = get_count(v, j, "patrol.judge", "max_tokens", SX_JUDGE_MAX_TOKENS_DEFAULT, &max_tokens)) < 0)
		return r;
	if (max_tokens < 1 || max_tokens > SX_JUDGE_MAX_TOKENS_MAX)
		return fail(v, "patrol.judge.max_tokens: must be 1 to %d", SX_JUDGE_MAX_TOKENS_MAX);
	p->judge_max_tokens = (unsigned)max_tokens;
	return 0;
}

static int parse_policy(struct vctx *v, const cJSON *root, struct sx_policy *p)
{
	static const char *const keys[] = {"name",     "description", "egress", "filesystem", "seccomp",
					   "openclaw", "guardrail",   "patrol", "limits",     NULL};
	static const char *const fs_keys[] = {"read_only", "hidden", "writable", NULL};
	static const char *const sc_keys[] = {"profile", "deny", NULL};
	static const char *const lim_keys[] = {"nofile", "nproc", "fsize_mb", NULL};
	static const char *const oc_keys[] = {"exec_security", "sandbox_mode", "dm_policy", NULL};
	static const char *const gr_keys[] = {"mode", "fail_mode", "refusal_status", NULL};
	static const char *const pt_keys[] = {"packs", "judge", NULL};
	static const char *const profiles[] = {"strict", "default", "permissive", NULL};
	/* Values from OpenClaw's config schema (tools.exec.security,
	 * agents.defaults.sandbox.mode, channels.*.dmPolicy). */
	static const char *const exec_values[] = {"deny", "allowlist", "full", NULL};
	static const char *const sandbox_values[] = {"off", NULL};
	static const char *const dm_values[] = {"pairing", "allowlist", "open", "disabled", NULL};
	static const char *const gr_values[] = {"observe", "block", NULL};
	static const char *const fail_values[] = {"open", "closed", NULL};
	static const char *const packs[] = {"pii", "secrets", "harm", "tools", NULL};
	const cJSON *eg, *fs, *sc, *oc, *gr, *pt, *lim;
	unsigned long refusal;
	int r;

	if ((r = only_keys(v, root, "policy", keys)) < 0)
		return r;
	if ((r = get_string(v, root, "policy", "name", NULL, NULL, &p->name)) < 0 ||
	    (r = get_string(v, root, "policy", "description", NULL, "", &p->description)) < 0)
		return r;
	if (!p->name || !sx_name_valid(p->name))
		return fail(v, "policy.name: missing or not [a-z0-9-]{1,11}");

	eg = cJSON_GetObjectItemCaseSensitive(root, "egress");
	if (!eg)
		return fail(v, "policy.egress: missing");
	if ((r = parse_egress(v, eg, p)) < 0)
		return r;

	fs = cJSON_GetObjectItemCaseSensitive(root, "filesystem");
	if (fs && (r = only_keys(v, fs, "filesystem", fs_keys)) < 0)
		return r;
	if ((r = get_strv(v, fs, "filesystem", "read_only", path_ok, "an absolute or ~/ path",
			  &p->fs_read_only)) < 0 ||
	    (r = get_strv(v, fs, "filesystem", "hidden", path_ok, "an absolute or ~/ path", &p->fs_hidden)) <
		0 ||
	    (r = get_strv(v, fs, "filesystem", "writable", path_ok, "an absolute or ~/ path",
			  &p->fs_writable)) < 0)
		return r;

	sc = cJSON_GetObjectItemCaseSensitive(root, "seccomp");
	if (sc && (r = only_keys(v, sc, "seccomp", sc_keys)) < 0)
		return r;
	if ((r = get_string(v, sc, "seccomp", "profile", profiles, "default", &p->seccomp_profile)) < 0)
		return r;
	/* Names only; the launcher resolves them with libseccomp and refuses
	 * one this kernel's architectures do not know. */
	if ((r = get_strv(v, sc, "seccomp", "deny", syscall_name_ok, "a system call name",
			  &p->seccomp_deny)) < 0)
		return r;

	lim = cJSON_GetObjectItemCaseSensitive(root, "limits");
	if (lim && (r = only_keys(v, lim, "limits", lim_keys)) < 0)
		return r;
	if ((r = get_count(v, lim, "limits", "nofile", 1024, &p->limit_nofile)) < 0 ||
	    (r = get_count(v, lim, "limits", "nproc", 4096, &p->limit_nproc)) < 0 ||
	    (r = get_count(v, lim, "limits", "fsize_mb", 4096, &p->limit_fsize_mb)) < 0)
		return r;

	oc = cJSON_GetObjectItemCaseSensitive(root, "openclaw");
	if (oc && (r = only_keys(v, oc, "openclaw", oc_keys)) < 0)
		return r;
	if ((r = get_string(v, oc, "openclaw", "exec_security", exec_values, "deny", &p->exec_security)) <
		0 ||
	    (r = get_string(v, oc, "openclaw", "sandbox_mode", sandbox_values, "off", &p->sandbox_mode)) <
		0 ||
	    (r = get_string(v, oc, "openclaw", "dm_policy", dm_values, "pairing", &p->dm_policy)) < 0)
		return r;

	gr = cJSON_GetObjectItemCaseSensitive(root, "guardrail");
	if (gr && (r = only_keys(v, gr, "guardrail", gr_keys)) < 0)
		return r;
	if ((r = get_string(v, gr, "guardrail", "mode", gr_values, "observe", &p->guardrail_mode)) < 0 ||
	    (r = get_string(v, gr, "guardrail", "fail_mode", fail_values, "open", &p->guardrail_fail_mode)) <
		0 ||
	    (r = get_count(v, gr, "guardrail", "refusal_status", 403, &refusal)) < 0)
		return r;
	if (refusal != 403 && refusal != 400)
		return fail(v, "guardrail.refusal_status: must be 403 or 400");
	p->guardrail_refusal_status = (unsigned)refusal;

	pt = cJSON_GetObjectItemCaseSensitive(root, "patrol");
	if (pt && (r = only_keys(v, pt, "patrol", pt_keys)) < 0)
		return r;
	if ((r = get_strv(v, pt, "patrol", "packs", NULL, NULL, &p->patrol_packs)) < 0)
		return r;
	for (size_t i = 0; p->patrol_packs[i]; i++) {
		bool ok = false;
		for (size_t k = 0; packs[k]; k++)
			ok = ok || streq(packs[k], p->patrol_packs[i]);
		if (!ok)
			return fail(
			    v, "patrol.packs: \"%s\" is not a known rule pack (pii, secrets, harm, tools)",
			    p->patrol_packs[i]);
	}
	if (pt && cJSON_GetObjectItemCaseSensitive(pt, "judge") &&
	    (r = parse_judge(v, cJSON_GetObjectItemCaseSensitive(pt, "judge"), p)) < 0)
		return r;
	return 0;
}

int sx_policy_parse(const char *text, struct sx_policy **ret, char **why)
{
	_cleanup_cjson_ cJSON *root = NULL;
	struct vctx v = {0};
	struct sx_policy *p;
	int r;

	r = sx_json_parse(text, &root, why);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = parse_policy(&v, root, p);
	if (r < 0) {
		sx_policy_free(p);
		if (why)
			*why = v.why ? v.why : strdup("out of memory");
		else
			free(v.why);
		return r;
	}
	*ret = p;
	return 0;
}

int sx_policy_load(const char *path, struct sx_policy **ret, char **why)
{
	_cleanup_free_ char *file = NULL, *text = NULL;
	int r;

	if (strlen(path) > 5 && streq(path + strlen(path) - 5, ".json"))
		file = strdup(path);
	else
		file = sx_strdupf("%s/policy.json", path);
	if (!file)
		return -ENOMEM;
	r = sx_read_file(file, &text, NULL);
	if (r < 0) {
		if (why)
			*why = sx_strdupf("cannot read %s: %s", file, strerror(-r));
		return r;
	}
	r = sx_policy_parse(text, ret, why);
	if (r < 0 && why && *why) {
		char *w = sx_strdupf("%s: %s", file, *why);
		free(*why);
		*why = w;
	}
	return r;
}
