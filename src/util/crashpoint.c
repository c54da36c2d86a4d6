/* crashpoint.c - see crashpoint.h. */
#include "crashpoint.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *crash_at;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void read_env(void)
{
	crash_at = getenv("CARVE_CRASH_AT");
}

void carve_crash_point(const char *name)
{
	pthread_once(&once, read_env);
	if (crash_at && strcmp(crash_at, name) == 0)
		raise(SIGKILL);
}
