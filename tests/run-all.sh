#!/bin/bash
# Runs the whole test suite and prints one summary line at the end:
#   N passed, N failed, N skipped
# Usage: tests/run-all.sh [static|unit|fuzz|integration]...  (default: all)
#
# Counts "ok"/"not ok"/"skip" lines: cmocka's TAP output for the unit tests,
# the same words from the integration scripts (tests/lib.sh) and from
# tests/fuzz/run.sh (fuzz: every libFuzzer harness built, its regression
# and corpus inputs replayed, then fuzzed for FUZZ_CHECK_SECS, default 15).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
# The suite runs in the environment `sudo` leaves (env_reset, Debian's
# secure_path), whoever starts it: a test that passes only thanks to a
# variable of the caller's (a CA bundle, a proxy) would fail under the
# README's `sudo sh -c '...'`.  Only the suite's own knobs pass.
if [ -z "${SENTRIX_TEST_CLEAN_ENV:-}" ]; then
	keep=()
	for v in $(compgen -e); do
		case $v in BUILD | TERM | FUZZ_* | SENTRIX_TEST_*) keep+=("$v=${!v}") ;; esac
	done
	exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME="$(getent passwd "$(id -un)" | cut -d: -f6)" USER="$(id -un)" LOGNAME="$(id -un)" \
		SHELL=/bin/sh SENTRIX_TEST_CLEAN_ENV=1 "${keep[@]}" bash "$0" "$@"
fi
tiers=${*:-static unit fuzz integration}
pass=0 fail=0 skipped=0
log=$(mktemp /tmp/sentrix-tests.XXXXXX)
trap 'rm -f "$log"' EXIT

count() { # count FILE EXIT_STATUS NAME
	local p f s
	p=$(grep -cE '^ok( |$)' "$1")
	f=$(grep -cE '^not ok( |$)' "$1")
	s=$(grep -cE '^(skip|ok [0-9]+ .*# SKIP)' "$1")
	p=$((p - $(grep -cE '^ok [0-9]+ .*# SKIP' "$1")))
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $3 exited with status $2 without reporting a failure"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skipped=$((skipped + s))
}

run() { # run NAME COMMAND...
	local name=$1
	shift
	local t0=$SECONDS
	echo "=== $name"
	"$@" >"$log" 2>&1
	local rc=$?
	cat "$log"
	count "$log" "$rc" "$name"
	echo "# $name: $((SECONDS - t0)) s"
}

# static_check NEED DESCRIPTION FAILURE-FILTER COMMAND...: one "ok"/"not ok"
# line for a command that must succeed; "skip" when the tool NEED is absent.
static_check() {
	local need=$1 desc=$2 filter=$3 out
	shift 3
	if ! command -v "$need" >/dev/null; then
		echo "skip - $need not installed: $desc not checked"
		return
	fi
	out=$(mktemp /tmp/sentrix-static.XXXXXX)
	if "$@" >"$out" 2>&1; then
		echo "ok - $desc"
	else
		echo "not ok - $desc"
		grep -E "$filter" "$out" | head -20
	fi
	rm -f "$out"
}

static_checks() {
	local files
	files=$(ls src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h 2>/dev/null)
	# shellcheck disable=SC2086
	static_check clang-format "sources are clang-formatted (make format)" . clang-format --dry-run -Werror $files
	# Both compilers on every CPU: the analyzer build alone took a minute
	# of make check's 20 on one.
	static_check clang "clang builds with -Wall -Wextra -Werror" 'error' make -s -j"$(nproc)" CC=clang BUILD="$BUILD/clang" all
	static_check gcc "gcc -fanalyzer finds nothing" 'warning|error' make -s -j"$(nproc)" CFLAGS=-fanalyzer BUILD="$BUILD/analyzer" all
	# The man pages (man/*.scd): scdoc builds them, and groff renders each
	# without a warning (-ww: all of them; -t: tables; -z: no output).
	static_check scdoc "man pages build with scdoc (make man)" . make -s BUILD="$BUILD" man
	for page in "$BUILD"/man/*.[0-9]; do
		[ -e "$page" ] || continue
		static_check groff "man page $(basename "$page") renders without groff warnings (groff -t -man -ww)" . \
			bash -c 'w=$(groff -t -man -ww -z "$1" 2>&1) && [ -z "$w" ] || { echo "$w"; exit 1; }' _ "$page"
	done
	if git grep -nE '\b(system|popen)\(|exec[lv]p?\("(ip|nft|sysctl|useradd|systemctl)' -- src; then
		echo "not ok - src/ shells out (system/popen/exec of ip, nft, sysctl, useradd, systemctl)"
	else
		echo "ok - src/ talks to the kernel and systemd itself (no system/popen/exec of tools)"
	fi
}

for tier in $tiers; do
	case $tier in
	static) run static static_checks ;;
	unit)
		for t in "$BUILD"/tests/test-*; do
			[ -x "$t" ] || continue
			run "unit $(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
		done
		;;
	fuzz) run fuzz tests/fuzz/run.sh --check ;;
	integration)
		if [ "$(id -u)" != 0 ]; then
			echo "skip - integration tests need root (they create namespaces, veths and nftables tables)"
			skipped=$((skipped + 1))
			continue
		fi
		for t in tests/integration/test-*.sh; do
			run "integration $(basename "$t")" bash "$t"
		done
		;;
	*) echo "unknown tier $tier" >&2; exit 2 ;;
	esac
done
echo
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
