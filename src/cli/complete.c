/* complete.c - completion data and per-verb help (complete.h). */
#include "complete.h"

#include <string.h>

#include "ops/fields.h"
#include "ops/verbinfo.h"

static void print_keys(FILE *out, const struct carve_verb_info *v)
{
	const struct carve_class *cls = carve_class_of_verb(v->verb);
	if (v->filters) {
		fprintf(out, "params\n");
		for (size_t i = 0; cls && i < cls->n_fields; i++)
			fprintf(out, "%s\n", cls->fields[i].name);
		return;
	}
	for (size_t i = 0; v->keys && v->keys[i]; i++)
		fprintf(out, "%s\n", v->keys[i]);
}

int carve_complete(FILE *out, int argc, char **argv)
{
	const char *what = argc > 0 ? argv[0] : "";
	if (strcmp(what, "verbs") == 0) {
		size_t n;
		const struct carve_verb_info *verbs = carve_verb_info_table(&n);
		for (size_t i = 0; i < n; i++)
			fprintf(out, "%s\n", verbs[i].verb);
		fprintf(out, "token-create\nhelp\n");
		return 0;
	}
	const struct carve_verb_info *v = argc > 1 ? carve_verb_info_find(argv[1]) : NULL;
	if (argc > 1 && strcmp(argv[1], "token-create") == 0 && strcmp(what, "keys") == 0) {
		fprintf(out, "role\nlabel\n");
		return 0;
	}
	if (!v) /* nothing to offer for what is not a verb */
		return argc > 1 ? 0 : (fprintf(stderr, "usage: carve __complete verbs|keys|fields|class [VERB]\n"), 2);
	const struct carve_class *cls = carve_class_of_verb(v->verb);
	if (strcmp(what, "keys") == 0)
		print_keys(out, v);
	else if (strcmp(what, "fields") == 0)
		for (size_t i = 0; cls && i < cls->n_fields; i++)
			fprintf(out, "%s\n", cls->fields[i].name);
	else if (strcmp(what, "class") == 0 && cls)
		fprintf(out, "%s\n", cls->name);
	else if (strcmp(what, "class") != 0) {
		fprintf(stderr, "usage: carve __complete verbs|keys|fields|class [VERB]\n");
		return 2;
	}
	return 0;
}

int carve_help_verb(FILE *out, const char *verb)
{
	const struct carve_verb_info *v = carve_verb_info_find(verb);
	if (!v) {
		fprintf(stderr, "carve: UNKNOWN_COMMAND: unknown command: %.64s ('carve help' lists them)\n", verb);
		return 1;
	}
	fprintf(out, "%s: %s\n", v->verb, v->summary);
	if (v->filters) {
		fprintf(out, "  params=all|FIELD,...   the fields to print\n  filters (FIELD=VALUE):\n");
		const struct carve_class *cls = carve_class_of_verb(v->verb);
		for (size_t i = 0; cls && i < cls->n_fields; i++)
			fprintf(out, "    %s\n", cls->fields[i].name);
	} else if (v->keys && v->keys[0]) {
		fprintf(out, "  keys: ");
		for (size_t i = 0; v->keys[i]; i++)
			fprintf(out, "%s%s=", i ? " " : "", v->keys[i]);
		fprintf(out, "\n");
	} else {
		fprintf(out, "  (no arguments)\n");
	}
	return 0;
}
