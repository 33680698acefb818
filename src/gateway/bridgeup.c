/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bridgeup.c - the bridge's one connection to the sandbox's OpenClaw
 * gateway, shared by every browser (docs/openclaw-gateway-protocol.md).
 *
 * It goes through the relay's unix socket (the launcher runs the relay in
 * the instance's netns as the gateway user), so OpenClaw sees a loopback
 * peer with no forwarding headers and no Origin: a local operator device,
 * paired silently on first contact with the shared gateway token, and
 * known afterwards by the device token OpenClaw returned (kept in
 * bridge.d/NAME/device-token, 0600).  Chat events come back for every run
 * on the gateway; they are routed to browsers by run id.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "bridgeint.h"
#include "bridgemsg.h"
#include "ocproto.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000

/* b->last_error, which /health reads from the main thread. */
static void __attribute__((format(printf, 2, 3))) set_error(struct sx_bridge *b, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&b->error_lock);
	va_start(ap, fmt);
	vsnprintf(b->last_error, sizeof(b->last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&b->error_lock);
}

static uint64_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void up_queue(struct sx_bridge *b, char *text)
{
	size_t n;

	if (!text)
		return;
	n = strlen(text);
	if (bridge_queue_add(&b->up_outq, text, n) && b->up)
		lws_callback_on_writable(b->up);
	explicit_bzero(text, n); /* connect frames carry the token */
	free(text);
}

static void up_queue_clear(struct sx_bridge *b)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, next, lws_dll2_get_head(&b->up_outq))
	{
		struct qframe *f = lws_container_of(d, struct qframe, node);
		lws_dll2_remove(d);
		explicit_bzero(f->buf + LWS_PRE, f->len);
		free(f);
	}
	lws_end_foreach_dll_safe(d, next);
}

/* libwebsockets 4.1.6 connects a unix socket synchronously, and when the
 * peer hangs up at once (the relay does while OpenClaw's gateway is down)
 * it frees the connection inside lws_client_connect_via_info() and then
 * reads it (valgrind: a use after free; a crash here).  So ask the relay
 * first with a socket of our own: one it keeps open for 150 ms has reached
 * OpenClaw.  Returns 0, or a negative errno with why set. */
static int relay_probe(const char *path, const char **why)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct pollfd p;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*why = "relay socket path too long";
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = "no socket";
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		*why = r == -ENOENT
		    ? "no relay socket (is `sentrix sandbox run` or the sandbox unit running?)"
		    : "the relay does not answer";
		close(fd);
		return r;
	}
	p = (struct pollfd){.fd = fd, .events = POLLIN | POLLRDHUP};
	r = poll(&p, 1, 150);
	close(fd);
	if (r != 0) {
		*why = "the relay cannot reach OpenClaw's gateway (not started yet?)";
		return -ECONNREFUSED;
	}
	return 0;
}

static void up_lost(struct sx_bridge *b, const char *why);

static void reconnect(lws_sorted_usec_list_t *sul)
{
	struct sx_bridge *b = lws_container_of(sul, struct sx_bridge, sul_reconnect);
	struct lws_client_connect_info ci = {0};
	const char *why = NULL;
	char address[128];

	if (b->up || __atomic_load_n(&b->stop, __ATOMIC_ACQUIRE))
		return;
	if (!b->key) {
		set_error(b, "no device key");
		return; /* nothing to connect as; setup must write the key */
	}
	if (relay_probe(b->relay_socket, &why) < 0) {
		up_lost(b, why);
		return;
	}
	/* "+path": libwebsockets' unix socket address. */
	snprintf(address, sizeof(address), "+%s", b->relay_socket);
	ci.context = b->ctx;
	ci.vhost = b->vh_up;
	ci.address = address;
	ci.port = (int)b->oc_port;
	ci.path = "/";
	/* What a local client sends: no Origin, no forwarding headers. */
	ci.host = b->host_header;
	ci.origin = NULL;
	ci.protocol = NULL;
	ci.local_protocol_name = bridge_up_protocol.name;
	ci.pwsi = &b->up;
	if (!lws_client_connect_via_info(&ci)) {
		b->up = NULL;
		bridge_up_connect_soon(b, b->backoff_ms);
	}
}

void bridge_up_connect_soon(struct sx_bridge *b, unsigned ms)
{
	lws_sul_schedule(b->ctx, 0, &b->sul_reconnect, reconnect, (lws_usec_t)ms * LWS_US_PER_MS);
	b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (b->backoff_ms > BACKOFF_MAX_MS)
		b->backoff_ms = BACKOFF_MAX_MS;
}

/* Keeps the device token OpenClaw issued (atomically, 0600). */
static void save_device_token(struct sx_bridge *b, const char *token)
{
	_cleanup_free_ char *tmp = sx_strdupf("%s.tmp", b->device_token_path);
	int fd;

	if (b->device_token && streq(b->device_token, token))
		return;
	free(b->device_token);
	b->device_token = strdup(token);
	if (!tmp)
		return;
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, token, strlen(token)) != (ssize_t)strlen(token) || write(fd, "\n", 1) != 1 ||
	    fsync(fd) < 0 || rename(tmp, b->device_token_path) < 0) {
		log_warn_errno(-errno,
			       "bridge: cannot store the device token in %s; the next start pairs again",
			       b->device_token_path);
		(void)unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
}

static void forget_device_token(struct sx_bridge *b)
{
	if (b->device_token)
		explicit_bzero(b->device_token, strlen(b->device_token));
	free(b->device_token);
	b->device_token = NULL;
	(void)unlink(b->device_token_path);
}

static void on_challenge(struct sx_bridge *b, const cJSON *payload)
{
	const cJSON *nonce = cJSON_GetObjectItemCaseSensitive(payload, "nonce"),
		    *ts = cJSON_GetObjectItemCaseSensitive(payload, "ts");
	long long signed_at;

	if (!cJSON_IsString(nonce) || !nonce->valuestring[0]) {
		log_warn("bridge: OpenClaw's challenge has no nonce; reconnecting");
		lws_set_timeout(b->up, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return;
	}
	/* Signed at the gateway's own time, as OpenClaw's client does: no
	 * clock skew to fail on. */
	signed_at = cJSON_IsNumber(ts) ? (long long)ts->valuedouble : (long long)b->clock() * 1000;
	/* The device token once paired (it survives a rotation of the
	 * shared token); the shared token to pair. */
	snprintf(b->connect_req, sizeof(b->connect_req), "c%u", ++b->req_seq);
	up_queue(b,
		 sx_oc_connect(b->connect_req, b->key, b->display_name, SX_VERSION, nonce->valuestring,
			       signed_at,
			       b->device_token ? NULL
				   : b->token  ? b->token
					       : "",
			       b->device_token));
}

static void on_hello(struct sx_bridge *b, const struct sx_oc_frame *f)
{
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(f->payload, "auth");
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(auth, "deviceToken");
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(auth, "method");
	const cJSON *server = cJSON_GetObjectItemCaseSensitive(f->payload, "server");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(server, "version");
	bool had_token = b->device_token != NULL;

	if (cJSON_IsString(dt) && dt->valuestring[0])
		save_device_token(b, dt->valuestring);
	snprintf(b->server_version, sizeof(b->server_version), "%s",
		 cJSON_IsString(version) ? version->valuestring : "?");
	b->backoff_ms = 0;
	set_error(b, "%s", "");
	__atomic_store_n(&b->stats.upstream_ready, 1, __ATOMIC_RELAXED);
	BRIDGE_STAT_ADD(b, upstream_connects, 1);
	log_info("bridge: connected to OpenClaw %s as device %s (auth %s)%s", b->server_version,
		 sx_device_key_id(b->key), cJSON_IsString(method) ? method->valuestring : "?",
		 !had_token && b->device_token ? "; paired, device token stored" : "");
	b->down_since_logged = 0;
	bridge_broadcast_status(b, true, NULL);
}

static void on_connect_refused(struct sx_bridge *b, const struct sx_oc_frame *f)
{
	const char *code = f->detail_code ? f->detail_code : f->error_code ? f->error_code : "?";

	set_error(b, "%s: %s", code, f->error_message ? f->error_message : "");
	if (streq(code, "AUTH_DEVICE_TOKEN_MISMATCH") || streq(code, "AUTH_SCOPE_MISMATCH")) {
		/* The pairing is gone (device removed, store reset): pair
		 * again with the shared token. */
		log_warn("bridge: OpenClaw no longer knows this device's token (%s); pairing again", code);
		forget_device_token(b);
		b->backoff_ms = 0;
	} else if (streq(code, "PAIRING_REQUIRED") || (f->error_code && streq(f->error_code, "NOT_PAIRED")))
		log_error("bridge: OpenClaw asks for pairing approval (%s): the connection does not look "
			  "local to it; "
			  "is the relay %s the launcher's?",
			  f->error_message ? f->error_message : "", b->relay_socket);
	else if (!streq(f->error_code, "UNAVAILABLE"))
		log_error("bridge: OpenClaw refused the connection: %s", b->last_error);
}

static void ping_free(struct bridge_ping *p)
{
	lws_dll2_remove(&p->node);
	cJSON_Delete(p->client_id);
	free(p);
}

/* A ping's answer; true when f answered one. */
static bool pong(struct sx_bridge *b, const struct sx_oc_frame *f)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&b->pings))
	{
		struct bridge_ping *p = lws_container_of(d, struct bridge_ping, node);
		if (streq(p->req_id, f->id)) {
			if (p->client)
				bridge_send(b, p->client, sx_bmsg_pong(p->client_id, f->ok), false);
			ping_free(p);
			return true;
		}
	}
	lws_end_foreach_dll(d);
	return false;
}

static void finish_run(struct sx_bridge *b, struct bridge_run *r, const char *text, const char *state)
{
	if (r->client)
		bridge_send(b, r->client, sx_bmsg_response(r->client_id, text, state), false);
	bridge_run_free(b, r);
}

static struct bridge_run *run_by(struct sx_bridge *b, const char *run_id, const char *req_id)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&b->runs))
	{
		struct bridge_run *r = lws_container_of(d, struct bridge_run, node);
		if ((run_id && streq(r->run_id, run_id)) || (req_id && streq(r->req_id, req_id)))
			return r;
	}
	lws_end_foreach_dll(d);
	return NULL;
}

static void on_chat_event(struct sx_bridge *b, const cJSON *payload)
{
	struct sx_oc_chat ev;
	struct bridge_run *r;
	_cleanup_free_ char *text = NULL;

	if (sx_oc_chat_event(payload, &ev) < 0)
		return;
	r = run_by(b, ev.run_id, NULL);
	if (!r) /* another client's run, or one already finished */
		goto out;
	if (streq(ev.state, "delta") && ev.text) {
		size_t had = r->sent ? strlen(r->sent) : 0;
		/* The accumulated text normally extends what was sent; when
		 * OpenClaw replaces it, the whole text is the delta. */
		const char *delta = r->sent && strncmp(ev.text, r->sent, had) == 0 ? ev.text + had : ev.text;
		if (r->client && *delta)
			bridge_send(b, r->client, sx_bmsg_delta(r->client_id, delta, ev.text), true);
		free(r->sent);
		r->sent = TAKE_PTR(ev.text);
	} else if (streq(ev.state, "final")) {
		finish_run(b, r, ev.text ? ev.text : r->sent ? r->sent : "", "final");
	} else if (streq(ev.state, "aborted")) {
		const char *partial = ev.text ? ev.text : r->sent ? r->sent : "";
		text = sx_strdupf("%s%s(aborted)", partial, *partial ? "\n" : "");
		finish_run(b, r, text ? text : "(aborted)", "aborted");
	} else if (streq(ev.state, "error")) {
		finish_run(b, r, ev.error_message ? ev.error_message : "the agent failed without a message",
			   "error");
	}
out:
	sx_oc_chat_clear(&ev);
}

static void on_response(struct sx_bridge *b, const struct sx_oc_frame *f)
{
	struct bridge_run *r;

	if (streq(f->id, b->connect_req)) {
		if (f->ok)
			on_hello(b, f);
		else
			on_connect_refused(b, f);
		return;
	}
	if (f->id[0] == 'p' && pong(b, f))
		return;
	r = run_by(b, NULL, f->id);
	if (r && !f->ok) {
		_cleanup_free_ char *text = sx_strdupf("OpenClaw refused the message: %s",
						       f->error_message	   ? f->error_message
							   : f->error_code ? f->error_code
									   : "unknown error");
		finish_run(b, r, text ? text : "OpenClaw refused the message", "error");
	}
}

static void on_frame(struct sx_bridge *b, const char *buf, size_t len)
{
	struct sx_oc_frame f;

	if (sx_oc_parse(buf, len, &f) < 0)
		return;
	if (f.type == SX_OC_EVENT && streq(f.event, "connect.challenge"))
		on_challenge(b, f.payload);
	else if (f.type == SX_OC_EVENT && streq(f.event, "chat"))
		on_chat_event(b, f.payload);
	else if (f.type == SX_OC_RES)
		on_response(b, &f);
	sx_oc_frame_clear(&f);
}

static int up_receive(struct sx_bridge *b, struct lws *wsi, const char *in, size_t len)
{
	char *n;

	if (b->up_rx_len + len > BRIDGE_UP_FRAME_MAX) {
		/* Oversized: dropped whole (fragments included). */
		free(b->up_rx);
		b->up_rx = NULL;
		b->up_rx_len = SIZE_MAX / 2;
	} else {
		n = realloc(b->up_rx, b->up_rx_len + len + 1);
		if (!n)
			return -1;
		b->up_rx = n;
		memcpy(b->up_rx + b->up_rx_len, in, len);
		b->up_rx_len += len;
	}
	if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
		if (b->up_rx)
			on_frame(b, b->up_rx, b->up_rx_len);
		else
			log_warn("bridge: dropped an OpenClaw frame larger than %d bytes",
				 BRIDGE_UP_FRAME_MAX);
		free(b->up_rx);
		b->up_rx = NULL;
		b->up_rx_len = 0;
	}
	return 0;
}

static int up_writeable(struct sx_bridge *b, struct lws *wsi)
{
	struct lws_dll2 *d = lws_dll2_get_head(&b->up_outq);
	struct qframe *f;
	int n;

	if (!d)
		return 0;
	f = lws_container_of(d, struct qframe, node);
	lws_dll2_remove(d);
	n = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
	explicit_bzero(f->buf + LWS_PRE, f->len);
	free(f);
	if (n < 0)
		return -1;
	if (lws_dll2_get_head(&b->up_outq))
		lws_callback_on_writable(wsi);
	return 0;
}

/* The connection ended (or never started): every run in flight fails. */
static void up_lost(struct sx_bridge *b, const char *why)
{
	bool was_ready = bridge_up_ready(b);

	b->up = NULL;
	__atomic_store_n(&b->stats.upstream_ready, 0, __ATOMIC_RELAXED);
	free(b->up_rx);
	b->up_rx = NULL;
	b->up_rx_len = 0;
	up_queue_clear(b);
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, next, lws_dll2_get_head(&b->runs))
	{
		finish_run(b, lws_container_of(d, struct bridge_run, node),
			   "the agent side disconnected before the reply ended; try again", "error");
	}
	lws_end_foreach_dll_safe(d, next);
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, next, lws_dll2_get_head(&b->pings))
	{
		struct bridge_ping *p = lws_container_of(d, struct bridge_ping, node);
		if (p->client)
			bridge_send(b, p->client, sx_bmsg_pong(p->client_id, false), false);
		ping_free(p);
	}
	lws_end_foreach_dll_safe(d, next);
	if (why)
		set_error(b, "%s", why);
	if (was_ready) {
		log_warn("bridge: lost the OpenClaw gateway (%s); reconnecting", b->last_error);
		bridge_broadcast_status(b, false, b->last_error);
	} else if (!b->down_since_logged || now_s() - b->down_since_logged >= 60) {
		/* Down at start, or for a while: say so once a minute. */
		log_info("bridge: OpenClaw's gateway is not reachable through %s yet (%s); retrying",
			 b->relay_socket, b->last_error[0] ? b->last_error : "no answer");
		b->down_since_logged = now_s();
	}
	if (b->revoked) {
		log_warn(
		    "bridge: OpenClaw removed this device (openclaw devices remove); not pairing again until "
		    "`sentrix sandbox pair --name %s` or a restart of the gateway",
		    b->name);
		bridge_broadcast_status(b, false, "the bridge's device was removed from OpenClaw");
		return;
	}
	if (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE))
		bridge_up_connect_soon(b, b->backoff_ms);
}

static int up_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct sx_bridge *b = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		/* OpenClaw closes a socket that has not said connect in 15 s. */
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 20);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (bridge_up_ready(b))
			lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		return up_receive(b, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE: return up_writeable(b, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2) {
			const unsigned char *p = in;
			/* 4001 "device removed": `openclaw devices remove`, by the
			 * operator or by --disable.  A revocation: pairing again
			 * with the shared token would undo it. */
			if ((p[0] << 8 | p[1]) == 4001 && len - 2 >= 14 &&
			    memmem(p + 2, len - 2, "device removed", 14)) {
				b->revoked = true;
				forget_device_token(b);
			}
			set_error(b, "closed by OpenClaw: %u %.*s", p[0] << 8 | p[1],
				  (int)(len - 2 > 200 ? 200 : len - 2), (const char *)in + 2);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (b->up == wsi || !b->up)
			up_lost(b, in && len ? (const char *)in : "connection failed");
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (b->up == wsi)
			up_lost(b, NULL);
		return 0;
	default: return 0;
	}
}

const struct lws_protocols bridge_up_protocol = {"sx-openclaw", up_callback, 0, 4096, 0, NULL, 0};

void bridge_up_ping(struct sx_bridge *b, struct bridge_client *c, const cJSON *client_id)
{
	struct bridge_ping *p;

	if (!bridge_up_ready(b) || b->pings.count >= 1024) {
		bridge_send(b, c, sx_bmsg_pong(client_id, false), false);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	snprintf(p->req_id, sizeof(p->req_id), "p%u", ++b->req_seq);
	p->client = c;
	p->client_id = client_id ? cJSON_Duplicate(client_id, false) : NULL;
	lws_dll2_add_tail(&p->node, &b->pings);
	up_queue(b, sx_oc_request(p->req_id, "health"));
}

void bridge_up_detach(struct sx_bridge *b, struct bridge_client *c)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&b->runs))
	{
		struct bridge_run *r = lws_container_of(d, struct bridge_run, node);
		if (r->client == c)
			r->client = NULL; /* the run goes on; its events are dropped */
	}
	lws_end_foreach_dll(d);
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, next, lws_dll2_get_head(&b->pings))
	{
		struct bridge_ping *p = lws_container_of(d, struct bridge_ping, node);
		if (p->client == c)
			ping_free(p);
	}
	lws_end_foreach_dll_safe(d, next);
}

void bridge_up_check_repair(struct sx_bridge *b)
{
	if (!__atomic_exchange_n(&b->repair, 0, __ATOMIC_ACQ_REL))
		return;
	log_info("bridge: pairing asked for: a fresh handshake with OpenClaw%s",
		 b->revoked ? " (the device was removed: pairing again)" : "");
	b->revoked = false;
	b->backoff_ms = 0;
	if (b->up) /* closed; up_lost() connects again at once */
		lws_set_timeout(b->up, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	else
		bridge_up_connect_soon(b, 0);
}

void bridge_up_free_all(struct sx_bridge *b)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, next, lws_dll2_get_head(&b->runs))
	{
		bridge_run_free(b, lws_container_of(d, struct bridge_run, node));
	}
	lws_end_foreach_dll_safe(d, next);
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, next, lws_dll2_get_head(&b->pings))
	{
		ping_free(lws_container_of(d, struct bridge_ping, node));
	}
	lws_end_foreach_dll_safe(d, next);
	up_queue_clear(b);
}

int bridge_up_chat(struct sx_bridge *b, struct bridge_client *c, const cJSON *client_id, const char *text,
		   const char *session, const char **why)
{
	struct bridge_run *r;

	if (!bridge_up_ready(b)) {
		*why = "the agent is not reachable right now (OpenClaw's gateway in the sandbox is down or "
		       "starting); "
		       "try again shortly";
		return -ENOTCONN;
	}
	/* One turn per session at a time: OpenClaw queues a second one
	 * under a run id nobody asked for. */
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&b->runs))
	{
		struct bridge_run *o = lws_container_of(d, struct bridge_run, node);
		if (streq(o->session ? o->session : "main", session ? session : "main")) {
			*why = "the agent is still answering another message in this session; wait for it or "
			       "abort it";
			return -EBUSY;
		}
	}
	lws_end_foreach_dll(d);
	r = calloc(1, sizeof(*r));
	if (!r || (session && !(r->session = strdup(session)))) {
		free(r);
		*why = "out of memory";
		return -ENOMEM;
	}
	sx_oc_uuid(r->run_id);
	snprintf(r->req_id, sizeof(r->req_id), "s%u", ++b->req_seq);
	r->client = c;
	r->client_id = client_id ? cJSON_Duplicate(client_id, false) : NULL;
	lws_dll2_add_tail(&r->node, &b->runs);
	up_queue(b, sx_oc_chat_send(r->req_id, session, text, r->run_id));
	return 0;
}

static bool same_id(const cJSON *a, const cJSON *b)
{
	return a && b && cJSON_Compare(a, b, true);
}

int bridge_up_abort(struct sx_bridge *b, struct bridge_client *c, const cJSON *client_id)
{
	int n = 0;

	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&b->runs))
	{
		struct bridge_run *r = lws_container_of(d, struct bridge_run, node);
		if (r->client == c && (!client_id || same_id(client_id, r->client_id)) && !r->abort_sent) {
			char req[24];
			snprintf(req, sizeof(req), "a%u", ++b->req_seq);
			up_queue(b, sx_oc_chat_abort(req, r->session, r->run_id));
			r->abort_sent = true;
			n++;
		}
	}
	lws_end_foreach_dll(d);
	return n;
}
