/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * ocproto.h - the OpenClaw side of the bridge: gateway protocol 4 frames
 * for an operator device (docs/openclaw-gateway-protocol.md).  Pure
 * functions, no I/O.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "devicekey.h"

#define SX_OC_PROTOCOL 4
#define SX_OC_CLIENT_ID "gateway-client"
#define SX_OC_CLIENT_MODE "ui"
#define SX_OC_ROLE "operator"
#define SX_OC_SCOPES "operator.read,operator.write" /* as signed: joined with "," */

/* The connect request answering a challenge.  Authenticates with the
 * shared gateway token when token is set (first contact: pairs the
 * device), else with the device token.  Returns the frame (caller frees). */
char *sx_oc_connect(const char *req_id, const struct sx_device_key *k, const char *display_name,
		    const char *version, const char *nonce, long long signed_at, const char *token,
		    const char *device_token);
char *sx_oc_chat_send(const char *req_id, const char *session, const char *text, const char *run_id);
char *sx_oc_chat_abort(const char *req_id, const char *session, const char *run_id);
/* A parameterless request (health, status, ...). */
char *sx_oc_request(const char *req_id, const char *method);

enum sx_oc_type { SX_OC_OTHER, SX_OC_EVENT, SX_OC_RES };

struct sx_oc_frame {
	enum sx_oc_type type;
	const char *event; /* SX_OC_EVENT */
	const char *id; /* SX_OC_RES */
	bool ok; /* SX_OC_RES */
	const cJSON *payload;
	const char *error_code, *error_message, *detail_code; /* SX_OC_RES with !ok */
	cJSON *root;
};

/* Returns 0, or -EINVAL for a frame that is not a JSON object. */
int sx_oc_parse(const char *buf, size_t len, struct sx_oc_frame *f);
void sx_oc_frame_clear(struct sx_oc_frame *f);

/* A "chat" event's payload. */
struct sx_oc_chat {
	const char *run_id, *state; /* state: delta, final, aborted, error, status */
	char *text; /* message.content[] text parts joined; NULL when there is no message */
	const char *delta_text; /* deltaText, may be NULL */
	const char *error_message, *stop_reason;
};

/* Returns 0, or -EINVAL when the payload lacks runId or state. */
int sx_oc_chat_event(const cJSON *payload, struct sx_oc_chat *c);
void sx_oc_chat_clear(struct sx_oc_chat *c);

/* A random UUID v4 (idempotency keys, request ids) into buf[37]. */
void sx_oc_uuid(char buf[37]);
