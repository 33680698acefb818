/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * listen.c - binding the gateway's own sockets.  See listen.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

int sx_listen_ip(const char *host, unsigned port, int type, int backlog)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} a = {0};
	socklen_t len;
	int fd, one = 1, r;

	if (inet_pton(AF_INET, host, &a.in4.sin_addr) == 1) {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons((uint16_t)port);
		len = sizeof(a.in4);
	} else if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) == 1) {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons((uint16_t)port);
		len = sizeof(a.in6);
	} else
		return -EINVAL;
	fd = socket(a.sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A restart must not wait for the old sockets' TIME_WAIT. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &a.sa, len) < 0 || (type == SOCK_STREAM && listen(fd, backlog) < 0)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
