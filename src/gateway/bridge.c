/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bridge.c - the bridge's browser side and its thread (see bridge.h).
 *
 * Three listening vhosts share one protocol callback: the trust page
 * (HTTPS on port - 1: any GET gets a short "certificate accepted" page),
 * the wss:// port (a plain GET gets the same page; an upgrade needs an
 * allowed Origin, refused with 403 before any WebSocket exists), and the
 * chat socket (a unix socket for `sentrix chat`: root and the gateway's
 * group may connect, so no Origin is asked).  A fourth vhost holds the one
 * client connection to OpenClaw (bridgeup.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "bridge.h"
#include "bridgecert.h"
#include "bridgeint.h"
#include "bridgemsg.h"
#include "gateway.h"

static const char trust_page[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>sentrix bridge: certificate accepted</title></head>\n"
    "<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">\n"
    "<h1>Certificate accepted</h1>\n"
    "<p>Your browser now trusts this sentrix bridge's certificate. You can close this tab and go back to "
    "the chat page.</p>\n</body></html>\n";

static struct bridge_client *client_of(struct lws_dll2 *d)
{
	return lws_container_of(d, struct bridge_client, node);
}

static struct qframe *qframe_of(struct lws_dll2 *d)
{
	return lws_container_of(d, struct qframe, node);
}

static void queue_clear(struct lws_dll2_owner *q)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, next, lws_dll2_get_head(q))
	{
		lws_dll2_remove(d);
		free(qframe_of(d));
	}
	lws_end_foreach_dll_safe(d, next);
}

/* gcc 12's -fanalyzer does not see a frame escape into its list
 * (lws_dll2_add_tail() stores its address) and reports it leaked here and
 * in bridge_send().  The lists are freed by queue_clear() when the
 * connection closes. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
struct qframe *bridge_queue_add(struct lws_dll2_owner *q, const char *text, size_t n)
{
	struct qframe *f = malloc(sizeof(*f) + LWS_PRE + n);

	if (!f)
		return NULL;
	memset(&f->node, 0, sizeof(f->node));
	f->len = n;
	f->droppable = false;
	memcpy(f->buf + LWS_PRE, text, n);
	lws_dll2_add_tail(&f->node, q);
	return f;
}

void bridge_send(struct sx_bridge *b, struct bridge_client *c, char *text, bool droppable)
{
	struct qframe *f;
	size_t n;

	if (!text)
		return;
	n = strlen(text);
	if (droppable && c->queued + n > BRIDGE_QUEUE_SOFT) {
		/* A slow reader: the next delta carries the accumulated
		 * text, so this one can go. */
		BRIDGE_STAT_ADD(b, dropped_deltas, 1);
		free(text);
		return;
	}
	if (c->queued + n > BRIDGE_QUEUE_HARD) {
		log_warn("bridge: a browser reads too slowly (%zu bytes queued); closing it", c->queued);
		free(text);
		lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"too slow", 8);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return;
	}
	f = bridge_queue_add(&c->outq, text, n);
	free(text);
	if (!f)
		return;
	f->droppable = droppable;
	c->queued += n;
	lws_callback_on_writable(c->wsi);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void bridge_broadcast_status(struct sx_bridge *b, bool connected, const char *detail)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&b->clients))
	{
		struct bridge_client *c = client_of(d);
		if (c->ready)
			bridge_send(b, c, sx_bmsg_status(connected, detail), false);
	}
	lws_end_foreach_dll(d);
}

void bridge_run_free(struct sx_bridge *b, struct bridge_run *r)
{
	lws_dll2_remove(&r->node);
	cJSON_Delete(r->client_id);
	free(r->session);
	free(r->sent);
	free(r);
}

static int serve_page(struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	static const char csp[] = "default-src 'none'; style-src 'unsafe-inline'";

	if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/html; charset=utf-8",
					sizeof(trust_page) - 1, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"content-security-policy:",
					(const unsigned char *)csp, (int)sizeof(csp) - 1, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
					(const unsigned char *)"nosniff", 7, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_page(struct lws *wsi)
{
	unsigned char buf[LWS_PRE + sizeof(trust_page)];

	memcpy(buf + LWS_PRE, trust_page, sizeof(trust_page) - 1);
	if (lws_write(wsi, buf + LWS_PRE, sizeof(trust_page) - 1, LWS_WRITE_HTTP_FINAL) !=
	    (int)sizeof(trust_page) - 1)
		return 1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static bool is_local(struct lws *wsi)
{
	return streq(lws_get_vhost_name(lws_get_vhost(wsi)), "chat");
}

/* The handshake's Origin check: refused with 403 before any upgrade. */
static int confirm_upgrade(struct sx_bridge *b, struct lws *wsi)
{
	char origin[256] = "";

	if (is_local(wsi))
		return 0;
	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
		origin[0] = 0;
	if (sx_bridge_origin_allowed(b->origins, origin))
		return 0;
	BRIDGE_STAT_ADD(b, refusals, 1);
	log_info("bridge: refused a WebSocket from origin %s (not on the allowlist)",
		 origin[0] ? origin : "(none)");
	lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, "origin not allowed");
	return 1;
}

static void on_established(struct sx_bridge *b, struct bridge_client *c, struct lws *wsi)
{
	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	c->local = is_local(wsi);
	if (c->local) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		c->peer_uid = getsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0
		    ? cred.uid
		    : (uid_t)-1;
		log_info("bridge: sentrix chat connected (uid %d)", (int)c->peer_uid);
	}
	lws_dll2_add_tail(&c->node, &b->clients);
	BRIDGE_STAT_ADD(b, connections, 1);
	BRIDGE_STAT_ADD(b, connections_total, 1);
	if (b->clients.count > BRIDGE_MAX_CLIENTS) {
		lws_close_reason(wsi, (enum lws_close_status)1013 /* try again later */,
				 (unsigned char *)"too many connections", 20);
		lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return;
	}
	c->ready = true;
	bridge_send(b, c, sx_bmsg_ready(bridge_up_ready(b), false), false);
}

static void on_closed(struct sx_bridge *b, struct bridge_client *c)
{
	if (!c->wsi)
		return; /* an HTTP request */
	bridge_up_detach(b, c);
	lws_dll2_remove(&c->node);
	queue_clear(&c->outq);
	free(c->rx);
	c->rx = NULL;
	c->wsi = NULL;
	__atomic_sub_fetch(&b->stats.connections, 1, __ATOMIC_RELAXED);
}

static void on_message(struct sx_bridge *b, struct bridge_client *c, const char *buf, size_t len)
{
	struct sx_bmsg m;
	const char *why = NULL;
	char *text;

	BRIDGE_STAT_ADD(b, messages_in, 1);
	switch (sx_bmsg_parse(buf, len, &m)) {
	case SX_BMSG_CHAT:
		if (bridge_up_chat(b, c, m.id, m.text, m.session, &why) < 0)
			bridge_send(b, c, sx_bmsg_response(m.id, why, "error"), false);
		break;
	case SX_BMSG_ABORT:
		if (bridge_up_abort(b, c, m.id) == 0)
			bridge_send(b, c, sx_bmsg_error(m.id, "nothing to abort"), false);
		break;
	case SX_BMSG_GET_STATE: bridge_send(b, c, sx_bmsg_state(), false); break;
	case SX_BMSG_PING: bridge_up_ping(b, c, m.id); break;
	case SX_BMSG_INVALID:
		text = sx_strdupf("bad message: %s", m.why);
		bridge_send(b, c, sx_bmsg_error(m.id, text ? text : "bad message"), false);
		free(text);
		break;
	}
	sx_bmsg_clear(&m);
}

static int on_receive(struct sx_bridge *b, struct bridge_client *c, struct lws *wsi, const char *in,
		      size_t len)
{
	char *n;

	if (lws_frame_is_binary(wsi)) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
				 (unsigned char *)"text frames only", 16);
		return -1;
	}
	if (c->rx_len + len > SX_BMSG_MAX) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
				 (unsigned char *)"message too large", 17);
		return -1;
	}
	if (!c->rx_len && lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
		on_message(b, c, in, len); /* the usual case: no copy */
		return 0;
	}
	n = realloc(c->rx, c->rx_len + len + 1);
	if (!n)
		return -1;
	c->rx = n;
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
		on_message(b, c, c->rx, c->rx_len);
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
	}
	return 0;
}

static int on_writeable(struct sx_bridge *b, struct bridge_client *c, struct lws *wsi)
{
	struct lws_dll2 *d = lws_dll2_get_head(&c->outq);
	struct qframe *f;

	if (!d)
		return 0;
	f = qframe_of(d);
	lws_dll2_remove(d);
	c->queued -= f->len;
	if (lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT) < (int)f->len) {
		free(f);
		return -1;
	}
	free(f);
	BRIDGE_STAT_ADD(b, messages_out, 1);
	if (lws_dll2_get_head(&c->outq))
		lws_callback_on_writable(wsi);
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct sx_bridge *b = lws_context_user(lws_get_context(wsi));
	struct bridge_client *c = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP: return serve_page(wsi);
	case LWS_CALLBACK_HTTP_WRITEABLE: return write_page(wsi);
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: return confirm_upgrade(b, wsi);
	case LWS_CALLBACK_ESTABLISHED: on_established(b, c, wsi); return 0;
	case LWS_CALLBACK_RECEIVE: return on_receive(b, c, wsi, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE: return on_writeable(b, c, wsi);
	case LWS_CALLBACK_CLOSED: on_closed(b, c); return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: bridge_up_check_repair(b); return 0;
	default: return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols browser_protocols[] = {
    /* First: browsers ask for no subprotocol, and lws then picks the
     * first one; the same callback answers the HTTP GETs. */
    {"sentrix-bridge", callback, sizeof(struct bridge_client), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

static void lws_to_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_warn("bridge: libwebsockets: %.*s", (int)n, line);
	else
		log_debug("bridge: libwebsockets: %.*s", (int)n, line);
}

static void *thread_main(void *data)
{
	struct sx_bridge *b = data;

	bridge_up_connect_soon(b, 0);
	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE))
		if (lws_service(b->ctx, 0) < 0)
			break;
	return NULL;
}

static char *read_token_file(const char *path)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	return buf[0] ? strdup(buf) : NULL;
}

static time_t default_clock(void)
{
	return time(NULL);
}

/* The certificate: the operator's (--cert/--key) or one of ours. */
static int prepare_cert(struct sx_bridge *b, const struct sx_bridge_opts *o)
{
	int r, days = 0;

	if (o && o->cert_path) {
		b->cert_path = strdup(o->cert_path);
		b->key_path = strdup(o->key_path);
		if (!b->cert_path || !b->key_path)
			return -ENOMEM;
		return sx_bridge_cert_check_pair(b->cert_path, b->key_path);
	}
	b->cert_path = sx_strdupf("%s/cert.pem", b->bridge_dir);
	b->key_path = sx_strdupf("%s/key.pem", b->bridge_dir);
	if (!b->cert_path || !b->key_path)
		return -ENOMEM;
	r = sx_bridge_cert_ensure(
	    &(struct sx_bridge_cert_opts){.dir = b->bridge_dir, .names = b->names, .now = b->clock()}, &days);
	if (r < 0)
		return r;
	if (r == 0) /* a new one is announced by bridgecert.c */
		log_info("bridge: certificate %s, valid %d more day(s)", b->cert_path, days);
	return 0;
}

/* Once a day: renew the generated certificate when under 30 days remain. */
static void cert_check(lws_sorted_usec_list_t *sul)
{
	struct sx_bridge *b = lws_container_of(sul, struct sx_bridge, sul_cert);
	int days = 0, r;

	r = sx_bridge_cert_ensure(
	    &(struct sx_bridge_cert_opts){.dir = b->bridge_dir, .names = b->names, .now = b->clock()}, &days);
	if (r > 0 && lws_tls_cert_updated(b->ctx, b->cert_path, b->key_path, NULL, 0, NULL, 0) == 0)
		log_info("bridge: certificate renewed (valid %d day(s)); new connections use it", days);
	lws_sul_schedule(b->ctx, 0, &b->sul_cert, cert_check, 24LL * 3600 * LWS_US_PER_SEC);
}

static struct lws_vhost *listen_on(struct sx_bridge *b, const char *name, const char *iface, int port,
				   bool tls)
{
	struct lws_context_creation_info v = {0};

	v.vhost_name = name;
	v.iface = iface;
	v.port = port;
	v.protocols = browser_protocols;
	/* An IPv4 bind address: without DISABLE_IPV6 libwebsockets opens a
	 * dual-stack socket on every address and ignores iface. */
	v.options = (port == 0 ? LWS_SERVER_OPTION_UNIX_SOCK : LWS_SERVER_OPTION_DISABLE_IPV6) |
	    LWS_SERVER_OPTION_VALIDATE_UTF8; /* RFC 6455: text frames are UTF-8 */
	if (tls) {
		/* lws reads this per vhost: without it the port speaks plain HTTP. */
		v.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		v.ssl_cert_filepath = b->cert_path;
		v.ssl_private_key_filepath = b->key_path;
		v.alpn = "http/1.1";
	}
	return lws_create_vhost(b->ctx, &v);
}

int sx_bridge_start(struct sx_gateway *g, const struct sx_bridge_opts *o, struct sx_bridge **ret)
{
	const struct sx_config *c = g->config;
	struct lws_context_creation_info info = {0};
	struct lws_context_creation_info up = {0};
	static struct lws_protocols up_list[2];
	const char *env = getenv("SENTRIX_BRIDGE_ORIGINS");
	struct sx_bridge *b;
	int r;

	*ret = NULL;
	if (!c->bridge_port)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->error_lock, NULL);
	b->clock = o && o->clock ? o->clock : default_clock;
	b->port = c->bridge_port;
	b->trust_port = c->bridge_port - 1;
	b->oc_port = c->openclaw_port;
	b->name = strdup(c->name);
	b->bind = strdup(c->bridge_bind);
	b->relay_socket = strdup(c->relay_socket);
	b->bridge_dir = strdup(c->bridge_dir);
	b->chat_socket = sx_strdupf("%s/chat.sock", c->bridge_dir);
	b->device_token_path = sx_strdupf("%s/device-token", c->bridge_dir);
	b->display_name = sx_strdupf("sentrix-bridge %s", c->name);
	b->host_header = sx_strdupf("127.0.0.1:%u", c->openclaw_port);
	b->token = g->token ? strdup(g->token) : NULL;
	b->names = sx_strv_copy(c->bridge_names);
	if (env && *env)
		b->origins = sx_strv_split_commas(env);
	else
		b->origins = sx_strv_copy(c->bridge_origins ? c->bridge_origins : sx_bridge_default_origins);
	if (!b->name || !b->bind || !b->relay_socket || !b->bridge_dir || !b->chat_socket ||
	    !b->device_token_path || !b->display_name || !b->host_header || !b->origins || !b->names) {
		r = -ENOMEM;
		goto fail;
	}
	if (!b->token)
		log_warn("bridge: no gateway token: the first pairing with OpenClaw will fail until setup "
			 "writes %s",
			 c->token_path);
	if (sx_device_key_load(c->device_key, &b->key) < 0)
		log_warn("bridge: no device key: browsers can connect, but the agent side stays down until "
			 "`sentrix sandbox setup` writes %s",
			 c->device_key);
	b->device_token = read_token_file(b->device_token_path);
	if ((r = prepare_cert(b, o)) < 0)
		goto fail;

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_log);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = b;
	info.timeout_secs = 20;
	b->ctx = lws_create_context(&info);
	if (!b->ctx) {
		r = log_error_errno(-EIO, "bridge: cannot create the libwebsockets context");
		goto fail;
	}
	if (!listen_on(b, "trust", b->bind, (int)b->trust_port, true) ||
	    !listen_on(b, "wss", b->bind, (int)b->port, true)) {
		r = log_error_errno(-EADDRINUSE,
				    "bridge: cannot listen on %s:%u and %s:%u (in use by another program or "
				    "instance? `sentrix sandbox setup --bridge-port N` moves it)",
				    b->bind, b->trust_port, b->bind, b->port);
		goto fail;
	}
	(void)unlink(b->chat_socket);
	if (!listen_on(b, "chat", b->chat_socket, 0, false)) {
		r = log_error_errno(-EIO, "bridge: cannot listen on %s", b->chat_socket);
		goto fail;
	}
	/* root and the gateway's group (`sentrix chat`); nobody else. */
	if (chmod(b->chat_socket, 0660) < 0)
		log_warn_errno(-errno, "bridge: cannot chmod %s", b->chat_socket);
	up_list[0] = bridge_up_protocol;
	up.vhost_name = "openclaw";
	up.port = CONTEXT_PORT_NO_LISTEN;
	up.protocols = up_list;
	b->vh_up = lws_create_vhost(b->ctx, &up);
	if (!b->vh_up) {
		r = log_error_errno(-EIO, "bridge: cannot create the OpenClaw client");
		goto fail;
	}
	if (!(o && o->cert_path))
		lws_sul_schedule(b->ctx, 0, &b->sul_cert, cert_check, 24LL * 3600 * LWS_US_PER_SEC);
	r = -pthread_create(&b->thread, NULL, thread_main, b);
	if (r < 0) {
		log_error_errno(r, "bridge: cannot start its thread");
		goto fail;
	}
	b->thread_started = true;
	log_info("bridge: wss://%s:%u (trust page https://%s:%u/), chat socket %s, OpenClaw through %s; "
		 "%zu allowed origin(s)%s",
		 b->bind, b->port, b->bind, b->trust_port, b->chat_socket, b->relay_socket,
		 sx_strv_length(b->origins), env && *env ? " from SENTRIX_BRIDGE_ORIGINS" : "");
	*ret = b;
	return 0;
fail:
	sx_bridge_stop(b);
	return r;
}

void sx_bridge_stop(struct sx_bridge *b)
{
	if (!b)
		return;
	if (b->thread_started) {
		__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
		lws_cancel_service(b->ctx);
		pthread_join(b->thread, NULL);
	}
	if (b->ctx)
		lws_context_destroy(b->ctx);
	bridge_up_free_all(b);
	if (b->chat_socket)
		(void)unlink(b->chat_socket);
	if (b->token)
		explicit_bzero(b->token, strlen(b->token));
	if (b->device_token)
		explicit_bzero(b->device_token, strlen(b->device_token));
	sx_device_key_free(b->key);
	free(b->up_rx);
	free(b->name);
	free(b->bind);
	free(b->relay_socket);
	free(b->bridge_dir);
	free(b->chat_socket);
	free(b->token);
	free(b->device_token);
	free(b->device_token_path);
	free(b->display_name);
	free(b->host_header);
	free(b->cert_path);
	free(b->key_path);
	sx_strv_free(b->origins);
	sx_strv_free(b->names);
	free(b);
}

void sx_bridge_repair(struct sx_bridge *b)
{
	if (!b)
		return;
	__atomic_store_n(&b->repair, 1, __ATOMIC_RELEASE);
	lws_cancel_service(b->ctx);
}

void sx_bridge_metrics(const struct sx_bridge *b, FILE *out)
{
	struct sx_bridge *m = (struct sx_bridge *)b;

	if (!b)
		return;
	fprintf(
	    out,
	    "# HELP sentrix_bridge_connections Open browser and chat connections.\n"
	    "# TYPE sentrix_bridge_connections gauge\n"
	    "sentrix_bridge_connections %" PRIu64 "\n"
	    "# HELP sentrix_bridge_connections_total Browser and chat connections accepted.\n"
	    "# TYPE sentrix_bridge_connections_total counter\n"
	    "sentrix_bridge_connections_total %" PRIu64 "\n"
	    "# HELP sentrix_bridge_messages_total Bridge messages by direction.\n"
	    "# TYPE sentrix_bridge_messages_total counter\n"
	    "sentrix_bridge_messages_total{direction=\"in\"} %" PRIu64 "\n"
	    "sentrix_bridge_messages_total{direction=\"out\"} %" PRIu64 "\n"
	    "# HELP sentrix_bridge_refusals_total WebSocket handshakes refused (origin not allowed).\n"
	    "# TYPE sentrix_bridge_refusals_total counter\n"
	    "sentrix_bridge_refusals_total %" PRIu64 "\n"
	    "# HELP sentrix_bridge_dropped_deltas_total Deltas skipped for slow readers.\n"
	    "# TYPE sentrix_bridge_dropped_deltas_total counter\n"
	    "sentrix_bridge_dropped_deltas_total %" PRIu64 "\n"
	    "# HELP sentrix_bridge_upstream_up 1 while the OpenClaw gateway connection is ready.\n"
	    "# TYPE sentrix_bridge_upstream_up gauge\n"
	    "sentrix_bridge_upstream_up %d\n"
	    "# HELP sentrix_bridge_upstream_connects_total Connections to the OpenClaw gateway made ready.\n"
	    "# TYPE sentrix_bridge_upstream_connects_total counter\n"
	    "sentrix_bridge_upstream_connects_total %" PRIu64 "\n",
	    BRIDGE_STAT_GET(m, connections), BRIDGE_STAT_GET(m, connections_total),
	    BRIDGE_STAT_GET(m, messages_in), BRIDGE_STAT_GET(m, messages_out), BRIDGE_STAT_GET(m, refusals),
	    BRIDGE_STAT_GET(m, dropped_deltas), BRIDGE_STAT_GET(m, upstream_ready),
	    BRIDGE_STAT_GET(m, upstream_connects));
}

void sx_bridge_health(const struct sx_bridge *b, cJSON *health)
{
	struct sx_bridge *m = (struct sx_bridge *)b;
	cJSON *o = cJSON_AddObjectToObject(health, "bridge");

	if (!o)
		return;
	cJSON_AddBoolToObject(o, "enabled", b != NULL);
	if (!b)
		return;
	cJSON_AddNumberToObject(o, "port", b->port);
	cJSON_AddNumberToObject(o, "trust_port", b->trust_port);
	cJSON_AddStringToObject(o, "bind", b->bind);
	cJSON_AddBoolToObject(o, "agent_connected", bridge_up_ready(m));
	cJSON_AddStringToObject(o, "device_id", b->key ? sx_device_key_id(b->key) : "");
	cJSON_AddNumberToObject(o, "connections", (double)BRIDGE_STAT_GET(m, connections));
	pthread_mutex_lock(&m->error_lock);
	cJSON_AddStringToObject(o, "last_error", m->last_error);
	pthread_mutex_unlock(&m->error_lock);
}
