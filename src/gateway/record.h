/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * record.h - builds a capture record (docs/capture-format.md) from its head
 * (fields known when the request arrived) and the response body.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct sx_record_end {
	long status; /* -1: no response */
	bool sse; /* the response was an event stream */
	double first_byte_ms, total_ms; /* first_byte_ms < 0: none */
	size_t request_bytes;
	const char *error; /* NULL: none */
	bool complete;
	bool no_reasoning;
};

/* Returns the record as compact JSON (caller frees), NULL on failure.
 * Takes head over (it becomes the record: a request of hundreds of KiB is
 * not copied). */
char *sx_record_finish(cJSON *head, const char *body, size_t len, const struct sx_record_end *e);

/* The same, and the record's length in *text_len (a strlen() of a 512 KiB
 * record was a twentieth of the recorder's work). */
char *sx_record_finish_n(cJSON *head, const char *body, size_t len, const struct sx_record_end *e,
			 size_t *text_len);
