#include "vgpudm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostcfg.h"
#include "util/cleanup.h"
#include "util/pci.h"
#include "util/str.h"
#include "util/yamldoc.h"

#define ID "HOST_CONFIG_INVALID"

_Static_assert(CARVE_VGPUDM_MAX_TYPES <= CARVE_HOSTCFG_MAX_TYPES, "a spec's types fit one host-config entry");

/* One spec: which GPUs, and what they get. */
struct spec {
	int line;
	bool has_devices, has_vgpu, all;
	uint32_t *idx; /* devices: [...] */
	size_t n_idx;
	uint32_t *filter; /* (device << 16) | vendor; none: any GPU */
	size_t n_filter;
	int kind; /* enum carve_vgpudm_kind of the types; 0 before the first */
	struct carve_strv types;
	uint32_t *counts; /* counts[i] for types.v[i] */
};

struct config {
	struct spec *v;
	size_t n;
};

struct file {
	const char *selector; /* NULL: the only configuration */
	bool has_version, has_configs, found;
	size_t n_configs;
	int configs_line;
	struct carve_strv names; /* in file order, for the error that lists them */
	char name[CARVE_VGPUDM_MAX_NAME + 1];
	struct config sel;
};

static void spec_clear(struct spec *s)
{
	free(s->idx);
	free(s->filter);
	free(s->counts);
	carve_strv_clear(&s->types);
}

static void config_clear(struct config *c)
{
	for (size_t i = 0; i < c->n; i++)
		spec_clear(&c->v[i]);
	free(c->v);
	*c = (struct config){0};
}

static int oom(struct carve_yaml *y)
{
	return carve_error_set(y->err, -ENOMEM, "OUT_OF_MEMORY", "%s: out of memory", y->origin);
}

/* s for a comment or a message: printable ASCII, anything else '?' (a
 * newline would end the comment, and libyaml refuses bad UTF-8), cut to
 * fit size. */
static const char *shown(const char *s, char *buf, size_t size)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < size; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static size_t n_items(const yaml_node_t *seq)
{
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

static size_t n_pairs(const yaml_node_t *map)
{
	return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

/* The grammar ---------------------------------------------------------- */

static bool upper_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return n > 0;
}

static bool letters(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	return n > 0;
}

/* "<GB><S>" then exactly one of the suffixes (NULL-terminated, "" for
 * none): "24Q", "5CME".  GB has at most 6 digits: vgpu-device-manager
 * refuses what overflows its int, and no board comes near a million GB. */
static bool size_series(const char *s, size_t n, const char *const *suffixes)
{
	size_t d = 0;
	while (d < n && s[d] >= '0' && s[d] <= '9')
		d++;
	if (d == 0 || d > 6 || (d > 1 && s[0] == '0') || d == n || !strchr("ABCQ", s[d]))
		return false;
	for (; *suffixes; suffixes++)
		if (n - d - 1 == strlen(*suffixes) && memcmp(s + d + 1, *suffixes, n - d - 1) == 0)
			return true;
	return false;
}

int carve_vgpudm_type_kind(const char *name)
{
	static const char *const plain[] = {"", NULL};
	static const char *const mig_attrs[] = {"", "ME", "NOME", "MEALL", "GFX", NULL};
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > CARVE_VGPUDM_MAX_TYPE_NAME)
		return -EINVAL;
	const char *first = strchr(name, '-'), *last = strrchr(name, '-');
	if (!first || !upper_digits(name, (size_t)(first - name)))
		return -EINVAL;
	/* MIG-backed: exactly <GPU>-<G>-<rest>, G one digit 1-9.  No
	 * time-sliced name has a digit-only middle part, so at most one
	 * reading fits. */
	if (last - first == 2 && first[1] >= '1' && first[1] <= '9')
		return size_series(last + 1, strlen(last + 1), mig_attrs) ? CARVE_VGPUDM_MIG_BACKED : -EINVAL;
	for (const char *p = first; p < last;) {
		const char *q = strchr(p + 1, '-');
		if (!letters(p + 1, (size_t)(q - p - 1)))
			return -EINVAL;
		p = q;
	}
	return size_series(last + 1, strlen(last + 1), plain) ? CARVE_VGPUDM_TIME_SLICED : -EINVAL;
}

/* c's value as a digit; 99 (no base's digit) for anything else. */
static int digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

int carve_vgpudm_parse_device_id(const char *s, uint32_t *out)
{
	if (!s || !*s)
		return -EINVAL;
	unsigned base = 10;
	if (s[0] == '0' && s[1]) {
		char p = s[1];
		base = (p == 'x' || p == 'X') ? 16 : (p == 'o' || p == 'O') ? 8 : (p == 'b' || p == 'B') ? 2 : 0;
		s += base ? 2 : 1;
		if (!base)
			base = 8;
		if (!*s)
			return -EINVAL;
	}
	uint64_t v = 0;
	for (; *s; s++) {
		int d = digit(*s);
		if (d >= (int)base)
			return -EINVAL;
		v = v * base + (unsigned)d;
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

/* A spec --------------------------------------------------------------- */

/* Counts and indices are numbers in vgpu-device-manager's Go types: a
 * quoted "16" is a string there, and refused. */
static int plain_u32(struct carve_yaml *y, yaml_node_t *n, const char *path, uint32_t max, uint32_t *out)
{
	if (n->type == YAML_SCALAR_NODE && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return carve_yaml_err(y, n, path, "expected a number, not a quoted string");
	return carve_yaml_u32(y, n, path, max, out);
}

static int parse_devices(struct carve_yaml *y, struct spec *s, yaml_node_t *vn, const char *path)
{
	if (vn->type == YAML_SCALAR_NODE) {
		const char *v;
		char b[40];
		int r = carve_yaml_scalar(y, vn, path, &v);
		if (r >= 0 && strcmp(v, "all") != 0)
			r = carve_yaml_err(y, vn, path, "'%s': expected all or a list of GPU indices",
					   shown(v, b, sizeof(b)));
		s->all = true;
		return r;
	}
	if (vn->type != YAML_SEQUENCE_NODE)
		return carve_yaml_err(y, vn, path, "expected all or a list of GPU indices");
	size_t n = n_items(vn);
	if (n > CARVE_VGPUDM_MAX_INDICES)
		return carve_yaml_err_code(y, -E2BIG, vn, path, "more than %d indices", CARVE_VGPUDM_MAX_INDICES);
	if (!(s->idx = calloc(n ? n : 1, sizeof(*s->idx))))
		return oom(y);
	for (size_t i = 0; i < n; i++) {
		char ipath[200];
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		int r;
		yaml_node_t *in = carve_yaml_node(y, vn->data.sequence.items.start[i], ipath, &r);
		if (!in || (r = plain_u32(y, in, ipath, INT32_MAX, &s->idx[s->n_idx])) < 0)
			return r;
		s->n_idx++;
	}
	return 0;
}

static int parse_filter_one(struct carve_yaml *y, struct spec *s, yaml_node_t *n, const char *path)
{
	const char *v;
	char b[40];
	int r = carve_yaml_scalar(y, n, path, &v);
	if (r < 0)
		return r;
	if (strchr(v, ':'))
		return carve_yaml_err(y, n, path,
				      "'%s': subsystem filters are not supported (carve matches vendor and device)",
				      shown(v, b, sizeof(b)));
	if (carve_vgpudm_parse_device_id(v, &s->filter[s->n_filter]) < 0)
		return carve_yaml_err(y, n, path,
				      "'%s' is not a 32-bit device id ((device << 16) | vendor, e.g. 0x1EB810DE)",
				      shown(v, b, sizeof(b)));
	s->n_filter++;
	return 0;
}

static int parse_filter(struct carve_yaml *y, struct spec *s, yaml_node_t *vn, const char *path)
{
	size_t n = vn->type == YAML_SEQUENCE_NODE ? n_items(vn) : 1;
	if (vn->type == YAML_MAPPING_NODE)
		return carve_yaml_err(y, vn, path, "expected a device id or a list of them");
	if (n == 0)
		return carve_yaml_err(y, vn, path, "empty list: leave device-filter out to select any GPU");
	if (n > CARVE_VGPUDM_MAX_FILTERS)
		return carve_yaml_err_code(y, -E2BIG, vn, path, "more than %d device ids", CARVE_VGPUDM_MAX_FILTERS);
	if (!(s->filter = calloc(n, sizeof(*s->filter))))
		return oom(y);
	if (vn->type == YAML_SCALAR_NODE)
		return parse_filter_one(y, s, vn, path);
	for (size_t i = 0; i < n; i++) {
		char ipath[200];
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		int r;
		yaml_node_t *in = carve_yaml_node(y, vn->data.sequence.items.start[i], ipath, &r);
		if (!in || (r = parse_filter_one(y, s, in, ipath)) < 0)
			return r;
	}
	return 0;
}

static int type_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		     const char *kpath)
{
	struct spec *s = obj;
	char b[CARVE_VGPUDM_MAX_TYPE_NAME + 8];
	int kind = carve_vgpudm_type_kind(key);
	if (kind < 0)
		return carve_yaml_err(y, kn, kpath,
				      "'%s' is not a vGPU type name: <GPU>-<GB><A|B|C|Q> (time-sliced) or "
				      "<GPU>-<G>-<GB><A|B|C|Q>[ME|NOME|MEALL|GFX] (MIG-backed)",
				      shown(key, b, sizeof(b)));
	if (s->kind && kind != s->kind)
		return carve_yaml_err(y, kn, kpath, "cannot mix time-sliced and MIG-backed vGPU types on one GPU");
	s->kind = kind;
	uint32_t count;
	int r = plain_u32(y, vn, kpath, CARVE_VGPUDM_MAX_COUNT, &count);
	if (r >= 0 && count == 0)
		r = carve_yaml_err(y, vn, kpath, "count 0: from 1 to %d (leave the type out for none)",
				   CARVE_VGPUDM_MAX_COUNT);
	if (r < 0)
		return r;
	s->counts[s->types.n] = count;
	return carve_strv_push(&s->types, key) < 0 ? oom(y) : 0;
}

static int parse_vgpu(struct carve_yaml *y, struct spec *s, yaml_node_t *vn, const char *path)
{
	if (vn->type != YAML_MAPPING_NODE)
		return carve_yaml_err(y, vn, path, "expected a mapping of vGPU type: count ({} for none)");
	size_t n = n_pairs(vn);
	if (n > CARVE_VGPUDM_MAX_TYPES)
		return carve_yaml_err_code(y, -E2BIG, vn, path, "more than %d types", CARVE_VGPUDM_MAX_TYPES);
	if (!(s->counts = calloc(n ? n : 1, sizeof(*s->counts))))
		return oom(y);
	return carve_yaml_walk(y, vn, path, s, type_pair);
}

static int spec_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		     const char *kpath)
{
	struct spec *s = obj;
	if (strcmp(key, "devices") == 0) {
		s->has_devices = true;
		return parse_devices(y, s, vn, kpath);
	}
	if (strcmp(key, "device-filter") == 0)
		return parse_filter(y, s, vn, kpath);
	if (strcmp(key, "vgpu-devices") == 0) {
		s->has_vgpu = true;
		return parse_vgpu(y, s, vn, kpath);
	}
	return carve_yaml_unknown_key(y, kn, kpath);
}

/* The file ------------------------------------------------------------- */

static int parse_config(struct carve_yaml *y, struct config *c, yaml_node_t *seq, const char *path)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return carve_yaml_err(y, seq, path, "expected a list of specs (devices:, vgpu-devices:)");
	size_t n = n_items(seq);
	if (n == 0)
		return carve_yaml_err(y, seq, path, "at least one spec is required");
	if (n > CARVE_VGPUDM_MAX_SPECS)
		return carve_yaml_err_code(y, -E2BIG, seq, path, "more than %d specs", CARVE_VGPUDM_MAX_SPECS);
	if (!(c->v = calloc(n, sizeof(*c->v))))
		return oom(y);
	for (size_t i = 0; i < n; i++) {
		char ipath[200];
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		int r;
		yaml_node_t *sn = carve_yaml_node(y, seq->data.sequence.items.start[i], ipath, &r);
		if (!sn)
			return r;
		struct spec *s = &c->v[c->n++];
		s->line = carve_yaml_line(sn);
		if ((r = carve_yaml_walk(y, sn, ipath, s, spec_pair)) < 0)
			return r;
		if (!s->has_devices || !s->has_vgpu)
			return carve_yaml_err(y, sn, ipath, "missing key '%s'",
					      s->has_devices ? "vgpu-devices" : "devices");
	}
	return 0;
}

static int config_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		       const char *kpath)
{
	struct file *f = obj;
	size_t len = strlen(key);
	if (len == 0 || len > CARVE_VGPUDM_MAX_NAME)
		return carve_yaml_err(y, kn, kpath, "a configuration name has 1 to %d bytes", CARVE_VGPUDM_MAX_NAME);
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return carve_yaml_err(y, kn, kpath, "configuration name contains a control character");
	if (carve_strv_push(&f->names, key) < 0)
		return oom(y);
	bool selected = f->selector ? strcmp(key, f->selector) == 0 : f->n_configs == 1;
	struct config c = {0};
	int r = parse_config(y, &c, vn, kpath);
	if (r >= 0 && selected) {
		f->sel = c;
		f->found = true;
		snprintf(f->name, sizeof(f->name), "%s", key);
	} else {
		config_clear(&c);
	}
	return r;
}

static int top_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		    const char *kpath)
{
	struct file *f = obj;
	if (strcmp(key, "version") == 0) {
		const char *v;
		char b[40];
		int r = carve_yaml_scalar(y, vn, kpath, &v);
		if (r >= 0 && strcmp(v, "v1") != 0)
			r = carve_yaml_err(y, vn, kpath, "'%s': this carve reads vgpu-device-manager version v1",
					   shown(v, b, sizeof(b)));
		f->has_version = true;
		return r;
	}
	if (strcmp(key, "vgpu-configs") == 0) {
		f->has_configs = true;
		f->configs_line = carve_yaml_line(vn);
		if (vn->type != YAML_MAPPING_NODE)
			return carve_yaml_err(y, vn, kpath, "expected a mapping of configuration names to specs");
		f->n_configs = n_pairs(vn);
		if (f->n_configs == 0)
			return carve_yaml_err(y, vn, kpath, "at least one configuration is required");
		if (f->n_configs > CARVE_VGPUDM_MAX_CONFIGS)
			return carve_yaml_err_code(y, -E2BIG, vn, kpath, "more than %d configurations",
						   CARVE_VGPUDM_MAX_CONFIGS);
		return carve_yaml_walk(y, vn, kpath, f, config_pair);
	}
	return carve_yaml_unknown_key(y, kn, kpath);
}

/* "a, b, c, ... (N more)" within size. */
static void list_names(const struct carve_strv *names, char *buf, size_t size)
{
	size_t off = 0, i = 0;
	buf[0] = '\0';
	for (; i < names->n; i++) {
		char one[48];
		shown(names->v[i], one, sizeof(one));
		if (off + strlen(one) + 2 + 24 >= size)
			break;
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", one);
	}
	if (i < names->n)
		snprintf(buf + off, size - off, "%s... (%zu more)", i ? ", " : "", names->n - i);
}

static int selection_error(const struct file *f, const char *origin, struct carve_error *err)
{
	char list[240], b[72];
	list_names(&f->names, list, sizeof(list));
	if (!f->selector)
		return carve_error_set(err, -EINVAL, ID, "%s:%d: vgpu-configs: %zu configurations: select one of %s",
				       origin, f->configs_line, f->names.n, list);
	return carve_error_set(err, -EINVAL, ID, "%s:%d: vgpu-configs: no configuration '%s' (the file has %s)", origin,
			       f->configs_line, shown(f->selector, b, sizeof(b)), list);
}

static int parse_file(struct file *f, const char *text, size_t len, const char *origin, struct carve_error *err)
{
	struct carve_yaml y;
	int r = carve_yaml_open(&y, text, len, CARVE_VGPUDM_MAX_BYTES, origin, ID, err);
	int root_line = carve_yaml_line(y.root);
	if (r >= 0)
		r = carve_yaml_walk(&y, y.root, "", f, top_pair);
	carve_yaml_close(&y);
	if (r < 0)
		return r;
	if (!f->has_version)
		return carve_error_set(err, -EINVAL, ID, "%s:%d: missing key 'version' (v1)", origin, root_line);
	if (!f->has_configs)
		return carve_error_set(err, -EINVAL, ID, "%s:%d: missing key 'vgpu-configs'", origin, root_line);
	return f->found ? 0 : selection_error(f, origin, err);
}

/* The translation ------------------------------------------------------ */

static bool spec_selects(const struct spec *s, size_t i, const struct carve_vgpudm_gpu *g)
{
	bool match = s->n_filter == 0;
	for (size_t k = 0; k < s->n_filter && !match; k++)
		match = (s->filter[k] >> 16) == g->device && (s->filter[k] & 0xffff) == g->vendor;
	if (!match || s->all)
		return match;
	for (size_t k = 0; k < s->n_idx; k++)
		if (s->idx[k] == i)
			return true;
	return false;
}

/* The spec GPU i ends up with: the last that selects it (NULL: none);
 * *n_sel counts those that do. */
static const struct spec *spec_for(const struct config *c, size_t i, const struct carve_vgpudm_gpu *g, size_t *n_sel)
{
	const struct spec *last = NULL;
	*n_sel = 0;
	for (size_t k = 0; k < c->n; k++)
		if (spec_selects(&c->v[k], i, g)) {
			last = &c->v[k];
			(*n_sel)++;
		}
	return last;
}

static void emit_entry(FILE *m, const struct file *f, const char *pci, size_t i, const struct carve_vgpudm_gpu *g,
		       const struct spec *s, size_t n_sel)
{
	char name[72];
	shown(f->name, name, sizeof(name));
	fprintf(m, "  - select: {pci: \"%s\"}  # device %zu, 0x%04X%04X: vgpu-configs.%s[%zu], line %d", pci, i,
		g->device, g->vendor, name, (size_t)(s - f->sel.v), s->line);
	if (n_sel > 1)
		fprintf(m, " (the last of %zu specs that select it)", n_sel);
	fputs("\n    enabled-types: [", m);
	for (size_t k = 0; k < s->types.n; k++)
		fprintf(m, "%s\"%s\"", k ? ", " : "", s->types.v[k]);
	fputs(s->types.n ? "]  # vgpu-device-manager counts:" : "]  # vgpu-device-manager: no vGPU devices", m);
	for (size_t k = 0; k < s->types.n; k++)
		fprintf(m, " %s=%u", s->types.v[k], s->counts[k]);
	fputc('\n', m);
}

static int emit(const struct file *f, const char *origin, const struct carve_vgpudm_gpu *gpus,
		const char (*pci)[CARVE_PCI_STRLEN + 1], size_t n_gpus, char **out, struct carve_error *err)
{
	char *buf = NULL, o[200], name[72];
	size_t len = 0, entries = 0, n_sel;
	shown(f->name, name, sizeof(name));
	for (size_t i = 0; i < n_gpus; i++)
		entries += spec_for(&f->sel, i, &gpus[i], &n_sel) != NULL;
	if (entries > CARVE_HOSTCFG_MAX_ENTRIES)
		return carve_error_set(err, -E2BIG, ID, "%s: vgpu-configs.%s selects %zu GPUs, more than %d entries",
				       origin, name, entries, CARVE_HOSTCFG_MAX_ENTRIES);
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "%s: out of memory", origin);
	fprintf(m, "# carve host configuration: vgpu-device-manager config '%s' of %s\n", name,
		shown(origin, o, sizeof(o)));
	fputs("# The counts are not applied: carve creates vGPUs per VM.\nversion: 1\n", m);
	fputs(entries ? "gpus:\n" : "gpus: []  # no spec selects a GPU of this host\n", m);
	for (size_t i = 0; i < n_gpus; i++) {
		const struct spec *s = spec_for(&f->sel, i, &gpus[i], &n_sel);
		if (s)
			emit_entry(m, f, pci[i], i, &gpus[i], s, n_sel);
	}
	if (fclose(m) != 0) {
		free(buf);
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "%s: out of memory", origin);
	}
	if (len > CARVE_HOSTCFG_MAX_BYTES) {
		free(buf);
		return carve_error_set(err, -E2BIG, ID, "%s: vgpu-configs.%s: the translation is larger than %d bytes",
				       origin, name, CARVE_HOSTCFG_MAX_BYTES);
	}
	*out = buf;
	return 0;
}

static int check_gpus(const struct carve_vgpudm_gpu *gpus, size_t n_gpus, char (*pci)[CARVE_PCI_STRLEN + 1],
		      const char *origin, struct carve_error *err)
{
	if (n_gpus && !gpus)
		return carve_error_set(err, -EINVAL, "INTERNAL_ERROR", "%s: %zu GPUs but no list", origin, n_gpus);
	for (size_t i = 0; i < n_gpus; i++) {
		char b[sizeof(gpus[i].pci) + 1];
		if (!memchr(gpus[i].pci, '\0', sizeof(gpus[i].pci)) || carve_pci_normalize(gpus[i].pci, pci[i]) < 0)
			return carve_error_set(err, -EINVAL, "INTERNAL_ERROR", "%s: GPU %zu: '%s' is not a PCI address",
					       origin, i, shown(gpus[i].pci, b, sizeof(b)));
	}
	return 0;
}

int carve_vgpudm_translate(const char *text, size_t len, const char *origin, const char *selector,
			   const struct carve_vgpudm_gpu *gpus, size_t n_gpus, char **out, struct carve_error *err)
{
	*out = NULL;
	if (!origin)
		origin = "<vgpu-device-manager configuration>";
	_cleanup_free_ char(*pci)[CARVE_PCI_STRLEN + 1] = calloc(n_gpus ? n_gpus : 1, sizeof(*pci));
	if (!pci)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "%s: out of memory", origin);
	int r = check_gpus(gpus, n_gpus, pci, origin, err);
	if (r < 0)
		return r;
	struct file f = {.selector = selector && *selector ? selector : NULL};
	r = parse_file(&f, text, len, origin, err);
	if (r >= 0)
		r = emit(&f, origin, gpus, (const char(*)[CARVE_PCI_STRLEN + 1])pci, n_gpus, out, err);
	config_clear(&f.sel);
	carve_strv_clear(&f.names);
	return r;
}
