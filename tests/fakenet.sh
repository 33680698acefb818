#!/bin/bash
# A "fake internet" for the integration tests (sourced after lib.sh).
#
# Namespace sxtnet holds TEST-NET-2 addresses (198.51.100.0/24) on its
# loopback, reached from the host over a veth transit link in TEST-NET-3
# (203.0.113.0/30).  It runs two dnsmasq resolvers (.53 knows the test
# names, .54 is an unlisted server) and TCP servers on 198.51.100.80:80/443.
# Nothing here routes beyond this machine: the host gets a route for
# 198.51.100.0/24 via the transit link, so test traffic never leaves it.

FAKENET=sxtnet
FAKENET_WEB=198.51.100.80
FAKENET_DNS=198.51.100.53
FAKENET_DNS2=198.51.100.54
FAKENET_HOSTSIDE=203.0.113.1
FAKENET_PIDS=()

fakenet_up() {
	fakenet_down
	ip netns add $FAKENET || return 1
	ip link add sxtnet-h type veth peer name eth0 netns $FAKENET || return 1
	ip addr add $FAKENET_HOSTSIDE/30 dev sxtnet-h
	ip link set sxtnet-h up
	ip -n $FAKENET link set lo up
	ip -n $FAKENET addr add 203.0.113.2/30 dev eth0
	ip -n $FAKENET link set eth0 up
	for a in $FAKENET_WEB $FAKENET_DNS $FAKENET_DNS2; do ip -n $FAKENET addr add $a/32 dev lo; done
	ip -n $FAKENET route add default via $FAKENET_HOSTSIDE
	ip route add 198.51.100.0/24 via 203.0.113.2 dev sxtnet-h
	local d
	for d in $FAKENET_DNS $FAKENET_DNS2; do
		ip netns exec $FAKENET dnsmasq --keep-in-foreground --no-resolv --no-hosts \
			--listen-address=$d --bind-interfaces --port=53 --pid-file= \
			--address=/allowed.test/$FAKENET_WEB --address=/loop.test/127.0.0.1 \
			--address=/private.test/10.1.2.3 --log-facility=/dev/null &
		FAKENET_PIDS+=($!)
	done
	ip netns exec $FAKENET /usr/bin/python3 "$TOP/tests/helpers/tcp-listen.py" \
		$FAKENET_WEB:80 $FAKENET_WEB:443 >/dev/null &
	FAKENET_PIDS+=($!)
	# Wait until both resolvers answer and the web ports listen.
	local i
	for i in $(seq 50); do
		if dig +short +time=1 +tries=1 @$FAKENET_DNS allowed.test 2>/dev/null | grep -q . &&
			dig +short +time=1 +tries=1 @$FAKENET_DNS2 allowed.test 2>/dev/null | grep -q . &&
			timeout 1 bash -c "</dev/tcp/$FAKENET_WEB/443" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "fake internet did not come up" >&2
	return 1
}

fakenet_down() {
	local p
	for p in "${FAKENET_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${FAKENET_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	FAKENET_PIDS=()
	ip route del 198.51.100.0/24 2>/dev/null
	ip link del sxtnet-h 2>/dev/null
	ip netns del $FAKENET 2>/dev/null
	return 0
}
