#!/bin/bash
# Egress matrix: for each policy, what the sandbox user can reach from
# inside the instance's namespace, against a fake internet this test builds
# (tests/fakenet.sh).  Also: the host reaches the sandbox's OpenClaw port;
# drops are counted; the host table holds even when the sandbox table is
# gone (defense in depth).
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/fakenet.sh"

NAME=sxt2
LISTENERS=()
LOG=$(mktemp /tmp/sxt-egress.XXXXXX)
cleanup() {
	local p
	for p in "${LISTENERS[@]}"; do kill "$p" 2>/dev/null; done
	cleanup_instance $NAME
	fakenet_down
	rm -f "$LOG"
}
trap cleanup EXIT

fakenet_up || { not_ok "fake internet could not be built"; summary; exit 1; }
# Positive controls: the probes below can tell "refused" from "broken".
check "control: the host reaches the fake web server" tcp_connects $FAKENET_WEB 443
check "control: the host resolves through the fake DNS" bash -c "dig +short +time=1 +tries=1 @$FAKENET_DNS $FAKENET_WEB_NAME | grep -qx $FAKENET_WEB"
check "control: the host pings the fake internet" ping -c1 -W1 $FAKENET_WEB

# probe DESCRIPTION yes|no ADDR PORT: TCP from inside the sandbox.
probe() {
	local want=$2
	if in_sandbox $NAME "$USER_NAME" timeout 2 bash -c "</dev/tcp/$3/$4" 2>/dev/null; then
		[ "$want" = yes ] && ok "$1 ($3:$4 reachable)" || not_ok "$1: $3:$4 reachable but must be refused"
	else
		[ "$want" = no ] && ok "$1 ($3:$4 refused)" || not_ok "$1: $3:$4 refused but must be reachable"
	fi
}

# dns DESCRIPTION yes|no SERVER [+tcp]: a lookup of $FAKENET_WEB_NAME.
dns() {
	local out
	out=$(in_sandbox $NAME "$USER_NAME" dig +short +time=1 +tries=1 ${4:-} @"$3" "$FAKENET_WEB_NAME" 2>/dev/null)
	if [ "$out" = "$FAKENET_WEB" ]; then
		[ "$2" = yes ] && ok "$1 (answered)" || not_ok "$1: DNS to $3 answered but must be refused"
	else
		[ "$2" = no ] && ok "$1 (no answer)" || not_ok "$1: DNS to $3 got no answer ($out)"
	fi
}

run_policy() {
	local policy=$1 dns_flag=$2 routed=$3 dns_ok=$4
	CURRENT="$policy"
	cleanup_instance $NAME
	if ! sx_setup --name $NAME --policy "$policy" --dns "$dns_flag" >"$LOG" 2>&1; then
		not_ok "setup --policy $policy"
		cat "$LOG"
		return
	fi
	ok "setup --policy $policy --dns $dns_flag"
	HOST_IP=$("$SETUP" status --name $NAME --json | json_get "j['network']['host_ip']")
	SANDBOX_IP=$("$SETUP" status --name $NAME --json | json_get "j['network']['sandbox_ip']")
	USER_NAME=sandbox-$NAME
	check "status is green" "$SETUP" status --name $NAME

	# Listeners on the gateway ports, the health port and a random port of
	# host-ip, and on every host address (so "refused" means the firewall).
	/usr/bin/python3 "$TOP/tests/helpers/tcp-listen.py" "$HOST_IP:18790" "$HOST_IP:18791" \
		"$HOST_IP:18792" "$HOST_IP:18799" "$FAKENET_HOSTSIDE:18799" >/dev/null &
	LISTENERS+=($!)
	check "the test's listeners are up" wait_listening "$HOST_IP" 18790
	local before logs_before
	before=$(nft_dropped $NAME sentrix)
	# The ring buffer is bounded, so count by time, not by lines.
	logs_before=$(dmesg 2>/dev/null | tail -1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')

	probe "LLM proxy port on host-ip" yes "$HOST_IP" 18790
	probe "egress proxy port on host-ip" yes "$HOST_IP" 18791
	probe "health port on host-ip (host only)" no "$HOST_IP" 18792
	probe "other port on host-ip" no "$HOST_IP" 18799
	probe "other host address" no "$FAKENET_HOSTSIDE" 18799
	probe "fake internet web port 80" "$routed" "$FAKENET_WEB" 80
	probe "fake internet web port 443" "$routed" "$FAKENET_WEB" 443
	dns "DNS (udp) to the listed server" "$dns_ok" "$FAKENET_DNS"
	dns "DNS (tcp) to the listed server" "$dns_ok" "$FAKENET_DNS" +tcp
	dns "DNS to an unlisted server" no "$FAKENET_DNS2"
	# As root inside the netns: the tables bind root too.
	check_fails "ICMP to the outside refused" ip netns exec $NAME ping -c1 -W1 "$FAKENET_WEB"
	check_eq "IPv6 disabled inside the netns" 1 "$(ip netns exec $NAME cat /proc/sys/net/ipv6/conf/all/disable_ipv6)"
	check_fails "IPv6 to the outside refused" in_sandbox $NAME "$USER_NAME" timeout 2 bash -c "</dev/tcp/2001:db8::1/443"
	local after
	after=$(nft_dropped $NAME sentrix)
	if [ "$after" -gt "$before" ]; then ok "drops counted in the sandbox table ($before -> $after packets)"; else not_ok "drop counter did not move ($before -> $after)"; fi
	if ! dmesg >/dev/null 2>&1; then
		skip "kernel log not readable here (dmesg): log prefix not verified"
	else
		local i n=0
		for i in $(seq 20); do # the kernel log is written asynchronously
			n=$(dmesg | awk -v t="${logs_before:-0}" -v p="sentrix-$NAME-drop" \
				'{ ts = $0; sub(/^\[ */, "", ts); sub(/\].*/, "", ts) } ts + 0 > t + 0 && index($0, p) { c++ } END { print c + 0 }')
			[ "$n" -gt 0 ] && break
			sleep 0.1
		done
		if [ "$n" -gt 0 ]; then ok "drops logged with prefix sentrix-$NAME-drop ($n new lines)"; else not_ok "no new kernel log lines with prefix sentrix-$NAME-drop"; fi
	fi

	# The host reaches OpenClaw's port inside the sandbox; not other ports.
	ip netns exec $NAME setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups -- \
		/usr/bin/python3 "$TOP/tests/helpers/tcp-listen.py" "$SANDBOX_IP:18789" "$SANDBOX_IP:18780" >/dev/null &
	LISTENERS+=($!)
	check "the test's listeners in the netns are up" wait_listening "$SANDBOX_IP" 18789 $NAME
	check "host reaches OpenClaw port $SANDBOX_IP:18789" tcp_connects "$SANDBOX_IP" 18789
	check_fails "host cannot reach other sandbox ports ($SANDBOX_IP:18780)" tcp_connects "$SANDBOX_IP" 18780

	# Defense in depth: with the sandbox table deleted (a sandbox that got
	# root), the host table still refuses what the policy refuses.
	ip netns exec $NAME nft delete table inet sentrix
	check_eq "status notices the missing sandbox table" missing "$(status_state $NAME nft_sandbox)"
	before=$(nft_dropped "" sentrix_$NAME)
	probe "without the sandbox table: other host-ip port" no "$HOST_IP" 18799
	probe "without the sandbox table: health port" no "$HOST_IP" 18792
	[ "$routed" = no ] && probe "without the sandbox table: fake internet 443" no "$FAKENET_WEB" 443
	after=$(nft_dropped "" sentrix_$NAME)
	if [ "$after" -gt "$before" ]; then ok "host table counted the drops ($before -> $after)"; else not_ok "host drop counter did not move"; fi
	check "sentrix sandbox up repairs the table" "$SETUP" up --name $NAME

	local p
	for p in "${LISTENERS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	LISTENERS=()
	# After the stand-in listeners: status's gateway check would find a
	# stand-in on the health port that is not a gateway (and say so).
	check "status green again" "$SETUP" status --name $NAME
	check "disable" sx_disable $NAME
}

run_policy strict none no no
run_policy default "$FAKENET_DNS" no yes
run_policy permissive "$FAKENET_DNS" yes yes
CURRENT=""
summary
