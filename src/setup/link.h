/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * link.h - veth pairs, addresses, routes and link state over rtnetlink
 * (libnl-route-3).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct nl_sock;

/* Opens a route socket inside the namespace netns_fd (-1: the current one). */
int sx_nl_open(int netns_fd, struct nl_sock **ret);
void sx_nl_close(struct nl_sock *sk);

/* Creates a veth pair: host_name here, peer_name inside netns_fd. */
int sx_veth_create(struct nl_sock *sk, const char *host_name, const char *peer_name, int netns_fd);

/* Deletes a link by name; missing is not an error. */
int sx_link_delete(struct nl_sock *sk, const char *name);

/* Returns the ifindex (> 0), 0 when absent, or a negative errno. */
int sx_link_index(struct nl_sock *sk, const char *name);
/* True when the link exists and is administratively up. */
bool sx_link_is_up(struct nl_sock *sk, const char *name);
int sx_link_set_up(struct nl_sock *sk, const char *name);

/* Adds addr/prefix to a link; an identical address already there is fine. */
int sx_addr_add(struct nl_sock *sk, const char *ifname, uint32_t addr, unsigned prefix);
bool sx_addr_present(struct nl_sock *sk, const char *ifname, uint32_t addr, unsigned prefix);
/* Lists every IPv4 address in the namespace into a malloc'd array. */
int sx_addr_list_all(struct nl_sock *sk, uint32_t **ret, size_t *n);

/* Default route via gw on ifname (main table). */
int sx_route_add_default(struct nl_sock *sk, const char *ifname, uint32_t gw);
bool sx_route_default_present(struct nl_sock *sk, const char *ifname, uint32_t gw);

/* Waits until a link named name is gone (the kernel reaps a veth whose
 * namespace was removed in the background), at most timeout_ms. */
int sx_link_wait_gone(const char *name, int timeout_ms);
