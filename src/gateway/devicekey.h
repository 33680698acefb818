/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * devicekey.h - the bridge's operator device identity towards OpenClaw's
 * gateway: an Ed25519 key whose 32-byte seed setup writes (hex) to
 * /etc/sentrix/NAME/device.key.  OpenClaw names a device by the hex
 * SHA-256 of its raw public key and checks a signature over the connect
 * parameters and the challenge nonce (docs/openclaw-gateway-protocol.md §2).
 */
#pragma once

#include <stddef.h>

struct sx_device_key;

/* Reads the hex seed file.  Returns 0 or a negative errno (logged). */
int sx_device_key_load(const char *path, struct sx_device_key **ret);
/* From a raw 32-byte seed (tests). */
int sx_device_key_from_seed(const unsigned char seed[32], struct sx_device_key **ret);
void sx_device_key_free(struct sx_device_key *k);

/* 64 lowercase hex characters. */
const char *sx_device_key_id(const struct sx_device_key *k);
/* The raw public key, base64url without padding (43 characters). */
const char *sx_device_key_public(const struct sx_device_key *k);

/* Signs text; *ret gets the 64-byte signature in base64url without
 * padding (caller frees).  Returns 0 or a negative errno. */
int sx_device_key_sign(const struct sx_device_key *k, const char *text, char **ret);

/* base64url without padding of n bytes (caller frees), or NULL. */
char *sx_base64url(const unsigned char *data, size_t n);
