/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-bridgecert.c - the browser bridge's certificate
 * (src/gateway/bridgecert.c): what a new pair holds, when a pair is kept
 * and when it is replaced, symlinks in the directory, and the check of an
 * operator's pair.  Certificates are read back with OpenSSL itself.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gateway/bridgecert.h"
#include "lib/fileio.h"

#define DAY 86400
/* 2027-01-15, a fixed clock for every test. */
#define T0 ((time_t)1800000000)

/* A fresh 0750 directory under tmpdir; the caller frees its path. */
static char *new_dir(const char *name)
{
	char *d = tmp_path("%s", name);

	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chmod(d, 0750), 0);
	return d;
}

static char *in(const char *dir, const char *name)
{
	char *p = sx_strdupf("%s/%s", dir, name);

	assert_non_null(p);
	return p;
}

static int ensure(const char *dir, char *const *names, time_t now, int *days)
{
	struct sx_bridge_cert_opts o = {.dir = dir, .names = names, .now = now};
	return sx_bridge_cert_ensure(&o, days);
}

static X509 *read_cert(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	EVP_PKEY *k;

	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	assert_non_null(k);
	return k;
}

static time_t asn1_time(const ASN1_TIME *a)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(a, &tm), 1);
	return timegm(&tm);
}

static time_t not_after(const char *dir)
{
	_cleanup_free_ char *p = in(dir, "cert.pem");
	X509 *x = read_cert(p);
	time_t t = asn1_time(X509_get0_notAfter(x));

	X509_free(x);
	return t;
}

static char *contents(const char *dir, const char *name)
{
	_cleanup_free_ char *p = in(dir, name);
	char *buf = NULL;
	size_t n;

	assert_int_equal(sx_read_file(p, &buf, &n), 0);
	return buf;
}

static mode_t mode_of(const char *dir, const char *name)
{
	_cleanup_free_ char *p = in(dir, name);
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	return st.st_mode & 07777;
}

/* The certificate's SAN entries, each exactly once, are want's. */
static void assert_sans(X509 *x, const char *const *want, size_t nwant)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool seen[16] = {false};

	assert_non_null(gens);
	assert_true(nwant <= ELEMENTSOF(seen));
	assert_int_equal(sk_GENERAL_NAME_num(gens), (int)nwant);
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		int type;
		const ASN1_STRING *s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i), &type);
		int n = ASN1_STRING_length(s);
		char text[300] = "";
		size_t j;

		if (type == GEN_DNS)
			snprintf(text, sizeof(text), "DNS:%.*s", n, (const char *)ASN1_STRING_get0_data(s));
		else if (type == GEN_IPADD) {
			char a[INET6_ADDRSTRLEN];
			assert_non_null(
			    inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), a, sizeof(a)));
			snprintf(text, sizeof(text), "IP:%s", a);
		}
		for (j = 0; j < nwant && !streq(want[j], text); j++)
			;
		if (j == nwant || seen[j]) {
			GENERAL_NAMES_free(gens);
			fail_msg("unexpected or repeated SAN entry %s", text);
		}
		seen[j] = true;
	}
	GENERAL_NAMES_free(gens);
}

static void test_new_pair(void **state)
{
	_cleanup_free_ char *d = new_dir("new"), *cp = in(d, "cert.pem"), *kp = in(d, "key.pem");
	char *names[] = {"bridge.example", "192.168.1.5", "::1", NULL};
	const char *want[] = {"DNS:localhost", "IP:127.0.0.1", "DNS:bridge.example", "IP:192.168.1.5",
			      "IP:::1"};
	char cn[64];
	int days = -1, crit;
	X509 *x;
	EVP_PKEY *k, *pub;
	time_t nb, na;
	const ASN1_INTEGER *serial;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;

	assert_int_equal(ensure(d, names, T0, &days), 1);
	assert_int_equal(days, 364);
	/* umask 077, as in the gateway's unit. */
	assert_int_equal(mode_of(d, "key.pem"), 0600);
	assert_int_equal(mode_of(d, "cert.pem"), 0644);
	assert_int_equal(sx_dir_entries(d), 2); /* no temporary file left */

	x = read_cert(cp);
	k = read_key(kp);
	assert_sans(x, want, ELEMENTSOF(want));
	nb = asn1_time(X509_get0_notBefore(x));
	na = asn1_time(X509_get0_notAfter(x));
	assert_int_equal(nb, T0 - 300);
	assert_true(na - nb >= 364 * DAY && na - nb <= 398 * DAY);
	assert_int_equal(na - nb, 365 * DAY);

	/* ECDSA P-256, the key of this certificate, which it signed. */
	pub = X509_get0_pubkey(x);
	assert_true(EVP_PKEY_is_a(k, "EC"));
	assert_true(EVP_PKEY_get_group_name(k, cn, sizeof(cn), NULL));
	assert_string_equal(cn, "prime256v1");
	assert_int_equal(X509_check_private_key(x, k), 1);
	assert_int_equal(X509_verify(x, pub), 1);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);

	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)),
			 14);
	assert_string_equal(cn, "sentrix bridge");
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

	/* A leaf for TLS servers: not a CA, digitalSignature, serverAuth. */
	assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(crit, 1);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_non_null(ku);
	ASN1_BIT_STRING_free(ku);
	assert_int_equal(crit, 1);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	assert_non_null(X509_get0_subject_key_id(x));

	/* 16 random bytes, positive. */
	serial = X509_get0_serialNumber(x);
	assert_int_equal(ASN1_STRING_length(serial), 16);
	assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER);

	X509_free(x);
	EVP_PKEY_free(k);
}

static void test_serials_differ(void **state)
{
	_cleanup_free_ char *a = new_dir("serial-a"), *b = new_dir("serial-b");
	_cleanup_free_ char *ca = NULL, *cb = NULL;
	X509 *xa, *xb;

	assert_int_equal(ensure(a, NULL, T0, NULL), 1);
	assert_int_equal(ensure(b, NULL, T0, NULL), 1);
	ca = in(a, "cert.pem");
	cb = in(b, "cert.pem");
	xa = read_cert(ca);
	xb = read_cert(cb);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(xa), X509_get0_serialNumber(xb)), 0);
	X509_free(xa);
	X509_free(xb);
}

static void test_kept_byte_identical(void **state)
{
	_cleanup_free_ char *d = new_dir("keep");
	_cleanup_free_ char *c1 = NULL, *k1 = NULL, *c2 = NULL, *k2 = NULL, *c3 = NULL, *k3 = NULL;
	char *names[] = {"bridge.example", NULL};
	int days = -1;

	assert_int_equal(ensure(d, names, T0, NULL), 1);
	c1 = contents(d, "cert.pem");
	k1 = contents(d, "key.pem");
	assert_int_equal(ensure(d, names, T0, &days), 0);
	assert_int_equal(days, 364);
	c2 = contents(d, "cert.pem");
	k2 = contents(d, "key.pem");
	assert_string_equal(c1, c2);
	assert_string_equal(k1, k2);
	/* Later, still well inside the validity. */
	assert_int_equal(ensure(d, names, T0 + 100 * DAY, &days), 0);
	assert_int_equal(days, 264);
	c3 = contents(d, "cert.pem");
	k3 = contents(d, "key.pem");
	assert_string_equal(c1, c3);
	assert_string_equal(k1, k3);
}

static void test_renewal_window(void **state)
{
	_cleanup_free_ char *d = new_dir("renew");
	time_t na;
	int days = -1;

	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	na = not_after(d);
	assert_int_equal(ensure(d, NULL, na - 31 * DAY, &days), 0);
	assert_int_equal(days, 31);
	assert_int_equal(not_after(d), na);
	assert_int_equal(ensure(d, NULL, na - 29 * DAY, &days), 1);
	assert_int_equal(days, 364);
	assert_int_equal(not_after(d), na - 29 * DAY - 300 + 365 * DAY);

	/* Expired. */
	na = not_after(d);
	assert_int_equal(ensure(d, NULL, na + 1, NULL), 1);
	assert_true(not_after(d) > na);

	/* Not yet valid: the clock went back by more than the 300 s margin. */
	na = not_after(d);
	assert_int_equal(ensure(d, NULL, na - 365 * DAY - 3600, &days), 1);
	assert_int_equal(days, 364);
	/* Within the margin it is kept. */
	assert_int_equal(ensure(d, NULL, not_after(d) - 365 * DAY + 60, &days), 0);
}

static void test_names(void **state)
{
	_cleanup_free_ char *d = new_dir("names"), *cp = in(d, "cert.pem");
	_cleanup_free_ char *c1 = NULL, *c2 = NULL;
	char *one[] = {"a.example", NULL};
	char *two[] = {"a.example", "10.0.0.7", NULL};
	char *same_two[] = {"10.0.0.7", "A.Example", "localhost", "127.0.0.1", "a.example", NULL};
	char *wild[] = {"*.lan", "host-1", NULL};
	const char *want_wild[] = {"DNS:localhost", "IP:127.0.0.1", "DNS:*.lan", "DNS:host-1"};
	const char *bad[] = {"",	   "bad name",	 "a,IP:1.2.3.4", "1.2.3", "010.0.0.1", "-a.example",
			     "a-.example", "a..example", "a.example.",	 "*",	  "é.example", "a_b.example",
			     NULL};
	X509 *x;

	assert_int_equal(ensure(d, one, T0, NULL), 1);
	assert_int_equal(ensure(d, one, T0, NULL), 0);
	assert_int_equal(ensure(d, two, T0, NULL), 1);
	c1 = contents(d, "cert.pem");
	/* Order, case and the default entries repeated change nothing. */
	assert_int_equal(ensure(d, same_two, T0, NULL), 0);
	c2 = contents(d, "cert.pem");
	assert_string_equal(c1, c2);
	/* Back to the defaults only. */
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	assert_int_equal(ensure(d, (char *[]){NULL}, T0, NULL), 0);
	assert_int_equal(ensure(d, wild, T0, NULL), 1);
	x = read_cert(cp);
	assert_sans(x, want_wild, ELEMENTSOF(want_wild));
	X509_free(x);

	/* Refused, and the pair in place is left alone. */
	for (size_t i = 0; bad[i]; i++) {
		_cleanup_free_ char *before = contents(d, "cert.pem"), *after = NULL;
		char *v[] = {"ok.example", (char *)bad[i], NULL};

		if (ensure(d, v, T0, NULL) != -EINVAL)
			fail_msg("'%s' was not refused", bad[i]);
		after = contents(d, "cert.pem");
		assert_string_equal(before, after);
	}
}

static void test_damaged_files(void **state)
{
	_cleanup_free_ char *d = new_dir("damaged"), *other = new_dir("damaged-other");
	_cleanup_free_ char *cp = in(d, "cert.pem"), *kp = in(d, "key.pem");
	_cleanup_free_ char *c = NULL, *half = NULL, *k_other = NULL;
	X509 *x;
	EVP_PKEY *k;

	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	assert_int_equal(ensure(other, NULL, T0, NULL), 1);

	write_text(cp, "not a certificate\n");
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	c = contents(d, "cert.pem");
	half = strndup(c, strlen(c) / 2);
	assert_non_null(half);
	write_text(cp, half);
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);

	/* A key of another pair. */
	k_other = contents(other, "key.pem");
	write_text(kp, k_other);
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	x = read_cert(cp);
	k = read_key(kp);
	assert_int_equal(X509_check_private_key(x, k), 1);
	X509_free(x);
	EVP_PKEY_free(k);

	/* Empty, missing, unreadable, a FIFO (which must not block). */
	write_text(kp, "");
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	assert_int_equal(unlink(kp), 0);
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	assert_int_equal(unlink(cp), 0);
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	if (geteuid() != 0) { /* root reads a 0000 file all the same */
		assert_int_equal(chmod(cp, 0), 0);
		assert_int_equal(ensure(d, NULL, T0, NULL), 1);
		assert_int_equal(mode_of(d, "cert.pem"), 0644);
	}
	assert_int_equal(unlink(kp), 0);
	assert_int_equal(mkfifo(kp, 0600), 0);
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	assert_int_equal(mode_of(d, "key.pem"), 0600);
	assert_int_equal(ensure(d, NULL, T0, NULL), 0);
}

static void test_symlinks_not_followed(void **state)
{
	_cleanup_free_ char *d = new_dir("links"), *victim = tmp_path("victim"), *absent = tmp_path("absent");
	_cleanup_free_ char *kp = in(d, "key.pem"), *cp = in(d, "cert.pem"), *v = NULL;
	_cleanup_free_ char *tmp = sx_strdupf("%s/key.pem.sx-tmp.%d", d, (int)getpid());
	struct stat st;

	write_text(victim, "precious\n");

	/* Planted before the first run: a dangling link to a file the key
	 * would create, and a link at the temporary name. */
	assert_int_equal(symlink(absent, kp), 0);
	assert_non_null(tmp);
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	assert_int_equal(lstat(absent, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mode_of(d, "key.pem"), 0600);
	assert_int_equal(lstat(tmp, &st), -1);

	/* A link replacing a good key, then the certificate. */
	assert_int_equal(unlink(kp), 0);
	assert_int_equal(symlink(victim, kp), 0);
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	assert_int_equal(mode_of(d, "key.pem"), 0600);
	assert_int_equal(unlink(cp), 0);
	assert_int_equal(symlink(victim, cp), 0);
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	assert_int_equal(mode_of(d, "cert.pem"), 0644);

	/* Even a link to a good pair elsewhere is replaced, not read. */
	{
		_cleanup_free_ char *e = new_dir("links-elsewhere"), *ek = in(e, "key.pem");
		assert_int_equal(ensure(e, NULL, T0, NULL), 1);
		assert_int_equal(unlink(kp), 0);
		assert_int_equal(symlink(ek, kp), 0);
		assert_int_equal(ensure(d, NULL, T0, NULL), 1);
		assert_int_equal(mode_of(d, "key.pem"), 0600);
	}

	v = contents(tmpdir, "victim");
	assert_string_equal(v, "precious\n");
	assert_int_equal(lstat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_directory_refused(void **state)
{
	_cleanup_free_ char *d = new_dir("open"), *missing = tmp_path("missing");

	assert_int_equal(chmod(d, 0777), 0);
	assert_int_equal(ensure(d, NULL, T0, NULL), -EPERM);
	assert_int_equal(sx_dir_entries(d), 0);
	assert_int_equal(chmod(d, 0770), 0);
	assert_int_equal(ensure(d, NULL, T0, NULL), -EPERM);
	assert_int_equal(chmod(d, 0700), 0);
	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	assert_int_equal(ensure(missing, NULL, T0, NULL), -ENOENT);
}

static void test_leftover_swept(void **state)
{
	_cleanup_free_ char *d = new_dir("sweep"), *left = NULL;

	assert_int_equal(ensure(d, NULL, T0, NULL), 1);
	/* Beyond any pid_max: a writer that is gone. */
	left = in(d, "key.pem.sx-tmp.4194305");
	write_text(left, "half a key");
	assert_int_equal(ensure(d, NULL, T0, NULL), 0);
	assert_false(sx_path_exists(left));
	assert_int_equal(sx_dir_entries(d), 2);
}

static void test_check_pair(void **state)
{
	_cleanup_free_ char *d = new_dir("pair"), *o = new_dir("pair-other");
	_cleanup_free_ char *cp = in(d, "cert.pem"), *kp = in(d, "key.pem"), *ok = in(o, "key.pem");
	_cleanup_free_ char *link = tmp_path("pair-link.pem"), *junk = tmp_path("pair-junk.pem");
	_cleanup_free_ char *enc = tmp_path("pair-enc.pem"), *none = tmp_path("pair-none.pem");
	_cleanup_free_ char *chain = tmp_path("pair-chain.pem"), *c = NULL, *k = NULL, *both = NULL;
	EVP_PKEY *key;
	FILE *f;

	/* The real clock: check_pair() warns about a pair not valid now. */
	assert_int_equal(ensure(d, NULL, time(NULL), NULL), 1);
	assert_int_equal(ensure(o, NULL, time(NULL), NULL), 1);

	assert_int_equal(sx_bridge_cert_check_pair(cp, kp), 0);
	/* An operator's paths may be links (/etc/letsencrypt/live/). */
	assert_int_equal(symlink(cp, link), 0);
	assert_int_equal(sx_bridge_cert_check_pair(link, kp), 0);
	/* The key and the certificate in one file, either order. */
	c = contents(d, "cert.pem");
	k = contents(d, "key.pem");
	both = sx_strdupf("%s%s", k, c);
	assert_non_null(both);
	write_text(chain, both);
	assert_int_equal(sx_bridge_cert_check_pair(chain, chain), 0);

	assert_int_equal(sx_bridge_cert_check_pair(cp, ok), -EINVAL);
	assert_int_equal(sx_bridge_cert_check_pair(none, kp), -ENOENT);
	assert_int_equal(sx_bridge_cert_check_pair(cp, none), -ENOENT);
	write_text(junk, "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n");
	assert_int_equal(sx_bridge_cert_check_pair(junk, kp), -EBADMSG);
	assert_int_equal(sx_bridge_cert_check_pair(cp, junk), -EBADMSG);
	assert_int_equal(sx_bridge_cert_check_pair(kp, kp), -EBADMSG); /* a key is not a certificate */
	assert_int_equal(sx_bridge_cert_check_pair(cp, d), -EINVAL); /* a directory */

	/* An encrypted key is refused without asking for a passphrase. */
	key = read_key(kp);
	f = fopen(enc, "we");
	assert_non_null(f);
	assert_int_equal(PEM_write_PKCS8PrivateKey(f, key, EVP_aes_256_cbc(), NULL, 0, NULL, "secret"), 1);
	assert_int_equal(fclose(f), 0);
	EVP_PKEY_free(key);
	assert_int_equal(sx_bridge_cert_check_pair(cp, enc), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_pair),
	    cmocka_unit_test(test_serials_differ),
	    cmocka_unit_test(test_kept_byte_identical),
	    cmocka_unit_test(test_renewal_window),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_damaged_files),
	    cmocka_unit_test(test_symlinks_not_followed),
	    cmocka_unit_test(test_directory_refused),
	    cmocka_unit_test(test_leftover_swept),
	    cmocka_unit_test(test_check_pair),
	};

	/* The gateway's unit sets UMask=0077. */
	umask(077);
	return cmocka_run_group_tests_name("bridgecert", tests, tu_group_setup, tu_group_teardown);
}
