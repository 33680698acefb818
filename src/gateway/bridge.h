/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bridge.h - the browser bridge: wss:// for the web UI (origin allowlist
 * checked at the handshake), an HTTPS trust page on port - 1, a local
 * chat socket for `sentrix chat`, and one shared connection to the
 * sandbox's OpenClaw gateway as a paired operator device, through the
 * netns relay (docs/bridge.md).
 *
 * libwebsockets runs the bridge in a thread of its own (this Debian build
 * has no external-poll or sd-event integration): every bridge structure
 * belongs to that thread; the main loop only reads the counters below
 * (atomics) and asks the thread to stop.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include <time.h>

struct sx_gateway;
struct sx_bridge;

struct sx_bridge_opts {
	const char *cert_path, *key_path; /* --cert/--key; NULL: generated in bridge_dir */
	time_t (*clock)(void); /* NULL: time() */
};

/* Starts the bridge when config.json gives it a port: binds its
 * listeners (errors are returned, logged), then starts its thread.
 * *ret stays NULL when the instance has no bridge. */
int sx_bridge_start(struct sx_gateway *g, const struct sx_bridge_opts *o, struct sx_bridge **ret);
/* Stops the thread, closes every connection, frees b (NULL is fine). */
void sx_bridge_stop(struct sx_bridge *b);

/* SIGUSR1 (`sentrix sandbox pair`): a fresh handshake with OpenClaw now,
 * pairing again if OpenClaw removed the device.  Any thread. */
void sx_bridge_repair(struct sx_bridge *b);

/* Prometheus lines for /metrics. */
void sx_bridge_metrics(const struct sx_bridge *b, FILE *out);
/* /health's "bridge" object, added to health. */
void sx_bridge_health(const struct sx_bridge *b, cJSON *health);
