/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * validators.c - the checks a patrol rule runs on the value its pattern
 * found, so that a pattern can stay loose and cheap for Vectorscan while the
 * flag stays precise: a 16-digit number is a card number only when its Luhn
 * digit is right, a 40-character string is a secret only when it is random
 * enough and not "YOUR_API_KEY".  The semantics are docs/patrol.md's.
 *
 * Every function is pure: it reads s[0..len) (not NUL-terminated) and
 * returns a bool.  Only the JWT check allocates (the decoded header and
 * payload, for cJSON).  The entropy is computed without libm (which not
 * every program linking src/lib links): log2 by halving and the atanh
 * series, far more precise than a threshold needs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "util.h"
#include "validators.h"

static const char *const validator_names[_SX_VALIDATOR_MAX] = {
    [SX_VALIDATOR_NONE] = "none",     [SX_VALIDATOR_LUHN] = "luhn",
    [SX_VALIDATOR_IBAN] = "iban",     [SX_VALIDATOR_ENTROPY] = "entropy",
    [SX_VALIDATOR_US_SSN] = "us-ssn", [SX_VALIDATOR_UK_NINO] = "uk-nino",
    [SX_VALIDATOR_ES_DNI] = "es-dni", [SX_VALIDATOR_NL_BSN] = "nl-bsn",
    [SX_VALIDATOR_JWT] = "jwt",	      [SX_VALIDATOR_NOT_PLACEHOLDER] = "not-placeholder",
};

int sx_validator_from_name(const char *name, enum sx_validator *ret)
{
	for (size_t i = 0; name && i < ELEMENTSOF(validator_names); i++)
		if (streq(validator_names[i], name)) {
			*ret = (enum sx_validator)i;
			return 0;
		}
	return -EINVAL;
}

const char *sx_validator_name(enum sx_validator v)
{
	if ((unsigned)v >= ELEMENTSOF(validator_names))
		return NULL;
	return validator_names[v];
}

/* Copies the digits of s[0..len) into out (at most max), skipping the
 * separators in seps; returns the count, or -1 on any other character or
 * more than max digits. */
static int digits_only(const char *s, size_t len, const char *seps, char *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (n == max)
				return -1;
			out[n++] = s[i];
		} else if (!s[i] || !strchr(seps, s[i]))
			return -1;
	}
	return (int)n;
}

/* True when the n bytes at d are all the same. */
static bool all_same(const char *d, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (d[i] != d[0])
			return false;
	return true;
}

bool sx_luhn_valid(const char *s, size_t len)
{
	char d[19];
	int n = digits_only(s, len, " -", d, sizeof(d));
	unsigned sum = 0;

	if (n < 13 || all_same(d, (size_t)n))
		return false;
	for (int i = n - 1, k = 0; i >= 0; i--, k++) {
		unsigned v = (unsigned)(d[i] - '0');
		if (k % 2) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

/* The SWIFT IBAN registry: country code and IBAN length. */
static const struct {
	char cc[3];
	unsigned char len;
} iban_lengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HN", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
    {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20},
    {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
    {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
    {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25},
    {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
    {"YE", 30},
};

/* The registry's IBAN length for country cc, 0 when it has none. */
static unsigned iban_length(const char *cc)
{
	for (size_t i = 0; i < ELEMENTSOF(iban_lengths); i++)
		if (iban_lengths[i].cc[0] == cc[0] && iban_lengths[i].cc[1] == cc[1])
			return iban_lengths[i].len;
	return 0;
}

bool sx_iban_valid(const char *s, size_t len)
{
	char b[34];
	size_t n = 0;
	unsigned rem = 0;

	/* Spaces (the print form) and dashes are not part of it; case is not
	 * significant. */
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == ' ' || c == '-')
			continue;
		if (!isalnum((unsigned char)c) || n == sizeof(b))
			return false;
		b[n++] = (char)toupper((unsigned char)c);
	}
	if (n < 15 || !isupper((unsigned char)b[0]) || !isupper((unsigned char)b[1]) ||
	    !isdigit((unsigned char)b[2]) || !isdigit((unsigned char)b[3]) || iban_length(b) != n)
		return false;
	/* The first four characters move to the end; letters count as 10-35;
	 * the remainder is taken as we go, one or two digits at a time. */
	for (size_t k = 0; k < n; k++) {
		char c = b[(k + 4) % n];
		if (isdigit((unsigned char)c))
			rem = (rem * 10 + (unsigned)(c - '0')) % 97;
		else
			rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
	}
	return rem == 1;
}

bool sx_us_ssn_valid(const char *s, size_t len)
{
	char d[9];
	int area, group, serial;

	if (digits_only(s, len, " -", d, sizeof(d)) != 9)
		return false;
	area = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
	group = (d[3] - '0') * 10 + (d[4] - '0');
	serial = (d[5] - '0') * 1000 + (d[6] - '0') * 100 + (d[7] - '0') * 10 + (d[8] - '0');
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

/* s without its spaces and dashes, upper-cased, into b (cap bytes, not
 * NUL-terminated); the length, or SIZE_MAX when it does not fit. */
static size_t compact_upper(const char *s, size_t len, char *b, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '-')
			continue;
		if (n == cap)
			return SIZE_MAX;
		b[n++] = (char)toupper((unsigned char)s[i]);
	}
	return n;
}

bool sx_uk_nino_valid(const char *s, size_t len)
{
	static const char *const unallocated[] = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"};
	char b[9];
	size_t n = 0;

	if ((n = compact_upper(s, len, b, sizeof(b))) == SIZE_MAX)
		return false;
	if (n != 9 || !isupper((unsigned char)b[0]) || !isupper((unsigned char)b[1]) || b[8] < 'A' ||
	    b[8] > 'D')
		return false;
	for (size_t i = 2; i < 8; i++)
		if (!isdigit((unsigned char)b[i]))
			return false;
	/* D, F, I, Q, U and V are never used; O not as the second letter. */
	if (strchr("DFIQUV", b[0]) || strchr("DFIQUVO", b[1]))
		return false;
	for (size_t i = 0; i < ELEMENTSOF(unallocated); i++)
		if (b[0] == unallocated[i][0] && b[1] == unallocated[i][1])
			return false;
	return true;
}

bool sx_es_dni_valid(const char *s, size_t len)
{
	static const char letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";
	char b[10];
	size_t n = 0;
	unsigned long num = 0;

	if ((n = compact_upper(s, len, b, sizeof(b))) == SIZE_MAX)
		return false;
	/* DNI: 8 digits and the letter; NIE: X, Y or Z (0, 1, 2), 7 digits
	 * and the letter. */
	if (n != 9 || !isupper((unsigned char)b[8]))
		return false;
	if (b[0] == 'X' || b[0] == 'Y' || b[0] == 'Z')
		num = (unsigned long)(b[0] - 'X');
	else if (isdigit((unsigned char)b[0]))
		num = (unsigned long)(b[0] - '0');
	else
		return false;
	for (size_t i = 1; i < 8; i++) {
		if (!isdigit((unsigned char)b[i]))
			return false;
		num = num * 10 + (unsigned long)(b[i] - '0');
	}
	return letters[num % 23] == b[8];
}

bool sx_nl_bsn_valid(const char *s, size_t len)
{
	char d[9];
	int n = digits_only(s, len, " .-", d, sizeof(d));
	long sum = 0;

	/* An 8-digit BSN is the 9-digit one with its leading zero dropped. */
	if (n == 8) {
		memmove(d + 1, d, 8);
		d[0] = '0';
	} else if (n != 9)
		return false;
	if (all_same(d, 9))
		return false;
	for (int i = 0; i < 8; i++)
		sum += (9 - i) * (d[i] - '0');
	sum -= d[8] - '0';
	return sum % 11 == 0;
}

/* Decodes one base64url part (no padding, or the '=' padding of the
 * standard alphabet) into a fresh NUL-terminated buffer; NULL when the part
 * is empty, malformed or memory is short.  *ret_len is the decoded size. */
static char *b64url_decode(const char *s, size_t len, size_t *ret_len)
{
	char *out;
	size_t n = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len == 0 || len % 4 == 1)
		return NULL;
	out = malloc(len * 3 / 4 + 2);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned v;

		if (c >= 'A' && c <= 'Z')
			v = (unsigned)(c - 'A');
		else if (c >= 'a' && c <= 'z')
			v = (unsigned)(c - 'a' + 26);
		else if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0' + 52);
		else if (c == '-' || c == '+')
			v = 62;
		else if (c == '_' || c == '/')
			v = 63;
		else {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	*ret_len = n;
	return out;
}

/* The decoded part s[0..len) as a JSON object; NULL when it is not one. */
static cJSON *jwt_part(const char *s, size_t len)
{
	_cleanup_free_ char *dec = NULL;
	size_t n = 0;
	cJSON *j;

	dec = b64url_decode(s, len, &n);
	if (!dec)
		return NULL;
	j = cJSON_ParseWithLength(dec, n);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

bool sx_jwt_valid(const char *s, size_t len)
{
	const char *d1, *d2;
	cJSON *header, *payload;
	bool ok;

	d1 = memchr(s, '.', len);
	if (!d1)
		return false;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s));
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - s)))
		return false;
	/* The signature may be empty (alg "none") but must be base64url. */
	for (const char *p = d2 + 1; p < s + len; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '=')
			return false;
	header = jwt_part(s, (size_t)(d1 - s));
	if (!header)
		return false;
	payload = jwt_part(d1 + 1, (size_t)(d2 - d1 - 1));
	ok = payload && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(header, "alg"));
	cJSON_Delete(payload);
	cJSON_Delete(header);
	return ok;
}

/* log2(x) for x >= 1 without libm: halve to [1, 2), then
 * ln(m) = 2 atanh((m-1)/(m+1)), whose series converges fast for z <= 1/3. */
static double log2_ge1(double x)
{
	double e = 0, z, z2, term, sum = 0;

	while (x >= 2) {
		x /= 2;
		e += 1;
	}
	z = (x - 1) / (x + 1);
	z2 = z * z;
	term = z;
	for (int k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= z2;
	}
	return e + 2 * sum / 0.69314718055994530942;
}

double sx_shannon_entropy(const char *s, size_t len)
{
	size_t count[256] = {0};
	double h = 0;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		count[(unsigned char)s[i]]++;
	/* H = log2(n) - (1/n) sum c log2(c) */
	for (size_t i = 0; i < 256; i++)
		if (count[i])
			h += (double)count[i] * log2_ge1((double)count[i]);
	h = log2_ge1((double)len) - h / (double)len;
	return h < 0 ? 0 : h;
}

/* True when the lower-cased s[0..len) contains needle. */
static bool contains_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++) {
		size_t k = 0;
		while (k < n && tolower((unsigned char)s[i + k]) == needle[k])
			k++;
		if (k == n)
			return true;
	}
	return false;
}

/* True when s[0..len) is, ignoring case, exactly w. */
static bool equals_ci(const char *s, size_t len, const char *w)
{
	return strlen(w) == len && strncasecmp(s, w, len) == 0;
}

bool sx_is_placeholder(const char *s, size_t len)
{
	/* Words that make a value a stand-in wherever they are in it. */
	static const char *const parts[] = {
	    "example",	 "dummy",    "changeme", "change_me", "change-me", "placeholder", "redacted",
	    "your_",	 "your-",    "<your",	 "insert_",   "insert-",   "replace_me",  "replace-me",
	    "replaceme", "xxxx",     "****",	 "....",      "sample",	   "fake",	  "notreal",
	    "not_real",	 "not-real", "_here",	 "-here",     "todo",
	};
	/* Values that are stand-ins when they are the whole value. */
	static const char *const words[] = {
	    "password", "passwd",    "pass",	 "pwd",	       "secret",    "token",
	    "apikey",	"api_key",   "api-key",	 "key",	       "test",	    "testing",
	    "admin",	"root",	     "user",	 "username",   "null",	    "none",
	    "nil",	"undefined", "foo",	 "bar",	       "foobar",    "string",
	    "value",	"changeit",  "mysecret", "mypassword", "secret123", "password123",
	    "guest",	"postgres",  "mysql",	 "mongo",      "redis",	    "rabbitmq",
	};
	bool upper_ident = true, underscore = false;
	size_t letters = 0;

	if (len == 0 || all_same(s, len))
		return true;
	/* A run of eight of one character (0000000000, ********) */
	for (size_t i = 0, run = 1; i + 1 < len; i++) {
		run = s[i + 1] == s[i] ? run + 1 : 1;
		if (run >= 8)
			return true;
	}
	if (len >= 4 && strncasecmp(s, "your", 4) == 0)
		return true;
	for (size_t i = 0; i < ELEMENTSOF(parts); i++)
		if (contains_ci(s, len, parts[i]))
			return true;
	for (size_t i = 0; i < ELEMENTSOF(words); i++)
		if (equals_ci(s, len, words[i]))
			return true;
	/* Templates: <...>, ${...}, {{...}}, $(...), %s. */
	if ((memchr(s, '<', len) && memchr(s, '>', len)) || contains_ci(s, len, "${") ||
	    contains_ci(s, len, "{{") || contains_ci(s, len, "$(") || contains_ci(s, len, "%s"))
		return true;
	/* An environment variable's name (OPENAI_API_KEY) rather than its value. */
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '_')
			underscore = true;
		else if (isupper((unsigned char)s[i]))
			letters++;
		else if (!isdigit((unsigned char)s[i]))
			upper_ident = false;
	}
	return upper_ident && underscore && letters >= 2;
}

bool sx_validate(enum sx_validator v, const char *s, size_t len, double min_entropy)
{
	switch (v) {
	case SX_VALIDATOR_NONE: return true;
	case SX_VALIDATOR_LUHN: return sx_luhn_valid(s, len);
	case SX_VALIDATOR_IBAN: return sx_iban_valid(s, len);
	case SX_VALIDATOR_ENTROPY:
		return sx_shannon_entropy(s, len) >= min_entropy && !sx_is_placeholder(s, len);
	case SX_VALIDATOR_US_SSN: return sx_us_ssn_valid(s, len);
	case SX_VALIDATOR_UK_NINO: return sx_uk_nino_valid(s, len);
	case SX_VALIDATOR_ES_DNI: return sx_es_dni_valid(s, len);
	case SX_VALIDATOR_NL_BSN: return sx_nl_bsn_valid(s, len);
	case SX_VALIDATOR_JWT: return sx_jwt_valid(s, len);
	case SX_VALIDATOR_NOT_PLACEHOLDER: return !sx_is_placeholder(s, len);
	default: return false;
	}
}
