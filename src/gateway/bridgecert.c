/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bridgecert.c - the browser bridge's self-signed certificate, made and
 * renewed by the gateway in a directory of its own, and the check of an
 * operator's pair.  See bridgecert.h for the rules.
 *
 * Everything in the directory is reached relative to one descriptor with
 * O_NOFOLLOW, and files are replaced by rename(2), which replaces a name
 * (a symlink included) without following it.  SAN entries are built as
 * GENERAL_NAMEs, never through OpenSSL's "DNS:a,IP:b" configuration
 * strings, so a configured name cannot add entries of its own.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../lib/fileio.h"
#include "../lib/log.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "bridgecert.h"

#define CERT_NAME "cert.pem"
#define KEY_NAME "key.pem"
#define CN "sentrix bridge"
#define DAY_SECS 86400
/* Safari's limit on a server certificate's lifetime. */
#define LIFETIME_MAX_DAYS 398
/* A PEM file bigger than this is not a certificate or key of ours. */
#define PEM_MAX (1u << 20)

static void x509_freep(X509 **p)
{
	X509_free(*p);
}

static void pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static void bio_freep(BIO **p)
{
	BIO_free(*p);
}

static void general_names_freep(GENERAL_NAMES **p)
{
	GENERAL_NAMES_free(*p);
}

/* OpenSSL's reason for the last failure (a string of its own tables);
 * empties its error queue. */
static const char *ssl_why(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return s ? s : "no detail from OpenSSL";
}

static void fmt_time(time_t t, char out[32])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, 32, "@%lld", (long long)t);
}

static int asn1_to_time(const ASN1_TIME *a, time_t *ret)
{
	struct tm tm;

	if (!a || ASN1_TIME_to_tm(a, &tm) != 1) {
		ERR_clear_error();
		return -EBADMSG;
	}
	*ret = timegm(&tm);
	return 0;
}

/* ---- the SAN set ------------------------------------------------------- */

/* A DNS name as RFC 1123 spells a host name, lowercased in place, with a
 * leading "*." allowed; a last label of digits only is refused (it would
 * be an IPv4 literal inet_pton() did not take, such as 127.1 or 010.0.0.1). */
static bool dns_name_valid(char *s)
{
	size_t n = strlen(s), label = 0;
	bool digits = true;

	if (n == 0 || n > 253)
		return false;
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	for (char *p = s;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.' || c == 0) {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (c == 0)
				return !digits;
			label = 0;
			digits = true;
			continue;
		}
		if (!(c < 128 && (isalnum(c) || (c == '-' && label > 0))))
			return false;
		if (!isdigit(c))
			digits = false;
		*p = (char)tolower(c);
		label++;
	}
}

/* "DNS:name" or "IP:address" (the address as inet_ntop() prints it) for a
 * configured name; NULL with *err set when it is neither. */
static char *san_entry(const char *name, int *err)
{
	_cleanup_free_ char *copy = NULL;
	unsigned char addr[16];
	char text[INET6_ADDRSTRLEN];

	*err = -ENOMEM;
	if (inet_pton(AF_INET, name, addr) == 1)
		return inet_ntop(AF_INET, addr, text, sizeof(text)) ? sx_strdupf("IP:%s", text) : NULL;
	if (inet_pton(AF_INET6, name, addr) == 1)
		return inet_ntop(AF_INET6, addr, text, sizeof(text)) ? sx_strdupf("IP:%s", text) : NULL;
	copy = strdup(name);
	if (!copy)
		return NULL;
	if (!dns_name_valid(copy)) {
		*err = -EINVAL;
		return NULL;
	}
	return sx_strdupf("DNS:%s", copy);
}

/* The SAN set a certificate must have: localhost, 127.0.0.1 and names, in
 * that order, without duplicates. */
static int expected_sans(char *const *names, char ***ret)
{
	_cleanup_(sx_strv_freep) char **v = NULL;
	int r;

	if ((r = sx_strv_push(&v, "DNS:localhost")) < 0 || (r = sx_strv_push(&v, "IP:127.0.0.1")) < 0)
		return r;
	for (size_t i = 0; names && names[i]; i++) {
		_cleanup_free_ char *e = san_entry(names[i], &r);

		if (!e)
			return r == -EINVAL
			    ? log_error_errno(r,
					      "browser bridge: '%s' is neither a DNS name nor an "
					      "IP address; fix it in the instance's config",
					      names[i])
			    : r;
		if (!sx_strv_contains(v, e) && (r = sx_strv_push(&v, e)) < 0)
			return r;
	}
	*ret = TAKE_PTR(v);
	return 0;
}

/* The certificate's SAN set in the same spelling, without duplicates; an
 * entry of another kind (email, URI, an address of odd length) is kept as
 * "other", which no expected set holds. */
static int cert_sans(X509 *x, char ***ret)
{
	_cleanup_(general_names_freep) GENERAL_NAMES *gens = NULL;
	_cleanup_(sx_strv_freep) char **v = NULL;
	int crit = 0, r;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	ERR_clear_error();
	/* crit -1: absent; NULL otherwise: repeated or undecodable. */
	if (!gens && crit != -1 && (r = sx_strv_push(&v, "other")) < 0)
		return r;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		_cleanup_free_ char *e = NULL;
		char text[INET6_ADDRSTRLEN];
		int type;
		const ASN1_STRING *s = GENERAL_NAME_get0_value(g, &type);
		const unsigned char *d = s ? ASN1_STRING_get0_data(s) : NULL;
		int n = s ? ASN1_STRING_length(s) : 0;

		if (type == GEN_DNS && d && !memchr(d, 0, (size_t)n)) {
			e = sx_strdupf("DNS:%.*s", n, (const char *)d);
			for (char *p = e ? e + 4 : NULL; p && *p; p++)
				*p = (char)tolower((unsigned char)*p);
		} else if (type == GEN_IPADD && d && (n == 4 || n == 16) &&
			   inet_ntop(n == 4 ? AF_INET : AF_INET6, d, text, sizeof(text)))
			e = sx_strdupf("IP:%s", text);
		else
			e = strdup("other");
		if (!e)
			return -ENOMEM;
		if (!sx_strv_contains(v, e) && (r = sx_strv_push(&v, e)) < 0)
			return r;
	}
	if (!v && (r = sx_strv_push(&v, "none")) < 0)
		return r;
	*ret = TAKE_PTR(v);
	return 0;
}

static bool same_set(char *const *a, char *const *b)
{
	if (sx_strv_length(a) != sx_strv_length(b))
		return false;
	for (size_t i = 0; a && a[i]; i++)
		if (!sx_strv_contains(b, a[i]))
			return false;
	return true;
}

/* ---- reading PEM files ------------------------------------------------- */

/* Reads name relative to dfd (a path when dfd is AT_FDCWD): a regular file
 * of at most PEM_MAX bytes, a symlink only when follow.  O_NONBLOCK: a FIFO
 * in its place must not hang the gateway.  On failure why gets a phrase. */
static int read_pem(int dfd, const char *name, bool follow, char **ret, size_t *ret_len, char *why, size_t wn)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int r;

	fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno ?: -EIO;
		snprintf(why, wn, "%s", r == -ELOOP ? "a symbolic link, not a file" : strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode))
		return snprintf(why, wn, "not a regular file"), -EINVAL;
	if ((size_t)st.st_size > PEM_MAX)
		return snprintf(why, wn, "%lld bytes, too big for a PEM file", (long long)st.st_size), -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return snprintf(why, wn, "out of memory"), -ENOMEM;
	/* Up to one byte past the size seen: a file growing meanwhile is
	 * caught rather than cut. */
	while ((n = read(fd, buf + len, (size_t)st.st_size + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			len += (size_t)n;
		if (n < 0 || len > (size_t)st.st_size) {
			r = n < 0 ? (-errno ?: -EIO) : -EBUSY;
			OPENSSL_cleanse(buf, len);
			snprintf(why, wn, "%s", r == -EBUSY ? "it changed while being read" : strerror(-r));
			return r;
		}
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* The first certificate in a PEM file. */
static int load_cert(int dfd, const char *name, bool follow, X509 **ret, char *why, size_t wn)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_(bio_freep) BIO *bio = NULL;
	size_t len = 0;
	int r;

	r = read_pem(dfd, name, follow, &buf, &len, why, wn);
	if (r < 0)
		return r;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return snprintf(why, wn, "out of memory"), -ENOMEM;
	*ret = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!*ret)
		return snprintf(why, wn, "no PEM certificate in it (OpenSSL: %s)", ssl_why()), -EBADMSG;
	return 0;
}

/* Refuses to ask for a passphrase: OpenSSL's default callback would
 * prompt on the gateway's terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	return -1;
}

/* The first private key in a PEM file, unencrypted.  The file's bytes are
 * erased from memory once parsed. */
static int load_key(int dfd, const char *name, bool follow, EVP_PKEY **ret, char *why, size_t wn)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_(bio_freep) BIO *bio = NULL;
	bool encrypted;
	size_t len = 0;
	int r;

	r = read_pem(dfd, name, follow, &buf, &len, why, wn);
	if (r < 0)
		return r;
	encrypted = strstr(buf, "ENCRYPTED") != NULL;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio)
		*ret = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	OPENSSL_cleanse(buf, len);
	if (!bio)
		return snprintf(why, wn, "out of memory"), -ENOMEM;
	if (*ret)
		return 0;
	if (encrypted) {
		ERR_clear_error();
		snprintf(why, wn,
			 "encrypted with a passphrase, which the gateway cannot give: store it "
			 "unencrypted, readable by the gateway's user only");
		return -EINVAL;
	}
	return snprintf(why, wn, "no PEM private key in it (OpenSSL: %s)", ssl_why()), -EBADMSG;
}

/* ---- the existing pair ------------------------------------------------- */

/* 1 when the pair in dfd is usable at now for sans (*not_after set), 0
 * when it must be replaced (why says why), or a negative errno. */
static int check_existing(int dfd, char *const *sans, time_t now, time_t *not_after, char *why, size_t wn)
{
	_cleanup_(x509_freep) X509 *x = NULL;
	_cleanup_(pkey_freep) EVP_PKEY *key = NULL;
	_cleanup_(sx_strv_freep) char **have = NULL;
	_cleanup_free_ char *have_s = NULL, *want_s = NULL;
	char detail[256], when[32];
	time_t nb, na;
	int r;

	r = load_cert(dfd, CERT_NAME, false, &x, detail, sizeof(detail));
	if (r == -ENOENT)
		return snprintf(why, wn, "there was none"), 0;
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return snprintf(why, wn, CERT_NAME ": %s", detail), 0;
	r = load_key(dfd, KEY_NAME, false, &key, detail, sizeof(detail));
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return snprintf(why, wn, KEY_NAME ": %s", detail), 0;
	if (X509_check_private_key(x, key) != 1) {
		ERR_clear_error();
		return snprintf(why, wn, KEY_NAME " does not match " CERT_NAME), 0;
	}
	if (asn1_to_time(X509_get0_notBefore(x), &nb) < 0 || asn1_to_time(X509_get0_notAfter(x), &na) < 0)
		return snprintf(why, wn, CERT_NAME ": unreadable validity dates"), 0;
	if (nb > now) {
		fmt_time(nb, when);
		return snprintf(why, wn, "the old one is not valid before %s (was the clock set back?)",
				when),
		       0;
	}
	if (na <= now) {
		fmt_time(na, when);
		return snprintf(why, wn, "the old one expired on %s", when), 0;
	}
	if (na - now < (time_t)SX_BRIDGE_CERT_RENEW_DAYS * DAY_SECS) {
		fmt_time(na, when);
		return snprintf(why, wn, "the old one expires on %s, in less than %d days", when,
				SX_BRIDGE_CERT_RENEW_DAYS),
		       0;
	}
	if (na - nb > (time_t)LIFETIME_MAX_DAYS * DAY_SECS)
		return snprintf(why, wn, "the old one is valid for more than %d days, which Safari refuses",
				LIFETIME_MAX_DAYS),
		       0;
	if ((r = cert_sans(x, &have)) < 0)
		return r;
	if (!same_set(have, sans)) {
		have_s = sx_strv_join(have, ", ");
		want_s = sx_strv_join(sans, ", ");
		if (!have_s || !want_s)
			return -ENOMEM;
		return snprintf(why, wn, "the old one names %s, the configuration %s", have_s, want_s), 0;
	}
	*not_after = na;
	return 1;
}

/* ---- a new pair -------------------------------------------------------- */

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok = ext && X509_add_ext(x, ext, -1);

	X509_EXTENSION_free(ext);
	return ok ? 0 : -EIO;
}

static int add_sans(X509 *x, char *const *sans)
{
	_cleanup_(general_names_freep) GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();

	if (!gens)
		return -ENOMEM;
	for (size_t i = 0; sans[i]; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		bool ip = strncmp(sans[i], "IP:", 3) == 0;
		const char *v = sans[i] + (ip ? 3 : 4);
		ASN1_STRING *s = ip ? a2i_IPADDRESS(v) : ASN1_IA5STRING_new();

		if (!g || !s || (!ip && !ASN1_STRING_set(s, v, -1))) {
			GENERAL_NAME_free(g);
			ASN1_STRING_free(s);
			return -ENOMEM;
		}
		GENERAL_NAME_set0_value(g, ip ? GEN_IPADD : GEN_DNS, s);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			return -ENOMEM;
		}
	}
	return X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -EIO;
}

/* 16 random bytes, the top bit clear (positive) and the next set (always
 * 16 bytes long in DER, never zero). */
static int set_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	return ok ? 0 : -EIO;
}

static int make_pair(char *const *sans, time_t now, EVP_PKEY **ret_key, X509 **ret_cert)
{
	_cleanup_(pkey_freep) EVP_PKEY *key = NULL;
	_cleanup_(x509_freep) X509 *x = NULL;
	time_t nb = now - SX_BRIDGE_CERT_SKEW;
	X509V3_CTX ctx;
	X509_NAME *name;

	key = EVP_EC_gen("P-256");
	if (!key)
		return log_error_errno(-EIO, "browser bridge: cannot generate an ECDSA P-256 key: %s",
				       ssl_why());
	x = X509_new();
	if (!x)
		return -ENOMEM;
	name = X509_get_subject_name(x);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) < 0 ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), nb) ||
	    !ASN1_TIME_adj(X509_getm_notAfter(x), nb, SX_BRIDGE_CERT_DAYS, 0) ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)CN, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1 ||
	    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 || add_sans(x, sans) < 0 ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		return log_error_errno(-EIO, "browser bridge: cannot make a certificate: %s", ssl_why());
	*ret_key = TAKE_PTR(key);
	*ret_cert = TAKE_PTR(x);
	return 0;
}

/* Writes data to name in dfd: a temporary name made with O_EXCL and
 * O_NOFOLLOW, fchmod() (the gateway's umask is 077), fsync, rename. */
static int write_atomic(int dfd, const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *tmp = sx_strdupf("%s" SX_TMP_INFIX "%d", name, (int)getpid());
	_cleanup_close_ int fd = -EBADF;
	int r = 0;

	if (!tmp)
		return -ENOMEM;
	/* A leftover of a killed run with our pid: unlinkat() removes the
	 * name, a symlink included, without following it. */
	(void)unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_error_errno(-errno, "browser bridge: cannot create %s/%s", dir, tmp);
	r = sx_write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dfd, tmp, 0);
		return log_error_errno(r, "browser bridge: cannot write %s/%s", dir, name);
	}
	return 0;
}

static int write_pair(int dfd, const char *dir, EVP_PKEY *key, X509 *x)
{
	/* secmem: the key's PEM is erased when the BIO is freed. */
	_cleanup_(bio_freep) BIO *kb = BIO_new(BIO_s_secmem());
	_cleanup_(bio_freep) BIO *cb = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int r;

	if (!kb || !cb)
		return -ENOMEM;
	if (PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(cb, x) != 1)
		return log_error_errno(-EIO, "browser bridge: cannot encode the new pair: %s", ssl_why());
	/* The key first: a crash between the two renames leaves a key that
	 * does not match the old certificate, and the next start replaces
	 * both. */
	n = BIO_get_mem_data(kb, &data);
	if ((r = write_atomic(dfd, dir, KEY_NAME, data, (size_t)n, 0600)) < 0)
		return r;
	n = BIO_get_mem_data(cb, &data);
	if ((r = write_atomic(dfd, dir, CERT_NAME, data, (size_t)n, 0644)) < 0)
		return r;
	if (fsync(dfd) < 0)
		return log_error_errno(-errno, "browser bridge: cannot sync %s", dir);
	return 0;
}

/* The directory must be the caller's and writable by nobody else: another
 * writer could swap the files between our checks and the TLS server's
 * reads. */
static int check_dir(int dfd, const char *dir)
{
	struct stat st;

	if (fstat(dfd, &st) < 0)
		return log_error_errno(-errno, "browser bridge: cannot stat %s", dir);
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return log_error_errno(
		    -EPERM,
		    "browser bridge: refusing %s for the certificate: it must belong to uid %u "
		    "and be writable by it only (it belongs to uid %u, mode %04o)",
		    dir, (unsigned)geteuid(), (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return 0;
}

int sx_bridge_cert_ensure(const struct sx_bridge_cert_opts *o, int *days_left)
{
	_cleanup_(sx_strv_freep) char **sans = NULL;
	_cleanup_(pkey_freep) EVP_PKEY *key = NULL;
	_cleanup_(x509_freep) X509 *x = NULL;
	_cleanup_close_ int dfd = -EBADF;
	char why[1024], until[32];
	time_t not_after = 0;
	int r;

	if (!o || !o->dir)
		return -EINVAL;
	if ((r = expected_sans(o->names, &sans)) < 0)
		return r;
	dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return log_error_errno(-errno, "browser bridge: cannot open the certificate directory %s",
				       o->dir);
	if ((r = check_dir(dfd, o->dir)) < 0)
		return r;
	/* A writer killed between create and rename left NAME.sx-tmp.PID,
	 * perhaps a copy of a key. */
	if (o->dir[0] == '/')
		(void)sx_sweep_tmp(o->dir);
	r = check_existing(dfd, sans, o->now, &not_after, why, sizeof(why));
	if (r < 0)
		return log_error_errno(r, "browser bridge: cannot check the certificate in %s", o->dir);
	if (r == 0) {
		if ((r = make_pair(sans, o->now, &key, &x)) < 0 || (r = write_pair(dfd, o->dir, key, x)) < 0)
			return r;
		if ((r = asn1_to_time(X509_get0_notAfter(x), &not_after)) < 0)
			return log_error_errno(r,
					       "browser bridge: cannot read back the new certificate's date");
		fmt_time(not_after, until);
		log_info("browser bridge: new self-signed certificate in %s (%s), valid until %s; a browser "
			 "that trusted the previous one must be told to trust this one",
			 o->dir, why, until);
	}
	if (days_left)
		*days_left = (int)((not_after - o->now) / DAY_SECS);
	return !key ? 0 : 1;
}

int sx_bridge_cert_check_pair(const char *cert_path, const char *key_path)
{
	_cleanup_(x509_freep) X509 *x = NULL;
	_cleanup_(pkey_freep) EVP_PKEY *key = NULL;
	char why[512], when[32];
	time_t nb, na, now = time(NULL);
	int r;

	if (!cert_path || !key_path)
		return -EINVAL;
	r = load_cert(AT_FDCWD, cert_path, true, &x, why, sizeof(why));
	if (r < 0)
		return log_error("browser bridge: cannot use the certificate %s: %s", cert_path, why), r;
	r = load_key(AT_FDCWD, key_path, true, &key, why, sizeof(why));
	if (r < 0)
		return log_error("browser bridge: cannot use the key %s: %s", key_path, why), r;
	if (X509_check_private_key(x, key) != 1) {
		ERR_clear_error();
		return log_error("browser bridge: the key %s does not belong to the certificate %s (give the "
				 "key the certificate was issued for)",
				 key_path, cert_path),
		       -EINVAL;
	}
	if (asn1_to_time(X509_get0_notBefore(x), &nb) == 0 && nb > now) {
		fmt_time(nb, when);
		log_warn("browser bridge: the certificate %s is not valid before %s; browsers refuse it "
			 "until then",
			 cert_path, when);
	}
	if (asn1_to_time(X509_get0_notAfter(x), &na) == 0 && na <= now) {
		fmt_time(na, when);
		log_warn("browser bridge: the certificate %s expired on %s; browsers refuse it", cert_path,
			 when);
	}
	return 0;
}
