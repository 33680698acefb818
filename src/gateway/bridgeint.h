/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bridgeint.h - the bridge's state, shared by its browser side (bridge.c)
 * and its OpenClaw side (bridgeup.c).  Everything here belongs to the
 * bridge thread except the atomics in struct bridge_stats.
 */
#pragma once

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdbool.h>

#include "devicekey.h"

/* A frame waiting to be written: LWS_PRE bytes of room, then the text. */
struct qframe {
	struct lws_dll2 node;
	size_t len;
	bool droppable; /* a delta: skipped when the client is slow */
	unsigned char buf[];
};

/* Bytes one browser may have queued before deltas are dropped, and
 * before the connection is closed as too slow. */
#define BRIDGE_QUEUE_SOFT (256 * 1024)
#define BRIDGE_QUEUE_HARD (4 * 1024 * 1024)
#define BRIDGE_MAX_CLIENTS 4096
/* OpenClaw frames above this are dropped (its own limit is 25 MiB; the
 * bridge needs hello-ok and chat events). */
#define BRIDGE_UP_FRAME_MAX (8 * 1024 * 1024)

/* One browser (or `sentrix chat`) connection: lws's per-session data. */
struct bridge_client {
	struct lws_dll2 node; /* in bridge.clients */
	struct lws *wsi;
	bool local; /* the chat socket */
	bool ready; /* bridge.ready sent */
	struct lws_dll2_owner outq;
	size_t queued;
	char *rx;
	size_t rx_len;
	uid_t peer_uid; /* local: SO_PEERCRED */
};

/* A chat turn in flight: OpenClaw's run id routes its events back. */
struct bridge_run {
	struct lws_dll2 node; /* in bridge.runs */
	char run_id[37];
	char req_id[24];
	char *session;
	struct bridge_client *client; /* NULL once the browser left */
	cJSON *client_id;
	char *sent; /* accumulated text the browser has */
	bool abort_sent;
};

/* A ping waiting for OpenClaw's answer to its health call. */
struct bridge_ping {
	struct lws_dll2 node; /* in bridge.pings */
	char req_id[24];
	struct bridge_client *client; /* NULL once the browser left */
	cJSON *client_id;
};

struct bridge_stats {
	/* atomics: the main loop reads them for /metrics and /health */
	uint64_t connections, connections_total, messages_in, messages_out, refusals, upstream_connects,
	    dropped_deltas;
	int upstream_ready; /* hello-ok received on the current connection */
};

struct sx_bridge {
	/* settings, copied at start */
	char *name, *bind, *relay_socket, *bridge_dir, *chat_socket, *token, *device_token_path,
	    *display_name, *host_header, *cert_path, *key_path;
	char **origins;
	char **names; /* extra certificate names */
	unsigned port, trust_port, oc_port;
	struct sx_device_key *key;
	char *device_token;
	time_t (*clock)(void);

	struct lws_context *ctx;
	struct lws_vhost *vh_up;
	pthread_t thread;
	bool thread_started;
	int stop; /* atomic */

	/* OpenClaw side (bridgeup.c) */
	struct lws *up;
	struct lws_dll2_owner up_outq;
	char *up_rx;
	size_t up_rx_len;
	char connect_req[24];
	bool revoked; /* OpenClaw removed the device: no pairing again until asked */
	int repair; /* atomic: `sentrix sandbox pair` asked for a fresh handshake */
	unsigned backoff_ms;
	unsigned req_seq;
	uint64_t down_since_logged; /* monotonic s of the last "unreachable" log */
	lws_sorted_usec_list_t sul_reconnect, sul_cert;
	char last_error[256]; /* under error_lock */
	pthread_mutex_t error_lock;
	char server_version[64];

	struct lws_dll2_owner clients, runs, pings;
	struct bridge_stats stats;
};

/* bridge.c: a frame holding n bytes of text, appended to q (NULL when out
 * of memory). */
struct qframe *bridge_queue_add(struct lws_dll2_owner *q, const char *text, size_t n);
/* bridge.c: queue a frame for a browser (takes text; NULL is ENOMEM). */
void bridge_send(struct sx_bridge *b, struct bridge_client *c, char *text, bool droppable);
/* Tells every browser the agent side is up or down. */
void bridge_broadcast_status(struct sx_bridge *b, bool connected, const char *detail);
void bridge_run_free(struct sx_bridge *b, struct bridge_run *r);

/* bridgeup.c */
extern const struct lws_protocols bridge_up_protocol;
void bridge_up_connect_soon(struct sx_bridge *b, unsigned ms);
/* Starts a chat turn for c; returns 0, or a negative errno with *why set. */
int bridge_up_chat(struct sx_bridge *b, struct bridge_client *c, const cJSON *client_id, const char *text,
		   const char *session, const char **why);
/* Aborts c's run with this client id (NULL: all of c's runs); returns how many. */
int bridge_up_abort(struct sx_bridge *b, struct bridge_client *c, const cJSON *client_id);
/* Asks OpenClaw's gateway for its health on c's behalf; answers "pong". */
void bridge_up_ping(struct sx_bridge *b, struct bridge_client *c, const cJSON *client_id);
/* Forgets c in every run and ping (the browser left). */
void bridge_up_detach(struct sx_bridge *b, struct bridge_client *c);
/* Frees every run, ping and queued frame (the thread has stopped). */
void bridge_up_free_all(struct sx_bridge *b);
/* In the bridge thread, after lws_cancel_service(): acts on b->repair. */
void bridge_up_check_repair(struct sx_bridge *b);

#define BRIDGE_STAT_ADD(b, field, n) __atomic_add_fetch(&(b)->stats.field, (n), __ATOMIC_RELAXED)
#define BRIDGE_STAT_GET(b, field) __atomic_load_n(&(b)->stats.field, __ATOMIC_RELAXED)

/* The OpenClaw connection is ready (its one record: the counter /health
 * and /metrics read). */
static inline bool bridge_up_ready(struct sx_bridge *b)
{
	return BRIDGE_STAT_GET(b, upstream_ready) != 0;
}
