/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * devicekey.c - Ed25519 device identity with OpenSSL (see devicekey.h).
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/fileio.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "devicekey.h"

struct sx_device_key {
	EVP_PKEY *pkey;
	char id[65];
	char public_b64[48];
};

char *sx_base64url(const unsigned char *data, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	int len;

	if (!out)
		return NULL;
	len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = 0;
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

int sx_device_key_from_seed(const unsigned char seed[32], struct sx_device_key **ret)
{
	struct sx_device_key *k = calloc(1, sizeof(*k));
	unsigned char pub[32], digest[32];
	size_t publen = sizeof(pub);
	unsigned int dlen = 0;
	char *b64;

	if (!k)
		return -ENOMEM;
	k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (!k->pkey || EVP_PKEY_get_raw_public_key(k->pkey, pub, &publen) != 1 || publen != 32 ||
	    EVP_Digest(pub, publen, digest, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32) {
		sx_device_key_free(k);
		return log_error_errno(-EIO, "cannot derive the Ed25519 device key (OpenSSL)");
	}
	for (int i = 0; i < 32; i++)
		snprintf(k->id + 2 * i, 3, "%02x", digest[i]);
	b64 = sx_base64url(pub, publen);
	if (!b64) {
		sx_device_key_free(k);
		return -ENOMEM;
	}
	snprintf(k->public_b64, sizeof(k->public_b64), "%s", b64);
	free(b64);
	*ret = k;
	return 0;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	    : c >= 'a' && c <= 'f'  ? c - 'a' + 10
	    : c >= 'A' && c <= 'F'  ? c - 'A' + 10
				    : -1;
}

int sx_device_key_load(const char *path, struct sx_device_key **ret)
{
	_cleanup_free_ char *text = NULL;
	unsigned char seed[32];
	size_t n;
	int r;

	r = sx_read_file(path, &text, &n);
	if (r < 0)
		return log_error_errno(r, "cannot read the bridge's device key %s (setup writes it)", path);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = 0;
	if (n != 64) {
		explicit_bzero(text, n);
		return log_error_errno(-EINVAL, "%s: not 64 hex characters; run setup again to replace it",
				       path);
	}
	for (size_t i = 0; i < 32; i++) {
		int hi = unhex(text[2 * i]), lo = unhex(text[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			explicit_bzero(text, n);
			return log_error_errno(-EINVAL, "%s: not hex; run setup again to replace it", path);
		}
		seed[i] = (unsigned char)(hi << 4 | lo);
	}
	explicit_bzero(text, n);
	r = sx_device_key_from_seed(seed, ret);
	explicit_bzero(seed, sizeof(seed));
	return r;
}

void sx_device_key_free(struct sx_device_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *sx_device_key_id(const struct sx_device_key *k)
{
	return k->id;
}

const char *sx_device_key_public(const struct sx_device_key *k)
{
	return k->public_b64;
}

int sx_device_key_sign(const struct sx_device_key *k, const char *text, char **ret)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[64];
	size_t siglen = sizeof(sig);
	int ok;

	if (!md)
		return -ENOMEM;
	/* Ed25519 is one-shot: no digest of its own. */
	ok = EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)text, strlen(text)) == 1 && siglen == 64;
	EVP_MD_CTX_free(md);
	if (!ok)
		return log_error_errno(-EIO, "cannot sign with the device key (OpenSSL)");
	*ret = sx_base64url(sig, siglen);
	return *ret ? 0 : -ENOMEM;
}
