/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * relay.h - the netns relay: the instance's unix socket
 * (/run/sentrix/NAME/openclaw.sock) to OpenClaw's gateway on 127.0.0.1
 * inside the instance's network namespace, for the sidecar.
 */
#pragma once

#include <sys/types.h>

#include "../lib/config.h"

/* A running relay, as its launcher holds it. */
struct sx_relay {
	pid_t pid; /* the relay process; -1: none */
	const char *path; /* its socket (the config's relay_socket, not owned); NULL: nothing to remove */
};

#define SX_RELAY_INIT ((struct sx_relay){.pid = -1, .path = NULL})

/* Most connections relayed at once; more are accepted and closed. */
#define SX_RELAY_MAX_CONNS 16
/* Bytes buffered per direction and connection. */
#define SX_RELAY_BUF (64 * 1024)
/* How long a connection to OpenClaw may take. */
#define SX_RELAY_CONNECT_MSEC 5000

/* Forks the relay of instance c as a child of the caller (root): it makes
 * c->relay_socket's directory (root, 0755) if missing, replaces a stale
 * socket there, binds and listens on c->relay_socket as the gateway user
 * (0600), joins the namespace netfd names (unless already there), drops to
 * the gateway user with no capabilities, and relays until its parent dies
 * or sx_relay_stop().  Returns 0 once it is listening, with *ret filled, or
 * a negative errno (logged; nothing left behind). */
int sx_relay_start(const struct sx_config *c, int netfd, struct sx_relay *ret);

/* Stops the relay (SIGTERM), reaps it and removes its socket file (and
 * the directory, when empty and removable).  Safe on SX_RELAY_INIT and
 * when called twice. */
void sx_relay_stop(struct sx_relay *r);
