/* mdevctl_defs.h - mdevctl's persistent mdev definitions, read so that carve
 * can take them over as its own vGPUs (`carve mdevctl-import`).  Reading
 * never changes mdevctl's files.
 *
 * mdevctl keeps one file per mediated device, /etc/mdevctl.d/<parent>/<uuid>,
 * where <parent> is the parent device's sysfs name and the file holds
 *   {"mdev_type": "nvidia-46", "start": "auto", "attrs": [{"nvidia/vgpu_params": "..."}]}
 * (src/emit/mdevctl.c writes the same format).  What is accepted follows
 * what mdevctl itself does with a file, made stricter where a file would be
 * ambiguous or unsafe to act on:
 *   - "mdev_type" and "start" are required; "mdev_type" matches
 *     [A-Za-z0-9_.:-]{1,63} (not "." or "..");
 *   - "start" is "auto" or "manual" (mdevctl writes no other value, and
 *     treats any other as manual: here it is refused, not guessed);
 *   - "attrs" is absent, null or a list of at most CARVE_MDEVCTL_MAX_ATTRS
 *     one-key objects {"<path>": "<value>"}, kept in file order (mdevctl
 *     writes them in order after creating the device; keys may repeat).
 *     The path is relative to the mdev's sysfs directory: [A-Za-z0-9_./-],
 *     no leading '/', no empty, "." or ".." component, at most
 *     CARVE_MDEVCTL_MAX_KEY bytes (mdevctl would join a leading '/' as an
 *     absolute path).  The value is a string (mdevctl refuses numbers, and
 *     the lists of values that its old shell version took) of at most
 *     CARVE_MDEVCTL_MAX_VALUE bytes without control characters;
 *   - other top-level keys are ignored, as mdevctl ignores them: the parent
 *     is the directory's name, never a key in the file;
 *   - duplicate keys in one object are refused (which one counts would be
 *     the parser's choice).
 * vgpu_params' own syntax is not checked here: that is the importer's, as
 * for any vGPU carve defines.
 *
 * Errors are negative errno with err set (util/error.h); on failure the
 * output is left zeroed and nothing is allocated.  A filled struct owns its
 * memory: the clear functions free it and accept a zeroed struct or NULL.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "util/pci.h"
#include "util/str.h"
#include "util/uuid.h"

#define CARVE_MDEVCTL_DIR "/etc/mdevctl.d"
#define CARVE_MDEVCTL_MAX_BYTES (64 * 1024) /* one definition file */
#define CARVE_MDEVCTL_MAX_DEFS 4096         /* definitions in one directory tree */
#define CARVE_MDEVCTL_MAX_SKIPPED 4096      /* lines in skipped, then one that counts the rest */
#define CARVE_MDEVCTL_MAX_ATTRS 64
#define CARVE_MDEVCTL_MAX_KEY 255
#define CARVE_MDEVCTL_MAX_VALUE 1024
#define CARVE_MDEVCTL_TYPE_MAX 63

struct carve_mdevctl_attr {
	char *key, *value;
};

struct carve_mdevctl_def {
	char parent[CARVE_PCI_STRLEN + 1];  /* normalized PCI address, "0000:41:00.0" */
	char uuid[CARVE_UUID_STRLEN + 1];   /* lower case */
	char type[CARVE_MDEVCTL_TYPE_MAX + 1]; /* mdev_type: "nvidia-46", "i915-GVTg_V5_4" */
	bool autostart;                     /* "start": "auto" */
	struct carve_mdevctl_attr *attrs;   /* in file order */
	size_t n_attrs;
	/* "<parent>/<uuid>" as named on disk, relative to the directory read:
	 * for messages. */
	char path[CARVE_PCI_STRLEN + 1 + CARVE_UUID_STRLEN + 1];
};

struct carve_mdevctl_defs {
	struct carve_mdevctl_def *v; /* sorted by parent, then uuid */
	size_t n;
	struct carve_strv skipped;   /* "<path>: why it was not read", sorted */
};

/* Parse one definition file's text (len bytes, need not be NUL-terminated)
 * as mdevctl's definition of mdev uuid on parent.  parent must be a PCI
 * address and uuid a UUID (either is normalized into out); anything else is
 * -EINVAL INVALID_ARGUMENT.  A file that is not a definition by the rules
 * above is -EINVAL, or -E2BIG past a limit, with id MDEVCTL_DEF_INVALID and
 * a message "mdevctl definition <parent>/<uuid>: <problem>"; -ENOMEM is
 * OUT_OF_MEMORY. */
int carve_mdevctl_def_parse(const char *text, size_t len, const char *parent, const char *uuid,
			    struct carve_mdevctl_def *out, struct carve_error *err);

/* Read every definition under dir (mdevctl's layout; NULL: CARVE_MDEVCTL_DIR).
 * Neither dir itself nor anything below it is followed through a symbolic
 * link, and only regular files are read.  What is not a definition carve can import is not
 * an error but a line in out->skipped, so that one bad entry does not stop
 * an import: entries that are not directories at the top, parents that are
 * not PCI devices (mdevctl also serves s390 ccw/ap and other buses) or not
 * named as sysfs names them, mdevctl's own scripts.d, file names that are
 * not UUIDs, files that do not parse (as carve_mdevctl_def_parse), entries
 * that cannot be opened or read, and a UUID defined twice under one parent
 * (file names differing in case: both skipped, as mdevctl would use either).
 * One UUID under two parents is returned twice, as mdevctl keeps both; the
 * importer decides.
 * Errors: dir missing, not a directory (a symbolic link: -ENOTDIR) or
 * unreadable: its errno, MDEVCTL_DIR_UNREADABLE naming dir; more than CARVE_MDEVCTL_MAX_DEFS
 * definitions: -E2BIG, MDEVCTL_DIR_TOO_LARGE (an import of a part would be
 * arbitrary); -ENOMEM, OUT_OF_MEMORY. */
int carve_mdevctl_defs_read(const char *dir, struct carve_mdevctl_defs *out, struct carve_error *err);

void carve_mdevctl_def_clear(struct carve_mdevctl_def *d);
void carve_mdevctl_defs_clear(struct carve_mdevctl_defs *d);
