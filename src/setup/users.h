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

/* Removes the user and its primary group; missing is not an error. */
int sx_user_delete(const char *name);
