/* args.h - typed access to a verb's arguments (a JSON object, keys lower
 * case).  Every getter validates strictly and fills err with a message that
 * names the parameter; a missing required argument is MISSING_PARAMETER.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/error.h"

/* String value (JSON strings, numbers and booleans are accepted and
 * rendered); NULL when absent and not required.  Borrowed from args, valid
 * as long as args: a number is rendered into args in place (args is the
 * verb's own copy, see carve_ops_call). */
int carve_arg_str(json_t *args, const char *key, bool required, const char **out, struct carve_error *err);
/* A UUID, normalized to lower case into out[37]; out[0]=0 when absent. */
int carve_arg_uuid(json_t *args, const char *key, bool required, char out[37], struct carve_error *err);
int carve_arg_int(json_t *args, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
		  struct carve_error *err);
int carve_arg_bool(json_t *args, const char *key, bool *out, struct carve_error *err);
