/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * log.c - stderr logging with an errno suffix and a program prefix.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static enum sx_log_level max_level = SX_LOG_INFO;
static const char *program = "sentrix";
static void (*log_sink)(enum sx_log_level level, const char *message);

void sx_log_set_level(enum sx_log_level level)
{
	max_level = level;
}

void sx_log_set_program(const char *name)
{
	program = name;
}

void sx_log_set_sink(void (*sink)(enum sx_log_level level, const char *message))
{
	log_sink = sink;
}

/* The sink gets the message without the program prefix, errno appended. */
static __attribute__((format(printf, 3, 0))) void to_sink(enum sx_log_level level, int err, const char *fmt,
							  va_list ap)
{
	char buf[2048];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= 0 && err < 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", strerror(-err));
	log_sink(level, buf);
}

int sx_log_errno(enum sx_log_level level, int err, const char *fmt, ...)
{
	static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
	va_list ap;

	if (err > 0)
		err = -err;
	if (level > max_level)
		return err;
	if (log_sink) {
		va_start(ap, fmt);
		to_sink(level, err, fmt, ap);
		va_end(ap);
		return err;
	}
	fprintf(stderr, "%s: %s", program, prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err < 0)
		fprintf(stderr, ": %s", strerror(-err));
	fputc('\n', stderr);
	return err;
}
