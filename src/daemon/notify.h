/* notify.h - the systemd notification protocol (sd_notify) without
 * libsystemd: one datagram to $NOTIFY_SOCKET ("READY=1", "STOPPING=1",
 * "RELOADING=1", "STATUS=..."). A no-op returning 0 when NOTIFY_SOCKET is
 * unset (not started by systemd with Type=notify).  Thread-safe.
 * Returns 0 or a negative errno (callers log and carry on).
 */
#pragma once

int carved_notify(const char *state);
