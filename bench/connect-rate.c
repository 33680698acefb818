/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * connect-rate.c - the load client of bench/egress.sh: how many new tunnels
 * per second an HTTP proxy sets up.  Each of CONC threads loops: connect to
 * the proxy, send "CONNECT TARGET HTTP/1.1", wait for its 200, send one small
 * GET through the tunnel (Connection: close), read the answer to EOF, check
 * it, close.  Without --connect the threads talk to --to directly (the
 * no-proxy baseline: the same GET, no tunnel).  It stops after COUNT tunnels
 * or SECS seconds, whichever comes first, and prints one line
 *
 *   tunnels N errors E secs S rate R
 *
 * (R: working tunnels per second), the first error on stderr.  Python's
 * per-connection cost is in the same range as a proxy's, which is why this is
 * C.  Replies are checked by prefix and substring only (a status line
 * "HTTP/1.x 200", the expected body text): a load client, not an HTTP parser.
 *
 * Usage: connect-rate --to ADDR:PORT [--connect HOST:PORT] [--host NAME]
 *                     [--path PATH] [--expect TEXT] [--conc N] [--count N] [--secs S]
 * ADDR is an IPv4 literal.  Exit status 0 when every tunnel worked, 1 when
 * some failed, 2 on a bad command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct options {
	struct sockaddr_in to;
	const char *connect; /* HOST:PORT to CONNECT to, NULL: direct */
	const char *host; /* Host header of the GET */
	const char *path;
	const char *expect; /* text the answer must contain, or NULL */
	unsigned conc, count;
	double secs;
};

static struct options opt = {.host = "allowed.test", .path = "/small", .conc = 8, .count = 2000, .secs = 10};
static atomic_uint started, succeeded, failed;
static double deadline;
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_error[256];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* fail WHAT DETAIL: keeps the first error for the report; returns -1. */
static int fail(const char *what, const char *detail)
{
	pthread_mutex_lock(&error_lock);
	if (!first_error[0])
		snprintf(first_error, sizeof(first_error), "%s%s%.*s", what, detail ? ": " : "", 120,
			 detail ? detail : "");
	pthread_mutex_unlock(&error_lock);
	return -1;
}

/* Returns 0 or a negative errno. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* recv_until FD BUF CAP STOP: reads into BUF (NUL-terminated) until it holds
 * STOP, or until EOF when STOP is NULL.  Returns the length, or a negative
 * errno: -EPROTO for EOF before STOP, -EMSGSIZE when BUF is full. */
static ssize_t recv_until(int fd, char *buf, size_t cap, const char *stop)
{
	size_t len = 0;

	buf[0] = 0;
	for (;;) {
		if (stop && strstr(buf, stop))
			return (ssize_t)len;
		if (len + 1 >= cap)
			return -EMSGSIZE;
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return stop ? -EPROTO : (ssize_t)len;
		len += (size_t)n;
		buf[len] = 0;
	}
}

/* first_line BUF: BUF's first line, cut in place (for error messages). */
static const char *first_line(char *buf)
{
	buf[strcspn(buf, "\r\n")] = 0;
	return buf;
}

/* Returns 0 when the status line of BUF says 200. */
static int status_200(const char *buf)
{
	return strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8, " 200", 4) == 0 ? 0 : -1;
}

/* One tunnel (or, direct, one connection) from connect to close.
 * Returns 0 or -1 (the first failure is kept in first_error). */
static int one_tunnel(void)
{
	struct timeval tv = {.tv_sec = 5};
	char buf[16384];
	int fd, one = 1, r = -1;
	ssize_t n;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket", strerror(errno));
	/* SO_SNDTIMEO bounds connect() too. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&opt.to, sizeof(opt.to)) < 0) {
		fail("connect", strerror(errno));
		goto out;
	}
	if (opt.connect) {
		snprintf(buf, sizeof(buf), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", opt.connect,
			 opt.connect);
		if ((n = send_all(fd, buf, strlen(buf))) < 0) {
			fail("sending CONNECT", strerror((int)-n));
			goto out;
		}
		if ((n = recv_until(fd, buf, sizeof(buf), "\r\n\r\n")) < 0) {
			fail("reading the CONNECT answer", strerror((int)-n));
			goto out;
		}
		if (status_200(buf) < 0) {
			fail("CONNECT refused", first_line(buf));
			goto out;
		}
	}
	snprintf(buf, sizeof(buf), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", opt.path,
		 opt.host);
	if ((n = send_all(fd, buf, strlen(buf))) < 0) {
		fail("sending GET", strerror((int)-n));
		goto out;
	}
	if ((n = recv_until(fd, buf, sizeof(buf), NULL)) < 0) {
		fail("reading the GET answer", strerror((int)-n));
		goto out;
	}
	if (status_200(buf) < 0 || (opt.expect && !strstr(buf, opt.expect))) {
		fail("unexpected GET answer", n ? first_line(buf) : "(empty)");
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

static void *worker(void *arg)
{
	while (now() < deadline && atomic_fetch_add(&started, 1) < opt.count) {
		if (one_tunnel() == 0)
			atomic_fetch_add(&succeeded, 1);
		else
			atomic_fetch_add(&failed, 1);
	}
	return NULL;
}

/* Returns 0 when S is "IPV4:PORT" (stored in *sa), -1 otherwise. */
static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return -1;
	*sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: connect-rate --to ADDR:PORT [--connect HOST:PORT] [--host NAME] [--path PATH]\n"
		"                    [--expect TEXT] [--conc N] [--count N] [--secs S]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"connect", required_argument, NULL, 'C'},
	    {"host", required_argument, NULL, 'H'},
	    {"path", required_argument, NULL, 'p'},
	    {"expect", required_argument, NULL, 'e'},
	    {"conc", required_argument, NULL, 'c'},
	    {"count", required_argument, NULL, 'n'},
	    {"secs", required_argument, NULL, 's'},
	    {},
	};
	pthread_t threads[256];
	bool have_to = false, spawn_failed = false;
	unsigned i;
	double t0, t1;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
		switch (c) {
		case 't':
			if (parse_addr(optarg, &opt.to) < 0)
				return usage();
			have_to = true;
			break;
		case 'C': opt.connect = optarg; break;
		case 'H': opt.host = optarg; break;
		case 'p': opt.path = optarg; break;
		case 'e': opt.expect = optarg; break;
		case 'c': opt.conc = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': opt.count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': opt.secs = strtod(optarg, NULL); break;
		default: return usage();
		}
	}
	if (!have_to || optind != argc || opt.conc < 1 || opt.conc > 256 || opt.count < 1 || opt.secs <= 0)
		return usage();

	t0 = now();
	deadline = t0 + opt.secs;
	for (i = 0; i < opt.conc; i++)
		if (pthread_create(&threads[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "connect-rate: cannot start thread %u\n", i);
			spawn_failed = true; /* the started ones still finish */
			break;
		}
	while (i-- > 0)
		pthread_join(threads[i], NULL);
	t1 = now();
	if (spawn_failed)
		return 1;
	printf("tunnels %u errors %u secs %.3f rate %.1f\n", succeeded, failed, t1 - t0,
	       succeeded / (t1 - t0));
	if (first_error[0])
		fprintf(stderr, "connect-rate: first error: %s\n", first_error);
	return failed ? 1 : 0;
}
