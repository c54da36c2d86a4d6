/* sysfs.h - the only code in carve that touches sysfs, read or write.
 *
 * A struct carve_sysfs is a handle on a sysfs root: "/sys" on a real host, a
 * generated fixture tree in tests.  Every path given here is relative to that
 * root and is resolved *inside* it (openat2 RESOLVE_IN_ROOT), so the relative
 * symlinks of sysfs (bus/pci/devices/X -> ../../../devices/...) work in a
 * fixture tree exactly as on a host, and nothing can climb out of the root.
 *
 * Writes are stricter: the caller names the device directory it means
 * (e.g. "bus/pci/devices/0000:82:00.0") and a path below it; the final open
 * is O_NOFOLLOW with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS from that directory,
 * and each component is checked (no "..", no "/" prefix, no empty part).
 * A value is written with a single write(2), as sysfs attributes require.
 *
 * Reads cap at CARVE_SYSFS_MAX_READ bytes.  Errors: negative errno, with err
 * naming the file.  Not thread-safe per handle only in that the handle must
 * not be closed while in use; the calls themselves keep no shared state
 * (apart from the test-only write hook below).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "str.h"

#define CARVE_SYSFS_MAX_READ (64 * 1024)

struct carve_sysfs;

int carve_sysfs_open(const char *root, struct carve_sysfs **out, struct carve_error *err);
void carve_sysfs_close(struct carve_sysfs *s);
const char *carve_sysfs_root(const struct carve_sysfs *s);

/* Read a whole file; trailing newline(s) stripped.  *out is owned by caller. */
int carve_sysfs_read(struct carve_sysfs *s, const char *path, char **out, struct carve_error *err);
/* Same, but -ENOENT is not an error: *out = NULL and return 0. */
int carve_sysfs_read_opt(struct carve_sysfs *s, const char *path, char **out, struct carve_error *err);
bool carve_sysfs_exists(struct carve_sysfs *s, const char *path);
bool carve_sysfs_is_dir(struct carve_sysfs *s, const char *path);

/* Sorted entry names of a directory (no "." / ".."). -ENOENT if missing. */
int carve_sysfs_list(struct carve_sysfs *s, const char *path, struct carve_strv *out, struct carve_error *err);

/* Last component of a symlink's target ("driver" -> "nvidia"). */
int carve_sysfs_link_name(struct carve_sysfs *s, const char *path, char **out, struct carve_error *err);

/* Write value to devdir/attr (see above for the rules).  Both strings are
 * checked; a bad component gives -EINVAL before anything is opened. */
int carve_sysfs_write(struct carve_sysfs *s, const char *devdir, const char *attr, const char *value,
		      struct carve_error *err);

/* True if a relative path is safe to hand to the functions above. */
bool carve_sysfs_path_valid(const char *path);

/* TEST ONLY: a hook called by carve_sysfs_write with the (already checked)
 * devdir, attr and value before anything is opened.  Returning a negative
 * errno fails that write as the kernel would have (SYSFS_WRITE_FAILED, the
 * message marked "(injected)"); returning 0 lets it proceed; returning 1
 * means the hook did what the kernel would have (an emulated driver's
 * effect on a fixture tree) and nothing is written.  A planned fault (below)
 * comes first: a write it fails never reaches the hook.  It exists to
 * drive the paths a fixture tree cannot: a vendor driver answering EBUSY for
 * a while (bounded retries), or VFs appearing when sriov_numvfs is written
 * (the hook may rewrite the tree).  NULL removes it.  Process-wide and not
 * synchronised: set it only while no other thread writes; production code
 * never sets it. */
typedef int (*carve_sysfs_write_fault_fn)(const char *devdir, const char *attr, const char *value, void *data);
void carve_sysfs_set_write_fault(carve_sysfs_write_fault_fn fn, void *data);

/* TEST ONLY: the fault plan.  Every operation of this module is counted per
 * process - reads (read, read_opt, list, link_name) and writes - and the
 * plan makes the N-th operation of a class fail:
 *   - a read with the errno (SYSFS_READ_FAILED naming the file and the
 *     errno, marked "(injected)");
 *   - a write with the errno before anything reaches the kernel
 *     (SYSFS_WRITE_FAILED, likewise), or, for "short", after the value was
 *     written whole: the driver may have acted and the caller is told of a
 *     short write - the harder case for it.
 * The environment sets it for a whole process (tests/testbed's fault walk):
 *   CARVE_SYSFS_FAULT=N:ERR[:CLASS]  util/fault.h's spelling; CLASS read,
 *                                    write or any (default); a malformed value
 *                                    aborts, so no test runs without the
 *                                    fault it asked for;
 *   CARVE_SYSFS_FAULT_LOG=FILE       appends "<n> <class> <path>[ FAULT]"
 *                                    for every operation (n counts all).
 * exists/is_dir are no fault points: a stat in sysfs fails only when the
 * file is gone, and one vanished file of a device that is otherwise still
 * there is no state the kernel produces.  Production never sets them; with neither set an operation costs one
 * pthread_once check.  Thread-safe. */
#define CARVE_SYSFS_FAULT_ENV "CARVE_SYSFS_FAULT"
#define CARVE_SYSFS_FAULT_LOG_ENV "CARVE_SYSFS_FAULT_LOG"
enum carve_sysfs_op_class {
	CARVE_SYSFS_OP_ANY = 0, /* every operation: the plan's default */
	CARVE_SYSFS_OP_READ = 1,
	CARVE_SYSFS_OP_WRITE = 2,
};
/* Replace the plan (n = 0: no fault; fault -errno or CARVE_FAULT_SHORT) and
 * restart the counts; operations are counted from then on. */
void carve_sysfs_set_fault_plan(unsigned long n, int fault, enum carve_sysfs_op_class cls);
/* Operations counted since the plan was last set (all classes). */
unsigned long carve_sysfs_fault_count(void);
