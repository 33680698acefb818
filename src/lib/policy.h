/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * policy.h - the sandbox policy: what the sandbox may reach, see and run.
 *
 * A policy is a directory holding policy.json (see policy/default/).  The
 * provisioner copies the chosen template to /etc/sentrix/NAME/policy/ and
 * every later decision reads that copy.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "strv.h"
#include "util.h"

enum sx_dns_mode {
	SX_DNS_NONE, /* no resolver inside the sandbox */
	SX_DNS_HOST, /* the host's own resolvers, routed */
	SX_DNS_SERVERS, /* the listed servers, routed */
	SX_DNS_FILTERED, /* the gateway on host-ip answers allowlisted names only */
};

struct sx_policy {
	char *name;
	char *description;
	unsigned llm_port; /* LLM proxy port on host-ip */
	unsigned egress_port; /* egress proxy port on host-ip */
	enum sx_dns_mode dns_mode;
	char **dns_servers; /* SX_DNS_SERVERS */
	unsigned *routed_tcp_ports; /* ports routed to anywhere (permissive) */
	size_t n_routed_tcp_ports;
	char **domains; /* egress proxy allowlist */
	unsigned *egress_ports; /* ports the egress proxy connects to (default 443) */
	size_t n_egress_ports;
	char **allow_ranges; /* address ranges the proxy may reach despite their class */
	unsigned idle_secs; /* a tunnel idle this long is closed */
	char **fs_read_only, **fs_hidden, **fs_writable; /* "-/path": optional */
	char *seccomp_profile;
	char **seccomp_deny; /* syscall names answered with EPERM */
	unsigned long limit_nofile, limit_nproc, limit_fsize_mb; /* 0: unlimited */
	char *exec_security; /* OpenClaw tools.exec.security */
	char *sandbox_mode; /* OpenClaw agents.defaults.sandbox.mode */
	char *dm_policy; /* OpenClaw DM pairing policy */
	char *guardrail_mode; /* "observe" or "block" (the LLM proxy refuses what the packs find) */
	char *guardrail_fail_mode; /* "open" or "closed": when the guardrail cannot scan */
	unsigned guardrail_refusal_status; /* 403 (default) or 400: the status a blocked request gets */
	char **patrol_packs;
	/* patrol.judge: the optional LLM judge (docs/patrol.md, "Judge").
	 * judge_provider NULL: no judge.  The provider must be one of the
	 * gateway config's; the gateway checks that at start. */
	char *judge_provider, *judge_model;
	char *judge_version; /* "1" unless given */
	unsigned judge_max_tokens;
};

#define SX_JUDGE_MAX_TOKENS_DEFAULT 512
#define SX_JUDGE_MAX_TOKENS_MAX 65536
/* A judge version: [A-Za-z0-9._-]{1,32}. */
bool sx_judge_version_valid(const char *s);

void sx_policy_free(struct sx_policy *p);
static inline void sx_policy_freep(struct sx_policy **p)
{
	if (*p)
		sx_policy_free(*p);
}
#define _cleanup_policy_ __attribute__((cleanup(sx_policy_freep)))

/* Parses and validates policy JSON text.  On -EINVAL *why names the key and
 * the rule broken (caller frees). */
int sx_policy_parse(const char *text, struct sx_policy **ret, char **why);

/* Loads DIR/policy.json (or a file path directly). */
int sx_policy_load(const char *path, struct sx_policy **ret, char **why);

const char *sx_dns_mode_name(enum sx_dns_mode m);
int sx_dns_mode_from_name(const char *s, enum sx_dns_mode *ret);

/* True when the policy makes the host route packets for the sandbox. */
bool sx_policy_routes(const struct sx_policy *p, enum sx_dns_mode effective_dns);
