#!/bin/bash
# In-process rollback: a step that fails (not a crash) undoes everything
# this run did, names the step, exits 1, and leaves the host as it was.
# Failures are injected into real syscalls with strace (as bubblewrap's
# tests do): the Nth rename(2) - every atomic file write ends in one, the
# bridge's device key included -, the Nth mkdir(2) - every directory setup
# makes, the bridge's included - and the namespace's unshare(2) and bind
# mount.
source "$(dirname "$0")/../lib.sh"

NAME=sxt4
trap 'cleanup_instance $NAME' EXIT
cleanup_instance $NAME

if ! command -v strace >/dev/null; then
	skip "strace is not installed: fault injection not available"
	summary
	exit 0
fi

before=$(snapshot)
args=(setup --non-interactive --name $NAME --policy default --dns 198.51.100.53)

# inject SYSCALL N: setup with the Nth SYSCALL failing with EIO.
# LeakSanitizer (a `make asan` build) cannot run under ptrace: off here.
inject() {
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace="$1" -e inject="$1":error=EIO:when="$2" "$SETUP" "${args[@]}" 2>&1
}

n=0 bad=0
for k in $(seq 1 60); do
	out=$(inject rename,renameat,renameat2 $k)
	rc=$?
	[ $rc = 0 ] && break
	n=$((n + 1))
	if [ $rc != 1 ]; then
		not_ok "rename #$k failing: exit status $rc, expected 1"
		bad=1
	elif ! grep -q 'failed at step' <<<"$out"; then
		not_ok "rename #$k failing: the message does not name the step"
		echo "$out" | tail -3 | sed 's/^/    | /'
		bad=1
	fi
	if snapshot_changed "$before" "rename #$k failing: the host changed"; then
		bad=1
		cleanup_instance $NAME
		break
	fi
done
if [ $n -lt 8 ]; then
	not_ok "only $n renames were failed (expected every file write of setup)"
elif [ $bad = 0 ]; then
	ok "each of setup's $n renames failing in turn: exit 1, step named, host unchanged"
fi
check "the run after the last injection point set the instance up" "$SETUP" status --name $NAME
check "and it rolls back" sx_disable $NAME
check_eq "host unchanged" "$before" "$(snapshot)"

# mkdir(2) and mkdirat(2) each in turn: strace counts each system call on
# its own, so injecting into both at once would also fail the Kth of the
# other one, which may be the rollback's own (a double fault, not a fault).
n=0 bad=0
for sc in mkdir mkdirat; do
	for k in $(seq 1 40); do
		out=$(inject $sc $k)
		rc=$?
		[ $rc = 0 ] && break
		n=$((n + 1))
		if [ $rc != 1 ]; then
			not_ok "$sc #$k failing: exit status $rc, expected 1"
			bad=1
		fi
		if snapshot_changed "$before" "$sc #$k failing: the host changed"; then
			bad=1
			cleanup_instance $NAME
			break 2
		fi
	done
	# Each loop ends with a run that set the instance up: undo it.
	[ $sc = mkdir ] && [ $rc = 0 ] && { sx_disable $NAME >/dev/null 2>&1 || not_ok "--disable after the mkdir(2) runs"; }
done
if [ $n -lt 4 ]; then
	not_ok "only $n mkdirs were failed (expected every directory setup makes)"
elif [ $bad = 0 ]; then
	ok "each of setup's $n mkdirs failing in turn: exit 1, host unchanged"
fi
check "the run after the last mkdir injection point set the instance up" "$SETUP" status --name $NAME
check "and it rolls back (device key and bridge directory gone)" sx_disable $NAME
check_eq "host unchanged" "$before" "$(snapshot)"

for sc in unshare mount; do
	out=$(inject $sc 1)
	rc=$?
	check_eq "$sc failing: exit 1" 1 $rc
	check "$sc failing: names the network step" grep -q 'failed at step "network' <<<"$out"
	check_eq "$sc failing: host unchanged" "$before" "$(snapshot)"
	cleanup_instance $NAME
done
summary
