/* listing.c - write the sysfs tree of a listing: a YAML description of a
 * real host's devices as an operator published them (tests/fixtures/real/).
 *
 * Unlike a host profile, which the simulator turns into what the catalog
 * says such a host has, a listing is literal: every attribute file is given
 * with its text, and what the source did not show is simply not there
 * (a type without `name`, a GPU without numa_node).  The tool adds only the
 * structure the kernel always has: device directories, bus/pci/devices
 * links, driver and IOMMU group links both ways, physfn/virtfnN, each mdev
 * type's create file and devices/ directory, class/mdev_bus links and
 * existing mdevs (their directory, mdev_type link, remove file and
 * bus/mdev/devices link).
 *
 *   name: real-p100
 *   description: ...
 *   devices:
 *     - pci: "0000:3b:00.0"
 *       path: "pci0000:3a/0000:3a:00.0"  # parent under devices/ (default pci<dom>:<bus>)
 *       driver: nvidia                   # default: none bound
 *       iommu_group: 35                  # default: none
 *       physfn: "0000:26:00.0"           # a VF: physfn link and the PF's virtfn<vf_index>
 *       vf_index: 0
 *       files: {vendor: "0x10de", "nvidia/current_vgpu_type": "0"}
 *       mdev_types:
 *         nvidia-83: {name: GRID P100-1Q, available_instances: "0", description: "..."}
 *       mdevs:
 *         - {uuid: e55bf865-6983-4d53-967f-51e8a3bb0f57, type: nvidia-294}
 *
 * File texts are written as given plus a newline when they lack one.
 * Unknown keys, aliases and non-string file texts are refused with the key
 * named; every name is checked before it becomes a path (tree.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "listing.h"
#include "tree.h"
#include "util/cleanup.h"
#include "util/pci.h"
#include "util/uuid.h"

#define MAX_DEPTH 16

/* The YAML document as JSON: mappings -> objects, sequences -> arrays,
 * scalars -> strings.  No anchors, aliases or tags beyond the plain ones. */
static json_t *load_node(yaml_parser_t *p, yaml_event_t *ev, int depth, const char *file)
{
	json_t *out = NULL;
	if (depth > MAX_DEPTH) {
		fprintf(stderr, "carve-mkfixture: %s: nested too deep\n", file);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
	case YAML_ALIAS_EVENT:
		fprintf(stderr, "carve-mkfixture: %s:%zu: aliases are not accepted\n", file, ev->start_mark.line + 1);
		return NULL;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		out = map ? json_object() : json_array();
		for (;;) {
			yaml_event_t e;
			if (!yaml_parser_parse(p, &e)) {
				fprintf(stderr, "carve-mkfixture: %s:%zu: %s\n", file, p->problem_mark.line + 1,
					p->problem ? p->problem : "YAML error");
				json_decref(out);
				return NULL;
			}
			if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&e);
				return out;
			}
			if (!map) {
				json_t *v = load_node(p, &e, depth + 1, file);
				yaml_event_delete(&e);
				if (!v || json_array_append_new(out, v) < 0) {
					json_decref(out);
					return NULL;
				}
				continue;
			}
			if (e.type != YAML_SCALAR_EVENT) {
				fprintf(stderr, "carve-mkfixture: %s:%zu: keys must be plain strings\n", file,
					e.start_mark.line + 1);
				yaml_event_delete(&e);
				json_decref(out);
				return NULL;
			}
			char *key = strndup((const char *)e.data.scalar.value, e.data.scalar.length);
			size_t line = e.start_mark.line + 1;
			yaml_event_delete(&e);
			yaml_event_t ve;
			json_t *v = NULL;
			if (key && yaml_parser_parse(p, &ve)) {
				v = load_node(p, &ve, depth + 1, file);
				yaml_event_delete(&ve);
			}
			if (!key || !v || json_object_get(out, key)) {
				if (key && v)
					fprintf(stderr, "carve-mkfixture: %s:%zu: '%s' given twice\n", file, line, key);
				free(key);
				json_decref(v);
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, key, v);
			free(key);
		}
	}
	default:
		fprintf(stderr, "carve-mkfixture: %s:%zu: unexpected YAML event\n", file, ev->start_mark.line + 1);
		return NULL;
	}
}

static json_t *load_yaml(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "carve-mkfixture: cannot open %s: %m\n", path);
		return NULL;
	}
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	json_t *doc = NULL;
	yaml_event_t e;
	/* STREAM-START, DOCUMENT-START, the root node */
	for (int i = 0; i < 3; i++) {
		if (!yaml_parser_parse(&p, &e)) {
			fprintf(stderr, "carve-mkfixture: %s:%zu: %s\n", path, p.problem_mark.line + 1,
				p.problem ? p.problem : "YAML error");
			goto out;
		}
		if (i < 2) {
			yaml_event_delete(&e);
			continue;
		}
		doc = load_node(&p, &e, 0, path);
		yaml_event_delete(&e);
	}
out:
	yaml_parser_delete(&p);
	fclose(f);
	if (doc && !json_is_object(doc)) {
		fprintf(stderr, "carve-mkfixture: %s: the listing must be a mapping\n", path);
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

static const char *str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int bad(const char *file, const char *pci, const char *what)
{
	fprintf(stderr, "carve-mkfixture: %s: device %s: %s\n", file, pci ? pci : "?", what);
	return -EINVAL;
}

static bool keys_ok(json_t *o, const char *const *allowed, const char *file, const char *pci)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(allowed[i], k) == 0;
		if (!ok) {
			char msg[160];
			snprintf(msg, sizeof(msg), "unknown key '%.60s'", k);
			bad(file, pci, msg);
			return false;
		}
	}
	return true;
}

/* Write text as a file, with a final newline as sysfs attributes have. */
static int put_text(struct tree *t, const char *rel, json_t *v, const char *file, const char *pci)
{
	const char *text = json_string_value(v);
	if (!text)
		return bad(file, pci, "file texts must be strings");
	size_t n = strlen(text);
	return tree_put(t, rel, "%s%s", text, n && text[n - 1] == '\n' ? "" : "\n");
}

static int write_files(struct tree *t, const char *dir, json_t *files, const char *file, const char *pci)
{
	if (!files)
		return 0;
	if (!json_is_object(files))
		return bad(file, pci, "files must be a mapping of name: text");
	const char *k;
	json_t *v;
	json_object_foreach(files, k, v) {
		char rel[1024];
		snprintf(rel, sizeof(rel), "%s/%s", dir, k);
		TRY(put_text(t, rel, v, file, pci));
	}
	return 0;
}

/* out = the path from a file in dir back up to the tree's root, then
 * prefix + name: what a link in dir to a root-relative place holds. */
static void from_root(const char *dir, char *out, size_t n, const char *prefix, const char *name)
{
	size_t depth = 0, len = 0;
	for (const char *c = dir; *c; c++)
		depth += *c == '/';
	out[0] = '\0';
	for (size_t i = 0; i <= depth && len + 3 < n; i++, len += 3)
		memcpy(out + len, "../", 4);
	snprintf(out + len, n - len, "%s%s", prefix, name);
}

static int write_device(struct tree *t, json_t *d, const char *file)
{
	static const char *const keys[] = {"pci",   "path",       "driver", "iommu_group", "physfn",
					   "vf_index", "files", "mdev_types", "mdevs", NULL};
	const char *pci_in = str_of(d, "pci");
	char pci[13], dir[512], p[1024], target[1024];
	if (!json_is_object(d) || !pci_in || carve_pci_normalize(pci_in, pci) < 0)
		return bad(file, pci_in, "every device needs pci: a PCI address");
	if (!keys_ok(d, keys, file, pci))
		return -EINVAL;
	const char *path = str_of(d, "path");
	if (path)
		snprintf(dir, sizeof(dir), "devices/%s/%s", path, pci);
	else
		snprintf(dir, sizeof(dir), "devices/pci%.7s/%s", pci, pci);
	TRY(tree_mkdir(t, dir));
	TRY(write_files(t, dir, json_object_get(d, "files"), file, pci));
	/* ../../../ climbs from bus/pci/devices/X (or drivers/D/X: one more). */
	snprintf(p, sizeof(p), "bus/pci/devices/%s", pci);
	snprintf(target, sizeof(target), "../../../%s", dir);
	TRY(tree_link(t, p, target));
	const char *driver = str_of(d, "driver");
	if (driver) {
		snprintf(p, sizeof(p), "%s/driver", dir);
		from_root(dir, target, sizeof(target), "bus/pci/drivers/", driver);
		TRY(tree_link(t, p, target));
		snprintf(p, sizeof(p), "bus/pci/drivers/%s/%s", driver, pci);
		snprintf(target, sizeof(target), "../../../../%s", dir);
		TRY(tree_link(t, p, target));
	}
	const char *group = str_of(d, "iommu_group");
	if (group) {
		snprintf(p, sizeof(p), "%s/iommu_group", dir);
		from_root(dir, target, sizeof(target), "kernel/iommu_groups/", group);
		TRY(tree_link(t, p, target));
		snprintf(p, sizeof(p), "kernel/iommu_groups/%s/devices/%s", group, pci);
		snprintf(target, sizeof(target), "../../../../%s", dir);
		TRY(tree_link(t, p, target));
	}
	const char *physfn = str_of(d, "physfn");
	if (physfn) {
		char pf[13];
		const char *idx = str_of(d, "vf_index");
		if (carve_pci_normalize(physfn, pf) < 0 || !idx || strspn(idx, "0123456789") != strlen(idx) || !*idx)
			return bad(file, pci, "physfn needs a PCI address and vf_index a number");
		snprintf(p, sizeof(p), "%s/physfn", dir);
		snprintf(target, sizeof(target), "../%s", pf);
		TRY(tree_link(t, p, target));
		/* The PF is a sibling (same parent directory). */
		char pfdir[512];
		snprintf(pfdir, sizeof(pfdir), "%.*s/%s", (int)(strrchr(dir, '/') - dir), dir, pf);
		snprintf(p, sizeof(p), "%s/virtfn%s", pfdir, idx);
		snprintf(target, sizeof(target), "../%s", pci);
		TRY(tree_link(t, p, target));
	}
	json_t *types = json_object_get(d, "mdev_types");
	if (types) {
		if (!json_is_object(types))
			return bad(file, pci, "mdev_types must be a mapping of type id: files");
		const char *id;
		json_t *tf;
		json_object_foreach(types, id, tf) {
			char tdir[768];
			snprintf(tdir, sizeof(tdir), "%s/mdev_supported_types/%s", dir, id);
			TRY(tree_mkdir(t, tdir));
			TRY(write_files(t, tdir, tf, file, pci));
			snprintf(p, sizeof(p), "%s/create", tdir);
			TRY(tree_put_mode(t, p, 0200, "%s", ""));
			snprintf(p, sizeof(p), "%s/devices", tdir);
			TRY(tree_mkdir(t, p));
		}
		snprintf(p, sizeof(p), "class/mdev_bus/%s", pci);
		snprintf(target, sizeof(target), "../../%s", dir);
		TRY(tree_link(t, p, target));
	}
	json_t *mdevs = json_object_get(d, "mdevs");
	size_t i;
	json_t *m;
	if (mdevs && !json_is_array(mdevs))
		return bad(file, pci, "mdevs must be a list");
	json_array_foreach(mdevs, i, m) {
		const char *uuid = str_of(m, "uuid"), *type = str_of(m, "type");
		if (!uuid || !carve_uuid_valid(uuid) || !type || !json_object_get(types, type))
			return bad(file, pci, "an mdev needs a uuid and one of the device's mdev_types");
		snprintf(p, sizeof(p), "%s/mdev_supported_types/%s/devices/%s", dir, type, uuid);
		snprintf(target, sizeof(target), "../../../%s", uuid);
		TRY(tree_link(t, p, target));
		snprintf(p, sizeof(p), "%s/%s/mdev_type", dir, uuid);
		snprintf(target, sizeof(target), "../mdev_supported_types/%s", type);
		TRY(tree_link(t, p, target));
		snprintf(p, sizeof(p), "%s/%s/remove", dir, uuid);
		TRY(tree_put_mode(t, p, 0200, "%s", ""));
		snprintf(p, sizeof(p), "bus/mdev/devices/%s", uuid);
		snprintf(target, sizeof(target), "../../../%s/%s", dir, uuid);
		TRY(tree_link(t, p, target));
	}
	return 0;
}

int carve_listing_write(const char *listing, const char *outdir)
{
	_cleanup_json_ json_t *doc = load_yaml(listing);
	if (!doc)
		return -EINVAL;
	static const char *const keys[] = {"name", "description", "devices", NULL};
	if (!keys_ok(doc, keys, listing, "(top level)"))
		return -EINVAL;
	json_t *devs = json_object_get(doc, "devices");
	if (!json_is_array(devs))
		return bad(listing, "(top level)", "devices: a list is needed");
	struct tree t;
	int r = tree_open(&t, outdir);
	size_t i;
	json_t *d;
	json_array_foreach(devs, i, d) {
		if (r < 0)
			break;
		r = write_device(&t, d, listing);
	}
	if (r == 0)
		r = tree_finish(&t);
	tree_close(&t);
	return r;
}
