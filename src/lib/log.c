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

void sx_log_set_level(enum sx_log_level level)
{
	max_level = level;
}

void sx_log_set_program(const char *name)
{
	program = name;
}

int sx_log_errno(enum sx_log_level level, int err, const char *fmt, ...)
{
	static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
	va_list ap;

	if (err > 0)
		err = -err;
	if (level > max_level)
		return err;
	fprintf(stderr, "%s: %s", program, prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err < 0)
		fprintf(stderr, ": %s", strerror(-err));
	fputc('\n', stderr);
	return err;
}
