/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * patrol-scan - runs the patrol's detection engine (src/gateway/scan.c)
 * over capture files, one record line at a time, as the patrol does, and
 * prints what it found and how fast.  For the tests (the corpus: every
 * planted item found, no clean item flagged) and `make bench` (MB/s per
 * stage against ripgrep).  Not installed.
 *
 *   patrol-scan [--packs DIR] [--pack NAME]... [--hits] FILE...
 *   patrol-scan [--packs DIR] --guardrail N FILE
 *
 * --hits prints one JSON line per hit: {"file","record_id","rule_id",
 * "category","severity","where","view","value"} with the value whole (the
 * tests compare it with what they planted; the gateway never writes it).
 * The last line is the figures: {"bytes","records","seconds","mb_s",
 * "stages":{"read","views","scan","confirm","json"},"parsed","max_rss_kib"}.
 *
 * --guardrail N: the inline guardrail's work on one request body (FILE,
 * JSON): the scan the LLM proxy makes before forwarding it (every view,
 * HIGH rules confirmed), N times; prints {"bytes","runs","p50_us","p90_us",
 * "hits"}.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gateway/scan.h"
#include "lib/fileio.h"
#include "lib/jsonutil.h"
#include "lib/strv.h"
#include "lib/util.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void print_hits(const char *file, const char *line, size_t len, const struct sx_hits *h)
{
	_cleanup_cjson_ cJSON *rec = cJSON_ParseWithLength(line, len);
	for (size_t i = 0; i < h->n; i++) {
		_cleanup_cjson_ cJSON *o = cJSON_CreateObject();
		_cleanup_free_ char *text = NULL;
		cJSON_AddStringToObject(o, "file", file);
		cJSON_AddStringToObject(o, "record_id", sx_json_str(rec, "id") ?: "?");
		cJSON_AddStringToObject(o, "rule_id", h->v[i].rule->id);
		cJSON_AddStringToObject(o, "category", sx_category_name(h->v[i].rule->category));
		cJSON_AddStringToObject(o, "severity", sx_severity_name(h->v[i].rule->severity));
		cJSON_AddStringToObject(o, "where", h->v[i].where);
		cJSON_AddStringToObject(o, "view", sx_view_name(h->v[i].view));
		cJSON_AddStringToObject(o, "value", h->v[i].value);
		text = cJSON_PrintUnformatted(o);
		if (text)
			puts(sx_utf8_clean(text));
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* --guardrail: the proxy's check of one request body, timed runs times. */
static int guardrail_bench(struct sx_scanner *s, const char *path, unsigned runs)
{
	_cleanup_free_ char *body = NULL;
	_cleanup_free_ uint64_t *t = calloc(runs, sizeof(*t));
	size_t len;
	int hits = 0;

	if (!path || !t || sx_read_file(path, &body, &len) < 0) {
		fprintf(stderr, "patrol-scan: --guardrail needs a readable FILE\n");
		return 1;
	}
	sx_scanner_set_min_severity(s, SX_SEV_HIGH);
	for (unsigned i = 0; i < runs; i++) {
		struct sx_hits h = {0};
		uint64_t t0 = now_ns();
		sx_scan_json(s, body, len, &h);
		t[i] = now_ns() - t0;
		hits = (int)h.n;
		sx_hits_clear(&h);
	}
	qsort(t, runs, sizeof(*t), cmp_u64);
	printf("{\"bytes\":%zu,\"runs\":%u,\"p50_us\":%.1f,\"p90_us\":%.1f,\"hits\":%d}\n", len, runs,
	       (double)t[runs / 2] / 1e3, (double)t[runs * 9 / 10] / 1e3, hits);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"packs", required_argument, NULL, 'p'}, {"pack", required_argument, NULL, 'k'},
	    {"hits", no_argument, NULL, 'H'},        {"help", no_argument, NULL, 'h'},
	    {"guardrail", required_argument, NULL, 'G'},
	    {NULL, 0, NULL, 0}};
	_cleanup_(sx_strv_freep) char **packs = NULL;
	_cleanup_ruleset_ struct sx_ruleset *rs = NULL;
	_cleanup_free_ char *why = NULL, *dir = NULL;
	struct sx_engine *e = NULL;
	struct sx_scanner *s = NULL;
	bool show = false;
	unsigned guard_runs = 0;
	uint64_t t_read = 0, bytes = 0, records = 0, t0;
	size_t cap = 1 << 22;
	char *buf;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (o) {
		case 'p': dir = strdup(optarg); break;
		case 'k': sx_strv_push(&packs, optarg); break;
		case 'H': show = true; break;
		case 'G': guard_runs = (unsigned)strtoul(optarg, NULL, 10); break;
		default:
			fputs("usage: patrol-scan [--packs DIR] [--pack NAME]... [--hits] FILE...\n", stderr);
			return o == 'h' ? 0 : 2;
		}
	}
	if (!packs) {
		static const char *const all[] = {"secrets", "pii", "tools", "harm"};
		for (size_t i = 0; i < ELEMENTSOF(all); i++)
			sx_strv_push(&packs, all[i]);
	}
	if (!dir)
		dir = sx_patrol_pack_dir();
	if (sx_ruleset_load(dir, packs, &rs, &why) < 0 ||
	    sx_engine_new_min(rs, guard_runs ? SX_SEV_HIGH : SX_SEV_LOW, &e, &why) < 0 ||
	    sx_scanner_new(e, &s) < 0) {
		fprintf(stderr, "patrol-scan: %s\n", why ? why : "out of memory");
		return 1;
	}
	if (guard_runs)
		return guardrail_bench(s, argv[optind], guard_runs);
	buf = malloc(cap);
	t0 = now_ns();
	for (int i = optind; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		size_t have = 0;
		const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		if (fd < 0) {
			fprintf(stderr, "patrol-scan: %s: %m\n", argv[i]);
			return 1;
		}
		for (;;) {
			uint64_t r0 = now_ns();
			ssize_t n;
			if (have == cap && !(buf = realloc(buf, cap *= 2)))
				return 1;
			n = read(fd, buf + have, cap - have);
			t_read += now_ns() - r0;
			if (n <= 0)
				break;
			have += (size_t)n;
			bytes += (uint64_t)n;
			char *line = buf, *nl;
			while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
				size_t len = (size_t)(nl - line);
				char *rec = line;
				if (len > 0 && rec[0] == ',') {
					rec++;
					len--;
				}
				if (len > 1 && rec[0] == '{') {
					struct sx_hits h = {0};
					sx_scan_json(s, rec, len, &h);
					if (show && h.n)
						print_hits(base, rec, len, &h);
					sx_hits_clear(&h);
					records++;
				}
				line = nl + 1;
			}
			have -= (size_t)(line - buf);
			memmove(buf, line, have);
		}
		close(fd);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	struct sx_scan_stats *st = sx_scanner_stats(s);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"bytes\":%llu,\"records\":%llu,\"seconds\":%.3f,\"mb_s\":%.1f,\"stages\":{\"read\":%.3f,"
	       "\"views\":%.3f,\"scan\":%.3f,\"confirm\":%.3f,\"json\":%.3f},\"scan_by_view\":{\"raw\":%.3f,"
	       "\"text\":%.3f,\"normalized\":%.3f,\"base64\":%.3f,\"rot13\":%.3f},\"parsed\":%llu,\"max_rss_kib\":%ld}\n",
	       (unsigned long long)bytes, (unsigned long long)records, secs, (double)bytes / 1e6 / secs,
	       (double)t_read / 1e9, (double)st->ns_views / 1e9, (double)st->ns_scan / 1e9,
	       (double)st->ns_confirm / 1e9, (double)st->ns_json / 1e9, (double)st->ns_scan_view[0] / 1e9,
	       (double)st->ns_scan_view[1] / 1e9, (double)st->ns_scan_view[2] / 1e9, (double)st->ns_scan_view[3] / 1e9,
	       (double)st->ns_scan_view[4] / 1e9, (unsigned long long)st->parsed,
	       ru.ru_maxrss);
	free(buf);
	sx_scanner_free(s);
	sx_engine_free(e);
	return 0;
}
