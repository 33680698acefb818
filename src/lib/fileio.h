/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fileio.h - whole-file reads, atomic replacement, directory helpers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads a whole file into a NUL-terminated buffer.  Returns 0, -ENOENT when
 * absent, or another negative errno. */
int sx_read_file(const char *path, char **ret, size_t *ret_len);
/* The same, refusing a symbolic link as the last component (-ELOOP): for
 * root reading a file in a directory another user owns. */
int sx_read_file_nofollow(const char *path, char **ret, size_t *ret_len);

/* write(2) until all of data is written (EINTR retried); 0 or -errno. */
int sx_write_all(int fd, const void *data, size_t len);
/* writev(2) of n iovecs (total bytes) until all is written; 0 or -errno.
 * The iovecs are consumed. */
struct iovec;
int sx_writev_all(int fd, struct iovec *iov, int n, size_t total);

/* Replaces path atomically: writes a temporary file NAME.sx-tmp.PID in the
 * same directory, sets owner and mode, fsyncs it, renames it over path and
 * fsyncs the directory.  The directory is reached as safepath.h says; in a
 * directory of another user the file must be that user's (uid), and what
 * it replaces must be a file of that user's, not a symlink.  uid/gid of
 * (uid_t)-1 keep the process's own. */
int sx_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid);

#define SX_TMP_INFIX ".sx-tmp."

/* The largest file setup reads back from a place it manages (its prior
 * bytes for undo, openclaw.json): anything bigger is not one of its files,
 * and root must not be made to slurp it. */
#define SX_MANAGED_FILE_MAX (16u << 20)

/* Removes the temporary files of sx_write_file_atomic() that a killed
 * writer left in dir (NAME.sx-tmp.PID whose PID is not running).  Returns
 * how many, 0 when dir is absent, or a negative errno. */
int sx_sweep_tmp(const char *dir);

/* Writes text to an existing file in one write(2) (for /proc files such as
 * uid_map, which take their whole content at once). */
int sx_write_string(const char *path, const char *text);

/* True when path holds exactly these bytes (read as safepath.h says). */
bool sx_file_has_content(const char *path, const void *data, size_t len);

/* Removes a tree (no symlinks followed, the top reached as safepath.h
 * says, other mounts left alone).  Missing paths are not an error. */
int sx_rm_rf(const char *path);

/* Returns the number of entries in a directory (excluding . and ..), or a
 * negative errno. */
int sx_dir_entries(const char *path);

bool sx_path_exists(const char *path);

/* Creates path with mode (exactly, whatever the umask) unless it exists, so
 * that a program that opens it next (SQLite, which gives its -wal and -shm
 * files the database's mode) keeps that mode.  Returns 0 or -errno. */
int sx_precreate_mode(const char *path, mode_t mode);
