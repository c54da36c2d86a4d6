#include "str.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int carve_parse_u64(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	uint64_t v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int carve_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	int r = carve_parse_u64(s, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int carve_parse_i32(const char *s, int32_t *out)
{
	if (!s)
		return -EINVAL;
	bool neg = *s == '-';
	uint64_t v;
	int r = carve_parse_u64(s + neg, &v);
	if (r < 0)
		return r;
	if (v > (uint64_t)INT32_MAX + neg)
		return -ERANGE;
	*out = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
	return 0;
}

int carve_parse_hex_u32(const char *s, uint32_t *out)
{
	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s || strlen(s) > 8)
		return -EINVAL;
	uint32_t v = 0;
	for (; *s; s++) {
		int c = (unsigned char)*s;
		if (!isxdigit(c))
			return -EINVAL;
		v = v * 16 + (uint32_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	*out = v;
	return 0;
}

int carve_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "1", "on"};
	static const char *const no[] = {"false", "no", "0", "off"};
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

int carve_parse_resolution(const char *s, uint32_t *x, uint32_t *y)
{
	if (!s)
		return -EINVAL;
	const char *sep = strchr(s, 'x');
	if (!sep || sep == s || (size_t)(sep - s) > 10)
		return -EINVAL;
	char buf[11];
	memcpy(buf, s, (size_t)(sep - s));
	buf[sep - s] = '\0';
	if (carve_parse_u32(buf, x) < 0 || carve_parse_u32(sep + 1, y) < 0)
		return -EINVAL;
	return 0;
}

char *carve_strstrip(char *s)
{
	if (!s)
		return s;
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	size_t lead = 0;
	while (isspace((unsigned char)s[lead]))
		lead++;
	if (lead)
		memmove(s, s + lead, len - lead + 1);
	return s;
}

bool carve_ident_valid(const char *s)
{
	if (!s || !isalnum((unsigned char)s[0]))
		return false;
	size_t n = 0;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			return false;
		if (n >= 64)
			return false;
	}
	return strstr(s, "..") == NULL;
}

int carve_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = src ? strlen(src) : 0;
	if (size == 0)
		return -ENAMETOOLONG;
	size_t c = n < size ? n : size - 1;
	if (c)
		memcpy(dst, src, c);
	dst[c] = '\0';
	return c < n ? -ENAMETOOLONG : 0;
}

bool carve_streq_ci(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

bool carve_startswith(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

char *carve_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&out, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : out;
}

int carve_strv_push_take(struct carve_strv *sv, char *s)
{
	if (!s)
		return -ENOMEM;
	if (sv->n + 1 >= sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;
		char **v = realloc(sv->v, cap * sizeof(*v));
		if (!v) {
			free(s);
			return -ENOMEM;
		}
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

int carve_strv_push(struct carve_strv *sv, const char *s)
{
	return carve_strv_push_take(sv, strdup(s));
}

bool carve_strv_contains(const struct carve_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void carve_strv_sort(struct carve_strv *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof(char *), cmp_str);
}

void carve_strv_clear(struct carve_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}
