/* complete.h - what a shell needs to complete a carve command line, and
 * 'carve help VERB'.  From the verb table and the field schema the lean
 * client carries (ops/verbinfo.h, ops/fields.h): no store, no carved.
 *
 *   carve __complete verbs          every verb, one a line
 *   carve __complete keys VERB      the keys VERB takes (a list verb: params,
 *                                   then every field of its class, filters)
 *   carve __complete fields VERB    the field names of VERB's class (what
 *                                   param-name= and params= take)
 *   carve __complete class VERB     VERB's class (its *-list lists UUIDs)
 *
 * dist/carve-completion.bash calls these and, for UUIDs, the list verbs.
 * Returns the exit status: 0, or 2 with a usage line on stderr. */
#pragma once

#include <stdio.h>

int carve_complete(FILE *out, int argc, char **argv);
/* 'carve help VERB': the summary, the keys, and for a list verb its filters. */
int carve_help_verb(FILE *out, const char *verb);
