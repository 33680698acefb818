/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * flags.c - `sentrix flags`: what the patrol flagged (docs/patrol.md,
 * "Flags").  Reads LOG_DIR/patrol_flags.jsonl line by line (a last line
 * still being written is left alone), keeps the flags that pass --since,
 * --severity and --category, and prints each as one readable line or, with
 * --json, as the line the gateway wrote.  Excerpts quote model traffic and
 * are not trusted: they reach the terminal through sx_cli_put_text().
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../lib/capture_read.h"
#include "../lib/cliutil.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/rulepack.h"
#include "../lib/util.h"
#include "flags.h"

#define DEFAULT_NAME "sandbox0"
#define PIPE_WIDTH 120
#define SYNOPSIS                                                                                             \
	"Usage: sentrix flags [--name NAME | --dir DIR] [--since TIME] [--severity LOW|MEDIUM|HIGH]\n"       \
	"                     [--category CATEGORY] [--json]\n"

struct flags_options {
	const char *name, *dir, *category;
	int min_rank; /* 0: any */
	bool json, help, has_since;
	int64_t since_ms;
};

static void usage(FILE *f)
{
	fputs(SYNOPSIS "\n"
		       "Show what the gateway's patrol flagged in the captured LLM calls: the lines of\n"
		       "/var/log/sentrix/NAME/patrol_flags.jsonl (docs/patrol.md), oldest first, one\n"
		       "line each:\n"
		       "\n"
		       "  DATE TIME(UTC)  SEVERITY  CATEGORIES  RULES  RECORD  \"EXCERPT\"\n"
		       "\n"
		       "TIME is when the flagged call started, RECORD its id in the capture file\n"
		       "(`sentrix logs`), EXCERPT the text around the first hit with every sensitive\n"
		       "value redacted ([LABEL …last4]).  Lines are cut at the terminal width (into a\n"
		       "pipe: $COLUMNS, else 120); control characters are shown as '?'.\n"
		       "\n"
		       "Options:\n"
		       "  --name NAME        the instance (default: sandbox0)\n"
		       "  --dir DIR          read DIR/patrol_flags.jsonl instead (a copy of the logs)\n"
		       "  --since TIME       only calls that started at or after TIME: a UTC time\n"
		       "                     (2026-11-23T10:00:00Z) or a duration before now (30s, 10m,\n"
		       "                     2h, 1d), as for `sentrix logs`\n"
		       "  --severity LEVEL   only flags of LEVEL or above: LOW, MEDIUM or HIGH\n"
		       "  --category C       only flags with a hit of category C: secret, pii,\n"
		       "                     unsafe_tool, injection or harm\n"
		       "  --json             print the flags as written: one JSON object per line\n"
		       "  -h, --help         show this help\n"
		       "\n"
		       "Reading the log directory takes root or membership of group sentrix.\n"
		       "Exit status: 0 done (also when nothing was flagged; \"no flags\" goes to\n"
		       "standard error, nothing with --json), 1 failure, 2 bad usage.\n"
		       "\n"
		       "Examples:\n"
		       "  sentrix flags --since 1h --severity HIGH\n"
		       "  sentrix flags --category secret --json | jq -r .flag_id\n",
	      f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sentrix flags: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n" SYNOPSIS "Try 'sentrix flags --help'.\n", stderr);
	return -EINVAL;
}

/* 1 LOW, 2 MEDIUM, 3 HIGH; 0 otherwise. */
/* LOW 1, MEDIUM 2, HIGH 3 (the rule packs' severities), 0 for others. */
static int rank_of(const char *s)
{
	enum sx_severity v;
	return sx_severity_from_name(s, &v) == 0 ? (int)v : 0;
}

static int parse_options(int argc, char **argv, struct flags_options *o)
{
	enum { OPT_NAME = 256, OPT_DIR, OPT_SINCE, OPT_SEVERITY, OPT_CATEGORY, OPT_JSON };
	static const struct option opts[] = {
	    {"name", required_argument, NULL, OPT_NAME},
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"since", required_argument, NULL, OPT_SINCE},
	    {"severity", required_argument, NULL, OPT_SEVERITY},
	    {"category", required_argument, NULL, OPT_CATEGORY},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct flags_options){.name = DEFAULT_NAME};
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': o->help = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_DIR: o->dir = optarg; break;
		case OPT_CATEGORY: o->category = optarg; break;
		case OPT_SEVERITY:
			if (!(o->min_rank = rank_of(optarg)))
				return usage_error("--severity: '%s' is not LOW, MEDIUM or HIGH", optarg);
			break;
		case OPT_SINCE: {
			_cleanup_free_ char *bad = sx_cli_since(optarg, &o->since_ms);
			if (bad)
				return usage_error("%s", bad);
			o->has_since = true;
			break;
		}
		default:
			if (optopt > 0 && optopt < 256)
				return usage_error("unknown or incomplete option '-%c'", optopt);
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	_cleanup_free_ char *bad = sx_cli_check_instance(o->name, o->dir);
	return bad ? usage_error("%s", bad) : 0;
}

/* The flagged call's start (from run_id_ts), else when the flag was
 * written; false when neither parses. */
static bool flag_time(const cJSON *f, int64_t *ret)
{
	const char *rt = sx_json_str(f, "run_id_ts"), *at = rt ? strrchr(rt, '@') : NULL;

	if (at && sx_parse_utc_time(at + 1, ret) == 0)
		return true;
	return sx_parse_utc_time(sx_json_str(f, "timestamp") ?: "", ret) == 0;
}

static bool has_string(const cJSON *arr, const char *s)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr) if (streq(cJSON_GetStringValue(e), s)) return true;
	return false;
}

static bool wanted(const struct flags_options *o, const cJSON *f)
{
	int64_t t;

	if (o->has_since && (!flag_time(f, &t) || t < o->since_ms))
		return false;
	if (o->min_rank && rank_of(sx_json_str(f, "consensus_severity")) < o->min_rank)
		return false;
	return !o->category || has_string(cJSON_GetObjectItem(f, "categories"), o->category);
}

static void put_list(FILE *m, const cJSON *arr)
{
	const cJSON *e;
	bool first = true;

	cJSON_ArrayForEach(e, arr)
	{
		fprintf(m, "%s%s", first ? "" : ",", cJSON_GetStringValue(e) ?: "?");
		first = false;
	}
	if (first)
		fputc('-', m);
}

/* One readable line for a flag, cut at width. */
static void print_flag(const cJSON *f, size_t width)
{
	_cleanup_free_ char *buf = NULL;
	const char *excerpt = sx_json_str(f, "excerpt");
	size_t len = 0;
	char t[48] = "?";
	int64_t ms;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	if (flag_time(f, &ms))
		sx_cli_fmt_time(ms, false, t, sizeof(t));
	fprintf(m, "%s  %-6s  ", t, sx_json_str(f, "consensus_severity") ?: "?");
	put_list(m, cJSON_GetObjectItem(f, "categories"));
	fputs("  ", m);
	put_list(m, cJSON_GetObjectItem(f, "rule_ids"));
	fprintf(m, "  %s", sx_json_str(f, "record_id") ?: "?");
	if (excerpt && *excerpt)
		fprintf(m, "  \"%s\"", excerpt);
	if (fclose(m) != 0 || !buf)
		return;
	sx_cli_put_text(stdout, buf, len, width);
	fputc('\n', stdout);
}

int sx_flags_main(int argc, char **argv)
{
	struct flags_options o;
	_cleanup_free_ char *dir = NULL, *path = NULL, *line = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	int fd;
	size_t cap = 0, shown = 0, width;
	ssize_t n;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (o.help) {
		usage(stdout);
		return 0;
	}
	if (sx_cli_log_dir(o.name, o.dir, &dir) < 0)
		return 1;
	if (!(path = sx_strdupf("%s/patrol_flags.jsonl", dir)))
		return log_error_errno(-ENOMEM, "out of memory"), 1;
	width = o.json ? 0 : sx_cli_output_width(PIPE_WIDTH);
	/* The gateway user's file: a link there must not make root read
	 * something else. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	f = fd >= 0 ? fdopen(fd, "re") : NULL;
	if (!f && fd >= 0)
		close(fd);
	if (!f && errno == ENOENT && access(dir, R_OK | X_OK) == 0) {
		if (!o.json)
			log_info("no flags: the patrol has flagged nothing yet (%s does not exist)", path);
		return 0;
	}
	if (!f)
		return sx_cli_read_error(-errno, errno == ENOENT ? dir : path), 1;
	while ((n = getline(&line, &cap, f)) > 0) {
		_cleanup_cjson_ cJSON *j = NULL;

		if (line[n - 1] != '\n')
			break; /* being written */
		line[--n] = 0;
		j = cJSON_ParseWithLength(line, (size_t)n);
		if (!cJSON_IsObject(j) || !wanted(&o, j))
			continue;
		shown++;
		if (o.json)
			puts(line);
		else
			print_flag(j, width);
	}
	if (ferror(f))
		return sx_cli_read_error(-EIO, path), 1;
	if (shown == 0 && !o.json)
		log_info("no flags%s", o.has_since || o.min_rank || o.category ? " match" : "");
	if (fflush(stdout) != 0)
		return log_error_errno(-errno, "cannot write the output"), 1;
	return 0;
}
