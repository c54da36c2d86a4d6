/* sha256.h - SHA-256 (FIPS 180-4), for hashing API tokens at rest.
 *
 * A small own implementation rather than a crypto library: the only use is
 * hashing bearer tokens (high-entropy random strings, so no key stretching is
 * needed), and keeping it dependency-free lets the CLI's local token-create
 * share the code without linking GnuTLS.  Pure functions, thread-safe, no
 * allocation.  Tested against the FIPS 180-2 vectors in test-api.c.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CARVE_SHA256_LEN 32

struct carve_sha256 {
	uint32_t h[8];
	uint64_t len;      /* bytes hashed so far */
	uint8_t buf[64];
	size_t nbuf;
};

void carve_sha256_init(struct carve_sha256 *s);
void carve_sha256_update(struct carve_sha256 *s, const void *data, size_t len);
void carve_sha256_final(struct carve_sha256 *s, uint8_t out[CARVE_SHA256_LEN]);

/* One shot; hex writes 64 lower-case hex digits and a NUL into out[65]. */
void carve_sha256(const void *data, size_t len, uint8_t out[CARVE_SHA256_LEN]);
void carve_sha256_hex(const void *data, size_t len, char out[2 * CARVE_SHA256_LEN + 1]);
