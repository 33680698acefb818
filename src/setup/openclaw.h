/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * openclaw.h - the sentrix keys in SANDBOX_HOME/.openclaw/openclaw.json.
 *
 * Key names checked against `openclaw config schema` of OpenClaw 2026.9.6
 * (every object there is additionalProperties:false, so a wrong key makes
 * OpenClaw refuse the whole file).
 */
#pragma once

#include <cjson/cJSON.h>

#include "../lib/config.h"
#include "../lib/policy.h"

/* Builds {"dotted.path": value, ...}: every key sentrix sets.  current is
 * the parsed file (for per-channel keys); token may be NULL (status checks
 * only that a token is set). */
cJSON *sx_openclaw_desired(const struct sx_config *c, const struct sx_policy *p, const cJSON *current,
			   const char *token);

/* Compares a file against desired; returns 0 when it matches, else
 * -EUCLEAN (drifted) or -ENOENT/-EINVAL with *why set (caller frees). */
int sx_openclaw_check(const char *path, const cJSON *desired, char **why);
/* The same check on a file already parsed. */
int sx_openclaw_check_json(const cJSON *root, const cJSON *desired, char **why);

/* Applies desired to text (NULL: an empty config), returning the new text.
 * *undo receives what reverting needs:
 *   {"values":  {"path": original value, ...},   keys that existed
 *    "absent":  ["path", ...],                   keys that did not
 *    "created": ["path", ...]}                   parent objects sentrix added */
int sx_openclaw_apply(const char *text, const cJSON *desired, char **out, cJSON **undo, char **why);

/* Puts every key of undo back in text: original values restored, absent
 * keys removed, and the parent objects sentrix created removed when
 * nothing else lives in them. */
int sx_openclaw_revert(const char *text, const cJSON *undo, char **out, char **why);
