/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-validators.c - the checks patrol rules run on the values they find
 * (src/lib/validators.c): Luhn, IBAN, the national identity numbers, JWT
 * structure, entropy and placeholders, each with valid and look-alike
 * invalid values.
 */
#include "testutil.h"

#include "lib/validators.h"

/* True when a and b differ by less than 1e-9 (no libm needed). */
static bool fabs_diff(double a, double b)
{
	return a - b < 1e-9 && b - a < 1e-9;
}

/* Runs validator v on every string of a NULL-terminated list and fails with
 * the string when the result is not expect. */
static void check_all(enum sx_validator v, const char *const *list, bool expect, double min_entropy)
{
	for (size_t i = 0; list[i]; i++)
		if (sx_validate(v, list[i], strlen(list[i]), min_entropy) != expect)
			fail_msg("%s(\"%s\") is not %s", sx_validator_name(v), list[i],
				 expect ? "valid" : "invalid");
}

static void test_names(void **state)
{
	static const char *const names[] = {"none",    "luhn",	 "iban",   "entropy", "us-ssn",
					    "uk-nino", "es-dni", "nl-bsn", "jwt",     "not-placeholder"};
	enum sx_validator v;

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		assert_int_equal(sx_validator_from_name(names[i], &v), 0);
		assert_int_equal(v, (enum sx_validator)i);
		assert_string_equal(sx_validator_name(v), names[i]);
	}
	assert_int_equal(sx_validator_from_name("LUHN", &v), -EINVAL);
	assert_int_equal(sx_validator_from_name("", &v), -EINVAL);
	assert_int_equal(sx_validator_from_name(NULL, &v), -EINVAL);
	assert_null(sx_validator_name(_SX_VALIDATOR_MAX));
	assert_true(sx_validate(SX_VALIDATOR_NONE, "anything", 8, 0));
}

static void test_luhn(void **state)
{
	static const char *const ok[] = {
	    "4111 1111 1111 1111",
	    "4111-1111-1111-1111",
	    "5555555555554444",
	    "378282246310005",
	    "3782 822463 10005",
	    "6011111111111117",
	    "3530111333300000",
	    "30569309025904",
	    "4222222222222",
	    "2223003122003222",
	    NULL,
	};
	static const char *const bad[] = {
	    "4111 1111 1111 1112",
	    "5555555555554445",
	    "4444444444444444",
	    "0000000000000000",
	    "411111111111",
	    "41111111111111111111",
	    "4111x1111x1111x1111",
	    "4111.1111.1111.1111",
	    "",
	    NULL,
	};

	check_all(SX_VALIDATOR_LUHN, ok, true, 0);
	check_all(SX_VALIDATOR_LUHN, bad, false, 0);
}

static void test_iban(void **state)
{
	static const char *const ok[] = {
	    "GB82 WEST 1234 5698 7654 32",
	    "GB82WEST12345698765432",
	    "DE89 3704 0044 0532 0130 00",
	    "DE89370400440532013000",
	    "FR14 2004 1010 0505 0001 3M02 606",
	    "NL91ABNA0417164300",
	    "BE68539007547034",
	    "NO9386011117947",
	    "CH9300762011623852957",
	    "ES9121000418450200051332",
	    "gb82 west 1234 5698 7654 32",
	    NULL,
	};
	static const char *const bad[] = {
	    "GB82 WEST 1234 5698 7654 33", /* checksum */
	    "DE89370400440532013001", /* checksum */
	    "GB82WEST1234569876543", /* too short for GB */
	    "DE8937040044053201300000", /* too long for DE */
	    "XX82WEST12345698765432", /* no such country */
	    "GBAAWEST12345698765432", /* check digits not digits */
	    "GB82 WEST 1234 5698 7654 3!", /* character */
	    "",
	    NULL,
	};

	check_all(SX_VALIDATOR_IBAN, ok, true, 0);
	check_all(SX_VALIDATOR_IBAN, bad, false, 0);
}

static void test_us_ssn(void **state)
{
	static const char *const ok[] = {"536-22-8745", "536228745",   "536 22 8745",
					 "001-01-0001", "899-99-9999", NULL};
	static const char *const bad[] = {
	    "000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "536-00-8745",
	    "536-22-0000", "536-22-874",  "5362287450",	 "536/22/8745", NULL,
	};

	check_all(SX_VALIDATOR_US_SSN, ok, true, 0);
	check_all(SX_VALIDATOR_US_SSN, bad, false, 0);
}

static void test_uk_nino(void **state)
{
	static const char *const ok[] = {"AB123456C", "AB 12 34 56 C", "JG103759A",
					 "ZY999999D", "ab123456c",     NULL};
	static const char *const bad[] = {
	    "QQ123456C", /* Q never used */
	    "DA123456A", /* D never first */
	    "AO123456A", /* O never second */
	    "GB123456A", "BG123456A",  "NK123456A", "TN123456A", "ZZ123456A", /* unallocated */
	    "AB123456E", /* suffix */
	    "AB12345C",	 "AB1234567C", "A1123456C", NULL,
	};

	check_all(SX_VALIDATOR_UK_NINO, ok, true, 0);
	check_all(SX_VALIDATOR_UK_NINO, bad, false, 0);
}

static void test_es_dni(void **state)
{
	static const char *const ok[] = {"12345678Z", "12345678-Z", "00000000T", "X1234567L",
					 "Y1234567X", "Z1234567R",  NULL};
	static const char *const bad[] = {"12345678A", "X1234567A", "1234567Z", "123456789Z",
					  "W1234567L", "12345678",  NULL};

	check_all(SX_VALIDATOR_ES_DNI, ok, true, 0);
	check_all(SX_VALIDATOR_ES_DNI, bad, false, 0);
}

static void test_nl_bsn(void **state)
{
	/* 10015838 is 010015838 with the leading zero dropped */
	static const char *const ok[] = {"111222333", "123456782", "1234.56.782", "10015838", NULL};
	static const char *const bad[] = {"111222334",	"123456789", "000000000",
					  "1234567890", "12345678x", NULL};

	check_all(SX_VALIDATOR_NL_BSN, ok, true, 0);
	check_all(SX_VALIDATOR_NL_BSN, bad, false, 0);
}

static void test_jwt(void **state)
{
	static const char *const ok[] = {
	    /* jwt.io's example */
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5M"
	    "DIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
	    /* {"alg":"none"}.{"a":1}. (unsigned) */
	    "eyJhbGciOiJub25lIn0.eyJhIjoxfQ.",
	    NULL,
	};
	static const char *const bad[] = {
	    /* {"typ":"JWT"}: no alg */
	    "eyJ0eXAiOiJKV1QifQ.eyJhIjoxfQ.c2ln",
	    /* payload "not-json" */
	    "eyJhbGciOiJub25lIn0.bm90LWpzb24.c2ln",
	    /* payload [1] is not an object */
	    "eyJhbGciOiJub25lIn0.WzFd.c2ln",
	    /* two parts, four parts */
	    "eyJhbGciOiJub25lIn0.eyJhIjoxfQ",
	    "eyJhbGciOiJub25lIn0.eyJhIjoxfQ.c2ln.c2ln",
	    /* characters outside base64url */
	    "eyJhbGciOiJub25lIn0.eyJhIjoxfQ.c2l*",
	    "eyJhbGciOiJub25lIn0!.eyJhIjoxfQ.c2ln",
	    ".eyJhIjoxfQ.c2ln",
	    "",
	    NULL,
	};

	check_all(SX_VALIDATOR_JWT, ok, true, 0);
	check_all(SX_VALIDATOR_JWT, bad, false, 0);
}

static void test_entropy(void **state)
{
	static const char *const ok[] = {
	    "HgxzNNAL5wIScGebcy8F5n3+YNBDRzrZSgqbjG3u",
	    "ghp_dfQ1y3GQsMpSscDlkrCaqx9vJupc94tnwlav",
	    "Xk9#mQ2$vL7pR4wZ",
	    NULL,
	};
	static const char *const bad[] = {
	    "ee737443e210471948d33296c87009e8a7f770d9", /* git commit */
	    "123e4567-e89b-12d3-a456-426614174000", /* UUID */
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", /* sha256 */
	    "aaaaaaaaaaaaaaaaaaaaaaaa",
	    "YOUR_API_KEY",
	    "sk-xxxxxxxxxxxxxxxxxxxxxxxx",
	    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", /* AWS's documentation key */
	    NULL,
	};

	check_all(SX_VALIDATOR_ENTROPY, ok, true, 4.0);
	check_all(SX_VALIDATOR_ENTROPY, bad, false, 4.3);

	assert_true(sx_shannon_entropy("", 0) == 0);
	assert_true(sx_shannon_entropy("aaaa", 4) == 0);
	assert_true(fabs_diff(sx_shannon_entropy("ab", 2), 1.0));
	assert_true(fabs_diff(sx_shannon_entropy("abcd", 4), 2.0));
	assert_true(fabs_diff(sx_shannon_entropy("0123456789abcdef", 16), 4.0));
	assert_true(fabs_diff(sx_shannon_entropy("aab", 3), 0.9182958340544896));
	/* every byte value once: 8 bits */
	{
		char all[256];
		for (int i = 0; i < 256; i++)
			all[i] = (char)i;
		assert_true(fabs_diff(sx_shannon_entropy(all, 256), 8.0));
	}
	/* hex is at most 4 bits, so a threshold above 4 keeps git hashes out */
	assert_true(sx_shannon_entropy("ee737443e210471948d33296c87009e8a7f770d9", 40) <= 4.0);
}

static void test_placeholder(void **state)
{
	static const char *const yes[] = {
	    "YOUR_API_KEY",
	    "your-token",
	    "YourApiKey",
	    "sk-xxxxxxxxxxxxxxxxxxxxxxxx",
	    "<your-token>",
	    "<token>",
	    "${OPENAI_API_KEY}",
	    "{{ secrets.TOKEN }}",
	    "$(pass show x)",
	    "OPENAI_API_KEY",
	    "aaaaaaaa",
	    "********",
	    "example-key-123",
	    "dummy_secret",
	    "changeme",
	    "CHANGEME",
	    "password",
	    "guest",
	    "abc0000000000def",
	    "my_api_key_here",
	    "%s",
	    "",
	    "insert-token-here",
	    "REDACTED",
	    NULL,
	};
	static const char *const no[] = {
	    "HgxzNNAL5wIScGebcy8F5n3+YNBDRzrZSgqbjG3u",
	    "Zq8Lw2Vx9Kp4",
	    "ghp_dfQ1y3GQsMpSscDlkrCaqx9vJupc94tnwlav",
	    "AKIAQFOEQH5AV2RICPHK",
	    "p7Gk2Qz9Wx4V",
	    "jane.doe@acme-corp.io",
	    NULL,
	};

	for (size_t i = 0; yes[i]; i++)
		if (!sx_is_placeholder(yes[i], strlen(yes[i])))
			fail_msg("\"%s\" is not seen as a placeholder", yes[i]);
	for (size_t i = 0; no[i]; i++)
		if (sx_is_placeholder(no[i], strlen(no[i])))
			fail_msg("\"%s\" is seen as a placeholder", no[i]);
	check_all(SX_VALIDATOR_NOT_PLACEHOLDER, no, true, 0);
	check_all(SX_VALIDATOR_NOT_PLACEHOLDER, yes, false, 0);
}

/* The value is s[0..len), not up to a NUL: a match inside a longer text. */
static void test_length_bounded(void **state)
{
	const char *text = "card 4111111111111111 and more digits 12345";

	assert_true(sx_validate(SX_VALIDATOR_LUHN, text + 5, 16, 0));
	assert_false(sx_validate(SX_VALIDATOR_LUHN, text + 5, 15, 0));
	assert_true(sx_validate(SX_VALIDATOR_IBAN, "xxGB82WEST12345698765432yy" + 2, 22, 0));
	assert_true(sx_validate(SX_VALIDATOR_US_SSN, "ssn 536-22-8745!" + 4, 11, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),	   cmocka_unit_test(test_luhn),
	    cmocka_unit_test(test_iban),	   cmocka_unit_test(test_us_ssn),
	    cmocka_unit_test(test_uk_nino),	   cmocka_unit_test(test_es_dni),
	    cmocka_unit_test(test_nl_bsn),	   cmocka_unit_test(test_jwt),
	    cmocka_unit_test(test_entropy),	   cmocka_unit_test(test_placeholder),
	    cmocka_unit_test(test_length_bounded),
	};

	return cmocka_run_group_tests_name("validators", tests, NULL, NULL);
}
