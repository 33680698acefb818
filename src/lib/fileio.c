/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fileio.c - file helpers.  Every change sentrix makes to a host file goes
 * through sx_write_file_atomic() so a crash leaves either the old or the new
 * bytes, never a torn file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "fileio.h"
#include "log.h"
#include "safepath.h"
#include "util.h"

/* Reads path opened with extra open flags (O_NOFOLLOW, …); see below. */
static int read_file_flags(const char *path, int flags, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | flags);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *nb;
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (!buf) {
		buf = calloc(1, 1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int sx_read_file(const char *path, char **ret, size_t *ret_len)
{
	return read_file_flags(path, 0, ret, ret_len);
}

int sx_read_file_nofollow(const char *path, char **ret, size_t *ret_len)
{
	return read_file_flags(path, O_NOFOLLOW, ret, ret_len);
}

int sx_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sx_writev_all(int fd, struct iovec *iov, int n, size_t total)
{
	while (total > 0) {
		ssize_t w = writev(fd, iov, n);
		size_t done;
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		total -= (size_t)w;
		/* A short write (a full disk, a signal): go on after it. */
		for (done = (size_t)w; n > 0 && done >= iov->iov_len; iov++, n--)
			done -= iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* The temporary name beside NAME: NAME.sx-tmp.PID (sx_sweep_tmp() knows
 * it). */
static char *tmp_name(const char *name)
{
	return sx_strdupf("%s" SX_TMP_INFIX "%d", name, (int)getpid());
}

int sx_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	r = sx_parent_open(path, false, &p);
	if (r < 0)
		return r;
	if (fstatat(p.dfd, p.name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if ((r = sx_parent_check_child(&p, &st)) < 0)
			return r;
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
	} else if (errno != ENOENT)
		return -errno;
	/* In another user's directory, whatever root leaves is that user's:
	 * a file of root's there would only be a name they can swap. */
	if (p.dir.st_uid != 0 && uid != p.dir.st_uid)
		return log_warn("refusing to write %s as uid %d into a directory of uid %u", path, (int)uid,
				(unsigned)p.dir.st_uid),
		       -EPERM;
	tmp = tmp_name(p.name);
	if (!tmp)
		return -ENOMEM;
	/* A leftover of a killed run with our pid, or a name planted by the
	 * directory's owner: unlinkat() removes the name, never follows it. */
	(void)unlinkat(p.dfd, tmp, 0);
	fd = openat(p.dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = sx_write_all(fd, data, len);
	if (r == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
		r = -errno;
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(p.dfd, tmp, p.dfd, p.name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(p.dfd, tmp, 0);
		return r;
	}
	fd = safe_close(fd);
	fd = openat(p.dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		(void)fsync(fd);
	return 0;
}

int sx_sweep_tmp(const char *dir)
{
	_cleanup_close_ int fd = -EBADF;
	struct dirent *de;
	int removed = 0;
	DIR *d;

	fd = sx_safe_open_dir(dir);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -EBADF; /* the DIR owns it now */
	while ((de = readdir(d))) {
		const char *infix = strstr(de->d_name, SX_TMP_INFIX);
		unsigned pid;
		struct stat st;

		if (!infix || infix == de->d_name ||
		    sx_parse_uint(infix + strlen(SX_TMP_INFIX), INT32_MAX, &pid) < 0 || pid == 0)
			continue;
		/* A writer that is still alive is still writing. */
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int sx_write_string(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(text);

	if (fd < 0)
		return -errno;
	return write(fd, text, n) == (ssize_t)n ? 0 : -errno;
}

bool sx_file_has_content(const char *path, const void *data, size_t len)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t n = 0;

	if (sx_safe_stat(path, false, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len)
		return false;
	if (sx_safe_read(path, len, &buf, &n, NULL) < 0)
		return false;
	return n == len && memcmp(buf, data, len) == 0;
}

/* Removes name under dfd, recursively, staying on the mount mnt_id.
 * Mount points are compared by mount id (statx), not st_dev: on overlayfs
 * files and directories of one mount report different devices. */
static int rm_at(int dfd, const char *name, uint64_t mnt_id)
{
	struct statx sx;
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MNT_ID, &sx) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(sx.stx_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (sx.stx_mnt_id != mnt_id)
		return -EBUSY; /* something is mounted here: not ours to delete */
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
			int q = rm_at(dirfd(d), de->d_name, mnt_id);
			if (q < 0 && r == 0)
				r = q;
		}
	closedir(d);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

int sx_rm_rf(const char *path)
{
	_cleanup_parent_ struct sx_parent p = {.dfd = -EBADF};
	struct statx sx;
	struct stat st;
	int r;

	r = sx_parent_open(path, false, &p);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	if (statx(p.dfd, p.name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstatat(p.dfd, p.name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (r = sx_parent_check_child(&p, &st)) < 0)
		return r;
	return rm_at(p.dfd, p.name, sx.stx_mnt_id);
}

int sx_dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

bool sx_path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int sx_precreate_mode(const char *path, mode_t mode)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	return fchmod(fd, mode) < 0 ? -errno : 0;
}
