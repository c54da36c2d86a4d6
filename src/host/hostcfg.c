#include "hostcfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "host.h"
#include "util/cleanup.h"
#include "util/pci.h"
#include "util/yamldoc.h"

#define ID "HOST_CONFIG_INVALID"

void carve_hostcfg_clear(struct carve_hostcfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		carve_strv_clear(&c->v[i].types);
		carve_strv_clear(&c->v[i].mig);
	}
	free(c->v);
	*c = (struct carve_hostcfg){0};
}

static int oom(struct carve_yaml *y)
{
	return carve_error_set(y->err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

static int select_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		       const char *kpath)
{
	struct carve_hostcfg_entry *e = obj;
	if (e->select != CARVE_HOSTCFG_ALL)
		return carve_yaml_err(y, kn, kpath, "select takes one of pci, board, device-id");
	if (strcmp(key, "pci") == 0) {
		char s[32];
		int r = carve_yaml_str(y, vn, kpath, s, sizeof(s));
		if (r < 0)
			return r;
		if (carve_pci_normalize(s, e->pci) < 0)
			return carve_yaml_err(y, vn, kpath, "'%s' is not a PCI address", s);
		e->select = CARVE_HOSTCFG_PCI;
		return 0;
	}
	if (strcmp(key, "board") == 0) {
		int r = carve_yaml_str(y, vn, kpath, e->board, sizeof(e->board));
		if (r >= 0 && !e->board[0])
			r = carve_yaml_err(y, vn, kpath, "empty board name");
		e->select = CARVE_HOSTCFG_BOARD;
		return r;
	}
	if (strcmp(key, "device-id") == 0) {
		e->select = CARVE_HOSTCFG_DEVICE_ID;
		return carve_yaml_hex16_pair(y, vn, kpath, &e->vendor, &e->device);
	}
	return carve_yaml_unknown_key(y, kn, kpath);
}

/* A list of strings into out (has: it was given): at most max items of
 * fewer than size bytes each, with unique none twice; check (may be NULL)
 * refuses an item with a message of its own. */
static int parse_list(struct carve_yaml *y, yaml_node_t *seq, const char *path, const char *what, size_t max,
		      size_t size, bool unique, const char *(*check)(const char *item), bool *has, struct carve_strv *out)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return carve_yaml_err(y, seq, path, "expected a list of %s", what);
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n > max)
		return carve_yaml_err_code(y, -E2BIG, seq, path, "more than %zu %s", max, what);
	*has = true;
	for (size_t i = 0; i < n; i++) {
		char ipath[180], item[128];
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		int r;
		yaml_node_t *in = carve_yaml_node(y, seq->data.sequence.items.start[i], ipath, &r);
		if (!in || (r = carve_yaml_str(y, in, ipath, item, size < sizeof(item) ? size : sizeof(item))) < 0)
			return r;
		const char *why = !item[0] ? "empty" : check ? check(item) : NULL;
		if (why)
			return carve_yaml_err(y, in, ipath, "'%s': %s", item, why);
		if (unique && carve_strv_contains(out, item))
			return carve_yaml_err(y, in, ipath, "'%s' listed twice", item);
		if (carve_strv_push(out, item) < 0)
			return oom(y);
	}
	return 0;
}

static int sched_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		      const char *kpath)
{
	struct carve_hostcfg_entry *e = obj;
	if (strcmp(key, "policy") == 0) {
		const char *name;
		int r = carve_yaml_scalar(y, vn, kpath, &name);
		if (r < 0)
			return r;
		int p = carve_nvsched_policy_from_name(name);
		if (p < 0)
			return carve_yaml_err(y, vn, kpath, "'%.32s': expected best-effort, equal-share or fixed-share", name);
		e->sched.policy = (enum carve_nvsched_policy)p;
		e->has_sched = true;
		return 0;
	}
	if (strcmp(key, "time-slice-ms") == 0) {
		int r = carve_yaml_u32(y, vn, kpath, CARVE_NVSCHED_MAX_SLICE_MS, &e->sched.slice_ms);
		if (r >= 0 && e->sched.slice_ms == 0)
			r = carve_yaml_err(y, vn, kpath, "a time slice of 1 to %d ms", CARVE_NVSCHED_MAX_SLICE_MS);
		return r;
	}
	return carve_yaml_unknown_key(y, kn, kpath);
}

static int parse_sched(struct carve_yaml *y, struct carve_hostcfg_entry *e, yaml_node_t *kn, yaml_node_t *vn,
		       const char *kpath)
{
	int r = carve_yaml_walk(y, vn, kpath, e, sched_pair);
	if (r < 0)
		return r;
	if (!e->has_sched)
		return carve_yaml_err(y, kn, kpath, "missing key 'policy'");
	if (e->sched.policy == CARVE_NVSCHED_BEST_EFFORT && e->sched.slice_ms)
		return carve_yaml_err(y, vn, kpath, "best-effort has no time slice");
	return 0;
}

/* "<compute slices>g.<GB>gb", as nvidia-smi names GPU instance profiles. */
static const char *mig_profile_check(const char *s)
{
	unsigned g, gb;
	int n = 0;
	bool ok = sscanf(s, "%1ug.%3ugb%n", &g, &gb, &n) == 2 && n > 0 && s[n] == '\0' && g >= 1 && gb >= 1 &&
		  s[0] != '0';
	return ok ? NULL : "not a GPU instance profile (like 1g.5gb)";
}

static int params_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		       const char *kpath)
{
	struct carve_hostcfg_entry *e = obj;
	bool key_ok = key[0] >= 'a' && key[0] <= 'z' && strlen(key) <= 64;
	for (const char *c = key; key_ok && *c; c++)
		key_ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
	if (!key_ok)
		return carve_yaml_err(y, kn, kpath, "'%.64s' is not a vgpu_params key ([a-z][a-z0-9_]*)", key);
	char value[130];
	int r = carve_yaml_str(y, vn, kpath, value, sizeof(value));
	if (r < 0)
		return r;
	size_t off = strlen(e->params);
	int n = snprintf(e->params + off, sizeof(e->params) - off, "%s%s=%s", off ? "," : "", key, value);
	if (n < 0 || (size_t)n >= sizeof(e->params) - off)
		return carve_yaml_err_code(y, -E2BIG, vn, kpath, "vgpu-params longer than %zu characters",
					   sizeof(e->params) - 1);
	if (!value[0] || strpbrk(value, ",=") || !carve_vgpu_params_valid(e->params))
		return carve_yaml_err(y, vn, kpath, "'%.64s' is not a vgpu_params value ([A-Za-z0-9_.:-]+)", value);
	return 0;
}

static int entry_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		      const char *kpath)
{
	struct carve_hostcfg_entry *e = obj;
	if (strcmp(key, "select") == 0) {
		if (vn->type == YAML_SCALAR_NODE) {
			const char *s;
			int r = carve_yaml_scalar(y, vn, kpath, &s);
			if (r >= 0 && strcmp(s, "all") != 0)
				r = carve_yaml_err(y, vn, kpath, "'%.64s': expected all, or pci:, board: or device-id:", s);
			return r;
		}
		int r = carve_yaml_walk(y, vn, kpath, e, select_pair);
		if (r >= 0 && e->select == CARVE_HOSTCFG_ALL)
			r = carve_yaml_err(y, vn, kpath, "empty selection: use 'select: all'");
		return r;
	}
	if (strcmp(key, "sriov-vfs") == 0) {
		e->has_vfs = true;
		return carve_yaml_u32(y, vn, kpath, 4096, &e->sriov_vfs);
	}
	if (strcmp(key, "enabled-types") == 0)
		return parse_list(y, vn, kpath, "vGPU types", CARVE_HOSTCFG_MAX_TYPES, 128, true, NULL,
				  &e->has_types, &e->types);
	if (strcmp(key, "scheduler") == 0)
		return parse_sched(y, e, kn, vn, kpath);
	if (strcmp(key, "mig") == 0)
		return parse_list(y, vn, kpath, "GPU instance profiles (1g.5gb; [] for MIG off)", CARVE_HOSTCFG_MAX_MIG, 32,
				  false, mig_profile_check, &e->has_mig, &e->mig);
	if (strcmp(key, "vgpu-params") == 0) {
		e->has_params = true;
		return carve_yaml_walk(y, vn, kpath, e, params_pair);
	}
	if (strcmp(key, "mixed-size") == 0) {
		e->has_mixed = true;
		return carve_yaml_bool(y, vn, kpath, &e->mixed);
	}
	return carve_yaml_unknown_key(y, kn, kpath);
}

static int parse_gpus(struct carve_yaml *y, struct carve_hostcfg *c, yaml_node_t *seq, const char *path)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return carve_yaml_err(y, seq, path, "expected a list of GPU entries");
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n > CARVE_HOSTCFG_MAX_ENTRIES)
		return carve_yaml_err_code(y, -E2BIG, seq, path, "more than %d entries", CARVE_HOSTCFG_MAX_ENTRIES);
	if (!(c->v = calloc(n ? n : 1, sizeof(*c->v))))
		return oom(y);
	for (size_t i = 0; i < n; i++) {
		char ipath[64];
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		int r;
		yaml_node_t *en = carve_yaml_node(y, seq->data.sequence.items.start[i], ipath, &r);
		if (!en)
			return r;
		struct carve_hostcfg_entry *e = &c->v[c->n++];
		e->line = carve_yaml_line(en);
		bool has_select = false;
		if (en->type == YAML_MAPPING_NODE)
			for (yaml_node_pair_t *p = en->data.mapping.pairs.start; p < en->data.mapping.pairs.top; p++) {
				yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
				has_select |= k && k->type == YAML_SCALAR_NODE &&
					      strcmp((const char *)k->data.scalar.value, "select") == 0;
			}
		if ((r = carve_yaml_walk(y, en, ipath, e, entry_pair)) < 0)
			return r;
		if (!has_select)
			return carve_yaml_err(y, en, ipath, "missing key 'select' (all, pci:, board: or device-id:)");
	}
	return 0;
}

static int top_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		    const char *kpath)
{
	struct carve_hostcfg *c = obj;
	if (strcmp(key, "version") == 0) {
		uint32_t v;
		int r = carve_yaml_u32(y, vn, kpath, 1000, &v);
		if (r >= 0 && v != 1)
			r = carve_yaml_err(y, vn, kpath, "version %u: this carve reads version 1", v);
		return r;
	}
	if (strcmp(key, "gpus") == 0)
		return parse_gpus(y, c, vn, kpath);
	return carve_yaml_unknown_key(y, kn, kpath);
}

int carve_hostcfg_parse(const char *text, size_t len, const char *origin, struct carve_hostcfg *out,
			struct carve_error *err)
{
	*out = (struct carve_hostcfg){0};
	if (!origin)
		origin = "<host configuration>";
	struct carve_yaml y;
	struct carve_hostcfg c = {0};
	int r = carve_yaml_open(&y, text, len, CARVE_HOSTCFG_MAX_BYTES, origin, ID, err);
	int root_line = carve_yaml_line(y.root);
	if (r >= 0)
		r = carve_yaml_walk(&y, y.root, "", &c, top_pair);
	carve_yaml_close(&y);
	if (r >= 0 && !c.v)
		r = carve_error_set(err, -EINVAL, ID, "%s:%d: missing key 'gpus'", origin, root_line);
	if (r < 0) {
		carve_hostcfg_clear(&c);
		return r;
	}
	*out = c;
	return 0;
}

bool carve_hostcfg_selects(const struct carve_hostcfg_entry *e, const char *pci, const char *board,
			   const char *board_short, uint16_t vendor, uint16_t device)
{
	switch (e->select) {
	case CARVE_HOSTCFG_ALL:
		return true;
	case CARVE_HOSTCFG_PCI:
		return strcmp(e->pci, pci) == 0;
	case CARVE_HOSTCFG_BOARD:
		return (board && strcasecmp(e->board, board) == 0) || (board_short && strcasecmp(e->board, board_short) == 0);
	case CARVE_HOSTCFG_DEVICE_ID:
		return e->vendor == vendor && e->device == device;
	}
	return false;
}
