#include "render.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops/fields.h"
#include "util/cleanup.h"
#include "util/str.h"

char *carve_render_wanted(const char *verb, const struct carve_render_opts *o)
{
	static const char *const suffixes[] = {"-param-list", "-list"};
	char cls_name[32] = "";
	size_t vl = strlen(verb);
	for (size_t i = 0; i < ARRAY_SIZE(suffixes) && !cls_name[0]; i++) {
		size_t sl = strlen(suffixes[i]);
		if (vl > sl && vl - sl < sizeof(cls_name) && strcmp(verb + vl - sl, suffixes[i]) == 0)
			snprintf(cls_name, sizeof(cls_name), "%.*s", (int)(vl - sl), verb);
	}
	const struct carve_class *cls = cls_name[0] ? carve_class_find(cls_name) : NULL;
	if (!cls)
		return NULL;
	if (o->minimal)
		return strdup("uuid");
	if (o->params)
		return strdup(o->params);
	if (o->json)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	bool first = true;
	for (size_t i = 0; i < cls->n_fields; i++)
		if (cls->fields[i].in_default) {
			fprintf(f, "%s%s", first ? "" : ",", cls->fields[i].name);
			first = false;
		}
	fclose(f);
	return buf;
}

static void print_record(FILE *f, json_t *rec, const struct carve_field **sel, size_t n)
{
	size_t width = 0;
	for (size_t i = 0; i < n; i++) {
		size_t w = strlen(sel[i]->name) + 6; /* "name ( RO)" */
		if (w > width)
			width = w;
	}
	for (size_t i = 0; i < n; i++) {
		char key[160];
		snprintf(key, sizeof(key), "%s (%*s)", sel[i]->name, 3, sel[i]->mode);
		_cleanup_free_ char *v = carve_value_text(json_object_get(rec, sel[i]->name));
		const char *val = v ? v : "";
		/* xe: first line flush left, the rest right-aligned, colons in one column */
		if (i == 0)
			fprintf(f, "%-*s: %s\n", (int)width + 4, key, val);
		else
			fprintf(f, "%*s: %s\n", (int)width + 4, key, val);
	}
	fputc('\n', f);
}

/* Results that are not records: text blocks print as they are, arrays of
 * strings one per line, arrays of objects as "key=value ..." lines. */
static void print_object(FILE *f, json_t *o)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		if (json_is_string(v) && strchr(json_string_value(v), '\n')) {
			fprintf(f, "%s:\n%s%s", k, json_string_value(v),
				json_string_value(v)[strlen(json_string_value(v)) - 1] == '\n' ? "" : "\n");
		} else if (json_is_array(v) && strstr(k, "args")) {
			/* an argument vector reads best as the command line it is */
			fprintf(f, "%s:", k);
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
				fprintf(f, " %s", json_string_value(e) ? json_string_value(e) : "");
			fputc('\n', f);
		} else if (json_is_array(v)) {
			fprintf(f, "%s:%s\n", k, json_array_size(v) ? "" : " (none)");
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) {
				if (json_is_object(e)) {
					const char *ek;
					json_t *ev;
					fputs("  ", f);
					json_object_foreach(e, ek, ev) {
						_cleanup_free_ char *s = carve_value_text(ev);
						if (s && *s)
							fprintf(f, "%s=%s ", ek, s);
					}
					fputc('\n', f);
				} else {
					_cleanup_free_ char *s = carve_value_text(e);
					fprintf(f, "  %s\n", s ? s : "");
				}
			}
		} else {
			_cleanup_free_ char *s = carve_value_text(v);
			fprintf(f, "%s: %s\n", k, s ? s : "");
		}
	}
}

int carve_render_result(FILE *f, json_t *result, const struct carve_render_opts *o, struct carve_error *err)
{
	json_t *records = json_object_get(result, "records");
	const char *cls_name = json_string_value(json_object_get(result, "class"));
	const struct carve_class *cls = cls_name ? carve_class_find(cls_name) : NULL;

	if (records && cls) {
		const struct carve_field *sel[64];
		size_t n;
		int r = carve_class_select(cls, o->json && !o->params ? "all" : o->params, sel, &n, err);
		if (r < 0)
			return r;
		if (o->minimal) {
			size_t i;
			json_t *rec;
			json_array_foreach(records, i, rec)
				fprintf(f, "%s%s", i ? "," : "", json_string_value(json_object_get(rec, "uuid")));
			fputc('\n', f);
			return 0;
		}
		if (o->json) {
			_cleanup_json_ json_t *out = json_array();
			size_t i;
			json_t *rec;
			json_array_foreach(records, i, rec) {
				json_t *x = json_object();
				for (size_t k = 0; k < n; k++)
					json_object_set(x, sel[k]->name, json_object_get(rec, sel[k]->name));
				json_array_append_new(out, x);
			}
			json_dumpf(out, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', f);
			return 0;
		}
		size_t i;
		json_t *rec;
		json_array_foreach(records, i, rec)
			print_record(f, rec, sel, n);
		return 0;
	}
	if (o->json) {
		json_dumpf(result, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', f);
		return 0;
	}
	json_t *v = json_object_get(result, "value");
	if (v) {
		_cleanup_free_ char *s = carve_value_text(v);
		fprintf(f, "%s\n", s ? s : "");
	} else if (json_object_get(result, "uuid") && json_object_size(result) == 1) {
		fprintf(f, "%s\n", json_string_value(json_object_get(result, "uuid")));
	} else {
		print_object(f, result);
	}
	return 0;
}
