/* libFuzzer target: carved's token file (src/api/auth.c) - one line per
 * token, "<sha256-hex> <role> <created> [label]", blank lines and comments.
 * The input is the file, read through /proc/self/fd/N of a memfd.
 *
 * The contract, besides what ASan/UBSan/LSan catch: a refused file sets err
 * with the same code and names the file; an accepted one holds exactly one
 * token per line that is neither blank nor a comment (counted here on the
 * raw bytes, independently of the parser: no line is split or dropped), and
 * a lookup of a token that is no hash's preimage finds nothing.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* compiled in, not from the library: fuzz/fuzz-request.c explains why */
#include "../src/api/auth.c"
#include "../src/api/sha256.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lines that must each be a token: first non-space byte present and not
 * '#'.  -1 if the file holds a NUL or a line over 512 bytes (refused). */
static long token_lines(const uint8_t *d, size_t n)
{
	long count = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && d[j] != '\n')
			j++;
		size_t len = j - i + (j < n); /* with its newline, as getline counts */
		if (len > 512 || memchr(d + i, '\0', j - i))
			return -1;
		size_t k = i;
		while (k < j && isspace(d[k]))
			k++;
		if (k < j && d[k] != '#')
			count++;
		i = j + 1;
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("carve-fuzz-tokens", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	struct carve_tokens *t = NULL;
	struct carve_error err = {0};
	int r = carve_tokens_load(path, &t, &err);
	long want = token_lines(data, size);
	if (r < 0) {
		if (err.code != r || t || !strstr(err.message, path))
			abort();
		return 0;
	}
	if (want < 0 || (long)carve_tokens_count(t) != want)
		abort();
	enum carve_role role;
	if (carve_tokens_lookup(t, "carve-0000000000000000000000000000000000000000000000000000000000000000", &role) !=
	    -ENOENT)
		abort();
	carve_tokens_free(t);
	return 0;
}
