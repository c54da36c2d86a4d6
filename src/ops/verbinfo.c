#include "verbinfo.h"

#include <string.h>

#include "util/cleanup.h"
#include "verbkeys.h"

static const struct carve_verb_info verbs[] = {
#define VERB(verb, fn, role, writes, filters, keys, summary) {verb, summary, keys, filters},
#include "verbs.def"
#undef VERB
};

const struct carve_verb_info *carve_verb_info_table(size_t *n)
{
	*n = ARRAY_SIZE(verbs);
	return verbs;
}

bool carve_verb_exists(const char *verb)
{
	return carve_verb_info_find(verb) != NULL;
}

const struct carve_verb_info *carve_verb_info_find(const char *verb)
{
	for (size_t i = 0; verb && i < ARRAY_SIZE(verbs); i++)
		if (strcmp(verbs[i].verb, verb) == 0)
			return &verbs[i];
	return NULL;
}
