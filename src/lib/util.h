/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * util.h - small helpers shared by every sentrix program.
 *
 * Cleanup attributes in the style of systemd's src/basic: a variable marked
 * _cleanup_free_ is freed when it leaves scope, so early returns stay safe.
 * TAKE_PTR()/TAKE_FD() hand ownership out of such a variable.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* GCC 12's -fanalyzer does not see that a variable with a cleanup
 * attribute was initialized and reports every cleanup call as a read of an
 * uninitialized value (fixed in GCC 13); every such variable here is
 * initialized at its declaration. */
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-use-of-uninitialized-value"
#endif
static inline void freep(void *p)
{
	free(*(void **)p);
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

/* Closes fd when it is one; returns -EBADF for `x = safe_close(x)`. */
static inline int safe_close(int fd)
{
	closep(&fd);
	return -EBADF;
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define TAKE_PTR(p)                                                                                          \
	({                                                                                                   \
		__typeof__(p) _p = (p);                                                                      \
		(p) = NULL;                                                                                  \
		_p;                                                                                          \
	})

#define TAKE_FD(fd)                                                                                          \
	({                                                                                                   \
		int _fd = (fd);                                                                              \
		(fd) = -EBADF;                                                                               \
		_fd;                                                                                         \
	})

/* asprintf() that returns NULL on failure instead of an undefined pointer. */
char *sx_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns true when the string is a valid sentrix instance name. */
bool sx_name_valid(const char *name);

/* Decimal digits only (no sign, no blank), at most max; 0 or -EINVAL. */
int sx_parse_uint(const char *s, unsigned max, unsigned *ret);
/* Parses a decimal port number 1..65535; returns 0 or -EINVAL. */
int sx_parse_port(const char *s, unsigned *ret);

/* Hex SHA-256-free content fingerprint (FNV-1a 64, enough to notice drift). */
void sx_fingerprint(const void *data, size_t len, char out[17]);

/* Decodes the UTF-8 sequence at s (n bytes left) into *cp; returns its
 * length, or 0 when it is not valid UTF-8 (overlong forms, surrogates and
 * values past U+10FFFF included). */
size_t sx_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* JSON text as cJSON prints it, made valid UTF-8 (RFC 8259): cJSON copies
 * strings byte for byte, and all else it prints is ASCII, so every invalid
 * byte is inside a string; each becomes U+FFFD.  Takes text (NULL is
 * passed through); returns the clean text, or NULL when out of memory. */
char *sx_utf8_clean(char *text);
/* True when text (NULL: yes) is all UTF-8. */
bool sx_utf8_valid(const char *text);

/* Now, UTC, milliseconds: "YYYY-MM-DDTHH:MM:SS.mmmZ" (the capture and audit
 * files' timestamp). */
void sx_utc_stamp(char out[40]);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t sx_now_usec(void);

/* For background threads (the recorder, the patrol) inside a long piece of
 * work: sched_yield() when every_usec have passed since *last (then set).
 * Woken, such a thread preempts whatever ran on its CPU and kept it off
 * for its whole batch: stepping aside is how it runs beside the proxy
 * when the unit's filter refuses a lower scheduling class (@resources). */
void sx_step_aside(uint64_t *last, uint64_t every_usec);
