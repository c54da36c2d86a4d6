/* file.h - whole files that carve owns: read with a size cap, replaced
 * atomically.
 *
 * carve_file_write_atomic() writes a temporary file beside path, fsyncs it,
 * renames it over path and fsyncs the directory: a reader (or a crash)
 * sees the old content or the new, never a mix.  On failure path is as it
 * was and the temporary is gone.  carve_file_replace() does the same
 * without the fsyncs: the new content survives the writer's death (it is in
 * the kernel's page cache) but not the machine's - for state that a reboot
 * ends anyway, such as the simulated host's devices.  carve_file_read() reads a regular file
 * (an operator's path: links are followed; a FIFO does not block it) of at
 * most max bytes (-EFBIG beyond);
 * *out is NUL-terminated and the caller's.  Errors: negative errno with
 * err set (id FILE_WRITE_FAILED / FILE_READ_FAILED naming the path, or the
 * caller's id where given). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

int carve_file_write_atomic(const char *path, const char *data, size_t len, const char *id, struct carve_error *err);
int carve_file_replace(const char *path, const char *data, size_t len, const char *id, struct carve_error *err);
/* id names the errors (NULL: FILE_READ_FAILED); -EFBIG beyond max; -ENOENT
 * is returned without setting err when missing_ok. */
int carve_file_read(const char *path, size_t max, bool missing_ok, const char *id, char **out, size_t *len,
		    struct carve_error *err);
