/* log.h - carved's log lines on stderr (the journal under systemd).
 *
 * One line per call, prefixed "carved: ".  When stderr is the journal
 * (JOURNAL_STREAM is set) the line starts with the sd-daemon priority prefix
 * "<N>" so journald records the level.  Thread-safe (one fprintf per line).
 */
#pragma once

#include <syslog.h>

/* Messages below this priority (LOG_DEBUG by default suppressed) are dropped. */
void carve_log_set_level(int max_priority);
void carve_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
