/* libFuzzer target: the CLI's named servers (src/cli/remote.c) - an INI file
 * in ~/.config/carve/config that names a server, its CA, pin and token file.
 * The input is the file, handed over as /proc/self/fd/N of a memfd through
 * $CARVE_CLIENT_CONFIG; the server asked for is its section "fuzz".  The
 * token comes from $CARVE_TOKEN, so no token file the input names is ever
 * opened.  The contract: a refused file sets err with the same code and
 * names the file and line; a resolved one has a server; carve_remote_clear
 * frees all (LeakSanitizer).
 *
 * remote.c is compiled into this target (fuzz/fuzz-request.c explains why).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../src/cli/remote.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("carve-fuzz-config", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		setenv("CARVE_CLIENT_CONFIG", path, 1);
		setenv("CARVE_TOKEN", "carve-fuzz", 1);
		unsetenv("CARVE_SERVER");
		unsetenv("CARVE_TOKEN_FILE");
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	struct carve_remote_args a = {.server = "fuzz"};
	struct carve_remote r = {0};
	struct carve_error err = {0};
	int rc = carve_remote_resolve(&a, &r, &err);
	if (rc < 0 && (err.code != rc || r.server))
		abort();
	if (rc < 0 && strcmp(err.id, "CONFIG_INVALID") == 0 && !strstr(err.message, path))
		abort();
	if (rc == 1 && (!r.server || strcmp(r.token, "carve-fuzz") != 0))
		abort();
	if (rc == 0)
		abort(); /* a server was asked for: resolved or refused, never "none" */
	carve_remote_clear(&r);
	return 0;
}
