/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * listen.h - the gateway's own listening sockets (egress proxy, filtered
 * DNS, the LLM proxy); libmicrohttpd opens /health's itself.
 */
#pragma once

/* A non-blocking, close-on-exec socket of type (SOCK_STREAM: listening,
 * backlog; SOCK_DGRAM: bound) on host:port (an IPv4 or IPv6 literal).  Returns the fd, -EINVAL
 * when host is not an IP address, or the negative errno of the failing
 * call (-EACCES: port below 1024 without CAP_NET_BIND_SERVICE).  The caller
 * logs. */
int sx_listen_ip(const char *host, unsigned port, int type, int backlog);
