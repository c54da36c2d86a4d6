/* auth.h - bearer tokens with XAPI-style roles (RBAC).
 *
 * Roles are the op table's: read-only < vm-operator < pool-admin; a caller
 * may run a verb when its role is at least the verb's `role`.
 *
 * Tokens are "carve-" followed by 64 hex digits (32 random bytes from
 * getrandom).  Only SHA-256(token) is stored, one line per token in the token
 * file (mode 0600):
 *     <sha256-hex> <role> <created, RFC 3339 UTC> [label]
 * Blank lines and lines starting with '#' are ignored; a malformed line (or
 * one longer than 512 bytes, or holding a NUL) makes the whole file invalid
 * (-EINVAL naming the line) rather than silently dropping a token.  A missing file is an empty set.  Because the tokens are
 * long random strings, a plain hash is enough: there is nothing to brute-force.
 *
 * struct carve_tokens is an immutable snapshot (any thread may read it).
 * struct carve_auth wraps a token file for the daemon: carve_auth_check()
 * re-reads the file when its inode, size or mtime changed, so tokens created
 * by `carve --local token-create` are honoured without a restart; it is safe
 * to call from any thread.  Errors: negative errno with err set.
 */
#pragma once

#include <stdbool.h>

#include "ops/ops.h"
#include "util/error.h"

#define CARVE_TOKEN_PREFIX "carve-"
#define CARVE_TOKEN_LEN (sizeof(CARVE_TOKEN_PREFIX) - 1 + 64)

int carve_role_parse(const char *s, enum carve_role *out);
const char *carve_role_name(enum carve_role r);

struct carve_tokens;

int carve_tokens_load(const char *path, struct carve_tokens **out, struct carve_error *err);
void carve_tokens_free(struct carve_tokens *t);
size_t carve_tokens_count(const struct carve_tokens *t);
/* 0 and *role when token is known; -ENOENT otherwise.  Constant-time in the
 * hash comparison. */
int carve_tokens_lookup(const struct carve_tokens *t, const char *token, enum carve_role *role);

/* Create a token with role (label optional, [A-Za-z0-9_.@-]{0,64}), append
 * its hash to path (created 0600, flock-serialised, fsynced) and write the
 * token itself into out[CARVE_TOKEN_LEN + 1].  The token is never stored. */
int carve_token_create(const char *path, enum carve_role role, const char *label, char *out,
		       struct carve_error *err);

struct carve_auth;

int carve_auth_new(const char *path, struct carve_auth **out, struct carve_error *err);
void carve_auth_free(struct carve_auth *a);
const char *carve_auth_path(const struct carve_auth *a);
/* Validate "Bearer <token>" (the Authorization header value, may be NULL).
 * 0 and *role when valid; -EPERM (no or unknown token) with err set. */
int carve_auth_check(struct carve_auth *a, const char *authorization, enum carve_role *role,
		     struct carve_error *err);
