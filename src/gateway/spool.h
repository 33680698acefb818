/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * spool.h - an open call's state on disk, DIR/spool/ID: line 1 the
 * record's head (JSON), then "status N sse|body\n" once the upstream
 * answered, then the raw response body.  It makes a call in flight
 * recoverable after SIGKILL and bounds a stream's memory: past
 * SX_CAPTURE_MEM_MAX bytes the body is only here.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define SX_CAPTURE_MEM_MAX (64 * 1024)

/* Takes a spool file in DIR/spool (a reused one when possible) and writes
 * the head line; returns an fd and its path, or -errno. */
int sx_spool_create(const char *dir, const char *head, char **ret_path);
/* The call is recorded: empties the file and keeps it for the next call
 * (or removes it); takes ownership of path. */
void sx_spool_release(int fd, char *path);
/* Removes the kept empty files (a clean stop leaves an empty spool). */
void sx_spool_drop_idle(void);
int sx_spool_status(int fd, long status, bool sse);
int sx_spool_body(int fd, const void *data, size_t len);

/* Reads a spool file back: head, status (-1 when none), sse, and the body
 * bytes. */
int sx_spool_read(const char *path, cJSON **head, long *status, bool *sse, char **body, size_t *len);
