#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# carve's discovery against the real kernel mdev core: the emulated host
# (two P40s on NUMA 0/1, a four-GPU M10 board, a T4, plus QEMU's own VGA
# adapter, a real PCI device) is what `carve --json host-discover`,
# `carve pgpu-list`, `vgpu-type-list` and `gpu-group-list` report:
#   - the whole inventory equals expected/discovery.txt (golden),
#   - every type of data/nvidia-vgpu-types.csv for each board is there with
#     the CSV's framebuffer, heads, resolution, frame rate limit and
#     max_instance, and carve's available count equals the kernel's
#     available_instances (empty GPUs, then with vGPUs created behind carve),
#   - 4 PGPUs for the M10, NUMA nodes 0/1 for the P40s, 1 T4,
#   - rediscovery after the GPUs vanish keeps the rows (present=false), the
#     identities (derived UUIDs) and the user's settings.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve

export CARVE_DB=/tmp/carve-discovery.db
P40A=0000:41:00.0 P40B=0000:81:00.0 T4=0000:5e:00.0
M10="0000:3d:00.0 0000:3e:00.0 0000:3f:00.0 0000:40:00.0"

check "load emulator profile=p40x2,m10,t4" emu_load profile=p40x2,m10,t4

# ---- host-discover: the whole inventory -------------------------------------
cv_run cv --json host-discover
expect_eq "carve --json host-discover runs" "$CV_RC" 0
echo "$CV_OUT" | inventory_summary > /tmp/inv.txt
expect_golden "host-discover inventory" discovery.txt /tmp/inv.txt

# csv_check BOARD PCI...: the types carve reports on each GPU of BOARD are
# exactly the CSV's rows for that board (plus passthrough), with the CSV's
# values, and available == max_instance (the GPUs are empty).
csv_check() {
	_b=$1; shift
	for _p in "$@"; do
		csv_types "$_b" | awk -F'|' -v p="$_p" '{
			printf "type %s %s name=%s fb=%s heads=%s res=%s frl=%s max=%s avail=%s\n",
				p, $1, $2, $3, $4, $5, $6, $7, $7 }' | sort > /tmp/csv.want
		grep "^type $_p nvidia-" /tmp/inv.txt | sed 's/ multi=.*//' | sort > /tmp/csv.got
		_n=$(grep -c . /tmp/csv.want)
		if [ "$_n" -gt 0 ] && diff /tmp/csv.want /tmp/csv.got > /tmp/csv.diff; then
			ok "$_b $_p: all $_n CSV types, framebuffer/heads/resolution/frl/max_instance/available right"
		else
			fail "$_b $_p: types differ from the CSV's $_n rows: $(grep '^[<>]' /tmp/csv.diff | head -n 6 | tr '\n' ' ')"
		fi
	done
}
csv_check P40 $P40A $P40B
csv_check T4 $T4
# shellcheck disable=SC2086
csv_check M10 $M10

# avail_agree WHAT: carve's available == the kernel's available_instances for
# every type of every emulated GPU.
avail_agree() {
	kern_avail_all > /tmp/avail.kern
	awk '$1 == "type" && $3 != "passthrough" { a = $0; sub(/.* avail=/, "", a); sub(/ .*/, "", a)
		print "avail", $2, $3, a }' /tmp/inv.txt | sort > /tmp/avail.carve
	# only the mdev parents (QEMU's VGA has no types)
	if diff /tmp/avail.kern /tmp/avail.carve > /tmp/avail.diff; then
		ok "$1: carve's available == kernel available_instances ($(grep -c . /tmp/avail.kern) types)"
	else
		fail "$1: available differs: $(grep '^[<>]' /tmp/avail.diff | head -n 6 | tr '\n' ' ')"
	fi
}
avail_agree "empty host"

# ---- the xe-style lists -------------------------------------------------------
cv pgpu-list params=uuid,pci-id,vendor-name,device-name,gpu-group-name-label,board,driver,implementation,numa-node,is-system-display-device,present \
	> /tmp/pgpu.txt 2>&1
expect_golden "pgpu-list" pgpu-list.txt /tmp/pgpu.txt
expect_eq "4 PGPUs for the M10 board" \
	"$(cvm pgpu-list --minimal board="Tesla M10" | tr ',' '\n' | grep -c .)" 4
expect_eq "2 PGPUs for the P40s" "$(cvm pgpu-list --minimal board="Tesla P40" | tr ',' '\n' | grep -c .)" 2
expect_eq "1 PGPU for the T4" "$(cvm pgpu-list --minimal board="Tesla T4" | tr ',' '\n' | grep -c .)" 1
expect_eq "NUMA nodes of the P40s (41:00.0 on 0, 81:00.0 on 1)" \
	"$(cvm pgpu-list params=pci-id,numa-node board="Tesla P40" | xe_table pci-id numa-node | tr '\n' ' ')" \
	"$P40A|0 $P40B|1 "
expect_eq "pgpu numa-node == the kernel's numa_node for every GPU" \
	"$(cvm pgpu-list params=pci-id,numa-node implementation=nvidia-mdev | xe_table pci-id numa-node | sort | tr '\n' ' ')" \
	"$(for p in /sys/class/mdev_bus/*; do echo "${p##*/}|$(cat "$p/numa_node")"; done | sort | tr '\n' ' ')"

cvm vgpu-type-list params=model-name,identifier,board,framebuffer-size,max-heads,max-resolution,frame-rate-limit,max-instances-per-pgpu,series,implementation \
	> /tmp/types.txt 2>&1
expect_golden "vgpu-type-list" vgpu-type-list.txt /tmp/types.txt
# every P40 row of the CSV, as vgpu-type-list shows it
csv_types P40 | awk -F'|' '{ printf "%s|%s|%.0f|%s|%s|%s|%s\n", $2, $1, $3 * 1048576, $4, $5, $6, $7 }' |
	sort > /tmp/p40.want
cvm vgpu-type-list board="Tesla P40" implementation=nvidia-mdev \
	params=model-name,identifier,framebuffer-size,max-heads,max-resolution,frame-rate-limit,max-instances-per-pgpu 2>&1 |
	xe_table model-name identifier framebuffer-size max-heads max-resolution frame-rate-limit max-instances-per-pgpu |
	sort > /tmp/p40.got
if [ "$(grep -c . /tmp/p40.want)" = 25 ] && diff /tmp/p40.want /tmp/p40.got > /tmp/p40.diff; then
	ok "vgpu-type-list: all 25 P40 types of the CSV with the right max-instances-per-pgpu"
else
	fail "vgpu-type-list P40 vs CSV: $(grep '^[<>]' /tmp/p40.diff | head -n 6 | tr '\n' ' ')"
fi

cvm gpu-group-list params=uuid,name-label,GPU-types,allocation-algorithm,PGPU-uuids > /tmp/groups.txt 2>&1
expect_golden "gpu-group-list" gpu-group-list.txt /tmp/groups.txt
m10g=$(cvm gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla M10 GPUs")
expect_eq "the M10 group holds the 4 M10 PGPUs" \
	"$(cvm gpu-group-param-get uuid="$m10g" param-name=PGPU-uuids | tr ';' '\n' | grep -c .)" 4

# ---- devices created behind carve's back ----------------------------------------
u1=$(new_uuid) u2=$(new_uuid) u3=$(new_uuid)
check "raw create P40-2Q on $P40A" emu_create $P40A nvidia-47 "$u1"
check "raw create P40-2Q on $P40A" emu_create $P40A nvidia-47 "$u2"
check "raw params on $u2" sysfs_write "/sys/bus/mdev/devices/$u2/nvidia/vgpu_params" "frame_rate_limiter=0,disable_vnc=1"
t4q=$(csv_types T4 | awk -F'|' '$2 == "GRID T4-4Q" { print $1 }')
check "raw create T4-4Q on $T4" emu_create $T4 "$t4q" "$u3"
cv --json host-discover 2>&1 | inventory_summary > /tmp/inv.txt
avail_agree "3 vGPUs on the host"
expect_eq "host-discover lists the 3 devices with type, parent and params" \
	"$(grep '^dev ' /tmp/inv.txt | sort)" \
	"$(printf '%s\n' "dev $P40A $u1 type=nvidia-47 params=" \
		"dev $P40A $u2 type=nvidia-47 params=frame_rate_limiter=0,disable_vnc=1" \
		"dev $T4 $u3 type=$t4q params=" | sort)"
expect_eq "P40-2Q available on $P40A after 2 creates" \
	"$(sed -n "s/^type $P40A nvidia-47 .* avail=\([0-9]*\) .*/\1/p" /tmp/inv.txt)" 10
expect_eq "other P40 types show 0 on $P40A (one type per GPU)" \
	"$(grep "^type $P40A nvidia-" /tmp/inv.txt | grep -v ' nvidia-47 ' | grep -vc ' avail=0 ')" 0
for u in $u1 $u2 $u3; do emu_remove "$u" || fail "remove $u: $TB_ERR"; done

# ---- rediscovery: GPUs vanish and come back ---------------------------------------
p40g=$(cvm gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
expect_cv_ok "P40 group set to breadth-first" cvm gpu-group-param-set uuid="$p40g" allocation-algorithm=breadth-first
check "reload emulator with profile=m10 only" emu_load profile=m10
expect_eq "P40s and T4 kept with present=false, M10s present" \
	"$(cv pgpu-list params=pci-id,present implementation=nvidia-mdev | xe_table pci-id present | sort | tr '\n' ' ')" \
	"0000:3d:00.0|true 0000:3e:00.0|true 0000:3f:00.0|true 0000:40:00.0|true $P40A|false $T4|false $P40B|false "
expect_eq "P40 group keeps its allocation algorithm while its GPUs are gone" \
	"$(cvm gpu-group-param-get uuid="$p40g" param-name=allocation-algorithm)" breadth-first
check "reload emulator with profile=p40x2,m10,t4" emu_load profile=p40x2,m10,t4
cv pgpu-list params=uuid,pci-id,vendor-name,device-name,gpu-group-name-label,board,driver,implementation,numa-node,is-system-display-device,present \
	> /tmp/pgpu.txt 2>&1
expect_golden "PGPUs come back present with the same UUIDs and groups" pgpu-list.txt /tmp/pgpu.txt
expect_eq "P40 group still breadth-first after the GPUs came back" \
	"$(cvm gpu-group-param-get uuid="$p40g" param-name=allocation-algorithm)" breadth-first
