/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * capture.h - the rotating capture files, llm-YYYYMMDDTHHMMSSZ.json (format
 * in docs/capture-format.md).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "metrics.h"

struct sx_capture;

/* Repairs files a crash left open (recovering in-flight calls from the
 * spool directory into them), then opens the current file.  Returns 0 or a
 * negative errno after logging. */
int sx_capture_start(sd_event *loop, const char *dir, unsigned rotate_mins, bool no_reasoning,
		     struct sx_metrics *m, struct sx_capture **ret);

/* Appends n records (compact JSON, no newline; lens[i] bytes each) with one
 * writev(2) per 256 (thread-safe); the counters and the log say what
 * failed.  0 or -errno. */
int sx_capture_append(struct sx_capture *c, const char *const *records, const size_t *lens, size_t n);
/* fdatasync()s the file if records were appended since the last sync: the
 * recorder thread calls it at most once a second (on the main thread a
 * sync held every client for milliseconds). */
void sx_capture_sync(struct sx_capture *c);

void sx_capture_set_rotate(struct sx_capture *c, unsigned rotate_mins);
const char *sx_capture_path(const struct sx_capture *c);
unsigned long sx_capture_records(const struct sx_capture *c);

/* Closes the current file (writes the closing bracket, syncs) and frees. */
void sx_capture_stop(struct sx_capture *c);
