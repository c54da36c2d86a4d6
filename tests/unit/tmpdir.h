/* tmpdir.h - scratch directories for the cmocka tests that build trees of
 * files (fixtures of sysfs, mdevctl's definitions): test_tmpdir_make()
 * makes one named carve-test-<what>-XXXXXX, preferring a tmpfs
 * ($CARVE_TEST_TMPDIR, /dev/shm, $TMPDIR, /tmp: trees have thousands of
 * entries, and on some disks creating them takes seconds); the caller
 * frees the name.  test_rm_rf() removes a tree without following links.
 * Include after <cmocka.h>. */
#pragma once

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/str.h"

static inline int test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void test_rm_rf(const char *path)
{
	nftw(path, test_rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static inline char *test_tmpdir_make(const char *what)
{
	const char *bases[] = {getenv("CARVE_TEST_TMPDIR"), "/dev/shm", getenv("TMPDIR"), "/tmp"};
	for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
		if (!bases[i] || access(bases[i], W_OK) != 0)
			continue;
		char *t = carve_strdupf("%s/carve-test-%s-XXXXXX", bases[i], what);
		assert_non_null(t);
		if (mkdtemp(t))
			return t;
		free(t);
	}
	fail_msg("no writable temporary directory");
	return NULL;
}
