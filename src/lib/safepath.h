/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * safepath.h - reach a path as root without being steered by another user.
 *
 * sentrix runs as root and edits files in places other users control: the
 * sandbox user's home (launchers, .openclaw/openclaw.json) and the gateway
 * user's log directory.  Whoever owns such a directory can replace any
 * entry in it at any moment with a symlink (to /etc/shadow, to another
 * tenant's files), a directory or a FIFO.  Every path sentrix manages is
 * therefore resolved here one component at a time from "/", with each step
 * opened relative to the previous directory's descriptor and O_NOFOLLOW:
 *
 *  - a symlink is followed only when root made it: owned by root, in a
 *    directory owned by root (/var/run -> /run, an operator's link);
 *  - below a directory owned by another user, everything must belong to
 *    that user (systemd's "unsafe transition" rule): no symlinks, nothing
 *    of root's or of a third user's;
 *  - "." and ".." are refused, so the walk only ever goes down.
 *
 * A refusal is logged here as a warning naming the reason, and returned
 * as -ELOOP (a symlink) or -EPERM (an owner that does not fit); callers
 * log what they were doing and whether that stops them.  Once the directory is open, work on the last
 * component happens relative to it, on descriptors checked with fstat(),
 * so swapping names afterwards changes nothing for root.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct sx_parent {
	int dfd; /* the directory holding the last component (O_PATH) */
	struct stat dir; /* its fstat() */
	char *name; /* the last component */
	const char *path; /* the whole path, for messages (not owned) */
};

/* Opens the directory holding path's last component.  follow_last: when
 * the last component is a symlink root made, resolve it too (and return
 * the parent of its target).  Returns 0, -ENOENT when a directory on the
 * way is missing, -ELOOP/-EPERM (logged) when the walk is refused, or
 * another negative errno. */
int sx_parent_open(const char *path, bool follow_last, struct sx_parent *ret);
void sx_parent_close(struct sx_parent *p);
#define _cleanup_parent_ __attribute__((cleanup(sx_parent_close)))

/* Checks what sits at the last component (st from fstatat/fstat with no
 * symlink followed) against its directory: in a directory owned by a user
 * other than root it must not be a symlink and must belong to that user.
 * 0, or -ELOOP/-EPERM (logged). */
int sx_parent_check_child(const struct sx_parent *p, const struct stat *st);

/* lstat() of path's last component, refused as above; follow_root_links
 * resolves a last component that is a link root made.  0, -ENOENT, or a
 * negative errno. */
int sx_safe_stat(const char *path, bool follow_root_links, struct stat *ret);

/* Reads a whole regular file (at most max bytes; -EFBIG beyond), refusing
 * symlinks and foreign owners below another user's directory, FIFOs and
 * devices everywhere.  *ret_st (optional) receives its fstat().  Returns 0,
 * -ENOENT when absent, or a negative errno. */
int sx_safe_read(const char *path, size_t max, char **ret, size_t *ret_len, struct stat *ret_st);

/* Removes path's last component (a file or a symlink, never followed);
 * absent is not an error. */
int sx_safe_unlink(const char *path);

/* Removes an empty directory; absent is not an error.  -ENOTEMPTY when it
 * holds something. */
int sx_safe_rmdir(const char *path);

/* Opens the directory at path (O_RDONLY|O_DIRECTORY), refused as above;
 * returns the descriptor or a negative errno. */
int sx_safe_open_dir(const char *path);

/* Creates a directory, or finds one (refused as above when it does not
 * fit); a new one gets owner and mode through its own descriptor.
 * *created (optional) tells which. */
int sx_safe_mkdir(const char *path, mode_t mode, uid_t uid, gid_t gid, bool *created);

/* Sets the owner and, unless mode is (mode_t)-1, the mode of path's last
 * component (never a symlink; a link root made is resolved). */
int sx_safe_chown(const char *path, uid_t uid, gid_t gid, mode_t mode);
