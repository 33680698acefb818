/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * safepath.c - resolve paths one component at a time, trusting only what
 * root made (see safepath.h for the rules and why).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "log.h"
#include "safepath.h"
#include "util.h"

#define MAX_FOLLOW 32

void sx_parent_close(struct sx_parent *p)
{
	if (p->dfd >= 0)
		close(p->dfd);
	p->dfd = -EBADF;
	free(p->name);
	p->name = NULL;
}

/* Below a directory that is not root's, everything must be its owner's. */
static bool unsafe_transition(const struct stat *dir, const struct stat *child)
{
	return dir->st_uid != 0 && child->st_uid != dir->st_uid;
}

/* Refusals are logged as warnings naming the reason; the caller logs
 * what it was doing and whether that stops it. */
static int refuse_link(const char *path, const char *comp, const struct stat *dir, const struct stat *link)
{
	log_warn("refusing %s: %s is a symbolic link (owner uid %u) in a directory of uid %u; sentrix "
		 "follows only links that root made",
		 path, comp, (unsigned)link->st_uid, (unsigned)dir->st_uid);
	return -ELOOP;
}

static int refuse_owner(const char *path, const char *comp, const struct stat *dir, const struct stat *child)
{
	log_warn("refusing %s: %s belongs to uid %u but sits in a directory of uid %u, who could have put "
		 "it there",
		 path, comp, (unsigned)child->st_uid, (unsigned)dir->st_uid);
	return -EPERM;
}

int sx_parent_check_child(const struct sx_parent *p, const struct stat *st)
{
	if (S_ISLNK(st->st_mode) && (p->dir.st_uid != 0 || st->st_uid != 0))
		return refuse_link(p->path, p->name, &p->dir, st);
	if (unsafe_transition(&p->dir, st))
		return refuse_owner(p->path, p->name, &p->dir, st);
	return 0;
}

static bool dot_or_dotdot(const char *s, size_t n)
{
	return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* Replaces the walk's remaining path with the link's target followed by
 * what was left after the link; an absolute target restarts at "/". */
static int follow(int *dfd, struct stat *dst, const char *comp, const char *rest, char **todo)
{
	char target[4096];
	ssize_t n = readlinkat(*dfd, comp, target, sizeof(target) - 1);
	char *next;

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOENT;
	target[n] = 0;
	next = sx_strdupf("%s%s%s", target, *rest ? "/" : "", rest);
	if (!next)
		return -ENOMEM;
	if (target[0] == '/') {
		int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0 || fstat(root, dst) < 0) {
			int r = -errno;
			if (root >= 0)
				close(root);
			free(next);
			return r;
		}
		close(*dfd);
		*dfd = root;
	}
	free(*todo);
	*todo = next;
	return 0;
}

int sx_parent_open(const char *path, bool follow_last, struct sx_parent *ret)
{
	_cleanup_close_ int dfd = -EBADF;
	_cleanup_free_ char *todo = NULL;
	unsigned follows = 0;
	struct stat dst;
	size_t off = 0;

	*ret = (struct sx_parent){.dfd = -EBADF, .path = path};
	if (!path || path[0] != '/')
		return -EINVAL;
	todo = strdup(path);
	dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!todo)
		return -ENOMEM;
	if (dfd < 0 || fstat(dfd, &dst) < 0)
		return -errno;
	for (;;) {
		_cleanup_free_ char *comp = NULL;
		const char *p = todo + off, *end, *rest;
		struct stat st;
		int fd;

		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		rest = end;
		while (*rest == '/')
			rest++;
		if (end == p || dot_or_dotdot(p, (size_t)(end - p)))
			return log_error_errno(-EINVAL,
					       "%s: not a plain absolute path (no \".\", \"..\" or "
					       "trailing \"/\")",
					       path);
		comp = strndup(p, (size_t)(end - p));
		if (!comp)
			return -ENOMEM;
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && !*rest) { /* a new last component */
				ret->name = TAKE_PTR(comp);
				break;
			}
			return -errno;
		}
		if (S_ISLNK(st.st_mode) && (*rest || follow_last)) {
			int r;
			if (dst.st_uid != 0 || st.st_uid != 0)
				return refuse_link(path, comp, &dst, &st);
			if (++follows > MAX_FOLLOW)
				return -ELOOP;
			r = follow(&dfd, &dst, comp, rest, &todo);
			if (r < 0)
				return r;
			off = 0;
			continue;
		}
		if (!*rest) {
			ret->name = TAKE_PTR(comp);
			break;
		}
		/* O_PATH: a directory the caller may only search is enough. */
		fd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
		if (unsafe_transition(&dst, &st)) {
			close(fd);
			return refuse_owner(path, comp, &dst, &st);
		}
		close(dfd);
		dfd = fd;
		dst = st;
		off = (size_t)(rest - todo);
	}
	ret->dfd = TAKE_FD(dfd);
	ret->dir = dst;
	return 0;
}

int sx_safe_stat(const char *path, bool follow_root_links, struct stat *ret)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	int r = sx_parent_open(path, follow_root_links, &p);

	if (r < 0)
		return r;
	if (fstatat(p.dfd, p.name, ret, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return sx_parent_check_child(&p, ret);
}

int sx_safe_read(const char *path, size_t max, char **ret, size_t *ret_len, struct stat *ret_st)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	r = sx_parent_open(path, true, &p);
	if (r < 0)
		return r;
	/* O_NONBLOCK: a FIFO in the file's place must not hang root. */
	fd = openat(p.dfd, p.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP && fstatat(p.dfd, p.name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return sx_parent_check_child(&p, &st) ?: -ELOOP;
		return -errno;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((r = sx_parent_check_child(&p, &st)) < 0)
		return r;
	if (!S_ISREG(st.st_mode))
		return log_warn("refusing %s: not a regular file", path), -EINVAL;
	if ((size_t)st.st_size > max)
		return log_warn("refusing %s: %lld bytes, more than the %zu expected", path,
				(long long)st.st_size, max),
		       -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	/* Read one byte past the size seen: a file growing meanwhile is
	 * caught rather than truncated. */
	for (;;) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > (size_t)st.st_size)
			return log_error_errno(-EBUSY, "%s changed while being read; run again", path);
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	if (ret_st)
		*ret_st = st;
	return 0;
}

int sx_safe_unlink(const char *path)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	int r = sx_parent_open(path, false, &p);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	/* unlinkat() never follows the last component: whatever sits there
	 * now, only the name goes. */
	if (unlinkat(p.dfd, p.name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int sx_safe_rmdir(const char *path)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	int r = sx_parent_open(path, false, &p);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (unlinkat(p.dfd, p.name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return errno == EEXIST ? -ENOTEMPTY : -errno;
	return 0;
}

/* Opens the directory at path's last component, refused as above. */
static int open_dir(const struct sx_parent *p, int *ret_fd, struct stat *ret_st)
{
	struct stat st;
	int fd = openat(p->dfd, p->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		int r = -errno;
		if ((r == -ELOOP || r == -ENOTDIR) &&
		    fstatat(p->dfd, p->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			int q = sx_parent_check_child(p, &st);
			if (q < 0)
				return q;
			return log_warn("refusing %s: not a directory", p->path), -ENOTDIR;
		}
		return r;
	}
	if (fstat(fd, ret_st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int sx_safe_open_dir(const char *path)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	struct stat st;
	int fd = -EBADF, r;

	r = sx_parent_open(path, true, &p);
	if (r < 0)
		return r;
	if ((r = open_dir(&p, &fd, &st)) < 0)
		return r;
	if ((r = sx_parent_check_child(&p, &st)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int sx_safe_mkdir(const char *path, mode_t mode, uid_t uid, gid_t gid, bool *created)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	_cleanup_close_ int fd = -EBADF;
	bool made = false;
	struct stat st;
	int r;

	r = sx_parent_open(path, true, &p);
	if (r < 0)
		return r;
	if (mkdirat(p.dfd, p.name, mode) == 0)
		made = true;
	else if (errno != EEXIST)
		return -errno;
	if ((r = open_dir(&p, &fd, &st)) < 0)
		return r;
	/* One we just made is root's until the fchown below; anything else
	 * (found, or swapped in meanwhile) must fit its directory. */
	if (!(made && st.st_uid == geteuid()) && (r = sx_parent_check_child(&p, &st)) < 0)
		return r;
	if (created)
		*created = made;
	if (!made)
		return 0;
	/* On the descriptor: the name may point elsewhere by now. */
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
		return -errno;
	return 0;
}

int sx_safe_chown(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	r = sx_parent_open(path, true, &p);
	if (r < 0)
		return r;
	fd = openat(p.dfd, p.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((r = sx_parent_check_child(&p, &st)) < 0)
		return r;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if ((st.st_uid != uid || st.st_gid != gid) && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return -errno;
	/* fchmod() needs a real descriptor: go through /proc's view of it. */
	if (mode != (mode_t)-1 && (st.st_mode & 07777) != mode) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (chmod(proc, mode) < 0)
			return -errno;
	}
	return 0;
}
