/* cleanup.h - scope-bound ownership helpers in the style of systemd.
 *
 * A variable declared with one of these attributes is released when it goes
 * out of scope.  Every destructor used here accepts NULL (or -1 for fds), so
 * returning early is always safe.  To hand ownership to the caller, use
 * TAKE_PTR()/TAKE_FD(), which clear the local so the cleanup does nothing.
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <jansson.h>

static inline void carve_freep(void *p) { free(*(void **)p); }
static inline void carve_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void carve_fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void carve_closedirp(DIR **d) { if (*d) closedir(*d); }
static inline void carve_json_decrefp(json_t **j) { json_decref(*j); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(carve_freep)
#define _cleanup_close_ _cleanup_(carve_closep)
#define _cleanup_fclose_ _cleanup_(carve_fclosep)
#define _cleanup_closedir_ _cleanup_(carve_closedirp)
#define _cleanup_json_ _cleanup_(carve_json_decrefp)

/* Declare a cleanup function for a type with a NULL-accepting destructor. */
#define CARVE_DEFINE_CLEANUP(type, func)                      \
	__attribute__((unused)) static inline void func##p(type **p) { func(*p); }

#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
