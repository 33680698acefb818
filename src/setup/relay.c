/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * relay.c - the netns relay between the sidecar and OpenClaw's gateway.
 *
 * OpenClaw's gateway pairs a device silently only when the peer is
 * loopback.  The sidecar (sentrix-gateway: user sentrix, the host's network
 * namespace, no capabilities, cannot setns) therefore reaches OpenClaw
 * through this relay: a unix socket, /run/sentrix/NAME/openclaw.sock, whose
 * every connection is copied byte for byte to 127.0.0.1:PORT inside the
 * instance's netns.  `sentrix sandbox run` (the sandbox unit's command)
 * starts it; a plain `sandbox exec` (ephemeral CI jobs included) never does.
 *
 *   the launcher (root)
 *     forks the relay before the sandbox, and waits until it reports that
 *     it listens (or why it could not); when the sandbox ends, stops it
 *     (SIGTERM), reaps it and removes the socket.
 *   the relay (root, then the gateway user)
 *     PR_SET_PDEATHSIG first: it dies with the launcher, SIGKILL included
 *     (a killed launcher leaves at most the socket file, and the next start
 *     replaces it); makes the socket's directory (root:root 0755, never
 *     through a symlink); binds the socket with the gateway user's
 *     filesystem uid, so it is born the gateway user's with mode 0600 and
 *     the sandbox user cannot connect; joins the netns; drops to the gateway
 *     user with no capabilities and no new privileges; keeps no descriptor
 *     but its own.  Forked before the sandbox's PID 1, it is never in the
 *     sandbox's PID or mount namespaces.
 *   the loop
 *     one epoll loop, level-triggered, every socket nonblocking; at most
 *     SX_RELAY_MAX_CONNS connections (more are accepted and closed), two
 *     SX_RELAY_BUF buffers each; an end of file is passed on as
 *     shutdown(SHUT_WR), and a connection ends when both directions have.
 *     A socket is registered with epoll only while it can make progress,
 *     so a peer that hung up while its buffer is full cannot spin the loop
 *     (epoll reports EPOLLHUP whatever it was asked for).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "../lib/log.h"
#include "../lib/safepath.h"
#include "../lib/util.h"
#include "netns.h"
#include "privdrop.h"
#include "relay.h"
#include "users.h"

/* What the relay tells its launcher on the ready pipe. */
struct report {
	int err; /* 0: listening; else the negative errno it stopped on */
	int bound; /* it made the socket file (the launcher removes it) */
};

/* Descriptors the relay may hold: 3 standard, the listener, epoll and two
 * per connection, with room to spare. */
#define RELAY_NOFILE 64

/* ---- the relay loop ------------------------------------------------- */

struct dir_buf {
	char *buf;
	size_t off, len; /* pending bytes: buf[off, off + len) */
	bool eof; /* its source said end of file */
	bool shut; /* ... and that was passed on (shutdown(SHUT_WR)) */
};

struct conn {
	int fd[2]; /* 0: the client (unix), 1: OpenClaw (TCP) */
	uint32_t armed[2]; /* events registered with epoll; 0: not registered */
	struct dir_buf in[2]; /* in[i]: read from fd[i], to be written to fd[!i] */
	bool connecting;
	uint64_t deadline; /* while connecting, CLOCK_MONOTONIC usec */
	uint32_t gen; /* tells a reused slot's events from its predecessor's */
	char store[]; /* both buffers, allocated with the connection */
};

struct relay {
	int ep, lfd;
	unsigned port;
	uid_t uid; /* the gateway user's, the only one (with root) let in */
	struct conn *conns[SX_RELAY_MAX_CONNS];
	unsigned n;
	uint32_t gen;
	bool full_logged;
	int last_err; /* the last connect error logged (0: none since a success) */
	uint64_t listen_resume; /* 0, or when to accept again after an accept error */
};

#define LISTEN_KEY UINT64_MAX

static uint64_t key_of(const struct conn *k, unsigned slot, int side)
{
	return (uint64_t)k->gen << 32 | slot << 1 | (unsigned)side;
}

static void conn_close(struct relay *rl, unsigned slot)
{
	struct conn *k = rl->conns[slot];

	for (int s = 0; s < 2; s++)
		if (k->fd[s] >= 0)
			close(k->fd[s]); /* also leaves the epoll set */
	free(k);
	rl->conns[slot] = NULL;
	rl->n--;
	rl->full_logged = false;
	log_debug("relay: connection %u closed (%u open)", slot, rl->n);
}

/* The events side s can make progress on now. */
static uint32_t wanted(const struct conn *k, int s)
{
	uint32_t ev = 0;

	if (s == 1 && k->connecting)
		return EPOLLOUT;
	if (!k->in[s].eof && k->in[s].len < SX_RELAY_BUF)
		ev |= EPOLLIN;
	if (k->in[!s].len > 0)
		ev |= EPOLLOUT;
	return ev;
}

/* Registers, changes or removes side s in the epoll set. */
static int rearm(struct relay *rl, unsigned slot, int s)
{
	struct conn *k = rl->conns[slot];
	struct epoll_event e = {.events = wanted(k, s), .data.u64 = key_of(k, slot, s)};
	int op;

	if (e.events == k->armed[s])
		return 0;
	op = !k->armed[s] ? EPOLL_CTL_ADD : e.events ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
	if (epoll_ctl(rl->ep, op, k->fd[s], &e) < 0)
		return log_warn_errno(-errno, "relay: epoll_ctl");
	k->armed[s] = e.events;
	return 0;
}

/* Reads what fd[s] has into in[s].  0, or a negative errno. */
static int fill(struct conn *k, int s)
{
	struct dir_buf *b = &k->in[s];
	ssize_t n;

	if (b->off > 0 && b->off + b->len == SX_RELAY_BUF) {
		memmove(b->buf, b->buf + b->off, b->len);
		b->off = 0;
	}
	n = read(k->fd[s], b->buf + b->off + b->len, SX_RELAY_BUF - b->off - b->len);
	if (n > 0)
		b->len += (size_t)n;
	else if (n == 0)
		b->eof = true;
	else if (errno != EAGAIN && errno != EINTR)
		return -errno;
	return 0;
}

/* Writes what in[!s] holds to fd[s].  0, or a negative errno. */
static int drain(struct conn *k, int s)
{
	struct dir_buf *b = &k->in[!s];
	ssize_t n;

	if (!b->len || (s == 1 && k->connecting))
		return 0;
	n = send(k->fd[s], b->buf + b->off, b->len, MSG_NOSIGNAL);
	if (n > 0) {
		b->off += (size_t)n;
		b->len -= (size_t)n;
		if (!b->len)
			b->off = 0;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		return -errno;
	}
	return 0;
}

/* An end of file read from fd[s], once its bytes are written, becomes
 * shutdown(SHUT_WR) of fd[!s]: the other side reads its end of file and
 * may still answer.  0, or a negative errno. */
static int pass_eof(struct conn *k)
{
	for (int s = 0; s < 2; s++) {
		struct dir_buf *b = &k->in[s];
		if (!b->eof || b->len || b->shut || k->connecting)
			continue;
		if (shutdown(k->fd[!s], SHUT_WR) < 0 && errno != ENOTCONN)
			return -errno;
		b->shut = true;
	}
	return 0;
}

static void connect_failed(struct relay *rl, int err)
{
	if (err != rl->last_err)
		log_warn_errno(-err,
			       "relay: cannot reach OpenClaw's gateway on 127.0.0.1:%u (the client's "
			       "connection is closed; is the gateway up?)",
			       rl->port);
	rl->last_err = err;
}

/* Handles events on side s of a connection.  0, or negative when the
 * connection is over (closed by the caller). */
static int conn_event(struct relay *rl, unsigned slot, int s, uint32_t events)
{
	struct conn *k = rl->conns[slot];
	int r = 0;

	if (s == 1 && k->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);
		if (getsockopt(k->fd[1], SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (!err && !(events & EPOLLOUT))
			err = ECONNREFUSED;
		if (err) {
			connect_failed(rl, err);
			return -err;
		}
		k->connecting = false;
		rl->last_err = 0;
		r = drain(k, 1); /* what the client sent meanwhile */
	} else {
		if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (k->armed[s] & EPOLLIN) &&
		    (r = fill(k, s)) == 0)
			r = drain(k, !s); /* at once, rather than after another wait */
		if (r == 0 && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && (k->armed[s] & EPOLLOUT))
			r = drain(k, s);
	}
	if (r < 0) {
		log_debug("relay: connection %u: %s", slot, strerror(-r));
		return r;
	}
	if ((r = pass_eof(k)) < 0)
		return r;
	if (k->in[0].shut && k->in[1].shut)
		return -ECONNRESET; /* both directions done: over */
	if ((r = rearm(rl, slot, 0)) < 0 || (r = rearm(rl, slot, 1)) < 0)
		return r;
	return 0;
}

/* Peers other than the gateway user and root are turned away even if the
 * socket's mode let them in. */
static bool peer_allowed(const struct relay *rl, int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
		return false;
	if (cr.uid == 0 || cr.uid == rl->uid)
		return true;
	log_warn("relay: refusing a connection from uid %u (pid %d): only the gateway user may connect",
		 (unsigned)cr.uid, (int)cr.pid);
	return false;
}

/* Starts relaying the client fd: a slot, its buffers, the connection to
 * OpenClaw.  Takes fd (closed on failure). */
static void conn_open(struct relay *rl, int fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)rl->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct conn *k;
	unsigned slot;

	for (slot = 0; slot < SX_RELAY_MAX_CONNS && rl->conns[slot]; slot++)
		;
	if (slot == SX_RELAY_MAX_CONNS) {
		if (!rl->full_logged)
			log_warn("relay: %d connections are open already; refusing more (closed at once)",
				 SX_RELAY_MAX_CONNS);
		rl->full_logged = true;
		close(fd);
		return;
	}
	k = calloc(1, sizeof(*k) + 2 * SX_RELAY_BUF);
	if (!k) {
		log_warn_errno(-ENOMEM, "relay: refusing a connection");
		close(fd);
		return;
	}
	k->in[0].buf = k->store;
	k->in[1].buf = k->store + SX_RELAY_BUF;
	k->fd[0] = fd;
	k->gen = ++rl->gen;
	rl->conns[slot] = k;
	rl->n++;
	k->fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->fd[1] < 0) {
		log_warn_errno(-errno, "relay: cannot make a socket to OpenClaw's gateway");
		conn_close(rl, slot);
		return;
	}
	if (connect(k->fd[1], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS) {
			connect_failed(rl, errno);
			conn_close(rl, slot);
			return;
		}
		k->connecting = true;
		k->deadline = sx_now_usec() + SX_RELAY_CONNECT_MSEC * 1000ULL;
	} else {
		rl->last_err = 0;
	}
	log_debug("relay: connection %u opened (%u open)", slot, rl->n);
	if (rearm(rl, slot, 0) < 0 || rearm(rl, slot, 1) < 0)
		conn_close(rl, slot);
}

/* Takes what waits on the listener (a bounded number per wake-up). */
static void accept_some(struct relay *rl)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(rl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			/* Out of descriptors or memory: the listener stays
			 * readable, so stop watching it for a second. */
			log_warn_errno(-errno, "relay: cannot accept a connection; pausing for a second");
			if (epoll_ctl(rl->ep, EPOLL_CTL_DEL, rl->lfd, NULL) == 0)
				rl->listen_resume = sx_now_usec() + 1000000ULL;
			return;
		}
		if (!peer_allowed(rl, fd)) {
			close(fd);
			continue;
		}
		conn_open(rl, fd);
	}
}

/* Milliseconds to the next connect deadline or listener resumption; -1:
 * none. */
static int next_timeout(const struct relay *rl)
{
	uint64_t now = sx_now_usec(), next = rl->listen_resume;

	for (unsigned i = 0; i < SX_RELAY_MAX_CONNS; i++) {
		const struct conn *k = rl->conns[i];
		if (k && k->connecting && (!next || k->deadline < next))
			next = k->deadline;
	}
	if (!next)
		return -1;
	return next <= now ? 0 : (int)MIN((next - now + 999) / 1000, 60000ULL);
}

static void expire(struct relay *rl)
{
	uint64_t now = sx_now_usec();

	for (unsigned i = 0; i < SX_RELAY_MAX_CONNS; i++) {
		struct conn *k = rl->conns[i];
		if (k && k->connecting && k->deadline <= now) {
			connect_failed(rl, ETIMEDOUT);
			conn_close(rl, i);
		}
	}
	if (rl->listen_resume && rl->listen_resume <= now) {
		struct epoll_event e = {.events = EPOLLIN, .data.u64 = LISTEN_KEY};
		if (epoll_ctl(rl->ep, EPOLL_CTL_ADD, rl->lfd, &e) == 0)
			rl->listen_resume = 0;
		else
			rl->listen_resume = now + 1000000ULL;
	}
}

/* Relays until killed.  Returns only on an error of its own (logged). */
static int relay_loop(int lfd, unsigned port)
{
	struct relay rl = {.lfd = lfd, .port = port, .uid = getuid()};
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = LISTEN_KEY}, ev[32];

	rl.ep = epoll_create1(EPOLL_CLOEXEC);
	if (rl.ep < 0 || epoll_ctl(rl.ep, EPOLL_CTL_ADD, lfd, &e) < 0)
		return log_error_errno(-errno, "relay: cannot set up epoll");
	for (;;) {
		int n = epoll_wait(rl.ep, ev, (int)ELEMENTSOF(ev), next_timeout(&rl));
		if (n < 0 && errno != EINTR)
			return log_error_errno(-errno, "relay: epoll_wait");
		for (int i = 0; i < n; i++) {
			uint64_t key = ev[i].data.u64;
			unsigned slot = (unsigned)(key & 0xffffffffU) >> 1;
			int side = (int)(key & 1);
			if (key == LISTEN_KEY) {
				accept_some(&rl);
				continue;
			}
			if (slot >= SX_RELAY_MAX_CONNS || !rl.conns[slot] || rl.conns[slot]->gen != key >> 32)
				continue; /* closed earlier in this batch */
			if (conn_event(&rl, slot, side, ev[i].events) < 0)
				conn_close(&rl, slot);
		}
		expire(&rl);
	}
}

/* ---- the relay process: socket, namespace, privileges ---------------- */

/* Opens the directory dir, making it (root, 0755) when missing, and its
 * missing parents too.  The socket's own directory (leaf) must be a
 * directory of root's that only root can write - whoever could write
 * there could put a socket of their own in the sidecar's way - and is
 * given mode 0755 so the gateway user can reach the socket; it is never
 * reached through a symlink.  Returns the descriptor or a negative errno
 * (logged). */
static int socket_dir(const char *dir, bool leaf, unsigned depth)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	bool made;
	int r;

	r = sx_parent_open(dir, false, &p);
	if (r == -ENOENT && depth < 8) {
		_cleanup_free_ char *up = strdup(dir);
		char *slash = up ? strrchr(up, '/') : NULL;
		if (!slash || slash == up)
			return log_error_errno(-ENOENT, "relay: cannot reach %s", dir);
		*slash = 0;
		if ((r = socket_dir(up, false, depth + 1)) < 0)
			return r;
		close(r);
		r = sx_parent_open(dir, false, &p);
	}
	if (r < 0)
		return log_error_errno(r, "relay: cannot reach the directory of %s", dir);
	made = mkdirat(p.dfd, p.name, 0755) == 0;
	if (!made && errno != EEXIST)
		return log_error_errno(-errno, "relay: cannot create %s", dir);
	fd = openat(p.dfd, p.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return log_error_errno(
		    -ENOTDIR, "relay: %s is not a directory (a symbolic link or a file); remove it", dir);
	if (fd < 0 || fstat(fd, &st) < 0)
		return log_error_errno(-errno, "relay: cannot open %s", dir);
	if (st.st_uid != 0)
		return log_error_errno(-EPERM, "relay: %s belongs to uid %u, not root; remove it", dir,
				       (unsigned)st.st_uid);
	if ((made || leaf) && (st.st_mode & 07777) != 0755 && fchmod(fd, 0755) < 0)
		return log_error_errno(-errno, "relay: cannot make %s mode 0755", dir);
	if (!made && !leaf && (st.st_mode & 022))
		return log_error_errno(-EPERM, "relay: %s is writable by others than root", dir);
	return TAKE_FD(fd);
}

/* Removes what a relay that is gone left at name in dfd; refuses one that
 * still answers.  sa: the socket's address. */
static int clear_stale(int dfd, const char *name, const struct sockaddr_un *sa, const char *path)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : log_error_errno(-errno, "relay: cannot look at %s", path);
	if (S_ISDIR(st.st_mode))
		return log_error_errno(-EISDIR, "relay: %s is a directory; remove it", path);
	if (S_ISSOCK(st.st_mode)) {
		_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (probe >= 0 &&
		    (connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN))
			return log_error_errno(-EADDRINUSE,
					       "relay: %s answers: this instance's OpenClaw runs already "
					       "(its unit, or another `sentrix sandbox run`)",
					       path);
	}
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return log_error_errno(-errno, "relay: cannot remove the stale %s", path);
	log_debug("relay: removed the stale %s", path);
	return 0;
}

/* Binds fd to sa with the gateway user's filesystem ids, so the socket is
 * born the gateway user's, mode 0600 (the umask): chown(2) would need
 * CAP_CHOWN, which sentrix-sandbox@.service does not grant.  A non-zero
 * fsuid clears the filesystem capabilities from the effective set
 * (capabilities(7)); the directory is root's 0755, so CAP_DAC_OVERRIDE is
 * raised again from the permitted set for the bind, and everything goes
 * back to root's afterwards. */
static int bind_as(int fd, const struct sockaddr_un *sa, const struct sx_user *gw)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct caps[2] = {{0}};
	mode_t mask;
	int r = 0;

	setfsgid(gw->gid);
	setfsuid(gw->uid);
	if ((uid_t)setfsuid((uid_t)-1) != gw->uid || (gid_t)setfsgid((gid_t)-1) != gw->gid)
		r = -EPERM;
	else if (syscall(SYS_capget, &hdr, caps) < 0)
		r = -errno;
	else {
		caps[0].effective |= 1U << CAP_DAC_OVERRIDE;
		if (syscall(SYS_capset, &hdr, caps) < 0)
			r = -errno;
	}
	if (r == 0) {
		mask = umask(0177);
		if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
			r = -errno;
		umask(mask);
	}
	setfsuid(0);
	setfsgid(0);
	return r;
}

/* The listening socket at c->relay_socket, the gateway user's, 0600.
 * *bound: whether the file was made.  Returns the descriptor or a
 * negative errno (logged). */
static int relay_listen(const struct sx_config *c, const struct sx_user *gw, int *bound)
{
	const char *path = c->relay_socket, *name = strrchr(path, '/') + 1;
	_cleanup_free_ char *dir = strndup(path, (size_t)(name - path - 1));
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int r, n;

	if (!dir)
		return log_error_errno(-ENOMEM, "relay");
	if (!*dir || !*name)
		return log_error_errno(-EINVAL, "relay: %s is not a file in a directory", path);
	dfd = socket_dir(dir, true, 0);
	if (dfd < 0)
		return dfd;
	/* The name through the directory just checked, whatever becomes of
	 * the path meanwhile. */
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, name);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return log_error_errno(-ENAMETOOLONG, "relay: %s: name too long", path);
	if ((r = clear_stale(dfd, name, &sa, path)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_error_errno(-errno, "relay: cannot make a unix socket");
	if ((r = bind_as(fd, &sa, gw)) < 0)
		return log_error_errno(r, "relay: cannot bind %s as %s", path, c->gateway_user);
	*bound = 1;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_uid != gw->uid || (st.st_mode & 07777) != 0600)
		return log_error_errno(-EPERM, "relay: %s is not a socket of %s with mode 0600 after bind",
				       path, c->gateway_user);
	if (listen(fd, SX_RELAY_MAX_CONNS) < 0)
		return log_error_errno(-errno, "relay: cannot listen on %s", path);
	return TAKE_FD(fd);
}

/* Closes every descriptor above 2 but a and b. */
static void close_all_but(int a, int b)
{
	int lo = MIN(a, b), hi = MAX(a, b);

	if (lo > 3)
		close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0U, 0);
}

/* Signals as the relay wants them: nothing blocked; SIGTERM (the
 * launcher's stop, the parent-death signal, systemd's) ends it; the
 * terminal's signals are the launcher's to act on, so a Ctrl-C that the
 * sandboxed command survives leaves it reachable. */
static void relay_signals(void)
{
	static const int ignored[] = {SIGPIPE, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	sigset_t none;

	for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
		signal(ignored[i], SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* True while the launcher that forked us lives (after PR_SET_PDEATHSIG:
 * a launcher that died before it was set is noticed here). */
static bool parent_alive(pid_t parent)
{
	return prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 && getppid() == parent;
}

static _Noreturn void relay_child(const struct sx_config *c, int netfd, int ready, pid_t parent,
				  const struct sx_user *gw)
{
	struct report rep = {0, 0};
	struct rlimit nofile = {RELAY_NOFILE, RELAY_NOFILE};
	int lfd, null;

	if (!parent_alive(parent))
		_exit(1);
	relay_signals();
	/* Above stdio, which is about to be replaced (a launcher started
	 * with a standard descriptor closed got one of them there). */
	if (netfd < 3)
		netfd = fcntl(netfd, F_DUPFD_CLOEXEC, 3);
	if (ready < 3)
		ready = fcntl(ready, F_DUPFD_CLOEXEC, 3);
	if (netfd < 0 || ready < 0)
		_exit(1);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	close_all_but(netfd, ready);
	lfd = relay_listen(c, gw, &rep.bound);
	if (lfd < 0) {
		rep.err = lfd;
		goto fail;
	}
	if (!sx_netns_current(netfd) && setns(netfd, CLONE_NEWNET) < 0) {
		rep.err = log_error_errno(-errno, "relay: cannot enter the network namespace %s", c->netns);
		goto fail;
	}
	close(netfd);
	if (prlimit(0, RLIMIT_CORE, &(struct rlimit){0, 0}, NULL) < 0 ||
	    prlimit(0, RLIMIT_NOFILE, &nofile, NULL) < 0) {
		rep.err = log_error_errno(-errno, "relay: cannot set its resource limits");
		goto fail;
	}
	if ((rep.err = sx_privdrop_ids(c->gateway_user, gw->uid, gw->gid)) < 0)
		goto fail;
	/* A credential change clears the parent-death signal: again. */
	if (!parent_alive(parent))
		_exit(1);
	log_info("relay %s -> 127.0.0.1:%u in netns %s", c->relay_socket, c->openclaw_port, c->netns);
	(void)!write(ready, &rep, sizeof(rep));
	close(ready);
	_exit(relay_loop(lfd, c->openclaw_port) < 0 ? 1 : 0);
fail:
	(void)!write(ready, &rep, sizeof(rep));
	_exit(1);
}

/* ---- the launcher's side ---------------------------------------------- */

/* Reaps the relay, stopping it first when it still runs.  warn: say so
 * when it had ended by itself (SIGTERM, systemd's stop signal for every
 * process of the unit, is not worth a word). */
static void reap(pid_t pid, bool warn)
{
	int st;
	pid_t w = waitpid(pid, &st, WNOHANG);

	if (w == pid && warn && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM))
		log_warn(
		    "the relay had stopped before the sandbox ended (%s %d); the sidecar could not reach "
		    "OpenClaw since",
		    WIFSIGNALED(st) ? "signal" : "exit status",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	if (w != 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

int sx_relay_start(const struct sx_config *c, int netfd, struct sx_relay *ret)
{
	_cleanup_close_ int rd = -EBADF, wr = -EBADF;
	struct report rep = {-EPIPE, 0};
	struct sx_user gw;
	pid_t parent = getpid(), pid;
	int fds[2];
	ssize_t n;
	int r;

	*ret = SX_RELAY_INIT;
	if (!c->relay_socket || c->relay_socket[0] != '/' ||
	    strlen(c->relay_socket) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return log_error_errno(-EINVAL,
				       "instance %s: the relay socket '%s' is not an absolute path of at "
				       "most 107 characters",
				       c->name, c->relay_socket ? c->relay_socket : "");
	if ((r = sx_user_lookup(c->gateway_user, &gw)) < 0)
		return log_error_errno(r,
				       "the gateway user %s of instance %s does not exist; run setup again",
				       c->gateway_user, c->name);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return log_error_errno(-errno, "cannot start the relay");
	rd = fds[0];
	wr = fds[1];
	pid = fork();
	if (pid < 0)
		return log_error_errno(-errno, "cannot start the relay");
	if (pid == 0) {
		close(TAKE_FD(rd));
		relay_child(c, netfd, wr, parent, &gw);
	}
	close(TAKE_FD(wr));
	do
		n = read(rd, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(rep) && rep.err == 0) {
		*ret = (struct sx_relay){.pid = pid, .path = c->relay_socket};
		return 0;
	}
	/* It said why (or died saying nothing: then its socket, if any, is
	 * left for the next start to replace - it may be a live relay's). */
	reap(pid, false);
	if (n == (ssize_t)sizeof(rep) && rep.err < 0) {
		/* logged by the relay */
		*ret = (struct sx_relay){.pid = -1, .path = rep.bound ? c->relay_socket : NULL};
		sx_relay_stop(ret);
		return rep.err;
	}
	return log_error_errno(
	    -ECHILD, "the relay of instance %s ended before it listened; nothing was started", c->name);
}

void sx_relay_stop(struct sx_relay *r)
{
	int k;

	if (r->pid > 0)
		reap(r->pid, true);
	r->pid = -1;
	if (!r->path)
		return;
	if ((k = sx_safe_unlink(r->path)) < 0)
		log_warn_errno(k, "cannot remove the relay socket %s", r->path);
	else {
		/* The directory too when this launcher made it by hand
		 * (under the unit it is systemd's RuntimeDirectory=: busy). */
		_cleanup_free_ char *dir = strndup(r->path, (size_t)(strrchr(r->path, '/') - r->path));
		if (dir && *dir && (k = sx_safe_rmdir(dir)) < 0)
			log_debug("relay: %s stays: %s", dir, strerror(-k));
		else if (dir && strrchr(dir, '/') && strrchr(dir, '/') != dir) {
			/* And /run/sentrix when nothing else is left in it,
			 * as an ephemeral job's end does: the host as before. */
			*strrchr(dir, '/') = 0;
			(void)sx_safe_rmdir(dir);
		}
	}
	r->path = NULL;
}
