/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bridge.h - the provisioner's part of the browser bridge: the device key
 * the sidecar pairs with the OpenClaw gateway, the sidecar's bridge
 * directory, and removing the pairing at --disable.
 */
#pragma once

#include <stdio.h>
#include <sys/types.h>

#include "../lib/config.h"
#include "actions.h"

/* device.key: 64 lower-case hex digits (the 32-byte Ed25519 seed) and a
 * newline. */
#define SX_DEVICE_KEY_SIZE 65

/* Looks at the device key without following a symlink: 0 when it is a
 * regular file of uid, mode 0600, holding a valid key (*seed, optional,
 * receives its 32 bytes); -ENOENT when absent; -EEXIST with *why (static)
 * when something else than a regular file is there (a symlink: never
 * followed); -EINVAL with *why when it is a file but not a valid key;
 * another negative errno when it cannot be read. */
int sx_device_key_check(const char *path, uid_t uid, unsigned char seed[32], const char **why);

/* The journalled step: the device key (created unless present and valid:
 * a re-run keeps it, since OpenClaw's pairing depends on it; an invalid
 * one is replaced, with a warning) and the bridge directory (0750, owner
 * uid:gid, under the shared SX_BRIDGE_DIRS).  --disable removes both. */
int sx_act_bridge(struct sx_ctx *x, uid_t uid, gid_t gid);

/* The OpenClaw device id of a seed: hex SHA-256 of the raw Ed25519 public
 * key (libcrypto, opened on first use).  0 or a negative errno (logged). */
int sx_device_id(const unsigned char seed[32], char id[65]);

/* --disable, before the journal walk: when the bridge was paired (its
 * device token is in bridge_dir) and the instance's OpenClaw gateway
 * answers on 127.0.0.1 in the netns, runs `openclaw devices remove` as the
 * sandbox user through the confinement launcher (60 s at most).  Never
 * fails: what it cannot do is a warning (the pairing is unusable without
 * the key, which the walk removes). */
void sx_bridge_unpair(const struct sx_config *c, FILE *out);
