#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pack hook of guest/libvirt-e2e.sh ("# testbed-pack: pack/libvirt.sh"):
# everything pack/nested-qemu.sh packs (QEMU, its TCG module, firmware, the
# level-2 kernel and initramfs), and Debian's libvirtd with its QEMU driver
# only, virsh, their shared libraries, libvirt's data (CPU maps), QEMU's
# firmware where libvirt's QEMU looks for it (/usr/share/qemu), carve's
# libvirt hook at /etc/libvirt/hooks/qemu, and a configuration for a root
# libvirtd without cgroups, namespaces, security drivers or polkit (the
# testbed guest has none of them).
# Env (from tests/testbed/run): KERNEL, VMLINUZ, KVER, OUT, TB_DIR.
set -eu -o pipefail
ST=$1
REPO=$(cd "$TB_DIR/../.." && pwd)
"$TB_DIR/pack/nested-qemu.sh" "$ST" >/dev/null

libvirtd=$(command -v libvirtd || echo /usr/sbin/libvirtd)
virsh=$(command -v virsh || echo /usr/bin/virsh)
drv=/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so
for f in "$libvirtd" "$virsh" "$drv"; do
	# without libvirt the guest script skips (it looks for /usr/sbin/libvirtd)
	[ -e "$f" ] || { echo "libvirt pack: $f missing (tests/testbed/install-deps): libvirt-e2e.sh will skip" >&2; exit 0; }
done
mkdir -p "$ST/usr/sbin" "$ST/usr/bin" "$ST$(dirname "$drv")"
cp -L "$libvirtd" "$ST/usr/sbin/libvirtd"
cp -L "$virsh" "$ST/usr/bin/virsh"
cp -L "$drv" "$ST$drv"
{ ldd "$libvirtd"; ldd "$virsh"; ldd "$drv"; } | awk '/=> \//{ print $3 } /^[ \t]+\//{ print $1 }' | sort -u |
	while read -r lib; do
		[ -e "$ST$lib" ] && continue
		mkdir -p "$ST$(dirname "$lib")"
		cp -L "$lib" "$ST$lib"
	done
# libvirt's data: CPU models and the like (small)
mkdir -p "$ST/usr/share/libvirt"
cp -rL /usr/share/libvirt/cpu_map "$ST/usr/share/libvirt/" 2>/dev/null || true
# QEMU's firmware where a QEMU started by libvirt (no -L) finds it
mkdir -p "$ST/usr/share/qemu"
cp -L "$ST"/testbed/nested/fw/* "$ST/usr/share/qemu/"
for f in vgabios-stdvga.bin efi-e1000e.rom; do
	for d in /usr/share/qemu /usr/share/seavgabios /usr/lib/ipxe/qemu; do
		[ -e "$d/$f" ] && { cp -L "$d/$f" "$ST/usr/share/qemu/$f"; break; }
	done
done

mkdir -p "$ST/etc/libvirt/hooks"
cp "$REPO/dist/libvirt-hook-qemu" "$ST/etc/libvirt/hooks/qemu"
chmod 755 "$ST/etc/libvirt/hooks/qemu"
cat >"$ST/etc/libvirt/libvirtd.conf" <<'EOF'
# testbed: root only, no polkit, no TCP
listen_tls = 0
listen_tcp = 0
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_filters = "3:*"
log_outputs = "3:file:/tmp/libvirtd.log"
EOF
cat >"$ST/etc/libvirt/qemu.conf" <<'EOF'
# testbed: no cgroups, namespaces or security drivers in the guest
user = "+0"
group = "+0"
dynamic_ownership = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
remember_owner = 0
# no virtlogd in the guest: QEMU writes its log file itself
stdio_handler = "file"
EOF
du -sh "$ST" >&2
