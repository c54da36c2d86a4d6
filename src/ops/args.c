#include "args.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/str.h"
#include "util/uuid.h"

int carve_arg_str(json_t *args, const char *key, bool required, const char **out, struct carve_error *err)
{
	json_t *v = json_object_get(args, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return carve_error_set(err, -EINVAL, "MISSING_PARAMETER", "missing parameter: %s", key);
		return 0;
	}
	if (json_is_string(v)) {
		*out = json_string_value(v);
		if (strlen(*out) != json_string_length(v))
			return carve_error_set(err, -EINVAL, "INVALID_VALUE", "parameter %s contains a NUL byte", key);
	} else if (json_is_integer(v)) {
		/* Rendered once into the arguments themselves, so that the text
		 * lives as long as they do and two arguments never share it. */
		char buf[32];
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		json_t *text = json_string(buf);
		if (!text || json_object_set_new(args, key, text) < 0)
			return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
		*out = json_string_value(text);
	} else if (json_is_boolean(v)) {
		*out = json_is_true(v) ? "true" : "false";
	} else {
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "parameter %s must be a string", key);
	}
	return 0;
}

int carve_arg_uuid(json_t *args, const char *key, bool required, char out[37], struct carve_error *err)
{
	const char *s;
	out[0] = '\0';
	int r = carve_arg_str(args, key, required, &s, err);
	if (r < 0 || !s)
		return r;
	if (carve_uuid_normalize(s, out) < 0)
		return carve_error_set(err, -EINVAL, "UUID_INVALID", "invalid UUID for %s: '%.64s'", key, s);
	return 0;
}

int carve_arg_int(json_t *args, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
		  struct carve_error *err)
{
	const char *s;
	int r = carve_arg_str(args, key, required, &s, err);
	if (r < 0 || !s)
		return r;
	int32_t v;
	if (carve_parse_i32(s, &v) < 0 || v < min || v > max)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
				       "invalid value for %s: '%.64s' (expected an integer from %" PRId64 " to %" PRId64 ")",
				       key, s, min, max);
	*out = v;
	return 0;
}

int carve_arg_bool(json_t *args, const char *key, bool *out, struct carve_error *err)
{
	const char *s;
	int r = carve_arg_str(args, key, false, &s, err);
	if (r < 0 || !s)
		return r;
	if (carve_parse_bool(s, out) < 0)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "invalid value for %s: '%.64s' (expected true or false)",
				       key, s);
	return 0;
}
