/* verbinfo.h - the names and summaries of the verbs, without the verbs.
 *
 * The same list as the dispatch table (both come from verbs.def), for front
 * ends that must know which verbs exist and describe them but run none:
 * the lean client checks a verb, prints 'carve help' with it and completes
 * a command line's verbs and keys.  Depends on
 * libc only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct carve_verb_info {
	const char *verb;
	const char *summary;
	const char *const *keys; /* the argument keys it takes (NULL-terminated), NULL for a list verb */
	bool filters;            /* a list verb: any field of its class is a filter */
};

/* The verbs in help order; *n is set to their number. */
const struct carve_verb_info *carve_verb_info_table(size_t *n);
bool carve_verb_exists(const char *verb);
/* The verb's entry, NULL for none. */
const struct carve_verb_info *carve_verb_info_find(const char *verb);
