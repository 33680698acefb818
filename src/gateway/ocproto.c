/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * ocproto.c - OpenClaw gateway protocol 4 frames (see ocproto.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "../lib/util.h"
#include "ocproto.h"

static char *print(cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	/* A browser's text goes on as it came: text frames must be UTF-8. */
	return sx_utf8_clean(s);
}

static cJSON *request(const char *id, const char *method, cJSON **params)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", "req");
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "method", method);
	*params = cJSON_AddObjectToObject(o, "params");
	return o;
}

char *sx_oc_connect(const char *req_id, const struct sx_device_key *k, const char *display_name,
		    const char *version, const char *nonce, long long signed_at, const char *token,
		    const char *device_token)
{
	_cleanup_free_ char *payload = NULL, *sig = NULL;
	cJSON *params, *o = request(req_id, "connect", &params), *client, *auth, *device, *scopes;
	const char *signed_token = token ? token : device_token ? device_token : "";

	/* v2|deviceId|clientId|mode|role|scopes|signedAtMs|token|nonce */
	payload = sx_strdupf("v2|%s|" SX_OC_CLIENT_ID "|" SX_OC_CLIENT_MODE "|" SX_OC_ROLE "|" SX_OC_SCOPES
			     "|%lld|%s|%s",
			     sx_device_key_id(k), signed_at, signed_token, nonce);
	if (!payload || sx_device_key_sign(k, payload, &sig) < 0) {
		if (payload)
			explicit_bzero(payload, strlen(payload));
		cJSON_Delete(o);
		return NULL;
	}
	explicit_bzero(payload, strlen(payload));
	cJSON_AddNumberToObject(params, "minProtocol", SX_OC_PROTOCOL);
	cJSON_AddNumberToObject(params, "maxProtocol", SX_OC_PROTOCOL);
	client = cJSON_AddObjectToObject(params, "client");
	cJSON_AddStringToObject(client, "id", SX_OC_CLIENT_ID);
	cJSON_AddStringToObject(client, "displayName", display_name);
	cJSON_AddStringToObject(client, "version", version);
	cJSON_AddStringToObject(client, "platform", "linux");
	cJSON_AddStringToObject(client, "mode", SX_OC_CLIENT_MODE);
	cJSON_AddStringToObject(params, "role", SX_OC_ROLE);
	scopes = cJSON_AddArrayToObject(params, "scopes");
	cJSON_AddItemToArray(scopes, cJSON_CreateString("operator.read"));
	cJSON_AddItemToArray(scopes, cJSON_CreateString("operator.write"));
	auth = cJSON_AddObjectToObject(params, "auth");
	if (token)
		cJSON_AddStringToObject(auth, "token", token);
	else if (device_token)
		cJSON_AddStringToObject(auth, "deviceToken", device_token);
	device = cJSON_AddObjectToObject(params, "device");
	cJSON_AddStringToObject(device, "id", sx_device_key_id(k));
	cJSON_AddStringToObject(device, "publicKey", sx_device_key_public(k));
	cJSON_AddStringToObject(device, "signature", sig);
	cJSON_AddNumberToObject(device, "signedAt", (double)signed_at);
	cJSON_AddStringToObject(device, "nonce", nonce);
	return print(o);
}

char *sx_oc_chat_send(const char *req_id, const char *session, const char *text, const char *run_id)
{
	cJSON *params, *o = request(req_id, "chat.send", &params);

	cJSON_AddStringToObject(params, "sessionKey", session ? session : "main");
	cJSON_AddStringToObject(params, "message", text);
	/* The run id is the idempotency key: a resend after a reconnect
	 * cannot run the message twice. */
	cJSON_AddStringToObject(params, "idempotencyKey", run_id);
	return print(o);
}

char *sx_oc_chat_abort(const char *req_id, const char *session, const char *run_id)
{
	cJSON *params, *o = request(req_id, "chat.abort", &params);

	cJSON_AddStringToObject(params, "sessionKey", session ? session : "main");
	if (run_id)
		cJSON_AddStringToObject(params, "runId", run_id);
	return print(o);
}

char *sx_oc_request(const char *req_id, const char *method)
{
	cJSON *params, *o = request(req_id, method, &params);

	(void)params;
	return print(o);
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int sx_oc_parse(const char *buf, size_t len, struct sx_oc_frame *f)
{
	const char *type;
	const cJSON *err;

	memset(f, 0, sizeof(*f));
	f->root = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(f->root)) {
		sx_oc_frame_clear(f);
		return -EINVAL;
	}
	type = str(f->root, "type");
	f->payload = cJSON_GetObjectItemCaseSensitive(f->root, "payload");
	if (streq(type, "event") && (f->event = str(f->root, "event")))
		f->type = SX_OC_EVENT;
	else if (streq(type, "res") && (f->id = str(f->root, "id"))) {
		f->type = SX_OC_RES;
		f->ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f->root, "ok"));
		err = cJSON_GetObjectItemCaseSensitive(f->root, "error");
		f->error_code = str(err, "code");
		f->error_message = str(err, "message");
		f->detail_code = str(cJSON_GetObjectItemCaseSensitive(err, "details"), "code");
	}
	return 0;
}

void sx_oc_frame_clear(struct sx_oc_frame *f)
{
	cJSON_Delete(f->root);
	memset(f, 0, sizeof(*f));
}

/* The text of a content part, or NULL when it is not a text part. */
static const char *part_text(const cJSON *part)
{
	return streq(str(part, "type"), "text") ? str(part, "text") : NULL;
}

/* message.content[] text parts, joined. */
static char *message_text(const cJSON *message)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(message, "content"), *part;
	size_t n = 0;
	char *s;

	if (cJSON_IsString(content))
		return strdup(content->valuestring);
	if (!cJSON_IsArray(content))
		return NULL;
	cJSON_ArrayForEach(part, content)
	{
		const char *t = part_text(part);
		if (t)
			n += strlen(t);
	}
	s = malloc(n + 1);
	if (!s)
		return NULL;
	n = 0;
	cJSON_ArrayForEach(part, content)
	{
		const char *t = part_text(part);
		if (t) {
			memcpy(s + n, t, strlen(t));
			n += strlen(t);
		}
	}
	s[n] = 0;
	return s;
}

int sx_oc_chat_event(const cJSON *payload, struct sx_oc_chat *c)
{
	const cJSON *message;

	memset(c, 0, sizeof(*c));
	c->run_id = str(payload, "runId");
	c->state = str(payload, "state");
	if (!c->run_id || !c->state)
		return -EINVAL;
	c->delta_text = str(payload, "deltaText");
	c->error_message = str(payload, "errorMessage");
	c->stop_reason = str(payload, "stopReason");
	message = cJSON_GetObjectItemCaseSensitive(payload, "message");
	if (cJSON_IsObject(message))
		c->text = message_text(message);
	return 0;
}

void sx_oc_chat_clear(struct sx_oc_chat *c)
{
	free(c->text);
	memset(c, 0, sizeof(*c));
}

void sx_oc_uuid(char buf[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* getrandom() on a 16-byte request does not fail once the
		 * pool is initialised; never hand out a predictable key. */
		abort();
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
