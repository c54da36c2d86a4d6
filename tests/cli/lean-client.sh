#!/bin/sh
# The lean client (src/cli/client.c): carve loads none of the engine's
# libraries, and hands in-process requests to carve-engine, found beside it,
# at $CARVE_ENGINE, or not at all (ENGINE_NOT_FOUND).
#
# usage: lean-client.sh CARVE CARVE_ENGINE INSTALLED_ENGINE_PATH
set -u
carve=$(realpath "$1") engine=$(realpath "$2") installed=$3
T=$(mktemp -d /tmp/carve-lean-XXXXXX)
trap 'rm -rf "$T"' EXIT
unset CARVE_ENGINE CARVE_SOCKET CARVE_HOST_PROFILE CARVE_SYSFS_ROOT CARVE_SIM_STATE
export CARVE_DB=$T/carve.db CARVE_HOSTNAME=lean
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

# libc and jansson, and what a compiler's runtime (sanitizers) adds
for lib in $(readelf -d "$carve" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
	case $lib in
	libc.so.* | libjansson.so.* | ld-linux*.so.* | libm.so.* | libgcc_s.so.* | libdl.so.* | libpthread.so.* | librt.so.*) ;;
	*) bad "carve needs $lib" ;;
	esac
done
[ "$fails" = 0 ] && ok "carve needs libc and jansson only"

if "$carve" help | grep -q '^  vgpu-type-list '; then ok "carve help lists the verbs"; else bad "carve help"; fi

out=$("$carve" --local --no-discover vm-list 2>&1)
if [ $? = 0 ]; then ok "--local runs the carve-engine beside carve"; else bad "--local beside: $out"; fi

out=$(CARVE_ENGINE=$T/none "$carve" --local --no-discover vm-list 2>&1)
case $? in
1) case $out in *ENGINE_NOT_FOUND*"$T/none"*) ok "an unusable \$CARVE_ENGINE is an error" ;; *) bad "CARVE_ENGINE: $out" ;; esac ;;
*) bad "CARVE_ENGINE=$T/none did not fail: $out" ;;
esac

mkdir "$T/alone" && cp "$carve" "$T/alone/carve"
out=$(CARVE_ENGINE=$engine "$T/alone/carve" --local --no-discover vm-list 2>&1)
if [ $? = 0 ]; then ok "\$CARVE_ENGINE names the engine"; else bad "CARVE_ENGINE=$engine: $out"; fi
if [ -e "$installed" ]; then
	echo "skip carve alone: an engine is installed at $installed"
else
	out=$("$T/alone/carve" --local --no-discover vm-list 2>&1)
	case $? in
	1) case $out in *ENGINE_NOT_FOUND*"$installed"*) ok "no engine anywhere: ENGINE_NOT_FOUND names where it looked" ;;
	   *) bad "carve alone: $out" ;; esac ;;
	*) bad "carve alone did not fail: $out" ;;
	esac
fi

echo "lean-client: $fails failed"
[ "$fails" = 0 ]
