/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * config.h - an instance's desired state, /etc/sentrix/NAME/config.json.
 *
 * Setup writes it; up/down, status, the gateway and the launcher read it.
 * Every name and path another program needs is recorded here rather than
 * derived from the instance name, so nothing finds its objects by pattern.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "policy.h"
#include "util.h"

#define SX_CONFIG_VERSION 1

#define SX_ROTATE_MINS_DEFAULT 10
#define SX_POLICE_ESCALATION_DEFAULT "medium_above"

/* A police.escalation value: low_above, medium_above or high_only. */
bool sx_police_escalation_valid(const char *s);

/* An LLM upstream the gateway forwards /NAME/... to (`sentrix provider set`). */
struct sx_provider {
	char *name; /* route prefix and openclaw.json models.providers key */
	char *api; /* "openai-completions" or "anthropic-messages" */
	char *base_url; /* upstream, e.g. https://api.openai.com/v1 */
	char *key_env; /* secrets.env variable holding the real key */
	char **models; /* model ids (may be empty) */
	char *default_model; /* NULL: none */
};

struct sx_config {
	char *name;
	char *policy; /* template name the policy dir was seeded from */
	char host_ip[16], sandbox_ip[16];
	unsigned prefix_len;
	char *host_ifname, *sandbox_ifname;
	char *netns, *netns_path;
	char *nft_host_table, *nft_sandbox_table; /* table names, family inet */
	unsigned openclaw_port, llm_port, egress_port, health_port;
	char *dns_requested; /* "policy", "host", "none" or a comma list */
	enum sx_dns_mode dns_mode; /* effective */
	char **dns_servers; /* effective servers (may be empty) */
	char *user, *home, *gateway_user;
	bool auto_pair, host_networking, guardrail;
	char *etc_dir, *config_path, *policy_dir, *secrets_path, *state_dir, *journal_path, *log_dir,
	    *resolv_conf, *openclaw_config;
	/* Gateway settings ("gateway" in config.json). */
	char *token_path; /* /etc/sentrix/NAME/gateway.token, 0600 gateway user */
	struct sx_provider *providers;
	size_t n_providers;
	char *ca_file; /* extra CA bundle for upstream TLS; NULL: system CAs only */
	unsigned rotate_mins; /* capture file rotation period */
	char **resolvers; /* upstream DNS for the egress proxy and filtered DNS; empty: the host's */
	/* The investigator ("police" in config.json, docs/patrol.md). */
	char *police_escalation; /* "low_above", "medium_above" (default) or "high_only" */
	/* The browser bridge ("bridge" in config.json). */
	char *bridge_bind; /* listen address, default 127.0.0.1 */
	unsigned bridge_port; /* wss; 0: no bridge.  The trust page is port - 1. */
	char **bridge_origins; /* NULL: the built-in list */
	char **bridge_names; /* extra certificate names (DNS names or IPv4) */
	bool bridge_recorded; /* config.json had a "bridge" object (setup keeps it on re-runs) */
	/* Derived from the name (recorded under "paths" when present). */
	char *relay_socket; /* /run/sentrix/NAME/openclaw.sock: the netns relay to OpenClaw */
	/* /var/lib/sentrix/bridge.d/NAME, 0750 gateway user: certificate, device token, chat
	 * socket.  Not below /var/lib/sentrix/NAME, which is root's 0700 (the journal). */
	char *bridge_dir;
	char *device_key; /* /etc/sentrix/NAME/device.key: the bridge's Ed25519 seed, 0600 gateway user */
};

#define SX_BRIDGE_PORT_DEFAULT 8766
/* Other instances' default: the lowest free even port from here (pairs N-1, N). */
#define SX_BRIDGE_PORT_FIRST 8768
/* In bridge_dir: the deviceToken OpenClaw gave the bridge (its presence
 * tells --disable there is a pairing to remove). */
#define SX_BRIDGE_DEVICE_TOKEN "device-token"
#define SX_BRIDGE_LIST_MAX 64 /* origins, names */

/* An Origin the bridge may allow: http:// or https://, a host (DNS name,
 * IPv4 or [IPv6]), an optional port, nothing after but one "/". */
bool sx_bridge_origin_valid(const char *s);
/* A certificate name: a DNS name (labels of [A-Za-z0-9-], at most 253
 * characters) or an IPv4 address. */
bool sx_bridge_name_valid(const char *s);
/* Copies the bridge settings (bind, port, origins, names) from src. */
int sx_config_copy_bridge(struct sx_config *dst, const struct sx_config *src);

/* The provider named name, or NULL. */
const struct sx_provider *sx_config_provider(const struct sx_config *c, const char *name);

/* Replaces the provider of the same name (in place) or appends one; p is
 * copied.  Returns 0 or -ENOMEM. */
int sx_config_set_provider(struct sx_config *c, const struct sx_provider *p);

/* Removes the named provider.  Returns 1 when there was one, else 0. */
int sx_config_remove_provider(struct sx_config *c, const char *name);

/* Copies the operator's gateway settings (providers, rotate_mins, ca_file,
 * police.escalation) from src, which setup re-runs keep.  Returns 0 or -ENOMEM. */
int sx_config_copy_gateway(struct sx_config *dst, const struct sx_config *src);

void sx_provider_clear(struct sx_provider *p);
int sx_provider_copy(struct sx_provider *dst, const struct sx_provider *src);

/* Input rules shared by config.json and `sentrix provider set`. */
#define SX_PROVIDER_MODELS_MAX 64
bool sx_provider_name_valid(const char *s); /* [a-z0-9][a-z0-9_-]{0,31} */
bool sx_provider_api_valid(const char *s); /* openai-completions, anthropic-messages */
bool sx_env_name_valid(const char *s); /* [A-Z_][A-Z0-9_]{0,127} */
bool sx_model_id_valid(const char *s); /* 1-200 printable characters, no space */
/* An http:// or https:// URL with a host, no credentials, no whitespace.
 * Returns true, or false with *why set to a static reason. */
bool sx_url_valid(const char *url, const char **why);
/* The default key variable: "my-llm" -> "MY_LLM_API_KEY" (caller frees). */
char *sx_provider_default_key_env(const char *name);

void sx_config_free(struct sx_config *c);
static inline void sx_config_freep(struct sx_config **c)
{
	if (*c)
		sx_config_free(*c);
}
#define _cleanup_config_ __attribute__((cleanup(sx_config_freep)))

/* Fills every derived name and path for an instance name. */
int sx_config_init_paths(struct sx_config *c, const char *name);

cJSON *sx_config_to_json(const struct sx_config *c);
int sx_config_from_json(const cJSON *j, struct sx_config **ret, char **why);

/* Loads /etc/sentrix/NAME/config.json; -ENOENT when the instance has none. */
int sx_config_load(const char *name, struct sx_config **ret, char **why);
int sx_config_load_path(const char *path, struct sx_config **ret, char **why);

/* True when every field that defines the instance's identity (name, IPs,
 * user, home, ports) is equal; policy and DNS may differ. */
bool sx_config_same_identity(const struct sx_config *a, const struct sx_config *b, const char **what);
