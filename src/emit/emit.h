/* emit.h - what a VM needs once carve has created its vGPUs: libvirt XML,
 * QEMU arguments, mdevctl definitions, the guest's gridd.conf, and the live
 * migration compatibility rule.
 *
 * Contract, for every function here:
 *  - Inputs are validated before a single byte is produced: UUIDs with
 *    carve_uuid_valid(), PCI addresses with carve_pci_parse(), names and
 *    free text against small whitelists.  Hostile input is rejected with
 *    -EINVAL and a struct carve_error naming the field; on any failure the
 *    output pointer is left NULL, never half-written.
 *  - UUIDs come out lower case and PCI addresses in canonical long form, so
 *    output is byte-for-byte reproducible (the unit tests compare goldens).
 *  - Strings returned through char ** are malloc'ed and owned by the caller
 *    (free()); json_t ** receives a new reference (json_decref()).
 *  - Pure functions: no I/O, no globals, safe from any thread.
 *
 * Display rule: at most one vGPU of a VM drives the console.  It must be
 * mdev-backed (display='on' plus ramfb='on', so the firmware and boot loader
 * have a framebuffer before the guest driver loads); every other mdev vGPU is
 * display='off'.  carve_emit_assign_display() applies the usual choice
 * (first mdev vGPU); the emitters only check the rule and refuse a second
 * display or a display on a PCI-backed device.  See docs/emit.md.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/impl.h"
#include "util/error.h"

/* More vGPUs than this in one VM is certainly a caller bug. */
#define CARVE_EMIT_MAX_VGPUS 64
/* Licence server port nvidia-gridd uses when none is configured. */
#define CARVE_EMIT_GRIDD_DEFAULT_PORT 7070

struct carve_emit_vgpu {
	char uuid[37];        /* vGPU UUID (= mdev UUID for mdev-backed vGPUs) */
	enum carve_impl impl; /* NVIDIA_MDEV, GVT_G: mdev; NVIDIA_SRIOV, AMD_MXGPU, PASSTHROUGH: PCI device */
	char device_pci[13];  /* PCI-backed: the VF or whole GPU ("0000:41:00.4"); mdev: the parent */
	bool display;         /* drives the console (mdev only, at most one per VM) */
	char model_name[128]; /* "GRID P40-2Q": only for comments, sanitised there */
};

struct carve_emit_vm {
	char uuid[37];
	char name[128];             /* printable ASCII, no '/'; XML-escaped on output */
	int32_t numa_node;          /* host NUMA node to bind memory to; -1 none */
	uint32_t vcpus, memory_mib; /* for the full domain document and memory backends */
	bool hugepages_1g;          /* back guest RAM with 1 GiB pages (memory_mib % 1024 == 0) */
	const char *cpuset;         /* host CPUs of the node, e.g. "0-19,40-59"; NULL: no pinning */
	bool hyperv;                /* Windows guest: Hyper-V enlightenments + hypervclock */
	bool emulated;              /* libvirt domain type 'qemu' (TCG, no KVM), else 'kvm' */
	/* Peer-to-peer between its vGPUs over NVLink (vm p2p=, placed on
	 * pairwise-connected GPUs): every vGPU joins NVIDIA GPUDirect clique 0,
	 * QEMU's vfio-pci x-nv-gpudirect-clique, which tells the guest driver
	 * which devices may talk directly (docs/emit.md). */
	bool p2p;
};

/* Set display on the first mdev-backed vGPU and clear it on all others.
 * Returns the index chosen, or -ENOENT when no vGPU is mdev-backed (none
 * then has a display).  v may be NULL when n == 0. */
int carve_emit_assign_display(struct carve_emit_vgpu *v, size_t n);

/* The <hostdev> elements for v[0..n) (each preceded by a comment naming the
 * vGPU), ready to paste into <devices> or to give one by one to
 * `virsh attach-device`.  n == 0 yields "". */
int carve_emit_libvirt_hostdevs(const struct carve_emit_vgpu *v, size_t n, char **xml,
                                struct carve_error *err);

/* A complete minimal <domain type='kvm'> document (no disks, no NICs: the
 * caller or the operator adds those) that validates against libvirt's schema
 * (`virt-xml-validate FILE domain`).  Needs vm->vcpus >= 1 and
 * vm->memory_mib >= 1. */
int carve_emit_libvirt_domain(const struct carve_emit_vm *vm, const struct carve_emit_vgpu *v, size_t n,
                              char **xml, struct carve_error *err);

/* QEMU arguments as a JSON array of strings, one argv element each:
 *   "-uuid" UUID                      always (NVIDIA's vGPU manager reads it)
 *   "-m" "NM" "-object" BACKEND "-machine" "memory-backend=carve-ram"
 *                                     when hugepages_1g or numa_node >= 0
 *   "-device" "vfio-pci,..."          one per vGPU; the display vGPU is
 *                                     "vfio-pci-nohotplug,...,display=on,ramfb=on"
 * Name, vCPUs, pinning, enlightenments and the display front-end stay with the
 * caller's command line (they are not vGPU-specific; see docs/emit.md). */
int carve_emit_qemu_args(const struct carve_emit_vm *vm, const struct carve_emit_vgpu *v, size_t n,
                         json_t **argv, struct carve_error *err);

/* mdevctl's persistent definition for one mdev-backed vGPU:
 *   {"mdev_type": TYPE_ID, "start": "auto", "attrs": [{"nvidia/vgpu_params": PARAMS}]}
 * attrs is empty when params is NULL or "".  The parent and UUID are not part
 * of mdevctl's file format; pass them on its command line:
 *   mdevctl define --parent v->device_pci --uuid v->uuid --jsonfile FILE
 * params ("frame_rate_limiter=0, disable_vnc=1") is NVIDIA-only: -EINVAL for
 * GVT-g, and for any PCI-backed vGPU (mdevctl does not manage those). */
int carve_emit_mdevctl_json(const struct carve_emit_vgpu *v, const char *type_id, const char *params,
                            json_t **out, struct carve_error *err);

/* /etc/nvidia/gridd.conf for the guest (legacy licence server): ServerAddress,
 * ServerPort (0 means 7070), FeatureType (0 unlicensed, 1 vGPU, 2 RTX Virtual
 * Workstation, 4 Virtual Compute Server; nothing else).  server must be a
 * hostname (RFC 1123 labels) or an IPv4/IPv6 address, at most 253 chars. */
int carve_emit_gridd_conf(const char *server, uint32_t port, uint32_t feature_type, char **out,
                          struct carve_error *err);

/* May a running vGPU of type A be live-migrated onto a vGPU of type B?  True
 * only when the model names are identical and non-empty, the type ids are
 * identical valid identifiers, and both host driver versions parse and share
 * their major branch ("535.129.03" ~ "535.54.06", not "550.54.16").  Any NULL
 * or malformed argument gives false: a wrong "no" blocks a migration, a wrong
 * "yes" loses a VM.  Where the kernel exposes an mdev migration_version
 * attribute, the caller must also have the destination accept the source's
 * string; this helper is the check that can be made from the model alone. */
bool carve_emit_migration_compatible(const char *type_a_id, const char *model_a, const char *type_b_id,
                                     const char *model_b, const char *driver_a, const char *driver_b);
