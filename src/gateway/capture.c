/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * capture.c - the capture files (docs/capture-format.md).
 *
 * One record per line makes the three hard cases simple: appends are one
 * write(2) on an O_APPEND fd, under a lock (the recorder thread appends,
 * the main thread rotates), so records never interleave; closing a file is appending "]"; and repairing a file a
 * crash left open is cutting it after its last line that parses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "capture.h"
#include "record.h"
#include "spool.h"

struct sx_capture {
	sd_event *loop;
	char *dir;
	char *path;
	int fd;
	unsigned long records; /* atomic: /health reads it */
	off_t end; /* the current file's size, and up to where its pages were dropped */
	off_t dropped;
	bool dirty; /* atomic: set by appends, cleared by the sync timer */
	pthread_mutex_t lock; /* fd, path and records against the recorder thread's appends */
	unsigned rotate_mins;
	bool no_reasoning;
	struct sx_metrics *metrics;
	sd_event_source *rotate_timer;
};

/* True when line (without its newline) is a record line: "{…}" or ",{…}". */
static bool record_line(const char *line, size_t n)
{
	cJSON *j;
	if (n && line[0] == ',')
		line++, n--;
	if (!n || line[0] != '{')
		return false;
	j = cJSON_ParseWithLength(line, n);
	if (!j)
		return false;
	cJSON_Delete(j);
	return true;
}

/* A capture file mapped read-only: a start looks at the ends of files
 * that hold gigabytes (it read them whole, into memory, every one of them,
 * at every start). */
struct mapped {
	const char *p;
	size_t len; /* what may be read: the file's length (after a cut too) */
	size_t mapped;
};

static int map_file(const char *path, struct mapped *m)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	void *p;

	*m = (struct mapped){NULL, 0, 0};
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADF;
	if (st.st_size == 0)
		return 0;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*m = (struct mapped){p, (size_t)st.st_size, (size_t)st.st_size};
	return 0;
}

static void unmap_file(struct mapped *m)
{
	if (m->p)
		munmap((void *)m->p, m->mapped);
	*m = (struct mapped){NULL, 0, 0};
}

static bool closed_file(const struct mapped *m)
{
	const char *t = m->p;
	size_t n = m->len;
	return n >= 2 && t[n - 1] == '\n' && t[n - 2] == ']' && (n == 2 || t[n - 3] == '\n');
}

/* The start of the line that ends at end (a '\n' or the text's end). */
static size_t line_start(const struct mapped *m, size_t end)
{
	const char *nl = end > 2 ? memrchr(m->p + 2, '\n', end - 2) : NULL;
	return nl ? (size_t)(nl - m->p) + 1 : 2;
}

/* Where a file is cut: after its last line that holds a whole record.
 * Appends are whole lines, so only the end can be torn; the lines before
 * the last good one are not read. */
static size_t cut_point(const struct mapped *m)
{
	size_t end = m->len;

	if (m->len < 2 || m->p[0] != '[' || m->p[1] != '\n')
		return 0;
	while (end > 2) {
		const char *nl = memrchr(m->p + 2, '\n', end - 2);
		size_t at, from;
		if (!nl)
			break;
		at = (size_t)(nl - m->p);
		from = line_start(m, at);
		if (record_line(m->p + from, at - from))
			return at + 1;
		end = from;
	}
	return 2;
}

/* Opens a capture file for appending.  A file that ends in "]" is reopened
 * (its bracket cut off); one that does not is repaired: cut after the last
 * line holding a whole record.  Sets *records to the records kept when
 * count is set, else to whether there is one (for the commas).  m (the
 * file mapped) is cut too: past the file's end a mapping faults. */
static int open_for_append(const char *path, struct mapped *m, bool count, unsigned long *records)
{
	_cleanup_close_ int fd = -EBADF;
	size_t keep = cut_point(m);
	unsigned long n = 0;
	int r;

	if (count)
		for (const char *p = m->p + (keep ? 2 : 0), *end = m->p + keep;
		     p < end && (p = memchr(p, '\n', (size_t)(end - p))); p++)
			n++;
	else
		n = keep > 2;
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)keep) < 0)
		return -errno;
	m->len = keep;
	if (keep == 0 && (r = sx_write_all(fd, "[\n", 2)) < 0)
		return r;
	*records = n;
	return TAKE_FD(fd);
}

/* Appends n records (each a line, after a comma but for the file's
 * first) with as few writes as IOV_MAX allows: no copy of a record.
 * *end (the file's size) grows by what was written. */
static int append_lines(int fd, unsigned long *records, const char *const *rec, const size_t *len, size_t n,
			off_t *end)
{
	struct iovec iov[3 * 256];
	bool first = *records == 0;

	for (size_t i = 0; i < n;) {
		size_t k = 0, total = 0, m = 0;
		int r;
		for (; i < n && k + 3 <= sizeof(iov) / sizeof(iov[0]); i++, m++) {
			if (!first)
				iov[k++] = (struct iovec){(void *)",", 1};
			first = false;
			iov[k++] = (struct iovec){(void *)rec[i], len[i]};
			iov[k++] = (struct iovec){(void *)"\n", 1};
		}
		for (size_t j = 0; j < k; j++)
			total += iov[j].iov_len;
		r = sx_writev_all(fd, iov, (int)k, total);
		if (r < 0)
			return r;
		*end += (off_t)total;
		__atomic_fetch_add(records, m, __ATOMIC_RELAXED);
	}
	return 0;
}

static int close_file(int fd)
{
	int r = sx_write_all(fd, "]\n", 2);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The lines a slot's record can be among when a kill came between its
 * write and the slot's release: the recorder frees a batch's slots (256 at
 * most) right after writing it, the proxy's thread writes one record at a
 * time.  A record further back than this would be recorded twice, never
 * lost. */
#define RECORDED_LINES 1024

/* True when a record with this id is among the capture file's last
 * RECORDED_LINES lines (its id is near a line's start: record.c prints the
 * timestamp and then the id). */
static bool recorded_in(const struct mapped *m, const char *id)
{
	char needle[64];
	int n = snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
	size_t end = m->len;

	if (!m->p || n <= 0 || (size_t)n >= sizeof(needle))
		return false;
	for (int i = 0; i < RECORDED_LINES && end > 2; i++) {
		size_t from = line_start(m, end - 1), head = end - from;
		if (memmem(m->p + from, head < 128 ? head : 128, needle, (size_t)n))
			return true;
		end = from;
	}
	return false;
}

/* Turns each spool file left by a killed gateway into an incomplete record
 * appended to fd, unless the newest capture file (text) holds it already:
 * exactly once. */
static void recover_spool(struct sx_capture *c, int fd, const struct mapped *m, unsigned long *records)
{
	_cleanup_free_ char *spool = sx_strdupf("%s/spool", c->dir);
	DIR *d = spool ? opendir(spool) : NULL;
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL, *body = NULL, *rec = NULL;
		cJSON *head = NULL;
		size_t len = 0, request_bytes = 0, rec_len;
		long status;
		bool sse;
		int r;
		if (de->d_name[0] == '.')
			continue;
		path = sx_strdupf("%s/%s", spool, de->d_name);
		if (!path)
			break;
		r = sx_spool_read(path, &head, &request_bytes, &status, &sse, &body, &len);
		if (r == -ENODATA) { /* a free slot */
			unlink(path);
			continue;
		}
		if (r == 0) {
			struct sx_record_end e = {
			    .status = status,
			    .sse = sse,
			    .first_byte_ms = -1,
			    .total_ms = 0,
			    .request_bytes = request_bytes,
			    .error = "gateway stopped before the call finished",
			    .complete = false,
			    .no_reasoning = c->no_reasoning,
			};
			char id[300];
			snprintf(id, sizeof(id), "%s", sx_json_str(head, "id") ?: de->d_name);
			if (recorded_in(m, id))
				log_info("call %s was recorded before the gateway stopped", id);
			else if ((rec = sx_record_finish_n(TAKE_PTR(head), body, len, &e, &rec_len)) &&
				 append_lines(fd, records, (const char *const *)&rec, &rec_len, 1, &c->end) ==
				     0) {
				c->metrics->capture_records++;
				log_info(
				    "recovered call %s (in flight when the gateway stopped) as incomplete",
				    id);
			} else
				c->metrics->capture_errors++;
			cJSON_Delete(head);
		} else
			log_warn("dropping spool file %s: it holds no request", path);
		unlink(path);
	}
	closedir(d);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int select_capture(const struct dirent *de)
{
	size_t n = strlen(de->d_name);
	return strncmp(de->d_name, "llm-", 4) == 0 && n > 9 && streq(de->d_name + n - 5, ".json");
}

/* The newest capture file's path, or NULL. */
static char *newest_capture(struct sx_capture *c)
{
	struct dirent **list = NULL;
	int n = scandir(c->dir, &list, select_capture, by_name);
	char *path = n > 0 ? sx_strdupf("%s/%s", c->dir, list[n - 1]->d_name) : NULL;

	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return path;
}

/* Repairs every capture file without its closing bracket; in-flight calls
 * go into the newest of them.  Returns the number repaired or -errno. */
static int repair(struct sx_capture *c)
{
	struct dirent **list = NULL;
	int n = scandir(c->dir, &list, select_capture, by_name), repaired = 0;

	if (n < 0)
		return log_error_errno(-errno, "cannot read %s", c->dir);
	for (int i = n - 1; i >= 0; i--) {
		_cleanup_free_ char *path = sx_strdupf("%s/%s", c->dir, list[i]->d_name);
		struct mapped m;
		unsigned long records = 0;
		int fd;
		if (!path || map_file(path, &m) < 0)
			continue;
		if (!closed_file(&m)) {
			fd = open_for_append(path, &m, false, &records);
			if (fd < 0) {
				log_error_errno(fd, "cannot repair %s", path);
				unmap_file(&m);
				continue;
			}
			if (repaired == 0)
				recover_spool(c, fd, &m, &records);
			close_file(fd);
			log_info("repaired %s (left open by a stopped gateway)", path);
			repaired++;
		}
		unmap_file(&m);
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return repaired;
}

static int open_current(struct sx_capture *c)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	_cleanup_free_ char *path = NULL;
	unsigned long records = 0;
	struct stat st;
	int fd;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	path = sx_strdupf("%s/llm-%s.json", c->dir, stamp);
	if (!path)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd >= 0) {
		int r = sx_write_all(fd, "[\n", 2);
		if (r < 0) {
			close(fd);
			return log_error_errno(r, "cannot write %s", path);
		}
	} else if (errno == EEXIST) { /* restarted within the second */
		struct mapped m;
		fd = map_file(path, &m);
		if (fd == 0) {
			fd = open_for_append(path, &m, true, &records);
			unmap_file(&m);
		}
	} else
		fd = -errno;
	if (fd < 0)
		return log_error_errno(fd, "cannot open capture file %s", path);
	c->fd = fd;
	c->records = records;
	c->end = fstat(fd, &st) == 0 ? st.st_size : 0;
	c->dropped = 0;
	free(c->path);
	c->path = TAKE_PTR(path);
	return 0;
}

static void arm_rotation(struct sx_capture *c)
{
	uint64_t now;
	sd_event_now(c->loop, CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(c->rotate_timer, now + (uint64_t)c->rotate_mins * 60 * 1000000ULL);
	sd_event_source_set_enabled(c->rotate_timer, SD_EVENT_ONESHOT);
}

static int on_rotate(sd_event_source *s, uint64_t usec, void *data)
{
	struct sx_capture *c = data;
	int old = c->fd, r;

	/* An empty file is kept rather than leaving a trail of empty ones. */
	pthread_mutex_lock(&c->lock);
	if (c->records > 0) {
		_cleanup_free_ char *old_path = c->path ? strdup(c->path) : NULL;
		c->path = NULL;
		r = open_current(c);
		if (r < 0) {
			c->fd = old; /* keep writing to the old file */
			c->path = TAKE_PTR(old_path);
		} else {
			close_file(old);
			__atomic_store_n(&c->dirty, false, __ATOMIC_RELAXED);
			log_info("capture rotated: %s closed, now %s", old_path, c->path);
		}
	}
	pthread_mutex_unlock(&c->lock);
	arm_rotation(c);
	return 0;
}

void sx_capture_sync(struct sx_capture *c)
{
	/* Under the lock: the main thread may be rotating to a new fd. */
	pthread_mutex_lock(&c->lock);
	if (__atomic_exchange_n(&c->dirty, false, __ATOMIC_RELAXED) && fdatasync(c->fd) < 0)
		log_warn_errno(-errno, "cannot sync %s", c->path);
	pthread_mutex_unlock(&c->lock);
}

int sx_capture_start(sd_event *loop, const char *dir, unsigned rotate_mins, bool no_reasoning,
		     struct sx_metrics *m, struct sx_capture **ret)
{
	_cleanup_free_ char *spool = sx_strdupf("%s/spool", dir);
	struct sx_capture *c = calloc(1, sizeof(*c));
	int r, repaired;

	if (!c || !spool || !(c->dir = strdup(dir))) {
		free(c);
		return -ENOMEM;
	}
	c->loop = loop;
	c->fd = -EBADF;
	c->rotate_mins = rotate_mins ?: 10;
	c->no_reasoning = no_reasoning;
	c->metrics = m;
	pthread_mutex_init(&c->lock, NULL);
	if (mkdir(spool, 0700) < 0 && errno != EEXIST) {
		r = log_error_errno(-errno, "cannot create %s", spool);
		goto fail;
	}
	repaired = repair(c);
	if (repaired < 0) {
		r = repaired;
		goto fail;
	}
	if (repaired == 0) {
		/* Spool files without an open file: the calls may be in the newest
		 * (closed) one. */
		_cleanup_free_ char *path = newest_capture(c);
		struct mapped newest = {NULL, 0, 0};
		r = open_current(c);
		if (r < 0)
			goto fail;
		/* mapped after open_current(), which may have cut it */
		if (path)
			(void)map_file(path, &newest);
		recover_spool(c, c->fd, &newest, &c->records);
		unmap_file(&newest);
	} else if ((r = open_current(c)) < 0)
		goto fail;
	r = sd_event_add_time(loop, &c->rotate_timer, CLOCK_MONOTONIC, 0, 0, on_rotate, c);
	if (r < 0) {
		log_error_errno(r, "cannot create capture timers");
		goto fail;
	}
	arm_rotation(c);
	*ret = c;
	return 0;
fail:
	sx_capture_stop(c);
	return r;
}

/* Capture files are written once, read back soon by the patrol and rarely
 * after.  Left in the page cache they would push out everything else, and
 * every page of them would be a fresh one from the free lists: on a VM
 * that hands free pages back to its host, a host fault each (appending
 * 512 KB took 0.9 ms of copy, seven times as long as into recycled pages).
 * So the bytes more than CACHE_KEEP behind the end are written back (their
 * writeback was started CACHE_KEEP earlier: the wait is short) and dropped.
 * Only speed depends on it: errors are ignored. */
#define CACHE_KEEP ((off_t)32 << 20)

static void drop_cache_behind(struct sx_capture *c)
{
	off_t to = c->end - CACHE_KEEP;

	if (to - c->dropped < CACHE_KEEP)
		return;
	(void)sync_file_range(c->fd, c->dropped, to - c->dropped,
			      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				  SYNC_FILE_RANGE_WAIT_AFTER);
	(void)posix_fadvise(c->fd, c->dropped, to - c->dropped, POSIX_FADV_DONTNEED);
	(void)sync_file_range(c->fd, to, c->end - to, SYNC_FILE_RANGE_WRITE);
	c->dropped = to;
}

int sx_capture_append(struct sx_capture *c, const char *const *records, const size_t *lens, size_t n)
{
	unsigned long before;
	int r;

	pthread_mutex_lock(&c->lock);
	before = c->records;
	r = append_lines(c->fd, &c->records, records, lens, n, &c->end);
	drop_cache_behind(c);
	if (r < 0)
		log_error_errno(r, "cannot append %zu record(s) to %s", n - (c->records - before), c->path);
	n -= c->records - before; /* not written */
	before = c->records - before;
	pthread_mutex_unlock(&c->lock);
	if (n)
		__atomic_fetch_add(&c->metrics->capture_errors, n, __ATOMIC_RELAXED);
	if (before) {
		__atomic_fetch_add(&c->metrics->capture_records, before, __ATOMIC_RELAXED);
		__atomic_store_n(&c->dirty, true, __ATOMIC_RELAXED);
	}
	return r;
}

void sx_capture_set_rotate(struct sx_capture *c, unsigned rotate_mins)
{
	if (rotate_mins && rotate_mins != c->rotate_mins) {
		c->rotate_mins = rotate_mins;
		arm_rotation(c);
	}
}

const char *sx_capture_path(const struct sx_capture *c)
{
	return c->path;
}

unsigned long sx_capture_records(const struct sx_capture *c)
{
	return __atomic_load_n(&c->records, __ATOMIC_RELAXED);
}

void sx_capture_stop(struct sx_capture *c)
{
	if (!c)
		return;
	if (c->fd >= 0) {
		int r = close_file(c->fd);
		if (r < 0)
			log_error_errno(r, "cannot close %s", c->path);
	}
	sd_event_source_disable_unref(c->rotate_timer);
	pthread_mutex_destroy(&c->lock);
	free(c->path);
	free(c->dir);
	free(c);
}
