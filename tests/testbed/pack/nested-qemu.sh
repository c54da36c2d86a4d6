#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pack hook of guest/nested-qemu.sh ("# testbed-pack: pack/nested-qemu.sh"):
# fills STAGEDIR (appended to that script's initramfs only) with what a
# second-level QEMU needs inside the testbed guest:
#   /usr/bin/qemu-system-x86_64, its TCG accelerator module
#                              (lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so,
#                              loaded at run time) and their shared
#                              libraries (same paths),
#   /testbed/nested/fw/        firmware for -L (SeaBIOS, PVH/linuxboot
#                              option ROMs, kvmvapic),
#   /testbed/nested/kernel     the level-2 kernel (the testbed's own kernel:
#                              the bzImage, smaller to pack than the vmlinux),
#   /testbed/nested/initrd     a tiny busybox initramfs whose /init lists
#                              the PCI devices and powers off.
# Env (from tests/testbed/run): KERNEL, VMLINUZ, KVER, OUT, TB_DIR.
set -eu -o pipefail
ST=$1
N=$ST/testbed/nested
mkdir -p "$N/fw" "$ST/usr/bin"

q=$(command -v qemu-system-x86_64)
cp -L "$q" "$ST/usr/bin/qemu-system-x86_64"
acc=/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so
mkdir -p "$ST$(dirname "$acc")"
cp -L "$acc" "$ST$acc"
{ ldd "$q"; ldd "$acc"; } | awk '/=> \//{ print $3 } /^[ \t]+\//{ print $1 }' | sort -u | while read -r lib; do
	mkdir -p "$ST$(dirname "$lib")"
	cp -L "$lib" "$ST$lib"
done

# firmware: what qemu-system-x86_64 -M pc -nodefaults -vga none opens
for f in bios-256k.bin kvmvapic.bin linuxboot_dma.bin linuxboot.bin pvh.bin; do
	for d in /usr/share/qemu /usr/share/seabios; do
		if [ -e "$d/$f" ]; then cp -L "$d/$f" "$N/fw/$f"; break; fi
	done
	[ -e "$N/fw/$f" ] || { echo "firmware $f not found" >&2; exit 1; }
done

# level-2 kernel: the bzImage (NESTED_KERNEL=vmlinux packs the PVH ELF)
if [ "${NESTED_KERNEL:-}" = vmlinux ]; then
	cp -L "$KERNEL" "$N/kernel"
else
	cp -L "$VMLINUZ" "$N/kernel"
fi

# level-2 initramfs: static busybox + an /init that reports the PCI devices
L2=$(mktemp -d)
trap 'rm -rf "$L2"' EXIT
mkdir -p "$L2"/{bin,proc,sys,dev}
cp /bin/busybox "$L2/bin/busybox"
ln -s busybox "$L2/bin/sh"
cat > "$L2/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "L2: up, kernel $(uname -r), $(cut -d' ' -f1 /proc/uptime)s"
for d in /sys/bus/pci/devices/*; do
	echo "L2-PCI: ${d##*/} $(cat $d/vendor):$(cat $d/device) class=$(cat $d/class) subsys=$(cat $d/subsystem_vendor):$(cat $d/subsystem_device)"
done
# the marker: an NVIDIA function (vendor 0x10de), i.e. the vGPU passed in
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x10de ] &&
		echo "L2-SEES-VGPU: ${d##*/} $(cat $d/vendor):$(cat $d/device) subsys=$(cat $d/subsystem_vendor):$(cat $d/subsystem_device) class=$(cat $d/class)"
done
echo "L2: done"
poweroff -f
INIT
chmod 755 "$L2/init"
(cd "$L2" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$N/initrd"
du -sh "$ST"
