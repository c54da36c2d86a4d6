# Live migration between two hosts of a pool (issue 11), sourced by
# tests/pool/run in part e with its agents running: miga and migb (P40s,
# the same NVIDIA driver), a16 (another driver), demo (the requester, with a
# migrate command), and the VM $mig running on miga with one P40-8Q vGPU.
#
# The migrate command stands in for libvirt's step (virsh migrate --live
# with the destination's hostdevs): it records its call and fails while
# $W/migrate.fail exists.  After every round the VM must run on exactly
# one host: resident there, its device in that host's simulated kernel and
# in no other, no migration left, nothing scheduled.
cat >"$W/migrate-cmd" <<EOC
#!/bin/sh
echo "\$@" >>"$W/migrate.calls"
cp "\$4" "$W/migrate.last.xml"
if [ -e "$W/migrate.fail" ]; then echo "error: operation failed: migration out of job: unexpectedly failed"; exit 1; fi
exit 0
EOC
chmod +x "$W/migrate-cmd"
kill "${APID[demo]}" 2>/dev/null; wait "${APID[demo]}" 2>/dev/null
MIGRATE_COMMAND="$W/migrate-cmd" start_agent demo || bad "carved demo restarted with a migrate command"
mv1=$(at demo vgpu-list --minimal vm-uuid="$mig")
other() { [ "$1" = miga ] && echo migb || echo miga; }
settled_on() { # host: the VM runs there and only there, no migration left
	local h=$1 o hu got
	o=$(other "$h")
	hu=$(at demo host-list --minimal name-label="$h")
	got=$(at demo vm-param-get uuid="$mig" param-name=power-state)
	[ "$got" = running ] || { echo "VM is $got"; return 1; }
	got=$(at demo vm-param-get uuid="$mig" param-name=resident-on)
	[ "$got" = "$hu" ] || { echo "VM resident on $got, not $h ($hu)"; return 1; }
	got=$(at demo vm-param-get uuid="$mig" param-name=migration)
	[ "$got" = none ] || { echo "migration is $got"; return 1; }
	got=$(at demo vgpu-param-get uuid="$mv1" param-name=scheduled-to-be-resident-on)
	[ -z "$got" ] || { echo "vGPU still scheduled on $got"; return 1; }
	got=$(at demo pgpu-param-get uuid="$(at demo vgpu-param-get uuid="$mv1" param-name=resident-on)" param-name=host-uuid)
	[ "$got" = "$hu" ] || { echo "vGPU resident on a PGPU of $got"; return 1; }
	grep -q "\"$mv1\"" "$W/agent-$h.sim.json" || { echo "no device on $h"; return 1; }
	! grep -q "\"$mv1\"" "$W/agent-$o.sim.json" || { echo "a device left on $o"; return 1; }
}
# until the VM's migration field reads $1 (5 s at most)
await_migration() { for _ in $(seq 50); do [ "$(at demo vm-param-get uuid="$mig" param-name=migration)" = "$1" ] && return 0; sleep 0.1; done; return 1; }
await_dead() { for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
now_on=miga
check "the VM starts the migration rounds on miga" settled_on miga

# Without a migrate command (migb's carved): prepared, the hostdevs to use,
# the operator confirms.  The requester is the destination itself.
has() { # text pattern...: every pattern is in text
	local t=$1
	shift
	for p in "$@"; do grep -q -- "$p" <<<"$t" || { echo "$t"; return 1; }; done
}
out=$(at migb vm-migrate uuid="$mig" host=migb 2>&1)
check "vm-migrate without a command stops prepared, with virsh's command and the destination's hostdevs" \
	has "$out" '^migration: prepared' 'virsh migrate --live' "$mv1"
prepared_both() {
	[ "$(at demo vm-param-get uuid="$mig" param-name=migration)" = prepared ] &&
		grep -q "\"$mv1\"" "$W/agent-miga.sim.json" && grep -q "\"$mv1\"" "$W/agent-migb.sim.json"
}
check "while prepared the VM runs on miga and the device exists on both hosts" prepared_both
check "vm-shutdown of a migrating VM is refused (VM_MIGRATING)" has "$(at demo vm-shutdown uuid="$mig" 2>&1)" '^carve: VM_MIGRATING: '
check "vm-migrate-confirm through miga's carved" at miga vm-migrate-confirm uuid="$mig"
check "after the confirm: on migb, miga released its device" settled_on migb
now_on=migb

# With the command, through a third host's carved.
: >"$W/migrate.calls"
check "vm-migrate with a command through demo moves the VM back to miga" \
	has "$(at demo vm-migrate uuid="$mig" host=miga 2>&1)" '^source-released: true'
check "after vm-migrate" settled_on miga
now_on=miga
check "the migrate command got the VM, the destination and hostdevs naming the vGPU" \
	has "$(cat "$W/migrate.calls" "$W/migrate.last.xml")" "^$mig migrant miga " "$mv1"

# Refusals and failures change nothing.
check "vm-migrate to a host with another driver and no P40: MIGRATION_NOT_COMPATIBLE" \
	has "$(at demo vm-migrate uuid="$mig" host=a16 2>&1)" '^carve: MIGRATION_NOT_COMPATIBLE: .*DRIVER_MISMATCH'
check "vm-migrate to an unknown host: HOST_NOT_FOUND" \
	has "$(at demo vm-migrate uuid="$mig" host=nosuchhost 2>&1)" '^carve: HOST_NOT_FOUND: '
check "after the refusals" settled_on miga
touch "$W/migrate.fail"
check "a failing migrate command: MIGRATION_FAILED with libvirt's words" \
	has "$(at demo vm-migrate uuid="$mig" host=migb 2>&1)" '^carve: MIGRATION_FAILED: .*unexpectedly failed'
rm -f "$W/migrate.fail"
check "after the failed command the VM still runs on miga, migb removed what it prepared" settled_on miga
out=$(at miga vm-migrate uuid="$mig" host=migb 2>&1)
check "vm-migrate without a command through the source's carved: prepared" has "$out" '^migration: prepared'
check "vm-migrate-abort of a prepared migration: the destination removes its device" \
	has "$(at miga vm-migrate-abort uuid="$mig" 2>&1)" '^destination-released: true'
check "after the abort" settled_on miga

# The destination cannot make the device (the simulated driver refuses the
# create): its error comes back, the VM stays, nothing is held there.
kill "${APID[migb]}" 2>/dev/null; wait "${APID[migb]}" 2>/dev/null
CARVE_SIM_FAIL_CREATE=1 start_agent migb || bad "carved migb restarted to fail a create"
sleep 0.5
check "a destination whose create fails: its error comes back (SIM_INJECTED_FAILURE on host migb)" \
	has "$(at demo vm-migrate uuid="$mig" host=migb 2>&1)" '^carve: SIM_INJECTED_FAILURE: on host migb: '
check "after the failed create the VM still runs on miga, nothing held on migb" settled_on miga
kill "${APID[migb]}" 2>/dev/null; wait "${APID[migb]}" 2>/dev/null
start_agent migb || bad "carved migb restarted"

# A kill at every step.  crash_round POINT WHO RECOVERY ENDS: WHO (requester
# demo, dest or source) is started with CARVE_CRASH_AT=POINT, vm-migrate
# runs through demo, WHO is started again once it died, RECOVERY is what
# docs/emit.md tells the operator to do (none, confirm, again), and the VM
# must end on ENDS (dest or source).
crash_round() {
	local point=$1 who=$2 recovery=$3 ends=$4 src=$now_on dst h rq
	dst=$(other "$src")
	case $who in demo) h=demo ;; dest) h=$dst ;; source) h=$src ;; esac
	kill "${APID[$h]}" 2>/dev/null; wait "${APID[$h]}" 2>/dev/null
	if [ "$h" = demo ]; then
		CARVE_CRASH_AT=$point MIGRATE_COMMAND="$W/migrate-cmd" start_agent demo
	else
		CARVE_CRASH_AT=$point start_agent "$h"
	fi
	sleep 0.5
	[ "$point" = migrate-abort-removed ] && touch "$W/migrate.fail"
	( env -u CARVE_DB "$CARVE_BIN" --socket "$W/agent-demo.sock" vm-migrate uuid="$mig" host="$dst" >"$W/crash-$point.log" 2>&1 ) &
	rq=$!
	local died=false
	await_dead "${APID[$h]}" && died=true
	{ wait "${APID[$h]}"; } 2>/dev/null # bash's "Killed" notice
	if [ "$h" = demo ]; then MIGRATE_COMMAND="$W/migrate-cmd" start_agent demo; else start_agent "$h"; fi
	wait "$rq"
	rm -f "$W/migrate.fail"
	case $recovery in
	again) await_migration prepared && at demo vm-migrate uuid="$mig" host="$dst" >>"$W/crash-$point.log" 2>&1 ;;
	confirm) at demo vm-migrate-confirm uuid="$mig" >>"$W/crash-$point.log" 2>&1 ;;
	esac
	await_migration none
	[ "$ends" = dest ] && now_on=$dst
	check "kill at $point ($who's carved), recovery: $recovery: the VM runs on $now_on alone" \
		crash_ok "$died" "$point" "$now_on"
}
crash_ok() { # died point host
	$1 || { echo "no kill at $2"; return 1; }
	settled_on "$3" || { cat "$W/crash-$2.log"; return 1; }
}
crash_round migrate-reserved demo again dest
crash_round migrate-prepare-created dest none source
crash_round migrate-prepared dest none dest
crash_round migrate-command-done demo confirm dest
crash_round migrate-switched demo none dest
crash_round migrate-release-removed source none dest
crash_round migrate-abort-removed dest none source

# vm-suspend keeps the reservation and the device; when the suspended VM's
# host is declared dead, the VM stays suspended with nothing reserved and
# vm-resume places it again on a live host.
src=$now_on dst=$(other "$now_on")
check "vm-suspend: suspended" has "$(at demo vm-suspend uuid="$mig" 2>&1)" '^power-state: suspended'
suspended_kept() {
	[ "$(at demo vm-param-get uuid="$mig" param-name=power-state)" = suspended ] &&
		[ -n "$(at demo vgpu-param-get uuid="$mv1" param-name=resident-on)" ] &&
		grep -q "\"$mv1\"" "$W/agent-$1.sim.json"
}
check "a suspended VM keeps its vGPU's PGPU and device on $src" suspended_kept "$src"
kill -9 "${APID[$src]}"
{ wait "${APID[$src]}"; } 2>/dev/null
sleep 3 # past host-timeout-s
rm -f "$W/agent-$src.sim.json" # the host comes back rebooted, if at all
dead_kept() {
	at demo host-declare-dead uuid="$src" >/dev/null &&
		[ "$(at demo vm-param-get uuid="$mig" param-name=power-state)" = suspended ] &&
		[ -z "$(at demo vgpu-param-get uuid="$mv1" param-name=resident-on)" ]
}
check "host-declare-dead: the suspended VM stays suspended, its reservation freed" dead_kept
check "vm-resume on=$dst places it again there" at demo vm-resume uuid="$mig" on="$dst"
check "after the resume" settled_on "$dst"
now_on=$dst
start_agent "$src" || bad "carved $src restarted"
