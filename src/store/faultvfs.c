#include "faultvfs.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

enum op { OP_WRITE, OP_SYNC, OP_TRUNCATE };
static const char *const op_names[] = {"write", "sync", "truncate"};

struct ffile {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same allocation */
	const char *name;   /* SQLite keeps it valid until xClose */
};

static struct {
	pthread_once_t once;
	pthread_mutex_t lock;
	bool on;
	unsigned long target, count;
	int fault;
	char *log;
	sqlite3_vfs vfs;
	sqlite3_vfs *real;
} plan = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

/* 0, or the planned fault when this operation is the planned one. */
static int take(enum op op, const struct ffile *f)
{
	pthread_mutex_lock(&plan.lock);
	unsigned long nth = ++plan.count;
	int fault = plan.target && nth == plan.target ? plan.fault : 0;
	if (plan.log) {
		FILE *lf = fopen(plan.log, "ae");
		if (lf) {
			fprintf(lf, "%lu %s %s%s\n", nth, op_names[op], f->name ? f->name : "?", fault ? " FAULT" : "");
			fclose(lf);
		}
	}
	pthread_mutex_unlock(&plan.lock);
	return fault;
}

#define REAL(f) (((struct ffile *)(f))->real)

static int f_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	int fault = take(OP_WRITE, (struct ffile *)f);
	if (fault == CARVE_FAULT_SHORT) {
		int rc = REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
		return rc != SQLITE_OK ? rc : SQLITE_IOERR_WRITE;
	}
	if (fault)
		return fault == -ENOSPC ? SQLITE_FULL : SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (take(OP_TRUNCATE, (struct ffile *)f))
		return SQLITE_IOERR_TRUNCATE;
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
	if (take(OP_SYNC, (struct ffile *)f))
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int f_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int f_check_lock(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_caps(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **out)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, out);
}

static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

/* Version 2: no memory-mapped I/O (xFetch), so that every write of the
 * database goes through f_write. */
static const sqlite3_io_methods methods = {
	.iVersion = 2,
	.xClose = f_close,
	.xRead = f_read,
	.xWrite = f_write,
	.xTruncate = f_truncate,
	.xSync = f_sync,
	.xFileSize = f_size,
	.xLock = f_lock,
	.xUnlock = f_unlock,
	.xCheckReservedLock = f_check_lock,
	.xFileControl = f_control,
	.xSectorSize = f_sector,
	.xDeviceCharacteristics = f_caps,
	.xShmMap = f_shm_map,
	.xShmLock = f_shm_lock,
	.xShmBarrier = f_shm_barrier,
	.xShmUnmap = f_shm_unmap,
};

static int f_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags)
{
	(void)vfs;
	struct ffile *f = (struct ffile *)file;
	f->real = (sqlite3_file *)(f + 1);
	f->name = name;
	int rc = plan.real->xOpen(plan.real, name, f->real, flags, out_flags);
	/* SQLite calls xClose only when pMethods is set */
	f->base.pMethods = f->real->pMethods ? &methods : NULL;
	return rc;
}

static void setup(void)
{
	const char *spec = getenv(CARVE_STORE_FAULT_ENV), *log = getenv(CARVE_STORE_FAULT_LOG_ENV);
	static const char *const classes[] = {"any"};
	unsigned cls;
	if (spec && carve_fault_parse(spec, classes, 1, &plan.target, &plan.fault, &cls) < 0) {
		fprintf(stderr, "carve: %s=%s: expected N:EIO|ENOSPC|short\n", CARVE_STORE_FAULT_ENV, spec);
		abort(); /* a test that asked for a fault must not run without it */
	}
	if (log && *log && !(plan.log = strdup(log)))
		abort();
	if (!spec && !plan.log)
		return;
	plan.real = sqlite3_vfs_find(NULL);
	if (!plan.real)
		abort();
	/* The default VFS's own methods serve everything but opening: they
	 * take the VFS only for its constants, which the copy keeps. */
	plan.vfs = *plan.real;
	plan.vfs.iVersion = plan.real->iVersion;
	plan.vfs.szOsFile = (int)sizeof(struct ffile) + plan.real->szOsFile;
	plan.vfs.zName = "carve-fault";
	plan.vfs.pNext = NULL;
	plan.vfs.xOpen = f_open;
	if (sqlite3_vfs_register(&plan.vfs, 0) != SQLITE_OK)
		abort();
	plan.on = true;
}

const char *carve_faultvfs_name(void)
{
	pthread_once(&plan.once, setup);
	return plan.on ? plan.vfs.zName : NULL;
}
