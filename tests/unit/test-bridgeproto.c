/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-bridgeproto.c - the bridge's two protocols as pure functions: the
 * browser frames (src/gateway/bridgemsg.c), the Ed25519 device identity
 * (devicekey.c, against the vector OpenClaw's own code computed:
 * docs/openclaw-gateway-protocol.md §2) and the OpenClaw gateway frames
 * (ocproto.c).
 */
#include "testutil.h"

#include <openssl/evp.h>

#include "gateway/bridgemsg.h"
#include "gateway/devicekey.h"
#include "gateway/ocproto.h"

static const unsigned char vector_seed[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
					      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void test_device_key_matches_openclaw_vector(void **state)
{
	struct sx_device_key *k = NULL;
	char *sig = NULL;

	assert_int_equal(sx_device_key_from_seed(vector_seed, &k), 0);
	assert_string_equal(sx_device_key_public(k), "ebVWLo_mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ");
	assert_string_equal(sx_device_key_id(k),
			    "65b60673d6ed884bf01c2c222d82ada0740f29ac3355d6a925c81f17f47a27b8");
	assert_int_equal(
	    sx_device_key_sign(k,
			       "v2|65b60673d6ed884bf01c2c222d82ada0740f29ac3355d6a925c81f17f47a27b8|"
			       "gateway-client|ui|operator|operator.read,operator.write|1796612109109|"
			       "TOKEN|e23e717a-e393-4ddd-b953-9a1b0a00120f",
			       &sig),
	    0);
	assert_string_equal(
	    sig, "QeAy4Pt-c8y4p1Qys3rnM_xQHroIbBrOzWvE7ZAt3Z40QIHkM-ttIIjMl1ckign5nAM5ZOhZB1CUAPrbA0cMBw");
	free(sig);
	sx_device_key_free(k);
}

static void test_device_key_file(void **state)
{
	_cleanup_free_ char *good = tmp_path("device.key"), *bad = tmp_path("bad.key");
	struct sx_device_key *k = NULL;

	write_text(good, "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n");
	assert_int_equal(sx_device_key_load(good, &k), 0);
	assert_string_equal(sx_device_key_id(k),
			    "65b60673d6ed884bf01c2c222d82ada0740f29ac3355d6a925c81f17f47a27b8");
	sx_device_key_free(k);
	write_text(bad, "0102\n");
	assert_int_equal(sx_device_key_load(bad, &k), -EINVAL);
	write_text(bad, "zz02030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n");
	assert_int_equal(sx_device_key_load(bad, &k), -EINVAL);
}

/* The connect frame: the fields OpenClaw's closed schema allows, and a
 * signature that verifies over the v2 payload with the token sent. */
static void test_connect_frame_signed_over_sent_fields(void **state)
{
	struct sx_device_key *k = NULL;
	_cleanup_free_ char *s = NULL, *payload = NULL;
	_cleanup_cjson_ cJSON *j = NULL;
	const cJSON *p, *dev;
	unsigned char pub[32], sig[64 + 2];
	size_t publen = sizeof(pub);
	EVP_PKEY *pk;
	EVP_MD_CTX *md;

	assert_int_equal(sx_device_key_from_seed(vector_seed, &k), 0);
	s = sx_oc_connect("c1", k, "sentrix-bridge sxt1", "0.1.0", "nonce-1", 1796612109109LL, "TOKEN",
			  "devtok");
	assert_non_null(s);
	j = cJSON_Parse(s);
	p = cJSON_GetObjectItem(j, "params");
	assert_string_equal(sx_json_str(j, "method"), "connect");
	assert_int_equal(cJSON_GetObjectItem(p, "minProtocol")->valueint, 4);
	assert_int_equal(cJSON_GetObjectItem(p, "maxProtocol")->valueint, 4);
	assert_string_equal(sx_json_str(cJSON_GetObjectItem(p, "client"), "id"), "gateway-client");
	assert_string_equal(sx_json_str(cJSON_GetObjectItem(p, "client"), "mode"), "ui");
	assert_string_equal(sx_json_str(p, "role"), "operator");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "scopes")), 2);
	/* the shared token wins; the device token is not sent with it */
	assert_string_equal(sx_json_str(cJSON_GetObjectItem(p, "auth"), "token"), "TOKEN");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "auth"), "deviceToken"));
	dev = cJSON_GetObjectItem(p, "device");
	assert_string_equal(sx_json_str(dev, "nonce"), "nonce-1");
	assert_true(cJSON_GetObjectItem(dev, "signedAt")->valuedouble == 1796612109109.0);
	/* verify the signature with OpenSSL over the payload OpenClaw rebuilds */
	payload = sx_strdupf(
	    "v2|%s|gateway-client|ui|operator|operator.read,operator.write|1796612109109|TOKEN|nonce-1",
	    sx_device_key_id(k));
	{
		const char *b64 = sx_json_str(dev, "signature");
		char std[128];
		size_t n = strlen(b64), i;
		for (i = 0; i < n; i++)
			std[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
		while (i % 4)
			std[i++] = '=';
		std[i] = 0;
		assert_int_equal(EVP_DecodeBlock(sig, (unsigned char *)std, (int)i), 66);
	}
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, vector_seed, 32);
	assert_int_equal(EVP_PKEY_get_raw_public_key(pk, pub, &publen), 1);
	EVP_PKEY_free(pk);
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, publen);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, 64, (unsigned char *)payload, strlen(payload)), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	free(s);
	/* reconnect: the device token alone, and it is what is signed */
	s = sx_oc_connect("c2", k, "sentrix-bridge sxt1", "0.1.0", "nonce-2", 1LL, NULL, "devtok");
	cJSON_Delete(j);
	j = cJSON_Parse(s);
	assert_string_equal(
	    sx_json_str(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "params"), "auth"), "deviceToken"),
	    "devtok");
	sx_device_key_free(k);
}

static void test_chat_frames(void **state)
{
	_cleanup_free_ char *send = sx_oc_chat_send("s1", NULL, "hi \"there\"", "run-1");
	_cleanup_free_ char *abort_ = sx_oc_chat_abort("a1", "other", "run-1");
	_cleanup_cjson_ cJSON *j = cJSON_Parse(send), *a = cJSON_Parse(abort_);
	const cJSON *p = cJSON_GetObjectItem(j, "params");

	assert_string_equal(sx_json_str(p, "sessionKey"), "main");
	assert_string_equal(sx_json_str(p, "message"), "hi \"there\"");
	assert_string_equal(sx_json_str(p, "idempotencyKey"), "run-1");
	assert_string_equal(sx_json_str(cJSON_GetObjectItem(a, "params"), "sessionKey"), "other");
	assert_string_equal(sx_json_str(cJSON_GetObjectItem(a, "params"), "runId"), "run-1");
}

static void test_chat_events(void **state)
{
	static const char delta[] = "{\"type\":\"event\",\"event\":\"chat\",\"seq\":3,\"payload\":{\"runId\":"
				    "\"r\",\"sessionKey\":\"agent:main:main\","
				    "\"seq\":2,\"state\":\"delta\",\"deltaText\":\"lo\",\"message\":{"
				    "\"role\":\"assistant\",\"content\":"
				    "[{\"type\":\"text\",\"text\":\"Hel\"},{\"type\":\"image\"},{\"type\":"
				    "\"text\",\"text\":\"lo\"}]}}}";
	static const char err[] =
	    "{\"type\":\"res\",\"id\":\"c1\",\"ok\":false,\"error\":{\"code\":\"INVALID_REQUEST\","
	    "\"message\":\"protocol mismatch\",\"details\":{\"code\":\"PROTOCOL_MISMATCH\"}}}";
	struct sx_oc_frame f;
	struct sx_oc_chat c;

	assert_int_equal(sx_oc_parse(delta, sizeof(delta) - 1, &f), 0);
	assert_int_equal(f.type, SX_OC_EVENT);
	assert_string_equal(f.event, "chat");
	assert_int_equal(sx_oc_chat_event(f.payload, &c), 0);
	assert_string_equal(c.run_id, "r");
	assert_string_equal(c.state, "delta");
	assert_string_equal(c.text, "Hello");
	assert_string_equal(c.delta_text, "lo");
	sx_oc_chat_clear(&c);
	sx_oc_frame_clear(&f);
	assert_int_equal(sx_oc_parse(err, sizeof(err) - 1, &f), 0);
	assert_int_equal(f.type, SX_OC_RES);
	assert_false(f.ok);
	assert_string_equal(f.detail_code, "PROTOCOL_MISMATCH");
	sx_oc_frame_clear(&f);
	assert_int_equal(sx_oc_parse("[1]", 3, &f), -EINVAL);
	assert_int_equal(sx_oc_parse("{\"type\":\"event\"}", 16, &f), 0);
	assert_int_equal(f.type, SX_OC_OTHER);
	sx_oc_frame_clear(&f);
}

static void test_browser_frames(void **state)
{
	struct sx_bmsg m;
	static const char chat[] = "{\"type\":\"chat\",\"id\":7,\"payload\":{\"text\":\"hello\"}}";
	_cleanup_free_ char *resp = NULL, *d = NULL, *st = NULL, *ready = NULL;
	_cleanup_cjson_ cJSON *j = NULL;

	assert_int_equal(sx_bmsg_parse(chat, sizeof(chat) - 1, &m), SX_BMSG_CHAT);
	assert_string_equal(m.text, "hello");
	assert_null(m.session);
	resp = sx_bmsg_response(m.id, "Hi", "final");
	d = sx_bmsg_delta(m.id, "H", "H");
	j = cJSON_Parse(resp);
	assert_string_equal(sx_json_str(j, "type"), "response");
	assert_int_equal(cJSON_GetObjectItem(j, "id")->valueint, 7); /* echoed as it came: a number */
	assert_string_equal(sx_json_str(cJSON_GetObjectItem(j, "payload"), "text"), "Hi");
	assert_string_equal(sx_json_str(cJSON_GetObjectItem(j, "payload"), "state"), "final");
	sx_bmsg_clear(&m);
	assert_int_equal(sx_bmsg_parse("{\"type\":\"abort\",\"id\":\"x\"}", 25, &m), SX_BMSG_ABORT);
	assert_string_equal(m.id->valuestring, "x");
	sx_bmsg_clear(&m);
	assert_int_equal(sx_bmsg_parse("{\"type\":\"get_state\"}", 20, &m), SX_BMSG_GET_STATE);
	sx_bmsg_clear(&m);
	assert_int_equal(sx_bmsg_parse("{\"type\":\"ping\",\"id\":3}", 22, &m), SX_BMSG_PING);
	{
		_cleanup_free_ char *pong = sx_bmsg_pong(m.id, true);
		assert_string_equal(pong, "{\"type\":\"pong\",\"id\":3,\"payload\":{\"agent\":true}}");
	}
	sx_bmsg_clear(&m);
	assert_int_equal(sx_bmsg_parse("{\"type\":\"chat\",\"payload\":{\"text\":\"\"}}", 36, &m),
			 SX_BMSG_INVALID);
	assert_non_null(m.why);
	sx_bmsg_clear(&m);
	assert_int_equal(sx_bmsg_parse("{\"type\":\"shell\"}", 16, &m), SX_BMSG_INVALID);
	sx_bmsg_clear(&m);
	assert_int_equal(sx_bmsg_parse("not json", 8, &m), SX_BMSG_INVALID);
	sx_bmsg_clear(&m);
	st = sx_bmsg_state();
	cJSON_Delete(j);
	j = cJSON_Parse(st);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "payload"), "flags")),
			 0);
	ready = sx_bmsg_ready(false, false);
	assert_non_null(strstr(ready, "\"agent_down\""));
}

static void test_origin_allowlist(void **state)
{
	char *const list[] = {"http://localhost:3000", "https://app.example/", NULL};

	assert_true(sx_bridge_origin_allowed(list, "http://localhost:3000"));
	assert_true(sx_bridge_origin_allowed(list, "http://localhost:3000/"));
	assert_true(sx_bridge_origin_allowed(list, "https://app.example"));
	assert_false(sx_bridge_origin_allowed(list, "http://localhost:3001"));
	assert_false(sx_bridge_origin_allowed(list, "http://localhost:30000"));
	assert_false(sx_bridge_origin_allowed(list, "http://localhost:300"));
	assert_false(sx_bridge_origin_allowed(list, "https://localhost:3000"));
	assert_false(sx_bridge_origin_allowed(list, "http://localhost:3000//"));
	assert_false(sx_bridge_origin_allowed(list, "null"));
	assert_false(sx_bridge_origin_allowed(list, ""));
	assert_false(sx_bridge_origin_allowed(list, NULL));
	assert_true(sx_bridge_origin_allowed(sx_bridge_default_origins, "https://www.sentrixai.xyz"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_device_key_matches_openclaw_vector),
	    cmocka_unit_test(test_device_key_file),
	    cmocka_unit_test(test_connect_frame_signed_over_sent_fields),
	    cmocka_unit_test(test_chat_frames),
	    cmocka_unit_test(test_chat_events),
	    cmocka_unit_test(test_browser_frames),
	    cmocka_unit_test(test_origin_allowlist),
	};
	return cmocka_run_group_tests_name("bridgeproto", tests, tu_group_setup, tu_group_teardown);
}
