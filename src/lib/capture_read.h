/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * capture_read.h - reading the gateway's capture files
 * (/var/log/sentrix/NAME/llm-*.json, docs/capture-format.md) record by
 * record, and the times their records carry.
 *
 * A capture file is a JSON array written one record per line.  The reader
 * never parses the file as a whole: it yields each complete record line, so
 * it reads the file being written (no closing `]` yet) as well as a closed
 * one, and it leaves a torn last line (no newline yet) unconsumed, so that
 * calling it again once the file has grown yields that record whole.  That
 * is what `sentrix logs --follow` needs, and what the gateway's crash
 * repair needs to find the last good line.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* Capture file names: "llm-" the UTC time the file was opened ".json";
 * sorting the names sorts the files in time order. */
#define SX_CAPTURE_PREFIX "llm-"
#define SX_CAPTURE_SUFFIX ".json"

struct sx_capture_reader;

/* Opens a capture file for reading from byte offset (0: the start; else an
 * offset sx_capture_offset() returned, so always a line boundary).
 * Returns 0 or a negative errno (nothing logged: the caller knows why it
 * reads the file and says what to do). */
int sx_capture_open(const char *path, uint64_t offset, struct sx_capture_reader **ret);

void sx_capture_close(struct sx_capture_reader *r);
static inline void sx_capture_closep(struct sx_capture_reader **r)
{
	if (*r)
		sx_capture_close(*r);
}
#define _cleanup_capture_ _cleanup_(sx_capture_closep)

/* Next complete record line, unparsed, without its leading comma and its
 * newline; *ret_line stays valid until the next call.  Skips `[`, `]` (and
 * remembers the latter) and blank lines.  Returns 1 with a line, 0 when no
 * complete line is left for now (a torn last line stays pending), or a
 * negative errno when reading fails. */
int sx_capture_next_line(struct sx_capture_reader *r, const char **ret_line);

/* Next record: as sx_capture_next_line(), parsed.  A line that is not a
 * JSON object is skipped and counted (sx_capture_bad()).  On 1, *ret_record
 * belongs to the caller and ret_line (may be NULL) is the record's text. */
int sx_capture_next(struct sx_capture_reader *r, cJSON **ret_record, const char **ret_line);

/* Bytes of the file consumed: up to the end of the last complete line. */
uint64_t sx_capture_offset(const struct sx_capture_reader *r);

/* Bytes read past the last complete line (a line being written or torn). */
size_t sx_capture_pending(const struct sx_capture_reader *r);

/* True once the closing `]` has been read: the file is complete. */
bool sx_capture_closed(const struct sx_capture_reader *r);

/* Complete lines that were neither a record nor `[`/`]`. */
size_t sx_capture_bad(const struct sx_capture_reader *r);

/* Names (not paths) of the capture files in dir, sorted: oldest first.
 * Returns the count, or a negative errno (-ENOENT: no such directory). */
int sx_capture_list(const char *dir, char ***ret);

/* Parses an ISO-8601 time: YYYY-MM-DD, optionally followed by `T` or a
 * space and HH:MM[:SS[.fraction]], optionally followed by `Z` or an offset
 * ±HH:MM; without a zone it is UTC.  *ret_ms is milliseconds since the
 * epoch.  Returns 0 or -EINVAL. */
int sx_parse_utc_time(const char *s, int64_t *ret_ms);

/* Parses a --since value: an ISO-8601 time as sx_parse_utc_time(), or a
 * duration before now_ms: one or more NUMBER UNIT pairs, unit s, m, h or d
 * ("30s", "10m", "1h30m", "2d").  Returns 0 or -EINVAL. */
int sx_parse_since(const char *s, int64_t now_ms, int64_t *ret_ms);

/* The record's "timestamp" in milliseconds since the epoch; 0 or -EINVAL
 * when it has none or it does not parse. */
int sx_capture_record_time(const cJSON *record, int64_t *ret_ms);

/* The time in a capture file's name (llm-YYYYMMDDTHHMMSSZ.json), in
 * milliseconds since the epoch; 0 or -EINVAL. */
int sx_capture_name_time(const char *name, int64_t *ret_ms);
