#!/bin/bash
# Shared helpers for the integration tests (sourced).  Every test runs as
# root against the real kernel; names start with "sxt" so they cannot clash
# with real instances, and every test cleans up in an EXIT trap.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export SENTRIX_DATADIR=$TOP
export SENTRIX_UNITDIR=$TOP/units
SENTRIX=$BUILD/sentrix
SETUP=$BUILD/sentrix-setup

PASS=0
FAIL=0
SKIP=0
CURRENT=""

# Prints a result line in the format tests/run-all.sh counts.
ok() { PASS=$((PASS + 1)); echo "ok - ${CURRENT:+$CURRENT: }$*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - ${CURRENT:+$CURRENT: }$*"; }
skip() { SKIP=$((SKIP + 1)); echo "skip - ${CURRENT:+$CURRENT: }$*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local d=$1
	shift
	if "$@" >/tmp/sxt-check.$$ 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/    | /' /tmp/sxt-check.$$ | tail -20; fi
	rm -f /tmp/sxt-check.$$
}
# check_fails DESCRIPTION COMMAND...: passes when the command fails.
check_fails() {
	local d=$1
	shift
	if "$@" >/tmp/sxt-check.$$ 2>&1; then not_ok "$d (it succeeded)"; sed 's/^/    | /' /tmp/sxt-check.$$ | tail -20; else ok "$d"; fi
	rm -f /tmp/sxt-check.$$
}
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi
}

summary() {
	echo "# $(basename "$0"): $PASS passed, $FAIL failed, $SKIP skipped"
	[ "$FAIL" = 0 ]
}

# Host snapshot: everything setup may touch and --disable must restore.
snapshot() {
	{
		echo "## links"; ip -o link show | sed -E 's/^[0-9]+: //; s/ state [A-Z]+.*//' | sort
		echo "## addresses"; ip -o addr show | awk '{print $2, $3, $4}' | sort
		echo "## routes"; ip route show table all | sort
		echo "## netns"; ip netns list | sort
		echo "## nftables"; nft list ruleset
		echo "## sysctl"; sysctl -n net.ipv4.ip_forward
		echo "## /run/netns"; ls -la /run/netns 2>&1 | awk '{print $1, $3, $4, $NF}'
		for d in /etc/systemd/system /etc/sentrix /etc/netns /var/lib/sentrix /var/log/sentrix; do
			echo "## $d"
			[ -e "$d" ] && find "$d" -printf '%p %m %u %g %l\n' | sort
			[ -e "$d" ] && find "$d" -type f -exec md5sum {} + | sort
		done
		echo "## accounts"; cat /etc/passwd /etc/group /etc/shadow /etc/gshadow | md5sum
		for f in "$@"; do
			echo "## $f"
			[ -e "$f" ] && stat -c '%n %a %U %G %s' "$f" && md5sum "$f"
		done
	} 2>&1
}

# setup NAME ARGS...: non-interactive setup of a test instance.
sx_setup() { "$SETUP" setup --non-interactive "$@"; }
sx_disable() { "$SETUP" setup --disable --non-interactive --purge --name "$1"; }

# Removes a test instance however far it got (used in EXIT traps).
cleanup_instance() {
	"$SETUP" setup --disable --non-interactive --purge --name "$1" >/dev/null 2>&1 || true
}

# status_field NAME CHECK: state of one check in status --json.
status_state() {
	"$SETUP" status --name "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['checks']['$2']['state'])"
}
