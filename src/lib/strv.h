/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * strv.h - NULL-terminated string vectors.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

size_t sx_strv_length(char *const *v);
void sx_strv_free(char **v);
static inline void sx_strv_freep(char ***v)
{
	sx_strv_free(*v);
}
int sx_strv_push(char ***v, const char *s); /* copies s */
bool sx_strv_contains(char *const *v, const char *s);
/* Splits on commas, dropping empty items. */
char **sx_strv_split_commas(const char *s);
char *sx_strv_join(char *const *v, const char *sep);
/* A copy of v (NULL: an empty list); NULL when out of memory. */
char **sx_strv_copy(char *const *v);
