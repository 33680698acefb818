/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * log.h - one place for messages to the operator.
 *
 * Messages go to stderr so stdout stays free for results (--json).  The
 * *_errno variants take a negative errno, print it with the message and
 * return it, so callers can write `return log_error_errno(r, "...")`.
 */
#pragma once

#include <stdbool.h>

enum sx_log_level { SX_LOG_ERROR, SX_LOG_WARN, SX_LOG_INFO, SX_LOG_DEBUG };

void sx_log_set_level(enum sx_log_level level);
void sx_log_set_program(const char *name);
/* Routes formatted messages to sink instead of stderr (the gateway sends
 * them to journald with the instance name as a field).  NULL: stderr. */
void sx_log_set_sink(void (*sink)(enum sx_log_level level, const char *message));
int sx_log_errno(enum sx_log_level level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) sx_log_errno(SX_LOG_ERROR, 0, __VA_ARGS__)
#define log_warn(...) sx_log_errno(SX_LOG_WARN, 0, __VA_ARGS__)
#define log_info(...) sx_log_errno(SX_LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) sx_log_errno(SX_LOG_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) sx_log_errno(SX_LOG_ERROR, (e), __VA_ARGS__)
#define log_warn_errno(e, ...) sx_log_errno(SX_LOG_WARN, (e), __VA_ARGS__)
