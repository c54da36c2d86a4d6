# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Helpers for testbed guest scripts (busybox sh inside the QEMU guest).
# Guest scripts start with:   . "$TESTBED_LIB"
#
# Every check appends "PASS <script>: <what>" or "FAIL <script>: <what>" to
# $TESTBED_RESULTS; /init counts them into the TESTBED-RESULT line.

: "${TESTBED_RESULTS:=/run/testbed/results}"
: "${TESTBED_SCRIPT:=$(basename "$0")}"
TB_ERR=

ok() {
	echo "PASS: $*"
	echo "PASS $TESTBED_SCRIPT: $*" >> "$TESTBED_RESULTS"
}

fail() {
	echo "FAIL: $*"
	echo "FAIL $TESTBED_SCRIPT: $*" >> "$TESTBED_RESULTS"
}

# Informational line; does not count.
note() { echo "NOTE: $*"; }

# skip WHAT: counted as skipped (neither pass nor fail), but visible.  A boot
# whose checks were all skipped is reported as skipped by the host.
skip() {
	echo "SKIP: $*"
	echo "SKIP $TESTBED_SCRIPT: $*" >> "$TESTBED_RESULTS"
}

# check DESC CMD...: pass if CMD succeeds.
check() {
	_d=$1; shift
	if "$@"; then ok "$_d"; else fail "$_d (failed: $*)"; fi
}

# check_not DESC CMD...: pass if CMD fails.
check_not() {
	_d=$1; shift
	if "$@"; then fail "$_d (unexpectedly succeeded: $*)"; else ok "$_d"; fi
}

# expect_eq DESC ACTUAL EXPECTED
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (got '$2', expected '$3')"; fi
}

# expect_match DESC ACTUAL GLOB
expect_match() {
	# shellcheck disable=SC2254
	case $2 in
	$3) ok "$1" ;;
	*) fail "$1 (got '$2', expected to match '$3')" ;;
	esac
}

# sysfs_write FILE VALUE: write like userspace does (one write(2)); returns
# the status and leaves the error text (e.g. "No space left on device") in
# $TB_ERR.
# (The shell's own echo/printf builtins do not report errno, so use dd.)
# (No temp file: safe to call from concurrent subshells.)
sysfs_write() {
	TB_ERR=
	_out=$(printf '%s\n' "$2" | dd of="$1" bs=65536 2>&1 && echo __TB_WRITE_OK__)
	case $_out in
	*__TB_WRITE_OK__*) return 0 ;;
	esac
	TB_ERR=$(echo "$_out" | grep -E 'error|can.t open' | sed -e 's/^.*: //' | tail -n1)
	[ -n "$TB_ERR" ] || TB_ERR="write failed: $(echo "$_out" | tr '\n' ' ')"
	return 1
}

# expect_write_ok DESC FILE VALUE
expect_write_ok() {
	if sysfs_write "$2" "$3"; then ok "$1"; else fail "$1 (write '$3' > $2: $TB_ERR)"; fi
}

# expect_write_err DESC FILE VALUE ERRTEXT: the write must fail with ERRTEXT
# (strerror text, e.g. "Invalid argument", "No space left on device",
# "Device or resource busy", "I/O error", "File exists").
expect_write_err() {
	if sysfs_write "$2" "$3"; then
		fail "$1 (write '$3' > $2 unexpectedly succeeded)"
	elif [ -n "$4" ] && [ "$TB_ERR" != "$4" ]; then
		fail "$1 (write '$3' > $2 failed with '$TB_ERR', expected '$4')"
	else
		ok "$1 ($TB_ERR)"
	fi
}

new_uuid() { cat /proc/sys/kernel/random/uuid; }

# ---- carve_vgpu_emu helpers ------------------------------------------------

# shellcheck disable=SC2034  # used by guest scripts
EMU_PARAMS=/sys/module/carve_vgpu_emu/parameters

# emu_load [module params...]: (re)load the emulated vGPU driver.
emu_load() {
	emu_unload
	modprobe carve_vgpu_emu "$@"
}

emu_unload() {
	if [ -d /sys/module/carve_vgpu_emu ]; then
		rmmod carve_vgpu_emu
	fi
}

# Parent directory of an emulated GPU (PCI-address-named mdev parent).
emu_parent() { echo "/sys/class/mdev_bus/$1"; }

# emu_type_dir PARENT TYPE -> .../mdev_supported_types/TYPE
emu_type_dir() { echo "/sys/class/mdev_bus/$1/mdev_supported_types/$2"; }

# emu_avail PARENT TYPE -> available_instances
emu_avail() { cat "$(emu_type_dir "$1" "$2")/available_instances"; }

# emu_create PARENT TYPE UUID
emu_create() { sysfs_write "$(emu_type_dir "$1" "$2")/create" "$3"; }

# emu_remove UUID
emu_remove() { sysfs_write "/sys/bus/mdev/devices/$1/remove" 1; }

# emu_vfs_bind PF N: enable N VFs on PF by hand (autoprobe off) and bind each
# to carve_vf_emu (driver_override + drivers_probe); their addresses in $VFS.
emu_vfs_bind() {
	sysfs_write "/sys/bus/pci/devices/$1/sriov_drivers_autoprobe" 0
	expect_write_ok "sriov_numvfs=$2" "/sys/bus/pci/devices/$1/sriov_numvfs" "$2"
	VFS=
	for _v in /sys/bus/pci/devices/$1/virtfn*; do
		_vf=$(basename "$(readlink "$_v")")
		VFS="$VFS${VFS:+ }$_vf"
		sysfs_write "$_v/driver_override" carve_vf_emu && sysfs_write /sys/bus/pci/drivers_probe "$_vf" ||
			fail "bind $_vf to carve_vf_emu: $TB_ERR"
	done
}

# Number of mdev devices that exist right now.
mdev_count() { ls /sys/bus/mdev/devices 2>/dev/null | wc -l; }

# csv_types BOARD: "type_id|name|fb|heads|maxres|frl|maxinst" per line from
# the repo's type table (the same CSV the module's table is generated from).
csv_types() {
	awk -F, -v b="$1" 'NR > 1 && $3 == b {
		print $1 "|" $2 "|" $5 "|" $6 "|" $7 "|" $8 "|" $11 }' \
		"$TESTBED_DATA/nvidia-vgpu-types.csv"
}

# ---- carve helpers -----------------------------------------------------------
# Guest scripts drive the real carve binary black-box.  The database is
# $CARVE_DB (set it before calling; default /tmp/carve.db, on tmpfs), the
# host name is fixed so the derived host/PGPU UUIDs are stable.

: "${CARVE_DB:=/tmp/carve.db}"

# need_carve: skip the whole script when no carve binary was packed.
need_carve() {
	if [ ! -x /usr/local/bin/carve ]; then
		skip "no carve binary in the initramfs (build it first, or set CARVE_BIN_DIR)"
		exit 0
	fi
}

# cv ARGS...: carve on the live host (discovers /sys on every call).
cv() { carve --db "$CARVE_DB" --hostname testbed "$@"; }
# cvm ARGS...: carve on the model only (--no-discover: no sysfs access,
# about half the cost of cv under TCG); for verbs that do not touch the host.
cvm() { carve --db "$CARVE_DB" --hostname testbed --no-discover "$@"; }

# cv_run [cv|cvm] ARGS...: run, keep stdout+stderr in $CV_OUT, status in $CV_RC.
cv_run() {
	CV_OUT=$("$@" 2>&1)
	CV_RC=$?
}

# expect_cv_ok DESC [cv|cvm] ARGS...: carve must succeed.
expect_cv_ok() {
	_d=$1; shift
	cv_run "$@"
	if [ "$CV_RC" = 0 ]; then ok "$_d"; else fail "$_d (carve $* exited $CV_RC: $CV_OUT)"; fi
}

# expect_cv_err DESC ERROR_ID [cv|cvm] ARGS...: carve must fail with
# "carve: ERROR_ID: ..." and status 1.
expect_cv_err() {
	_d=$1 _id=$2; shift 2
	cv_run "$@"
	case $CV_RC:$CV_OUT in
	1:*"carve: $_id: "*) ok "$_d ($_id)" ;;
	*) fail "$_d (expected carve: $_id, got status $CV_RC: $CV_OUT)" ;;
	esac
}

# xe_table FIELD...: turn xe-style records on stdin ("name ( RO): value",
# blank line between records) into one "v1|v2|..." line per record.
xe_table() {
	awk -v want="$*" '
	function flush(  i, s) {
		if (!have) return
		s = ""
		for (i = 1; i <= n; i++) s = s (i > 1 ? "|" : "") v[w[i]]
		print s; have = 0; split("", v)
	}
	BEGIN { n = split(want, w, " ") }
	/^[ \t]*$/ { flush(); next }
	{
		k = $0; sub(/^ */, "", k); sub(/ \(.*$/, "", k)
		val = $0; sub(/^[^:]*\) *: ?/, "", val)
		v[k] = val; have = 1
	}
	END { flush() }'
}

# json_flat: pretty-printed JSON (carve --json, one value per line) on stdin
# -> "path=value" lines, e.g. gpus.1.types.0.id=nvidia-46.
json_flat() {
	awk '
	function path(   i, s) { s = ""; for (i = 2; i <= d; i++) s = s st[i] "."; return s }
	{
		line = $0
		sub(/^[ \t]+/, "", line); sub(/[ \t\r]+$/, "", line); sub(/,$/, "", line)
		key = ""
		if (line ~ /^"[^"]*": /) {
			key = line; sub(/^"/, "", key); sub(/".*$/, "", key)
			sub(/^"[^"]*": /, "", line)
		}
		if (line == "{" || line == "[") {
			if (key == "" && d > 0) key = cnt[d]++
			d++; st[d] = key; cnt[d] = 0; next
		}
		if (line == "}" || line == "]") { d--; next }
		if (key == "") key = cnt[d]++
		if (line ~ /^".*"$/) line = substr(line, 2, length(line) - 2)
		print path() key "=" line
	}'
}

# inventory_summary: `carve --json host-discover` on stdin -> one line per
# GPU, per vGPU type and per device (what the golden files hold):
#   gpu PCI VEN:DEV sub=SV:SD class=C driver=D numa=N board=B mech=M display=X mixed=X
#   type PCI ID name=N fb=MIB heads=H res=WxH frl=F max=M avail=A multi=X series=S
#   dev PCI UUID type=T params=P
inventory_summary() {
	json_flat | awk '
	{ i = index($0, "="); k = substr($0, 1, i - 1); val[k] = substr($0, i + 1) }
	$0 ~ /^gpus\.[0-9]+\.pci=/ { split(k, a, "."); if (a[2] + 1 > ng) ng = a[2] + 1 }
	$0 ~ /^gpus\.[0-9]+\.types\.[0-9]+\.id=/ { split(k, a, "."); if (a[4] + 1 > nt[a[2]]) nt[a[2]] = a[4] + 1 }
	$0 ~ /^gpus\.[0-9]+\.devices\.[0-9]+\.uuid=/ { split(k, a, "."); if (a[4] + 1 > nd[a[2]]) nd[a[2]] = a[4] + 1 }
	END {
		for (g = 0; g < ng; g++) {
			p = "gpus." g "."
			printf "gpu %s %s:%s sub=%s:%s class=%s driver=%s numa=%s board=%s mech=%s display=%s mixed=%s\n",
				val[p "pci"], val[p "vendor_id"], val[p "device_id"], val[p "subsystem_vendor_id"],
				val[p "subsystem_device_id"], val[p "class"], val[p "driver"], val[p "numa_node"],
				val[p "board"], val[p "mechanism"], val[p "is_system_display"], val[p "mixed_size"]
			for (t = 0; t < nt[g]; t++) {
				q = p "types." t "."
				printf "type %s %s name=%s fb=%s heads=%s res=%s frl=%s max=%s avail=%s multi=%s series=%s\n",
					val[p "pci"], val[q "id"], val[q "name"], val[q "framebuffer_mib"], val[q "num_heads"],
					val[q "max_resolution"], val[q "frl_config"], val[q "max_instances"], val[q "available"],
					val[q "multi_vgpu"], val[q "series"]
			}
			for (t = 0; t < nd[g]; t++) {
				q = p "devices." t "."
				printf "dev %s %s type=%s params=%s\n", val[q "parent"], val[q "uuid"], val[q "type"], val[q "params"]
			}
		}
	}'
}

# expect_golden DESC FILE ACTUAL_FILE: compare with tests/testbed/guest/
# expected/FILE (packed as /testbed/guest/expected/FILE); on mismatch print
# the diff and keep the actual output as /state/golden-actual/FILE (on the
# host: build/testbed/state-<boot>/golden-actual/FILE) for review/update.
expect_golden() {
	if diff -u "/testbed/guest/expected/$2" "$3" > /tmp/golden.diff 2>&1; then
		ok "$1 (matches expected/$2)"
	else
		fail "$1 (differs from expected/$2, diff follows)"
		sed 's/^/    | /' /tmp/golden.diff | head -n 60
		if grep -q ' /state ' /proc/mounts; then
			mkdir -p /state/golden-actual && cp "$3" "/state/golden-actual/$2"
		fi
	fi
}

# kern_avail_all: "avail PCI TYPE N" for every type directory of every mdev
# parent (one grep, no per-file fork).
kern_avail_all() {
	grep -H . /sys/class/mdev_bus/*/mdev_supported_types/*/available_instances |
		sed 's|^/sys/class/mdev_bus/\([^/]*\)/mdev_supported_types/\([^/]*\)/available_instances:|avail \1 \2 |' | sort
}

# kern_avail_sum TYPE: sum of the kernel's available_instances of TYPE over
# every mdev parent that publishes it.
kern_avail_sum() {
	cat /sys/class/mdev_bus/*/mdev_supported_types/"$1"/available_instances 2>/dev/null |
		awk '{ s += $1 } END { print s + 0 }'
}

# kern_avail_list TYPE PCI...: "a b c" available_instances of TYPE per parent.
kern_avail_list() {
	_t=$1; shift
	_l=
	for _p in "$@"; do _l="$_l${_l:+ }$(emu_avail "$_p" "$_t")"; done
	echo "$_l"
}

# created_count: vGPUs the emulated driver created so far in this boot
# (dmesg), to prove that a refused request wrote nothing.
created_count() { dmesg | grep -c 'created vGPU'; }

# tb_ns: a monotonic clock in nanoseconds (tb-clock when packed, else
# /proc/uptime at 10 ms resolution).
tb_ns() {
	if command -v tb-clock >/dev/null; then tb-clock
	else awk '{ printf "%d\n", $1 * 1000000000 }' /proc/uptime; fi
}

# known_bug_eq DESC ACTUAL EXPECTED: a check carve is known to fail today
# (reported, not fixed yet).  A mismatch is counted as skipped and printed
# as "SKIP: KNOWN BUG: ..." so make check stays green but the bug stays
# visible; once it passes it counts as a pass and says so.
known_bug_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1 (was a known bug: now fixed, make it a plain check)"
	else
		skip "KNOWN BUG: $1 (got '$2', expected '$3')"
	fi
}

# ---- fault walk ----------------------------------------------------------------
# Drive one carve command again and again with the N-th sysfs operation
# failing (src/util/sysfs.h: CARVE_SYSFS_FAULT=N:ERR), for N over the
# operations the command makes, and audit after each (fw_audit).  The script
# defines:
#   fw_kern_devs   the vGPU devices the kernel holds, one id per line, sorted
#   fw_carve_devs  the same ids for carve's running VMs' vGPUs, from
#                  $FW_VMS ("uuid|power-state" lines) and $FW_VGPUS
#                  ("uuid|vm-uuid|device-pci" lines), sorted
#   fw_reset       bring the host back to the state the walked command
#                  starts from (without faults)
#   fw_remove_dev  remove a device by its id behind carve's back (after a
#                  failed audit, so that the next steps start clean)
#   fw_extra ACK   (optional) more checks after the reconcile: prints what
#                  is wrong, nothing when all is well
# Which N: every operation from three before the command's first write to
# three after its last (the act), every $FW_STRIDE-th elsewhere (discovery,
# and the re-read of the acted GPU); the errno rotates over EIO EBUSY
# ENODEV ENOSPC and short (for a write: it reached the driver whole and was
# reported short; for a read: EIO).  On the kernel command line
# (TESTBED_APPEND): carve.fault_stride=K walks every K-th, and
# carve.fault_walk=full every N, each with all five.

FW_ERRS="EIO EBUSY ENODEV ENOSPC short"
: "${FW_STRIDE:=15}"
FW_FULL=0
for _a in $(cat /proc/cmdline 2>/dev/null); do
	case $_a in
	carve.fault_walk=full) FW_FULL=1 ;;
	carve.fault_stride=[1-9]*) FW_STRIDE=${_a#carve.fault_stride=} ;;
	esac
done
FW_LOG=/tmp/fw-ops.log
FW_VMS=/tmp/fw-vms
FW_VGPUS=/tmp/fw-vgpus

fw_strerror() {
	case $1 in
	EIO) echo "Input/output error" ;; EBUSY) echo "Device or resource busy" ;;
	ENODEV) echo "No such device" ;; ENOSPC) echo "No space left on device" ;;
	short) echo "short write" ;;
	esac
}

# fw_vm_state VM -> power-state
fw_vm_state() { cvm vm-param-get uuid="$1" param-name=power-state; }

# fw_audit DESC VM ACK: reconcile with no fault, then: no VM half-done, VM is
# ACK when that is running or halted (any other word - any, applied - says
# nothing of it), the kernel's devices are exactly carve's running VMs'
# (none lost, no orphan, nothing on a halted VM), and fw_extra ACK.
fw_audit() {
	_p=
	cv_run cv host-reconcile
	[ "$CV_RC" = 0 ] || _p="$_p; reconcile failed: $CV_OUT"
	cvm vm-list params=uuid,power-state | xe_table uuid power-state > "$FW_VMS"
	cvm vgpu-list params=uuid,vm-uuid,device-pci | xe_table uuid vm-uuid device-pci > "$FW_VGPUS"
	_bad=$(cut -d'|' -f2 "$FW_VMS" | grep -v -x -e running -e halted | head -n1)
	[ -z "$_bad" ] || _p="$_p; a VM is $_bad after reconcile"
	_st=$(grep "^$2|" "$FW_VMS" | cut -d'|' -f2)
	case $3 in running | halted) [ "$_st" = "$3" ] || _p="$_p; VM is $_st, acknowledged $3" ;; esac
	_k=$(fw_kern_devs | tr '\n' ' ')
	_c=$(fw_carve_devs | tr '\n' ' ')
	[ "$_k" = "$_c" ] || _p="$_p; kernel holds [$_k], carve's running VMs [$_c]"
	# the script's own checks (fw_extra ACK: problems on stdout)
	if command -v fw_extra >/dev/null 2>&1; then
		_x=$(fw_extra "$3")
		[ -z "$_x" ] || _p="$_p; $_x"
	fi
	if [ -z "$_p" ]; then
		FW_PASS=$((FW_PASS + 1))
	else
		fail "$1:${_p#;}"
		# the next steps are checked on their own, not on this one's residue
		for _d in $_k; do
			case " $_c " in *" $_d "*) ;; *) fw_remove_dev "$_d" ;; esac
		done
	fi
}

# fw_running_vgpus FIELD: FIELD (1 uuid, 3 device-pci) of the vGPUs of
# running VMs, after fw_audit.
fw_running_vgpus() {
	grep '|running$' "$FW_VMS" | cut -d'|' -f1 | while read -r _v; do
		grep "^[^|]*|$_v|" "$FW_VGPUS" | cut -d'|' -f"$1"
	done | sort
}

# fw_walk_lifecycle: the three walks, of $FW_VM's vm-start (from halted),
# vm-shutdown (from running) and host-reconcile (from its vGPU lost); the
# script defines halted, running and lost.
fw_walk_lifecycle() {
	fw_reset() { halted; }
	fw_walk vm-start running cv vm-start uuid="$FW_VM"
	fw_reset() { running; }
	fw_walk vm-shutdown halted cv vm-shutdown uuid="$FW_VM"
	fw_reset() { lost; }
	fw_walk host-reconcile running cv host-reconcile
	halted
}

# fw_walk NAME ACK_OK CMD...: walk CMD (a cv command line).  ACK_OK: what
# fw_audit checks when CMD succeeded (the VM's state; a failure is "any",
# which reconcile must make consistent).  $FW_VM is the VM audited.
fw_walk() {
	_name=$1 _ack=$2
	shift 2
	fw_reset
	rm -f "$FW_LOG"
	CARVE_SYSFS_FAULT_LOG=$FW_LOG "$@" > /dev/null 2>&1 || fail "$_name: clean run failed"
	_total=$(wc -l < "$FW_LOG")
	_w1=$(grep -n ' write ' "$FW_LOG" | head -n1 | cut -d: -f1)
	_wn=$(grep -n ' write ' "$FW_LOG" | tail -n1 | cut -d: -f1)
	[ -n "$_w1" ] || { _w1=$((_total + 10)); _wn=$_w1; }
	FW_PASS=0
	fw_audit "$_name: clean" "$FW_VM" "$_ack"
	FW_PASS=0 _steps=0 _fired=0 _failed=0 _named=0 _n=1 _i=0
	while [ "$_n" -le "$_total" ]; do
		if [ "$FW_FULL" = 1 ]; then _errs=$FW_ERRS; else _errs=$(echo $FW_ERRS | cut -d' ' -f$((_i % 5 + 1))); fi
		for _e in $_errs; do
			fw_reset
			rm -f "$FW_LOG"
			_out=$(CARVE_SYSFS_FAULT="$_n:$_e" CARVE_SYSFS_FAULT_LOG=$FW_LOG "$@" 2>&1)
			_rc=$?
			_steps=$((_steps + 1))
			_op=$(grep ' FAULT$' "$FW_LOG" | cut -d' ' -f2-3)
			if [ -n "$_op" ]; then
				_fired=$((_fired + 1))
				if [ "$_rc" != 0 ]; then
					_failed=$((_failed + 1))
					_why=$(fw_strerror "$_e")
					case $_op in read*) [ "$_e" = short ] && _why="Input/output error" ;; esac
					case $_out in
					*/sys/*"$_why"*|*"$_why"*/sys/*) _named=$((_named + 1)) ;;
					*) note "$_name N=$_n $_e on $_op: refused without naming it: $_out" ;;
					esac
				fi
			fi
			if [ "$_rc" = 0 ]; then _a=$_ack; else _a=any; fi
			fw_audit "$_name N=$_n $_e ($_op, exit $_rc)" "$FW_VM" "$_a"
		done
		_i=$((_i + 1))
		if [ "$FW_FULL" = 1 ] || { [ "$_n" -ge $((_w1 - 3)) ] && [ "$_n" -lt $((_wn + 3)) ]; }; then
			_n=$((_n + 1))
		elif [ "$_n" -lt $((_w1 - 3)) ] && [ $((_n + FW_STRIDE)) -gt $((_w1 - 3)) ]; then
			_n=$((_w1 - 3))
		else
			_n=$((_n + FW_STRIDE))
		fi
	done
	expect_eq "$_name: $_steps faulted runs ($_fired faults fired of $_total operations, $_failed refused, $_named naming the file and errno): audits clean" \
		"$FW_PASS" "$_steps"
	echo "FAULT-WALK $TESTBED_SCRIPT $_name: operations=$_total writes=$_w1..$_wn steps=$_steps fired=$_fired refused=$_failed named=$_named clean=$FW_PASS"
}
