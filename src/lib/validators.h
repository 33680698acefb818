/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * validators.h - checks a patrol rule applies to the value its pattern
 * found (docs/patrol.md, "Validators"): checksums (Luhn, IBAN mod-97, the
 * national identity numbers), Shannon entropy, JWT structure and the
 * placeholder test.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum sx_validator {
	SX_VALIDATOR_NONE,
	SX_VALIDATOR_LUHN,
	SX_VALIDATOR_IBAN,
	SX_VALIDATOR_ENTROPY,
	SX_VALIDATOR_US_SSN,
	SX_VALIDATOR_UK_NINO,
	SX_VALIDATOR_ES_DNI,
	SX_VALIDATOR_NL_BSN,
	SX_VALIDATOR_JWT,
	SX_VALIDATOR_NOT_PLACEHOLDER,
	_SX_VALIDATOR_MAX,
};

/* Name as in the packs ("luhn", "us-ssn"...) -> value; -EINVAL for unknown. */
int sx_validator_from_name(const char *name, enum sx_validator *ret);
/* The packs' name of v ("none" for SX_VALIDATOR_NONE); NULL when out of range. */
const char *sx_validator_name(enum sx_validator v);
/* True when value s[0..len) passes v; min_entropy is used by ENTROPY only.
 * SX_VALIDATOR_NONE passes everything. */
bool sx_validate(enum sx_validator v, const char *s, size_t len, double min_entropy);

/* Shannon entropy of the bytes s[0..len), in bits per byte (0 for len 0). */
double sx_shannon_entropy(const char *s, size_t len);
/* True when s[0..len) looks like a stand-in rather than a real value:
 * YOUR_API_KEY, sk-xxxxxxxx, <token>, ${VAR}, aaaaaa, "example"... */
bool sx_is_placeholder(const char *s, size_t len);

/* The single checks, for the unit tests and the corpus tools. */
bool sx_luhn_valid(const char *s, size_t len);
bool sx_iban_valid(const char *s, size_t len);
bool sx_us_ssn_valid(const char *s, size_t len);
bool sx_uk_nino_valid(const char *s, size_t len);
bool sx_es_dni_valid(const char *s, size_t len);
bool sx_nl_bsn_valid(const char *s, size_t len);
bool sx_jwt_valid(const char *s, size_t len);
