#!/bin/bash
# Two instances at once: each gets its own /30, user, netns, tables and
# browser bridge port pair (another's pair is refused);
# neither reaches the other's addresses; shared host state (ip_forward,
# the gateway user, shared directories) is released only by the last one.
# Also: two setups of one instance started together never interleave.
source "$(dirname "$0")/../lib.sh"

A=sxt5
B=sxt6
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	cleanup_instance $A
	cleanup_instance $B
}
trap cleanup EXIT
cleanup

before=$(snapshot)
check "setup $A (permissive)" sx_setup --name $A --policy permissive --dns 198.51.100.53
check "setup $B (strict)" sx_setup --name $B --policy strict
ipa=$("$SETUP" status --name $A --json | json_get "j['network']['sandbox_ip']")
hia=$("$SETUP" status --name $A --json | json_get "j['network']['host_ip']")
ipb=$("$SETUP" status --name $B --json | json_get "j['network']['sandbox_ip']")
hib=$("$SETUP" status --name $B --json | json_get "j['network']['host_ip']")
if [ "$ipa" != "$ipb" ] && [ "${ipa%.*}" = "${hia%.*}" ]; then ok "distinct /30s: $hia/$ipa and $hib/$ipb"; else not_ok "addresses clash: $ipa $ipb"; fi
check "both green" bash -c "'$SETUP' status --name $A && '$SETUP' status --name $B"
pa=$("$SETUP" status --name $A --json | json_get "j['bridge']['port']")
pb=$("$SETUP" status --name $B --json | json_get "j['bridge']['port']")
if [ "$pa" != "$pb" ] && [ $((pa % 2)) = 0 ] && [ $((pb % 2)) = 0 ] && [ "$pa" -ge 8768 ] && [ "$pb" -ge 8768 ]; then
	ok "distinct bridge port pairs from 8768: $((pa - 1))/$pa and $((pb - 1))/$pb"
else
	not_ok "bridge ports: $pa and $pb (expected two distinct even ports from 8768)"
fi
EXPECT_BEFORE=$(snapshot)
expect 1 "instance $A records bridge ports $((pa - 1)) and $pa" "$B may not take $A's bridge port" \
	"$SETUP" setup --non-interactive --name $B --policy strict --bridge-port $pa
expect 1 "instance $A records bridge ports" "$B may not put its trust page on $A's bridge port" \
	"$SETUP" setup --non-interactive --name $B --policy strict --bridge-port $((pa + 1))
expect 1 "is also the instance's own LLM proxy port" "a bridge pair on the instance's own LLM proxy port" \
	"$SETUP" setup --non-interactive --name $B --policy strict --bridge-port 18791
EXPECT_BEFORE=""
check "list shows both" bash -c "'$SETUP' list --json | /usr/bin/python3 -c 'import json,sys; n=[i[\"name\"] for i in json.load(sys.stdin)]; sys.exit(0 if \"$A\" in n and \"$B\" in n else 1)'"

# Listeners everywhere the other instance could try (root binds 80/443).
ip netns exec $A /usr/bin/python3 "$TOP/tests/helpers/tcp-listen.py" "$ipa:443" "$ipa:80" "$ipa:18789" >/dev/null &
PIDS+=($!)
ip netns exec $B /usr/bin/python3 "$TOP/tests/helpers/tcp-listen.py" "$ipb:443" "$ipb:80" "$ipb:18789" >/dev/null &
PIDS+=($!)
/usr/bin/python3 "$TOP/tests/helpers/tcp-listen.py" "$hia:18790" "$hib:18790" "$hia:443" "$hib:443" >/dev/null &
PIDS+=($!)
# Every listener up first, or each "cannot reach" below would pass for the
# wrong reason.
listeners_up() {
	wait_listening "$ipa" 443 $A && wait_listening "$ipa" 80 $A && wait_listening "$ipa" 18789 $A &&
		wait_listening "$ipb" 443 $B && wait_listening "$ipb" 80 $B && wait_listening "$ipb" 18789 $B &&
		wait_listening "$hia" 18790 && wait_listening "$hib" 18790 && wait_listening "$hia" 443 &&
		wait_listening "$hib" 443
}
check "the test's listeners are all up (in both netns and on both host sides)" listeners_up

probe() { in_sandbox "$1" "sandbox-$1" timeout 2 bash -c "</dev/tcp/$2/$3" 2>/dev/null; }
check "$A reaches its own gateway port" probe $A "$hia" 18790
check "$B reaches its own gateway port" probe $B "$hib" 18790
check_fails "$A (permissive, tcp 443 routed) cannot reach $B's sandbox $ipb:443" probe $A "$ipb" 443
check_fails "$A cannot reach $B's OpenClaw port" probe $A "$ipb" 18789
check_fails "$A cannot reach $B's host side $hib:18790" probe $A "$hib" 18790
check_fails "$A cannot reach $B's host side $hib:443" probe $A "$hib" 443
check_fails "$B cannot reach $A's sandbox $ipa:443" probe $B "$ipa" 443
check_fails "$B cannot reach $A's host side $hia:18790" probe $B "$hia" 18790
check_fails "$A's user cannot read $B's home" in_sandbox $A sandbox-$A ls /home/sandbox-$B
check "the host reaches both OpenClaw ports" bash -c "</dev/tcp/$ipa/18789 && </dev/tcp/$ipb/18789"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
PIDS=()

check_eq "forwarding on (permissive $A)" 1 "$(sysctl -n net.ipv4.ip_forward)"
check "switch $B to default (also routes)" sx_setup --name $B --policy default --dns 198.51.100.53
check "disable $A" sx_disable $A
check_eq "forwarding stays on while $B needs it" 1 "$(sysctl -n net.ipv4.ip_forward)"
check "gateway user stays while $B uses it" getent passwd sentrix
check "$B still green" "$SETUP" status --name $B
check "disable $B" sx_disable $B
check_eq "host identical after both are gone" "$before" "$(snapshot)"

# Two setups of one instance at once: serialized by the lock.
sx_setup --name $A --policy strict >/tmp/sxt-multi-1.log 2>&1 &
p1=$!
sx_setup --name $A --policy strict >/tmp/sxt-multi-2.log 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check_eq "two concurrent setups both exit 0" "0 0" "$r1 $r2"
check "exactly one of them did the work" bash -c "[ \$(grep -l 'already set up' /tmp/sxt-multi-1.log /tmp/sxt-multi-2.log | wc -l) = 1 ]"
check "green afterwards" "$SETUP" status --name $A
sx_disable $A >/dev/null 2>&1 &
p1=$!
sx_disable $A >/tmp/sxt-multi-3.log 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check_eq "two concurrent --disable both exit 0" "0 0" "$r1 $r2"
check_eq "host identical after concurrent runs" "$before" "$(snapshot)"
rm -f /tmp/sxt-multi-*.log
summary
