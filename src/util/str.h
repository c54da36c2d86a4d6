/* str.h - small string helpers: strict number parsing, trimming, identifiers.
 *
 * Parsers return 0 or -EINVAL/-ERANGE and never accept trailing garbage,
 * signs on unsigned values, or empty input.  carve_ident_valid() is the gate
 * for vendor type identifiers ("nvidia-46", "i915-GVTg_V5_4", "1155") before
 * they are used as a path component.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int carve_parse_u64(const char *s, uint64_t *out);           /* decimal */
int carve_parse_u32(const char *s, uint32_t *out);           /* decimal */
int carve_parse_i32(const char *s, int32_t *out);            /* decimal, may be negative */
int carve_parse_hex_u32(const char *s, uint32_t *out);       /* "0x10de" or "10de" */
int carve_parse_bool(const char *s, bool *out);              /* true/false/yes/no/1/0/on/off */
int carve_parse_resolution(const char *s, uint32_t *x, uint32_t *y); /* "5120x2880" */

/* Strip leading and trailing white space in place; returns s. */
char *carve_strstrip(char *s);

/* [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, not "." or "..". */
bool carve_ident_valid(const char *s);

/* Copy src into dst[size], always terminated; returns -ENAMETOOLONG if cut. */
int carve_strlcpy(char *dst, const char *src, size_t size);

bool carve_streq_ci(const char *a, const char *b);
bool carve_startswith(const char *s, const char *prefix);

/* printf into a newly allocated string; NULL on allocation failure. */
char *carve_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable list of owned strings. */
struct carve_strv {
	char **v;
	size_t n, cap;
};
int carve_strv_push(struct carve_strv *sv, const char *s);
int carve_strv_push_take(struct carve_strv *sv, char *s);
bool carve_strv_contains(const struct carve_strv *sv, const char *s);
void carve_strv_sort(struct carve_strv *sv);
void carve_strv_clear(struct carve_strv *sv);
