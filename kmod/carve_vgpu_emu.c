// SPDX-License-Identifier: GPL-2.0
/*
 * carve_vgpu_emu - emulated NVIDIA-style vGPU vendor driver for carve's
 * real-kernel testbed.
 *
 * The module registers plain platform devices named like PCI addresses
 * (0000:41:00.0, ...) bound to a platform driver called "nvidia", makes each
 * of them an mdev parent on the kernel's VFIO-mdev core, and publishes the
 * NVIDIA vGPU type table of the emulated board (generated from
 * data/nvidia-vgpu-types.csv by gen-types.sh).  Type directories therefore
 * appear as /sys/class/mdev_bus/<addr>/mdev_supported_types/nvidia-NN, with
 * NVIDIA's description format, and created mdevs are real vfio devices
 * (emulated IOMMU) with an nvidia/vgpu_params attribute.
 *
 * Nothing here touches hardware.  It exists so that carve's userspace can be
 * tested against genuine sysfs/mdev/vfio kernel code.
 *
 * Module parameters:
 *   profile=p40|p40x2|t4|m10|p4|v100[,...]  emulated host (default p40)
 *   mixed=0|1        default for the per-parent mixed-size mode
 *   fail_create=N    the Nth mdev create after setting this fails (-EIO)
 *   vf_board=L40S    SR-IOV vendor-VFIO board of the carve_vf_emu PCI driver
 *   vf_pfs=ADDR[,..] PFs whose new VFs are claimed for carve_vf_emu
 *
 * It also registers a PCI driver, carve_vf_emu, that binds only through
 * driver_override to real SR-IOV VFs (in the testbed: of QEMU's NVMe PF)
 * and gives them NVIDIA's vendor-VFIO files (vGPU 17+): nvidia/
 * creatable_vgpu_types, current_vgpu_type, vgpu_params.
 *
 * Written for the Linux 6.1 mdev API (Debian 12 kernels).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/mutex.h>
#include <linux/list.h>
#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/platform_device.h>
#include <linux/pci.h>
#include <linux/notifier.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/pci_regs.h>
#include <linux/pci_ids.h>
#include <linux/mdev.h>
#include <linux/vfio.h>
#include <linux/sizes.h>
#include <linux/version.h>

#define EMU_DRV_NAME	"nvidia"	/* type dirs are "<drv name>-<id>" */
#define EMU_CFG_SIZE	PCI_CFG_SPACE_SIZE
/*
 * BAR0: 16 MiB of 32-bit MMIO like a real NVIDIA (v)GPU's register BAR;
 * reads as zeros, writes are dropped.  QEMU's vfio-pci needs it: its NVIDIA
 * BAR0 quirk (any vendor 0x10de function) hangs a mirror off BAR0's memory
 * region and segfaults when the device has no BAR0.
 */
#define EMU_BAR0_SIZE	SZ_16M
#define EMU_MAX_GPUS	4

/* region index in the top bits of the file offset, as vfio-pci does */
#define EMU_OFFSET_SHIFT	40
#define EMU_OFFSET_TO_INDEX(off)	((off) >> EMU_OFFSET_SHIFT)
#define EMU_INDEX_TO_OFFSET(idx)	((u64)(idx) << EMU_OFFSET_SHIFT)
#define EMU_OFFSET_MASK		((1ULL << EMU_OFFSET_SHIFT) - 1)

/* One row of data/nvidia-vgpu-types.csv; the table is generated. */
struct carve_vgpu_type_info {
	const char *type_id;		/* "nvidia-46" */
	const char *sysfs_name;		/* "46" */
	const char *name;		/* "GRID P40-1Q" */
	const char *board;		/* "P40" */
	unsigned int board_fb_gib;	/* framebuffer per physical GPU */
	unsigned int fb_mib;		/* framebuffer of one vGPU */
	unsigned int num_heads;
	const char *max_resolution;
	unsigned int frl_config;
	bool cuda;
	bool multi_vgpu;
	unsigned int max_instance;
	const char *series;
	unsigned int mig_slices;
};

#include "carve_vgpu_types.h"

/* Emulated hosts.  PCI ids as in data/gpu-boards.csv. */
struct emu_profile {
	const char *name;
	const char *board;		/* board column of the type CSV */
	u16 device_id;
	u16 subsys_device;
	unsigned int ngpus;
	const char *addr[EMU_MAX_GPUS];
	int numa[EMU_MAX_GPUS];
};

static const struct emu_profile emu_profiles[] = {
	{ "p40",   "P40",  0x1b38, 0x11d9, 1, { "0000:41:00.0" }, { 0 } },
	{ "p40x2", "P40",  0x1b38, 0x11d9, 2,
	  { "0000:41:00.0", "0000:81:00.0" }, { 0, 1 } },
	{ "t4",    "T4",   0x1eb8, 0x12a2, 1, { "0000:5e:00.0" }, { 0 } },
	{ "m10",   "M10",  0x13bd, 0x1160, 4,
	  { "0000:3d:00.0", "0000:3e:00.0", "0000:3f:00.0", "0000:40:00.0" },
	  { 0, 0, 0, 0 } },
	{ "p4",    "P4",   0x1bb3, 0x11d8, 1, { "0000:af:00.0" }, { 1 } },
	{ "v100",  "V100", 0x1db4, 0x1214, 1, { "0000:3b:00.0" }, { 0 } },
};

static char *profile = "p40";
module_param(profile, charp, 0444);
MODULE_PARM_DESC(profile,
	"Emulated host, comma separated: p40,p40x2,t4,m10,p4,v100 (default p40)");

static bool mixed;
module_param(mixed, bool, 0444);
MODULE_PARM_DESC(mixed,
	"Start parents in mixed-size mode (different vGPU types may share a GPU)");

static atomic_t emu_create_attempts = ATOMIC_INIT(0);
static int fail_create;

static int fail_create_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_int(val, kp);

	if (!ret)
		atomic_set(&emu_create_attempts, 0);
	return ret;
}

static const struct kernel_param_ops fail_create_ops = {
	.set = fail_create_set,
	.get = param_get_int,
};
module_param_cb(fail_create, &fail_create_ops, &fail_create, 0644);
MODULE_PARM_DESC(fail_create,
	"Make the Nth mdev create (counted from load or from the last write of this parameter) fail with -EIO; 0 = never");

/* ------------------------------------------------------------------ */

struct emu_type {
	struct mdev_type mtype;
	const struct carve_vgpu_type_info *info;
	unsigned int count;		/* live vGPUs of this type (emu_lock) */
};

struct emu_parent {
	struct mdev_parent mparent;
	struct list_head node;
	struct platform_device *pdev;
	const struct emu_profile *prof;
	const char *addr;
	int numa;
	bool registered;

	/* accounting, protected by emu_lock */
	unsigned int fb_total_mib;
	unsigned int fb_used_mib;
	unsigned int nr_vgpus;
	bool mixed;
	const struct carve_vgpu_type_info *cur_type;	/* homogeneous mode */

	unsigned int ntypes;
	struct emu_type *types;
	struct mdev_type **type_ptrs;
};

#define EMU_PARAM_UNSET		(-1)
enum { EMU_P_FRL, EMU_P_VNC, EMU_P_UVM, EMU_NPARAMS };
static const char *const emu_param_keys[EMU_NPARAMS] = {
	[EMU_P_FRL] = "frame_rate_limiter",
	[EMU_P_VNC] = "disable_vnc",
	[EMU_P_UVM] = "enable_uvm",
};

struct emu_vgpu {
	struct vfio_device vdev;
	struct mdev_device *mdev;
	struct emu_parent *parent;
	struct emu_type *type;
	struct mutex lock;		/* config space, params, open state */
	bool open;
	int params[EMU_NPARAMS];
	u8 config[EMU_CFG_SIZE];
};

static DEFINE_MUTEX(emu_lock);
static LIST_HEAD(emu_parents);
static atomic_t emu_live_vgpus = ATOMIC_INIT(0);

static struct emu_type *to_emu_type(struct mdev_type *mtype)
{
	return container_of(mtype, struct emu_type, mtype);
}

static struct emu_parent *mtype_to_parent(struct mdev_type *mtype)
{
	return container_of(mtype->parent, struct emu_parent, mparent);
}

/* ------------------------------------------------------------------ */
/* vGPU accounting                                                     */

/* Caller holds emu_lock. */
static unsigned int emu_available(struct emu_parent *p, struct emu_type *t)
{
	unsigned int by_fb, by_max;

	if (!p->mixed && p->nr_vgpus && p->cur_type != t->info)
		return 0;
	if (!t->info->fb_mib || p->fb_used_mib >= p->fb_total_mib)
		return 0;
	by_fb = (p->fb_total_mib - p->fb_used_mib) / t->info->fb_mib;
	by_max = t->count < t->info->max_instance ?
		 t->info->max_instance - t->count : 0;
	return min(by_fb, by_max);
}

static int emu_reserve(struct emu_parent *p, struct emu_type *t)
{
	int ret = 0;

	mutex_lock(&emu_lock);
	if (!p->mixed && p->nr_vgpus && p->cur_type != t->info) {
		ret = -EBUSY;	/* homogeneous: another type is in use */
		goto out;
	}
	if (!emu_available(p, t)) {
		ret = -ENOSPC;
		goto out;
	}
	p->fb_used_mib += t->info->fb_mib;
	p->nr_vgpus++;
	t->count++;
	p->cur_type = t->info;
out:
	mutex_unlock(&emu_lock);
	return ret;
}

static void emu_unreserve(struct emu_parent *p, struct emu_type *t)
{
	mutex_lock(&emu_lock);
	if (!WARN_ON(!t->count || !p->nr_vgpus ||
		     p->fb_used_mib < t->info->fb_mib)) {
		p->fb_used_mib -= t->info->fb_mib;
		p->nr_vgpus--;
		t->count--;
	}
	if (!p->nr_vgpus)
		p->cur_type = NULL;
	mutex_unlock(&emu_lock);
}

/* ------------------------------------------------------------------ */
/* vfio device: tiny PCI config space, a dummy BAR0, no interrupts     */

static void emu_cfg_reset(struct emu_vgpu *v)
{
	u8 *c = v->config;
	u16 subsys = 0;

	memset(c, 0, EMU_CFG_SIZE);
	/* subsystem id: the numeric vGPU type id, as NVIDIA vGPUs do */
	if (kstrtou16(v->type->info->sysfs_name, 10, &subsys))
		subsys = v->parent->prof->subsys_device;
	*(__le16 *)&c[PCI_VENDOR_ID] = cpu_to_le16(PCI_VENDOR_ID_NVIDIA);
	*(__le16 *)&c[PCI_DEVICE_ID] = cpu_to_le16(v->parent->prof->device_id);
	c[PCI_REVISION_ID] = 0xa1;
	c[PCI_CLASS_PROG] = 0x00;
	*(__le16 *)&c[PCI_CLASS_DEVICE] = cpu_to_le16(PCI_CLASS_DISPLAY_VGA);
	c[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	*(__le16 *)&c[PCI_SUBSYSTEM_VENDOR_ID] = cpu_to_le16(PCI_VENDOR_ID_NVIDIA);
	*(__le16 *)&c[PCI_SUBSYSTEM_ID] = cpu_to_le16(subsys);
}

static int emu_vfio_open(struct vfio_device *vdev)
{
	struct emu_vgpu *v = container_of(vdev, struct emu_vgpu, vdev);

	mutex_lock(&v->lock);
	emu_cfg_reset(v);
	v->open = true;
	mutex_unlock(&v->lock);
	return 0;
}

static void emu_vfio_close(struct vfio_device *vdev)
{
	struct emu_vgpu *v = container_of(vdev, struct emu_vgpu, vdev);

	mutex_lock(&v->lock);
	v->open = false;
	mutex_unlock(&v->lock);
}

/*
 * One naturally aligned 1/2/4-byte config access at @off (like a PCI config
 * cycle); returns the bytes done, 0 at the end of the config space.
 */
static ssize_t emu_cfg_access(struct emu_vgpu *v, char __user *ubuf,
			      const char __user *wbuf, size_t count, u64 off)
{
	u8 tmp[4];

	if (off >= EMU_CFG_SIZE)
		return 0;
	if (count > 4)
		count = 4;
	while (count > 1 && (off & (count - 1)))
		count >>= 1;
	if (count == 3)
		count = 2;
	if (off + count > EMU_CFG_SIZE)
		count = EMU_CFG_SIZE - off;

	mutex_lock(&v->lock);
	if (ubuf) {
		memcpy(tmp, &v->config[off], count);
		mutex_unlock(&v->lock);
		if (copy_to_user(ubuf, tmp, count))
			return -EFAULT;
	} else {
		mutex_unlock(&v->lock);
		if (copy_from_user(tmp, wbuf, count))
			return -EFAULT;
		mutex_lock(&v->lock);
		/* writable: the command register and BAR0 (sizable) */
		if (off == PCI_COMMAND && count >= 2) {
			u16 cmd = le16_to_cpu(*(__le16 *)tmp);

			cmd &= PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
			       PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
			*(__le16 *)&v->config[PCI_COMMAND] = cpu_to_le16(cmd);
		} else if (off == PCI_BASE_ADDRESS_0 && count == 4) {
			u32 bar = le32_to_cpu(*(__le32 *)tmp);

			/* 32-bit non-prefetchable memory: flag bits 0 */
			bar &= ~(u32)(EMU_BAR0_SIZE - 1);
			*(__le32 *)&v->config[PCI_BASE_ADDRESS_0] = cpu_to_le32(bar);
		}
		mutex_unlock(&v->lock);
	}
	return count;
}

/*
 * Config region read/write of any length: split into aligned config cycles.
 * QEMU's vfio-pci reads the whole config space with one pread() at realize
 * time and fails ("failed to read device config space") on a short read.
 */
static ssize_t emu_vfio_rw(struct emu_vgpu *v, char __user *ubuf,
			   const char __user *wbuf, size_t count, loff_t *ppos)
{
	unsigned int index = EMU_OFFSET_TO_INDEX(*ppos);
	u64 off = *ppos & EMU_OFFSET_MASK;
	size_t done = 0;
	ssize_t n;

	if (index == VFIO_PCI_BAR0_REGION_INDEX) {
		/* dummy registers: zeros, writes dropped */
		if (off >= EMU_BAR0_SIZE)
			return 0;
		count = min_t(u64, count, EMU_BAR0_SIZE - off);
		if (ubuf && clear_user(ubuf, count))
			return -EFAULT;
		*ppos += count;
		return count;
	}
	if (index != VFIO_PCI_CONFIG_REGION_INDEX)
		return -EINVAL;
	while (done < count) {
		n = emu_cfg_access(v, ubuf ? ubuf + done : NULL,
				   wbuf ? wbuf + done : NULL,
				   count - done, off + done);
		if (n < 0)
			return done ? done : n;
		if (n == 0)
			break;
		done += n;
	}
	*ppos += done;
	return done;
}

static ssize_t emu_vfio_read(struct vfio_device *vdev, char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct emu_vgpu *v = container_of(vdev, struct emu_vgpu, vdev);

	return emu_vfio_rw(v, buf, NULL, count, ppos);
}

static ssize_t emu_vfio_write(struct vfio_device *vdev,
			      const char __user *buf, size_t count,
			      loff_t *ppos)
{
	struct emu_vgpu *v = container_of(vdev, struct emu_vgpu, vdev);

	return emu_vfio_rw(v, NULL, buf, count, ppos);
}

static long emu_vfio_ioctl(struct vfio_device *vdev, unsigned int cmd,
			   unsigned long arg)
{
	struct emu_vgpu *v = container_of(vdev, struct emu_vgpu, vdev);
	void __user *uarg = (void __user *)arg;
	unsigned long minsz;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info info;

		minsz = offsetofend(struct vfio_device_info, num_irqs);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
		info.num_regions = VFIO_PCI_NUM_REGIONS;
		info.num_irqs = VFIO_PCI_NUM_IRQS;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		struct vfio_region_info info;

		minsz = offsetofend(struct vfio_region_info, offset);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		if (info.index >= VFIO_PCI_NUM_REGIONS)
			return -EINVAL;
		info.offset = EMU_INDEX_TO_OFFSET(info.index);
		info.cap_offset = 0;
		if (info.index == VFIO_PCI_CONFIG_REGION_INDEX) {
			info.size = EMU_CFG_SIZE;
			info.flags = VFIO_REGION_INFO_FLAG_READ |
				     VFIO_REGION_INFO_FLAG_WRITE;
		} else if (info.index == VFIO_PCI_BAR0_REGION_INDEX) {
			info.size = EMU_BAR0_SIZE;
			info.flags = VFIO_REGION_INFO_FLAG_READ |
				     VFIO_REGION_INFO_FLAG_WRITE;
		} else {
			info.size = 0;
			info.flags = 0;
		}
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info info;

		minsz = offsetofend(struct vfio_irq_info, count);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
			return -EINVAL;
		info.flags = 0;
		info.count = 0;		/* no interrupts emulated */
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_SET_IRQS:
		return -EINVAL;		/* there are no IRQs to set */
	case VFIO_DEVICE_RESET:
		mutex_lock(&v->lock);
		emu_cfg_reset(v);
		mutex_unlock(&v->lock);
		return 0;
	}
	return -ENOTTY;
}

static void emu_vfio_request(struct vfio_device *vdev, unsigned int count)
{
	struct emu_vgpu *v = container_of(vdev, struct emu_vgpu, vdev);

	if (count % 10 == 0)
		dev_notice(mdev_dev(v->mdev),
			   "vGPU still open by userspace, waiting for release (%u)\n",
			   count);
}

static void emu_vfio_release(struct vfio_device *vdev)
{
	struct emu_vgpu *v = container_of(vdev, struct emu_vgpu, vdev);

	mutex_destroy(&v->lock);
	atomic_dec(&emu_live_vgpus);
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	vfio_free_device(vdev);
#endif
}

static const struct vfio_device_ops emu_vfio_ops = {
	.name		= "carve-vgpu-emu",
	.release	= emu_vfio_release,
	.open_device	= emu_vfio_open,
	.close_device	= emu_vfio_close,
	.read		= emu_vfio_read,
	.write		= emu_vfio_write,
	.ioctl		= emu_vfio_ioctl,
	.request	= emu_vfio_request,
};

/* ------------------------------------------------------------------ */
/* mdev device attributes: nvidia/vgpu_params                          */

static ssize_t vgpu_params_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct emu_vgpu *v = dev_get_drvdata(dev);
	ssize_t n = 0;
	int i;

	if (!v)
		return -ENODEV;
	mutex_lock(&v->lock);
	for (i = 0; i < EMU_NPARAMS; i++) {
		if (v->params[i] == EMU_PARAM_UNSET)
			continue;
		n += sysfs_emit_at(buf, n, "%s%s=%d", n ? "," : "",
				   emu_param_keys[i], v->params[i]);
	}
	mutex_unlock(&v->lock);
	n += sysfs_emit_at(buf, n, "\n");
	return n;
}

/*
 * "key=value[,key=value...]" with optional blanks around items; an empty or
 * blank string clears all parameters.  Values are 0 or 1.  Unknown keys,
 * duplicates, missing '=' or bad values: -EINVAL and nothing changes.
 */
static int emu_parse_params(const char *buf, size_t count, int *out)
{
	char *s, *cur, *item;
	int i, ret = 0;

	for (i = 0; i < EMU_NPARAMS; i++)
		out[i] = EMU_PARAM_UNSET;

	s = kstrndup(buf, count, GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	cur = strim(s);
	if (!*cur)
		goto out;	/* clear */

	while ((item = strsep(&cur, ",")) != NULL) {
		char *key, *val;
		unsigned int u;

		item = strim(item);
		val = strchr(item, '=');
		if (!val) {
			ret = -EINVAL;
			goto out;
		}
		*val++ = '\0';
		key = strim(item);
		val = strim(val);
		for (i = 0; i < EMU_NPARAMS; i++)
			if (!strcmp(key, emu_param_keys[i]))
				break;
		if (i == EMU_NPARAMS || out[i] != EMU_PARAM_UNSET ||
		    kstrtouint(val, 10, &u) || u > 1) {
			ret = -EINVAL;
			goto out;
		}
		out[i] = u;
	}
out:
	kfree(s);
	return ret;
}

static ssize_t vgpu_params_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t count)
{
	struct emu_vgpu *v = dev_get_drvdata(dev);
	int params[EMU_NPARAMS];
	int ret;

	if (!v)
		return -ENODEV;
	ret = emu_parse_params(buf, count, params);
	if (ret)
		return ret;

	mutex_lock(&v->lock);
	if (v->open) {
		/* like the real driver: only while the VM is not running */
		ret = -EBUSY;
	} else {
		memcpy(v->params, params, sizeof(params));
		ret = count;
	}
	mutex_unlock(&v->lock);
	return ret;
}
static DEVICE_ATTR_RW(vgpu_params);

static struct attribute *emu_mdev_nvidia_attrs[] = {
	&dev_attr_vgpu_params.attr,
	NULL,
};

static const struct attribute_group emu_mdev_nvidia_group = {
	.name = "nvidia",
	.attrs = emu_mdev_nvidia_attrs,
};

static const struct attribute_group *emu_mdev_groups[] = {
	&emu_mdev_nvidia_group,
	NULL,
};

/* ------------------------------------------------------------------ */
/* mdev driver                                                         */

static int emu_mdev_probe(struct mdev_device *mdev)
{
	struct emu_type *t = to_emu_type(mdev->type);
	struct emu_parent *p = mtype_to_parent(mdev->type);
	struct emu_vgpu *v;
	int n, ret, i;

	n = atomic_inc_return(&emu_create_attempts);
	if (READ_ONCE(fail_create) > 0 && n == READ_ONCE(fail_create)) {
		dev_warn(mdev_dev(mdev),
			 "injected create failure (fail_create=%d)\n", n);
		return -EIO;
	}

	ret = emu_reserve(p, t);
	if (ret) {
		dev_info(mdev_dev(mdev), "cannot create %s on %s: %s\n",
			 t->info->type_id, p->addr,
			 ret == -EBUSY ? "another vGPU type is in use" :
					 "no framebuffer left");
		return ret;
	}

	v = vfio_alloc_device(emu_vgpu, vdev, mdev_dev(mdev), &emu_vfio_ops);
	if (IS_ERR(v)) {
		emu_unreserve(p, t);
		return PTR_ERR(v);
	}
	atomic_inc(&emu_live_vgpus);
	mutex_init(&v->lock);
	v->mdev = mdev;
	v->parent = p;
	v->type = t;
	for (i = 0; i < EMU_NPARAMS; i++)
		v->params[i] = EMU_PARAM_UNSET;
	emu_cfg_reset(v);

	ret = vfio_register_emulated_iommu_dev(&v->vdev);
	if (ret) {
		vfio_put_device(&v->vdev);
		emu_unreserve(p, t);
		return ret;
	}
	dev_set_drvdata(mdev_dev(mdev), v);
	dev_info(mdev_dev(mdev), "created vGPU %s (%s) on %s\n",
		 t->info->type_id, t->info->name, p->addr);
	return 0;
}

static void emu_mdev_remove(struct mdev_device *mdev)
{
	struct emu_vgpu *v = dev_get_drvdata(mdev_dev(mdev));
	struct emu_parent *p = v->parent;
	struct emu_type *t = v->type;

	vfio_unregister_group_dev(&v->vdev);
	dev_set_drvdata(mdev_dev(mdev), NULL);
	emu_unreserve(p, t);
	dev_info(mdev_dev(mdev), "removed vGPU %s from %s\n",
		 t->info->type_id, p->addr);
	vfio_put_device(&v->vdev);
}

static unsigned int emu_get_available(struct mdev_type *mtype)
{
	unsigned int n;

	mutex_lock(&emu_lock);
	n = emu_available(mtype_to_parent(mtype), to_emu_type(mtype));
	mutex_unlock(&emu_lock);
	return n;
}

static ssize_t emu_show_description(struct mdev_type *mtype, char *buf)
{
	const struct carve_vgpu_type_info *i = to_emu_type(mtype)->info;

	return sysfs_emit(buf,
		"num_heads=%u, frl_config=%u, framebuffer=%uM, max_resolution=%s, max_instance=%u\n",
		i->num_heads, i->frl_config, i->fb_mib, i->max_resolution,
		i->max_instance);
}

static struct mdev_driver emu_mdev_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.driver = {
		.name = EMU_DRV_NAME,
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
		.dev_groups = emu_mdev_groups,
	},
	.probe = emu_mdev_probe,
	.remove = emu_mdev_remove,
	.get_available = emu_get_available,
	.show_description = emu_show_description,
};

/* ------------------------------------------------------------------ */
/* Parent (physical GPU) devices: PCI-like sysfs attributes            */

static struct emu_parent *dev_to_parent(struct device *dev)
{
	return dev_get_drvdata(dev);
}

static ssize_t vendor_show(struct device *dev, struct device_attribute *a,
			   char *buf)
{
	return sysfs_emit(buf, "0x%04x\n", PCI_VENDOR_ID_NVIDIA);
}
static DEVICE_ATTR_RO(vendor);

static ssize_t device_show(struct device *dev, struct device_attribute *a,
			   char *buf)
{
	return sysfs_emit(buf, "0x%04x\n", dev_to_parent(dev)->prof->device_id);
}
static DEVICE_ATTR_RO(device);

static ssize_t subsystem_vendor_show(struct device *dev,
				     struct device_attribute *a, char *buf)
{
	return sysfs_emit(buf, "0x%04x\n", PCI_VENDOR_ID_NVIDIA);
}
static DEVICE_ATTR_RO(subsystem_vendor);

static ssize_t subsystem_device_show(struct device *dev,
				     struct device_attribute *a, char *buf)
{
	return sysfs_emit(buf, "0x%04x\n",
			  dev_to_parent(dev)->prof->subsys_device);
}
static DEVICE_ATTR_RO(subsystem_device);

static ssize_t class_show(struct device *dev, struct device_attribute *a,
			  char *buf)
{
	return sysfs_emit(buf, "0x%06x\n", PCI_CLASS_DISPLAY_3D << 8);
}
static DEVICE_ATTR_RO(class);

static ssize_t numa_node_show(struct device *dev, struct device_attribute *a,
			      char *buf)
{
	return sysfs_emit(buf, "%d\n", dev_to_parent(dev)->numa);
}
static DEVICE_ATTR_RO(numa_node);

static struct attribute *emu_pci_attrs[] = {
	&dev_attr_vendor.attr,
	&dev_attr_device.attr,
	&dev_attr_subsystem_vendor.attr,
	&dev_attr_subsystem_device.attr,
	&dev_attr_class.attr,
	&dev_attr_numa_node.attr,
	NULL,
};

static const struct attribute_group emu_pci_group = {
	.attrs = emu_pci_attrs,
};

/* carve_emu/: testbed knobs and introspection, not part of the NVIDIA ABI */
static ssize_t mixed_show(struct device *dev, struct device_attribute *a,
			  char *buf)
{
	struct emu_parent *p = dev_to_parent(dev);
	bool m;

	mutex_lock(&emu_lock);
	m = p->mixed;
	mutex_unlock(&emu_lock);
	return sysfs_emit(buf, "%d\n", m);
}

static ssize_t mixed_store(struct device *dev, struct device_attribute *a,
			   const char *buf, size_t count)
{
	struct emu_parent *p = dev_to_parent(dev);
	bool m;
	int ret;

	ret = kstrtobool(buf, &m);
	if (ret)
		return ret;
	mutex_lock(&emu_lock);
	if (p->nr_vgpus && m != p->mixed)
		ret = -EBUSY;	/* only switchable while the GPU is idle */
	else
		p->mixed = m;
	mutex_unlock(&emu_lock);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(mixed);

static ssize_t fb_total_mib_show(struct device *dev,
				 struct device_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%u\n", dev_to_parent(dev)->fb_total_mib);
}
static DEVICE_ATTR_RO(fb_total_mib);

static ssize_t fb_used_mib_show(struct device *dev,
				struct device_attribute *a, char *buf)
{
	struct emu_parent *p = dev_to_parent(dev);
	unsigned int u;

	mutex_lock(&emu_lock);
	u = p->fb_used_mib;
	mutex_unlock(&emu_lock);
	return sysfs_emit(buf, "%u\n", u);
}
static DEVICE_ATTR_RO(fb_used_mib);

static ssize_t vgpus_show(struct device *dev, struct device_attribute *a,
			  char *buf)
{
	struct emu_parent *p = dev_to_parent(dev);
	unsigned int n;

	mutex_lock(&emu_lock);
	n = p->nr_vgpus;
	mutex_unlock(&emu_lock);
	return sysfs_emit(buf, "%u\n", n);
}
static DEVICE_ATTR_RO(vgpus);

static ssize_t board_show(struct device *dev, struct device_attribute *a,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", dev_to_parent(dev)->prof->board);
}
static DEVICE_ATTR_RO(board);

static struct attribute *emu_knob_attrs[] = {
	&dev_attr_mixed.attr,
	&dev_attr_fb_total_mib.attr,
	&dev_attr_fb_used_mib.attr,
	&dev_attr_vgpus.attr,
	&dev_attr_board.attr,
	NULL,
};

static const struct attribute_group emu_knob_group = {
	.name = "carve_emu",
	.attrs = emu_knob_attrs,
};

static const struct attribute_group *emu_parent_groups[] = {
	&emu_pci_group,
	&emu_knob_group,
	NULL,
};

static int emu_pdev_probe(struct platform_device *pdev)
{
	struct emu_parent *p, *found = NULL;
	int ret;

	mutex_lock(&emu_lock);
	list_for_each_entry(p, &emu_parents, node)
		if (p->pdev == pdev)
			found = p;
	mutex_unlock(&emu_lock);
	if (!found)
		return -ENODEV;

	platform_set_drvdata(pdev, found);
	ret = mdev_register_parent(&found->mparent, &pdev->dev,
				   &emu_mdev_driver, found->type_ptrs,
				   found->ntypes);
	if (ret)
		return ret;
	found->registered = true;
	dev_info(&pdev->dev, "emulated Tesla %s, %u MiB, %u vGPU types\n",
		 found->prof->board, found->fb_total_mib, found->ntypes);
	return 0;
}

static int emu_pdev_remove(struct platform_device *pdev)
{
	struct emu_parent *p = platform_get_drvdata(pdev);

	if (p && p->registered) {
		mdev_unregister_parent(&p->mparent);
		p->registered = false;
	}
	return 0;
}

static struct platform_driver emu_pdrv = {
	.driver = {
		.name = EMU_DRV_NAME,
		.dev_groups = emu_parent_groups,
	},
	.probe = emu_pdev_probe,
	.remove = emu_pdev_remove,
};

/* ------------------------------------------------------------------ */
/* SR-IOV vendor-VFIO model (NVIDIA vGPU 17+, e.g. L40S): a PCI driver */
/*                                                                    */
/* carve_vf_emu has no id_table: it binds only to PCI functions whose */
/* driver_override names it (set by hand, or by the bus notifier for  */
/* the VFs of the PFs listed in vf_pfs=).  On a bound VF it publishes */
/* NVIDIA's nvidia/creatable_vgpu_types, nvidia/current_vgpu_type and */
/* nvidia/vgpu_params; capacity is the PF's framebuffer (board from   */
/* vf_board=, types from data/nvidia-sriov-types.csv), one type per   */
/* PF unless mixed.  The testbed uses QEMU's SR-IOV NVMe as the PF:   */
/* real VFs, real sriov_numvfs, nothing of NVMe is touched.           */

#include "carve_sriov_types.h"

#define EMU_VF_DRV_NAME	"carve_vf_emu"

static char *vf_board = "L40S";
module_param(vf_board, charp, 0444);
MODULE_PARM_DESC(vf_board,
	"Board whose SR-IOV vGPU types carve_vf_emu publishes on its VFs (default L40S)");

static char *vf_pfs = "";
module_param(vf_pfs, charp, 0444);
MODULE_PARM_DESC(vf_pfs,
	"PFs (comma separated PCI addresses) whose new VFs get driver_override=" EMU_VF_DRV_NAME);

/*
 * MIG, for a vf_board with MIG-backed types (H100): the mode belongs to the
 * GPU and outlives its VFs (a table by PF address, lost with the module as
 * with a reboot on Hopper); the GPU instances live with the PF state below
 * and go with the VFs, as sriov-manage destroys them.  In MIG mode only
 * MIG-backed types are creatable, one vGPU per free GPU instance of the
 * type's size; out of that order a type write fails with EIO.  NVIDIA's
 * driver takes mode, instances and mixed-size mode through NVML; here the
 * carve_vf_emu driver's attributes mig_mode, mig_instances and mixed stand
 * in for it ("<PF> <value>" to write; one such line per PF to read).
 */
#define EMU_MAX_GIS	8
#define EMU_MIG_SLICES	7
#define EMU_MAX_MIG_PFS	16

struct emu_mig_mode {
	char pf[16];
	bool on;
};
static struct emu_mig_mode emu_mig_modes[EMU_MAX_MIG_PFS];	/* emu_lock */
static unsigned int emu_n_mig_modes;

struct emu_pf {
	struct list_head node;
	struct pci_dev *pf;		/* reference held */
	unsigned int refs;		/* bound VFs */
	unsigned int fb_total_mib;
	unsigned int fb_used_mib;
	unsigned int nr_vgpus;
	bool mixed;
	const struct carve_vgpu_type_info *cur_type;
	unsigned int count[CARVE_SRIOV_NTYPES];
	unsigned int n_gis;		/* MIG GPU instances */
	unsigned int gi_type[EMU_MAX_GIS];	/* a MIG-backed type of its size */
};

struct emu_vf {
	struct pci_dev *pdev;
	struct emu_pf *pf;
	int type;			/* index into carve_sriov_types, -1 = free */
	bool busy;			/* carve_emu/busy: "a VM runs on it" */
	int params[EMU_NPARAMS];
};

static LIST_HEAD(emu_pfs);		/* protected by emu_lock */

static bool emu_vf_type_ok(unsigned int i)
{
	return !strcmp(carve_sriov_types[i].board, vf_board);
}

/* Caller holds emu_lock. */
static struct emu_mig_mode *emu_mig_find(const char *pf)
{
	unsigned int i;

	for (i = 0; i < emu_n_mig_modes; i++)
		if (!strcmp(emu_mig_modes[i].pf, pf))
			return &emu_mig_modes[i];
	return NULL;
}

/* Caller holds emu_lock. */
static bool emu_mig_on(struct emu_pf *p)
{
	struct emu_mig_mode *m = emu_mig_find(pci_name(p->pf));

	return m && m->on;
}

static bool emu_board_mig(void)
{
	unsigned int i;

	for (i = 0; i < CARVE_SRIOV_NTYPES; i++)
		if (emu_vf_type_ok(i) && carve_sriov_types[i].mig_slices)
			return true;
	return false;
}

/* The MIG-backed type of the board whose GPU instance profile is name
 * ("1g.10gb": compute slices, framebuffer in GB), or -1. */
static int emu_mig_profile_type(const char *name, size_t len)
{
	unsigned int i;
	char prof[24];

	for (i = 0; i < CARVE_SRIOV_NTYPES; i++) {
		const struct carve_vgpu_type_info *t = &carve_sriov_types[i];

		if (!emu_vf_type_ok(i) || !t->mig_slices)
			continue;
		snprintf(prof, sizeof(prof), "%ug.%ugb", t->mig_slices,
			 t->fb_mib / 1024);
		if (strlen(prof) == len && !strncmp(prof, name, len))
			return i;
	}
	return -1;
}

/* Caller holds emu_lock.  MIG-backed type i: free GPU instances of its size. */
static unsigned int emu_mig_available(struct emu_pf *p, unsigned int i)
{
	const struct carve_vgpu_type_info *t = &carve_sriov_types[i];
	unsigned int k, gis = 0, used = 0;

	for (k = 0; k < p->n_gis; k++)
		gis += carve_sriov_types[p->gi_type[k]].mig_slices == t->mig_slices;
	for (k = 0; k < CARVE_SRIOV_NTYPES; k++)
		if (carve_sriov_types[k].mig_slices == t->mig_slices)
			used += p->count[k];
	return gis > used ? gis - used : 0;
}

/* Caller holds emu_lock. */
static unsigned int emu_vf_available(struct emu_pf *p, unsigned int i)
{
	const struct carve_vgpu_type_info *t = &carve_sriov_types[i];
	unsigned int by_fb, by_max;

	if (!!t->mig_slices != emu_mig_on(p))
		return 0;
	if (t->mig_slices)
		return emu_mig_available(p, i);
	if (!p->mixed && p->nr_vgpus && p->cur_type != t)
		return 0;
	if (!t->fb_mib || p->fb_used_mib >= p->fb_total_mib)
		return 0;
	by_fb = (p->fb_total_mib - p->fb_used_mib) / t->fb_mib;
	by_max = p->count[i] < t->max_instance ? t->max_instance - p->count[i] : 0;
	return min(by_fb, by_max);
}

/* Caller holds emu_lock. */
static void emu_vf_release_locked(struct emu_vf *v)
{
	struct emu_pf *p = v->pf;
	unsigned int i;

	if (v->type < 0)
		return;
	if (!WARN_ON(!p->count[v->type] || !p->nr_vgpus)) {
		p->fb_used_mib -= carve_sriov_types[v->type].fb_mib;
		p->count[v->type]--;
		p->nr_vgpus--;
	}
	if (!p->nr_vgpus)
		p->cur_type = NULL;
	v->type = -1;
	for (i = 0; i < EMU_NPARAMS; i++)
		v->params[i] = EMU_PARAM_UNSET;
}

static ssize_t creatable_vgpu_types_show(struct device *dev,
					 struct device_attribute *a, char *buf)
{
	struct emu_vf *v = dev_get_drvdata(dev);
	ssize_t n;
	unsigned int i;

	n = sysfs_emit(buf, "ID    : vGPU Name\n");
	mutex_lock(&emu_lock);
	if (v->type < 0)
		for (i = 0; i < CARVE_SRIOV_NTYPES; i++)
			if (emu_vf_type_ok(i) && emu_vf_available(v->pf, i))
				n += sysfs_emit_at(buf, n, "%-6s: %s\n",
						   carve_sriov_types[i].sysfs_name,
						   carve_sriov_types[i].name);
	mutex_unlock(&emu_lock);
	return n;
}

static ssize_t current_vgpu_type_show(struct device *dev,
				      struct device_attribute *a, char *buf)
{
	struct emu_vf *v = dev_get_drvdata(dev);
	const char *id = "0";

	mutex_lock(&emu_lock);
	if (v->type >= 0)
		id = carve_sriov_types[v->type].sysfs_name;
	mutex_unlock(&emu_lock);
	return sysfs_emit(buf, "%s\n", id);
}

/*
 * A type number takes the type on a free VF; 0 releases.  EINVAL: not a
 * type of the board; EBUSY: the VF already has a vGPU, another type is in
 * use on the PF (homogeneous), or (release) a VM runs on it; ENOSPC: full.
 */
static ssize_t current_vgpu_type_store(struct device *dev,
				       struct device_attribute *a,
				       const char *buf, size_t count)
{
	struct emu_vf *v = dev_get_drvdata(dev);
	struct emu_pf *p = v->pf;
	unsigned int id, i, found = CARVE_SRIOV_NTYPES;
	char num[16];
	int ret = 0;

	if (kstrtouint(buf, 10, &id))
		return -EINVAL;
	if (id) {
		snprintf(num, sizeof(num), "%u", id);
		for (i = 0; i < CARVE_SRIOV_NTYPES; i++)
			if (emu_vf_type_ok(i) &&
			    !strcmp(carve_sriov_types[i].sysfs_name, num))
				found = i;
		if (found == CARVE_SRIOV_NTYPES)
			return -EINVAL;
	}
	mutex_lock(&emu_lock);
	if (!id) {
		if (v->type >= 0 && v->busy)
			ret = -EBUSY;
		else
			emu_vf_release_locked(v);
	} else if (v->type < 0 &&
		   (!!carve_sriov_types[found].mig_slices != emu_mig_on(p) ||
		    (carve_sriov_types[found].mig_slices &&
		     !emu_mig_available(p, found)))) {
		ret = -EIO;	/* MIG's order: mode, GPU instances, types */
	} else if (v->type >= 0 ||
		   (!carve_sriov_types[found].mig_slices && !p->mixed &&
		    p->nr_vgpus && p->cur_type != &carve_sriov_types[found])) {
		ret = -EBUSY;
	} else if (!emu_vf_available(p, found)) {
		ret = -ENOSPC;
	} else {
		p->fb_used_mib += carve_sriov_types[found].fb_mib;
		p->count[found]++;
		p->nr_vgpus++;
		p->cur_type = &carve_sriov_types[found];
		v->type = found;
	}
	mutex_unlock(&emu_lock);
	if (!ret)
		dev_info(dev, "%s vGPU %s\n", id ? "created" : "released",
			 id ? carve_sriov_types[found].name : "");
	return ret ? ret : count;
}

static ssize_t vf_vgpu_params_show(struct device *dev,
				   struct device_attribute *a, char *buf)
{
	struct emu_vf *v = dev_get_drvdata(dev);
	ssize_t n = 0;
	int i;

	mutex_lock(&emu_lock);
	for (i = 0; i < EMU_NPARAMS; i++)
		if (v->params[i] != EMU_PARAM_UNSET)
			n += sysfs_emit_at(buf, n, "%s%s=%d", n ? "," : "",
					   emu_param_keys[i], v->params[i]);
	mutex_unlock(&emu_lock);
	return n + sysfs_emit_at(buf, n, "\n");
}

/* Same syntax as the mdev attribute; only on a VF that has a vGPU, and not
 * while a VM runs on it. */
static ssize_t vf_vgpu_params_store(struct device *dev,
				    struct device_attribute *a,
				    const char *buf, size_t count)
{
	struct emu_vf *v = dev_get_drvdata(dev);
	int params[EMU_NPARAMS];
	int ret = emu_parse_params(buf, count, params);

	if (ret)
		return ret;
	mutex_lock(&emu_lock);
	if (v->type < 0)
		ret = -ENODEV;
	else if (v->busy)
		ret = -EBUSY;
	else
		memcpy(v->params, params, sizeof(params));
	mutex_unlock(&emu_lock);
	return ret ? ret : count;
}

static struct device_attribute dev_attr_creatable_vgpu_types =
	__ATTR(creatable_vgpu_types, 0444, creatable_vgpu_types_show, NULL);
static struct device_attribute dev_attr_current_vgpu_type =
	__ATTR(current_vgpu_type, 0644, current_vgpu_type_show,
	       current_vgpu_type_store);
static struct device_attribute dev_attr_vf_vgpu_params =
	__ATTR(vgpu_params, 0644, vf_vgpu_params_show, vf_vgpu_params_store);

static struct attribute *emu_vf_nvidia_attrs[] = {
	&dev_attr_creatable_vgpu_types.attr,
	&dev_attr_current_vgpu_type.attr,
	&dev_attr_vf_vgpu_params.attr,
	NULL,
};

static const struct attribute_group emu_vf_nvidia_group = {
	.name = "nvidia",
	.attrs = emu_vf_nvidia_attrs,
};

/* carve_emu/ on a VF: busy (a VM holds it), the PF's accounting */
static ssize_t vf_busy_show(struct device *dev, struct device_attribute *a,
			    char *buf)
{
	struct emu_vf *v = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", READ_ONCE(v->busy));
}

static ssize_t vf_busy_store(struct device *dev, struct device_attribute *a,
			     const char *buf, size_t count)
{
	struct emu_vf *v = dev_get_drvdata(dev);
	bool b;

	if (kstrtobool(buf, &b))
		return -EINVAL;
	mutex_lock(&emu_lock);
	v->busy = b;
	mutex_unlock(&emu_lock);
	return count;
}

static ssize_t vf_fb_used_mib_show(struct device *dev,
				   struct device_attribute *a, char *buf)
{
	struct emu_vf *v = dev_get_drvdata(dev);
	unsigned int u;

	mutex_lock(&emu_lock);
	u = v->pf->fb_used_mib;
	mutex_unlock(&emu_lock);
	return sysfs_emit(buf, "%u\n", u);
}

static ssize_t vf_board_show(struct device *dev, struct device_attribute *a,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n", vf_board);
}

static struct device_attribute dev_attr_vf_busy =
	__ATTR(busy, 0644, vf_busy_show, vf_busy_store);
static struct device_attribute dev_attr_vf_fb_used_mib =
	__ATTR(fb_used_mib, 0444, vf_fb_used_mib_show, NULL);
static struct device_attribute dev_attr_vf_board =
	__ATTR(board, 0444, vf_board_show, NULL);

static struct attribute *emu_vf_knob_attrs[] = {
	&dev_attr_vf_busy.attr,
	&dev_attr_vf_fb_used_mib.attr,
	&dev_attr_vf_board.attr,
	NULL,
};

static const struct attribute_group emu_vf_knob_group = {
	.name = "carve_emu",
	.attrs = emu_vf_knob_attrs,
};

static const struct attribute_group *emu_vf_groups[] = {
	&emu_vf_nvidia_group,
	&emu_vf_knob_group,
	NULL,
};

static int emu_vf_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct pci_dev *pf = pci_physfn(pdev);
	struct emu_pf *p, *found = NULL;
	struct emu_vf *v;
	unsigned int i;

	if (!pdev->is_virtfn) {
		dev_info(&pdev->dev, "not an SR-IOV VF, not binding\n");
		return -ENODEV;
	}
	v = kzalloc(sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	v->pdev = pdev;
	v->type = -1;
	for (i = 0; i < EMU_NPARAMS; i++)
		v->params[i] = EMU_PARAM_UNSET;

	mutex_lock(&emu_lock);
	list_for_each_entry(p, &emu_pfs, node)
		if (p->pf == pf)
			found = p;
	if (!found) {
		found = kzalloc(sizeof(*found), GFP_KERNEL);
		if (!found) {
			mutex_unlock(&emu_lock);
			kfree(v);
			return -ENOMEM;
		}
		found->pf = pci_dev_get(pf);
		found->mixed = mixed;
		for (i = 0; i < CARVE_SRIOV_NTYPES; i++)
			if (emu_vf_type_ok(i))
				found->fb_total_mib =
					carve_sriov_types[i].board_fb_gib * 1024;
		list_add_tail(&found->node, &emu_pfs);
		dev_info(&pf->dev, "emulated %s PF for %s: %u MiB\n",
			 vf_board, EMU_VF_DRV_NAME, found->fb_total_mib);
	}
	found->refs++;
	v->pf = found;
	mutex_unlock(&emu_lock);
	pci_set_drvdata(pdev, v);
	return 0;
}

static void emu_vf_remove(struct pci_dev *pdev)
{
	struct emu_vf *v = pci_get_drvdata(pdev);
	struct emu_pf *p = v->pf;

	mutex_lock(&emu_lock);
	if (v->type >= 0)
		dev_info(&pdev->dev, "unbound with vGPU %s, released\n",
			 carve_sriov_types[v->type].name);
	emu_vf_release_locked(v);
	if (!--p->refs) {
		list_del(&p->node);
		pci_dev_put(p->pf);
		kfree(p);
	}
	mutex_unlock(&emu_lock);
	pci_set_drvdata(pdev, NULL);
	kfree(v);
}

/* ---- the driver's attributes: NVML's part (see MIG above) ---- */

/* Caller holds emu_lock. */
static struct emu_pf *emu_pf_find(const char *name, size_t len)
{
	struct emu_pf *p;

	list_for_each_entry(p, &emu_pfs, node)
		if (strlen(pci_name(p->pf)) == len &&
		    !strncmp(pci_name(p->pf), name, len))
			return p;
	return NULL;
}

/* "<PF> <value>\n": the PF's name and length into pf and pf_len, the
 * value (no newline) into val and val_len; -EINVAL when malformed. */
static int emu_split(const char *buf, size_t count, const char **pf,
		     size_t *pf_len, const char **val, size_t *val_len)
{
	const char *sp;

	while (count && (buf[count - 1] == '\n' || buf[count - 1] == ' '))
		count--;
	sp = memchr(buf, ' ', count);
	if (!sp || sp == buf || sp - buf >= 16)
		return -EINVAL;
	*pf = buf;
	*pf_len = sp - buf;
	*val = sp + 1;
	*val_len = count - (*pf_len + 1);
	return 0;
}

/* "<PF> 0|1" */
static int emu_split_bool(const char *buf, size_t count, const char **pf,
			  size_t *pf_len, bool *out)
{
	const char *val;
	size_t len;
	int ret = emu_split(buf, count, pf, pf_len, &val, &len);

	if (ret)
		return ret;
	if (len != 1 || (val[0] != '0' && val[0] != '1'))
		return -EINVAL;
	*out = val[0] == '1';
	return 0;
}

static ssize_t emu_drv_mixed_show(struct device_driver *d, char *buf)
{
	struct emu_pf *p;
	ssize_t n = 0;

	mutex_lock(&emu_lock);
	list_for_each_entry(p, &emu_pfs, node)
		n += sysfs_emit_at(buf, n, "%s %d\n", pci_name(p->pf), p->mixed);
	mutex_unlock(&emu_lock);
	return n;
}

/* As nvmlDeviceSetVgpuHeterogeneousMode: only with VFs (the PF state),
 * never once a vGPU exists (EBUSY), not in MIG mode (EOPNOTSUPP). */
static ssize_t emu_drv_mixed_store(struct device_driver *d, const char *buf,
				   size_t count)
{
	const char *pf;
	size_t pf_len;
	struct emu_pf *p;
	bool on;
	int ret = emu_split_bool(buf, count, &pf, &pf_len, &on);

	if (ret)
		return ret;
	mutex_lock(&emu_lock);
	p = emu_pf_find(pf, pf_len);
	if (!p)
		ret = -ENODEV;
	else if (emu_mig_on(p))
		ret = -EOPNOTSUPP;
	else if (p->nr_vgpus && on != p->mixed)
		ret = -EBUSY;
	else
		p->mixed = on;
	mutex_unlock(&emu_lock);
	return ret ? ret : count;
}

static ssize_t emu_drv_mig_mode_show(struct device_driver *d, char *buf)
{
	ssize_t n = 0;
	unsigned int i;

	mutex_lock(&emu_lock);
	for (i = 0; i < emu_n_mig_modes; i++)
		n += sysfs_emit_at(buf, n, "%s %d\n", emu_mig_modes[i].pf,
				   emu_mig_modes[i].on);
	mutex_unlock(&emu_lock);
	return n;
}

/* As nvidia-smi -mig: a board with MIG (EOPNOTSUPP), no vGPU on the GPU
 * (EBUSY); either way the GPU instances go. */
static ssize_t emu_drv_mig_mode_store(struct device_driver *d, const char *buf,
				      size_t count)
{
	const char *pf;
	size_t pf_len;
	struct emu_mig_mode *m;
	struct emu_pf *p;
	char name[16];
	bool on;
	int ret = emu_split_bool(buf, count, &pf, &pf_len, &on);

	if (ret)
		return ret;
	if (!emu_board_mig())
		return -EOPNOTSUPP;
	snprintf(name, sizeof(name), "%.*s", (int)pf_len, pf);
	mutex_lock(&emu_lock);
	p = emu_pf_find(pf, pf_len);
	m = emu_mig_find(name);
	if (p && p->nr_vgpus) {
		ret = -EBUSY;
	} else if (!m && emu_n_mig_modes == EMU_MAX_MIG_PFS) {
		ret = -ENOSPC;
	} else {
		if (!m) {
			m = &emu_mig_modes[emu_n_mig_modes++];
			strscpy(m->pf, name, sizeof(m->pf));
		}
		m->on = on;
		if (p)
			p->n_gis = 0;
	}
	mutex_unlock(&emu_lock);
	return ret ? ret : count;
}

static ssize_t emu_drv_mig_instances_show(struct device_driver *d, char *buf)
{
	struct emu_pf *p;
	ssize_t n = 0;
	unsigned int k;

	mutex_lock(&emu_lock);
	list_for_each_entry(p, &emu_pfs, node) {
		if (!emu_mig_on(p))
			continue;
		n += sysfs_emit_at(buf, n, "%s ", pci_name(p->pf));
		for (k = 0; k < p->n_gis; k++) {
			const struct carve_vgpu_type_info *t =
				&carve_sriov_types[p->gi_type[k]];

			n += sysfs_emit_at(buf, n, "%s%ug.%ugb", k ? "," : "",
					   t->mig_slices, t->fb_mib / 1024);
		}
		n += sysfs_emit_at(buf, n, "\n");
	}
	mutex_unlock(&emu_lock);
	return n;
}

/* "<PF> 3g.40gb,1g.10gb" replaces the GPU's instances ("<PF> -": none),
 * as nvidia-smi mig -dgi, -cgi: VFs first (ENODEV), MIG mode on (EIO), no
 * vGPU (EBUSY), the board's profiles (EINVAL) within its slices (ENOSPC). */
static ssize_t emu_drv_mig_instances_store(struct device_driver *d,
					   const char *buf, size_t count)
{
	unsigned int gi_type[EMU_MAX_GIS], n = 0, slices = 0;
	const char *pf, *val, *end;
	size_t pf_len, val_len;
	struct emu_pf *p;
	int ret = emu_split(buf, count, &pf, &pf_len, &val, &val_len);

	if (ret)
		return ret;
	end = val + val_len;
	if (val_len == 1 && val[0] == '-')
		val = end;
	while (val < end) {
		const char *c = memchr(val, ',', end - val);
		size_t len = c ? (size_t)(c - val) : (size_t)(end - val);
		int t = emu_mig_profile_type(val, len);

		if (t < 0)
			return -EINVAL;
		slices += carve_sriov_types[t].mig_slices;
		if (n == EMU_MAX_GIS || slices > EMU_MIG_SLICES)
			return -ENOSPC;
		gi_type[n++] = t;
		val += len + (c != NULL);
	}
	mutex_lock(&emu_lock);
	p = emu_pf_find(pf, pf_len);
	if (!p)
		ret = -ENODEV;
	else if (!emu_mig_on(p))
		ret = -EIO;
	else if (p->nr_vgpus)
		ret = -EBUSY;
	else {
		memcpy(p->gi_type, gi_type, sizeof(gi_type));
		p->n_gis = n;
	}
	mutex_unlock(&emu_lock);
	return ret ? ret : count;
}

static struct driver_attribute emu_drv_attr_mixed =
	__ATTR(mixed, 0644, emu_drv_mixed_show, emu_drv_mixed_store);
static struct driver_attribute emu_drv_attr_mig_mode =
	__ATTR(mig_mode, 0644, emu_drv_mig_mode_show, emu_drv_mig_mode_store);
static struct driver_attribute emu_drv_attr_mig_instances =
	__ATTR(mig_instances, 0644, emu_drv_mig_instances_show,
	       emu_drv_mig_instances_store);

static struct attribute *emu_vf_drv_attrs[] = {
	&emu_drv_attr_mixed.attr,
	&emu_drv_attr_mig_mode.attr,
	&emu_drv_attr_mig_instances.attr,
	NULL,
};
ATTRIBUTE_GROUPS(emu_vf_drv);

static struct pci_driver emu_vf_driver = {
	.name = EMU_VF_DRV_NAME,
	.id_table = NULL,	/* driver_override only */
	.probe = emu_vf_probe,
	.remove = emu_vf_remove,
	.groups = emu_vf_drv_groups,
	.dev_groups = emu_vf_groups,
};

/* Is PCI address name in the comma separated vf_pfs list? */
static bool emu_vf_pf_listed(const char *name)
{
	const char *s = vf_pfs ? vf_pfs : "";
	size_t len = strlen(name);

	while (*s) {
		const char *e = strchrnul(s, ',');

		if ((size_t)(e - s) == len && !strncmp(s, name, len))
			return true;
		s = *e ? e + 1 : e;
	}
	return false;
}

/* New VFs of a listed PF are claimed for carve_vf_emu before the PCI core
 * looks for their driver, as the real vendor driver owns its VFs. */
static int emu_vf_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	struct device *dev = data;
	struct pci_dev *pdev = to_pci_dev(dev);
	int ret;

	if (action != BUS_NOTIFY_ADD_DEVICE || !pdev->is_virtfn ||
	    !emu_vf_pf_listed(pci_name(pci_physfn(pdev))))
		return NOTIFY_DONE;
	ret = driver_set_override(dev, &pdev->driver_override, EMU_VF_DRV_NAME,
				  strlen(EMU_VF_DRV_NAME));
	if (ret)
		dev_warn(dev, "cannot set driver_override: %d\n", ret);
	return NOTIFY_OK;
}

static struct notifier_block emu_vf_nb = {
	.notifier_call = emu_vf_notify,
};

static int emu_vf_init(void)
{
	unsigned int i, n = 0;
	int ret;

	for (i = 0; i < CARVE_SRIOV_NTYPES; i++)
		n += emu_vf_type_ok(i);
	if (!n) {
		pr_err("vf_board=%s: no SR-IOV vGPU types for it\n", vf_board);
		return -EINVAL;
	}
	ret = bus_register_notifier(&pci_bus_type, &emu_vf_nb);
	if (ret)
		return ret;
	ret = pci_register_driver(&emu_vf_driver);
	if (ret)
		bus_unregister_notifier(&pci_bus_type, &emu_vf_nb);
	return ret;
}

static void emu_vf_exit(void)
{
	pci_unregister_driver(&emu_vf_driver);
	bus_unregister_notifier(&pci_bus_type, &emu_vf_nb);
}

/* ------------------------------------------------------------------ */
/* Setup / teardown                                                    */

static void emu_free_parent(struct emu_parent *p)
{
	kfree(p->type_ptrs);
	kfree(p->types);
	kfree(p);
}

static int emu_add_parent(const struct emu_profile *prof, unsigned int idx)
{
	struct emu_parent *p;
	unsigned int i, n = 0;
	int ret;

	for (i = 0; i < ARRAY_SIZE(carve_vgpu_types); i++)
		if (!strcmp(carve_vgpu_types[i].board, prof->board))
			n++;
	if (!n) {
		pr_err("no vGPU types for board %s in the type table\n",
		       prof->board);
		return -EINVAL;
	}

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->types = kcalloc(n, sizeof(*p->types), GFP_KERNEL);
	p->type_ptrs = kcalloc(n, sizeof(*p->type_ptrs), GFP_KERNEL);
	if (!p->types || !p->type_ptrs) {
		emu_free_parent(p);
		return -ENOMEM;
	}
	p->prof = prof;
	p->addr = prof->addr[idx];
	p->numa = prof->numa[idx];
	p->mixed = mixed;
	for (i = 0; i < ARRAY_SIZE(carve_vgpu_types); i++) {
		const struct carve_vgpu_type_info *ti = &carve_vgpu_types[i];
		struct emu_type *t;

		if (strcmp(ti->board, prof->board))
			continue;
		t = &p->types[p->ntypes];
		t->info = ti;
		t->mtype.sysfs_name = ti->sysfs_name;
		t->mtype.pretty_name = ti->name;
		p->type_ptrs[p->ntypes++] = &t->mtype;
		p->fb_total_mib = ti->board_fb_gib * 1024;
	}

	p->pdev = platform_device_alloc(p->addr, PLATFORM_DEVID_NONE);
	if (!p->pdev) {
		emu_free_parent(p);
		return -ENOMEM;
	}
	/* bind to our "nvidia" platform driver although names differ */
	p->pdev->driver_override = kstrdup(EMU_DRV_NAME, GFP_KERNEL);
	if (!p->pdev->driver_override) {
		platform_device_put(p->pdev);
		emu_free_parent(p);
		return -ENOMEM;
	}

	mutex_lock(&emu_lock);
	list_add_tail(&p->node, &emu_parents);
	mutex_unlock(&emu_lock);

	ret = platform_device_add(p->pdev);
	if (ret) {
		pr_err("cannot add parent %s: %d\n", p->addr, ret);
		platform_device_put(p->pdev);
		p->pdev = NULL;
		return ret;	/* p stays on the list; freed by teardown */
	}
	if (!p->registered) {
		pr_err("parent %s did not bind to the %s driver\n", p->addr,
		       EMU_DRV_NAME);
		return -ENODEV;
	}
	return 0;
}

static void emu_teardown(void)
{
	struct emu_parent *p, *tmp;

	/* unregistering a parent removes (unbinds) all its vGPUs first */
	list_for_each_entry(p, &emu_parents, node)
		if (p->pdev)
			platform_device_unregister(p->pdev);

	mutex_lock(&emu_lock);
	list_for_each_entry_safe(p, tmp, &emu_parents, node) {
		list_del(&p->node);
		emu_free_parent(p);
	}
	mutex_unlock(&emu_lock);
}

static int emu_add_profiles(void)
{
	char *list, *cur, *name;
	int ret = 0;

	list = kstrdup(profile ? profile : "", GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	cur = list;
	while ((name = strsep(&cur, ",")) != NULL) {
		const struct emu_profile *prof = NULL;
		unsigned int i;

		name = strim(name);
		if (!*name)
			continue;
		for (i = 0; i < ARRAY_SIZE(emu_profiles); i++)
			if (!strcmp(name, emu_profiles[i].name))
				prof = &emu_profiles[i];
		if (!prof) {
			pr_err("unknown profile '%s'\n", name);
			ret = -EINVAL;
			break;
		}
		for (i = 0; i < prof->ngpus; i++) {
			ret = emu_add_parent(prof, i);
			if (ret)
				break;
		}
		if (ret)
			break;
	}
	kfree(list);
	if (!ret && list_empty(&emu_parents)) {
		pr_err("empty profile\n");
		ret = -EINVAL;
	}
	return ret;
}

static int __init emu_init(void)
{
	int ret;

	ret = mdev_register_driver(&emu_mdev_driver);
	if (ret)
		return ret;
	ret = platform_driver_register(&emu_pdrv);
	if (ret)
		goto err_mdev;
	ret = emu_add_profiles();
	if (ret)
		goto err_parents;
	ret = emu_vf_init();
	if (ret)
		goto err_parents;
	pr_info("loaded: profile=%s mixed=%d vf_board=%s\n", profile, mixed,
		vf_board);
	return 0;

err_parents:
	emu_teardown();
	platform_driver_unregister(&emu_pdrv);
err_mdev:
	mdev_unregister_driver(&emu_mdev_driver);
	return ret;
}

static void __exit emu_exit(void)
{
	emu_vf_exit();
	emu_teardown();
	platform_driver_unregister(&emu_pdrv);
	mdev_unregister_driver(&emu_mdev_driver);
	if (atomic_read(&emu_live_vgpus))
		pr_err("unloaded with %d vGPUs still allocated\n",
		       atomic_read(&emu_live_vgpus));
	else
		pr_info("unloaded cleanly, no vGPUs left\n");
}

module_init(emu_init);
module_exit(emu_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("carve testbed: emulated NVIDIA-style vGPU mdev vendor driver");
MODULE_AUTHOR("carve project");
MODULE_SOFTDEP("pre: vfio_iommu_type1");
