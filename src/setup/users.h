/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * users.h - local accounts in /etc/passwd, /etc/group, /etc/shadow and
 * /etc/gshadow.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct sx_user {
	uid_t uid;
	gid_t gid;
	char home[256];
	char shell[128];
};

/* Looks a user up in the local files.  -ENOENT when absent. */
int sx_user_lookup(const char *name, struct sx_user *ret);

/* Creates a user and its primary group of the same name.  A system account
 * takes the highest free id below 1000 and cannot log in; a regular one the
 * lowest free id from 1000. */
int sx_user_create(const char *name, bool system, const char *home, const char *shell, const char *gecos,
		   struct sx_user *ret);

/* The user's groups from /etc/group (primary gid first), read directly:
 * getgrouplist() would go through NSS and load libnss_systemd and all of
 * libsystemd into a launcher that starts on every sandboxed command. */
int sx_user_groups(const char *name, gid_t gid, gid_t *groups, size_t max, size_t *n);

/* Removes the user and its primary group; missing is not an error. */
int sx_user_delete(const char *name);
