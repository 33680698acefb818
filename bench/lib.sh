#!/bin/bash
# Shared by the benchmark scripts (sourced): paths, root check, timing.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export SENTRIX_DATADIR=$TOP SENTRIX_UNITDIR=$TOP/units
SETUP=$BUILD/sentrix-setup
[ "$(id -u)" = 0 ] || { echo "make bench needs root (it creates namespaces)"; exit 1; }

# Microseconds, from bash itself (no process start in the measurement).
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
# Median of microsecond values on stdin, printed in milliseconds.
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1000}'; }

die() { echo "${0##*/}: $*" >&2; exit 1; }
# wait_for SECONDS CMD...: polls CMD every 50 ms.
wait_for() {
	local i n=$(($1 * 20)); shift
	for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}

# bench_scratch PREFIX: $TMP (0755: the sandbox user reads what is put
# there), an empty $PIDS for the processes the bench starts in the
# background, and an EXIT trap that stops them, removes instance $NAME
# (when set) and $TMP.
bench_scratch() {
	TMP=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
	chmod 755 "$TMP"
	PIDS=()
	trap bench_cleanup EXIT
}
bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${NAME:-}" ] && "$SETUP" setup --disable --purge --non-interactive --name "$NAME" >/dev/null 2>&1
	rm -rf "$TMP"
}
