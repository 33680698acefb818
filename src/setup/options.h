/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * options.h - sentrix-setup's command line, parsed into one struct.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "../lib/config.h"

enum sx_command {
	SX_CMD_SETUP,
	SX_CMD_STATUS,
	SX_CMD_LIST,
	SX_CMD_UP,
	SX_CMD_DOWN,
	SX_CMD_EXEC,
	SX_CMD_RUN,
	SX_CMD_GC,
	SX_CMD_START,
	SX_CMD_STOP,
	SX_CMD_RESTART,
	SX_CMD_ENABLE,
	SX_CMD_DISABLE_BOOT,
	SX_CMD_JOURNAL,
	SX_CMD_PAIR,
	SX_CMD_PROVIDER_SET,
	SX_CMD_PROVIDER_LIST,
	SX_CMD_PROVIDER_REMOVE,
	SX_CMD_SECRETS_SET,
	SX_CMD_SECRETS_LIST,
	SX_CMD_SECRETS_REMOVE,
};

struct sx_options {
	enum sx_command command;
	const char *name;
	const char *policy; /* NULL: default */
	const char *sandbox_ip; /* NULL: current or allocated */
	const char *host_ip;
	const char *home;
	const char *user;
	unsigned openclaw_port; /* 0: current or 18789 */
	const char *dns; /* NULL: from the policy */
	const char *resolvers; /* --resolver: the gateway's upstream DNS; NULL: keep */
	/* The browser bridge; not given: keep what config.json records. */
	int bridge_port; /* --bridge-port: -1 not given, 0 no bridge, else 2-65535 */
	const char *bridge_bind; /* --bridge-bind IPV4 */
	const char *bridge_origins[SX_BRIDGE_LIST_MAX + 1]; /* --bridge-origin in order, NULL-terminated;
							   "default" alone: the built-in list */
	size_t n_bridge_origins;
	const char *bridge_names[SX_BRIDGE_LIST_MAX + 1]; /* --bridge-name; "none" alone: no extra name */
	size_t n_bridge_names;
	bool no_auto_pair, no_host_networking, no_guardrail;
	bool non_interactive, disable, dry_run, json, purge;
	bool help;
	/* exec */
	bool ephemeral;
	const char *cwd; /* NULL: the sandbox home */
	char **argv; /* the command, after "--" */
	/* journal */
	bool follow;
	unsigned lines; /* -n; 0: the default */
	/* provider, secrets */
	bool group_help; /* `sentrix provider --help`: every subcommand's text */
	const char *target; /* PROVIDER or VAR */
	const char *api, *base_url, *key_env, *default_model; /* NULL: not given */
	const char *models[SX_PROVIDER_MODELS_MAX + 1]; /* --model in order, no duplicates,
							   --default-model added; NULL-terminated */
	size_t n_models;
};

/* Parses argv.  Returns 0, or -EINVAL after printing a usage error (the
 * caller exits 2). */
int sx_options_parse(int argc, char **argv, struct sx_options *o);
void sx_options_usage(enum sx_command cmd);
/* --help: the command's text (every subcommand's for `provider --help`). */
void sx_options_help(const struct sx_options *o);
