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
	if [ "$2" = "$3" ]; then
		ok "$1"
	elif [ "$(printf '%s' "$2" | wc -l)" -gt 1 ]; then
		not_ok "$1: differs (- expected, + actual):"
		diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/    | /' | head -30
	else
		not_ok "$1: expected '$2', got '$3'"
	fi
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
		echo "## sysctl"; sysctl -n net.ipv4.ip_forward net.netfilter.nf_log_all_netns
		echo "## /run/netns"; ls -la /run/netns 2>&1 | awk '{print $1, $3, $4, $NF}'
		for d in /etc/systemd/system /etc/sentrix /etc/netns /var/lib/sentrix /var/log/sentrix /run/sentrix; do
			echo "## $d"
			[ -e "$d" ] && find "$d" -printf '%p %m %u %g %l\n' | sort
			# journal.db: its rows are compared by the tests that care;
			# SQLite itself rewrites header bytes on open/close.  The
			# gateway's patrol and police databases are its live state
			# (WAL read marks change on every read).
			[ -e "$d" ] && find "$d" -type f ! -name 'journal.db*' ! -name 'patrol_state.db*' \
				! -name 'police.db*' -exec md5sum {} + | sort
		done
		echo "## accounts"; cat /etc/passwd /etc/group /etc/shadow /etc/gshadow | md5sum
		# What a sentrix run killed in the middle of an atomic write
		# leaves (NAME.sx-tmp.PID): the next run must sweep it.
		echo "## temporary files"
		find /etc /var/lib/sentrix /var/log/sentrix /run/sentrix /home -xdev -name '*.sx-tmp.*' 2>/dev/null | sort
		for f in "$@"; do
			echo "## $f"
			[ -e "$f" ] && stat -c '%n %a %U %G %s' "$f" && md5sum "$f"
		done
	} 2>&1
}

# snapshot_changed BEFORE DESCRIPTION [FILES...]: when the host snapshot no
# longer equals BEFORE, reports "not ok - DESCRIPTION" with the difference
# and returns 0; otherwise returns 1 (for loops that report once at the end).
snapshot_changed() {
	local before=$1 desc=$2 now
	shift 2
	now=$(snapshot "$@")
	[ "$now" = "$before" ] && return 1
	not_ok "$desc"
	diff <(echo "$before") <(echo "$now") | head -20 | sed 's/^/    | /'
	return 0
}

# setup NAME ARGS...: non-interactive setup of a test instance.
sx_setup() { "$SETUP" setup --non-interactive "$@"; }
sx_disable() { "$SETUP" setup --disable --non-interactive --purge --name "$1"; }

# Removes a test instance however far it got (used in EXIT traps).
cleanup_instance() {
	"$SETUP" setup --disable --non-interactive --purge --name "$1" >/dev/null 2>&1 || true
}

# "${GATEWAY_AS_SENTRIX[@]}" ARGS... &: sentrix-gateway as its unit runs it,
# by hand (systemd is not PID 1 here): user sentrix with the one capability
# the unit grants, CAP_NET_BIND_SERVICE (filtered DNS on host-ip:53).  An
# array, not a function, so that $! is the gateway itself.
GATEWAY_AS_SENTRIX=(setpriv --reuid sentrix --regid sentrix --clear-groups --inh-caps +net_bind_service
	--ambient-caps +net_bind_service "$BUILD/sentrix-gateway")

# status_field NAME CHECK: state of one check in status --json.
status_state() {
	"$SETUP" status --name "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['checks']['$2']['state'])"
}

# in_sandbox NAME USER CMD...: runs CMD as USER inside the instance's netns
# (ip netns exec also shows /etc/netns/NAME/resolv.conf as /etc/resolv.conf).
in_sandbox() {
	local n=$1 u=$2
	shift 2
	ip netns exec "$n" setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}

# tcp_connects [ns NAME USER] ADDR PORT: a TCP connect within 2 seconds.
tcp_connects() {
	timeout 2 bash -c "</dev/tcp/$1/$2" 2>/dev/null
}

# json_get FILE-OR-- PYTHON-EXPR: evaluates EXPR on the parsed JSON "j".
json_get() {
	/usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"
}

# oc_install: the pinned OpenClaw (tests/e2e/install-openclaw.sh) in $OC;
# when it cannot be installed, says why (its last line) and ends the test.
oc_install() {
	local err
	err=$(mktemp /tmp/sxt-oc-install.XXXXXX)
	if ! OC=$("$TOP/tests/e2e/install-openclaw.sh" 2>"$err"); then
		not_ok "the pinned OpenClaw could not be installed (npm registry reachable?): $(tail -n1 "$err")"
		rm -f "$err"
		summary
		exit 1
	fi
	rm -f "$err"
}

# oc_reply FILE: the final visible text of an `openclaw agent --json` turn
# (its finalAssistantVisibleText, wherever the JSON nests it).
oc_reply() {
	/usr/bin/python3 - "$1" 2>/dev/null <<'EOF'
import json, sys
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "finalAssistantVisibleText":
                print(v)
                sys.exit(0)
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(json.load(open(sys.argv[1])))
EOF
}

# wait_listening ADDR PORT [NETNS]: until something accepts there (5 s).
wait_listening() {
	local i
	for i in $(seq 50); do
		if [ -n "${3:-}" ]; then
			ip netns exec "$3" bash -c "</dev/tcp/$1/$2" 2>/dev/null && return 0
		else
			bash -c "</dev/tcp/$1/$2" 2>/dev/null && return 0
		fi
		sleep 0.1
	done
	return 1
}

# nft_counter [NETNS] TABLE: packets of the table's "dropped" counter.
nft_dropped() {
	local cmd=(nft -j list counter inet "$2" dropped)
	[ -n "$1" ] && cmd=(ip netns exec "$1" "${cmd[@]}")
	"${cmd[@]}" 2>/dev/null | json_get "[x['counter']['packets'] for x in j['nftables'] if 'counter' in x][0]"
}

# expect STATUS MESSAGE-REGEX DESCRIPTION ARGS...: the command exits STATUS
# and says MESSAGE (stdin closed).  When EXPECT_BEFORE holds a snapshot,
# the host must also still match it.
expect() {
	local want=$1 msg=$2 desc=$3 out rc
	shift 3
	out=$("$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" != "$want" ]; then
		not_ok "$desc: exit status $rc, expected $want"
		echo "$out" | sed 's/^/    | /' | head -5
	elif ! grep -qE -- "$msg" <<<"$out"; then
		not_ok "$desc: message does not match /$msg/"
		echo "$out" | sed 's/^/    | /' | head -5
	elif [ -n "${EXPECT_BEFORE:-}" ] && [ "$(snapshot)" != "$EXPECT_BEFORE" ]; then
		not_ok "$desc: the host changed"
	else
		ok "$desc (exit $rc)"
	fi
}

# deb_source_hash: a digest of the sources as `make deb` would package them
# (every file git sees, tracked or not, but the ignored ones).
deb_source_hash() {
	(cd "$TOP" && git ls-files -co --exclude-standard -z | sort -z | xargs -0 sha256sum 2>/dev/null | sha256sum | cut -c1-32)
}

# deb_ensure: prints the path of a Debian package of the sources as they
# are now: SENTRIX_TEST_DEB when set, else BUILD's sentrix_*.deb when it was
# built from these very sources (test-deb.sh builds it first and records
# their digest beside it), else built now with `make deb`.
deb_ensure() {
	local version arch deb hash
	if [ -n "${SENTRIX_TEST_DEB:-}" ]; then
		echo "$SENTRIX_TEST_DEB"
		return 0
	fi
	version=$(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")
	arch=$(dpkg --print-architecture)
	deb=$BUILD/sentrix_${version}_$arch.deb
	hash=$(deb_source_hash)
	if [ ! -f "$deb" ] || [ "$(cat "$deb.srchash" 2>/dev/null)" != "$hash" ]; then
		make -s -C "$TOP" BUILD="$BUILD" deb >&2 || return 1
		echo "$hash" >"$deb.srchash"
	fi
	echo "$deb"
}
