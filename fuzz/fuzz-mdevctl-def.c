/* libFuzzer target: one of mdevctl's definition files (src/host/
 * mdevctl_defs.c), the JSON that `carve mdevctl-import` reads from
 * /etc/mdevctl.d/<parent>/<uuid>.  The contract, besides what ASan/UBSan/
 * LSan catch: a refused file sets err with the same code, the
 * MDEVCTL_DEF_INVALID id naming the definition (or OUT_OF_MEMORY) and a
 * message of printable ASCII only, and leaves the result zeroed; an
 * accepted one has a type, attrs and values within the rules and limits of
 * mdevctl_defs.h (checked here again, independently), and reads back the
 * same when written out as mdevctl writes it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "host/mdevctl_defs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PARENT "0000:41:00.0"
#define UUID "040faa8e-7abc-4373-9efb-b0cf0210c459"

static bool only(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

static bool key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > CARVE_MDEVCTL_MAX_KEY || k[0] == '/' || k[n - 1] == '/' || strstr(k, "//") ||
	    !only(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-"))
		return false;
	/* no "." or ".." component */
	for (const char *c = k; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (strncmp(c, ".", 1) == 0 && (c[1] == '/' || !c[1]))
			return false;
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || !c[2]))
			return false;
	}
	return true;
}

static bool def_ok(const struct carve_mdevctl_def *d)
{
	size_t tl = strlen(d->type);
	if (strcmp(d->parent, PARENT) != 0 || strcmp(d->uuid, UUID) != 0 || strcmp(d->path, PARENT "/" UUID) != 0 ||
	    tl == 0 || tl > CARVE_MDEVCTL_TYPE_MAX || strcmp(d->type, ".") == 0 || strcmp(d->type, "..") == 0 ||
	    !only(d->type, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") ||
	    d->n_attrs > CARVE_MDEVCTL_MAX_ATTRS || (d->n_attrs == 0) != (d->attrs == NULL))
		return false;
	for (size_t i = 0; i < d->n_attrs; i++) {
		const char *v = d->attrs[i].value;
		if (!key_ok(d->attrs[i].key) || strlen(v) > CARVE_MDEVCTL_MAX_VALUE)
			return false;
		for (; *v; v++)
			if ((unsigned char)*v < 0x20 || *v == 0x7f)
				return false;
	}
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* d written out as mdevctl writes a definition, or NULL (out of memory). */
static char *write_out(const struct carve_mdevctl_def *d)
{
	json_t *attrs = json_array();
	for (size_t i = 0; attrs && i < d->n_attrs; i++)
		if (json_array_append_new(attrs, json_pack("{s:s}", d->attrs[i].key, d->attrs[i].value)) < 0) {
			json_decref(attrs);
			return NULL;
		}
	json_t *j = json_pack("{s:s, s:s, s:o}", "mdev_type", d->type, "start", d->autostart ? "auto" : "manual",
			      "attrs", attrs);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	return s;
}

static bool same(const struct carve_mdevctl_def *a, const struct carve_mdevctl_def *b)
{
	if (strcmp(a->type, b->type) != 0 || a->autostart != b->autostart || a->n_attrs != b->n_attrs)
		return false;
	for (size_t i = 0; i < a->n_attrs; i++)
		if (strcmp(a->attrs[i].key, b->attrs[i].key) != 0 || strcmp(a->attrs[i].value, b->attrs[i].value) != 0)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct carve_mdevctl_def zero;
	struct carve_mdevctl_def d;
	struct carve_error err = {0};
	int r = carve_mdevctl_def_parse((const char *)data, size, PARENT, UUID, &d, &err);
	if (r < 0) {
		bool oom = strcmp(err.id, "OUT_OF_MEMORY") == 0;
		if (err.code != r || memcmp(&d, &zero, sizeof(d)) != 0 || !printable(err.message) ||
		    (!oom && (strcmp(err.id, "MDEVCTL_DEF_INVALID") != 0 ||
			      strncmp(err.message, "mdevctl definition " PARENT "/" UUID ": ",
				      strlen("mdevctl definition " PARENT "/" UUID ": ")) != 0)))
			abort();
		return 0;
	}
	if (!def_ok(&d))
		abort();
	char *again = write_out(&d);
	if (again) {
		struct carve_mdevctl_def d2;
		if (carve_mdevctl_def_parse(again, strlen(again), PARENT, UUID, &d2, NULL) < 0 || !same(&d, &d2))
			abort();
		carve_mdevctl_def_clear(&d2);
		free(again);
	}
	carve_mdevctl_def_clear(&d);
	return 0;
}
