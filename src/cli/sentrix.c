/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * sentrix.c - the front door.
 *
 *   sentrix sandbox ...     exec sentrix-setup (root)
 *   sentrix provider ...    exec sentrix-setup (root)
 *   sentrix secrets ...     exec sentrix-setup (root)
 *   sentrix gateway ...     exec sentrix-gateway
 *   sentrix policy check    validate a policy, in-process
 *   sentrix logs ...        list/print/follow captured LLM calls, in-process (logs.c)
 *   sentrix flags ...       the patrol's flags, in-process (flags.c)
 *   sentrix police|patrol   case files and patrol state (police.c; investigate
 *                           and rescan exec sentrix-gateway)
 *   sentrix chat ...        talk to the agent through the bridge (chat.c)
 *
 * The privileged work stays in sentrix-setup; this program parses no more
 * than the first word, so it can be run by anyone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/allowlist.h"
#include "../lib/cliutil.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/policy.h"
#include "../lib/rulepack.h"
#include "../lib/util.h"
#include "../gateway/scan.h"
#include "chat.h"
#include "flags.h"
#include "logs.h"
#include "police.h"

#ifndef SX_VERSION
#define SX_VERSION "0.1.0"
#endif

static void usage(void)
{
	fputs("Usage: sentrix COMMAND ...\n"
	      "\n"
	      "Commands:\n"
	      "  sandbox setup [OPTIONS]       provision an instance (root); --disable rolls back\n"
	      "  sandbox status [--name N]     check every piece of an instance\n"
	      "  sandbox list                  list instances\n"
	      "  sandbox up|down [--name N]    create/remove an instance's runtime network\n"
	      "  sandbox exec [--name N] -- CMD  run CMD confined in an instance (root)\n"
	      "  sandbox run [--name N]        start the instance's OpenClaw confined (root)\n"
	      "  sandbox start|stop|restart [--name N]\n"
	      "                                drive sentrix@N.target through systemd (root)\n"
	      "  sandbox enable|disable-boot [--name N]\n"
	      "                                start the target at boot, or not (root)\n"
	      "  sandbox journal [--name N] [-f] [-n N]\n"
	      "                                the instance's lines in the systemd journal\n"
	      "  sandbox gc                    clean up after killed ephemeral jobs (root)\n"
	      "  provider set|list|remove      the gateway's LLM upstreams and OpenClaw's view of\n"
	      "                                them (root)\n"
	      "  secrets set|list|remove       upstream keys in secrets.env; values on stdin (root)\n"
	      "  policy check PATH|TEMPLATE    validate a policy directory or policy.json\n"
	      "  logs [--name N] [--tail N] [--since T] [--follow] [--json]\n"
	      "                                list, print or follow captured LLM calls\n"
	      "  flags [--name N] [--since T] [--severity S] [--category C] [--json]\n"
	      "                                what the patrol flagged in those calls\n"
	      "  police cases|show|investigate [--name N]\n"
	      "                                the investigator's case files\n"
	      "  patrol status|rescan [--name N]\n"
	      "                                the patrol's progress; review everything again\n"
	      "  chat [--name N] [-m MESSAGE]  talk to the agent through the gateway's bridge\n"
	      "                                (root and the sentrix group)\n"
	      "  gateway ...                   run the sidecar (sentrix-gateway)\n"
	      "  --version                     print the version\n"
	      "\n"
	      "`sentrix sandbox setup --help` describes the setup options; every command\n"
	      "takes --help.\n",
	      stdout);
}

static int exec_program(const char *prog, char **argv)
{
	return sx_cli_exec_program(prog, argv);
}

/* The patrol rule packs the policy at path names: they load, compile, and
 * every rule's examples come out as the rule says.  Returns the number of
 * rules, or a negative errno after saying what is wrong. */
static int check_packs(const char *path, const struct sx_policy *p)
{
	_cleanup_ruleset_ struct sx_ruleset *rs = NULL;
	_cleanup_free_ char *dir = NULL, *why = NULL, *report = NULL;
	struct sx_engine *e = NULL;
	struct stat st;
	int r;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		dir = strdup(path);
	else if (strrchr(path, '/'))
		dir = strndup(path, (size_t)(strrchr(path, '/') - path));
	else
		dir = strdup("."); /* a policy.json in the working directory */
	if (!dir)
		return -ENOMEM;
	r = sx_engine_load_policy(dir, p->patrol_packs, SX_SEV_LOW, &rs, &e, &why);
	if (r < 0) {
		log_error("policy invalid: %s", why ? why : strerror(-r));
		return r;
	}
	r = sx_engine_check_examples(e, &report);
	sx_engine_free(e);
	if (r != 0) {
		log_error("policy invalid: %d patrol rule example(s) come out wrong:\n%s", r,
			  report ? report : "out of memory");
		return -EINVAL;
	}
	return (int)rs->n_rules;
}

static int policy_check(int argc, char **argv)
{
	_cleanup_policy_ struct sx_policy *p = NULL;
	_cleanup_free_ char *why = NULL, *path = NULL;
	const char *wild;
	int r;

	if (argc != 1 || streq(argv[0], "--help") || streq(argv[0], "-h")) {
		fputs("Usage: sentrix policy check PATH|TEMPLATE\n"
		      "\n"
		      "Validate a policy: a directory holding policy.json, a policy.json file, or the\n"
		      "name of an installed template (default, strict, permissive).  Exit status 0\n"
		      "when valid, 1 with the key and the rule broken otherwise.  A valid policy may\n"
		      "still get warnings, such as a \"*.example.com\" domain entry without\n"
		      "\"example.com\" (the wildcard does not match its apex).\n",
		      argc == 1 ? stdout : stderr);
		return argc == 1 ? 0 : 2;
	}
	if (strchr(argv[0], '/') || access(argv[0], F_OK) == 0)
		path = strdup(argv[0]);
	else
		path = sx_strdupf("%s/policy/%s", sx_datadir(), argv[0]);
	if (!path)
		return 1;
	r = sx_policy_load(path, &p, &why);
	if (r < 0) {
		log_error("policy invalid: %s", why ? why : strerror(-r));
		return 1;
	}
	if ((r = check_packs(path, p)) < 0)
		return 1;
	printf("policy %s is valid (%s): dns %s, %zu allowed domain(s), %d patrol rule(s)\n", p->name, path,
	       sx_dns_mode_name(p->dns_mode), sx_strv_length(p->domains), r);
	/* Valid, but probably not what was meant: "*.x" does not match x. */
	for (size_t i = 0; (wild = sx_wildcard_without_apex(p->domains, &i));)
		log_warn("egress.domains: \"%s\" matches names below %s but not %s itself; list \"%s\" "
			 "too if the agent should reach it",
			 wild, wild + 2, wild + 2, wild + 2);
	return 0;
}

int main(int argc, char **argv)
{
	sx_log_set_program("sentrix");
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
		usage();
		return argc < 2 ? 2 : 0;
	}
	if (streq(argv[1], "--version")) {
		printf("sentrix " SX_VERSION "\n");
		return 0;
	}
	if (streq(argv[1], "sandbox")) {
		if (argc == 2) {
			argv[1] = "--help";
			return exec_program("sentrix-setup", argv);
		}
		return exec_program("sentrix-setup", argv + 1);
	}
	if (streq(argv[1], "gateway"))
		return exec_program("sentrix-gateway", argv + 1);
	/* Root-only changes to an instance: sentrix-setup parses the rest. */
	if (streq(argv[1], "provider") || streq(argv[1], "secrets"))
		return exec_program("sentrix-setup", argv);
	if (streq(argv[1], "chat"))
		return sx_chat_main(argc - 1, argv + 1);
	if (streq(argv[1], "logs"))
		return sx_logs_main(argc - 1, argv + 1);
	if (streq(argv[1], "flags"))
		return sx_flags_main(argc - 1, argv + 1);
	if (streq(argv[1], "police"))
		return sx_police_main(argc - 1, argv + 1);
	if (streq(argv[1], "patrol"))
		return sx_patrol_main(argc - 1, argv + 1);
	if (streq(argv[1], "policy") && argc >= 3 && streq(argv[2], "check"))
		return policy_check(argc - 3, argv + 3);
	log_error("unknown command '%s'; see `sentrix --help`", argv[1]);
	return 2;
}
