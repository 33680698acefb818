/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * listen.h - the gateway's own listening sockets (egress proxy, filtered
 * DNS); libmicrohttpd opens the HTTP ones itself.
 */
#pragma once

/* A non-blocking, close-on-exec socket of type (SOCK_STREAM: listening,
 * backlog; SOCK_DGRAM: bound) on IPv4 host:port.  Returns the fd, -EINVAL
 * when host is not an IPv4 address, or the negative errno of the failing
 * call (-EACCES: port below 1024 without CAP_NET_BIND_SERVICE).  The caller
 * logs. */
int sx_listen_ipv4(const char *host, unsigned port, int type, int backlog);
