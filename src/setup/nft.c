/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * nft.c - render and apply sentrix's nftables tables.
 *
 * Rules are rendered as nft syntax and handed to libnftables in one buffer
 * ("add table; delete table; table {...}"), which the kernel commits as a
 * single transaction: there is no moment with the old table gone and the new
 * one not there yet.  The first rule's comment carries a fingerprint of the
 * rendered text so status can tell a table that matches the policy from a
 * stale or edited one (a rule comment, because nftables 1.0's JSON listing
 * leaves table comments out).
 */
#include <nftables/libnftables.h>

#include "dlsyms.h"
#include <stdarg.h>

#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "netns.h"
#include "nft.h"

struct emit {
	FILE *f;
	unsigned rules;
};

static void rule(struct emit *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rule(struct emit *e, const char *fmt, ...)
{
	va_list ap;

	fputs("\t\t", e->f);
	va_start(ap, fmt);
	vfprintf(e->f, fmt, ap);
	va_end(ap);
	fputc('\n', e->f);
	e->rules++;
}

void sx_ruleset_clear(struct sx_ruleset *rs)
{
	free(rs->text);
	*rs = (struct sx_ruleset){0};
}

/* "{ a, b }" for a set of addresses. */
static char *addr_set(char *const *v)
{
	_cleanup_free_ char *joined = sx_strv_join(v, ", ");
	return joined ? sx_strdupf("{ %s }", joined) : NULL;
}

static char *port_set(const unsigned *ports, size_t n)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	fputs("{ ", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%u", i ? ", " : "", ports[i]);
	fputs(" }", f);
	fclose(f);
	return s;
}

/* Drop rules shared by every chain that ends in "dropped and counted":
 * a rate-limited log line, then the named counter and the drop. */
static void drop_tail(struct emit *e, const char *name)
{
	rule(e, "limit rate 10/second burst 20 packets log prefix \"sentrix-%s-drop \" level info", name);
	rule(e, "counter name \"dropped\" drop");
}

#define TAG_MARK "@TAG@"

/* One table being rendered: the sets both tables use, and the body text. */
struct render {
	struct emit e;
	char *body;
	size_t len;
	char *gw; /* "{ llm, egress }" */
	char *dns; /* "{ servers }", or "" without DNS */
	char *routed; /* "{ ports }" */
};

static void render_free(struct render *rd)
{
	if (rd->e.f)
		fclose(rd->e.f);
	free(rd->body);
	free(rd->gw);
	free(rd->dns);
	free(rd->routed);
}

static int render_begin(const struct sx_config *c, const struct sx_policy *p, struct render *rd)
{
	unsigned gw_ports[] = {c->llm_port, c->egress_port};

	*rd = (struct render){0};
	rd->gw = port_set(gw_ports, ELEMENTSOF(gw_ports));
	rd->routed = port_set(p->routed_tcp_ports, p->n_routed_tcp_ports);
	rd->dns = c->dns_mode != SX_DNS_NONE && c->dns_servers && c->dns_servers[0] ? addr_set(c->dns_servers)
										    : strdup("");
	rd->e.f = open_memstream(&rd->body, &rd->len);
	if (!rd->gw || !rd->routed || !rd->dns || !rd->e.f)
		return -ENOMEM;
	fprintf(rd->e.f, "\tcounter dropped { }\n");
	return 0;
}

/* Closes the body, fingerprints it (it holds TAG_MARK in its first rule's
 * comment), puts the fingerprint in place of the mark and wraps the body in
 * its table. */
static int render_end(struct render *rd, const char *table, struct sx_ruleset *out)
{
	const char *mark;
	int r = fclose(rd->e.f);

	rd->e.f = NULL;
	if (r != 0 || !(mark = strstr(rd->body, TAG_MARK)))
		return -ENOMEM;
	sx_fingerprint(rd->body, strlen(rd->body), out->tag);
	out->rules = rd->e.rules;
	out->text = sx_strdupf("table inet %s {\n\tcomment \"sentrix instance table\"\n%.*s%s%s}\n", table,
			       (int)(mark - rd->body), rd->body, out->tag, mark + strlen(TAG_MARK));
	return out->text ? 0 : -ENOMEM;
}

/* DNS to the configured servers, when the instance has any. */
static void dns_rules(struct render *rd)
{
	if (!*rd->dns)
		return;
	rule(&rd->e, "ip daddr %s udp dport 53 accept", rd->dns);
	rule(&rd->e, "ip daddr %s tcp dport 53 accept", rd->dns);
}

int sx_nft_render_host(const struct sx_config *c, const struct sx_policy *p, struct sx_ruleset *out)
{
	_cleanup_(render_free) struct render rd = {0};
	struct emit *e = &rd.e;
	int r;

	r = render_begin(c, p, &rd);
	if (r < 0)
		return r;
	/* Packets from the sandbox to the host itself: only the gateway ports
	 * on host-ip.  The health port and every other host address stay shut. */
	fprintf(e->f, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n");
	rule(e, "iifname \"%s\" jump from_sandbox comment \"sentrix " TAG_MARK "\"", c->host_ifname);
	fprintf(e->f, "\t}\n\tchain from_sandbox {\n");
	rule(e, "ct state established,related accept");
	rule(e, "ip daddr %s tcp dport %s accept", c->host_ip, rd.gw);
	/* Filtered DNS: the gateway answers on host-ip:53 itself. */
	if (c->dns_mode == SX_DNS_FILTERED) {
		rule(e, "ip daddr %s udp dport 53 accept", c->host_ip);
		rule(e, "ip daddr %s tcp dport 53 accept", c->host_ip);
	}
	drop_tail(e, c->name);
	fprintf(e->f, "\t}\n");

	/* Routed packets: what the policy routes, nothing else; nobody but
	 * replies may enter the sandbox through forwarding (the host reaches
	 * it directly, through its own output path). */
	fprintf(e->f, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n");
	rule(e, "iifname \"%s\" jump sandbox_out", c->host_ifname);
	rule(e, "oifname \"%s\" jump sandbox_in", c->host_ifname);
	fprintf(e->f, "\t}\n\tchain sandbox_out {\n");
	rule(e, "ct state established,related accept");
	if (c->dns_mode != SX_DNS_FILTERED) /* filtered DNS is never routed */
		dns_rules(&rd);
	if (p->n_routed_tcp_ports)
		rule(e, "ip saddr %s tcp dport %s accept", c->sandbox_ip, rd.routed);
	drop_tail(e, c->name);
	fprintf(e->f, "\t}\n\tchain sandbox_in {\n");
	rule(e, "ct state established,related accept");
	rule(e, "counter name \"dropped\" drop");
	fprintf(e->f, "\t}\n");

	if (sx_policy_routes(p, c->dns_mode)) {
		fprintf(e->f,
			"\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; "
			"policy accept;\n");
		rule(e, "ip saddr %s oifname != \"%s\" masquerade", c->sandbox_ip, c->host_ifname);
		fprintf(e->f, "\t}\n");
	}
	return render_end(&rd, c->nft_host_table, out);
}

int sx_nft_render_sandbox(const struct sx_config *c, const struct sx_policy *p, struct sx_ruleset *out)
{
	_cleanup_(render_free) struct render rd = {0};
	struct emit *e = &rd.e;
	int r;

	r = render_begin(c, p, &rd);
	if (r < 0)
		return r;
	/* The same allowlist, enforced a second time inside the namespace:
	 * it holds even when the host table is skipped (--no-host-networking). */
	fprintf(e->f, "\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n");
	rule(e, "oifname \"lo\" accept comment \"sentrix " TAG_MARK "\"");
	rule(e, "ct state established,related accept");
	rule(e, "ip daddr %s tcp dport %s accept", c->host_ip, rd.gw);
	dns_rules(&rd);
	if (p->n_routed_tcp_ports)
		rule(e, "ip daddr != %s tcp dport %s accept", c->host_ip, rd.routed);
	drop_tail(e, c->name);
	fprintf(e->f, "\t}\n");
	fprintf(e->f, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n");
	rule(e, "iifname \"lo\" accept");
	rule(e, "ct state established,related accept");
	rule(e, "ip saddr %s tcp dport %u accept", c->host_ip, c->openclaw_port);
	rule(e, "counter name \"dropped\" drop");
	fprintf(e->f, "\t}\n");
	return render_end(&rd, c->nft_sandbox_table, out);
}

struct sx_nft {
	struct nft_ctx *ctx;
};

/* libnftables, opened on first use (dlsyms.h says why). */
static struct {
	__typeof__(&nft_ctx_new) ctx_new;
	__typeof__(&nft_ctx_free) ctx_free;
	__typeof__(&nft_ctx_buffer_output) buffer_output;
	__typeof__(&nft_ctx_buffer_error) buffer_error;
	__typeof__(&nft_ctx_output_set_flags) output_set_flags;
	__typeof__(&nft_run_cmd_from_buffer) run_cmd_from_buffer;
	__typeof__(&nft_ctx_get_output_buffer) get_output_buffer;
	__typeof__(&nft_ctx_get_error_buffer) get_error_buffer;
} nft;

static int nft_load(void)
{
	static void *handle;
	const struct sx_dlsym syms[] = {
	    {"nft_ctx_new", (void **)&nft.ctx_new},
	    {"nft_ctx_free", (void **)&nft.ctx_free},
	    {"nft_ctx_buffer_output", (void **)&nft.buffer_output},
	    {"nft_ctx_buffer_error", (void **)&nft.buffer_error},
	    {"nft_ctx_output_set_flags", (void **)&nft.output_set_flags},
	    {"nft_run_cmd_from_buffer", (void **)&nft.run_cmd_from_buffer},
	    {"nft_ctx_get_output_buffer", (void **)&nft.get_output_buffer},
	    {"nft_ctx_get_error_buffer", (void **)&nft.get_error_buffer},
	};

	return sx_dlsyms(&handle, "libnftables.so.1", syms, ELEMENTSOF(syms));
}

int sx_nft_open(int netns_fd, struct sx_nft **ret)
{
	_cleanup_close_ int saved = -EBADF;
	struct sx_nft *n;
	int r = 0;

	r = nft_load();
	if (r < 0)
		return r;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	/* The context's netlink socket is opened in nft_ctx_new(), so it
	 * belongs to the namespace we are in at that moment. */
	if (netns_fd >= 0 && (r = sx_netns_enter(netns_fd, &saved)) < 0) {
		free(n);
		return r;
	}
	n->ctx = nft.ctx_new(NFT_CTX_DEFAULT);
	r = sx_netns_leave(&saved);
	if (!n->ctx || r < 0) {
		sx_nft_close(n);
		return r < 0 ? r : log_error_errno(-ENOMEM, "cannot create an nftables context");
	}
	nft.buffer_output(n->ctx);
	nft.buffer_error(n->ctx);
	*ret = n;
	return 0;
}

void sx_nft_close(struct sx_nft *n)
{
	if (!n)
		return;
	if (n->ctx)
		nft.ctx_free(n->ctx);
	free(n);
}

/* Runs commands; *out receives the output (or, on -EIO, the error text). */
static int run_nft(struct sx_nft *n, const char *cmds, bool json, char **out)
{
	const char *text;
	int rc;

	nft.output_set_flags(n->ctx, json ? NFT_CTX_OUTPUT_JSON : 0);
	rc = nft.run_cmd_from_buffer(n->ctx, cmds);
	text = rc != 0 ? nft.get_error_buffer(n->ctx) : nft.get_output_buffer(n->ctx);
	if (out) {
		*out = strdup(text ? text : "");
		if (!*out)
			return -ENOMEM;
	}
	return rc != 0 ? -EIO : 0;
}

int sx_nft_apply(struct sx_nft *n, const char *table, const struct sx_ruleset *rs)
{
	_cleanup_free_ char *cmds = NULL, *err = NULL;
	int r;

	cmds = sx_strdupf("add table inet %s\ndelete table inet %s\n%s", table, table, rs->text);
	if (!cmds)
		return -ENOMEM;
	r = run_nft(n, cmds, false, &err);
	if (r == -EIO)
		return log_error_errno(r, "nftables refused table inet %s (is nf_tables available?): %s",
				       table, err ? err : "");
	return r;
}

int sx_nft_delete(struct sx_nft *n, const char *table)
{
	_cleanup_free_ char *cmds = sx_strdupf("delete table inet %s\n", table), *err = NULL;
	int r;

	if (!cmds)
		return -ENOMEM;
	/* nftables 1.0.6 has no "destroy": a missing table is an ENOENT
	 * error, which is what we wanted anyway. */
	r = run_nft(n, cmds, false, &err);
	if (r == -EIO && err && strstr(err, "No such file or directory"))
		return 0;
	if (r == -EIO)
		return log_error_errno(r, "cannot delete table inet %s: %s", table, err ? err : "");
	return r;
}

int sx_nft_inspect(struct sx_nft *n, const char *table, struct sx_nft_state *st)
{
	_cleanup_free_ char *cmds = NULL, *out = NULL;
	_cleanup_cjson_ cJSON *j = NULL;
	const cJSON *arr, *it;
	int r;

	*st = (struct sx_nft_state){0};
	cmds = sx_strdupf("list table inet %s", table);
	if (!cmds)
		return -ENOMEM;
	r = run_nft(n, cmds, true, &out);
	if (r == -EIO)
		return 0; /* no such table */
	if (r < 0)
		return r;
	j = cJSON_Parse(out);
	arr = cJSON_GetObjectItem(j, "nftables");
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *rl = cJSON_GetObjectItem(it, "rule");
		const cJSON *ctr = cJSON_GetObjectItem(it, "counter");
		if (cJSON_GetObjectItem(it, "table"))
			st->present = true;
		if (rl) {
			const char *cm = sx_json_str(rl, "comment");
			if (cm && strncmp(cm, "sentrix ", 8) == 0)
				snprintf(st->tag, sizeof(st->tag), "%s", cm + 8);
			st->rules++;
		}
		if (ctr && streq(sx_json_str(ctr, "name"), "dropped")) {
			const cJSON *pk = cJSON_GetObjectItem(ctr, "packets");
			if (cJSON_IsNumber(pk))
				st->dropped_packets = (uint64_t)pk->valuedouble;
		}
	}
	return 0;
}
