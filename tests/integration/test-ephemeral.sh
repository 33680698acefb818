#!/bin/bash
# Ephemeral jobs (sentrix sandbox exec --ephemeral): a throwaway instance
# per job - own name, /30, netns, nftables, a transient uid no /etc/passwd
# entry owns, a size-limited tmpfs home - that leaves no trace after a
# normal exit, a failure, or SIGKILL of the launcher (gone by the next
# sentrix-setup run); two concurrent jobs cannot see each other.
source "$(dirname "$0")/../lib.sh"

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	"$SETUP" gc >/dev/null 2>&1
	rm -f /tmp/sxt-eph-*
}
trap cleanup EXIT
"$SETUP" gc >/dev/null 2>&1

E() { "$SETUP" exec --ephemeral --policy strict -- "$@"; }
before=$(snapshot)

out=$(E sh -c 'echo "uid=$(id -u) name=$(id -un) home=$HOME host=$(hostname)"; getent passwd $(id -u); df -k ~ | tail -1; touch ~/f && echo homewrite')
check_eq "a job runs and exits 0" 0 $?
uid=$(sed -n 's/.*uid=\([0-9]*\).*/\1/p' <<<"$out" | head -1)
check "the job's uid is transient (reserved range)" test "$uid" -ge 600000 -a "$uid" -le 665535
check_fails "no /etc/passwd entry owns it on the host" getent passwd "$uid"
check "inside, passwd and group name it" grep -q ":$uid:$uid:sentrix ephemeral job:" <<<"$out"
check "the home is a size-limited tmpfs" bash -c "grep -qE '^tmpfs +524288 ' <<<'$out'"
check "the home is writable" grep -q homewrite <<<"$out"
check_eq "normal exit leaves no trace" "$before" "$(snapshot)"

E sh -c 'exit 9'
check_eq "a failing job's status passes through" 9 $?
check_eq "failure leaves no trace" "$before" "$(snapshot)"
"$SETUP" exec --ephemeral --policy nosuch -- true >/dev/null 2>&1
check_eq "a bad --policy is refused (usage, exit 2)" 2 $?
check_eq "and leaves no trace" "$before" "$(snapshot)"

# A CI job wrapped as documented: `make test` in the caller's checkout,
# which the job sees as its own and may write (a copy-on-write overlay on
# its tmpfs home); the checkout on the host does not change.
WS=$(mktemp -d /var/tmp/sxt-ws.XXXXXX)
mkdir "$WS/src"
printf 'int main(void) { return 0; }\n' >"$WS/src/t.c"
printf 'all: build/t\nbuild/t: src/t.c\n\tmkdir -p build && cc -o build/t src/t.c\ntest: all\n\t./build/t && echo > src/stamp && echo tests passed\nfail:\n\tfalse\n' >"$WS/Makefile"
ws_before=$(cd "$WS" && find . -printf '%p %m %u %s\n' | sort; md5sum Makefile src/t.c)
before=$(snapshot)
out=$(cd "$WS" && "$SETUP" exec --ephemeral --policy strict -- make test 2>&1)
check_eq "\`exec --ephemeral --policy strict -- make test\` in a checkout exits 0" 0 $?
check "the job built and ran the tests in its view of the checkout" grep -q "tests passed" <<<"$out"
check_eq "the checkout on the host is unchanged" "$ws_before" "$(cd "$WS" && find . -printf '%p %m %u %s\n' | sort; md5sum Makefile src/t.c)"
(cd "$WS" && "$SETUP" exec --ephemeral --policy strict -- make fail >/dev/null 2>&1)
check_eq "a failing make's status passes through" 2 $?
check_eq "the CI jobs leave no trace" "$before" "$(snapshot)"
rm -rf "$WS"

# SIGKILL of the launcher: the netns dies with the job; the rest goes with
# the next sentrix-setup run.
"$SETUP" exec --ephemeral --policy strict -- sh -c 'sleep 60; echo sxt-eph-marker' >/dev/null 2>&1 &
l=$!
for i in $(seq 50); do pgrep -f sxt-eph-marker >/dev/null && break; sleep 0.1; done
check "list shows the running ephemeral job" bash -c "'$SETUP' list | grep -qE '^e-[0-9a-f]{8} +strict .* ephemeral +-$'"
kill -KILL $l
wait $l 2>/dev/null
sleep 0.3
check_fails "SIGKILL of the launcher: no process of the job left" pgrep -f sxt-eph-marker
check "the next sentrix-setup run cleans up" "$SETUP" list
# A launcher killed before its record was written leaves only a directory.
mkdir -p /run/sentrix/ephemeral/e-00000000
check "gc removes a half-written record" bash -c "'$SETUP' gc && ! test -e /run/sentrix/ephemeral/e-00000000"
check_eq "SIGKILL of the launcher leaves no trace" "$before" "$(snapshot)"

# Two concurrent jobs: different uids, addresses, namespaces; isolated.
# (No `ip` inside: netlink sockets are refused; getsockname() tells the
# address.)
WHO='echo "who $(id -u) $(python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((\"10.200.0.1\", 9)); print(s.getsockname()[0])") $(readlink /proc/self/ns/net)"'
"$SETUP" exec --ephemeral --policy strict -- sh -c "$WHO"'; echo secretA > ~/a; python3 -c "
import socket,time
s=socket.socket(); s.bind((\"0.0.0.0\", 18789)); s.listen(); time.sleep(4)"' >/tmp/sxt-eph-a 2>&1 &
PIDS+=($!)
sleep 1
"$SETUP" exec --ephemeral --policy strict -- sh -c "$WHO"'; echo "homes $(ls /home | wc -l)"; cat /home/*/a 2>&1; echo "procs $(ls -d /proc/[0-9]* | wc -l)"; for a in $(seq 1 4 61); do timeout 1 bash -c "</dev/tcp/10.200.0.$((a + 1))/18789" 2>/dev/null && echo "REACHED $a"; done; echo done' >/tmp/sxt-eph-b 2>&1
wait "${PIDS[@]}"
PIDS=()
a=$(grep '^who' /tmp/sxt-eph-a)
b=$(grep '^who' /tmp/sxt-eph-b)
check "job A ran" test -n "$a"
check "job B ran" grep -q done /tmp/sxt-eph-b
[ "$(cut -d' ' -f2 <<<"$a")" != "$(cut -d' ' -f2 <<<"$b")" ] && ok "different uids ($(cut -d' ' -f2 <<<"$a"), $(cut -d' ' -f2 <<<"$b"))" || not_ok "same uid for two jobs: $a / $b"
[ "$(cut -d' ' -f3 <<<"$a")" != "$(cut -d' ' -f3 <<<"$b")" ] && ok "different addresses ($(cut -d' ' -f3 <<<"$a"), $(cut -d' ' -f3 <<<"$b"))" || not_ok "same address: $a / $b"
[ "$(cut -d' ' -f4 <<<"$a")" != "$(cut -d' ' -f4 <<<"$b")" ] && ok "different network namespaces" || not_ok "same netns: $a / $b"
check_fails "B cannot read A's home" grep -q secretA /tmp/sxt-eph-b
check "B sees only its own home under /home" grep -qx "homes 1" /tmp/sxt-eph-b
check "B sees only its own processes" bash -c "n=\$(sed -n 's/^procs //p' /tmp/sxt-eph-b); [ \"\$n\" -le 5 ]"
check_fails "B cannot reach A's listener" grep -q REACHED /tmp/sxt-eph-b
check_eq "both gone without a trace" "$before" "$(snapshot)"
summary
