/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * netns.c - create, enter and remove named network namespaces.
 *
 * Same layout as iproute2's `ip netns add`: /run/netns is a shared mount
 * point (so a namespace mounted later propagates into other mount
 * namespaces, such as a service's private one) and each namespace is a
 * bind mount of /proc/self/ns/net onto an empty file there.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/util.h"
#include "netns.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* Makes /run/netns a shared mount point, bind-mounting it onto itself
 * first when it is not a mount point yet (what iproute2 does). */
static int prepare_run_dir(void)
{
	if (mkdir(SX_NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return log_error_errno(-errno, "cannot create " SX_NETNS_DIR);
	if (mount("", SX_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return log_error_errno(-errno, "cannot make " SX_NETNS_DIR " a shared mount");
	if (mount(SX_NETNS_DIR, SX_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
		return log_error_errno(-errno, "cannot bind-mount " SX_NETNS_DIR);
	if (mount("", SX_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
		return log_error_errno(-errno, "cannot make " SX_NETNS_DIR " a shared mount");
	return 0;
}

bool sx_netns_mounted(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && sf.f_type == NSFS_MAGIC;
}

int sx_netns_create(const char *path)
{
	_cleanup_close_ int fd = -EBADF, saved = -EBADF;
	int r;

	if (sx_netns_mounted(path))
		return -EEXIST;
	r = prepare_run_dir();
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
	if (fd < 0)
		return log_error_errno(-errno, "cannot create %s", path);
	saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0)
		return log_error_errno(-errno, "cannot open own network namespace");
	if (unshare(CLONE_NEWNET) < 0) {
		r = log_error_errno(-errno, "cannot create a network namespace (is CONFIG_NET_NS enabled?)");
		unlink(path);
		return r;
	}
	if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
		r = log_error_errno(-errno, "cannot bind-mount the new namespace at %s", path);
	if (setns(saved, CLONE_NEWNET) < 0)
		/* Staying in the wrong namespace would make every later
		 * change land in the sandbox: stop here. */
		return log_error_errno(-errno, "cannot return to the host network namespace");
	if (r < 0)
		unlink(path);
	return r;
}

int sx_netns_remove(const char *path)
{
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return log_error_errno(-errno, "cannot unmount %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return log_error_errno(-errno, "cannot remove %s", path);
	return 0;
}

int sx_netns_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

bool sx_netns_current(int fd)
{
	struct stat want, here;

	return fstat(fd, &want) == 0 && stat("/proc/self/ns/net", &here) == 0 && want.st_dev == here.st_dev &&
	    want.st_ino == here.st_ino;
}

int sx_netns_enter(int fd, int *saved)
{
	*saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return log_error_errno(-errno, "cannot open own network namespace");
	if (setns(fd, CLONE_NEWNET) < 0) {
		int r = log_error_errno(-errno, "cannot enter the sandbox network namespace");
		close(*saved);
		*saved = -EBADF;
		return r;
	}
	return 0;
}

int sx_netns_leave(int *saved)
{
	int r = 0;

	if (*saved < 0)
		return 0;
	if (setns(*saved, CLONE_NEWNET) < 0)
		r = log_error_errno(-errno, "cannot return to the host network namespace");
	close(*saved);
	*saved = -EBADF;
	return r;
}
