#!/bin/bash
# Runs the whole test suite and prints one summary line at the end:
#   N passed, N failed, N skipped
# Usage: tests/run-all.sh [unit|integration|static]...  (default: all)
#
# Counts "ok"/"not ok"/"skip" lines: cmocka's TAP output for the unit tests,
# the same words from the integration scripts (tests/lib.sh).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
tiers=${*:-static unit integration}
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
	echo "=== $name"
	"$@" >"$log" 2>&1
	local rc=$?
	cat "$log"
	count "$log" "$rc" "$name"
}

static_checks() {
	local files
	files=$(ls src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h 2>/dev/null)
	if command -v clang-format >/dev/null; then
		if clang-format --dry-run -Werror $files >/tmp/sentrix-fmt.$$ 2>&1; then
			echo "ok - sources are clang-formatted (make format)"
		else
			echo "not ok - sources are not clang-formatted: run make format"
			head -20 /tmp/sentrix-fmt.$$
		fi
		rm -f /tmp/sentrix-fmt.$$
	else
		echo "skip - clang-format not installed"
	fi
	if command -v clang >/dev/null; then
		if make -s CC=clang BUILD="$BUILD/clang" all >/tmp/sentrix-clang.$$ 2>&1; then
			echo "ok - clang builds with -Wall -Wextra -Werror"
		else
			echo "not ok - clang build fails"
			tail -20 /tmp/sentrix-clang.$$
		fi
		rm -f /tmp/sentrix-clang.$$
	else
		echo "skip - clang not installed"
	fi
	if make -s CFLAGS=-fanalyzer BUILD="$BUILD/analyzer" all >/tmp/sentrix-analyzer.$$ 2>&1; then
		echo "ok - gcc -fanalyzer finds nothing"
	else
		echo "not ok - gcc -fanalyzer warns:"
		grep -E 'warning|error' /tmp/sentrix-analyzer.$$ | head -20
	fi
	rm -f /tmp/sentrix-analyzer.$$
	if git grep -nE '\b(system|popen)\(|exec[lv]p?\("(ip|nft|sysctl|useradd|systemctl)' -- src >/tmp/sentrix-grep.$$; then
		echo "not ok - src/ shells out (system/popen/exec of ip, nft, sysctl, useradd, systemctl):"
		cat /tmp/sentrix-grep.$$
	else
		echo "ok - src/ talks to the kernel and systemd itself (no system/popen/exec of tools)"
	fi
	rm -f /tmp/sentrix-grep.$$
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
