/* uuid.h - strict UUID handling (libuuid underneath).
 *
 * Object identities and mdev names are lower-case canonical UUID strings
 * (36 characters).  carve_uuid_valid() is the gate every user-supplied UUID
 * passes before it reaches a path or a query: it accepts only
 * 8-4-4-4-12 hex digits, either case, nothing before or after.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CARVE_UUID_STRLEN 36

bool carve_uuid_valid(const char *s);

/* Write a new random UUID (lower case) into out[37]. */
void carve_uuid_generate(char out[CARVE_UUID_STRLEN + 1]);

/* Copy s into out[37] in lower case; -EINVAL if s is not a valid UUID. */
int carve_uuid_normalize(const char *s, char out[CARVE_UUID_STRLEN + 1]);

/* Deterministic UUID (v5, SHA-1) from a namespace and a name, so that the same
 * hardware object discovered twice gets the same identity. */
void carve_uuid_from_name(const char *ns_uuid, const char *name, char out[CARVE_UUID_STRLEN + 1]);
