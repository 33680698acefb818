/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * netns.h - named network namespaces, compatible with `ip netns`.
 */
#pragma once

#include <stdbool.h>

/* Creates a new network namespace and bind-mounts it at path (under
 * /run/netns, made a shared mount point as iproute2 does so the name is
 * visible from every mount namespace).  -EEXIST when already mounted. */
int sx_netns_create(const char *path);

/* Unmounts and unlinks path.  Missing is not an error.  The kernel frees the
 * namespace (and the veth end inside it) once nothing else holds it. */
int sx_netns_remove(const char *path);

/* True when path is a mounted network namespace. */
bool sx_netns_mounted(const char *path);

/* Opens the namespace at path; returns an O_CLOEXEC fd or -errno. */
int sx_netns_open(const char *path);

/* True when the calling process is in the namespace fd names already
 * (sentrix-sandbox@.service joins it with NetworkNamespacePath=, and its
 * RestrictNamespaces= then need not allow setns into a network one). */
bool sx_netns_current(int fd);

/* Switches the calling thread into the namespace fd; *saved receives an fd
 * for the current one, for sx_netns_leave().  Netlink and nftables sockets
 * opened in between belong to the target namespace. */
int sx_netns_enter(int fd, int *saved);
int sx_netns_leave(int *saved);
