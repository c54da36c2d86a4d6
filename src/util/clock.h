/* clock.h - the monotonic clock in milliseconds, for timeouts and ages
 * (never for wall time).  Thread-safe. */
#pragma once

#include <time.h>

static inline long long carve_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
