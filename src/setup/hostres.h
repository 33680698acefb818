/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * hostres.h - host-wide resources several instances share.
 *
 * Some host state is not one instance's alone: net.ipv4.ip_forward, and
 * directories such as /etc/netns that sentrix may have to create.  These are
 * reference-counted in /var/lib/sentrix/host.json: the first instance that
 * needs one records the original state, the last one to let go restores it.
 * Callers hold the global sentrix lock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Ensures a directory exists.  When sentrix creates it, instance becomes a
 * user of it; when it existed before sentrix, it is left alone for good. */
int sx_host_dir_acquire(const char *path, unsigned mode, const char *instance);
/* Drops instance's use; the last user removes the directory if empty. */
int sx_host_dir_release(const char *path, const char *instance);

/* Sets a sysctl (dotted name) for instance, recording the original value
 * when it is the first user. */
int sx_host_sysctl_acquire(const char *key, const char *value, const char *instance);
/* Drops instance's use; the last user restores the original value. */
int sx_host_sysctl_release(const char *key, const char *instance);

/* Generic form: instance becomes a user of section/key.  *first tells
 * whether it was unknown before (then original, if given, is recorded). */
int sx_host_ref_acquire(const char *section, const char *key, const char *instance, const char *original,
			bool only_if_known, bool *first);
/* Drops instance; *last tells whether it was the last user (and then
 * *original, if asked for, receives the recorded original, caller frees). */
int sx_host_ref_release(const char *section, const char *key, const char *instance, bool *last,
			char **original);

/* Reads a sysctl of the current network namespace into buf (no newline). */
int sx_sysctl_read(const char *key, char *buf, size_t len);
int sx_sysctl_write(const char *key, const char *value);
