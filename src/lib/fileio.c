/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fileio.c - file helpers.  Every change sentrix makes to a host file goes
 * through sx_write_file_atomic() so a crash leaves either the old or the new
 * bytes, never a torn file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fileio.h"
#include "log.h"
#include "util.h"

int sx_read_file(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
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

int sx_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	_cleanup_free_ char *tmp = NULL, *dircopy = NULL;
	_cleanup_close_ int fd = -EBADF, dfd = -EBADF;
	int r;

	tmp = sx_strdupf("%s.sx-tmp.%d", path, (int)getpid());
	dircopy = strdup(path);
	if (!tmp || !dircopy)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = sx_write_all(fd, data, len);
	if (r == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
		r = -errno;
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	return 0;
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
	size_t n = 0;

	if (sx_read_file(path, &buf, &n) < 0 || !buf)
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
	struct statx sx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
		return errno == ENOENT ? 0 : -errno;
	return rm_at(AT_FDCWD, path, sx.stx_mnt_id);
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
