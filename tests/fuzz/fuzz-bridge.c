/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fuzz-bridge.c - the bridge's two parsers of frames from outside.
 *
 * Feeds: one WebSocket text frame.  The first byte chooses who sent it:
 * bit 0 clear, the sandbox's OpenClaw gateway (the agent controls that
 * process, so every frame the bridge reads from it is the agent's):
 * ocproto.c's sx_oc_parse, and for a "chat" event sx_oc_chat_event, whose
 * text and errors the bridge turns into browser frames (bridgemsg.c) the
 * way bridgeup.c does; bit 0 set, a browser (or `sentrix chat`):
 * bridgemsg.c's sx_bmsg_parse and the answers built from what it kept.
 *
 * Besides the sanitizers: every frame the bridge would send a browser is
 * one JSON object that cJSON reads back, in valid UTF-8.
 *
 * fuzz-max-len: 65536
 */
#include "fuzz.h"

#include "gateway/bridgemsg.h"
#include "gateway/ocproto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void check_frame(const char *what, char *frame)
{
	if (frame)
		fuzz_check_json_object(what, frame);
	free(frame);
}

static void from_openclaw(const char *buf, size_t len)
{
	struct sx_oc_frame f;
	struct sx_oc_chat c;
	const cJSON *id = NULL;

	if (sx_oc_parse(buf, len, &f) < 0)
		return;
	if (f.type == SX_OC_EVENT && streq(f.event, "chat") && sx_oc_chat_event(f.payload, &c) == 0) {
		/* As bridgeup.c: the accumulated text, its delta, the end. */
		check_frame("response.delta",
			    sx_bmsg_delta(id, c.delta_text ? c.delta_text : "", c.text ? c.text : ""));
		check_frame("response",
			    sx_bmsg_response(id,
					     c.error_message ? c.error_message
						 : c.text    ? c.text
							     : "",
					     c.state));
		sx_oc_chat_clear(&c);
	} else if (f.type == SX_OC_RES && !f.ok) {
		check_frame("error",
			    sx_bmsg_error(id,
					  f.error_message    ? f.error_message
					      : f.error_code ? f.error_code
							     : "?"));
		check_frame("status", sx_bmsg_status(false, f.detail_code));
	}
	sx_oc_frame_clear(&f);
}

static void from_browser(const char *buf, size_t len)
{
	struct sx_bmsg m;

	switch (sx_bmsg_parse(buf, len, &m)) {
	case SX_BMSG_CHAT:
		check_frame("chat.send",
			    sx_oc_chat_send("s1", m.session, m.text, "00000000-0000-4000-8000-000000000000"));
		check_frame("response", sx_bmsg_response(m.id, m.text, "final"));
		break;
	case SX_BMSG_ABORT: check_frame("chat.abort", sx_oc_chat_abort("a1", NULL, NULL)); break;
	case SX_BMSG_PING: check_frame("pong", sx_bmsg_pong(m.id, true)); break;
	case SX_BMSG_GET_STATE: check_frame("state", sx_bmsg_state()); break;
	case SX_BMSG_INVALID: check_frame("error", sx_bmsg_error(m.id, m.why ? m.why : "?")); break;
	}
	sx_bmsg_clear(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		from_browser((const char *)data + 1, size - 1);
	else
		from_openclaw((const char *)data + 1, size - 1);
	return 0;
}
