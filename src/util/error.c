#include "error.h"

#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 4, 0))) static int error_vset(struct carve_error *err, int code, const char *id,
							    const char *fmt, va_list ap)
{
	if (code > 0)
		code = -code;
	if (code == 0)
		code = -EIO;
	if (!err)
		return code;
	err->code = code;
	snprintf(err->id, sizeof(err->id), "%s", id ? id : "INTERNAL_ERROR");
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	/* Messages are one line: fold any newline a caller let through. */
	for (char *p = err->message; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return code;
}

int carve_error_set(struct carve_error *err, int code, const char *id, const char *fmt, ...)
{
	if (err && err->code != 0)
		return err->code;
	va_list ap;
	va_start(ap, fmt);
	int r = error_vset(err, code, id, fmt, ap);
	va_end(ap);
	return r;
}

int carve_error_reset(struct carve_error *err, int code, const char *id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_vset(err, code, id, fmt, ap);
	va_end(ap);
	return r;
}

void carve_error_clear(struct carve_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int carve_error_http_status(const struct carve_error *err)
{
	if (!err || err->code == 0)
		return 200;
	switch (-err->code) {
	case EINVAL: case ERANGE: case E2BIG: case EBADMSG: return 400;
	case EACCES: return 403;
	case EPERM: return 401;
	case ENOENT: case ENODEV: return 404;
	case EEXIST: case EBUSY: case ENOSPC: case EDQUOT: return 409;
	case EMSGSIZE: return 413;
	case EAGAIN: return 503;
	case ENOSYS: case EOPNOTSUPP: return 501;
	default: return 500;
	}
}
