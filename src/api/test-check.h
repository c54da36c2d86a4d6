/* test-check.h - the plain checks of carved's unit tests (test-api.c,
 * test-batch.c): CHECK counts each check and reports a failed one with its
 * place; a test's main prints the counts and exits non-zero on failures.
 * Included once per test program (it defines the counters). */
#pragma once

#include <stdio.h>

static int failures, checks;

#define CHECK(cond)                                                                                                \
	do {                                                                                                       \
		checks++;                                                                                          \
		if (!(cond)) {                                                                                     \
			failures++;                                                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                   \
		}                                                                                                  \
	} while (0)
