#!/bin/bash
# Bash completion of carve (dist/carve-completion.bash), driven the way bash
# drives it: COMP_LINE/COMP_POINT set, the function called, COMPREPLY read.
# Runs carve in-process on the demo sim host (CARVE_DB etc.), so the UUIDs
# come from a real store.
#
# usage: completion.sh CARVE
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
carve=$(realpath "$1")
T=$(mktemp -d /tmp/carve-completion-XXXXXX)
trap 'rm -rf "$T"' EXIT
unset CARVE_SOCKET CARVE_SERVER CARVE_ENGINE
export CARVE_DB=$T/carve.db CARVE_HOST_PROFILE=$REPO/examples/hosts/demo.yaml CARVE_SIM_STATE=$T/sim.json
export CARVE_HOSTNAME=completion
fails=0 passes=0
ok() { echo "ok   $*"; passes=$((passes + 1)); }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

# shellcheck source=../../dist/carve-completion.bash
. "$REPO/dist/carve-completion.bash"
comp() { # LINE: the candidates, one a line, sorted
	COMP_LINE="$carve $1"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_carve_complete
	printf '%s\n' "${COMPREPLY[@]}" | sort
}
expect() { # WHAT EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected [$2], got [$3]"; fi
}

vm1=$("$carve" vm-create name-label=one)
vm2=$("$carve" vm-create name-label=two)
[ -n "$vm1" ] && [ -n "$vm2" ] || { bad "two VMs made in-process"; echo "completion: $passes passed, $((fails)) failed"; exit 1; }
groups=$("$carve" gpu-group-list --minimal | tr ',' '\n' | sort)

expect "verbs: 'vm-st' completes to vm-start" "vm-start" "$(comp vm-st)"
expect "verbs: 'gpu-group-get' to the remaining-capacity verb" "gpu-group-get-remaining-capacity" "$(comp gpu-group-get)"
expect "options: '--loc'" "--local" "$(comp --loc)"
expect "keys: vgpu-create's 'vm' is vm-uuid=" "vm-uuid=" "$(comp 'vgpu-create vm')"
expect "keys: vm-start takes uuid= on= params=" "$(printf 'on=\nparams=\nuuid=')" "$(comp 'vm-start ')"
expect "keys: a list verb's filters are its class's fields ('pgpu-list pci')" "pci-id=" "$(comp 'pgpu-list pci')"
expect "uuid= of vm-start: every VM's UUID" "$(printf '%s\n' "$vm1" "$vm2" | sort)" "$(comp 'vm-start uuid=')"
expect "vm-uuid= of vgpu-create, by prefix" "$vm1" "$(comp "vgpu-create vm-uuid=${vm1:0:8}")"
expect "gpu-group-uuid=: every GPU group's UUID" "$groups" "$(comp 'vgpu-create gpu-group-uuid=')"
expect "param-name=: the class's fields ('vm-param-get uuid=... param-name=pow')" "power-state" \
	"$(comp "vm-param-get uuid=$vm1 param-name=pow")"
expect "params=: the last name of a comma list" "uuid,pci-id" "$(comp 'pgpu-list params=uuid,pci')"
expect "an option's value is a file name" "$T/carve.db" "$(comp "--db $T/carve.")"
COMP_WORDBREAKS=${COMP_WORDBREAKS//=/}
expect "without '=' in COMP_WORDBREAKS the whole key=value word comes back" "uuid=$vm2" \
	"$(comp "vm-destroy uuid=${vm2:0:8}")"
expect "carve help VERB names its keys" "  keys: uuid= on= params=" "$("$carve" help vm-start | sed -n 2p)"
echo "completion: $passes passed, $fails failed"
[ "$fails" = 0 ]
