/* crashpoint.h - TEST ONLY: named points where a process may be killed on
 * purpose, so that the crash checkers (tests/pool/run's migration rounds)
 * can stop a multi-host operation at each of its steps instead of at a
 * random time.
 *
 * carve_crash_point(name) raises SIGKILL when the environment variable
 * CARVE_CRASH_AT equals name, and does nothing otherwise (the variable is
 * read once per process).  Production never sets it. */
#pragma once

void carve_crash_point(const char *name);
