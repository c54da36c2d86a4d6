#include "nvsched.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/file.h"
#include "util/pci.h"
#include "util/str.h"

#define ID "NVSCHED_FILE_INVALID"
#define MAX_BYTES 16384

static const char *const policy_names[] = {
	[CARVE_NVSCHED_BEST_EFFORT] = "best-effort",
	[CARVE_NVSCHED_EQUAL_SHARE] = "equal-share",
	[CARVE_NVSCHED_FIXED_SHARE] = "fixed-share",
};

const char *carve_nvsched_policy_name(enum carve_nvsched_policy p)
{
	return (unsigned)p < CARVE_NVSCHED_POLICY_LAST ? policy_names[p] : "?";
}

int carve_nvsched_policy_from_name(const char *s)
{
	for (int i = 0; i < CARVE_NVSCHED_POLICY_LAST; i++)
		if (strcmp(s, policy_names[i]) == 0)
			return i;
	return -1;
}

uint32_t carve_nvsched_rmpvmrl(const struct carve_nvsched *s)
{
	uint32_t v = s->policy == CARVE_NVSCHED_EQUAL_SHARE ? 0x01 : s->policy == CARVE_NVSCHED_FIXED_SHARE ? 0x11 : 0;
	if (v && s->slice_ms)
		v |= s->slice_ms << 16;
	return v;
}

/* The inverse, for values carve writes; -1 for any other. */
static int from_rmpvmrl(uint32_t v, struct carve_nvsched *out)
{
	uint32_t low = v & 0xffff, slice = v >> 16;
	if (v == 0) {
		*out = (struct carve_nvsched){CARVE_NVSCHED_BEST_EFFORT, 0};
		return 0;
	}
	if ((low != 0x01 && low != 0x11) || slice > CARVE_NVSCHED_MAX_SLICE_MS)
		return -1;
	*out = (struct carve_nvsched){low == 0x01 ? CARVE_NVSCHED_EQUAL_SHARE : CARVE_NVSCHED_FIXED_SHARE, slice};
	return 0;
}

void carve_nvsched_describe(const struct carve_nvsched *s, char *buf, size_t size)
{
	char slice[32] = "";
	if (s->slice_ms)
		snprintf(slice, sizeof(slice), ", %u ms time slice", s->slice_ms);
	snprintf(buf, size, "%s%s (RmPVMRL=0x%0*x)", carve_nvsched_policy_name(s->policy), slice, s->slice_ms ? 8 : 2,
		 carve_nvsched_rmpvmrl(s));
}

struct table {
	char pci[CARVE_NVSCHED_MAX_GPUS][13];
	struct carve_nvsched s[CARVE_NVSCHED_MAX_GPUS];
	size_t n;
};

static const char prefix[] = "options nvidia NVreg_RegistryDwordsPerDevice=\"";

static int invalid(const char *path, struct carve_error *err, const char *what)
{
	return carve_error_set(err, -EINVAL, ID, "%s: %s; carve writes this file and reads back only what it wrote "
				 "(remove it, or move other options to another file)", path, what);
}

/* The file's entries into t; a missing file is an empty table. */
static int load(const char *path, struct table *t, struct carve_error *err)
{
	t->n = 0;
	_cleanup_free_ char *text = NULL;
	int r = carve_file_read(path, MAX_BYTES, true, NULL, &text, NULL, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	bool seen = false;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		size_t len = strlen(line);
		if (seen || strncmp(line, prefix, sizeof(prefix) - 1) != 0 || len < sizeof(prefix) || line[len - 1] != '"')
			return invalid(path, err, "not the one options line carve writes");
		seen = true;
		line[len - 1] = '\0';
		char *items = line + sizeof(prefix) - 1;
		for (char *s2 = NULL, *item = strtok_r(items, ";", &s2); item; item = strtok_r(NULL, ";", &s2)) {
			char *val = strtok_r(NULL, ";", &s2);
			uint32_t v;
			if (strncmp(item, "pci=", 4) != 0 || !carve_pci_valid(item + 4) || !val ||
			    strncmp(val, "RmPVMRL=", 8) != 0 || carve_parse_hex_u32(val + 8, &v) < 0)
				return invalid(path, err, "expected pci=ADDRESS;RmPVMRL=VALUE pairs");
			if (t->n == CARVE_NVSCHED_MAX_GPUS)
				return invalid(path, err, "too many GPUs");
			if (from_rmpvmrl(v, &t->s[t->n]) < 0)
				return invalid(path, err, "an RmPVMRL value carve does not write");
			carve_pci_normalize(item + 4, t->pci[t->n]);
			t->n++;
		}
	}
	return 0;
}

/* dir's file into *path and a new *t. */
static int load_dir(const char *dir, char **path, struct table **t, struct carve_error *err)
{
	*path = carve_strdupf("%s/%s", dir, CARVE_NVSCHED_FILE);
	*t = calloc(1, sizeof(**t));
	if (!*path || !*t)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	return load(*path, *t, err);
}

int carve_nvsched_get(const char *dir, const char *pci, struct carve_nvsched *out, struct carve_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ struct table *t = NULL;
	int r = load_dir(dir, &path, &t, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->pci[i], pci) == 0) {
			*out = t->s[i];
			return 1;
		}
	return 0;
}

int carve_nvsched_set(const char *dir, const char *pci, const struct carve_nvsched *s, struct carve_error *err)
{
	if (!carve_pci_valid(pci))
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address '%.16s'", pci);
	if (s && ((unsigned)s->policy >= CARVE_NVSCHED_POLICY_LAST || s->slice_ms > CARVE_NVSCHED_MAX_SLICE_MS ||
		  (s->policy == CARVE_NVSCHED_BEST_EFFORT && s->slice_ms)))
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "invalid scheduler setting");
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ struct table *t = NULL;
	int r = load_dir(dir, &path, &t, err);
	if (r < 0)
		return r;
	char norm[13];
	carve_pci_normalize(pci, norm);
	size_t i = 0;
	while (i < t->n && strcmp(t->pci[i], norm) != 0)
		i++;
	if (!s && i == t->n)
		return 0;
	if (!s) {
		memmove(&t->pci[i], &t->pci[i + 1], (t->n - i - 1) * sizeof(t->pci[0]));
		memmove(&t->s[i], &t->s[i + 1], (t->n - i - 1) * sizeof(t->s[0]));
		t->n--;
	} else {
		if (i == t->n && t->n == CARVE_NVSCHED_MAX_GPUS)
			return carve_error_set(err, -E2BIG, ID, "%s: more than %d GPUs", path, CARVE_NVSCHED_MAX_GPUS);
		if (i == t->n)
			t->n++;
		snprintf(t->pci[i], sizeof(t->pci[i]), "%s", norm);
		t->s[i] = *s;
	}
	if (t->n == 0) {
		if (unlink(path) < 0 && errno != ENOENT)
			return carve_error_set(err, -errno, "FILE_WRITE_FAILED", "cannot remove %s: %s", path,
					       strerror(errno));
		return 0;
	}
	char buf[MAX_BYTES];
	size_t off = (size_t)snprintf(buf, sizeof(buf),
				      "# Written by carve host-apply (docs/host-config.md): the NVIDIA vGPU scheduler\n"
				      "# policy per GPU.  Takes effect when the nvidia module loads again.\n%s",
				      prefix);
	for (size_t k = 0; k < t->n; k++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%spci=%s;RmPVMRL=0x%0*x", k ? ";" : "", t->pci[k],
					t->s[k].slice_ms ? 8 : 2, carve_nvsched_rmpvmrl(&t->s[k]));
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "\"\n");
	return carve_file_write_atomic(path, buf, off, NULL, err);
}
