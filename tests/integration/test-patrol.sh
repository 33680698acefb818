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
# - /metrics counts the flags.
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
/usr/bin/python3 "$CORPUS" "$TMP/big" --size-mb 48 >/dev/null
cp "$TMP"/big/bench/llm-*.json "$K/log/"
chown -R nobody:nogroup "$K"
KTOTAL=$(cat "$K"/log/llm-*.json | grep -c '^,\?{')
start_gw GWK "$K"
for _ in $(seq 200); do [ "$(reviews "$K/log")" -gt 2000 ] && break; sleep 0.05; done
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
	--provider "openai,openai-completions,$M,OPENAI_API_KEY" --secret "OPENAI_API_KEY=$REALKEY"
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
stop_gw "$GWG"

summary
