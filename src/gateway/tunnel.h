/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * tunnel.h - relays bytes between two connected sockets in both directions
 * until both sides are done: the egress proxy's CONNECT tunnels and its
 * plain-HTTP forwards.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct sx_tunnel;

struct sx_tunnel_result {
	uint64_t bytes_up; /* client -> server */
	uint64_t bytes_down; /* server -> client */
	const char *end; /* "closed", "idle timeout", "reset", ... (static) */
};

typedef void (*sx_tunnel_done)(void *data, const struct sx_tunnel_result *res);

/* Starts relaying between client and server (both non-blocking; the tunnel
 * owns and closes them).  prefix_up/prefix_down are bytes to deliver first
 * (the request head for a plain-HTTP forward; "200 Connection established"
 * for CONNECT); each at most 64 KiB.  close_on_server_eof ends the tunnel
 * once the server's data is delivered (plain HTTP, Connection: close);
 * otherwise each direction is half-closed on its own (CONNECT).  done runs
 * once, from the loop; then the tunnel is gone.  Returns 0 or a negative
 * errno (the fds are closed then too). */
int sx_tunnel_start(sd_event *loop, int client, int server, const void *prefix_up, size_t up_len,
		    const void *prefix_down, size_t down_len, bool close_on_server_eof, unsigned idle_secs,
		    sx_tunnel_done done, void *data, struct sx_tunnel **ret);

/* Ends the tunnel now (done still runs, with end "gateway stopping"). */
void sx_tunnel_abort(struct sx_tunnel *t);
