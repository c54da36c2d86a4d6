/* buf.c - the string builder behind the text emitters (see internal.h). */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void emit_buf_free(struct emit_buf *b)
{
	if (!b)
		return;
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

static bool reserve(struct emit_buf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *s = realloc(b->s, cap);
	if (!s) {
		b->oom = true;
		return false;
	}
	b->s = s;
	b->cap = cap;
	return true;
}

void emit_buf_add(struct emit_buf *b, const char *s)
{
	size_t n = strlen(s);
	if (!reserve(b, n))
		return;
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

void emit_buf_addf(struct emit_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void emit_buf_add_xml(struct emit_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': emit_buf_add(b, "&amp;"); break;
		case '<': emit_buf_add(b, "&lt;"); break;
		case '>': emit_buf_add(b, "&gt;"); break;
		case '\'': emit_buf_add(b, "&apos;"); break;
		case '"': emit_buf_add(b, "&quot;"); break;
		default: {
			char c[2] = {*s, '\0'};
			emit_buf_add(b, c);
		}
		}
	}
}

int emit_buf_finish(struct emit_buf *b, char **out, struct carve_error *err)
{
	if (!b->oom && !b->s)
		reserve(b, 0);
	if (b->oom) {
		emit_buf_free(b);
		b->oom = false;
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	}
	b->s[b->len] = '\0';
	*out = b->s;
	b->s = NULL;
	b->len = b->cap = 0;
	return 0;
}
