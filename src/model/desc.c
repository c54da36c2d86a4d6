/* desc.c - parsers for the text vendor drivers publish in sysfs (see desc.h).
 *
 * The input is a (pointer, length) pair that need not be NUL-terminated and
 * may be hostile, so the parsers work on spans: nothing here reads past len,
 * copies into fixed buffers without a bound, or calls strto*() (which would
 * need a terminator and accept signs and white space).  They are fuzzed
 * (fuzz/fuzz-*-desc.c, fuzz/fuzz-sriov-creatable.c).
 *
 * Choices, the same for all three formats:
 * - trailing NUL bytes are tolerated (a caller may pass a whole buffer),
 *   a NUL anywhere else is an error: sysfs text never contains one;
 * - a known key given twice is an error, not "last wins": drivers never
 *   repeat a key, so a repeat means the text is not what we think it is;
 * - unknown keys are ignored, so newer drivers can add fields;
 * - numbers are plain decimal: no sign, no white space inside, no 0x; too
 *   large for the field is -ERANGE, anything else malformed is -EINVAL.
 * Error messages quote the offending text, made printable and truncated.
 */
#include "desc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERR_ID "VENDOR_DESCRIPTION_INVALID"
#define SRIOV_MAX_ENTRIES 1024
#define SRIOV_NAME_SIZE sizeof(((struct carve_sriov_entry *)NULL)->name)

struct span {
	const char *p;
	size_t n;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static struct span span_trim(struct span s)
{
	while (s.n > 0 && is_space(s.p[0]))
		s.p++, s.n--;
	while (s.n > 0 && is_space(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Split *rest at the first byte in seps: *tok gets what precedes it, *rest
 * what follows.  Returns false once *rest is exhausted. */
static bool span_next(struct span *rest, const char *seps, struct span *tok)
{
	if (!rest->p)
		return false;
	size_t i = 0;
	/* A NUL byte is never a separator (strchr would match the terminator). */
	while (i < rest->n && (rest->p[i] == '\0' || !strchr(seps, rest->p[i])))
		i++;
	tok->p = rest->p;
	tok->n = i;
	if (i < rest->n) {
		rest->p += i + 1;
		rest->n -= i + 1;
	} else {
		rest->p = NULL; /* last token handed out */
		rest->n = 0;
	}
	return true;
}

/* Printable, bounded copy of s for an error message. */
static const char *span_quote(struct span s, char *buf, size_t size)
{
	const size_t max = size - 4; /* room for "..." and the NUL */
	size_t o = 0;
	for (size_t i = 0; i < s.n && o < max; i++) {
		unsigned char c = (unsigned char)s.p[i];
		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (s.n > max) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* Decimal digits only, value <= max. */
static int span_uint(struct span s, uint64_t max, uint64_t *out)
{
	if (s.n == 0)
		return -EINVAL;
	uint64_t v = 0;
	bool overflow = false;
	for (size_t i = 0; i < s.n; i++) {
		if (!is_digit(s.p[i]))
			return -EINVAL;
		unsigned d = (unsigned)(s.p[i] - '0');
		if (v > (max - d) / 10)
			overflow = true; /* keep scanning: "9999999999x" is -EINVAL, not -ERANGE */
		else
			v = v * 10 + d;
	}
	if (overflow)
		return -ERANGE;
	*out = v;
	return 0;
}

static int span_u32(struct span s, uint32_t *out)
{
	uint64_t v;
	int r = span_uint(s, UINT32_MAX, &v);
	if (r == 0)
		*out = (uint32_t)v;
	return r;
}

/* "5120x2880" */
static int span_resolution(struct span s, uint32_t *x, uint32_t *y)
{
	const char *sep = memchr(s.p, 'x', s.n);
	if (!sep)
		return -EINVAL;
	struct span a = {s.p, (size_t)(sep - s.p)}, b = {sep + 1, s.n - a.n - 1};
	int ra = span_u32(a, x), rb = span_u32(b, y);
	if (ra == -EINVAL || rb == -EINVAL)
		return -EINVAL;
	return ra < 0 ? ra : rb;
}

/* A size in MiB written with a unit suffix: a suffix from mib keeps the number,
 * one from gib multiplies it by 1024.  Suffixes compare case-insensitively;
 * list longer spellings first ("MB" before "M").  No suffix is -EINVAL: the
 * unit is part of the format, and guessing it would hide a format change. */
static int span_size_mib(struct span s, const char *const *mib, const char *const *gib, uint64_t *out)
{
	for (int scale = 0; scale < 2; scale++) {
		for (const char *const *u = scale ? gib : mib; u && *u; u++) {
			size_t ul = strlen(*u);
			if (s.n <= ul || strncasecmp(s.p + s.n - ul, *u, ul) != 0)
				continue;
			struct span num = {s.p, s.n - ul};
			uint64_t v;
			int r = span_uint(num, scale ? UINT64_MAX / 1024 : UINT64_MAX, &v);
			if (r < 0)
				return r;
			*out = scale ? v * 1024 : v;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *origin_name(const char *origin)
{
	return origin && *origin ? origin : "(input)";
}

/* Common input checks: NULL with a length, embedded NULs.  Trailing NULs are
 * dropped from *s. */
static int check_input(const char *text, size_t len, const char *origin, struct span *s, struct carve_error *err)
{
	if (!text && len > 0)
		return carve_error_set(err, -EINVAL, ERR_ID, "%s: no text", origin_name(origin));
	while (len > 0 && text[len - 1] == '\0')
		len--;
	if (len > 0 && memchr(text, '\0', len))
		return carve_error_set(err, -EINVAL, ERR_ID, "%s: contains a NUL byte", origin_name(origin));
	s->p = text;
	s->n = len;
	return 0;
}

static int bad_value(int r, const char *origin, struct span key, struct span val, struct carve_error *err)
{
	char kq[48], vq[48];
	if (r == -ERANGE)
		return carve_error_set(err, -ERANGE, ERR_ID, "%s: value '%s' for %s is out of range",
				       origin_name(origin), span_quote(val, vq, sizeof(vq)),
				       span_quote(key, kq, sizeof(kq)));
	return carve_error_set(err, -EINVAL, ERR_ID, "%s: bad value '%s' for %s", origin_name(origin),
			       span_quote(val, vq, sizeof(vq)), span_quote(key, kq, sizeof(kq)));
}

static int duplicate_key(const char *origin, struct span key, struct carve_error *err)
{
	char kq[48];
	return carve_error_set(err, -EINVAL, ERR_ID, "%s: key %s given twice", origin_name(origin),
			       span_quote(key, kq, sizeof(kq)));
}

static bool key_valid(struct span k)
{
	if (k.n == 0)
		return false;
	for (size_t i = 0; i < k.n; i++) {
		char c = k.p[i];
		if (!(c == '_' || is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

/* Split "key <sep> value" (both trimmed); false when sep is missing or the
 * key is not an identifier. */
static bool split_entry(struct span entry, char sep, struct span *key, struct span *val)
{
	const char *at = memchr(entry.p, sep, entry.n);
	if (!at)
		return false;
	*key = span_trim((struct span){entry.p, (size_t)(at - entry.p)});
	*val = span_trim((struct span){at + 1, entry.n - (size_t)(at - entry.p) - 1});
	return key_valid(*key);
}

static int malformed_entry(const char *origin, struct span entry, const char *expect, struct carve_error *err)
{
	char q[48];
	return carve_error_set(err, -EINVAL, ERR_ID, "%s: malformed entry '%s' (expected %s)", origin_name(origin),
			       span_quote(entry, q, sizeof(q)), expect);
}

/* --- NVIDIA mdev description --------------------------------------------- */

static int nv_apply(struct span key, struct span val, struct carve_nv_desc *out)
{
	static const char *const mib[] = {"M", NULL}, *const gib[] = {"G", NULL};
	if (span_eq(key, "num_heads"))
		return span_u32(val, &out->num_heads);
	if (span_eq(key, "frl_config"))
		return span_u32(val, &out->frl_config);
	if (span_eq(key, "max_instance"))
		return span_u32(val, &out->max_instance);
	if (span_eq(key, "framebuffer"))
		return span_size_mib(val, mib, gib, &out->framebuffer_mib);
	if (span_eq(key, "max_resolution"))
		return span_resolution(val, &out->max_res_x, &out->max_res_y);
	return 0;
}

static unsigned nv_key_bit(struct span key)
{
	static const struct {
		const char *name;
		unsigned bit;
	} keys[] = {
		{"num_heads", CARVE_DESC_HAS_HEADS},     {"frl_config", CARVE_DESC_HAS_FRL},
		{"framebuffer", CARVE_DESC_HAS_FB},      {"max_resolution", CARVE_DESC_HAS_RES},
		{"max_instance", CARVE_DESC_HAS_MAXINST},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (span_eq(key, keys[i].name))
			return keys[i].bit;
	return 0;
}

static int nv_parse(struct span rest, const char *origin, struct carve_nv_desc *out, struct carve_error *err)
{
	struct span entry, key, val;
	while (span_next(&rest, ",", &entry)) {
		entry = span_trim(entry);
		if (entry.n == 0)
			continue; /* "a=1,,b=2" or a trailing comma */
		if (!split_entry(entry, '=', &key, &val))
			return malformed_entry(origin, entry, "key=value", err);
		unsigned bit = nv_key_bit(key);
		if (bit & out->have)
			return duplicate_key(origin, key, err);
		int r = nv_apply(key, val, out);
		if (r < 0)
			return bad_value(r, origin, key, val, err);
		out->have |= bit;
	}
	return 0;
}

int carve_nv_desc_parse(const char *text, size_t len, const char *origin, struct carve_nv_desc *out,
			struct carve_error *err)
{
	struct span s;
	memset(out, 0, sizeof(*out));
	int r = check_input(text, len, origin, &s, err);
	if (r < 0)
		return r;
	if (span_trim(s).n == 0)
		return carve_error_set(err, -EINVAL, ERR_ID, "%s: empty description", origin_name(origin));
	r = nv_parse(s, origin, out, err);
	if (r < 0)
		memset(out, 0, sizeof(*out)); /* no half-filled result on error */
	return r;
}

/* --- Intel GVT-g description ---------------------------------------------- */

enum {
	GVT_LOW = 1u << 0,
	GVT_HIGH = 1u << 1,
	GVT_FENCE = 1u << 2,
	GVT_RES = 1u << 3,
	GVT_WEIGHT = 1u << 4,
	/* weight appeared in later kernels (scheduler weights); the rest is
	 * printed by every i915 that has GVT-g. */
	GVT_REQUIRED = GVT_LOW | GVT_HIGH | GVT_FENCE | GVT_RES,
};

static const char *gvt_key_name(unsigned bit)
{
	switch (bit) {
	case GVT_LOW: return "low_gm_size";
	case GVT_HIGH: return "high_gm_size";
	case GVT_FENCE: return "fence";
	case GVT_RES: return "resolution";
	default: return "weight";
	}
}

static unsigned gvt_key_bit(struct span key)
{
	for (unsigned bit = GVT_LOW; bit <= GVT_WEIGHT; bit <<= 1)
		if (span_eq(key, gvt_key_name(bit)))
			return bit;
	return 0;
}

static int gvt_apply(unsigned bit, struct span val, struct carve_gvt_desc *out)
{
	/* i915 prints "MB"; accept the unit spellings a person might copy in. */
	static const char *const mib[] = {"MiB", "MB", "M", NULL};
	static const char *const gib[] = {"GiB", "GB", "G", NULL};
	switch (bit) {
	case GVT_LOW: return span_size_mib(val, mib, gib, &out->low_gm_mib);
	case GVT_HIGH: return span_size_mib(val, mib, gib, &out->high_gm_mib);
	case GVT_FENCE: return span_u32(val, &out->fence);
	case GVT_RES: return span_resolution(val, &out->res_x, &out->res_y);
	case GVT_WEIGHT: return span_u32(val, &out->weight);
	default: return 0; /* unknown key */
	}
}

static int gvt_parse(struct span rest, const char *origin, struct carve_gvt_desc *out, struct carve_error *err)
{
	struct span entry, key, val;
	unsigned have = 0;
	/* The sysfs file has one "key: value" per line; mdevctl prints the same
	 * entries joined with ", ", so both separators are accepted. */
	while (span_next(&rest, "\n,", &entry)) {
		entry = span_trim(entry);
		if (entry.n == 0)
			continue;
		if (!split_entry(entry, ':', &key, &val))
			return malformed_entry(origin, entry, "key: value", err);
		unsigned bit = gvt_key_bit(key);
		if (bit & have)
			return duplicate_key(origin, key, err);
		int r = gvt_apply(bit, val, out);
		if (r < 0)
			return bad_value(r, origin, key, val, err);
		have |= bit;
	}
	for (unsigned bit = GVT_LOW; bit & GVT_REQUIRED; bit <<= 1)
		if (!(have & bit))
			return carve_error_set(err, -EINVAL, ERR_ID, "%s: missing %s", origin_name(origin),
					       gvt_key_name(bit));
	return 0;
}

int carve_gvt_desc_parse(const char *text, size_t len, const char *origin, struct carve_gvt_desc *out,
			 struct carve_error *err)
{
	struct span s;
	memset(out, 0, sizeof(*out));
	int r = check_input(text, len, origin, &s, err);
	if (r < 0)
		return r;
	r = gvt_parse(s, origin, out, err);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/* --- NVIDIA SR-IOV creatable_vgpu_types ----------------------------------- */

struct entries {
	struct carve_sriov_entry *v;
	size_t n, cap;
};

static int entries_push(struct entries *e, uint32_t id, struct span name)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct carve_sriov_entry *v = realloc(e->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	struct carve_sriov_entry *x = &e->v[e->n++];
	memset(x, 0, sizeof(*x));
	x->id = id;
	memcpy(x->name, name.p, name.n); /* name.n < sizeof(x->name): checked by the caller */
	return 0;
}

static bool name_printable(struct span name)
{
	for (size_t i = 0; i < name.n; i++) {
		unsigned char c = (unsigned char)name.p[i];
		if (c < 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

static bool entries_have(const struct entries *e, uint32_t id)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].id == id)
			return true;
	return false;
}

/* One "<id> : <name>" line (already trimmed, not blank). */
static int sriov_line(struct span line, size_t lineno, const char *origin, struct entries *e, struct carve_error *err)
{
	char q[48];
	const char *o = origin_name(origin);
	const char *colon = memchr(line.p, ':', line.n);
	if (!colon)
		return carve_error_set(err, -EINVAL, ERR_ID, "%s:%zu: expected '<id> : <name>', got '%s'", o, lineno,
				       span_quote(line, q, sizeof(q)));
	struct span id_s = span_trim((struct span){line.p, (size_t)(colon - line.p)});
	struct span name = span_trim((struct span){colon + 1, line.n - (size_t)(colon - line.p) - 1});
	uint32_t id = 0;
	int r = span_u32(id_s, &id);
	if (r == -ERANGE)
		return carve_error_set(err, r, ERR_ID, "%s:%zu: type id '%s' is out of range", o, lineno,
				       span_quote(id_s, q, sizeof(q)));
	if (r < 0 || id == 0) /* 0 is the driver's "no type" in current_vgpu_type */
		return carve_error_set(err, -EINVAL, ERR_ID, "%s:%zu: bad type id '%s'", o, lineno,
				       span_quote(id_s, q, sizeof(q)));
	if (name.n == 0 || !name_printable(name))
		return carve_error_set(err, -EINVAL, ERR_ID, "%s:%zu: bad type name '%s'", o, lineno,
				       span_quote(name, q, sizeof(q)));
	if (name.n >= SRIOV_NAME_SIZE)
		return carve_error_set(err, -EINVAL, ERR_ID, "%s:%zu: type name longer than %zu bytes", o, lineno,
				       SRIOV_NAME_SIZE - 1);
	if (entries_have(e, id))
		return carve_error_set(err, -EINVAL, ERR_ID, "%s:%zu: type id %" PRIu32 " listed twice", o, lineno,
				       id);
	if (e->n >= SRIOV_MAX_ENTRIES)
		return carve_error_set(err, -ERANGE, ERR_ID, "%s: more than %d types listed", o, SRIOV_MAX_ENTRIES);
	if (entries_push(e, id, name) < 0)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	return 0;
}

static int sriov_parse(struct span rest, const char *origin, struct entries *e, struct carve_error *err)
{
	struct span line;
	bool first = true;
	for (size_t lineno = 1; span_next(&rest, "\n", &line); lineno++) {
		line = span_trim(line);
		if (line.n == 0)
			continue;
		/* The driver prints "ID    : vGPU Name" first; tolerate its absence. */
		if (first && line.n >= 2 && line.p[0] == 'I' && line.p[1] == 'D') {
			first = false;
			continue;
		}
		first = false;
		int r = sriov_line(line, lineno, origin, e, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int carve_sriov_creatable_parse(const char *text, size_t len, const char *origin, struct carve_sriov_entry **out,
				size_t *n, struct carve_error *err)
{
	struct span s;
	struct entries e = {0};
	*out = NULL;
	*n = 0;
	int r = check_input(text, len, origin, &s, err);
	if (r < 0)
		return r;
	r = sriov_parse(s, origin, &e, err);
	if (r < 0) {
		free(e.v);
		return r;
	}
	*out = e.v; /* NULL when the list is empty */
	*n = e.n;
	return 0;
}
