/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fuzz-capture.c - capture files as `sentrix logs` reads them back.
 *
 * Feeds: the bytes of a capture file (llm-*.json).  The gateway writes
 * them, but their content is what upstreams and the agent said, and a
 * gateway the agent took over writes whatever it likes: `sentrix logs`
 * runs as root or a member of group sentrix and must stay sound on any
 * file.  The first two bytes of the input say where the file is cut; the
 * first part is written to a file in a scratch directory and read with
 * src/lib/capture_read.c (sx_capture_open/sx_capture_next: line buffering,
 * torn last lines, the closing bracket), then the rest is appended and the
 * same reader continues, as --follow does when the file grows; a reader
 * reopened at sx_capture_offset() must find the same remaining records.
 * Then src/cli/logs.c runs on the directory as the command does: the
 * listing, --tail (readable: header line, reply, reasoning, tool calls,
 * cut at a 60-column width) and --json --since with a fixed time, which
 * parses every record's timestamp (sx_parse_utc_time).  The
 * first line of the input is also handed to sx_parse_since and
 * sx_parse_utc_time directly.  Output goes to /dev/null.
 *
 * Why: a reader that trusts the file it reads turns the gateway's user
 * into root's.  Besides the sanitizers the harness checks that records
 * are counted the same whether the file is read at once, grown, or
 * reopened at the offset the reader reported.
 *
 * fuzz-max-len: 32768
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "fuzz.h"

#include "cli/logs.h"
#include "lib/capture_read.h"

#define NAME "llm-20261123T100000Z.json"

static char path[4200];
static const char *dir;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	fuzz_quiet();
	/* logs.c writes to stdout and, for errors, stderr through log.c
	 * (silenced by fuzz_quiet); libFuzzer reports on stderr. */
	if (null < 0 || dup2(null, STDOUT_FILENO) < 0) {
		perror("fuzz-capture: /dev/null");
		abort();
	}
	close(null);
	setenv("COLUMNS", "60", 1);
	dir = fuzz_tmpdir();
	snprintf(path, sizeof(path), "%s/%s", dir, NAME);
	return 0;
}

static void write_file(const void *data, size_t n, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600);

	FUZZ_CHECK(fd >= 0, "cannot write %s", path);
	FUZZ_CHECK(write(fd, data, n) == (ssize_t)n, "short write to %s", path);
	close(fd);
}

/* Reads every record now in the file; returns how many. */
static size_t drain(struct sx_capture_reader *r)
{
	size_t n = 0;
	cJSON *rec;
	const char *line;
	int k;

	while ((k = sx_capture_next(r, &rec, &line)) > 0) {
		int64_t ms;
		FUZZ_CHECK(cJSON_IsObject(rec) && line && *line == '{', "a record that is not an object");
		(void)sx_capture_record_time(rec, &ms);
		cJSON_Delete(rec);
		n++;
	}
	FUZZ_CHECK(k == 0, "reading failed: %d", k);
	return n;
}

static void run_logs(const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = {"logs", "--dir", (char *)dir, (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
	int argc = 3 + !!a1 + !!a2 + !!a3 + !!a4;
	int r = sx_logs_main(argc, argv);

	FUZZ_CHECK(r == 0, "sentrix logs %s %s %s %s exited %d", a1 ? a1 : "", a2 ? a2 : "", a3 ? a3 : "",
		   a4 ? a4 : "", r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_capture_ struct sx_capture_reader *r = NULL, *again = NULL;
	size_t cut, first, second, whole;
	bool closed_early;
	uint64_t off;
	int64_t ms;

	if (size < 2)
		return 0;
	cut = MIN((size_t)(data[0] << 8 | data[1]), size - 2);
	data += 2, size -= 2;

	/* Read as it grows. */
	write_file(data, cut, O_TRUNC);
	FUZZ_CHECK(sx_capture_open(path, 0, &r) == 0, "cannot open %s", path);
	first = drain(r);
	off = sx_capture_offset(r);
	closed_early = sx_capture_closed(r) && cut > 0 && data[cut - 1] != '\n';
	FUZZ_CHECK(off <= cut, "offset %llu past %zu bytes", (unsigned long long)off, cut);
	write_file(data + cut, size - cut, O_APPEND);
	second = drain(r);
	FUZZ_CHECK(sx_capture_offset(r) + sx_capture_pending(r) == size, "offset and pending do not add up");

	/* Reopened where the first read stopped: the same records follow. */
	FUZZ_CHECK(sx_capture_open(path, off, &again) == 0, "cannot reopen %s", path);
	FUZZ_CHECK(drain(again) == second, "reopened at %llu: not the %zu records read as the file grew",
		   (unsigned long long)off, second);
	sx_capture_close(TAKE_PTR(again));

	/* Read at once: the same count.  Unless the first part ended in a
	 * closing bracket without its newline: at the end of a file that is
	 * the end of the array, so a reader that saw it there has moved past
	 * it, while one reading at once sees it start a longer line. */
	FUZZ_CHECK(sx_capture_open(path, 0, &again) == 0, "cannot reopen %s", path);
	whole = drain(again);
	FUZZ_CHECK(whole == first + second || closed_early, "%zu records at once, %zu + %zu as it grew",
		   whole, first, second);

	/* The command, on the directory. */
	run_logs(NULL, NULL, NULL, NULL);
	run_logs("--tail", "3", NULL, NULL);
	run_logs("--json", "--since", "2026-11-23T10:01", NULL);

	/* The first line as a --since value (the operator's, but cheap). */
	{
		_cleanup_free_ char *s = strndup((const char *)data, MIN(size, 64));
		if (s) {
			s[strcspn(s, "\n")] = 0;
			(void)sx_parse_since(s, 1795428000000LL, &ms);
			(void)sx_parse_utc_time(s, &ms);
		}
	}
	return 0;
}
