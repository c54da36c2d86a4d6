/* faultvfs.h - TEST ONLY: an SQLite VFS that fails the N-th write, sync or
 * truncate of the store's files (the database, its WAL and journal), for
 * tests/crash/store-faults.py - SQLite's own I/O-error testing, applied to
 * carve's transactions.
 *
 * Set by the environment, for a whole process:
 *   CARVE_STORE_FAULT=N:ERR       util/fault.h's spelling: EIO fails the
 *                                 operation (SQLITE_IOERR_WRITE, _FSYNC or
 *                                 _TRUNCATE), ENOSPC fails a write with
 *                                 SQLITE_FULL (a sync or truncate with
 *                                 EIO's code), short performs a write and
 *                                 then reports it failed; other errnos are
 *                                 EIO; a malformed value aborts;
 *   CARVE_STORE_FAULT_LOG=FILE    appends "<n> <write|sync|truncate> <file>
 *                                 [ FAULT]" for every counted operation.
 * With either set, carve_faultvfs_name() registers the VFS (wrapping the
 * default one, which stays the default) and returns its name for
 * sqlite3_open_v2; with neither it returns NULL and nothing is registered.
 * The failure is the operating system's: SQLite sees it as it would a real
 * one, so what a failed commit leaves is SQLite's to decide (a WAL frame
 * written before a failed sync may or may not count), and carve's answer is
 * an error the caller must treat as "outcome unknown".  Thread-safe. */
#pragma once

#define CARVE_STORE_FAULT_ENV "CARVE_STORE_FAULT"
#define CARVE_STORE_FAULT_LOG_ENV "CARVE_STORE_FAULT_LOG"

const char *carve_faultvfs_name(void);
