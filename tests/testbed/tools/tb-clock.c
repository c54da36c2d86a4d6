// SPDX-License-Identifier: GPL-2.0
/*
 * tb-clock: print CLOCK_MONOTONIC in nanoseconds (busybox's date has no %N
 * and /proc/uptime counts hundredths).  Built statically by
 * tests/testbed/run; guest scripts time loops with it:
 *
 *   t0=$(tb-clock); ...; t1=$(tb-clock); echo $(( (t1 - t0) / 1000 )) us
 */
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("tb-clock: clock_gettime");
		return 1;
	}
	printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	return 0;
}
