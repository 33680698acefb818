/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * options.c - argument parsing for sentrix-setup.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "../lib/log.h"
#include "../lib/netaddr.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "options.h"

enum {
	OPT_POLICY = 256,
	OPT_SANDBOX_IP,
	OPT_HOST_IP,
	OPT_HOME,
	OPT_USER,
	OPT_OC_PORT,
	OPT_DNS,
	OPT_RESOLVER,
	OPT_NO_AUTO_PAIR,
	OPT_NO_HOST_NET,
	OPT_NO_GUARDRAIL,
	OPT_NON_INTERACTIVE,
	OPT_DISABLE,
	OPT_NAME,
	OPT_DRY_RUN,
	OPT_JSON,
	OPT_PURGE,
	OPT_CWD,
	OPT_EPHEMERAL,
	OPT_API,
	OPT_BASE_URL,
	OPT_KEY_ENV,
	OPT_MODEL,
	OPT_DEFAULT_MODEL,
	OPT_BRIDGE_PORT,
	OPT_BRIDGE_BIND,
	OPT_BRIDGE_ORIGIN,
	OPT_BRIDGE_NAME,
	OPT_FOLLOW = 'f',
	OPT_LINES = 'n',
};

static const struct option setup_opts[] = {
    {"policy", required_argument, NULL, OPT_POLICY},
    {"sandbox-ip", required_argument, NULL, OPT_SANDBOX_IP},
    {"host-ip", required_argument, NULL, OPT_HOST_IP},
    {"sandbox-home", required_argument, NULL, OPT_HOME},
    {"user", required_argument, NULL, OPT_USER},
    {"openclaw-port", required_argument, NULL, OPT_OC_PORT},
    {"dns", required_argument, NULL, OPT_DNS},
    {"resolver", required_argument, NULL, OPT_RESOLVER},
    {"no-auto-pair", no_argument, NULL, OPT_NO_AUTO_PAIR},
    {"no-host-networking", no_argument, NULL, OPT_NO_HOST_NET},
    {"no-guardrail", no_argument, NULL, OPT_NO_GUARDRAIL},
    {"non-interactive", no_argument, NULL, OPT_NON_INTERACTIVE},
    {"disable", no_argument, NULL, OPT_DISABLE},
    {"name", required_argument, NULL, OPT_NAME},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"json", no_argument, NULL, OPT_JSON},
    {"purge", no_argument, NULL, OPT_PURGE},
    {"cwd", required_argument, NULL, OPT_CWD},
    {"ephemeral", no_argument, NULL, OPT_EPHEMERAL},
    {"api", required_argument, NULL, OPT_API},
    {"base-url", required_argument, NULL, OPT_BASE_URL},
    {"key-env", required_argument, NULL, OPT_KEY_ENV},
    {"model", required_argument, NULL, OPT_MODEL},
    {"default-model", required_argument, NULL, OPT_DEFAULT_MODEL},
    {"bridge-port", required_argument, NULL, OPT_BRIDGE_PORT},
    {"bridge-bind", required_argument, NULL, OPT_BRIDGE_BIND},
    {"bridge-origin", required_argument, NULL, OPT_BRIDGE_ORIGIN},
    {"bridge-name", required_argument, NULL, OPT_BRIDGE_NAME},
    {"follow", no_argument, NULL, OPT_FOLLOW},
    {"lines", required_argument, NULL, OPT_LINES},
    {"help", no_argument, NULL, 'h'},
    {0},
};

void sx_options_usage(enum sx_command cmd)
{
	switch (cmd) {
	case SX_CMD_SETUP:
		fputs("Usage: sentrix sandbox setup [OPTIONS]\n"
		      "       sentrix sandbox setup --disable [--purge] [--name NAME]\n"
		      "\n"
		      "Provision (or roll back) a sentrix sandbox instance.  Needs root.\n"
		      "\n"
		      "  --policy default|strict|permissive|DIR  policy template, or a directory\n"
		      "                                       holding a policy.json (default: default)\n"
		      "  --sandbox-ip IP, --host-ip IP        veth ends, one /30 (sandbox0: 10.200.0.2/.1;\n"
		      "                                       others: first free /30 in 10.200.0.0/16)\n"
		      "  --sandbox-home DIR                   sandbox user's home (default /home/USER)\n"
		      "  --user NAME                          sandbox user (sandbox, or sandbox-NAME)\n"
		      "  --openclaw-port PORT                 OpenClaw gateway port in the netns (18789)\n"
		      "  --dns SERVERS|host|filtered|none     resolvers for the sandbox (default: policy)\n"
		      "  --resolver IP[,IP...]|host           upstream DNS of the gateway's egress proxy\n"
		      "                                       and filtered DNS (default: host's)\n"
		      "  --bridge-port N                      browser bridge WSS port, trust page on N-1;\n"
		      "                                       0: no bridge (sandbox0: 8766; others: the\n"
		      "                                       lowest free even port from 8768)\n"
		      "  --bridge-bind IPV4                   the bridge's listen address (127.0.0.1)\n"
		      "  --bridge-origin ORIGIN               a browser origin the bridge allows, as\n"
		      "                                       http[s]://HOST[:PORT]; repeat for more;\n"
		      "                                       replaces the built-in list (\"default\": it)\n"
		      "  --bridge-name NAME                   an extra DNS name or IPv4 address in the\n"
		      "                                       bridge's certificate; repeat for more\n"
		      "                                       (\"none\": no extra name)\n"
		      "  --no-auto-pair                       record that device pre-pairing is skipped\n"
		      "  --no-host-networking                 skip the host nftables table\n"
		      "  --no-guardrail                       no sidecar entries in openclaw.json\n"
		      "  --non-interactive                    do not ask for confirmation\n"
		      "  --disable                            roll the instance back\n"
		      "  --purge                              with --disable: also remove user, home,\n"
		      "                                       secrets and logs\n"
		      "  --name NAME                          instance name, [a-z0-9-]{1,11} (sandbox0)\n"
		      "  --dry-run                            print the plan, change nothing\n"
		      "  --json                               machine-readable result on stdout\n"
		      "  -h, --help                           this text\n"
		      "\n"
		      "Setup is declarative: the flags describe the desired state, and running it\n"
		      "again with other policy, DNS or --no-* flags reconciles the instance in place.\n"
		      "Addresses, user, home and port keep their current values when omitted and\n"
		      "need --disable first to change.  The --bridge-* settings keep theirs when\n"
		      "omitted and change in place when given.  Exit status: 0 done, 1 failed (host\n"
		      "left as it was), 2 usage error.\n",
		      stdout);
		break;
	case SX_CMD_STATUS:
		fputs("Usage: sentrix sandbox status [--name NAME] [--json]\n"
		      "\n"
		      "Check every piece of an instance against its config.json.  Exit status 0\n"
		      "only when nothing is missing or drifted.\n",
		      stdout);
		break;
	case SX_CMD_LIST:
		fputs("Usage: sentrix sandbox list [--json]\n\nList the instances on this host.\n", stdout);
		break;
	case SX_CMD_EXEC:
		fputs("Usage: sentrix sandbox exec [--name NAME] [--cwd DIR] -- CMD [ARGS...]\n"
		      "       sentrix sandbox exec --ephemeral [--policy P] [--cwd DIR] -- CMD [ARGS...]\n"

		      "\n"
		      "Run CMD confined in an instance (root): its network namespace; new mount, PID,\n"
		      "IPC and UTS namespaces; the system read-only, the home writable, private /tmp,\n"
		      "/dev/shm, /proc and /dev; the policy's hidden paths empty; the sandbox user with\n"
		      "no capabilities, no new privileges, the policy's rlimits and seccomp filter; a\n"
		      "scrubbed environment.  The exit status (or signal) of CMD is passed through.\n"
		      "\n"
		      "--ephemeral runs CMD in a throwaway instance of its own (name, /30, netns,\n"
		      "nftables, a transient uid with no /etc/passwd entry, a 512 MiB tmpfs home),\n"
		      "removed when CMD ends.  --policy picks its policy (default: default).\n",
		      stdout);
		break;
	case SX_CMD_RUN:
		fputs("Usage: sentrix sandbox run [--name NAME]\n"
		      "\n"
		      "Start the instance's OpenClaw gateway confined, in the foreground (root):\n"
		      "`sentrix sandbox exec --name NAME -- openclaw gateway --port PORT`, the command\n"
		      "sentrix-sandbox@NAME.service runs, plus the relay through which the sidecar\n"
		      "reaches OpenClaw on loopback in the netns (/run/sentrix/NAME/openclaw.sock,\n"
		      "user sentrix, 0600).  Root's way to start an instance by hand: nothing in the\n"
		      "sandbox user's home is run, sourced or trusted.\n",
		      stdout);
		break;
	case SX_CMD_PAIR:
		fputs("Usage: sentrix sandbox pair [--name NAME]\n"
		      "\n"
		      "Re-run and verify the browser bridge's pairing with the instance's OpenClaw\n"
		      "gateway (root): tells the running sentrix-gateway (SIGUSR1) to handshake with\n"
		      "OpenClaw again, pairing the device again if OpenClaw removed it, and waits up\n"
		      "to 90 s until the bridge reports the agent side connected.  Prints the device\n"
		      "id; exit 0 when connected, 1 otherwise (gateway or OpenClaw not running, no\n"
		      "bridge, pairing refused: the reason is printed).  Pairing needs no approval:\n"
		      "the bridge reaches OpenClaw on loopback through the relay `sentrix sandbox\n"
		      "run` starts.\n",
		      stdout);
		break;
	case SX_CMD_START:
	case SX_CMD_STOP:
	case SX_CMD_RESTART:
		fputs("Usage: sentrix sandbox start|stop|restart [--name NAME]\n"
		      "\n"
		      "Start, stop or restart an instance's systemd target, sentrix@NAME.target, and\n"
		      "with it its units (network, gateway, sandbox), over D-Bus; wait until they\n"
		      "are active (or inactive), at most 90 s.  Needs systemd running: without it,\n"
		      "`sentrix sandbox up` brings the network up and `sentrix sandbox run` starts\n"
		      "OpenClaw.  Exit status: 0 done, 1 failed (a unit failed: see `sentrix sandbox\n"
		      "status` and `sentrix sandbox journal`).\n",
		      stdout);
		break;
	case SX_CMD_ENABLE:
	case SX_CMD_DISABLE_BOOT:
		fputs("Usage: sentrix sandbox enable|disable-boot [--name NAME]\n"
		      "\n"
		      "Start sentrix@NAME.target at boot (enable), or not (disable-boot), as\n"
		      "`systemctl enable|disable` would.  The instance stays set up and running;\n"
		      "setup enables it, `setup --disable` rolls everything back.  Needs systemd.\n",
		      stdout);
		break;
	case SX_CMD_JOURNAL:
		fputs("Usage: sentrix sandbox journal [--name NAME] [-f] [-n N]\n"
		      "\n"
		      "The instance's lines in the systemd journal: what its units wrote, what\n"
		      "systemd said about them, and the gateway's (SENTRIX_INSTANCE=NAME).\n"
		      "\n"
		      "  -n, --lines N   the last N lines (default 50)\n"
		      "  -f, --follow    then keep printing new lines until interrupted\n",
		      stdout);
		break;
	case SX_CMD_GC:
		fputs("Usage: sentrix sandbox gc\n"
		      "\n"
		      "Remove what ephemeral instances whose launcher died left behind (host nftables\n"
		      "table, host-wide references, records).  Every --ephemeral start runs it first.\n",
		      stdout);
		break;
	case SX_CMD_UP:
	case SX_CMD_DOWN:
		fputs("Usage: sentrix sandbox up|down [--name NAME]\n"
		      "\n"
		      "Create (up) or remove (down) an instance's runtime pieces: network namespace,\n"
		      "veth pair, addresses, routes, nftables tables and sysctls, from its\n"
		      "config.json.  Idempotent; sentrix-netns@NAME.service runs them at boot.\n",
		      stdout);
		break;
	case SX_CMD_PROVIDER_SET:
		fputs("Usage: sentrix provider set [--name NAME] PROVIDER --api API --base-url URL\n"
		      "                            [--key-env VAR] [--model ID]... [--default-model ID]\n"
		      "\n"
		      "Record an LLM upstream for an instance's gateway and point OpenClaw at it\n"
		      "(root).  openclaw.json gets models.providers.PROVIDER with baseUrl\n"
		      "http://HOST_IP:LLM_PORT/PROVIDER (the gateway's LLM proxy) and the instance's\n"
		      "gateway token as apiKey; the gateway forwards to URL with the real key from\n"
		      "secrets.env, which never enters the sandbox.\n"
		      "\n"
		      "  PROVIDER             route and OpenClaw provider name, [a-z0-9][a-z0-9_-]{0,31}\n"
		      "  --api API            openai-completions or anthropic-messages\n"
		      "  --base-url URL       the upstream, http:// or https:// with a host\n"
		      "                       (e.g. https://api.openai.com/v1)\n"
		      "  --key-env VAR        secrets.env variable holding the real key, [A-Z_][A-Z0-9_]*\n"
		      "                       (default: PROVIDER upper-cased, '-' as '_', + _API_KEY)\n"
		      "  --model ID           a model OpenClaw may use; repeat for more (up to 64)\n"
		      "  --default-model ID   make PROVIDER/ID the agents' default model (added to the\n"
		      "                       models when missing; one provider holds the default)\n"
		      "  --name NAME          instance (default sandbox0)\n"
		      "\n"
		      "Declarative: the flags replace what was recorded for PROVIDER.  The same\n"
		      "command again changes nothing.  `sentrix secrets set VAR` stores the key.\n",
		      stdout);
		break;
	case SX_CMD_PROVIDER_LIST:
		fputs("Usage: sentrix provider list [--name NAME] [--json]\n"
		      "\n"
		      "An instance's providers: API, upstream URL, key variable and whether\n"
		      "secrets.env sets it, models, default model.\n",
		      stdout);
		break;
	case SX_CMD_PROVIDER_REMOVE:
		fputs("Usage: sentrix provider remove [--name NAME] PROVIDER\n"
		      "\n"
		      "Forget PROVIDER: it leaves config.json, and the openclaw.json keys it set go\n"
		      "back to the user's own values (removed where there were none).\n",
		      stdout);
		break;
	case SX_CMD_SECRETS_SET:
		fputs("Usage: sentrix secrets set [--name NAME] VAR < FILE\n"
		      "\n"
		      "Store VAR=VALUE in /etc/sentrix/NAME/secrets.env (mode 0600, gateway user\n"
		      "sentrix), replacing an earlier VAR.  The value is read from standard input,\n"
		      "never from the command line: one line (one trailing newline is dropped);\n"
		      "empty and multi-line values are refused.  On a terminal it is asked for\n"
		      "without echo.  Values are never printed.\n",
		      stdout);
		break;
	case SX_CMD_SECRETS_LIST:
		fputs("Usage: sentrix secrets list [--name NAME] [--json]\n"
		      "\n"
		      "The variable names in secrets.env (never the values), the providers using\n"
		      "each, and the key variables providers need that are not set.\n",
		      stdout);
		break;
	case SX_CMD_SECRETS_REMOVE:
		fputs("Usage: sentrix secrets remove [--name NAME] VAR\n"
		      "\n"
		      "Remove VAR from secrets.env; the other lines stay as they are.\n",
		      stdout);
		break;
	}
}

static const struct {
	const char *group, *word;
	enum sx_command cmd;
} subcommands[] = {
    {"provider", "set", SX_CMD_PROVIDER_SET},	    {"provider", "list", SX_CMD_PROVIDER_LIST},
    {"provider", "remove", SX_CMD_PROVIDER_REMOVE}, {"secrets", "set", SX_CMD_SECRETS_SET},
    {"secrets", "list", SX_CMD_SECRETS_LIST},	    {"secrets", "remove", SX_CMD_SECRETS_REMOVE},
};

/* "provider" or "secrets" for their commands, NULL for the others. */
static const char *group_of(enum sx_command cmd)
{
	for (size_t i = 0; i < ELEMENTSOF(subcommands); i++)
		if (subcommands[i].cmd == cmd)
			return subcommands[i].group;
	return NULL;
}

void sx_options_help(const struct sx_options *o)
{
	const char *group = group_of(o->command);
	bool first = true;

	if (!o->group_help || !group) {
		sx_options_usage(o->command);
		return;
	}
	for (size_t i = 0; i < ELEMENTSOF(subcommands); i++) {
		if (!streq(subcommands[i].group, group))
			continue;
		if (!first)
			fputc('\n', stdout);
		first = false;
		sx_options_usage(subcommands[i].cmd);
	}
}

/* The --help to point at after a usage error. */
static const char *help_hint(enum sx_command cmd)
{
	for (size_t i = 0; i < ELEMENTSOF(subcommands); i++)
		if (subcommands[i].cmd == cmd)
			return subcommands[i].group;
	return cmd == SX_CMD_SETUP ? "sandbox setup" : "sandbox";
}

static enum sx_command usage_cmd; /* for the hint; set by sx_options_parse() */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sentrix: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'sentrix %s --help'.\n", help_hint(usage_cmd));
	return -EINVAL;
}

static const struct {
	const char *word;
	enum sx_command cmd;
} commands[] = {
    {"setup", SX_CMD_SETUP},
    {"status", SX_CMD_STATUS},
    {"list", SX_CMD_LIST},
    {"up", SX_CMD_UP},
    {"down", SX_CMD_DOWN},
    {"exec", SX_CMD_EXEC},
    {"run", SX_CMD_RUN},
    {"gc", SX_CMD_GC},
    {"start", SX_CMD_START},
    {"stop", SX_CMD_STOP},
    {"restart", SX_CMD_RESTART},
    {"enable", SX_CMD_ENABLE},
    {"disable-boot", SX_CMD_DISABLE_BOOT},
    {"journal", SX_CMD_JOURNAL},
    {"pair", SX_CMD_PAIR},
};

/* The long name of an option value ("name" for OPT_NAME): argv[optind - 1]
 * is the option's argument when it takes one. */
static const char *option_name(int opt)
{
	for (size_t i = 0; setup_opts[i].name; i++)
		if (setup_opts[i].val == opt)
			return setup_opts[i].name;
	return "?";
}

static bool provider_set_opt(int opt)
{
	return opt == OPT_API || opt == OPT_BASE_URL || opt == OPT_KEY_ENV || opt == OPT_MODEL ||
	    opt == OPT_DEFAULT_MODEL;
}

/* Which options each command accepts, beyond --name/--json/--help. */
static bool allowed(enum sx_command cmd, int opt)
{
	if (group_of(cmd)) {
		if (opt == 'h' || opt == OPT_NAME)
			return true;
		if (opt == OPT_JSON)
			return cmd == SX_CMD_PROVIDER_LIST || cmd == SX_CMD_SECRETS_LIST;
		return cmd == SX_CMD_PROVIDER_SET && provider_set_opt(opt);
	}
	if (provider_set_opt(opt))
		return false;
	if (cmd == SX_CMD_EXEC)
		return opt == 'h' || opt == OPT_NAME || opt == OPT_CWD || opt == OPT_EPHEMERAL ||
		    opt == OPT_POLICY;
	if (opt == OPT_CWD || opt == OPT_EPHEMERAL)
		return false;
	if (cmd == SX_CMD_GC)
		return opt == 'h';
	if (cmd == SX_CMD_RUN || cmd == SX_CMD_PAIR || cmd == SX_CMD_START || cmd == SX_CMD_STOP ||
	    cmd == SX_CMD_RESTART || cmd == SX_CMD_ENABLE || cmd == SX_CMD_DISABLE_BOOT)
		return opt == 'h' || opt == OPT_NAME;
	if (cmd == SX_CMD_JOURNAL)
		return opt == 'h' || opt == OPT_NAME || opt == OPT_FOLLOW || opt == OPT_LINES;
	if (opt == OPT_FOLLOW || opt == OPT_LINES)
		return false;
	if (opt == 'h' || opt == OPT_NAME || opt == OPT_JSON)
		return cmd != SX_CMD_LIST || opt != OPT_NAME;
	return cmd == SX_CMD_SETUP;
}

/* Adds a --model (or the --default-model) unless listed already. */
static int add_model(struct sx_options *o, const char *id)
{
	for (size_t i = 0; i < o->n_models; i++)
		if (streq(o->models[i], id))
			return 0;
	if (!sx_model_id_valid(id))
		return usage_error("--model/--default-model: '%s' is not a model id (1-200 characters, no "
				   "spaces or control characters)",
				   id);
	if (o->n_models == SX_PROVIDER_MODELS_MAX)
		return usage_error("more than %d models for one provider", SX_PROVIDER_MODELS_MAX);
	o->models[o->n_models++] = id;
	o->models[o->n_models] = NULL;
	return 0;
}

/* Adds a --bridge-origin or --bridge-name (opt says which) unless listed
 * already; "default" and "none" are the words that reset each list. */
static int add_bridge_item(struct sx_options *o, int opt, const char *v)
{
	bool origin = opt == OPT_BRIDGE_ORIGIN;
	const char **list = origin ? o->bridge_origins : o->bridge_names;
	size_t *n = origin ? &o->n_bridge_origins : &o->n_bridge_names;

	for (size_t i = 0; i < *n; i++)
		if (streq(list[i], v))
			return 0;
	if (origin && !streq(v, "default") && !sx_bridge_origin_valid(v))
		return usage_error("--bridge-origin: '%s' is not an origin: http:// or https://, a host (DNS "
				   "name, IPv4 or [IPv6]), an optional :PORT, and no path but one trailing "
				   "'/' (e.g. https://chat.example.com)",
				   v);
	if (!origin && !streq(v, "none") && !sx_bridge_name_valid(v))
		return usage_error(
		    "--bridge-name: '%s' is not a DNS name ([A-Za-z0-9-] labels joined by '.', at most 253 "
		    "characters) or an IPv4 address",
		    v);
	if (*n == SX_BRIDGE_LIST_MAX)
		return usage_error("more than %d --bridge-%s values", SX_BRIDGE_LIST_MAX,
				   origin ? "origin" : "name");
	list[(*n)++] = v;
	list[*n] = NULL;
	return 0;
}

/* "provider WORD" / "secrets WORD": the command; 1 when argv[1] is neither
 * group, 0 when parsed (*used: words consumed), or a usage error. */
static int parse_group(int argc, char **argv, struct sx_options *o, int *used)
{
	const char *group = argv[1];
	bool known = false;

	for (size_t i = 0; i < ELEMENTSOF(subcommands); i++)
		known = known || streq(subcommands[i].group, group);
	if (!known)
		return 1;
	for (size_t i = 0; i < ELEMENTSOF(subcommands); i++)
		if (streq(subcommands[i].group, group)) {
			/* a bare group (or its --help) names its first command */
			o->command = usage_cmd = subcommands[i].cmd;
			break;
		}
	if (argc < 3 || streq(argv[2], "--help") || streq(argv[2], "-h")) {
		if (argc < 3)
			return usage_error("%s needs a command: set, list or remove", group);
		o->help = o->group_help = true;
		*used = 2;
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(subcommands); i++)
		if (streq(subcommands[i].group, group) && streq(subcommands[i].word, argv[2])) {
			o->command = usage_cmd = subcommands[i].cmd;
			*used = 2;
			return 0;
		}
	return usage_error("unknown %s command '%s' (set, list, remove)", group, argv[2]);
}

/* Checks the positional argument and flags of provider and secrets. */
static int check_group(struct sx_options *o)
{
	const char *why;
	bool needs_target = o->command != SX_CMD_PROVIDER_LIST && o->command != SX_CMD_SECRETS_LIST;
	bool provider = streq(group_of(o->command), "provider");

	if (needs_target && !o->target)
		return usage_error("%s",
				   provider ? "this command needs a PROVIDER name"
					    : "this command needs a variable name (VAR)");
	if (!needs_target && o->target)
		return usage_error("unexpected argument '%s'", o->target);
	if (o->target && provider && !sx_provider_name_valid(o->target))
		return usage_error("'%s' is not a valid provider name ([a-z0-9][a-z0-9_-]{0,31}: lower-case "
				   "letters, digits, '_' and '-', at most 32)",
				   o->target);
	if (o->target && !provider && !sx_env_name_valid(o->target))
		return usage_error("'%s' is not a valid variable name ([A-Z_][A-Z0-9_]*, at most 128)",
				   o->target);
	if (o->command != SX_CMD_PROVIDER_SET)
		return 0;
	if (!o->api)
		return usage_error("%s", "provider set needs --api openai-completions|anthropic-messages");
	if (!sx_provider_api_valid(o->api))
		return usage_error("--api: '%s' is not openai-completions or anthropic-messages", o->api);
	if (!o->base_url)
		return usage_error("%s",
				   "provider set needs --base-url URL (the upstream, e.g. "
				   "https://api.openai.com/v1)");
	if (!sx_url_valid(o->base_url, &why))
		return usage_error("--base-url: '%s' %s", o->base_url, why);
	if (o->key_env && !sx_env_name_valid(o->key_env))
		return usage_error(
		    "--key-env: '%s' is not a valid variable name ([A-Z_][A-Z0-9_]*, at most 128)",
		    o->key_env);
	if (o->default_model)
		return add_model(o, o->default_model);
	return 0;
}

/* A comma list of IPv4 addresses (or one of the words in alternatives). */
static int check_ipv4_list(const char *flag, const char *list, const char *alternatives)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;
	size_t n = 0;
	uint32_t a;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save), n++)
		if (sx_ipv4_parse(t, &a) < 0)
			return usage_error("%s: '%s' is not an IPv4 address (or use %s)", flag, t,
					   alternatives);
	if (n == 0)
		return usage_error("%s: '%s' names no server", flag, list);
	return 0;
}

/* An absolute path with no empty, "." or ".." component and no trailing
 * "/": one name for one place, as the journal and safepath.h need. */
static bool plain_absolute_path(const char *p)
{
	if (p[0] != '/' || !p[1])
		return false;
	for (const char *c = p + 1;;) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!*end)
			return true;
		c = end + 1;
	}
}

int sx_options_parse(int argc, char **argv, struct sx_options *o)
{
	uint32_t a;
	unsigned port;
	int c, r, used = 0;

	*o = (struct sx_options){.name = "sandbox0", .command = SX_CMD_SETUP, .bridge_port = -1};
	usage_cmd = SX_CMD_SETUP;
	if (argc > 1 && argv[1][0] != '-' && (c = parse_group(argc, argv, o, &used)) <= 0) {
		if (c < 0)
			return c;
		/* getopt starts at argv[1]: the last word taken becomes argv[0] */
		argv += used;
		argc -= used;
		if (o->group_help)
			return argc > 1 ? usage_error("unexpected argument '%s'", argv[1]) : 0;
	} else if (argc > 1 && argv[1][0] != '-') {
		size_t i;
		for (i = 0; i < ELEMENTSOF(commands); i++)
			if (streq(argv[1], commands[i].word))
				break;
		if (i == ELEMENTSOF(commands))
			return usage_error(
			    "unknown command '%s' (setup, status, list, up, down, exec, run, "
			    "start, stop, restart, enable, disable-boot, journal, gc, provider, "
			    "secrets)",
			    argv[1]);
		o->command = commands[i].cmd;
		argv++;
		argc--;
	}
	optind = 0; /* 0, not 1: also resets getopt's state inside grouped short options */
	opterr = 0;
	/* exec: stop at the command, whose own options are not ours. */
	while ((c = getopt_long(argc, argv, o->command == SX_CMD_EXEC ? "+h" : "hfn:", setup_opts, NULL)) !=
	       -1) {
		if (c == '?') {
			if (optopt > 0 && optopt < 256)
				return usage_error("unknown or incomplete option '-%c'", optopt);
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
		if (!allowed(o->command, c))
			return usage_error("option '--%s' does not apply to this command", option_name(c));
		switch (c) {
		case 'h': o->help = true; break;
		case OPT_POLICY: o->policy = optarg; break;
		case OPT_SANDBOX_IP: o->sandbox_ip = optarg; break;
		case OPT_HOST_IP: o->host_ip = optarg; break;
		case OPT_HOME: o->home = optarg; break;
		case OPT_USER: o->user = optarg; break;
		case OPT_OC_PORT:
			if (sx_parse_port(optarg, &o->openclaw_port) < 0)
				return usage_error("--openclaw-port: '%s' is not a port number 1-65535",
						   optarg);
			break;
		case OPT_DNS: o->dns = optarg; break;
		case OPT_RESOLVER: o->resolvers = optarg; break;
		case OPT_NO_AUTO_PAIR: o->no_auto_pair = true; break;
		case OPT_NO_HOST_NET: o->no_host_networking = true; break;
		case OPT_NO_GUARDRAIL: o->no_guardrail = true; break;
		case OPT_NON_INTERACTIVE: o->non_interactive = true; break;
		case OPT_DISABLE: o->disable = true; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_DRY_RUN: o->dry_run = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_PURGE: o->purge = true; break;
		case OPT_CWD: o->cwd = optarg; break;
		case OPT_EPHEMERAL: o->ephemeral = true; break;
		case OPT_API: o->api = optarg; break;
		case OPT_BASE_URL: o->base_url = optarg; break;
		case OPT_KEY_ENV: o->key_env = optarg; break;
		case OPT_DEFAULT_MODEL: o->default_model = optarg; break;
		case OPT_MODEL:
			if (add_model(o, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_BRIDGE_PORT:
			if (sx_parse_uint(optarg, 65535, &port) < 0 || port == 1)
				return usage_error(
				    "--bridge-port: '%s' is not 0 (no bridge) or a port number "
				    "2-65535 (the trust page takes the port below it)",
				    optarg);
			o->bridge_port = (int)port;
			break;
		case OPT_BRIDGE_BIND: o->bridge_bind = optarg; break;
		case OPT_BRIDGE_ORIGIN:
		case OPT_BRIDGE_NAME:
			if (add_bridge_item(o, c, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_FOLLOW: o->follow = true; break;
		case OPT_LINES:
			if (sx_parse_uint(optarg, 1000000, &o->lines) < 0 || o->lines == 0)
				return usage_error("-n/--lines: '%s' is not a number of lines (1-1000000)",
						   optarg);
			break;
		}
	}
	if (o->command == SX_CMD_EXEC && optind < argc) {
		o->argv = argv + optind;
		optind = argc;
	}
	if (group_of(o->command) && optind < argc)
		o->target = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (o->help)
		return 0;
	if (group_of(o->command) && check_group(o) < 0)
		return -EINVAL;
	if (o->policy && o->command == SX_CMD_EXEC && !o->ephemeral)
		return usage_error("%s",
				   "--policy goes with --ephemeral (an instance's policy is set by setup)");
	if (o->ephemeral && strcmp(o->name, "sandbox0") != 0)
		return usage_error("%s", "--ephemeral makes its own instance: drop --name");
	if (o->command == SX_CMD_EXEC && !o->argv)
		return usage_error(
		    "%s", "exec needs a command: sentrix sandbox exec [--name NAME] -- CMD [ARGS...]");
	if (o->cwd && o->cwd[0] != '/')
		return usage_error("--cwd: '%s' must be an absolute path", o->cwd);
	if (!sx_name_valid(o->name))
		return usage_error(
		    "--name: '%s' is not a valid instance name ([a-z0-9-], 1 to 11 characters, "
		    "not starting with '-')",
		    o->name);
	if (o->purge && !o->disable)
		return usage_error("%s", "--purge only goes with --disable");
	if (o->policy && !strchr(o->policy, '/') && !streq(o->policy, "default") &&
	    !streq(o->policy, "strict") && !streq(o->policy, "permissive"))
		return usage_error("--policy: '%s' is not one of default, strict, permissive, or a directory "
				   "path (with a /)",
				   o->policy);
	if (o->user && (!*o->user || strlen(o->user) > 31 || strpbrk(o->user, ":/\n ") || o->user[0] == '-'))
		return usage_error("--user: '%s' is not a valid user name", o->user);
	if (o->home && (!plain_absolute_path(o->home) || strpbrk(o->home, ":\n")))
		return usage_error("--sandbox-home: '%s' must be an absolute directory path other than /, "
				   "with no '.', '..', '//', trailing '/', ':' or newline",
				   o->home);
	if (o->sandbox_ip && sx_ipv4_parse(o->sandbox_ip, &a) < 0)
		return usage_error("--sandbox-ip: '%s' is not an IPv4 address", o->sandbox_ip);
	if (o->host_ip && sx_ipv4_parse(o->host_ip, &a) < 0)
		return usage_error("--host-ip: '%s' is not an IPv4 address", o->host_ip);
	if (!o->sandbox_ip != !o->host_ip)
		return usage_error("%s", "--sandbox-ip and --host-ip go together (one /30)");
	if (o->dns && !streq(o->dns, "host") && !streq(o->dns, "none") && !streq(o->dns, "filtered") &&
	    (r = check_ipv4_list("--dns", o->dns, "host, filtered, none")) < 0)
		return r;
	if (o->resolvers && !streq(o->resolvers, "host") &&
	    (r = check_ipv4_list("--resolver", o->resolvers, "host")) < 0)
		return r;
	if (o->bridge_bind && sx_ipv4_parse(o->bridge_bind, &a) < 0)
		return usage_error("--bridge-bind: '%s' is not an IPv4 address", o->bridge_bind);
	if (o->n_bridge_origins > 1 && sx_strv_contains((char **)o->bridge_origins, "default"))
		return usage_error("%s", "--bridge-origin default (the built-in list) goes alone");
	if (o->n_bridge_names > 1 && sx_strv_contains((char **)o->bridge_names, "none"))
		return usage_error("%s", "--bridge-name none (no extra name) goes alone");
	return 0;
}
