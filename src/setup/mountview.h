/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mountview.h - the filesystem the sandboxed command sees.
 */
#pragma once

#include "../lib/config.h"
#include "../lib/policy.h"

/* Who the view is for. */
struct sx_view {
	const char *home;
	/* An ephemeral job: the home is a fresh size-limited tmpfs owned by
	 * uid/gid, /home is always covered, and passwd/group (text) replace
	 * /etc/passwd and /etc/group so the transient uid has a name. */
	bool transient;
	uid_t uid;
	gid_t gid;
	unsigned long home_size_mb;
	const char *passwd, *group;
	/* An ephemeral job's working directory on the host, shown writable
	 * through a copy-on-write overlay whose changes live in the job's
	 * home tmpfs (the host's files never change); files of ws_uid/ws_gid
	 * appear as the job's own (an idmapped lower layer).  NULL: none. */
	const char *workspace;
	uid_t ws_uid;
	gid_t ws_gid;
};

/* Checks, before anything changes, that every non-optional path the policy
 * hides or makes writable exists.  Logs and returns -ENOENT otherwise. */
int sx_mountview_check(const struct sx_config *c, const struct sx_policy *p, const char *home,
		       bool transient);

/* Builds the view in the calling process's (new, private) mount namespace,
 * which must also be in the new PID namespace (for /proc):
 * the whole tree read-only and nosuid; home (and the policy's other
 * writable paths) writable; private /tmp and /dev/shm; a fresh /proc; a
 * minimal /dev; /etc/resolv.conf from /etc/netns/NAME/resolv.conf; the
 * policy's hidden paths empty and unreadable. */
int sx_mountview_build(const struct sx_config *c, const struct sx_policy *p, const struct sx_view *v);
