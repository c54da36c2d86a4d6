/* clock.h - the monotonic clock in milliseconds, for timeouts and ages
 * (never for wall time), and the deadlines pthread's timed waits take.
 * Thread-safe. */
#pragma once

#include <time.h>

static inline long long carve_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CLOCK_REALTIME us (ms) from now: the absolute deadline of
 * pthread_mutex_timedlock and pthread_cond_timedwait. */
static inline struct timespec carve_realtime_after_us(unsigned long long us)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(us / 1000000);
	ts.tv_nsec += (long)(us % 1000000) * 1000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static inline struct timespec carve_realtime_after_ms(unsigned ms)
{
	return carve_realtime_after_us((unsigned long long)ms * 1000);
}
