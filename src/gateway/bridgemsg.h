/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bridgemsg.h - the browser side of the bridge: the JSON frames the web
 * client sends and expects (docs/bridge.md).  Pure functions, no I/O.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

enum sx_bmsg_kind { SX_BMSG_INVALID, SX_BMSG_CHAT, SX_BMSG_ABORT, SX_BMSG_GET_STATE, SX_BMSG_PING };

struct sx_bmsg {
	enum sx_bmsg_kind kind;
	cJSON *id; /* the client's id, echoed back as it came (may be NULL) */
	char *text; /* chat: the message */
	char *session; /* chat: payload.session, NULL for "main" */
	const char *why; /* SX_BMSG_INVALID: what is wrong (static) */
};

/* Frames larger than this are refused before parsing. */
#define SX_BMSG_MAX (256 * 1024)

/* Parses one text frame.  Returns the kind (SX_BMSG_INVALID with why set). */
enum sx_bmsg_kind sx_bmsg_parse(const char *buf, size_t len, struct sx_bmsg *m);
void sx_bmsg_clear(struct sx_bmsg *m);

/* Frames to the browser (caller frees; NULL on ENOMEM). */
char *sx_bmsg_ready(bool connected, bool patrol_enabled);
char *sx_bmsg_status(bool connected, const char *detail);
char *sx_bmsg_delta(const cJSON *id, const char *delta, const char *accumulated);
/* state: "final", "error" or "aborted". */
char *sx_bmsg_response(const cJSON *id, const char *text, const char *state);
char *sx_bmsg_state(void);
char *sx_bmsg_error(const cJSON *id, const char *message);
/* The answer to a ping: whether OpenClaw's gateway answered its health call. */
char *sx_bmsg_pong(const cJSON *id, bool agent_ok);

/* Origin allowlist: exact match, one trailing '/' on either side ignored. */
bool sx_bridge_origin_allowed(char *const *allowed, const char *origin);
/* The built-in allowlist (NULL-terminated). */
extern char *const sx_bridge_default_origins[];
