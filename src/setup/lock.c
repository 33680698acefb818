/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * lock.c - the host-wide setup lock.
 *
 * One lock for every instance, not one per instance: instances share the
 * /30 pool, the gateway user, host.json and sysctls, so two setups of
 * different names must not interleave either.  flock(2) is released by the
 * kernel when the holder dies, SIGKILL included, so a crashed run never
 * leaves the host locked.  The lock file lives in /run/lock (tmpfs), where
 * lock files belong.
 */
#include <fcntl.h>
#include <sys/file.h>

#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/util.h"
#include "lock.h"

int sx_lock_take(void)
{
	int fd = open(SX_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return log_error_errno(-errno, "cannot open " SX_LOCK_FILE);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno != EWOULDBLOCK) {
		int r = log_error_errno(-errno, "cannot lock " SX_LOCK_FILE);
		close(fd);
		return r;
	}
	log_info("another sentrix-setup is running; waiting for it to finish...");
	if (flock(fd, LOCK_EX) < 0) {
		int r = log_error_errno(-errno, "cannot lock " SX_LOCK_FILE);
		close(fd);
		return r;
	}
	return fd;
}
