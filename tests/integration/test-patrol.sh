#!/bin/bash
# The patrol, the police and the inline guardrail (docs/patrol.md), on a
# gateway run outside an instance (loopback, tests/gateway.sh):
# - a generated corpus (tests/helpers/patrol-corpus.py): every planted
#   secret, PII item, unsafe tool call and injection (plain, base64, ROT13,
#   tag characters) flagged with its rule, category and severity; no record
#   of the clean corpus (look-alikes) flagged; no planted value written whole
#   to flags, state, police database, reports or the gateway's log;
# - the police: a case file per flag at the escalation level, none below it;
# - `sentrix flags`, `sentrix police cases|show`, `sentrix patrol status`;
# - a ruleset change reviews everything again; `--rescan` and a SIGKILL in
#   mid-scan write no flag twice and lose none;
# - block mode: a request carrying a key is refused (403, the rule named)
#   and recorded, a clean one passes;
# - /metrics counts the flags;
# - the LLM judge (patrol.judge) on a mock provider: its vote in the flags
#   of injection records, its calls counted, no planted value sent to it
#   whole, its summary in the case files; with the judge down new records
#   stay pending (never clean, no flag), failures counted, and are flagged
#   once it is back on its port.
source "$(dirname "$0")/../lib.sh"

GW=$BUILD/sentrix-gateway
MOCK=$BUILD/tests/mock-llm
GWCFG=$TOP/tests/helpers/gw-config.py
CORPUS=$TOP/tests/helpers/patrol-corpus.py
TMP=$(mktemp -d /tmp/sxt-patrol.XXXXXX)
chmod 711 "$TMP"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
source "$TOP/tests/gateway.sh"
TOKEN=sxtoken-test
REALKEY="sk-sxt-real-$RANDOM$RANDOM$RANDOM"

# reviews DIR: reviewed records (clean or flagged) in DIR/patrol_state.db.
reviews() {
	sqlite3 "file:$1/patrol_state.db?mode=ro" \
		"SELECT count(*) FROM reviews WHERE status IN ('clean','flagged')" 2>/dev/null || echo 0
}
# wait_reviews DIR N [SECS]: until N records are reviewed (default 60 s).
wait_reviews() {
	local i
	for i in $(seq $((${3:-60} * 10))); do
		[ "$(reviews "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# wait_cases DIR N: until police.db holds N case files (30 s).
wait_cases() {
	local i
	for i in $(seq 300); do
		[ "$(sqlite3 "file:$1/police.db?mode=ro" 'SELECT count(*) FROM case_files' 2>/dev/null || echo 0)" -ge "$2" ] &&
			return 0
		sleep 0.1
	done
	return 1
}

start_mock MOCK
M=http://127.0.0.1:$MOCK_PORT/v1

### The corpus, reviewed by a gateway in observe mode (every flag escalated)
CURRENT="corpus"
/usr/bin/python3 "$CORPUS" "$TMP/corpus" >/dev/null
A=$TMP/a
BASE_A=$(free_base 27600)
/usr/bin/python3 "$GWCFG" "$A" --port-base "$BASE_A" --escalation low_above \
	--provider "openai,openai-completions,$M,OPENAI_API_KEY" --secret "OPENAI_API_KEY=$REALKEY"
cp "$TMP/corpus/planted/llm-20261201T000000Z.json" "$A/log/llm-20261201T000000Z.json"
cp "$TMP/corpus/clean/llm-20261201T000000Z.json" "$A/log/llm-20261201T000100Z.json"
chown -R nobody:nogroup "$A"
TOTAL=$(cat "$A"/log/llm-2026*.json | grep -c '^,\?{')
t0=$(date +%s%N)
start_gw GWA "$A"
check "all $TOTAL records reviewed" wait_reviews "$A/log" "$TOTAL"
check "the gateway said it patrols with the four packs" \
	grep -q "patrol: 83 rule(s) from pack(s) pii, secrets, harm, tools" "$A/stderr"
echo "# $TOTAL records reviewed in $((($(date +%s%N) - t0) / 1000000)) ms"

# verdict: planted items found by their rule, category and severity; what
# the clean file got.
verdict=$(/usr/bin/python3 - "$TMP/corpus/planted/manifest.json" "$A/log/patrol_flags.jsonl" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
flags = [json.loads(l) for l in open(sys.argv[2])]
by_rec = {}
for f in flags:
    by_rec.setdefault((f["source_file"], f["record_id"]), []).append(f)
found = wrong = 0
missing = []
for m in manifest:
    fs = by_rec.get(("llm-20261201T000000Z.json", m["record_id"]), [])
    hits = [h for f in fs for h in f["hits"] if h["rule_id"] == m["rule_id"]]
    if not hits:
        missing.append(m["rule_id"])
    elif any(h["category"] == m["category"] and h["severity"] == m["severity"] for h in hits):
        found += 1
    else:
        wrong += 1
clean = sum(1 for f in flags if f["source_file"] == "llm-20261201T000100Z.json")
ids = [f["flag_id"] for f in flags]
print(found, len(manifest), wrong, clean, len(ids) - len(set(ids)), ",".join(missing[:5]))
PY
)
read -r found planted wrong clean dups missing <<<"$verdict"
echo "# corpus: $found / $planted planted items flagged right; $clean flags on the clean file"
check_eq "every planted item is flagged by its rule, with its category and severity" "$planted $planted 0" \
	"$found $planted $wrong${missing:+ missing: $missing}"
check_eq "no record of the clean corpus is flagged" 0 "$clean"
check_eq "no flag is written twice" 0 "$dups"
check "flags carry the contract's keys" /usr/bin/python3 -c '
import json, sys
keys = {"flag_id", "source_file", "record_id", "run_id_ts", "consensus_severity", "consensus_confidence",
        "votes", "pii_labels_union", "categories", "rule_ids", "referral_summary", "timestamp", "excerpt", "hits"}
for l in open(sys.argv[1]):
    f = json.loads(l)
    assert keys <= set(f), keys - set(f)
    assert f["consensus_severity"] in ("LOW", "MEDIUM", "HIGH")
    assert 0 < f["consensus_confidence"] <= 1
' "$A/log/patrol_flags.jsonl"
check "PII flags name their labels (pii_labels_union holds CREDIT_CARD and IBAN somewhere)" /usr/bin/python3 -c '
import json, sys
labels = set()
for l in open(sys.argv[1]):
    labels |= set(json.loads(l)["pii_labels_union"])
assert {"CREDIT_CARD", "IBAN"} <= labels, labels
' "$A/log/patrol_flags.jsonl"

### Nothing written whole
CURRENT="redaction"
check "the police wrote a case file for every flag (escalation low_above)" \
	wait_cases "$A/log" "$(wc -l <"$A/log/patrol_flags.jsonl")"
# Every planted secret or PII value of 10+ characters, searched for in all
# the patrol and police wrote, and in the gateway's log (but the service
# account rule's: its value is the "service_account" marker, no secret).
/usr/bin/python3 -c '
import json, sys
for m in json.load(open(sys.argv[1])):
    if m["category"] in ("secret", "pii") and len(m["value"]) >= 10 and m["rule_id"] != "gcp-service-account":
        print(m["value"])
' "$TMP/corpus/planted/manifest.json" >"$TMP/values"
check "there are secrets to look for ($(wc -l <"$TMP/values"))" test "$(wc -l <"$TMP/values")" -ge 40
written=("$A/log/patrol_flags.jsonl" "$A/log/patrol_state.db"* "$A/log/police.db"* "$A/log/reports" "$A/stderr")
check_fails "no planted secret or PII value is whole in flags, state, police database, reports or the log" \
	grep -rqsaF -f "$TMP/values" "${written[@]}"
check "but the capture file holds them (the record is the evidence)" \
	grep -qaF -f "$TMP/values" "$A/log/llm-20261201T000000Z.json"

### The CLI
CURRENT="cli"
n=$(wc -l <"$A/log/patrol_flags.jsonl")
check_eq "sentrix flags --json: one line per flag" "$n" "$("$SENTRIX" flags --dir "$A/log" --json | wc -l)"
high=$(grep -c '"consensus_severity":"HIGH"' "$A/log/patrol_flags.jsonl")
check_eq "sentrix flags --severity HIGH: the HIGH ones" "$high" \
	"$("$SENTRIX" flags --dir "$A/log" --severity HIGH --json | wc -l)"
check "sentrix flags --category secret: secrets only" bash -c \
	'"$1" flags --dir "$2" --category secret --json | python3 -c "
import json, sys
n = 0
for l in sys.stdin:
    assert \"secret\" in json.loads(l)[\"categories\"]; n += 1
assert n > 10, n"' _ "$SENTRIX" "$A/log"
check "sentrix flags (text): a line per flag, values redacted" bash -c \
	'out=$("$1" flags --dir "$2") && [ "$(wc -l <<<"$out")" -ge "$3" ] && ! grep -qaF -f "$4" <<<"$out"' \
	_ "$SENTRIX" "$A/log" "$n" "$TMP/values"
cases=$("$SENTRIX" police cases --dir "$A/log" --json)
check_eq "sentrix police cases --json: every case" "$n" "$(grep -c case_id <<<"$cases")"
case_id=$(head -n1 <<<"$cases" | json_get "j['case_id']")
check "sentrix police show CASE: the case file, with the flag and its record's metadata" bash -c \
	'"$1" police show --dir "$2" "$3" | python3 -c "
import json, sys
c = json.load(sys.stdin)
assert c[\"case_id\"] == sys.argv[1] and c[\"flag\"][\"flag_id\"] == c[\"flag_id\"]
assert c[\"record\"][\"id\"] and c[\"summary\"] and c[\"recommended_action\"]" "$3"' _ "$SENTRIX" "$A/log" "$case_id"
check "sentrix patrol status: the ruleset and the counts" bash -c \
	'"$1" patrol status --dir "$2" | grep -q "rs-"' _ "$SENTRIX" "$A/log"
HA=$((BASE_A + 3))
flags_metric=$(curl -s -m 5 "http://127.0.0.1:$HA/metrics" | awk '$1 == "sentrix_patrol_flags_total{category=\"secret\",severity=\"HIGH\"}" {print $2}')
check "/metrics: sentrix_patrol_flags_total counts secrets ($flags_metric)" test "${flags_metric:-0}" -gt 10

### A rescan and a new ruleset
CURRENT="versions"
setpriv --reuid nobody --regid nogroup --clear-groups "$GW" --name sxtgw --config "$A/config.json" --rescan \
	>/dev/null 2>&1
check "--rescan: every record reviewed again" wait_reviews "$A/log" "$TOTAL"
sleep 2
check_eq "... and no flag written twice" "$n" "$(wc -l <"$A/log/patrol_flags.jsonl")"
stop_gw "$GWA"
mkdir "$A/policy/patrol"
cp "$TOP"/patrol/*.json "$A/policy/patrol/"
/usr/bin/python3 - "$A/policy/patrol/harm.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["version"] += "-test"
p["rules"][0]["description"] += " (edited)"
json.dump(p, open(sys.argv[1], "w"))
PY
old=$(sqlite3 "$A/log/patrol_state.db" "SELECT value FROM meta WHERE key='ruleset_version'")
start_gw GWA "$A"
check "an edited pack: the gateway uses it (a new ruleset version)" bash -c \
	'for i in $(seq 100); do v=$(sqlite3 "file:$1/patrol_state.db?mode=ro" "SELECT value FROM meta WHERE key=\"ruleset_version\"");
	 [ -n "$v" ] && [ "$v" != "$2" ] && exit 0; sleep 0.1; done; exit 1' _ "$A/log" "$old"
check "every record reviewed again under it" wait_reviews "$A/log" "$TOTAL"
check_eq "the planted records are flagged again, under the new version, once" "$((n * 2))" \
	"$(wc -l <"$A/log/patrol_flags.jsonl")"
stop_gw "$GWA"

### SIGKILL in mid-scan: resumes, nothing lost, nothing twice
CURRENT="crash"
K=$TMP/k
BASE_K=$(free_base $((BASE_A + 10)))
/usr/bin/python3 "$GWCFG" "$K" --port-base "$BASE_K" \
	--provider "openai,openai-completions,$M,OPENAI_API_KEY" --secret "OPENAI_API_KEY=$REALKEY"
/usr/bin/python3 "$CORPUS" "$TMP/big" --size-mb 96 >/dev/null
cp "$TMP"/big/bench/llm-*.json "$K/log/"
chown -R nobody:nogroup "$K"
KTOTAL=$(cat "$K"/log/llm-*.json | grep -c '^,\?{')
start_gw GWK "$K"
for _ in $(seq 400); do [ "$(reviews "$K/log")" -ge 512 ] && break; sleep 0.02; done
before=$(reviews "$K/log")
stop_gw "$GWK" KILL
check "killed in mid-scan ($before of $KTOTAL reviewed)" test "$before" -lt "$KTOTAL"
start_gw GWK "$K"
check "after a restart all $KTOTAL records are reviewed" wait_reviews "$K/log" "$KTOTAL" 120
check "no flag written twice, every planted bench item flagged" /usr/bin/python3 -c '
import json, sys
flags = [json.loads(l) for l in open(sys.argv[1])]
ids = [f["flag_id"] for f in flags]
assert len(ids) == len(set(ids)), "duplicates"
recs = {(f["record_id"]) for f in flags}
m = json.load(open(sys.argv[2]))
miss = [x for x in m if x["record_id"] not in recs]
assert not miss, miss[:3]
' "$K/log/patrol_flags.jsonl" "$TMP/big/bench/manifest.json"
stop_gw "$GWK"

### Block mode
CURRENT="guardrail"
G=$TMP/g
BASE_G=$(free_base $((BASE_K + 10)))
/usr/bin/python3 "$GWCFG" "$G" --port-base "$BASE_G" --guardrail block \
	--provider "openai,openai-completions,$M,OPENAI_API_KEY" --provider "anthropic,anthropic-messages,$M,OPENAI_API_KEY" \
	--secret "OPENAI_API_KEY=$REALKEY"
chown -R nobody:nogroup "$G"
start_gw GWG "$G"
LG=http://127.0.0.1:$((BASE_G + 1))
KEY="sk-proj-$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 56)"
printf '{"model":"m","messages":[{"role":"user","content":"deploy with %s please"}]}' "$KEY" >"$TMP/leak.json"
printf '{"model":"m","messages":[{"role":"user","content":"Say hello"}]}' >"$TMP/clean.json"
before=$(curl -s -m 5 "http://127.0.0.1:$MOCK_PORT/_mock/stats" | json_get "j['requests']")
st=$(post "$LG/openai/chat/completions" "$TMP/leak.json" "$TMP/leak.out" -H "Authorization: Bearer $TOKEN")
check_eq "a request carrying an API key: 403" 403 "$st"
check "... with a JSON error naming the rule" /usr/bin/python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert e["type"] == "sentrix_guardrail" and "openai-project-key" in e["message"], e
' "$TMP/leak.out"
check_fails "... which does not repeat the key" grep -qF "$KEY" "$TMP/leak.out"
after=$(curl -s -m 5 "http://127.0.0.1:$MOCK_PORT/_mock/stats" | json_get "j['requests']")
check_eq "... and never reached the provider" "$before" "$after"
check_eq "a clean request passes: 200" 200 "$(post "$LG/openai/chat/completions" "$TMP/clean.json" "$TMP/clean.out" -H "Authorization: Bearer $TOKEN")"
sleep 1.2 # the capture's sync
check "the refused call is recorded: status 403, the reason as its error" /usr/bin/python3 -c '
import glob, json, sys
recs = [json.loads(l.lstrip(",")) for f in glob.glob(sys.argv[1] + "/llm-*.json") for l in open(f) if l.startswith(("{", ",{"))]
r = [x for x in recs if x["status"] == 403]
assert len(r) == 1 and "guardrail" in r[0]["error"] and r[0]["complete"], r
assert any(x["status"] == 200 for x in recs)
' "$G/log"

# A streamed answer whose tool call would wipe the disk: the text before it
# arrives, the call is held back, scanned when complete, and replaced by an
# error event that ends the stream.  A harmless call streams through.
for api in openai anthropic; do
	if [ $api = openai ]; then
		url=$LG/openai/chat/completions hdr=(-H "Authorization: Bearer $TOKEN")
		mk() { printf '{"model":"m","stream":true,"tools":[{"type":"function","function":{"name":"exec","parameters":{}}}],"messages":[{"role":"user","content":"run [[tool:exec {\\"command\\":\\"%s\\"}]]"}]}' "$1"; }
	else
		url=$LG/anthropic/messages hdr=(-H "x-api-key: $TOKEN" -H "anthropic-version: 2023-06-01")
		mk() { printf '{"model":"m","max_tokens":100,"stream":true,"tools":[{"name":"exec","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"run [[tool:exec {\\"command\\":\\"%s\\"}]]"}]}' "$1"; }
	fi
	mk "rm -rf / --no-preserve-root" >"$TMP/tool-bad.json"
	mk "ls -la" >"$TMP/tool-ok.json"
	st=$(post "$url" "$TMP/tool-bad.json" "$TMP/tool-bad.out" "${hdr[@]}")
	check_eq "$api stream, a tool call running rm -rf /: the stream starts (200)" 200 "$st"
	check "... and ends with the guardrail's error event, naming the rule" grep -q 'sentrix_guardrail.*rm-rf-root' "$TMP/tool-bad.out"
	check_fails "... the call's arguments never reach the client" grep -q 'no-preserve-root' "$TMP/tool-bad.out"
	st=$(post "$url" "$TMP/tool-ok.json" "$TMP/tool-ok.out" "${hdr[@]}")
	check "$api stream, a harmless tool call: passes whole, to the stream's end ($st)" /usr/bin/python3 -c '
import json, sys
st, path, api = sys.argv[1:]
events = [json.loads(l[6:]) for l in open(path) if l.startswith("data: {")]
if api == "openai":
    args = "".join(c.get("function", {}).get("arguments", "") for e in events for ch in e.get("choices", [])
                   for c in ch.get("delta", {}).get("tool_calls") or [])
    end = "data: [DONE]" in open(path).read()
else:
    args = "".join(e["delta"].get("partial_json", "") for e in events if e.get("type") == "content_block_delta")
    end = any(e.get("type") == "message_stop" for e in events)
assert st == "200" and end and json.loads(args) == {"command": "ls -la"}, (st, end, args)
assert "sentrix_guardrail" not in open(path).read()
' "$st" "$TMP/tool-ok.out" $api
done
sleep 1.2
check "the blocked streams are recorded with the guardrail's reason, their whole upstream answer kept" /usr/bin/python3 -c '
import glob, json, sys
recs = [json.loads(l.lstrip(",")) for f in glob.glob(sys.argv[1] + "/llm-*.json") for l in open(f) if l.startswith(("{", ",{"))]
b = [x for x in recs if x["stream"] and x["error"] and "guardrail" in x["error"]]
assert len(b) == 2, [x["error"] for x in recs]
assert all("rm -rf /" in json.dumps(x["message"]["tool_calls"]) for x in b), b
' "$G/log"
stop_gw "$GWG"

### What root must not be made to read, bad input, a broken pack
CURRENT="refusals"
# The CLI runs as root over the gateway user's files: a link there must not
# make it print what it points at.
E=$TMP/evil
mkdir -p "$E/reports"
ln -s /etc/shadow "$E/patrol_flags.jsonl"
ln -s /etc/shadow "$E/reports/c-0123456789abcdef.json"
out=$("$SENTRIX" flags --dir "$E" 2>&1)
check "sentrix flags: patrol_flags.jsonl a link to /etc/shadow: refused, exit 1 ($?)" test $? = 1
check_fails "... and nothing of /etc/shadow printed" grep -q '^root:' <<<"$out"
out=$("$SENTRIX" police show --dir "$E" c-0123456789abcdef 2>&1)
check "sentrix police show: the report a link to /etc/shadow: refused ($?)" test $? != 0
check_fails "... and nothing of /etc/shadow printed" grep -q '^root:' <<<"$out"
out=$("$SENTRIX" police show --dir "$A/log" ../../etc/shadow 2>&1)
check "sentrix police show ../../etc/shadow: refused ($?)" test $? != 0
check_fails "... and nothing of it printed" grep -q '^root:' <<<"$out"
"$SENTRIX" flags --dir "$A/log" --severity SEVERE >/dev/null 2>&1
check_eq "sentrix flags --severity SEVERE: usage error" 2 $?
"$SENTRIX" flags --dir "$A/log" --since yesterdayish >/dev/null 2>&1
check_eq "sentrix flags --since yesterdayish: usage error" 2 $?
"$SENTRIX" police investigate --name sxtnone >/dev/null 2>&1
check_eq "sentrix police investigate without --flag-id: usage error" 2 $?

# A pack whose pattern does not compile: policy check names the rule; a
# gateway with it still proxies, and /health says the patrol is off.
B=$TMP/broken
BASE_B=$(free_base $((BASE_G + 10)))
/usr/bin/python3 "$GWCFG" "$B" --port-base "$BASE_B" \
	--provider "openai,openai-completions,$M,OPENAI_API_KEY" --secret "OPENAI_API_KEY=$REALKEY"
mkdir "$B/policy/patrol"
cp "$TOP"/patrol/*.json "$B/policy/patrol/"
/usr/bin/python3 - "$B/policy/patrol/pii.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["rules"][0]["pattern"] = "([a-z"
json.dump(p, open(sys.argv[1], "w"))
PY
out=$("$SENTRIX" policy check "$B/policy" 2>&1)
check "sentrix policy check: a pack that does not compile: exit 1 ($?)" test $? = 1
check "... naming the rule" grep -q "rule $(json_get "j['rules'][0]['id']" <"$B/policy/patrol/pii.json")" <<<"$out"
chown -R nobody:nogroup "$B"
start_gw GWB "$B"
check_eq "the gateway with it still proxies: 200" 200 \
	"$(post "http://127.0.0.1:$((BASE_B + 1))/openai/chat/completions" "$TMP/clean.json" "$TMP/broken.out" -H "Authorization: Bearer $TOKEN")"
check "... and /health says the patrol did not start" bash -c \
	'for i in $(seq 50); do curl -s -m 5 "http://127.0.0.1:$1/health" | grep -q "patrol did not start" && exit 0;
	 sleep 0.2; done; exit 1' _ $((BASE_B + 3))
stop_gw "$GWB"

### The LLM judge (patrol.judge): its votes, and a judge that is down
CURRENT="judge"
cat >"$TMP/judge-answer.json" <<'EOF'
{"severity": "HIGH", "confidence": 0.9, "category": "injection", "labels": ["PROMPT_INJECTION"], "observation": "The text tries to override the agent's instructions.", "summary": "The agent was handed text that tries to override its instructions.", "recommended_action": "Review the run and where the text came from."}
EOF
# The judge's provider: a mock that wants the real key and answers every
# call with the verdict above; it records what it was sent.
start_mock JMOCK --judge-answer "$TMP/judge-answer.json" --key "$REALKEY" --record "$TMP/judge.rec"
J=$TMP/j
BASE_J=$(free_base $((BASE_G + 10)))
/usr/bin/python3 "$GWCFG" "$J" --port-base "$BASE_J" \
	--provider "openai,openai-completions,$M,OPENAI_API_KEY" \
	--provider "judge,openai-completions,http://127.0.0.1:$JMOCK_PORT/v1,JUDGE_API_KEY" \
	--secret "OPENAI_API_KEY=$REALKEY" --secret "JUDGE_API_KEY=$REALKEY" --judge "judge,judge-model,256"
cp "$TMP/corpus/planted/llm-20261201T000000Z.json" "$J/log/llm-20261201T000000Z.json"
chown -R nobody:nogroup "$J"
JTOTAL=$(grep -c '^,\?{' "$J/log/llm-20261201T000000Z.json")
# The first retry after a failure waits 1 s, not 5 (a test knob).
export SENTRIX_PATROL_RETRY_SECS=1
start_gw GWJ "$J"
check "with a judge: all $JTOTAL records reviewed" wait_reviews "$J/log" "$JTOTAL"
check "the gateway names its judge" grep -q "judge judge-model@1" "$J/stderr"
check "flags with injection hits carry the judge's vote (judge-model@1, HIGH, 0.9)" /usr/bin/python3 -c '
import json, sys
flags = [json.loads(l) for l in open(sys.argv[1])]
inj = [f for f in flags if "injection" in f["categories"]]
assert len(inj) >= 10, len(inj)
for f in inj:
    v = [x for x in f["votes"] if x["voter"] == "judge:judge-model"]
    assert len(v) == 1, f["votes"]
    assert v[0]["severity"] == "HIGH" and v[0]["confidence"] == 0.9 and v[0]["labels"] == ["PROMPT_INJECTION"], v
    assert f["judge_version"] == "judge-model@1" and f["consensus_severity"] == "HIGH", f
    assert "PROMPT_INJECTION" in f["pii_labels_union"], f
ids = [f["flag_id"] for f in flags]
assert len(ids) == len(set(ids)), "a flag written twice"
' "$J/log/patrol_flags.jsonl"
HJ=$((BASE_J + 3))
metric() { curl -s -m 5 "http://127.0.0.1:$HJ/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
calls=$(metric sentrix_patrol_judge_calls_total)
check "/metrics counts the judge's calls ($calls)" test "${calls:-0}" -ge 10
check_eq "... and no failure" 0 "$(metric sentrix_patrol_judge_failures_total)"
check "the judge was asked with the real key, the sample between delimiters" /usr/bin/python3 -c '
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert reqs and all(r["path"] == "/v1/chat/completions" for r in reqs), len(reqs)
assert all(r["headers"]["authorization"] == "Bearer " + sys.argv[2] for r in reqs)
assert any("<<<SAMPLE" in r["body"] and "SAMPLE>>>" in r["body"] for r in reqs)
' "$TMP/judge.rec" "$REALKEY"
check_fails "no planted secret or PII value is sent whole to the judge" grep -qaF -f "$TMP/values" "$TMP/judge.rec"
check "the police's case files carry the judge's recommended action" bash -c \
	'for i in $(seq 300); do grep -lqs "Review the run and where the text came from." "$1"/reports/*.json && exit 0; sleep 0.1; done; exit 1' \
	_ "$J/log"

# The judge goes away (its port stays known): new records that need it
# stay pending, never clean, with no flag, until it answers again.
kill -TERM "$JMOCK_PID" 2>/dev/null
wait "$JMOCK_PID" 2>/dev/null
failures0=$(metric sentrix_patrol_judge_failures_total)
NEWF=llm-20261202T000000Z.json
/usr/bin/python3 - "$TMP/corpus/planted/manifest.json" "$J/log/llm-20261201T000000Z.json" "$J/log/$NEWF.tmp" <<'PY'
import json, sys
inj = [m["record_id"] for m in json.load(open(sys.argv[1])) if m["category"] == "injection"][:3]
lines = [l.rstrip("\n").lstrip(",") for l in open(sys.argv[2]) if l.startswith(("{", ",{"))]
recs = [l for l in lines if json.loads(l)["id"] in inj]
assert len(recs) == 3, len(recs)
open(sys.argv[3], "w").write("[\n" + "\n,".join(recs) + "\n]\n")
PY
chown nobody:nogroup "$J/log/$NEWF.tmp"
mv "$J/log/$NEWF.tmp" "$J/log/$NEWF"
jstate() { sqlite3 "file:$J/log/patrol_state.db?mode=ro" "$1" 2>/dev/null; }
# wait_state SQL WANT SECS: until the query on patrol_state.db prints WANT.
wait_state() {
	local i
	for i in $(seq $(($3 * 10))); do
		[ "$(jstate "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
check "judge down: the new file's 3 records stay pending, the judge named as the reason" wait_state \
	"SELECT count(*) FROM reviews WHERE source_file = '$NEWF' AND status = 'pending' AND last_error LIKE 'judge: %'" 3 10
sleep 3
check_eq "... still pending after a few retries, none recorded clean" "3|0" \
	"$(jstate "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'clean') FROM reviews WHERE source_file = '$NEWF'")"
check_eq "... and no flag for them yet" 0 "$(grep -c "\"source_file\":\"$NEWF\"" "$J/log/patrol_flags.jsonl")"
check "... retried with backoff (attempts > 1)" \
	test "$(jstate "SELECT max(attempts) FROM reviews WHERE source_file = '$NEWF'")" -gt 1
failures=$(metric sentrix_patrol_judge_failures_total)
check "/metrics counts the judge's failures ($failures0 -> $failures)" test "${failures:-0}" -gt "${failures0:-0}"
echo "# pending because: $(jstate "SELECT last_error FROM reviews WHERE source_file = '$NEWF' LIMIT 1")"
start_mock JMOCK --judge-answer "$TMP/judge-answer.json" --key "$REALKEY" --listen "127.0.0.1:$JMOCK_PORT"
t0=$(date +%s%N)
check "the judge back on its port: the 3 records are reviewed and flagged" wait_state \
	"SELECT count(*) FROM reviews WHERE source_file = '$NEWF' AND status = 'flagged'" 3 60
echo "# flagged $((($(date +%s%N) - t0) / 1000000)) ms after the judge came back"
check "... each flag once, with the judge's vote" /usr/bin/python3 -c '
import json, sys
fs = [json.loads(l) for l in open(sys.argv[1])]
fs = [f for f in fs if f["source_file"] == sys.argv[2]]
assert len(fs) == 3 and len({f["flag_id"] for f in fs}) == 3, len(fs)
assert all(any(v["voter"] == "judge:judge-model" for v in f["votes"]) for f in fs)
' "$J/log/patrol_flags.jsonl" "$NEWF"
check_eq "nothing is left pending" 0 "$(jstate "SELECT count(*) FROM reviews WHERE status = 'pending'")"
unset SENTRIX_PATROL_RETRY_SECS
stop_gw "$GWJ"

summary
