/* test-faults.c - injected sysfs faults (src/util/sysfs.h's fault plan) on
 * AMD MxGPU VFs, walked over vm-start, vm-shutdown and host-reconcile
 * through the verbs - what tests/testbed/guest/fault-walk-*.sh do on the
 * real kernel for the NVIDIA mechanisms, where no AMD PF can exist.
 *
 * The tree is carve-mkfixture's for an S7150 split into four VFs, the first
 * in use at boot (a device carve did not make).  The write hook plays the PCI
 * core's part in handing a VF out: driver_override is stored (the real
 * write), the driver's unbind removes the VF's driver links, drivers_probe
 * binds an unbound VF to its override.  Each verb runs on a context of its
 * own, as a CLI process would, with the N-th sysfs operation failing, for
 * every N the verb makes, the fault kinds (EIO, EBUSY, ENODEV, ENOSPC,
 * short) taking turns - or, with CARVE_FAULT_WALK=full, each of them at
 * every N.  After each: a reconcile with no fault, then no VM half started or
 * stopped, an acknowledged start running and an acknowledged shutdown
 * halted, the VFs bound to vfio-pci exactly the boot VF and those of the
 * running VMs' vGPUs; a refusal names the file and the errno.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/host.h"
#include "ops/ops.h"
#include "util/cleanup.h"
#include "util/fault.h"
#include "util/str.h"
#include "util/sysfs.h"

static const char PROFILE[] = "name: s7150x4\n"
			      "gpus:\n"
			      "  - board: AMD FirePro S7150\n"
			      "    pci: \"0000:04:00.0\"\n"
			      "    numa_node: 0\n"
			      "    subsystem: \"1002:030c\"\n"
			      "    vfs: 16\n"
			      "    numvfs: 4\n"
			      "    vgpus:\n"
			      "      - {type: s7150-4}\n";
static const char *const VFS[] = {"0000:04:02.0", "0000:04:02.1", "0000:04:02.2", "0000:04:02.3"};
#define BOOT_VF "0000:04:02.0"

static char root[PATH_MAX], db[PATH_MAX];

/* ---- the PCI core's part, on the fixture tree ---- */

static char *dev_dir(const char *pci)
{
	_cleanup_free_ char *link = carve_strdupf("%s/bus/pci/devices/%s", root, pci);
	return realpath(link, NULL);
}

static char *bound_driver(const char *pci)
{
	_cleanup_free_ char *d = dev_dir(pci);
	_cleanup_free_ char *link = carve_strdupf("%s/driver", d ? d : "/nonexistent");
	char buf[PATH_MAX];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(basename(buf));
}

static int pci_hook(const char *devdir, const char *attr, const char *value, void *data)
{
	(void)data;
	char pci[32];
	if (strcmp(attr, "unbind") == 0 && sscanf(devdir, "bus/pci/devices/%12[0-9a-f:.]/driver", pci) == 1) {
		_cleanup_free_ char *drv = bound_driver(pci);
		if (!drv || strcmp(pci, value) != 0)
			return 0; /* the real write fails as the kernel's would: no such driver link */
		_cleanup_free_ char *d = dev_dir(pci);
		_cleanup_free_ char *l1 = carve_strdupf("%s/driver", d);
		_cleanup_free_ char *l2 = carve_strdupf("%s/bus/pci/drivers/%s/%s", root, drv, pci);
		return unlink(l1) == 0 && unlink(l2) == 0 ? 1 : -EIO;
	}
	if (strcmp(devdir, "bus/pci") == 0 && strcmp(attr, "drivers_probe") == 0) {
		snprintf(pci, sizeof(pci), "%s", value);
		_cleanup_free_ char *d = dev_dir(pci);
		if (!d)
			return -ENODEV;
		_cleanup_free_ char *drv = bound_driver(pci);
		if (drv)
			return 1; /* bound already: the probe does nothing */
		_cleanup_free_ char *ovr_path = carve_strdupf("%s/driver_override", d);
		char ovr[64] = "";
		FILE *f = fopen(ovr_path, "r");
		if (f) {
			if (!fgets(ovr, sizeof(ovr), f))
				ovr[0] = '\0';
			fclose(f);
		}
		ovr[strcspn(ovr, "\n")] = '\0';
		if (!ovr[0] || strcmp(ovr, "(null)") == 0)
			return 1; /* no driver claims a bare VF */
		_cleanup_free_ char *target = carve_strdupf("../../../bus/pci/drivers/%s", ovr);
		_cleanup_free_ char *l1 = carve_strdupf("%s/driver", d);
		_cleanup_free_ char *l2 = carve_strdupf("%s/bus/pci/drivers/%s/%s", root, ovr, pci);
		_cleanup_free_ char *back = carve_strdupf("../../../../devices/pci0000:04/%s", pci);
		return symlink(target, l1) == 0 && symlink(back, l2) == 0 ? 1 : -EIO;
	}
	return 0;
}

/* ---- the verbs, each on a context of its own ---- */

static int run_verb(const char *verb, json_t *args, json_t **res, struct carve_error *err)
{
	struct carve_ctx ctx = {.hostname = "amd-host", .backend_desc = "sysfs:fixture"};
	json_t *out = NULL;
	int r = carve_host_open_sysfs(root, NULL, &ctx.host, err);
	if (r >= 0 && (r = carve_ctx_open_store(&ctx, db, err)) >= 0)
		r = carve_ops_call(&ctx, verb, args, &out, err);
	carve_ctx_close(&ctx);
	carve_host_free(ctx.host);
	json_decref(args);
	if (res)
		*res = out;
	else
		json_decref(out);
	return r;
}

static json_t *must(const char *verb, json_t *args)
{
	json_t *res = NULL;
	struct carve_error err = {0};
	if (run_verb(verb, args, &res, &err) < 0)
		fail_msg("%s: %s", verb, err.message);
	return res;
}

static char *new_vm(const char *name, const char *group, const char *type)
{
	_cleanup_json_ json_t *vm = must("vm-create", json_pack("{s:s}", "name-label", name));
	char *uuid = strdup(json_string_value(json_object_get(vm, "uuid")));
	json_decref(must("vgpu-create",
			 json_pack("{s:s, s:s, s:s}", "vm-uuid", uuid, "gpu-group-uuid", group, "vgpu-type-uuid", type)));
	return uuid;
}

static char *power_of(const char *vm)
{
	_cleanup_json_ json_t *r = must("vm-param-get", json_pack("{s:s, s:s}", "uuid", vm, "param-name", "power-state"));
	return strdup(json_string_value(json_object_get(r, "value")));
}

static void set_power(const char *vm, const char *want)
{
	_cleanup_free_ char *have = power_of(vm);
	if (strcmp(have, want) != 0)
		json_decref(must(strcmp(want, "running") == 0 ? "vm-start" : "vm-shutdown", json_pack("{s:s}", "uuid", vm)));
}

/* The VFs carve's running VMs hold (and the boot VF), as the last audit
 * found them. */
static bool held[4];

static char *audit_after(const char *vm, const char *ack);

/* The audit; a description of what is wrong, or NULL. */
static char *audit(const char *vm, const char *ack)
{
	struct carve_error err = {0};
	_cleanup_json_ json_t *rec_out = NULL;
	if (run_verb("host-reconcile", json_object(), &rec_out, &err) < 0)
		return carve_strdupf("reconcile failed: %s", err.message);
	_cleanup_free_ char *acts = json_dumps(rec_out, JSON_COMPACT);
	_cleanup_free_ char *p = audit_after(vm, ack);
	return p ? carve_strdupf("%s (reconcile: %s)", p, acts) : NULL;
}

static char *audit_after(const char *vm, const char *ack)
{
	_cleanup_json_ json_t *vms = must("vm-list", json_pack("{s:s}", "params", "uuid,power-state"));
	_cleanup_json_ json_t *vgpus = must("vgpu-list", json_pack("{s:s}", "params", "uuid,vm-uuid,device-pci"));
	bool *want = held;
	memcpy(held, (bool[4]){true, false, false, false}, sizeof(held)); /* the boot VF stays bound */
	json_t *rec, *g;
	size_t i, k;
	json_array_foreach(json_object_get(vms, "records"), i, rec) {
		const char *u = json_string_value(json_object_get(rec, "uuid"));
		const char *p = json_string_value(json_object_get(rec, "power-state"));
		if (strcmp(p, "running") != 0 && strcmp(p, "halted") != 0)
			return carve_strdupf("VM %s is %s after reconcile", u, p);
		if (strcmp(u, vm) == 0 && strcmp(ack, "any") != 0 && strcmp(p, ack) != 0)
			return carve_strdupf("VM is %s, acknowledged %s", p, ack);
		if (strcmp(p, "running") != 0)
			continue;
		json_array_foreach(json_object_get(vgpus, "records"), k, g)
			if (strcmp(json_string_value(json_object_get(g, "vm-uuid")), u) == 0)
				for (size_t v = 0; v < ARRAY_SIZE(VFS); v++)
					if (strcmp(json_string_value(json_object_get(g, "device-pci")), VFS[v]) == 0) {
						if (want[v])
							return carve_strdupf("VF %s held by two vGPUs", VFS[v]);
						want[v] = true;
					}
	}
	for (size_t v = 0; v < ARRAY_SIZE(VFS); v++) {
		_cleanup_free_ char *drv = bound_driver(VFS[v]);
		bool bound = drv && strcmp(drv, "vfio-pci") == 0;
		if (bound != want[v])
			return carve_strdupf("VF %s is %s, carve's running VMs %s it", VFS[v],
					     bound ? "bound to vfio-pci" : "free", want[v] ? "hold" : "do not hold");
	}
	return NULL;
}

static char oplog[PATH_MAX];

/* The operation the last run's fault hit ("<class> <path>"), from the log. */
static char *faulted_op(void)
{
	FILE *f = fopen(oplog, "r");
	char line[1024], *hit = NULL;
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, " FAULT")) {
			free(hit);
			line[strcspn(line, "\n")] = '\0';
			hit = strdup(strchr(line, ' ') ? strchr(line, ' ') + 1 : line);
		}
	if (f)
		fclose(f);
	return hit ? hit : strdup("(nothing)");
}

/* After a failed audit: unbind what carve does not hold, so that the next
 * run is judged on its own. */
static void repair(void)
{
	for (size_t v = 1; v < ARRAY_SIZE(VFS); v++) {
		_cleanup_free_ char *drv = bound_driver(VFS[v]);
		_cleanup_free_ char *dir = carve_strdupf("bus/pci/devices/%s/driver", VFS[v]);
		if (drv && !held[v])
			pci_hook(dir, "unbind", VFS[v], NULL);
	}
}

static const int KINDS[] = {-EIO, -EBUSY, -ENODEV, -ENOSPC, CARVE_FAULT_SHORT};

struct walk_figures {
	unsigned long ops, runs, refused, named, clean;
};

/* Walk verb on vm from the state prepare() leaves, ack the state a success
 * acknowledges. */
static json_t *args_of(const char *verb, const char *vm)
{
	return strcmp(verb, "host-reconcile") == 0 ? json_object() : json_pack("{s:s}", "uuid", vm);
}

static struct walk_figures walk(const char *verb, const char *vm, void (*prepare)(const char *vm), const char *ack)
{
	struct walk_figures w = {0};
	struct carve_error err = {0};
	prepare(vm);
	carve_sysfs_set_fault_plan(0, 0, CARVE_SYSFS_OP_ANY);
	assert_int_equal(run_verb(verb, args_of(verb, vm), NULL, &err), 0);
	w.ops = carve_sysfs_fault_count();
	/* CARVE_FAULT_WALK=full: every fault kind at every operation; by
	 * default (make check) the kinds take turns, a fifth of the runs */
	bool full = getenv("CARVE_FAULT_WALK") && strcmp(getenv("CARVE_FAULT_WALK"), "full") == 0;
	for (unsigned long n = 1; n <= w.ops; n++)
		for (size_t k = full ? 0 : n % ARRAY_SIZE(KINDS); k < (full ? ARRAY_SIZE(KINDS) : n % ARRAY_SIZE(KINDS) + 1);
		     k++) {
			prepare(vm);
			carve_error_clear(&err);
			unlink(oplog);
			carve_sysfs_set_fault_plan(n, KINDS[k], CARVE_SYSFS_OP_ANY);
			int r = run_verb(verb, args_of(verb, vm), NULL, &err);
			bool fired = carve_sysfs_fault_count() >= n;
			carve_sysfs_set_fault_plan(0, 0, CARVE_SYSFS_OP_ANY);
			w.runs++;
			if (r < 0 && fired) {
				w.refused++;
				const char *why = KINDS[k] == CARVE_FAULT_SHORT ? "short write" : strerror(-KINDS[k]);
				/* a read's "short" is EIO */
				if (strstr(err.message, root) &&
				    (strstr(err.message, why) || strstr(err.message, strerror(EIO))))
					w.named++;
				else
					print_message("%s N=%lu %s: refused without naming the fault: %s\n", verb, n,
						      carve_fault_name(KINDS[k]), err.message);
			}
			_cleanup_free_ char *problem = audit(vm, r >= 0 ? ack : "any");
			if (problem) {
				_cleanup_free_ char *op = faulted_op();
				print_error("%s N=%lu %s on %s (exit %d): %s\n", verb, n, carve_fault_name(KINDS[k]), op, r,
					    problem);
				repair();
			} else {
				w.clean++;
			}
		}
	print_message("fault walk amd-mxgpu %s: operations=%lu runs=%lu refused=%lu named=%lu clean=%lu\n", verb, w.ops,
		      w.runs, w.refused, w.named, w.clean);
	return w;
}

static void halted(const char *vm)
{
	set_power(vm, "halted");
}

static void running(const char *vm)
{
	set_power(vm, "running");
}

/* Its VF unbound behind carve's back, as a reboot or an operator would. */
static void lost(const char *vm)
{
	running(vm);
	_cleanup_json_ json_t *g = must("vgpu-list", json_pack("{s:s, s:s}", "vm-uuid", vm, "params", "device-pci"));
	const char *pci = json_string_value(json_object_get(json_array_get(json_object_get(g, "records"), 0), "device-pci"));
	_cleanup_free_ char *dir = carve_strdupf("bus/pci/devices/%s/driver", pci);
	assert_int_equal(pci_hook(dir, "unbind", pci, NULL), 1);
}

static void test_amd_walk(void **state)
{
	(void)state;
	char tmp[] = "/tmp/carve-faults-XXXXXX";
	assert_non_null(mkdtemp(tmp));
	_cleanup_free_ char *prof = carve_strdupf("%s/s7150x4.yaml", tmp);
	FILE *f = fopen(prof, "w");
	assert_non_null(f);
	fputs(PROFILE, f);
	fclose(f);
	snprintf(root, sizeof(root), "%s/sys", tmp);
	snprintf(db, sizeof(db), "%s/carve.db", tmp);
	const char *mk = getenv("CARVE_MKFIXTURE");
	pid_t pid = fork();
	if (pid == 0) {
		execl(mk, mk, prof, root, (char *)NULL);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	carve_sysfs_set_write_fault(pci_hook, NULL);

	_cleanup_json_ json_t *pg = must("pgpu-list", json_pack("{s:s, s:s}", "pci-id", "0000:04:00.0", "params", "all"));
	json_t *p0 = json_array_get(json_object_get(pg, "records"), 0);
	const char *group = json_string_value(json_object_get(p0, "gpu-group-uuid"));
	_cleanup_json_ json_t *types = must("vgpu-type-list", json_pack("{s:s}", "params", "all"));
	const char *type = NULL;
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(types, "records"), i, t)
		if (!type && strcmp(json_string_value(json_object_get(t, "implementation")), "amd-mxgpu") == 0)
			type = json_string_value(json_object_get(t, "uuid"));
	assert_non_null(type);
	_cleanup_free_ char *by = new_vm("bystander", group, type);
	running(by);
	_cleanup_free_ char *vm = new_vm("walked", group, type);
	_cleanup_free_ char *clean = audit(vm, "halted");
	assert_null(clean);

	struct walk_figures a = walk("vm-start", vm, halted, "running");
	struct walk_figures b = walk("vm-shutdown", vm, running, "halted");
	struct walk_figures c = walk("host-reconcile", vm, lost, "running");
	assert_true(a.runs >= a.ops && b.runs >= b.ops && c.runs >= c.ops && a.ops > 20);
	assert_int_equal(a.clean, a.runs);
	assert_int_equal(b.clean, b.runs);
	assert_int_equal(c.clean, c.runs);
	assert_int_equal(a.named + b.named + c.named, a.refused + b.refused + c.refused);
	/* the bystander kept its VF throughout */
	_cleanup_free_ char *bp = power_of(by);
	assert_string_equal(bp, "running");

	/* Both VMs' VFs lost at once: reconcile hands each its own VF again
	 * (it once gave both the first free one). */
	running(vm);
	for (size_t v = 1; v < ARRAY_SIZE(VFS); v++) {
		_cleanup_free_ char *dir = carve_strdupf("bus/pci/devices/%s/driver", VFS[v]);
		_cleanup_free_ char *drv = bound_driver(VFS[v]);
		if (drv)
			assert_int_equal(pci_hook(dir, "unbind", VFS[v], NULL), 1);
	}
	_cleanup_free_ char *both = audit(vm, "running");
	if (both)
		fail_msg("both VFs lost: %s", both);
	assert_int_equal(held[1] + held[2] + held[3], 2);

	carve_sysfs_set_write_fault(NULL, NULL);
	unlink(oplog);
	_cleanup_free_ char *cmd = carve_strdupf("rm -rf %s", tmp);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	/* the fault plan reads its log's name once, before the first operation */
	snprintf(oplog, sizeof(oplog), "/tmp/carve-faults-ops-%d.log", (int)getpid());
	setenv(CARVE_SYSFS_FAULT_LOG_ENV, oplog, 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amd_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
