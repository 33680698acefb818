/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bridgemsg.c - browser frames (see bridgemsg.h).
 */
#include <string.h>

#include "../lib/util.h"
#include "bridgemsg.h"

char *const sx_bridge_default_origins[] = {"https://openclaw-sentrix.vercel.app", "https://www.sentrixai.xyz",
					   "http://localhost:3000", "https://localhost:3000", NULL};

static char *dup_string(const cJSON *v)
{
	return cJSON_IsString(v) && v->valuestring ? strdup(v->valuestring) : NULL;
}

enum sx_bmsg_kind sx_bmsg_parse(const char *buf, size_t len, struct sx_bmsg *m)
{
	cJSON *j = NULL;
	const cJSON *type, *id, *payload, *text, *session;

	memset(m, 0, sizeof(*m));
	if (len > SX_BMSG_MAX) {
		m->why = "message too large";
		return SX_BMSG_INVALID;
	}
	j = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(j)) {
		m->why = "not a JSON object";
		goto out;
	}
	type = cJSON_GetObjectItemCaseSensitive(j, "type");
	id = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (id && (cJSON_IsString(id) || cJSON_IsNumber(id)))
		m->id = cJSON_Duplicate(id, false);
	if (!cJSON_IsString(type)) {
		m->why = "no \"type\"";
		goto out;
	}
	if (streq(type->valuestring, "chat")) {
		payload = cJSON_GetObjectItemCaseSensitive(j, "payload");
		text = cJSON_GetObjectItemCaseSensitive(payload, "text");
		session = cJSON_GetObjectItemCaseSensitive(payload, "session");
		if (!cJSON_IsString(text) || !text->valuestring[0]) {
			m->why = "chat needs payload.text, a non-empty string";
			goto out;
		}
		if (session &&
		    (!cJSON_IsString(session) || !session->valuestring[0] ||
		     strlen(session->valuestring) > 512)) {
			m->why = "payload.session must be a string of 1-512 characters";
			goto out;
		}
		m->text = dup_string(text);
		m->session = dup_string(session);
		if (!m->text || (session && !m->session)) {
			m->why = "out of memory";
			goto out;
		}
		m->kind = SX_BMSG_CHAT;
	} else if (streq(type->valuestring, "abort"))
		m->kind = SX_BMSG_ABORT;
	else if (streq(type->valuestring, "get_state"))
		m->kind = SX_BMSG_GET_STATE;
	else if (streq(type->valuestring, "ping"))
		m->kind = SX_BMSG_PING;
	else
		m->why = "unknown type (chat, abort, get_state, ping)";
out:
	cJSON_Delete(j);
	return m->kind;
}

void sx_bmsg_clear(struct sx_bmsg *m)
{
	cJSON_Delete(m->id);
	free(m->text);
	free(m->session);
	memset(m, 0, sizeof(*m));
}

/* {"type":TYPE,"id":ID?,"payload":PAYLOAD} rendered; payload is taken. */
static char *frame(const char *type, const cJSON *id, cJSON *payload)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	if (!o || !payload) {
		cJSON_Delete(o);
		cJSON_Delete(payload);
		return NULL;
	}
	cJSON_AddStringToObject(o, "type", type);
	if (id)
		cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, false));
	cJSON_AddItemToObject(o, "payload", payload);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* Strings come from OpenClaw (the agent's) and browsers byte for
	 * byte; a text frame must be UTF-8 (RFC 6455), or the browser drops
	 * the connection. */
	return sx_utf8_clean(s);
}

char *sx_bmsg_ready(bool connected, bool patrol_enabled)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "status", connected ? "connected" : "agent_down");
	cJSON_AddBoolToObject(p, "patrol_enabled", patrol_enabled);
	return frame("bridge.ready", NULL, p);
}

char *sx_bmsg_status(bool connected, const char *detail)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "status", connected ? "connected" : "agent_down");
	if (detail)
		cJSON_AddStringToObject(p, "detail", detail);
	return frame("bridge.status", NULL, p);
}

char *sx_bmsg_delta(const cJSON *id, const char *delta, const char *accumulated)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "text", delta);
	cJSON_AddStringToObject(p, "accumulated", accumulated);
	return frame("response.delta", id, p);
}

char *sx_bmsg_response(const cJSON *id, const char *text, const char *state)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "text", text);
	cJSON_AddStringToObject(p, "state", state);
	return frame("response", id, p);
}

char *sx_bmsg_state(void)
{
	cJSON *p = cJSON_CreateObject();

	/* Patrol and police fill these once they exist (issue 12). */
	cJSON_AddItemToObject(p, "agents", cJSON_CreateArray());
	cJSON_AddItemToObject(p, "flags", cJSON_CreateArray());
	cJSON_AddItemToObject(p, "case_files", cJSON_CreateArray());
	cJSON_AddNumberToObject(p, "escalation_level", 0);
	return frame("state", NULL, p);
}

char *sx_bmsg_error(const cJSON *id, const char *message)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "message", message);
	return frame("error", id, p);
}

char *sx_bmsg_pong(const cJSON *id, bool agent_ok)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddBoolToObject(p, "agent", agent_ok);
	return frame("pong", id, p);
}

static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);
	return n && s[n - 1] == '/' ? n - 1 : n;
}

bool sx_bridge_origin_allowed(char *const *allowed, const char *origin)
{
	size_t n;

	if (!origin || !*origin)
		return false;
	n = trimmed_len(origin);
	for (size_t i = 0; allowed && allowed[i]; i++)
		if (trimmed_len(allowed[i]) == n && strncmp(allowed[i], origin, n) == 0)
			return true;
	return false;
}
