/* carve-mkfixture - write a sysfs-shaped tree for a host profile.
 *
 *   carve-mkfixture PROFILE OUTDIR     write the tree (OUTDIR plays /sys)
 *   carve-mkfixture --sim PROFILE      print the sim's inventory (canonical JSON)
 *   carve-mkfixture --discover ROOT    print sysfs discovery of ROOT (canonical JSON)
 *   carve-mkfixture --listing FILE OUTDIR
 *                                      write the tree of a real host's listing
 *                                      (tests/fixtures/real/, listing.c)
 *
 * The tree is written from the simulated host's inventory for the profile,
 * in the shapes the kernel uses: PCI devices under devices/pci*, relative
 * symlinks from bus/pci/devices, drivers, IOMMU groups, mdev parents under
 * class/mdev_bus, mdev types with their description/name/available_instances,
 * existing mdevs under bus/mdev/devices, SR-IOV physfn/virtfnN links and
 * sriov_totalvfs/sriov_numvfs (a PF booted without VFs has only these: its
 * types come from the catalog), NVIDIA vendor-VFIO files on VFs.  Discovery of the tree must give the sim's
 * inventory back: tests/unit/test-discovery checks exactly that.
 *
 * Safety: everything is created below OUTDIR through directory fds opened
 * with O_NOFOLLOW, names are checked (no "/", "." or ".."), files are created
 * with O_EXCL, so a hostile pre-existing OUTDIR cannot redirect writes; OUTDIR
 * must be empty or absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"
#include "host/inventory.h"
#include "host/sim.h"
#include "model/catalog.h"
#include "util/cleanup.h"
#include "util/pci.h"
#include "listing.h"
#include "tree.h"

/* Path of a device directory: devices/pci<domain>:<bus>/<pci>, where the
 * bus is the one of the physical function (VFs are its siblings). */
static void dev_path(const char *pf_pci, const char *pci, char *out, size_t size)
{
	snprintf(out, size, "devices/pci%.7s/%s", pf_pci, pci);
}

/* The common PCI device files and links. */
static int write_pci_dev(struct tree *t, const char *pf_pci, const char *pci, const struct carve_hw_gpu *g,
			 uint16_t device_id, uint32_t class_code, const char *driver, int32_t iommu_group, bool boot_vga)
{
	char d[256], p[512], target[512];
	dev_path(pf_pci, pci, d, sizeof(d));
	snprintf(p, sizeof(p), "%s/vendor", d);
	TRY(tree_put(t, p, "0x%04x\n", g->vendor_id));
	snprintf(p, sizeof(p), "%s/device", d);
	TRY(tree_put(t, p, "0x%04x\n", device_id));
	snprintf(p, sizeof(p), "%s/subsystem_vendor", d);
	TRY(tree_put(t, p, "0x%04x\n", g->subsys_vendor_id));
	snprintf(p, sizeof(p), "%s/subsystem_device", d);
	TRY(tree_put(t, p, "0x%04x\n", g->subsys_device_id));
	snprintf(p, sizeof(p), "%s/class", d);
	TRY(tree_put(t, p, "0x%06x\n", class_code));
	snprintf(p, sizeof(p), "%s/numa_node", d);
	TRY(tree_put(t, p, "%d\n", g->numa_node));
	snprintf(p, sizeof(p), "%s/driver_override", d);
	TRY(tree_put(t, p, "(null)\n"));
	if ((class_code >> 8) == 0x0300) { /* only VGA controllers have boot_vga */
		snprintf(p, sizeof(p), "%s/boot_vga", d);
		TRY(tree_put(t, p, "%d\n", boot_vga ? 1 : 0));
	}
	snprintf(p, sizeof(p), "bus/pci/devices/%s", pci);
	snprintf(target, sizeof(target), "../../../%s", d);
	TRY(tree_link(t, p, target));
	if (driver[0]) {
		snprintf(p, sizeof(p), "%s/driver", d);
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
		TRY(tree_link(t, p, target));
		snprintf(p, sizeof(p), "bus/pci/drivers/%s/%s", driver, pci);
		snprintf(target, sizeof(target), "../../../../%s", d);
		TRY(tree_link(t, p, target));
	}
	if (iommu_group >= 0) {
		snprintf(p, sizeof(p), "%s/iommu_group", d);
		snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%d", iommu_group);
		TRY(tree_link(t, p, target));
		snprintf(p, sizeof(p), "kernel/iommu_groups/%d/devices/%s", iommu_group, pci);
		snprintf(target, sizeof(target), "../../../../%s", d);
		TRY(tree_link(t, p, target));
	}
	return 0;
}

static int write_mdev_type(struct tree *t, const char *parent_dir, const struct carve_hw_type *ty, uint32_t available)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/mdev_supported_types/%s/name", parent_dir, ty->id);
	TRY(tree_put(t, p, "%s\n", ty->name));
	snprintf(p, sizeof(p), "%s/mdev_supported_types/%s/description", parent_dir, ty->id);
	if (ty->impl == CARVE_IMPL_GVT_G)
		TRY(tree_put(t, p, "low_gm_size: %lluMB\nhigh_gm_size: %lluMB\nfence: %u\nresolution: %ux%u\nweight: %u\n",
			(unsigned long long)ty->low_gm_mib, (unsigned long long)ty->high_gm_mib, ty->fence,
			ty->max_res_x, ty->max_res_y, ty->weight));
	else
		TRY(tree_put(t, p, "num_heads=%u, frl_config=%u, framebuffer=%lluM, max_resolution=%ux%u, max_instance=%u\n",
			ty->num_heads, ty->frl_config, (unsigned long long)ty->framebuffer_mib, ty->max_res_x,
			ty->max_res_y, ty->max_instances));
	snprintf(p, sizeof(p), "%s/mdev_supported_types/%s/available_instances", parent_dir, ty->id);
	TRY(tree_put(t, p, "%u\n", available));
	snprintf(p, sizeof(p), "%s/mdev_supported_types/%s/device_api", parent_dir, ty->id);
	TRY(tree_put(t, p, "vfio-pci\n"));
	snprintf(p, sizeof(p), "%s/mdev_supported_types/%s/create", parent_dir, ty->id);
	TRY(tree_put_mode(t, p, 0200, "%s", ""));
	snprintf(p, sizeof(p), "%s/mdev_supported_types/%s/devices", parent_dir, ty->id);
	return tree_mkdir(t, p);
}

/* An mdev parent: its types, its existing mdevs, its class/mdev_bus link. */
static int write_mdev_parent(struct tree *t, const struct carve_hw_gpu *g, const char *pci, bool vf_free,
			     bool per_vf)
{
	char d[256], p[512], target[512];
	dev_path(g->pci, pci, d, sizeof(d));
	for (size_t i = 0; i < g->n_types; i++) {
		const struct carve_hw_type *ty = &g->types[i];
		if (ty->impl == CARVE_IMPL_PASSTHROUGH)
			continue;
		/* A VF carries at most one vGPU: it offers 1 of every type the GPU
		 * could still take, while it is free. */
		uint32_t avail = per_vf ? (vf_free && ty->available > 0) : ty->available;
		TRY(write_mdev_type(t, d, ty, avail));
	}
	for (size_t i = 0; i < g->n_devs; i++) {
		const struct carve_hw_dev *dv = &g->devs[i];
		if (strcmp(dv->parent, pci) != 0 || !dv->uuid[0])
			continue;
		snprintf(p, sizeof(p), "%s/mdev_supported_types/%s/devices/%s", d, dv->type_id, dv->uuid);
		snprintf(target, sizeof(target), "../../../%s", dv->uuid);
		TRY(tree_link(t, p, target));
		snprintf(p, sizeof(p), "%s/%s/mdev_type", d, dv->uuid);
		snprintf(target, sizeof(target), "../mdev_supported_types/%s", dv->type_id);
		TRY(tree_link(t, p, target));
		snprintf(p, sizeof(p), "%s/%s/remove", d, dv->uuid);
		TRY(tree_put_mode(t, p, 0200, "%s", ""));
		if (g->mechanism == CARVE_IMPL_NVIDIA_MDEV) {
			snprintf(p, sizeof(p), "%s/%s/nvidia/vgpu_params", d, dv->uuid);
			TRY(tree_put(t, p, "%s\n", dv->params));
		}
		snprintf(p, sizeof(p), "bus/mdev/devices/%s", dv->uuid);
		snprintf(target, sizeof(target), "../../../%s/%s", d, dv->uuid);
		TRY(tree_link(t, p, target));
	}
	snprintf(p, sizeof(p), "class/mdev_bus/%s", pci);
	snprintf(target, sizeof(target), "../../%s", d);
	return tree_link(t, p, target);
}

/* NVIDIA vendor-specific VFIO files of one VF. */
static int write_nvsriov_vf(struct tree *t, const struct carve_hw_gpu *g, const struct carve_hw_vf *vf)
{
	char d[256], p[512];
	dev_path(g->pci, vf->pci, d, sizeof(d));
	snprintf(p, sizeof(p), "%s/nvidia/current_vgpu_type", d);
	TRY(tree_put(t, p, "%s\n", vf->current_type[0] ? vf->current_type : "0"));
	const char *params = "";
	for (size_t i = 0; i < g->n_devs; i++)
		if (strcmp(g->devs[i].parent, vf->pci) == 0)
			params = g->devs[i].params;
	snprintf(p, sizeof(p), "%s/nvidia/vgpu_params", d);
	TRY(tree_put(t, p, "%s\n", params));
	/* What can be created on this VF now: nothing once it carries a vGPU. */
	_cleanup_free_ char *list = strdup("ID    : vGPU Name\n");
	for (size_t i = 0; list && !vf->in_use && i < g->n_types; i++) {
		const struct carve_hw_type *ty = &g->types[i];
		if (ty->impl != CARVE_IMPL_NVIDIA_SRIOV || ty->available == 0)
			continue;
		char *more = carve_strdupf("%s%-6s: %s\n", list, ty->id, ty->name);
		free(list);
		list = more;
	}
	if (!list)
		return -ENOMEM;
	snprintf(p, sizeof(p), "%s/nvidia/creatable_vgpu_types", d);
	return tree_put(t, p, "%s", list);
}

static int write_gpu(struct tree *t, const struct carve_hw_gpu *g)
{
	char d[256], p[512], target[512];
	const struct carve_board *b = g->board[0] ? carve_board_by_name(g->board) : NULL;
	dev_path(g->pci, g->pci, d, sizeof(d));
	TRY(write_pci_dev(t, g->pci, g->pci, g, (uint16_t)g->device_id, g->class_code, g->driver, g->iommu_group,
			  g->is_system_display));
	bool nvidia = g->mechanism == CARVE_IMPL_NVIDIA_MDEV || g->mechanism == CARVE_IMPL_NVIDIA_SRIOV;
	if (nvidia && g->mixed_size_source == CARVE_HW_SOURCE_DRIVER) {
		/* Not a kernel file: the driver exposes this mode through NVML only.
		 * Fixtures carry it where the profile set it, so discovery of the
		 * tree matches the profile; elsewhere discovery infers the mode
		 * from the listings, as on a real host. */
		snprintf(p, sizeof(p), "%s/nvidia/vgpu_heterogeneous_mode", d);
		TRY(tree_put(t, p, "%d\n", g->mixed_size ? 1 : 0));
	}
	if (g->sriov_totalvfs > 0) {
		snprintf(p, sizeof(p), "%s/sriov_totalvfs", d);
		TRY(tree_put(t, p, "%u\n", g->sriov_totalvfs));
		snprintf(p, sizeof(p), "%s/sriov_numvfs", d);
		TRY(tree_put(t, p, "%u\n", g->sriov_numvfs));
	}
	bool pf_parent = (g->mechanism == CARVE_IMPL_NVIDIA_MDEV && g->sriov_totalvfs == 0) ||
			 g->mechanism == CARVE_IMPL_GVT_G;
	if (pf_parent)
		TRY(write_mdev_parent(t, g, g->pci, true, false));
	uint16_t vf_dev = b && b->vf_device_id ? b->vf_device_id : (uint16_t)g->device_id;
	for (size_t i = 0; i < g->n_vfs; i++) {
		const struct carve_hw_vf *vf = &g->vfs[i];
		char vd[256];
		dev_path(g->pci, vf->pci, vd, sizeof(vd));
		uint32_t vf_class = g->mechanism == CARVE_IMPL_AMD_MXGPU ? 0x030000 : g->class_code;
		TRY(write_pci_dev(t, g->pci, vf->pci, g, vf_dev, vf_class, vf->driver, vf->iommu_group, false));
		snprintf(p, sizeof(p), "%s/physfn", vd);
		snprintf(target, sizeof(target), "../%s", g->pci);
		TRY(tree_link(t, p, target));
		snprintf(p, sizeof(p), "%s/virtfn%zu", d, i);
		snprintf(target, sizeof(target), "../%s", vf->pci);
		TRY(tree_link(t, p, target));
		if (g->mechanism == CARVE_IMPL_NVIDIA_MDEV)
			TRY(write_mdev_parent(t, g, vf->pci, !vf->in_use, true));
		else if (g->mechanism == CARVE_IMPL_NVIDIA_SRIOV)
			TRY(write_nvsriov_vf(t, g, vf));
	}
	return 0;
}

static int write_tree(const char *profile, const char *outdir)
{
	struct carve_error err = {0};
	struct carve_host *h = NULL;
	struct carve_hw_inventory inv = {0};
	if (carve_host_open_sim(profile, NULL, &h, &err) < 0 || carve_host_discover(h, &inv, &err) < 0) {
		fprintf(stderr, "carve-mkfixture: %s\n", err.message);
		carve_host_free(h);
		return 1;
	}
	carve_host_free(h);
	struct tree t;
	int r = tree_open(&t, outdir);
	for (size_t i = 0; i < inv.n_gpus && r == 0; i++)
		r = write_gpu(&t, &inv.gpus[i]);
	if (r == 0)
		r = tree_finish(&t);
	tree_close(&t);
	carve_hw_inventory_clear(&inv);
	return r < 0;
}

/* nvml: keep what NVML would say (NVLink, ECC).  A sysfs tree carries none
 * of it, so the sim's inventory drops it to compare with the tree's. */
static int print_inventory(struct carve_host *h, bool nvml, struct carve_error *err)
{
	struct carve_hw_inventory inv = {0};
	int r = carve_host_discover(h, &inv, err);
	if (r < 0)
		return r;
	for (size_t i = 0; !nvml && i < inv.n_gpus; i++) {
		inv.gpus[i].nvlink_known = false;
		inv.gpus[i].n_nvlinks = 0;
		inv.gpus[i].ecc = (struct carve_hw_ecc){0};
	}
	_cleanup_json_ json_t *j = carve_hw_inventory_to_json(&inv);
	carve_hw_inventory_clear(&inv);
	if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "cannot print the inventory");
	fputc('\n', stdout);
	return fflush(stdout) == 0 ? 0 : -EIO;
}

static int usage(void)
{
	fputs("usage: carve-mkfixture PROFILE OUTDIR\n"
	      "       carve-mkfixture --listing LISTING OUTDIR\n"
	      "       carve-mkfixture --sim PROFILE\n"
	      "       carve-mkfixture --discover SYSFS_ROOT\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--listing") == 0)
		return carve_listing_write(argv[2], argv[3]) < 0;
	if (argc != 3)
		return usage();
	if (strcmp(argv[1], "--sim") == 0 || strcmp(argv[1], "--discover") == 0) {
		struct carve_error err = {0};
		struct carve_host *h = NULL;
		int r = argv[1][2] == 's' ? carve_host_open_sim(argv[2], NULL, &h, &err)
					  : carve_host_open_sysfs(argv[2], getenv("CARVE_NVIDIA_VGPU_PFS"), &h, &err);
		if (r == 0)
			r = print_inventory(h, argv[1][2] != 's', &err);
		carve_host_free(h);
		if (r < 0) {
			fprintf(stderr, "carve-mkfixture: %s\n", err.message[0] ? err.message : strerror(-r));
			return 1;
		}
		return 0;
	}
	if (argv[1][0] == '-')
		return usage();
	return write_tree(argv[1], argv[2]);
}
