/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * logs.c - `sentrix logs`: the LLM calls an instance's gateway captured.
 *
 * Without options it lists the capture files; with --tail, --since, --json
 * or --follow it prints records, readably (one header line and a few
 * indented lines each) or as the JSON lines the gateway wrote.  The files
 * are read with src/lib/capture_read.c, so the file being written and a
 * torn last line are read as well as closed files; --follow re-reads the
 * newest file from where it stopped whenever inotify (or, failing that, a
 * 500 ms timer) says the directory changed, and moves on to newer files as
 * the gateway rotates.  Record text comes from upstream models and is not
 * trusted: control characters never reach the terminal raw.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../lib/capture_read.h"
#include "../lib/cliutil.h"
#include "../lib/config.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "logs.h"

#define DEFAULT_NAME "sandbox0" /* sentrix-setup's default --name */
#define TEXT_LINES 3 /* lines shown of a reply and of reasoning */
#define TOOL_ARGS_MAX 80 /* characters shown of a tool call's arguments */
#define POLL_MS 500 /* --follow without inotify */
#define WATCH_MS 5000 /* --follow with inotify: a re-read now and then regardless */
#define PIPE_WIDTH 120 /* readable output width when stdout is no terminal */
/* A file only holds records that ended before the next file was opened, so
 * a file whose successor's name is this much before --since is skipped.
 * The slack covers the names' whole seconds and small clock steps. */
#define SINCE_SLACK_MS (60 * 1000)
#define LEAD_WIDTH 11 /* "reasoning: " */

#define SYNOPSIS                                                                                             \
	"Usage: sentrix logs [--name NAME | --dir DIR] [--tail N] [--since TIME] [--follow] [--json]\n"

struct logs_options {
	const char *name;
	const char *dir;
	long long tail; /* -1: every record */
	bool follow, json, help;
	bool has_since;
	int64_t since_ms;
};

/* What printing needs, and where --follow continues. */
struct logs_ctx {
	const struct logs_options *o;
	const char *dir;
	size_t width; /* columns of readable output; 0: no limit */
	char *cur; /* newest file read so far, NULL: none */
	uint64_t cur_off; /* how far it was read */
};

/* A record kept for --tail: parsed for readable output, its text for --json. */
struct entry {
	cJSON *rec;
	char *line;
};

/* The last max entries of a file; e[head] is the oldest once it is full. */
struct ring {
	struct entry *e;
	size_t len, cap, head, max;
};

static volatile sig_atomic_t stop_following;

static void usage(FILE *f)
{
	fputs(SYNOPSIS "\n"
		       "Show the LLM calls an instance's gateway captured: the capture files\n"
		       "/var/log/sentrix/NAME/llm-YYYYMMDDTHHMMSSZ.json (docs/capture-format.md).\n"
		       "\n"
		       "Without options, list the capture files oldest first: records, size, the\n"
		       "time span of their records (UTC) and \"(open)\" for a file still being\n"
		       "written (no closing `]` yet).\n"
		       "\n"
		       "With --tail, --since, --follow or --json, print records in the order they\n"
		       "were written, each as one header line\n"
		       "\n"
		       "  DATE TIME(UTC)  PROVIDER/MODEL  STATUS  tokens in N out N  N ms  stream  run ID\n"
		       "\n"
		       "where STATUS is the upstream HTTP status, \"no response\", or \"incomplete\"\n"
		       "(the gateway stopped or the client went away mid-call), then indented: the\n"
		       "first 3 lines of the reply and of the reasoning, every tool call (name and\n"
		       "the first 80 characters of its arguments) and the error, if any.  Lines are\n"
		       "cut at the terminal width (into a pipe: $COLUMNS, else 120) with \"…\";\n"
		       "control characters are shown as '?'.\n"
		       "\n"
		       "Options:\n"
		       "  --name NAME     the instance (default: sandbox0); its log directory is\n"
		       "                  paths.log_dir in /etc/sentrix/NAME/config.json\n"
		       "  --dir DIR       read the capture files in DIR instead (a copy of the logs)\n"
		       "  --tail N        only the last N records, across files\n"
		       "  --since TIME    only calls that started at or after TIME: a UTC time\n"
		       "                  (2026-11-23T10:00:00Z, 2026-11-23T10:00, 2026-11-23; an\n"
		       "                  offset such as +01:00 is honoured) or a duration before\n"
		       "                  now (30s, 10m, 2h, 1d, 1h30m)\n"
		       "  -f, --follow    then keep printing records as they are written, moving on\n"
		       "                  to newer files as the gateway rotates, until SIGINT or\n"
		       "                  SIGTERM; without --tail or --since, only new records\n"
		       "  --json          print records as written: one JSON object per line (without\n"
		       "                  --tail or --follow: every record)\n"
		       "  -h, --help      show this help\n"
		       "\n"
		       "The log directory is 0750, owned by the gateway user sentrix: reading it takes\n"
		       "root or membership of group sentrix.\n"
		       "\n"
		       "Exit status: 0 done (--follow also ends with 0 on SIGINT or SIGTERM), 1 failure\n"
		       "(unknown instance, unreadable directory), 2 bad usage.\n"
		       "\n"
		       "Examples:\n"
		       "  sentrix logs\n"
		       "  sentrix logs --tail 5\n"
		       "  sentrix logs --since 1h --json | jq -c '{model, usage}'\n"
		       "  sentrix logs --tail 20 --follow\n",
	      f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sentrix logs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n" SYNOPSIS "Try 'sentrix logs --help'.\n", stderr);
	return -EINVAL;
}

/* Parses a record count: decimal digits only, at most 10^9. */
static int parse_count(const char *s, long long *ret)
{
	unsigned v;

	if (sx_parse_uint(s, 1000000000, &v) < 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

enum { OPT_NAME = 256, OPT_DIR, OPT_TAIL, OPT_SINCE, OPT_JSON };

static const struct option logs_opts[] = {
    {"name", required_argument, NULL, OPT_NAME},
    {"dir", required_argument, NULL, OPT_DIR},
    {"tail", required_argument, NULL, OPT_TAIL},
    {"since", required_argument, NULL, OPT_SINCE},
    {"json", no_argument, NULL, OPT_JSON},
    {"follow", no_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Fills o from argv (argv[0] is "logs"); 0, or -EINVAL after the usage. */
static int parse_options(int argc, char **argv, struct logs_options *o)
{
	int c;

	*o = (struct logs_options){.name = DEFAULT_NAME, .tail = -1};
	optind = 0; /* 0, not 1: also resets getopt's state inside grouped short options */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "fh", logs_opts, NULL)) != -1) {
		switch (c) {
		case 'h': o->help = true; break;
		case 'f': o->follow = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_DIR: o->dir = optarg; break;
		case OPT_TAIL:
			if (parse_count(optarg, &o->tail) < 0)
				return usage_error("--tail: '%s' is not a number of records", optarg);
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

static void fmt_size(uint64_t b, char *out, size_t size)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	size_t u = 0;

	if (b < 1024) {
		snprintf(out, size, "%llu B", (unsigned long long)b);
		return;
	}
	for (v /= 1024; v >= 1024 && u + 1 < ELEMENTSOF(units); u++)
		v /= 1024;
	snprintf(out, size, "%.1f %s", v, units[u]);
}

/* One line of readable output: lead (ASCII) and text, cut to the width. */
static void emit_line(const struct logs_ctx *c, const char *lead, const char *text, size_t len)
{
	size_t l = strlen(lead);

	fputs(lead, stdout);
	sx_cli_put_text(stdout, text, len, c->width ? (c->width > l + 1 ? c->width - l : 1) : 0);
	fputc('\n', stdout);
}

/* Prints the first lines of a reply or reasoning under label; blank lines
 * around it are dropped, the rest counted. */
static void print_block(const struct logs_ctx *c, const char *label, const char *text)
{
	const char *p = text, *end;
	size_t shown = 0, more = 0;
	char lead[32];

	if (!text)
		return;
	while (*p && isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;

		if (shown < TEXT_LINES) {
			snprintf(lead, sizeof(lead), "  %-*s", LEAD_WIDTH, shown == 0 ? label : "");
			emit_line(c, lead, p, (size_t)(le - p));
			shown++;
		} else
			more++;
		p = nl ? nl + 1 : end;
	}
	if (more)
		printf("  %-*s… %zu more line%s\n", LEAD_WIDTH, "", more, more == 1 ? "" : "s");
}

static void print_tools(const struct logs_ctx *c, const cJSON *calls)
{
	const cJSON *tc;

	if (!cJSON_IsArray(calls))
		return;
	cJSON_ArrayForEach(tc, calls)
	{
		_cleanup_free_ char *buf = NULL, *printed = NULL;
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(tc, "arguments");
		const char *name = sx_json_str(tc, "name"), *args = cJSON_IsString(a) ? a->valuestring : NULL;
		size_t len = 0;
		FILE *m;

		if (!args && a && !cJSON_IsNull(a))
			args = printed = cJSON_PrintUnformatted(a);
		m = open_memstream(&buf, &len);
		if (!m)
			return;
		fputs(name ? name : "?", m);
		if (args && *args) {
			fputc(' ', m);
			sx_cli_put_text(m, args, strlen(args), TOOL_ARGS_MAX);
		}
		if (fclose(m) == 0 && buf)
			emit_line(c, "  tool:      ", buf, len);
	}
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* " tokens in N out N" from an OpenAI (prompt/completion) or Anthropic
 * (input/output) usage object; nothing without one. */
static void put_tokens(FILE *m, const cJSON *usage)
{
	const cJSON *in = get(usage, "prompt_tokens"), *out = get(usage, "completion_tokens");

	if (!cJSON_IsNumber(in) && !cJSON_IsNumber(out)) {
		in = get(usage, "input_tokens");
		out = get(usage, "output_tokens");
	}
	if (!cJSON_IsNumber(in) && !cJSON_IsNumber(out))
		return;
	fputs("  tokens in ", m);
	cJSON_IsNumber(in) ? fprintf(m, "%.0f", in->valuedouble) : fputc('?', m);
	fputs(" out ", m);
	cJSON_IsNumber(out) ? fprintf(m, "%.0f", out->valuedouble) : fputc('?', m);
}

static void put_header(FILE *m, const cJSON *rec)
{
	const char *ts = sx_json_str(rec, "timestamp"), *provider = sx_json_str(rec, "provider"),
		   *model = sx_json_str(rec, "model"), *run = sx_json_str(rec, "run_id");
	const cJSON *status = get(rec, "status"), *total = sx_json_get_path(rec, "latency_ms.total");
	char t[48];
	int64_t ms;

	if (sx_capture_record_time(rec, &ms) == 0) {
		sx_cli_fmt_time(ms, true, t, sizeof(t));
		fputs(t, m);
	} else
		fputs(ts ? ts : "?", m);
	fprintf(m, "  %s%s%s", provider ? provider : "?", model ? "/" : "", model ? model : "");
	if (cJSON_IsFalse(get(rec, "complete")))
		fputs("  incomplete", m);
	else if (cJSON_IsNumber(status))
		fprintf(m, "  %d", status->valueint);
	else
		fputs("  no response", m);
	put_tokens(m, get(rec, "usage"));
	if (cJSON_IsNumber(total))
		fprintf(m, "  %.0f ms", total->valuedouble);
	fputs(cJSON_IsTrue(get(rec, "stream")) ? "  stream" : "  non-stream", m);
	if (run && *run)
		fprintf(m, "  run %s", run);
}

/* A record, readably: the header line, then reply, reasoning, tool calls
 * and error indented under it. */
static void print_record(const struct logs_ctx *c, const cJSON *rec)
{
	_cleanup_free_ char *head = NULL;
	const cJSON *msg = get(rec, "message");
	const char *err = sx_json_str(rec, "error");
	size_t len = 0;
	FILE *m = open_memstream(&head, &len);

	if (!m)
		return;
	put_header(m, rec);
	if (fclose(m) != 0 || !head)
		return;
	emit_line(c, "", head, len);
	print_block(c, "reply:", sx_json_str(msg, "text"));
	print_block(c, "reasoning:", sx_json_str(msg, "reasoning"));
	print_tools(c, get(msg, "tool_calls"));
	if (err && *err)
		emit_line(c, "  error:     ", err, strlen(err));
}

static void emit(const struct logs_ctx *c, const cJSON *rec, const char *line)
{
	if (c->o->json) {
		fputs(line, stdout);
		fputc('\n', stdout);
	} else
		print_record(c, rec);
}

/* True when the record passes --since (a record without a time does not). */
static bool wanted(const struct logs_options *o, const cJSON *rec)
{
	int64_t t;

	return !o->has_since || (sx_capture_record_time(rec, &t) == 0 && t >= o->since_ms);
}

/* Index of the first file that can hold records since --since. */
static size_t first_relevant(const struct logs_options *o, char **files, size_t n)
{
	size_t i = 0;
	int64_t t;

	while (o->has_since && i + 1 < n && sx_capture_name_time(files[i + 1], &t) == 0 &&
	       t + SINCE_SLACK_MS <= o->since_ms)
		i++;
	return i;
}

static int set_cur(struct logs_ctx *c, const char *name, uint64_t off)
{
	char *s = strdup(name);

	if (!s)
		return log_error_errno(-ENOMEM, "out of memory");
	free(c->cur);
	c->cur = s;
	c->cur_off = off;
	return 0;
}

/* Reads the file name in c->dir from byte offset from, printing its wanted
 * records when print is set; *ret_off is how far it got (the end of its
 * last complete line).  Returns 0, -ENOENT (not logged) when the file is
 * gone, or another negative errno (logged). */
static int read_file(const struct logs_ctx *c, const char *name, uint64_t from, bool print, uint64_t *ret_off)
{
	_cleanup_capture_ struct sx_capture_reader *r = NULL;
	_cleanup_free_ char *path = sx_strdupf("%s/%s", c->dir, name);
	const char *line = NULL;
	cJSON *rec = NULL;
	int k;

	if (!path)
		return log_error_errno(-ENOMEM, "out of memory");
	k = sx_capture_open(path, from, &r);
	if (k < 0)
		return k == -ENOENT ? k : sx_cli_read_error(k, path);
	if (!print)
		while ((k = sx_capture_next_line(r, &line)) > 0)
			;
	else
		while ((k = sx_capture_next(r, &rec, &line)) > 0) {
			if (wanted(c->o, rec))
				emit(c, rec, line);
			cJSON_Delete(rec);
		}
	if (k < 0)
		return sx_cli_read_error(k, path);
	*ret_off = sx_capture_offset(r);
	return 0;
}

/* Every wanted record, oldest file first. */
static int print_all(struct logs_ctx *c, char **files, size_t n)
{
	for (size_t i = first_relevant(c->o, files, n); i < n; i++) {
		uint64_t off = 0;
		int r = read_file(c, files[i], 0, true, &off);

		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		if (i == n - 1 && (r = set_cur(c, files[i], off)) < 0)
			return r;
	}
	return 0;
}

static void entry_free(struct entry *e)
{
	cJSON_Delete(e->rec);
	free(e->line);
	*e = (struct entry){NULL, NULL};
}

static void ring_free(struct ring *g)
{
	for (size_t i = 0; i < g->len; i++)
		entry_free(&g->e[i]);
	free(g->e);
}

/* Takes e into the ring, dropping the oldest entry once it holds max. */
static int ring_push(struct ring *g, struct entry *e)
{
	if (g->len < g->max) {
		if (g->len == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 16;
			struct entry *ne;
			if (cap > g->max)
				cap = g->max;
			ne = realloc(g->e, cap * sizeof(*ne));
			if (!ne)
				return -ENOMEM;
			g->e = ne;
			g->cap = cap;
		}
		g->e[g->len++] = *e;
	} else {
		entry_free(&g->e[g->head]);
		g->e[g->head] = *e;
		g->head = (g->head + 1) % g->max;
	}
	*e = (struct entry){NULL, NULL};
	return 0;
}

/* Reads a whole file into g (its last g->max wanted records); *ret_off as
 * read_file(). */
static int read_tail(const struct logs_ctx *c, const char *name, struct ring *g, uint64_t *ret_off)
{
	_cleanup_capture_ struct sx_capture_reader *r = NULL;
	_cleanup_free_ char *path = sx_strdupf("%s/%s", c->dir, name);
	const char *line = NULL;
	cJSON *rec = NULL;
	int k;

	if (!path)
		return log_error_errno(-ENOMEM, "out of memory");
	k = sx_capture_open(path, 0, &r);
	if (k < 0)
		return k == -ENOENT ? k : sx_cli_read_error(k, path);
	while ((k = sx_capture_next(r, &rec, &line)) > 0) {
		struct entry e = {rec, NULL};

		if (!wanted(c->o, rec)) {
			entry_free(&e);
			continue;
		}
		if (c->o->json) {
			cJSON_Delete(TAKE_PTR(e.rec));
			if (!(e.line = strdup(line)))
				return log_error_errno(-ENOMEM, "out of memory");
		}
		if (ring_push(g, &e) < 0) {
			entry_free(&e);
			return log_error_errno(-ENOMEM, "out of memory");
		}
	}
	if (k < 0)
		return sx_cli_read_error(k, path);
	*ret_off = sx_capture_offset(r);
	return 0;
}

/* The last --tail wanted records: files are read newest first until enough
 * are found, keeping no more than that many in memory. */
static int print_tail(struct logs_ctx *c, char **files, size_t n)
{
	size_t first = first_relevant(c->o, files, n), need = (size_t)c->o->tail, lo = n;
	struct ring *rings = calloc(n + 1, sizeof(*rings));
	int r = 0;

	if (!rings)
		return log_error_errno(-ENOMEM, "out of memory");
	for (size_t i = n; i-- > first && need > 0;) {
		uint64_t off = 0;

		rings[i].max = need;
		r = read_tail(c, files[i], &rings[i], &off);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0 || (i == n - 1 && (r = set_cur(c, files[i], off)) < 0))
			break;
		need -= rings[i].len;
		lo = i;
	}
	for (size_t i = lo; r >= 0 && i < n; i++)
		for (size_t j = 0; j < rings[i].len; j++) {
			const struct entry *e = &rings[i].e[(rings[i].head + j) % rings[i].len];
			emit(c, e->rec, e->line);
		}
	for (size_t i = 0; i < n; i++)
		ring_free(&rings[i]);
	free(rings);
	return r;
}

/* Prints what is new in the current file, then in every newer file, oldest
 * first: the gateway closes a file before it opens the next, so what is
 * left of the current one comes before the next. */
static int follow_step(struct logs_ctx *c)
{
	char **files = NULL;
	uint64_t off = 0;
	int n, r = 0;

	if (c->cur && (r = read_file(c, c->cur, c->cur_off, true, &off)) == 0)
		c->cur_off = off;
	if (r < 0 && r != -ENOENT)
		return r;
	n = sx_capture_list(c->dir, &files);
	if (n < 0)
		return sx_cli_read_error(n, c->dir);
	for (int i = 0; i < n; i++) {
		if (c->cur && strcmp(files[i], c->cur) <= 0)
			continue;
		if (c->cur && read_file(c, c->cur, c->cur_off, true, &off) == 0)
			c->cur_off = off;
		if ((r = set_cur(c, files[i], 0)) < 0)
			break;
		r = read_file(c, files[i], 0, true, &off);
		if (r == -ENOENT)
			r = 0;
		else if (r < 0)
			break;
		else
			c->cur_off = off;
	}
	sx_strv_free(files);
	fflush(stdout);
	return r < 0 ? r : 0;
}

static void on_stop_signal(int sig)
{
	stop_following = 1;
}

/* An inotify descriptor watching dir for writes and new files, or -EBADF
 * when inotify is unavailable (the caller polls instead). */
static int watch_dir(const char *dir)
{
	_cleanup_close_ int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd < 0)
		return log_debug("inotify unavailable (%s), polling every %d ms", strerror(errno), POLL_MS),
		       -EBADF;
	if (inotify_add_watch(fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
		return log_debug("cannot watch %s (%s), polling every %d ms", dir, strerror(errno), POLL_MS),
		       -EBADF;
	return TAKE_FD(fd);
}

/* --follow: prints new records until SIGINT or SIGTERM.  The signals are
 * blocked except inside ppoll(), so one arriving between two checks is
 * not lost. */
static int follow(struct logs_ctx *c)
{
	struct sigaction sa = {.sa_handler = on_stop_signal};
	_cleanup_close_ int ifd = -EBADF;
	sigset_t block, wait_mask;
	char ev[4096];
	int r;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, &wait_mask) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0)
		return log_error_errno(-errno, "cannot set up signal handling");
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	ifd = watch_dir(c->dir);
	while (!stop_following) {
		struct pollfd p = {.fd = ifd, .events = POLLIN};
		int ms = ifd >= 0 ? WATCH_MS : POLL_MS;
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

		if ((r = follow_step(c)) < 0)
			return r;
		r = ppoll(&p, 1, &ts, &wait_mask);
		if (r < 0 && errno != EINTR)
			return log_error_errno(-errno, "cannot wait for new records");
		while (r > 0 && read(ifd, ev, sizeof(ev)) > 0)
			;
	}
	return 0;
}

/* Per-file figures for the listing. */
struct file_info {
	uint64_t size;
	size_t records, bad;
	bool open, torn, has_first, has_last;
	int64_t first_ms, last_ms;
};

static bool line_time(const char *line, int64_t *ret_ms)
{
	_cleanup_cjson_ cJSON *j = cJSON_Parse(line);

	return sx_capture_record_time(j, ret_ms) == 0;
}

/* Counts a file's record lines without parsing them; parses the first and
 * the last for the time span. */
static int scan_file(const char *path, struct file_info *fi)
{
	_cleanup_capture_ struct sx_capture_reader *r = NULL;
	_cleanup_free_ char *last = NULL;
	const char *line = NULL;
	size_t last_cap = 0;
	int k;

	*fi = (struct file_info){0};
	k = sx_capture_open(path, 0, &r);
	if (k < 0)
		return k;
	while ((k = sx_capture_next_line(r, &line)) > 0) {
		size_t n = strlen(line) + 1;

		if (fi->records++ == 0)
			fi->has_first = line_time(line, &fi->first_ms);
		if (n > last_cap) {
			char *p = realloc(last, n);
			if (!p)
				return -ENOMEM;
			last = p;
			last_cap = n;
		}
		memcpy(last, line, n);
	}
	if (k < 0)
		return k;
	if (last)
		fi->has_last = line_time(last, &fi->last_ms);
	fi->size = sx_capture_offset(r) + sx_capture_pending(r);
	fi->open = !sx_capture_closed(r);
	fi->torn = sx_capture_pending(r) > 0;
	fi->bad = sx_capture_bad(r);
	return 0;
}

/* "first .. last" record time; the date only once when it is the same. */
static void fmt_span(const struct file_info *fi, char *out, size_t size)
{
	char a[32] = "?", b[32] = "?";

	if (fi->records == 0) {
		snprintf(out, size, "-");
		return;
	}
	if (fi->has_first)
		sx_cli_fmt_time(fi->first_ms, false, a, sizeof(a));
	if (fi->has_last)
		sx_cli_fmt_time(fi->last_ms, false, b, sizeof(b));
	if (fi->records == 1)
		snprintf(out, size, "%s", a);
	else if (fi->has_first && fi->has_last && strncmp(a, b, 11) == 0)
		snprintf(out, size, "%s .. %s", a, b + 11);
	else
		snprintf(out, size, "%s .. %s", a, b);
}

static void print_file_line(const char *name, int width, const struct file_info *fi)
{
	char size[32], span[80];

	fmt_size(fi->size, size, sizeof(size));
	fmt_span(fi, span, sizeof(span));
	printf("%-*s  %7zu  %9s  %-31s", width, name, fi->records, size, span);
	if (fi->open)
		printf("  (open%s)", fi->torn ? ", last line being written" : "");
	else if (fi->torn)
		printf("  (unterminated last line)");
	if (fi->bad)
		printf("  (%zu unreadable line%s)", fi->bad, fi->bad == 1 ? "" : "s");
	fputc('\n', stdout);
}

/* The listing: one line per capture file, oldest first, and a total. */
static int list_files(const char *dir, char **files)
{
	size_t n = sx_strv_length(files), width = strlen("FILE"), nfiles = 0, records = 0;
	uint64_t bytes = 0;
	char total[32];

	if (n == 0) {
		printf("no capture files in %s\n", dir);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (strlen(files[i]) > width)
			width = strlen(files[i]);
	printf("%-*s  %7s  %9s  %s\n", (int)width, "FILE", "RECORDS", "SIZE", "SPAN (UTC)");
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = sx_strdupf("%s/%s", dir, files[i]);
		struct file_info fi;
		int r;

		if (!path)
			return log_error_errno(-ENOMEM, "out of memory");
		r = scan_file(path, &fi);
		if (r == -ENOENT)
			continue; /* removed since the directory was read */
		if (r < 0)
			return sx_cli_read_error(r, path);
		print_file_line(files[i], (int)width, &fi);
		nfiles++;
		records += fi.records;
		bytes += fi.size;
	}
	fmt_size(bytes, total, sizeof(total));
	printf("%zu file%s, %zu record%s, %s in %s\n", nfiles, nfiles == 1 ? "" : "s", records,
	       records == 1 ? "" : "s", total, dir);
	return 0;
}

/* Records mode: the tail, everything wanted, or (--follow alone) nothing,
 * then --follow. */
static int print_records(struct logs_ctx *c, char **files, size_t n)
{
	const struct logs_options *o = c->o;
	uint64_t off = 0;
	int r = 0;

	if (o->tail >= 0)
		r = print_tail(c, files, n);
	else if (!o->follow || o->has_since)
		r = print_all(c, files, n);
	if (r < 0 || !o->follow)
		return r;
	/* Where following starts: the end of the newest file. */
	if (!c->cur && n > 0) {
		r = read_file(c, files[n - 1], 0, false, &off);
		if (r < 0 && r != -ENOENT)
			return r;
		if ((r = set_cur(c, files[n - 1], r < 0 ? 0 : off)) < 0)
			return r;
	}
	fflush(stdout);
	return follow(c);
}

int sx_logs_main(int argc, char **argv)
{
	struct logs_options o;
	struct logs_ctx c = {.o = &o};
	_cleanup_free_ char *dir = NULL;
	char **files = NULL;
	int n, r;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (o.help) {
		usage(stdout);
		return 0;
	}
	if (sx_cli_log_dir(o.name, o.dir, &dir) < 0)
		return 1;
	c.dir = dir;
	n = sx_capture_list(dir, &files);
	if (n < 0)
		return sx_cli_read_error(n, dir), 1;
	if (o.tail < 0 && !o.json && !o.has_since && !o.follow)
		r = list_files(dir, files);
	else {
		c.width = o.json ? 0 : sx_cli_output_width(PIPE_WIDTH);
		r = print_records(&c, files, (size_t)n);
	}
	free(c.cur);
	sx_strv_free(files);
	if (fflush(stdout) != 0 && r >= 0)
		r = log_error_errno(-errno, "cannot write the output");
	return r < 0 ? 1 : 0;
}
