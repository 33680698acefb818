/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * seccomp.h - the sandbox's system call filter (libseccomp).
 */
#pragma once

#include "../lib/policy.h"

/* Builds the filter for a policy: its deny list answered with EPERM, plus
 * the rules every profile shares (namespace flags on clone/unshare, clone3
 * answered ENOSYS, socket families other than unix/inet/inet6).  Native and
 * compat architectures.  An unknown syscall name is an error naming it.
 * Returns 0 and an opaque filter, or a negative errno (logged). */
int sx_seccomp_build(const struct sx_policy *p, void **ret);

#include <linux/filter.h>

/* Compiles a filter to raw BPF once, before fork (prog->filter: caller
 * frees). */
int sx_seccomp_compile(void *filter, struct sock_fprog *prog);

/* Loads compiled BPF into the calling thread (after PR_SET_NO_NEW_PRIVS). */
int sx_seccomp_load(const struct sock_fprog *prog);
void sx_seccomp_free(void *filter);
