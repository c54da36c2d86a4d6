/* libFuzzer target: carved's YAML configuration (src/daemon/config.c) -
 * what an operator writes in /etc/carve/carved.conf.  Besides what
 * ASan/UBSan catch, the contract: a refused file sets err with the same code
 * and names the file; whatever happens, carved_config_clear frees all
 * (LeakSanitizer checks).
 *
 * config.c (and request.c, for the request limits it defaults) is compiled
 * into this target (fuzz/fuzz-request.c explains why).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/api/request.c"
#include "../src/daemon/config.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct carved_config c;
	struct carve_error err = {0};
	carved_config_default(&c);
	int r = carved_config_parse("fuzz.conf", (const char *)data, size, &c, &err);
	if (r < 0 && (err.code != r || strstr(err.message, "fuzz.conf") == NULL))
		abort();
	if (r > 0)
		abort();
	carved_config_clear(&c);
	return 0;
}
