/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bridgecert.h - the browser bridge's TLS certificate: a self-signed
 * ECDSA P-256 certificate the gateway makes for itself and keeps in a
 * directory of its own (OpenSSL 3), or an operator's pair given with
 * --cert/--key, checked before it is used.
 */
#pragma once

#include <time.h>

struct sx_bridge_cert_opts {
	/* Holds cert.pem and key.pem: the gateway user's own (0750), not
	 * writable by group or others. */
	const char *dir;
	/* Extra SAN entries from config (DNS names, IPv4 or IPv6 literals),
	 * NULL-terminated; may be NULL. */
	char *const *names;
	/* Injected clock (tests); the gateway passes time(NULL). */
	time_t now;
};

/* Lifetime of a new certificate: notBefore = now - 300 s (clock skew),
 * notAfter = notBefore + 365 days (Safari refuses more than 398). */
#define SX_BRIDGE_CERT_DAYS 365
#define SX_BRIDGE_CERT_SKEW 300
/* Renewed when fewer days than this are left. */
#define SX_BRIDGE_CERT_RENEW_DAYS 30

/* Makes sure dir/cert.pem and dir/key.pem hold a usable self-signed pair.
 * A new pair is made when either file is missing, unreadable, not a regular
 * file (a symlink is replaced, never followed) or not PEM; when the key does
 * not match the certificate; when the certificate is not yet valid at now,
 * has fewer than SX_BRIDGE_CERT_RENEW_DAYS days left (expired included) or
 * a lifetime over 398 days; or when its SAN set differs from
 * {DNS:localhost, IP:127.0.0.1} plus names (DNS names compared without
 * case, duplicates ignored).
 *
 * New pairs: ECDSA P-256 key, SAN DNS:localhost, IP:127.0.0.1 and every
 * name (an IPv4 or IPv6 literal as IP:, anything else as DNS:), subject and
 * issuer CN "sentrix bridge", basicConstraints CA:FALSE and keyUsage
 * digitalSignature (both critical), extendedKeyUsage serverAuth,
 * subjectKeyIdentifier, a random 16-byte serial (positive, 126 random
 * bits), SHA-256 signature.  Each file is written to a temporary name in dir (O_CREAT |
 * O_EXCL | O_NOFOLLOW), given its mode with fchmod() (key 0600, certificate
 * 0644, whatever the umask), fsynced and renamed into place: the key first,
 * then the certificate, then dir is fsynced.  A crash between the two
 * renames leaves a pair that does not match, which the next call replaces;
 * temporary files of a killed writer are removed (sx_sweep_tmp(), when dir
 * is an absolute path).  Nothing is chowned (the gateway's seccomp filter
 * forbids it).
 *
 * Returns 1 when it made a new pair, 0 when the existing pair was kept, or
 * a negative errno, logged: -EINVAL for a name that is neither a DNS name
 * nor an IP literal, -EPERM for a dir not owned by the caller or writable
 * by group or others, -ENOENT for a missing dir.  On success *days_left
 * (may be NULL) gets the whole days of validity left after now (364 for a
 * new pair). */
int sx_bridge_cert_ensure(const struct sx_bridge_cert_opts *o, int *days_left);

/* Checks an operator's --cert/--key pair: both readable regular files
 * (symlinks followed: /etc/letsencrypt/live/ is made of them), the first
 * certificate of cert_path and an unencrypted private key in PEM, the key
 * matching the certificate.  An expired or not yet valid certificate is
 * only warned about.  Returns 0 or a negative errno, logged with the
 * reason. */
int sx_bridge_cert_check_pair(const char *cert_path, const char *key_path);
