/* error.h - structured errors, rendered into words only at the edge.
 *
 * Functions in carve return 0 on success or a negative errno, and may fill a
 * caller-supplied struct carve_error with a stable identifier (XAPI-style,
 * e.g. "UUID_INVALID", "VGPU_TYPE_NOT_ENABLED") and a one-line message that
 * names the object and the numbers involved.  The CLI prints the message; the
 * API returns {"code": id, "message": message} with an HTTP status derived
 * from the errno.  A NULL error pointer is always accepted.  The first error
 * set wins: later calls do not overwrite a more specific inner error, which
 * lets callers add a generic error on the way out without hiding the cause.
 */
#pragma once

#include <errno.h>
#include <stdarg.h>

struct carve_error {
	int code;          /* negative errno, 0 when unset */
	char id[48];       /* stable machine-readable identifier */
	char message[2048]; /* one line, for a person */
};

/* Fill err (if non-NULL and still unset) and return code (negative errno). */
int carve_error_set(struct carve_error *err, int code, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Like carve_error_set but overwrites an already set error. */
int carve_error_reset(struct carve_error *err, int code, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void carve_error_clear(struct carve_error *err);

/* True once an error has been recorded. */
static inline int carve_error_isset(const struct carve_error *err) { return err && err->code != 0; }

/* HTTP status that best reflects an error (400, 403, 404, 409, 500, 503...). */
int carve_error_http_status(const struct carve_error *err);
