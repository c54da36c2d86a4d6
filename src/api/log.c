#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static _Atomic int max_level = LOG_INFO;

void carve_log_set_level(int max_priority)
{
	atomic_store(&max_level, max_priority);
}

void carve_log(int priority, const char *fmt, ...)
{
	if (priority > atomic_load(&max_level))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>carved: %s\n", priority, msg);
	else
		fprintf(stderr, "carved: %s\n", msg);
}
