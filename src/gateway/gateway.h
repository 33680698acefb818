/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * gateway.h - the sidecar's shared state.  One sd-event loop drives
 * everything: the LLM proxy's own epoll set (evloop.c: its client
 * connections, httpserv.c, and provider connections, upclient.c), the
 * /health listener (libmicrohttpd in external-epoll mode, httpd.c), the
 * capture files' rotation and sync timers (capture.c), the egress proxy's
 * tunnels (egress.c, tunnel.c), DNS lookups (c-ares, resolver.c), the
 * filtered DNS forwarder (dns.c), signals and the systemd watchdog (main.c).  One thread, so no locks.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "../lib/config.h"
#include "metrics.h"

struct sx_httpd;
struct sx_evloop;
struct sx_llmproxy;
struct sx_capture;
struct sx_resolver;
struct sx_egress;
struct sx_egresslog;
struct sx_dns;
struct sx_bridge;
struct sx_patrol;
struct sx_guardrail;

struct sx_gateway {
	sd_event *loop;
	struct sx_evloop *evloop; /* the main loop; sd-event runs inside it (evloop.h) */
	char *name; /* instance */
	char *config_path;
	struct sx_config *config; /* replaced on SIGHUP */
	struct sx_policy *policy; /* the instance's policy.json, replaced on SIGHUP */
	char *token; /* the sandbox's credential (gateway.token) */
	char *secrets; /* secrets.env text */
	char *listen_host; /* --listen, else config host_ip */
	char *log_dir; /* --log-dir, else config log_dir */
	unsigned rotate_mins;
	unsigned grace_secs; /* SIGTERM: how long open streams may finish */
	unsigned dns_port; /* filtered DNS (53; --dns-port for tests) */
	bool no_reasoning;
	bool stopping;

	struct sx_llmproxy *llm;
	struct sx_httpd *health;
	struct sx_capture *capture;
	struct sx_resolver *resolver;
	struct sx_egress *egress;
	struct sx_egresslog *egresslog; /* egress.jsonl */
	struct sx_dns *dns;
	struct sx_bridge *bridge; /* NULL: no bridge (bridge.port 0) */
	struct sx_patrol *patrol; /* NULL: the policy names no rule packs */
	struct sx_guardrail *guardrail; /* NULL: guardrail.mode observe */
	const char *bridge_cert, *bridge_key; /* --cert/--key */
	struct sx_metrics metrics;

	uint64_t started_usec; /* CLOCK_MONOTONIC */
	unsigned open_calls;
	char *last_error;
};

/* Reads config.json, gateway.token and secrets.env into g (on start and on
 * SIGHUP).  Returns 0 or a negative errno after logging. */
int sx_gateway_load(struct sx_gateway *g);

/* The value of a secret, or NULL (caller frees). */
char *sx_gateway_secret(const struct sx_gateway *g, const char *var);

/* Sets last_error (/health) to the formatted text (load.c). */
void sx_gateway_set_error(struct sx_gateway *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --health: prints a running gateway's /health; exit status 0 ready,
 * 1 not ready, 3 not running (healthcheck.c). */
int sx_gateway_healthcheck(const char *config_path, const char *listen_host);

/* One-shot commands (oneshot.c): loads g's configuration (as root, first
 * becoming the instance's gateway user) and sets g->log_dir.  0 or a
 * negative errno (logged). */
int sx_gateway_oneshot_prepare(struct sx_gateway *g);
/* --investigate ID: a case file for flag (or case) ID now, by hand; prints
 * the case id.  0 or a negative errno (logged; -ENOENT: no such flag). */
int sx_gateway_investigate(struct sx_gateway *g, const char *flag_id);

/* Starts the /health and /metrics listener (health.c). */
int sx_health_start(struct sx_gateway *g);
