/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * capture_read.c - line-by-line reader of capture files, the capture file
 * listing, and the time formats records and `--since` use.
 *
 * The reader keeps one growing buffer per file: bytes after the last
 * newline stay in it (a record still being written, or torn by a crash), so
 * a later call, after the file grew, completes that line instead of
 * yielding half a record.  Lines are found with memchr, never by parsing
 * the array: one record's JSON is parsed at a time, by cJSON.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture_read.h"
#include "jsonutil.h"
#include "strv.h"

#define READ_CHUNK (64 * 1024)

struct sx_capture_reader {
	int fd;
	char *buf;
	size_t cap;
	size_t start, end; /* unconsumed bytes: buf[start, end) */
	size_t scanned; /* of those, how many are known to hold no newline */
	uint64_t offset; /* file offset of buf[start] */
	bool closed;
	size_t bad;
};

int sx_capture_open(const char *path, uint64_t offset, struct sx_capture_reader **ret)
{
	/* The gateway user's directory, read by root (`sentrix logs`): its
	 * capture files are never links, FIFOs or devices. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	struct sx_capture_reader *r;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (offset > 0 && lseek(fd, (off_t)offset, SEEK_SET) < 0)
		return -errno;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = TAKE_FD(fd);
	r->offset = offset;
	*ret = r;
	return 0;
}

void sx_capture_close(struct sx_capture_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r);
}

/* Reads more of the file into the buffer, first moving the unconsumed
 * bytes to its start and growing it when it is full.  Returns the number
 * of bytes read (0 at the end of the file for now) or a negative errno. */
static ssize_t fill(struct sx_capture_reader *r)
{
	ssize_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < READ_CHUNK) {
		size_t cap = r->cap ? r->cap * 2 : 2 * READ_CHUNK;
		char *b = realloc(r->buf, cap);
		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	do
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	r->end += (size_t)n;
	return n;
}

/* Strips whitespace at both ends of a NUL-terminated line in place. */
static char *strip(char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = 0;
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* At the end of the file: a closing `]` needs no newline after it. */
static void take_final_bracket(struct sx_capture_reader *r)
{
	size_t i = r->start, n = r->end - r->start;

	while (i < r->end && isspace((unsigned char)r->buf[i]))
		i++;
	if (i == r->end || r->buf[i] != ']')
		return;
	for (i++; i < r->end; i++)
		if (!isspace((unsigned char)r->buf[i]))
			return;
	r->closed = true;
	r->start = r->end;
	r->scanned = 0;
	r->offset += n;
}

int sx_capture_next_line(struct sx_capture_reader *r, const char **ret_line)
{
	for (;;) {
		size_t avail = r->end - r->start;
		char *nl = avail > r->scanned
		    ? memchr(r->buf + r->start + r->scanned, '\n', avail - r->scanned)
		    : NULL;
		char *line;
		size_t len;
		ssize_t n;

		if (!nl) {
			r->scanned = avail;
			n = fill(r);
			if (n < 0)
				return (int)n;
			if (n == 0) {
				take_final_bracket(r);
				return 0;
			}
			continue;
		}
		line = r->buf + r->start;
		len = (size_t)(nl - line);
		*nl = 0;
		r->start += len + 1;
		r->offset += len + 1;
		r->scanned = 0;
		line = strip(line, len);
		if (!*line || streq(line, "["))
			continue;
		if (streq(line, "]")) {
			r->closed = true;
			continue;
		}
		if (*line == ',')
			for (line++; isspace((unsigned char)*line); line++)
				;
		if (*line != '{') {
			r->bad++;
			continue;
		}
		*ret_line = line;
		return 1;
	}
}

int sx_capture_next(struct sx_capture_reader *r, cJSON **ret_record, const char **ret_line)
{
	for (;;) {
		const char *line = NULL;
		cJSON *j;
		int k = sx_capture_next_line(r, &line);

		if (k <= 0)
			return k;
		j = cJSON_ParseWithOpts(line, NULL, true);
		if (!cJSON_IsObject(j)) {
			cJSON_Delete(j);
			r->bad++;
			continue;
		}
		*ret_record = j;
		if (ret_line)
			*ret_line = line;
		return 1;
	}
}

uint64_t sx_capture_offset(const struct sx_capture_reader *r)
{
	return r->offset;
}

size_t sx_capture_pending(const struct sx_capture_reader *r)
{
	return r->end - r->start;
}

bool sx_capture_closed(const struct sx_capture_reader *r)
{
	return r->closed;
}

size_t sx_capture_bad(const struct sx_capture_reader *r)
{
	return r->bad;
}

static bool is_capture_name(const char *name)
{
	size_t n = strlen(name), p = strlen(SX_CAPTURE_PREFIX), s = strlen(SX_CAPTURE_SUFFIX);

	return n > p + s && strncmp(name, SX_CAPTURE_PREFIX, p) == 0 &&
	    strcmp(name + n - s, SX_CAPTURE_SUFFIX) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sx_capture_list(const char *dir, char ***ret)
{
	char **v = calloc(1, sizeof(char *));
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!v)
		return -ENOMEM;
	d = opendir(dir);
	if (!d) {
		sx_strv_free(v);
		return -errno;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			r = -errno;
			break;
		}
		if (is_capture_name(de->d_name) && (r = sx_strv_push(&v, de->d_name)) < 0)
			break;
	}
	closedir(d);
	if (r < 0) {
		sx_strv_free(v);
		return r;
	}
	qsort(v, sx_strv_length(v), sizeof(char *), cmp_names);
	*ret = v;
	return (int)sx_strv_length(v);
}

/* Reads exactly n decimal digits at *p and advances past them; returns the
 * value, or -1 when fewer than n digits are there. */
static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

/* Seconds since the epoch of a UTC calendar time; -EINVAL when a field is
 * out of range (31 February included). */
static int utc_seconds(int y, int mo, int d, int h, int mi, int s, int64_t *ret)
{
	struct tm tm = {
	    .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
	struct tm back;
	time_t t;

	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
	    s > 59)
		return -EINVAL;
	t = timegm(&tm);
	if (!gmtime_r(&t, &back) || back.tm_mon != mo - 1 || back.tm_mday != d)
		return -EINVAL;
	*ret = (int64_t)t;
	return 0;
}

/* Parses HH:MM[:SS[.fraction]] at *p; advances past it. */
static int parse_clock(const char **p, int *h, int *mi, int *s, int *ms)
{
	int scale = 100;

	if ((*h = digits(p, 2)) < 0 || **p != ':')
		return -EINVAL;
	(*p)++;
	if ((*mi = digits(p, 2)) < 0)
		return -EINVAL;
	if (**p != ':')
		return 0;
	(*p)++;
	if ((*s = digits(p, 2)) < 0)
		return -EINVAL;
	if (**p != '.' && **p != ',')
		return 0;
	(*p)++;
	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	for (; isdigit((unsigned char)**p); (*p)++, scale /= 10)
		*ms += (**p - '0') * scale;
	return 0;
}

/* Parses a zone at *p: nothing (UTC), Z, or ±HH[:]MM; *ret_min is the
 * offset east of UTC in minutes. */
static int parse_zone(const char **p, int *ret_min)
{
	int sign, oh, om;

	*ret_min = 0;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return 0;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if ((oh = digits(p, 2)) < 0)
		return -EINVAL;
	if (**p == ':')
		(*p)++;
	if ((om = digits(p, 2)) < 0 || oh > 23 || om > 59)
		return -EINVAL;
	*ret_min = sign * (oh * 60 + om);
	return 0;
}

int sx_parse_utc_time(const char *s, int64_t *ret_ms)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, zone = 0;
	int64_t t;

	if (!s || (y = digits(&p, 4)) < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 0 || *p++ != '-' ||
	    (d = digits(&p, 2)) < 0)
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_clock(&p, &h, &mi, &sec, &ms) < 0)
			return -EINVAL;
	}
	if (parse_zone(&p, &zone) < 0 || *p)
		return -EINVAL;
	if (utc_seconds(y, mo, d, h, mi, sec, &t) < 0)
		return -EINVAL;
	*ret_ms = t * 1000 + ms - (int64_t)zone * 60000;
	return 0;
}

int sx_parse_since(const char *s, int64_t now_ms, int64_t *ret_ms)
{
	int64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (sx_parse_utc_time(s, ret_ms) == 0)
		return 0;
	while (*p) {
		int64_t unit;
		unsigned long long v;
		char *end;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno)
			return -EINVAL;
		switch (*end) {
		case 's': unit = 1000; break;
		case 'm': unit = 60 * 1000; break;
		case 'h': unit = 3600 * 1000; break;
		case 'd': unit = 86400 * 1000; break;
		default: return -EINVAL;
		}
		if (v > (unsigned long long)((INT64_MAX - total) / unit))
			return -EINVAL;
		total += (int64_t)v * unit;
		p = end + 1;
	}
	*ret_ms = now_ms - total;
	return 0;
}

int sx_capture_record_time(const cJSON *record, int64_t *ret_ms)
{
	return sx_parse_utc_time(sx_json_str(record, "timestamp"), ret_ms);
}

int sx_capture_name_time(const char *name, int64_t *ret_ms)
{
	const char *p = name;
	int y, mo, d, h, mi, s;
	int64_t t;

	if (!name || strncmp(p, SX_CAPTURE_PREFIX, strlen(SX_CAPTURE_PREFIX)) != 0)
		return -EINVAL;
	p += strlen(SX_CAPTURE_PREFIX);
	if ((y = digits(&p, 4)) < 0 || (mo = digits(&p, 2)) < 0 || (d = digits(&p, 2)) < 0 || *p++ != 'T' ||
	    (h = digits(&p, 2)) < 0 || (mi = digits(&p, 2)) < 0 || (s = digits(&p, 2)) < 0 || *p++ != 'Z' ||
	    !streq(p, SX_CAPTURE_SUFFIX))
		return -EINVAL;
	if (utc_seconds(y, mo, d, h, mi, s, &t) < 0)
		return -EINVAL;
	*ret_ms = t * 1000;
	return 0;
}
