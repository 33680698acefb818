#!/bin/bash
# sentrix-gateway against the mock upstream (tests/helpers/mock-llm.c), on
# loopback with configs from tests/helpers/gw-config.py, then once on a
# real instance: byte-exact passthrough both ways with the real key swapped
# in, streams relayed as they arrive, auth and routing refused before the
# upstream, upstream failures (HTTP errors, closed port, TLS with and
# without the CA), the capture records (docs/capture-format.md), client
# disconnects cancelling the upstream, SIGHUP, SIGTERM with a grace period,
# SIGKILL and crash repair, 1000 concurrent streams, /metrics and /health,
# capture rotation, and the user's flow from inside the sandbox.
source "$(dirname "$0")/../lib.sh"

GW=$BUILD/sentrix-gateway
MOCK=$BUILD/tests/mock-llm
GWCFG=$TOP/tests/helpers/gw-config.py
CLIENT=$TOP/tests/helpers/gw-client.py
NAME=sxtgw1
TMP=$(mktemp -d /tmp/sxt-gw.XXXXXX)
chmod 711 "$TMP" # the gateway (user nobody) reaches its directories below
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	cleanup_instance $NAME
	rm -rf "$TMP"
}
trap cleanup EXIT
cleanup_instance $NAME
[ "$(ulimit -n)" -ge 8192 ] || ulimit -n 8192 # 1000 streams: client, gateway (inherits it) and mock

# The real keys: only the upstream request may carry them.
REALKEY="sk-sxt-real-$RANDOM$RANDOM$RANDOM"
ANTKEY="sk-ant-sxt-$RANDOM$RANDOM$RANDOM"
printf '%s\n%s\n' "$REALKEY" "$ANTKEY" >"$TMP/keys"
TOKEN=sxtoken-test
REASONING="The user greets me, so I greet back."
TEXT="Hello from the mock. "

# ---- helpers ----

sha() { sha256sum "$1" | cut -d' ' -f1; }

# free_base, start_mock, start_gw, stop_gw, post: tests/gateway.sh.
source "$TOP/tests/gateway.sh"

# Python over the capture records: rq LOGDIR EXPR prints EXPR with R (every
# record of every llm-*.json, oldest file first), by(RUN) (the one record
# with that X-Sentrix-Run), files (their paths), arrays([SKIP]) (each file
# json.load-ed but SKIP) and sse(FILE) (an event-stream body as the record's
# "events" would hold it).
cat >"$TMP/rq.py" <<'PY'
import glob, json, re, sys
d, expr = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(d + "/llm-*.json"))
R = []
try:
    for f in files:
        for n, line in enumerate(open(f, encoding="utf-8"), 1):
            line = line.rstrip("\n")
            if (n == 1 and line == "[") or line == "]":
                continue
            R.append(json.loads(line[1:] if line.startswith(",") else line))
except ValueError as e:  # not UTF-8, not JSON
    sys.exit(print("ERROR %s:%d: %s: %s" % (f, n, type(e).__name__, e)))
def by(run):
    m = [r for r in R if r.get("run_id") == run]
    if len(m) != 1:
        raise LookupError("%d records with run_id %r" % (len(m), run))
    return m[0]
def arrays(skip=""):  # skip: the file a running gateway has open
    return [json.load(open(f, encoding="utf-8")) for f in files if f != skip]
def sse(path):
    out = []
    for block in open(path, encoding="utf-8").read().split("\n\n"):
        ev, data = None, []
        for l in block.split("\n"):
            if l.startswith("event: "): ev = l[7:]
            elif l.startswith("data: "): data.append(l[6:])
        if not data: continue
        d = "\n".join(data)
        try: d = json.loads(d)
        except ValueError: pass
        out.append(dict({"event": ev} if ev else {}, data=d))
    return out
KEYS = ["timestamp", "id", "instance", "run_id", "provider", "model", "endpoint", "method", "stream",
        "request", "status", "message", "usage", "latency_ms", "bytes", "error", "complete"]
def shape(r):  # what is wrong with a record's keys and types, "" if nothing
    want = set(KEYS) | ({"events"} if "events" in r else {"response"})
    bad = []
    if set(r) != want: bad.append("keys %s" % sorted(set(r) ^ want))
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r.get("timestamp", "")): bad.append("timestamp")
    if not re.fullmatch(r"[0-9a-f]{16}", r.get("id", "")): bad.append("id")
    if not isinstance(r.get("complete"), bool) or not isinstance(r.get("stream"), bool): bad.append("bools")
    if set(r.get("latency_ms", {})) != {"first_byte", "total"} or set(r.get("bytes", {})) != {"request", "response"}: bad.append("latency/bytes")
    m = r.get("message")
    if m is not None and set(m) != {"text", "reasoning", "tool_calls"}: bad.append("message keys")
    return ",".join(bad)
try:
    print(eval(expr))
except Exception as e:
    print("ERROR %s: %s" % (type(e).__name__, e))
PY
# Records are written by the gateway's recorder thread just after each
# answer: before reading them, wait until no gateway has one queued.
settle() {
	local port q
	for port in ${HA:-} ${HB:-} ${HR:-}; do
		for _ in $(seq 200); do
			q=$(curl -s -m 2 "http://127.0.0.1:$port/metrics" | awk '$1 == "sentrix_capture_queued" {print $2}')
			[ "${q:-0}" = 0 ] && break
			sleep 0.05
		done
	done
}
rq() { settle; /usr/bin/python3 "$TMP/rq.py" "$@"; }

# Every line of every capture file in DIR is "[", "]" or one whole record.
lines_ok() {
	/usr/bin/python3 - "$1" <<'PY'
import glob, json, sys
bad = 0
for f in sorted(glob.glob(sys.argv[1] + "/llm-*.json")):
    for n, raw in enumerate(open(f, "rb"), 1):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if (n == 1 and line == "[") or line == "]":
            continue
        try:
            raw.decode("utf-8")  # RFC 8259: JSON text is UTF-8
            r = json.loads(line[1:] if line.startswith(",") else line)
            assert isinstance(r, dict) and (n == 2) == (not line.startswith(","))
        except Exception as e:
            bad += 1
            print("%s:%d: not a record line (%s): %.120s" % (f, n, e, line))
sys.exit(1 if bad else 0)
PY
}

# mock_last EXPR: EXPR on the mock's last --record line (j).
mock_last() { tail -n1 "$REC" | json_get "$1"; }
mock_stat() { curl -s -m 5 "http://127.0.0.1:$MOCK_PORT/_mock/stats" | json_get "j['$1']"; }
# metric PORT SERIES: the value of one /metrics series (empty if absent).
metric() { curl -s -m 5 "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s {print $2}'; }
holds_key() { grep -rqsaF -f "$TMP/keys" "$@"; }
# open_slots DIR: the spool slots that hold an open call (layout in
# docs/capture-format.md: "SXSPOOL2", then the state, 1 = open).
open_slots() {
	/usr/bin/python3 - "$1" <<'PY'
import glob, struct, sys
for f in sorted(glob.glob(sys.argv[1] + "/*")):
    h = open(f, "rb").read(12)
    if len(h) == 12 and h[:8] == b"SXSPOOL2" and struct.unpack("<I", h[8:12])[0] == 1:
        print(f.rsplit("/", 1)[1])
PY
}
# make_slot FILE ID RUN: an open spool slot for call ID (run_id RUN) with a
# request and a status, as a killed gateway leaves it.
make_slot() {
	/usr/bin/python3 - "$@" <<'PY'
import json, struct, sys
path, cid, run = sys.argv[1:4]
meta = json.dumps({"timestamp": "2026-11-23T10:00:00.000Z", "id": cid, "instance": "sxtgw", "run_id": run,
                   "provider": "openai", "endpoint": "/chat/completions", "method": "POST",
                   "request_bytes": 2}, separators=(",", ":")).encode()
req, body = b"{}", b'{"ok":true}'
head = b"SXSPOOL1" + struct.pack("<IIQqIIQ", 1, len(meta), len(req), 200, 0, 0, len(body)) + bytes(16)
open(path, "wb").write(head + meta + req + body + bytes(4096))
PY
}

# ---- fixtures ----

CURRENT="fixtures"
mkdir -p "$TMP/req" "$TMP/out" "$TMP/ca"
/usr/bin/python3 - "$TMP/req" <<'PY'
import json, os, sys
d = sys.argv[1]
def w(name, obj, indent=None):
    with open(os.path.join(d, name), "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")
# Odd but valid bytes (indentation, non-ASCII, U+2028, escapes): a proxy that
# re-serialised the body would change them.
msgs = [{"role": "system", "content": "Be brief. \u00fcn\u00efc\u00f6d\u00e9 \u2028 \"quoted\" \\ \t tab"},
        {"role": "user", "content": "hi"}]
w("oa.json", {"model": "gpt-sxt", "messages": msgs, "temperature": 0.2}, indent=1)
w("oa-stream.json", {"model": "gpt-sxt", "stream": True, "messages": msgs}, indent=1)
an = {"model": "claude-sxt", "max_tokens": 64, "messages": [{"role": "user", "content": "hi \u00e9"}]}
w("an.json", an, indent=2)
w("an-stream.json", dict(an, stream=True))
marker = 'Fetch it: [[tool:web_fetch {"url":"http://x"}]]'
schema = {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}
oa_tool = {"type": "function", "function": {"name": "web_fetch", "description": "Fetch a URL", "parameters": schema}}
an_tool = {"name": "web_fetch", "description": "Fetch a URL", "input_schema": schema}
w("oa-tool.json", {"model": "gpt-sxt", "tools": [oa_tool], "messages": [{"role": "user", "content": marker}]})
an_t = {"model": "claude-sxt", "max_tokens": 64, "tools": [an_tool], "messages": [{"role": "user", "content": marker}]}
w("an-tool.json", an_t)
w("an-tool-stream.json", dict(an_t, stream=True))
# OpenClaw's shape: a long system prompt, ~25 tools, a history, streaming.
tools = [oa_tool] + [{"type": "function", "function": {
    "name": "tool_%02d" % i, "description": ("Does thing %d carefully. " % i) * 30,
    "parameters": {"type": "object", "properties": {"arg%d" % k: {"type": "string", "description": "argument %d" % k}
                                                    for k in range(6)}}}} for i in range(24)]
system = "You are a personal assistant running inside OpenClaw.\n" + "".join(
    "## Section %d\nRules: be careful, cite sources, keep answers short \u2014 \u00e9t\u00e9.\n" % i for i in range(220))
w("openclaw.json", {"model": "gpt-sxt", "stream": True, "stream_options": {"include_usage": True},
                    "max_completion_tokens": 8192, "tools": tools,
                    "messages": [{"role": "system", "content": system}, {"role": "user", "content": "earlier"},
                                 {"role": "assistant", "content": "ok"}, {"role": "user", "content": marker}]})
PY
oc_size=$(stat -c %s "$TMP/req/openclaw.json")
check "the OpenClaw-shaped body is ~50 KB ($oc_size bytes)" test "$oc_size" -gt 40000 -a "$oc_size" -lt 70000

# A test CA and a certificate for 127.0.0.1 signed by it.
(
	cd "$TMP/ca" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
			-days 2 -subj "/CN=sentrix test CA" -addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr \
			-subj "/CN=127.0.0.1" &&
		printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext &&
		openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext
) >"$TMP/ca/log" 2>&1
check "test CA and server certificate made" openssl verify -CAfile "$TMP/ca/ca.pem" "$TMP/ca/srv.pem"
chmod 755 "$TMP/ca"
chmod 644 "$TMP/ca/ca.pem"

REC=$TMP/mock-record.jsonl
start_mock MOCK --record "$REC"
start_mock TLS --tls-cert "$TMP/ca/srv.pem" --tls-key "$TMP/ca/srv.key"
check "mock upstream ready (port $MOCK_PORT)" test -n "$MOCK_PORT"
check "TLS mock upstream ready (port $TLS_PORT)" test -n "$TLS_PORT"
CLOSED=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
M=http://127.0.0.1:$MOCK_PORT/v1

# Gateway A: the main one.  B: --no-reasoning, no CA file.  R: --rotate-mins 1.
A=$TMP/a B=$TMP/b R=$TMP/r
BASE_A=$(free_base 27400)
BASE_B=$(free_base $((BASE_A + 10)))
BASE_R=$(free_base $((BASE_B + 10)))
/usr/bin/python3 "$GWCFG" "$A" --port-base "$BASE_A" --ca-file "$TMP/ca/ca.pem" \
	--provider "openai,openai-completions,$M,OPENAI_API_KEY" \
	--provider "anthropic,anthropic-messages,$M/,ANTHROPIC_API_KEY" \
	--provider "counted,openai-completions,$M,OPENAI_API_KEY" \
	--provider "nokey,openai-completions,$M,SXT_MISSING_KEY" \
	--provider "closed,openai-completions,http://127.0.0.1:$CLOSED/v1,OPENAI_API_KEY" \
	--provider "tls,openai-completions,https://127.0.0.1:$TLS_PORT/v1,OPENAI_API_KEY" \
	--secret "OPENAI_API_KEY=$REALKEY" --secret "ANTHROPIC_API_KEY=$ANTKEY"
/usr/bin/python3 "$GWCFG" "$B" --port-base "$BASE_B" \
	--provider "openai,openai-completions,$M,OPENAI_API_KEY" \
	--provider "anthropic,anthropic-messages,$M,ANTHROPIC_API_KEY" \
	--provider "tls,openai-completions,https://127.0.0.1:$TLS_PORT/v1,OPENAI_API_KEY" \
	--secret "OPENAI_API_KEY=$REALKEY" --secret "ANTHROPIC_API_KEY=$ANTKEY"
/usr/bin/python3 "$GWCFG" "$R" --port-base "$BASE_R" \
	--provider "openai,openai-completions,$M,OPENAI_API_KEY" --secret "OPENAI_API_KEY=$REALKEY"
chown -R nobody:nogroup "$A" "$B" "$R"
LA=http://127.0.0.1:$((BASE_A + 1)) HA=$((BASE_A + 3))
LB=http://127.0.0.1:$((BASE_B + 1)) HB=$((BASE_B + 3))
LR=http://127.0.0.1:$((BASE_R + 1)) HR=$((BASE_R + 3))
OA=(-H "Authorization: Bearer $TOKEN")
AN=(-H "x-api-key: $TOKEN" -H "anthropic-version: 2023-06-01")

CURRENT="start"
out=$(timeout 5 "$GW" --name sxtgw --config "$A/config.json" --listen 127.0.0.1 2>&1)
check_eq "as root: exit 1" 1 $?
check "as root: refuses, saying so" grep -q "refusing to run as root" <<<"$out"
# Bad command lines: exit 2, a message naming the problem, nothing created.
gw_nobody() { setpriv --reuid nobody --regid nogroup --clear-groups "$GW" "$@" 2>&1; }
for bad in "--rotate-mins 0|--rotate-mins wants minutes" "--rotate-mins x|--rotate-mins wants minutes" \
	"--grace-secs -1|--grace-secs wants seconds" "--frobnicate|unrecognized option" "extra|unexpected argument"; do
	out=$(gw_nobody --name sxtgw --config "$A/config.json" ${bad%%|*})
	rc=$?
	check_eq "bad option '${bad%%|*}': exit 2" 2 $rc
	check "bad option '${bad%%|*}': says '${bad#*|}'" grep -q -- "${bad#*|}" <<<"$out"
done
out=$(gw_nobody --config "$A/config.json")
check_eq "no --name: exit 2" 2 $?
check "no --name: says it is required" grep -q -- "--name NAME is required" <<<"$out"
out=$(gw_nobody --name sxtgw --config "$TMP/nonexistent.json")
check_eq "missing config.json: exit 1" 1 $?
check "missing config.json: names it" grep -q "cannot load $TMP/nonexistent.json" <<<"$out"
check_eq "no capture file created by the refused starts" "" "$(ls "$A/log" | grep '^llm-')"
# R first: its rotation boundary comes a minute later, while the rest runs.
start_gw GWR "$R" --rotate-mins 1
rc=$?
R_START=$SECONDS
check_eq "gateway R (--rotate-mins 1) listens" 0 $rc
check_eq "gateway R: a first call" 200 "$(post "$LR/openai/chat/completions" "$TMP/req/oa.json" "$TMP/out/rot1" "${OA[@]}" -H "X-Sentrix-Run: rot-1")"
start_gw GWA "$A" --grace-secs 2
check_eq "gateway A listens on LLM and health ports" 0 $?
start_gw GWB "$B" --no-reasoning
check_eq "gateway B (--no-reasoning) listens" 0 $?
# A second gateway for the same instance must not touch the first one's
# capture file (it would repair, that is close, the file being written).
out=$(setpriv --reuid nobody --regid nogroup --clear-groups "$GW" --name sxtgw --config "$R/config.json" \
	--listen 127.0.0.1 2>&1)
check_eq "a second gateway on R's log directory exits 1" 1 $?
check "it names the running one" grep -q "another gateway serves instance sxtgw already (pid $GWR)" <<<"$out"
check "R's capture file is still open (no closing bracket added)" \
	sh -c "! tail -n1 \"\$(ls $R/log/llm-*.json | tail -1)\" | grep -qx ']'"

# ---- 1. non-streaming passthrough ----

CURRENT="passthrough"
st=$(post "$LA/openai/chat/completions" "$TMP/req/oa.json" "$TMP/out/oa.gw" "${OA[@]}" \
	-H "Accept-Encoding: gzip, br" -H "OpenAI-Organization: org-sxt" -H "X-Sentrix-Run: oa-ns")
check_eq "OpenAI through the gateway: 200" 200 "$st"
check_eq "OpenAI: the mock got the request body byte for byte" "$(sha "$TMP/req/oa.json")" "$(mock_last "j['body_sha256']")"
check_eq "OpenAI: the mock got the real key as Bearer" "Bearer $REALKEY" "$(mock_last "j['headers'].get('authorization')")"
check_eq "OpenAI: no x-api-key sent upstream" None "$(mock_last "j['headers'].get('x-api-key')")"
check_eq "OpenAI: the sandbox token never reaches the upstream" False "$(mock_last "'$TOKEN' in json.dumps(j)")"
check_eq "OpenAI: Accept-Encoding not forwarded" None "$(mock_last "j['headers'].get('accept-encoding')")"
check_eq "OpenAI: X-Sentrix-Run not forwarded" None "$(mock_last "j['headers'].get('x-sentrix-run')")"
check_eq "OpenAI: other headers pass through" org-sxt "$(mock_last "j['headers'].get('openai-organization')")"
check_eq "OpenAI: path /openai/chat/completions becomes /v1/chat/completions" /v1/chat/completions "$(mock_last "j['path']")"
post "$M/chat/completions" "$TMP/req/oa.json" "$TMP/out/oa.direct" -H "Authorization: Bearer $REALKEY" >/dev/null
check_eq "OpenAI: response body byte-identical to the mock's direct answer" "$(sha "$TMP/out/oa.direct")" "$(sha "$TMP/out/oa.gw")"

st=$(post "$LA/anthropic/messages" "$TMP/req/an.json" "$TMP/out/an.gw" "${AN[@]}" \
	-H "Accept-Encoding: gzip" -H "X-Sentrix-Run: an-ns")
check_eq "Anthropic through the gateway: 200" 200 "$st"
check_eq "Anthropic: the mock got the request body byte for byte" "$(sha "$TMP/req/an.json")" "$(mock_last "j['body_sha256']")"
check_eq "Anthropic: the mock got the real key as x-api-key" "$ANTKEY" "$(mock_last "j['headers'].get('x-api-key')")"
check_eq "Anthropic: no Authorization sent upstream" None "$(mock_last "j['headers'].get('authorization')")"
check_eq "Anthropic: the sandbox token never reaches the upstream" False "$(mock_last "'$TOKEN' in json.dumps(j)")"
check_eq "Anthropic: anthropic-version passes through" 2023-06-01 "$(mock_last "j['headers'].get('anthropic-version')")"
check_eq "Anthropic: Accept-Encoding not forwarded" None "$(mock_last "j['headers'].get('accept-encoding')")"
check_eq "Anthropic: base URL with a trailing slash gives /v1/messages" /v1/messages "$(mock_last "j['path']")"
post "$M/messages" "$TMP/req/an.json" "$TMP/out/an.direct" -H "x-api-key: $ANTKEY" -H "anthropic-version: 2023-06-01" >/dev/null
check_eq "Anthropic: response body byte-identical to the mock's direct answer" "$(sha "$TMP/out/an.direct")" "$(sha "$TMP/out/an.gw")"

# ---- 2. streaming ----

CURRENT="streaming"
out=$(/usr/bin/python3 "$CLIENT" stream "$LA/openai/chat/completions" "$TMP/req/oa-stream.json" --out "$TMP/out/oas.gw" \
	-H "Authorization: Bearer $TOKEN" -H "X-Mock-Drip-Ms: 100" -H "X-Sentrix-Run: oa-s")
check_eq "OpenAI stream: 200, ended normally" "200 True" "$(echo "$out" | json_get "j['status'], j['complete']" | tr -d "(),")"
post "$M/chat/completions" "$TMP/req/oa-stream.json" "$TMP/out/oas.direct" -H "Authorization: Bearer $REALKEY" >/dev/null
check_eq "OpenAI stream: body byte-identical to the mock's direct stream" "$(sha "$TMP/out/oas.direct")" "$(sha "$TMP/out/oas.gw")"
check_eq "OpenAI stream: the mock got the body byte for byte" "$(sha "$TMP/req/oa-stream.json")" "$(tail -n2 "$REC" | head -n1 | json_get "j['body_sha256']")"
check "OpenAI stream: the first event arrives long before the upstream ends (not buffered): $out" \
	/usr/bin/python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(not (j['first_event_s'] < 0.6 and j['total_s'] - j['first_event_s'] > 1.0 and j['events'] >= 10))" "$out"
out=$(/usr/bin/python3 "$CLIENT" stream "$LA/anthropic/messages" "$TMP/req/an-stream.json" --out "$TMP/out/ans.gw" \
	-H "x-api-key: $TOKEN" -H "anthropic-version: 2023-06-01" -H "X-Mock-Drip-Ms: 60" -H "X-Sentrix-Run: an-s")
check_eq "Anthropic stream: 200, ended normally" "200 True" "$(echo "$out" | json_get "j['status'], j['complete']" | tr -d "(),")"
check "Anthropic stream: first event before the end: $out" \
	/usr/bin/python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(not (j['first_event_s'] < 0.4 and j['total_s'] - j['first_event_s'] > 0.6))" "$out"
post "$M/messages" "$TMP/req/an-stream.json" "$TMP/out/ans.direct" -H "x-api-key: $ANTKEY" -H "anthropic-version: 2023-06-01" >/dev/null
check_eq "Anthropic stream: body byte-identical to the mock's direct stream" "$(sha "$TMP/out/ans.direct")" "$(sha "$TMP/out/ans.gw")"

# ---- 3. OpenClaw's request shape ----

CURRENT="openclaw request"
st=$(post "$LA/openai/chat/completions" "$TMP/req/openclaw.json" "$TMP/out/oc.gw" "${OA[@]}" -H "X-Sentrix-Run: openclaw")
check_eq "50 KB streaming request with tools: 200" 200 "$st"
check_eq "50 KB body arrives byte for byte (sha256 at the mock)" "$(sha "$TMP/req/openclaw.json")" "$(mock_last "j['body_sha256']")"
check_eq "... its full length" "$oc_size" "$(mock_last "j['body_len']")"
check_eq "the record holds request.tools as sent" True \
	"$(rq "$A/log" "by('openclaw')['request']['tools'] == json.load(open('$TMP/req/openclaw.json'))['tools']")"
check_eq "the record: stream true, model, bytes.request" "True gpt-sxt $oc_size" \
	"$(rq "$A/log" "by('openclaw')['stream'], by('openclaw')['model'], by('openclaw')['bytes']['request']" | tr -d "(),'")"
check "the streamed answer ends with [DONE]" grep -q '^data: \[DONE\]' "$TMP/out/oc.gw"
# Sent chunked (no Content-Length) and four times larger: the spool slot
# the body is received into grows as it arrives.
/usr/bin/python3 - "$TMP/req/openclaw.json" "$TMP/req/openclaw-big.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["messages"].append({"role": "user", "content": "Go on \u00e9\"\\ " * 16000})
open(sys.argv[2], "w").write(json.dumps(j))
PY
st=$(post "$LA/openai/chat/completions" "$TMP/req/openclaw-big.json" "$TMP/out/ocb.gw" "${OA[@]}" -H "X-Sentrix-Run: openclaw-big" -H "Transfer-Encoding: chunked")
check_eq "a $(stat -c %s "$TMP/req/openclaw-big.json")-byte chunked request: 200" 200 "$st"
check_eq "... it arrives byte for byte (sha256 at the mock)" "$(sha "$TMP/req/openclaw-big.json")" "$(mock_last "j['body_sha256']")"
check_eq "... and is recorded as sent, with its length" "True $(stat -c %s "$TMP/req/openclaw-big.json")" \
	"$(rq "$A/log" "by('openclaw-big')['request'] == json.load(open('$TMP/req/openclaw-big.json')), by('openclaw-big')['bytes']['request']" | tr -d "(),'")"

# ---- 4. auth and routing ----

CURRENT="auth and routing"
n0=$(mock_stat requests)
l0=$(wc -l <"$REC")
r0=$(rq "$A/log" "len(R)")
st=$(post "$LA/openai/chat/completions" "$TMP/req/oa.json" "$TMP/out/e1")
check_eq "no token: 401" 401 "$st"
check "no token: the error says why" grep -q "missing or wrong instance token" "$TMP/out/e1"
st=$(post "$LA/openai/chat/completions" "$TMP/req/oa.json" "$TMP/out/e2" -H "Authorization: Bearer sxtoken-wrong")
check_eq "wrong Bearer token: 401" 401 "$st"
st=$(post "$LA/openai/chat/completions" "$TMP/req/oa.json" "$TMP/out/e3" -H "x-api-key: sxtoken-tes")
check_eq "wrong x-api-key (a prefix of the token): 401" 401 "$st"
st=$(post "$LA/nosuch/chat/completions" "$TMP/req/oa.json" "$TMP/out/e4" "${OA[@]}")
check_eq "unknown provider: 404" 404 "$st"
check "unknown provider: named in the error" grep -q "no provider 'nosuch'" "$TMP/out/e4"
st=$(post "$LA/nokey/chat/completions" "$TMP/req/oa.json" "$TMP/out/e5" "${OA[@]}")
check_eq "provider whose secret is missing: 502" 502 "$st"
check "missing secret: the error names the variable" grep -q "SXT_MISSING_KEY" "$TMP/out/e5"
check_eq "missing secret: the error is JSON of type sentrix_secret" sentrix_secret "$(json_get "j['error']['type']" <"$TMP/out/e5")"
st=$(post "$LA/zzz-unknown/chat/completions" "$TMP/req/oa.json" /dev/null)
check_eq "unknown route without a token: 401" 401 "$st"
st=$(/usr/bin/python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /a\"b/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
print(s.recv(100).split()[1].decode())' $((BASE_A + 1)))
check_eq "a route with a quote in it, without a token: 401" 401 "$st"
head -c $((33 << 20)) /dev/zero | tr '\0' x >"$TMP/req/huge"
st=$(post "$LA/openai/chat/completions" "$TMP/req/huge" "$TMP/out/e6" "${OA[@]}")
check_eq "a 33 MiB body (Content-Length): 413, not a dropped connection" 413 "$st"
check_eq "... as JSON of type sentrix_too_large" sentrix_too_large "$(json_get "j['error']['type']" <"$TMP/out/e6")"
st=$(post "$LA/openai/chat/completions" "$TMP/req/huge" "$TMP/out/e7" "${OA[@]}" -H "Transfer-Encoding: chunked")
check_eq "a 33 MiB chunked body: 413 once it is read" 413 "$st"
rm -f "$TMP/req/huge"
# A head announcing 30 MiB and a body that stalls: the spool slot grows
# with the bytes that come, not with what the head says.
/usr/bin/python3 - $((BASE_A + 1)) "$TOKEN" "$A/log/spool" >"$TMP/stall.out" <<'PY'
import os, socket, subprocess, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /openai/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + sys.argv[2].encode() +
          b"\r\nContent-Type: application/json\r\nContent-Length: 31457280\r\n\r\n" + b"{" * 1000)
time.sleep(0.5)
print(subprocess.run(["du", "-sk", sys.argv[3]], capture_output=True, text=True).stdout.split()[0])
s.close()
PY
check "a head announcing 30 MiB with a stalled body: the spool holds $(cat "$TMP/stall.out") KiB (< 4 MiB)" \
	test "$(cat "$TMP/stall.out")" -lt 4096
check_eq "none of these reached the mock (its request count)" "$n0" "$(mock_stat requests)"
check_eq "none of these reached the mock (its record)" "$l0" "$(wc -l <"$REC")"
check_eq "none of these made a capture record" "$r0" "$(rq "$A/log" "len(R)")"

# ---- 5. upstream failures ----

CURRENT="upstream failures"
for code in 429 500; do
	st=$(post "$LA/openai/chat/completions" "$TMP/req/oa.json" "$TMP/out/s$code.gw" "${OA[@]}" -H "X-Mock-Status: $code" -H "X-Sentrix-Run: e$code")
	check_eq "X-Mock-Status $code: status passed through" $code "$st"
	post "$M/chat/completions" "$TMP/req/oa.json" "$TMP/out/s$code.direct" -H "Authorization: Bearer $REALKEY" -H "X-Mock-Status: $code" >/dev/null
	check_eq "upstream $code: error body passed through unchanged" "$(sha "$TMP/out/s$code.direct")" "$(sha "$TMP/out/s$code.gw")"
	check_eq "upstream $code: recorded with status and error" "$code|upstream answered $code|mock error $code" \
		"$(rq "$A/log" "'%s|%s|%s' % (by('e$code')['status'], by('e$code')['error'], by('e$code')['response']['error']['message'])")"
done
st=$(post "$LA/closed/chat/completions" "$TMP/req/oa.json" "$TMP/out/closed" "${OA[@]}" -H "X-Sentrix-Run: closed")
check_eq "provider on a closed port: 502" 502 "$st"
check_eq "closed port: JSON error of type sentrix_upstream" sentrix_upstream "$(json_get "j['error']['type']" <"$TMP/out/closed")"
check_eq "closed port: recorded with status null and a connect error" "None True False" \
	"$(rq "$A/log" "by('closed')['status'], 'connect' in by('closed')['error'], by('closed')['complete']" | tr -d "(),")"
st=$(post "$LA/tls/chat/completions" "$TMP/req/oa.json" "$TMP/out/tls.gw" "${OA[@]}" -H "X-Sentrix-Run: tls-ok")
check_eq "TLS upstream with ca_file = the test CA: 200" 200 "$st"
curl -s -m 10 --cacert "$TMP/ca/ca.pem" -o "$TMP/out/tls.direct" -H 'Content-Type: application/json' \
	-H "Authorization: Bearer $REALKEY" --data-binary @"$TMP/req/oa.json" "https://127.0.0.1:$TLS_PORT/v1/chat/completions"
check_eq "TLS upstream: body identical to the direct answer" "$(sha "$TMP/out/tls.direct")" "$(sha "$TMP/out/tls.gw")"
st=$(post "$LB/tls/chat/completions" "$TMP/req/oa.json" "$TMP/out/tls.b" "${OA[@]}" -H "X-Sentrix-Run: tls-bad")
check_eq "TLS upstream without ca_file (system CAs): 502" 502 "$st"
check_eq "TLS without the CA: recorded, status null, error mentions tls" "None True" \
	"$(rq "$B/log" "by('tls-bad')['status'], 'tls' in by('tls-bad')['error']" | tr -d "(),")"
check_eq "TLS without the CA: counted as upstream error kind tls" 1 "$(metric $HB 'sentrix_llm_upstream_errors_total{kind="tls"}')"

# ---- 6. capture records ----

CURRENT="records"
for body in oa-tool an-tool; do
	api=openai path=chat/completions hdr=("${OA[@]}")
	[ $body = an-tool ] && api=anthropic path=messages hdr=("${AN[@]}")
	check_eq "$body (non-streaming): 200" 200 "$(post "$LA/$api/$path" "$TMP/req/$body.json" "$TMP/out/$body" "${hdr[@]}" -H "X-Sentrix-Run: $body")"
done
check_eq "an-tool-stream: 200" 200 "$(post "$LA/anthropic/messages" "$TMP/req/an-tool-stream.json" "$TMP/out/an-tool-stream" "${AN[@]}" -H "X-Sentrix-Run: an-tool-stream")"
printf '{"model":"m\xff","messages":[{"role":"user","content":"hi \xc3"}]}' >"$TMP/req/bad-utf8.json"
check_eq "a body with bytes that are not UTF-8: passed on (200)" 200 \
	"$(post "$LA/openai/chat/completions" "$TMP/req/bad-utf8.json" /dev/null "${OA[@]}" -H "X-Sentrix-Run: bad-utf8")"
check_eq "... passed on byte for byte" "$(sha "$TMP/req/bad-utf8.json")" "$(mock_last "j['body_sha256']")"
check_eq "... recorded as UTF-8 (U+FFFD for each bad byte), the file stays JSON" "m\ufffd hi \ufffd" \
	"$(rq "$A/log" "ascii(by('bad-utf8')['model'] + ' ' + by('bad-utf8')['request']['messages'][0]['content'])[1:-1]")"
check_eq "every record has the documented keys and types" "" "$(rq "$A/log" "';'.join('%s: %s' % (r['run_id'], shape(r)) for r in R if shape(r))")"
check_eq "record ids are unique" True "$(rq "$A/log" "len(set(r['id'] for r in R)) == len(R)")"
check_eq "instance, provider, endpoint, method of a call" "sxtgw openai /chat/completions POST" \
	"$(rq "$A/log" "' '.join([by('oa-ns')['instance'], by('oa-ns')['provider'], by('oa-ns')['endpoint'], by('oa-ns')['method']])")"
post "$LA/openai/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}" >/dev/null
check_eq "X-Sentrix-Run becomes run_id; without it, null" "oa-ns None" "$(rq "$A/log" "by('oa-ns')['run_id'], R[-1]['run_id']" | tr -d "(),'")"
check_eq "non-streaming OpenAI: response is the body, message assembled, usage as the provider's" "True|$TEXT|$REASONING|True" \
	"$(rq "$A/log" "'%s|%s|%s|%s' % (by('oa-ns')['response'] == json.load(open('$TMP/out/oa.direct')), by('oa-ns')['message']['text'], by('oa-ns')['message']['reasoning'], by('oa-ns')['usage'] == json.load(open('$TMP/out/oa.direct'))['usage'])")"
check_eq "non-streaming Anthropic: message text, thinking, usage" "$TEXT|$REASONING|True" \
	"$(rq "$A/log" "'%s|%s|%s' % (by('an-ns')['message']['text'], by('an-ns')['message']['reasoning'], by('an-ns')['usage'] is not None and all(k for k in by('an-ns')['usage']))")"
for run in oa-s an-s; do
	f=oas.direct
	[ $run = an-s ] && f=ans.direct
	check_eq "stream $run: events in order, as the mock sent them" True "$(rq "$A/log" "by('$run')['events'] == sse('$TMP/out/$f')")"
	check_eq "stream $run: message.text, message.reasoning, usage (named counts), complete" "$TEXT|$REASONING|True|True|None" \
		"$(rq "$A/log" "'%s|%s|%s|%s|%s' % (by('$run')['message']['text'], by('$run')['message']['reasoning'], by('$run')['usage'] is not None and all(k and v for k, v in by('$run')['usage'].items()), by('$run')['complete'], by('$run')['error'])")"
done
check_eq "stream oa-s: [DONE] recorded as the string" '[DONE]' "$(rq "$A/log" "by('oa-s')['events'][-1]['data']")"
check_eq "stream an-s: event names kept" "message_start message_stop" "$(rq "$A/log" "by('an-s')['events'][0]['event'] + ' ' + by('an-s')['events'][-1]['event']")"
check_eq "stream: latency first_byte <= total, both numbers" True "$(rq "$A/log" "0 <= by('oa-s')['latency_ms']['first_byte'] <= by('oa-s')['latency_ms']['total']")"
check_eq "stream: bytes.response is the body size" "$(stat -c %s "$TMP/out/oas.direct")" "$(rq "$A/log" "by('oa-s')['bytes']['response']")"
for run in oa-tool an-tool openclaw an-tool-stream; do
	check_eq "tool call ($run): message.tool_calls[0] is web_fetch {\"url\":\"http://x\"}" "web_fetch {'url': 'http://x'}" \
		"$(rq "$A/log" "by('$run')['message']['tool_calls'][0]['name'], json.loads(by('$run')['message']['tool_calls'][0]['arguments'])" | sed "s/^('\(.*\)', \(.*\))$/\1 \2/")"
done
check_fails "the real keys are in no capture or spool file, nor anything in the log dir" holds_key "$A/log" "$B/log" "$R/log"
check_fails "the real keys are not in the gateways' stderr" holds_key "$A/stderr" "$B/stderr" "$R/stderr"

# --no-reasoning (gateway B)
post "$LB/openai/chat/completions" "$TMP/req/oa-stream.json" "$TMP/out/b1" "${OA[@]}" -H "X-Sentrix-Run: b-oas" >/dev/null
post "$LB/anthropic/messages" "$TMP/req/an.json" "$TMP/out/b2" "${AN[@]}" -H "X-Sentrix-Run: b-an" >/dev/null
post "$LB/anthropic/messages" "$TMP/req/an-stream.json" "$TMP/out/b3" "${AN[@]}" -H "X-Sentrix-Run: b-ans" >/dev/null
check "--no-reasoning: the client still gets the reasoning (only the record drops it)" grep -q "greets" "$TMP/out/b1"
check_eq "--no-reasoning: records made, text kept, reasoning null" "$TEXT|None|$TEXT|None|$TEXT|None" \
	"$(rq "$B/log" "'|'.join('%s|%s' % (by(r)['message']['text'], by(r)['message']['reasoning']) for r in ('b-oas', 'b-an', 'b-ans'))")"
check_fails "--no-reasoning: the reasoning text is nowhere in its capture files" grep -rq "greet" "$B/log"
check_fails "--no-reasoning: no reasoning_content/thinking keys in its records" grep -rqE '"(reasoning_content|thinking)":' "$B/log"

# ---- 7. client disconnect ----

CURRENT="client disconnect"
c0=$(mock_stat cancelled)
curl -s -m 1 -o /dev/null "${OA[@]}" -H "X-Mock-Drip-Ms: 500" -H "X-Sentrix-Run: gone" \
	-H 'Content-Type: application/json' --data-binary @"$TMP/req/oa-stream.json" "$LA/openai/chat/completions"
check_eq "curl --max-time 1 gave up mid-stream (exit 28)" 28 $?
for _ in $(seq 30); do [ "$(mock_stat cancelled)" -gt "$c0" ] && break; sleep 0.1; done
check_eq "the upstream stream was cancelled within ~2 s (mock: cancelled +1)" $((c0 + 1)) "$(mock_stat cancelled)"
check_eq "the record: complete false, error about the client" "False True" \
	"$(rq "$A/log" "by('gone')['complete'], 'client' in by('gone')['error']" | tr -d "(),")"
check_eq "the record kept the events that had streamed" True "$(rq "$A/log" "1 <= len(by('gone')['events']) < 15")"
# A suspended connection is not polled by libmicrohttpd: the client's
# hang-up must be noticed while the upstream is silent too.
for hang in 2 1; do
	what="before the upstream's headers"
	[ $hang = 1 ] && what="while the stream is quiet"
	c0=$(mock_stat cancelled)
	curl -s -m 1 -o /dev/null "${OA[@]}" -H "X-Mock-Hang: $hang" -H "X-Sentrix-Run: gone-hang$hang" \
		-H 'Content-Type: application/json' --data-binary @"$TMP/req/oa-stream.json" "$LA/openai/chat/completions"
	for _ in $(seq 20); do [ "$(mock_stat cancelled)" -gt "$c0" ] && break; sleep 0.1; done
	check_eq "client gone $what: upstream cancelled within ~2 s" $((c0 + 1)) "$(mock_stat cancelled)"
	check_eq "client gone $what: recorded incomplete, error about the client" "False True" \
		"$(rq "$A/log" "by('gone-hang$hang')['complete'], 'client' in by('gone-hang$hang')['error']" | tr -d "(),")"
done
check_eq "the mock has no stream left open" 0 "$(mock_stat open)"
check_eq "the gateway has no call left open" 0 "$(metric $HA sentrix_llm_open_streams)"

CURRENT="keep-alive and query"
out=$(curl -s -m 10 -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' "${OA[@]}" -H "X-Sentrix-Run: keepalive" \
	-H 'Content-Type: application/json' --data-binary @"$TMP/req/oa-stream.json" "$LA/openai/chat/completions" "$LA/openai/chat/completions")
check_eq "two calls on one keep-alive connection: 200 200, one connect" "200 1 200 0" "${out//$'\n'/ }"
check_eq "... two records" 2 "$(rq "$A/log" "sum(1 for r in R if r['run_id'] == 'keepalive')")"
check_eq "query string passes through" 200 "$(post "$LA/anthropic/messages?beta=true&x=%2F" "$TMP/req/an.json" /dev/null "${AN[@]}" -H "X-Sentrix-Run: query")"
check_eq "... the mock saw the path with the query, escapes kept" "/v1/messages?beta=true&x=%2F" "$(mock_last "j['path']")"
check_eq "... the record's endpoint includes it" "/messages?beta=true&x=%2F" "$(rq "$A/log" "by('query')['endpoint']")"

# ---- 11. 1000 concurrent streams ----

CURRENT="1000 streams"
post "$M/chat/completions" "$TMP/req/oa-stream.json" "$TMP/out/w2.direct" -H "Authorization: Bearer $REALKEY" -H "X-Mock-Words: 2" >/dev/null
r0=$(rq "$A/log" "len(R)")
out=$(/usr/bin/python3 "$CLIENT" bulk "$LA/openai/chat/completions" "$TMP/req/oa-stream.json" 1000 \
	-H "Authorization: Bearer $TOKEN" -H "X-Mock-Drip-Ms: 50" -H "X-Mock-Words: 2" --run bulk)
echo "# 1000 streams: $(echo "$out" | json_get "'%.1f s, statuses %s, errors %s' % (j['elapsed_s'], j['statuses'], j['errors'])")"
check_eq "all 1000 got 200" "{'200': 1000}" "$(echo "$out" | json_get "j['statuses']")"
check_eq "all 1000 bodies are the mock's whole stream" "{'$(sha "$TMP/out/w2.direct")': 1000}" "$(echo "$out" | json_get "j['bodies']")"
check "they overlapped (well under 1000 x 0.65 s)" test "$(echo "$out" | json_get "int(j['elapsed_s'])")" -lt 60
check_eq "1000 new records" $((r0 + 1000)) "$(rq "$A/log" "len(R)")"
check_eq "one complete 200 record per request" "1000 1000" \
	"$(rq "$A/log" "len(set(r['run_id'] for r in R if (r['run_id'] or '').startswith('bulk-'))), sum(1 for r in R if (r['run_id'] or '').startswith('bulk-') and r['complete'] and r['status'] == 200 and r['message']['text'] == 'w1 w2')" | tr -d "(),")"
check_eq "record ids still unique" True "$(rq "$A/log" "len(set(r['id'] for r in R)) == len(R)")"
check "every line of the capture file is one whole record (no interleaving)" lines_ok "$A/log"
check_eq "no call left in the spool at rest (only free, reusable slots)" "" "$(open_slots "$A/log/spool")"

# ---- 12. /metrics and /health ----

CURRENT="metrics"
for _ in 1 2; do post "$LA/counted/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}" >/dev/null; done
post "$LA/counted/chat/completions" "$TMP/req/oa-stream.json" /dev/null "${OA[@]}" >/dev/null
check_eq "requests_total{provider=counted,status=200} = the 3 calls made" 3 "$(metric $HA 'sentrix_llm_requests_total{provider="counted",status="200"}')"
check_eq "401s counted (3 sent)" 3 "$(metric $HA 'sentrix_llm_requests_total{provider="openai",status="401"}')"
check_eq "unknown provider 404 counted under provider \"-\"" 1 "$(metric $HA 'sentrix_llm_requests_total{provider="-",status="404"}')"
check_eq "unknown routes' 401s counted under provider \"-\"" 2 "$(metric $HA 'sentrix_llm_requests_total{provider="-",status="401"}')"
check_fails "routes from the sandbox that are no provider make no series of their own" \
	bash -c "curl -s -m 5 http://127.0.0.1:$HA/metrics | grep -E 'nosuch|zzz-unknown'"
check_eq "413s counted" 2 "$(metric $HA 'sentrix_llm_requests_total{provider="openai",status="413"}')"
check "/metrics is valid Prometheus text (every line a comment or NAME{LABELS} VALUE)" /usr/bin/python3 -c '
import re, sys, urllib.request
t = urllib.request.urlopen(sys.argv[1]).read().decode()
lab = r"[a-z_]+=\"[^\"\\\n]*\""
bad = [l for l in t.splitlines() if not re.fullmatch(r"# (HELP|TYPE) .*|[a-z_]+(\{%s(,%s)*\})? [0-9.e+-]+" % (lab, lab), l)]
print(bad)
sys.exit(1 if bad else 0)' "http://127.0.0.1:$HA/metrics"
check_eq "missing secret 502 counted" 1 "$(metric $HA 'sentrix_llm_requests_total{provider="nokey",status="502"}')"
check_eq "openai 200s = the records of provider openai with status 200" \
	"$(rq "$A/log" "sum(1 for r in R if r['provider'] == 'openai' and r['status'] == 200)")" \
	"$(metric $HA 'sentrix_llm_requests_total{provider="openai",status="200"}')"
check_eq "capture_records_total = records written" "$(rq "$A/log" "len(R)")" "$(metric $HA sentrix_capture_records_total)"
check_eq "capture_errors_total 0" 0 "$(metric $HA sentrix_capture_errors_total)"
check_eq "open_streams gauge 0 at rest" 0 "$(metric $HA sentrix_llm_open_streams)"
check_eq "upstream errors by kind: connect 1, http_4xx 1, http_5xx 1" "1 1 1" \
	"$(metric $HA 'sentrix_llm_upstream_errors_total{kind="connect"}') $(metric $HA 'sentrix_llm_upstream_errors_total{kind="http_4xx"}') $(metric $HA 'sentrix_llm_upstream_errors_total{kind="http_5xx"}')"
check_eq "request duration histogram counts every recorded call" "$(rq "$A/log" "len(R)")" "$(metric $HA sentrix_llm_request_duration_seconds_count)"
h=$(curl -s -m 5 "http://127.0.0.1:$HA/health")
check_eq "/health: state, providers, capture_file, open_streams, capture_records" \
	"ready|openai,anthropic,counted,nokey,closed,tls|$(ls "$A"/log/llm-*.json)|0|$(rq "$A/log" "len(R)")" \
	"$(echo "$h" | json_get "'%s|%s|%s|%s|%s' % (j['state'], ','.join(j['providers']), j['capture_file'], j['open_streams'], j['capture_records'])")"
check_eq "/metrics is not on the LLM port" 404 "$(curl -s -o /dev/null -w '%{http_code}' "${OA[@]}" "$LA/metrics")"

# ---- 8b. SIGHUP ----

CURRENT="SIGHUP"
st=$(post "$LA/late/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}")
check_eq "provider 'late' unknown before the reload: 404" 404 "$st"
/usr/bin/python3 "$CLIENT" stream "$LA/openai/chat/completions" "$TMP/req/oa-stream.json" --out "$TMP/out/hup.gw" \
	-H "Authorization: Bearer $TOKEN" -H "X-Mock-Drip-Ms: 150" -H "X-Sentrix-Run: hup-stream" \
	--mark "$TMP/hup.mark" --mark-after 2 >"$TMP/hup.json" &
hup_client=$!
for _ in $(seq 50); do [ -e "$TMP/hup.mark" ] && break; sleep 0.1; done
check "a slow stream is open before the SIGHUP" test -e "$TMP/hup.mark"
/usr/bin/python3 - "$A/config.json" "$M" <<'PY'
import json, sys
p = sys.argv[1]
j = json.load(open(p))
j["gateway"]["providers"].append({"name": "late", "api": "openai-completions", "base_url": sys.argv[2],
                                  "key_env": "OPENAI_API_KEY", "models": [], "default_model": None})
open(p, "w").write(json.dumps(j, indent=2))
PY
echo "SXT_MISSING_KEY=$REALKEY" >>"$A/secrets.env"
kill -HUP "$GWA"
sleep 0.3
check "the gateway survives SIGHUP" kill -0 "$GWA"
check_eq "provider added to config.json works after SIGHUP" 200 "$(post "$LA/late/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}" -H "X-Sentrix-Run: late")"
check_eq "secret added to secrets.env works after SIGHUP" 200 "$(post "$LA/nokey/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}")"
wait $hup_client
check_eq "the stream open across the SIGHUP completed" "200 True" "$(json_get "j['status'], j['complete']" <"$TMP/hup.json" | tr -d "(),")"
check_eq "... with the whole body" "$(sha "$TMP/out/oas.direct")" "$(sha "$TMP/out/hup.gw")"
check_eq "... and a complete record" "True $TEXT" "$(rq "$A/log" "by('hup-stream')['complete'], by('hup-stream')['message']['text']" | tr -d "(),'")"
check "the reload is logged" grep -q "reloaded: 7 provider(s)" "$A/stderr"
cp -p "$A/config.json" "$TMP/config.good"
echo '{ "version": 1, broken' >"$A/config.json"
kill -HUP "$GWA"
sleep 0.3
check_eq "a broken config.json on SIGHUP: the old one stays in force" 200 "$(post "$LA/late/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}")"
check "... and the gateway says why" grep -q "cannot load $A/config.json" "$A/stderr"
cp -p "$TMP/config.good" "$A/config.json"
echo sxtoken-rotated >"$A/gateway.token"
kill -HUP "$GWA"
sleep 0.3
check_eq "a new token on SIGHUP: the old one gets 401" 401 "$(post "$LA/openai/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}")"
check_eq "... the new one works" 200 "$(post "$LA/openai/chat/completions" "$TMP/req/oa.json" /dev/null -H "Authorization: Bearer sxtoken-rotated")"
echo "$TOKEN" >"$A/gateway.token"
kill -HUP "$GWA"
sleep 0.3
check_eq "... and back" 200 "$(post "$LA/openai/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}")"

# ---- 9. SIGTERM with open streams ----

CURRENT="SIGTERM"
post "$M/chat/completions" "$TMP/req/oa-stream.json" "$TMP/out/w1.direct" -H "Authorization: Bearer $REALKEY" -H "X-Mock-Words: 1" >/dev/null
/usr/bin/python3 "$CLIENT" stream "$LA/openai/chat/completions" "$TMP/req/oa-stream.json" --out "$TMP/out/short.gw" \
	-H "Authorization: Bearer $TOKEN" -H "X-Mock-Drip-Ms: 100" -H "X-Mock-Words: 1" -H "X-Sentrix-Run: term-short" \
	--mark "$TMP/short.mark" >"$TMP/short.json" &
short_client=$!
/usr/bin/python3 "$CLIENT" stream "$LA/openai/chat/completions" "$TMP/req/oa-stream.json" \
	-H "Authorization: Bearer $TOKEN" -H "X-Mock-Hang: 1" -H "X-Sentrix-Run: term-hang" \
	--mark "$TMP/hang.mark" >"$TMP/hang.json" &
hang_client=$!
for _ in $(seq 50); do [ -e "$TMP/short.mark" ] && [ -e "$TMP/hang.mark" ] && break; sleep 0.1; done
check "two streams open (a short one, a hanging one)" test -e "$TMP/short.mark" -a -e "$TMP/hang.mark"
t0=$(date +%s%3N)
kill -TERM "$GWA"
sleep 0.2
check_fails "stopping: new connections are refused" curl -s -m 2 -o /dev/null "$LA/openai/chat/completions"
check_eq "stopping: /health says so with 503" "503 stopping" \
	"$(curl -s -m 2 -o "$TMP/out/h503" -w '%{http_code}' "http://127.0.0.1:$HA/health") $(json_get "j['state']" <"$TMP/out/h503")"
stop_gw "$GWA" 0 # signal 0: it is already stopping, just wait for it
took=$(($(date +%s%3N) - t0))
check "the gateway exits after the 2 s grace, not before, not much later (${took} ms)" test $took -ge 1900 -a $took -lt 6000
wait $short_client $hang_client
check_eq "the short stream finished within the grace period" "200 True" "$(json_get "j['status'], j['complete']" <"$TMP/short.json" | tr -d "(),")"
check_eq "... with the whole body" "$(sha "$TMP/out/w1.direct")" "$(sha "$TMP/out/short.gw")"
check_eq "the short stream's record is complete" "True None" "$(rq "$A/log" "by('term-short')['complete'], by('term-short')['error']" | tr -d "(),'")"
check_eq "the hanging stream is recorded incomplete after the grace period" "False|gateway stopped before the call finished|1" \
	"$(rq "$A/log" "'%s|%s|%s' % (by('term-hang')['complete'], by('term-hang')['error'], len(by('term-hang')['events']))")"
check_eq "the capture file is a valid JSON array after SIGTERM (8a)" "$(rq "$A/log" "len(R)")" "$(rq "$A/log" "sum(len(a) for a in arrays())")"
check "the capture file ends with ]" bash -c "tail -n1 $A/log/llm-*.json | grep -qx ']'"
check_eq "spool dir empty after SIGTERM" "" "$(ls -A "$A/log/spool")"
check_fails "gateway.pid removed on exit" test -e "$A/log/gateway.pid"

# ---- 8c. restart ----

CURRENT="restart"
n_files=$(ls "$A"/log/llm-*.json | wc -l)
n_recs=$(rq "$A/log" "sum(len(a) for a in arrays())")
start_gw GWA "$A" --grace-secs 2
check_eq "gateway A starts again on the same log dir" 0 $?
check_eq "a call after the restart" 200 "$(post "$LA/openai/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}" -H "X-Sentrix-Run: restart-1")"
stop_gw "$GWA"
check_eq "all files load as JSON arrays; the records add up" $((n_recs + 1)) "$(rq "$A/log" "sum(len(a) for a in arrays())")"
n=$(ls "$A"/log/llm-*.json | wc -l)
check "a new file, or the same file reopened ($n_files -> $n files)" test "$n" -eq "$n_files" -o "$n" -eq $((n_files + 1))

# ---- 8d. the recorder's backlog full ----

# Past the recorder's backlog bound the proxy's thread writes the record
# itself.  With the bound at 1 call (a knob for tests), most of these
# concurrent calls take that path, the others the recorder's batches: every
# call is recorded once, whole.
CURRENT="backlog"
n_recs=$(rq "$A/log" "sum(len(a) for a in arrays())")
export SENTRIX_RECORDER_BACKLOG_JOBS=1
start_gw GWA "$A" --grace-secs 2
check_eq "gateway A starts with a backlog bound of 1 call" 0 $?
unset SENTRIX_RECORDER_BACKLOG_JOBS
# The 16 calls are sent together (connected first, then released at once),
# so that they end within the recorder's 2 ms naps: curl processes started
# one by one spread them over tens of ms, and the recorder sometimes kept up.
/usr/bin/python3 - $((BASE_A + 1)) "$TOKEN" "$TMP/req/oa.json" "$TMP/req/oa-stream.json" "$TMP/out" <<'PY'
import http.client, sys, threading
port, token, plain, stream, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
go = threading.Barrier(16)
def call(i):
    body = open(plain if i <= 12 else stream, "rb").read()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.connect()
    go.wait()
    c.request("POST", "/openai/chat/completions", body, {"Authorization": "Bearer " + token,
              "Content-Type": "application/json", "X-Sentrix-Run": "backlog-%d" % i})
    r = c.getresponse()
    open("%s/bl-%d" % (out, i), "wb").write(r.read())
    open("%s/bl-%d.code" % (out, i), "w").write(str(r.status))
threads = [threading.Thread(target=call, args=(i,)) for i in range(1, 17)]
for t in threads: t.start()
for t in threads: t.join()
PY
check_eq "16 concurrent calls answered" "$(printf '200 %.0s' $(seq 16))" "$(for i in $(seq 16); do printf '%s ' "$(cat "$TMP/out/bl-$i.code")"; done)"
settle
inl=$(metric "$HA" sentrix_capture_inline_total)
check "some records were written by the proxy's thread (sentrix_capture_inline_total: ${inl:-?} of 16)" \
	test "${inl:-0}" -gt 0
stop_gw "$GWA"
check_eq "each call recorded once" "16 16" \
	"$(rq "$A/log" "'%d %d' % (len([r for r in R if (r['run_id'] or '').startswith('backlog-')]), len(set(r['run_id'] for r in R if (r['run_id'] or '').startswith('backlog-'))))")"
check_eq "... complete, without an error" True \
	"$(rq "$A/log" "all(r['complete'] and r['error'] is None and r['status'] == 200 for r in R if (r['run_id'] or '').startswith('backlog-'))")"
check_eq "... the streams with all their events" True \
	"$(rq "$A/log" "all(by('backlog-%d' % i)['events'] == sse('$TMP/out/oas.direct') for i in range(13, 17))")"
check_eq "the capture files load as JSON arrays; the records add up" $((n_recs + 16)) "$(rq "$A/log" "sum(len(a) for a in arrays())")"

# ---- 10. SIGKILL mid-stream ----

CURRENT="SIGKILL"
start_gw GWA "$A" --grace-secs 2
check_eq "gateway A starts" 0 $?
rq "$A/log" "json.dumps(sorted(R, key=lambda r: r['id']))" >"$TMP/before-kill.json"
/usr/bin/python3 "$CLIENT" stream "$LA/openai/chat/completions" "$TMP/req/oa-stream.json" \
	-H "Authorization: Bearer $TOKEN" -H "X-Mock-Drip-Ms: 300" -H "X-Sentrix-Run: killed" \
	--mark "$TMP/kill.mark" --mark-after 3 >"$TMP/kill.json" &
kill_client=$!
for _ in $(seq 50); do [ -e "$TMP/kill.mark" ] && break; sleep 0.1; done
check "3 events of a slow stream arrived" test -e "$TMP/kill.mark"
stop_gw "$GWA" KILL
wait $kill_client
seen=$(json_get "j['events']" <"$TMP/kill.json")
check_eq "the client saw the stream break" False "$(json_get "j['complete'] and j['events'] == 15" <"$TMP/kill.json")"
check_eq "the killed call is in the spool (one open slot)" 1 "$(open_slots "$A/log/spool" | wc -l)"
check_fails "the open capture file has no closing ] (killed)" bash -c "tail -n1 \$(ls $A/log/llm-*.json | tail -n1) | grep -qx ']'"
# As if killed in the middle of writing a record, too.
printf ',{"timestamp":"2026-11-23T10:00:00.000Z","id":"torn' >>"$(ls "$A"/log/llm-*.json | tail -n1)"
start_gw GWA "$A" --grace-secs 2
check_eq "gateway A restarts after SIGKILL" 0 $?
current=$(curl -s -m 5 "http://127.0.0.1:$HA/health" | json_get "j['capture_file']")
check_eq "every capture file but the new one loads as a JSON array (the killed one repaired)" "$(rq "$A/log" "len(R)")" \
	"$(rq "$A/log" "sum(len(a) for a in arrays('$current')) + len(open('$current').readlines()) - 1")"
check_eq "the killed call: complete false, the gateway's error" "False|gateway stopped before the call finished|200" \
	"$(rq "$A/log" "'%s|%s|%s' % (by('killed')['complete'], by('killed')['error'], by('killed')['status'])")"
check_eq "the killed call holds the events that had streamed (client saw $seen)" True \
	"$(rq "$A/log" "len(by('killed')['events']) >= $seen and by('killed')['events'] == sse('$TMP/out/oas.direct')[:len(by('killed')['events'])]")"
check_eq "the killed call's request is recorded as sent" True \
	"$(rq "$A/log" "by('killed')['request'] == json.load(open('$TMP/req/oa-stream.json'))")"
check_fails "the torn line was cut" grep -rq '"id":"torn' "$A/log"
check_eq "earlier records intact" True \
	"$(rq "$A/log" "sorted([r for r in R if r['run_id'] != 'killed'], key=lambda r: r['id']) == json.load(open('$TMP/before-kill.json'))")"
check_eq "spool dir empty after the repair" "" "$(ls -A "$A/log/spool")"
check "the repair is logged" grep -q "recovered call .* as incomplete" "$A/stderr"
stop_gw "$GWA"

# Killed after a record was written but before its slot was freed: the
# slot names a call the capture file already holds; recovery must not add
# it twice.  A slot of a call not recorded is recovered beside it.
CURRENT="exactly once"
start_gw GWA "$A" --grace-secs 2
check_eq "a call to record" 200 "$(post "$LA/openai/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}" -H "X-Sentrix-Run: recorded-1")"
stop_gw "$GWA"
done_id=$(rq "$A/log" "by('recorded-1')['id']")
make_slot "$A/log/spool/slot-900" "$done_id" recorded-1
make_slot "$A/log/spool/slot-901" 00000000000dead1 lost-1
chown nobody "$A"/log/spool/slot-90*
n_before=$(rq "$A/log" "len(R)")
start_gw GWA "$A" --grace-secs 2
check_eq "gateway A starts with two open slots left behind" 0 $?
check_eq "the call already recorded is not recorded again" 1 "$(rq "$A/log" "sum(1 for r in R if r['id'] == '$done_id')")"
check_eq "the call not yet recorded is recovered, incomplete, with its answer" "False|200|True" \
	"$(rq "$A/log" "'%s|%s|%s' % (by('lost-1')['complete'], by('lost-1')['status'], by('lost-1')['response']['ok'])")"
check_eq "one record more in all" $((n_before + 1)) "$(rq "$A/log" "len(R)")"
check "the skipped slot is logged" grep -q "call $done_id was recorded before the gateway stopped" "$A/stderr"
check_eq "no open slot left" "" "$(open_slots "$A/log/spool")"
stop_gw "$GWA"

# A start looks at the ends of the capture files only: a 256 MiB file left
# open (its last record torn) is repaired without being read into memory.
CURRENT="big open file"
big="$A/log/llm-20261101T000000Z.json"
line=$(grep -h -m 1 '^,\?{' "$A"/log/llm-*.json | head -n 1 | sed 's/^,//')
{
	printf '[\n%s\n' "$line"
	yes ",$line" | head -c $((256 << 20)) | sed '$d'
	printf ',%s' "${line:0:100}"
} >"$big"
chown nobody "$big"
big_keep=$(($(stat -c %s "$big") - 101))
start_gw GWA "$A" --grace-secs 2
check_eq "gateway A starts beside a 256 MiB capture file left open" 0 $?
hwm=$(awk '/^VmHWM:/ {print $2}' /proc/$GWA/status)
check "... and never held it in memory (peak RSS ${hwm} KiB < 96 MiB)" test "$hwm" -lt $((96 << 10))
check_eq "it is cut after its last whole record and closed" "$((big_keep + 2))|]" \
	"$(stat -c %s "$big")|$(tail -n 1 "$big")"
check "its last two lines are a whole record and the bracket" /usr/bin/python3 -c "
import json, sys
lines = open(sys.argv[1], 'rb').read()[-(1 << 20):].split(b'\n')
json.loads(lines[-3].lstrip(b',')); sys.exit(lines[-2] != b']')" "$big"
rm -f "$big"
# Capture files are written once: past 64 MiB, all but the last 32 to 64
# MiB of the file are written back and dropped from the page cache (on a
# busy gateway they pushed out everything else).  200 calls of 512 KiB.
CURRENT="page cache"
/usr/bin/python3 - $((BASE_A + 1)) "$TOKEN" <<'PY'
import http.client, json, sys
body = json.dumps({"model": "mock-model", "messages": [{"role": "user", "content": "x" * (512 << 10)}]})
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
for i in range(200):
    c.request("POST", "/openai/chat/completions", body, {"Authorization": "Bearer " + sys.argv[2],
              "Content-Type": "application/json", "X-Sentrix-Run": "cache-%d" % i})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
check_eq "200 calls of 512 KiB: 200" 0 $?
settle
cur=$(ls "$A"/log/llm-*.json | sort | tail -n 1)
size=$(($(stat -c %s "$cur") >> 20)) cached=$(($(fincore --bytes --noheadings --output RES "$cur") >> 20))
check "the capture file holds them ($size MiB >= 96)" test "$size" -ge 96
check "... and $cached MiB of it is in the page cache (<= 66)" test "$cached" -le 66
stop_gw "$GWA"
CURRENT="gateway A's files"
check_eq "after SIGTERM all of gateway A's files load as JSON arrays" "$(rq "$A/log" "len(R)")" "$(rq "$A/log" "sum(len(a) for a in arrays())")"
check "every line of every capture file is a record" lines_ok "$A/log"
check_fails "the real keys are in nothing gateway A wrote" holds_key "$A/log" "$A/stderr"

# ---- 13. a real instance ----

CURRENT="instance"
ETC=/etc/sentrix/$NAME
snap=$(snapshot)
check "setup $NAME" "$SETUP" setup --name $NAME --non-interactive
HOST_IP=$("$SETUP" status --name $NAME --json | json_get "j['network']['host_ip']")
INSTKEY="sk-sxt-inst-$RANDOM$RANDOM"
printf '%s\n' "$INSTKEY" >>"$TMP/keys"
check "provider set openai -> the mock" "$SENTRIX" provider set --name $NAME openai --api openai-completions \
	--base-url "$M" --model gpt-sxt --default-model gpt-sxt
check "secrets set OPENAI_API_KEY" bash -c "printf '%s' '$INSTKEY' | '$SENTRIX' secrets set --name $NAME OPENAI_API_KEY"
ITOKEN=$(cat $ETC/gateway.token)
igw() {
	"${GATEWAY_AS_SENTRIX[@]}" --name $NAME 2>>"$TMP/inst.stderr" &
	PIDS+=($!)
	GWI=$!
	wait_listening "$HOST_IP" 18790 && wait_listening "$HOST_IP" 18792
}
igw
check_eq "the gateway starts as user sentrix on the instance's own config" 0 $?
check_eq "it runs as sentrix" sentrix "$(ps -o user= -p "$GWI")"
body='{"model":"gpt-sxt","stream":true,"messages":[{"role":"user","content":"hi from the sandbox"}]}'
out=$("$SETUP" exec --name $NAME -- curl -sS -m 10 -H "Authorization: Bearer $ITOKEN" -H 'Content-Type: application/json' \
	-H "X-Sentrix-Run: inst-1" -d "$body" "http://$HOST_IP:18790/openai/chat/completions" 2>&1)
check "from inside the sandbox (its user, its netns): the mock's streamed answer" grep -q '"content":"mock. "' <<<"$out"
check "... ending with [DONE]" grep -q '^data: \[DONE\]' <<<"$out"
check_eq "the mock got the instance's real key" "Bearer $INSTKEY" "$(mock_last "j['headers'].get('authorization')")"
out=$("$SENTRIX" logs --name $NAME --tail 1 2>&1)
check "sentrix logs --tail 1: the call, 200, stream, the run id" grep -qE "openai/gpt-sxt +200 .*stream.*inst-1" <<<"$out"
check "sentrix logs --tail 1: the reply" grep -q "reply: *Hello from the mock." <<<"$out"
check "sentrix logs --tail 1: the reasoning" grep -q "reasoning: *$REASONING" <<<"$out"
check_fails "the health port is not reachable from the sandbox (nftables)" \
	"$SETUP" exec --name $NAME -- timeout 2 bash -c "</dev/tcp/$HOST_IP/18792"
check_fails "... nor from the netns as root" ip netns exec $NAME timeout 2 bash -c "</dev/tcp/$HOST_IP/18792"
check_eq "the health port answers on the host" ready "$(curl -s -m 5 "http://$HOST_IP:18792/health" | json_get "j['state']")"
check_eq "the gateway's pid file names it" "$GWI" "$(cat /var/log/sentrix/$NAME/gateway.pid)"
stop_gw "$GWI" KILL
igw
check_eq "restarted after kill -9" 0 $?
current=$(curl -s -m 5 "http://$HOST_IP:18792/health" | json_get "j['capture_file']")
check_eq "the record survived the kill (the killed file loads, run inst-1 complete)" "1 True 200" \
	"$(rq /var/log/sentrix/$NAME "sum(len(a) for a in arrays('$current')), by('inst-1')['complete'], by('inst-1')['status']" | tr -d "(),")"
check "sentrix logs still shows it" bash -c "'$SENTRIX' logs --name $NAME --tail 1 | grep -q 'reply: *Hello from the mock.'"
check_fails "the instance's real key is in no file of its log dir" holds_key /var/log/sentrix/$NAME
check_fails "... nor in the gateway's stderr" holds_key "$TMP/inst.stderr"
stop_gw "$GWI"
check_eq "after SIGTERM every capture file of the instance loads" 1 "$(rq /var/log/sentrix/$NAME "sum(len(a) for a in arrays())")"
check "--disable --purge" "$SETUP" setup --name $NAME --disable --purge --non-interactive
snapshot_changed "$snap" "the host is not as before setup" || ok "the host is as before setup"

# ---- 8. rotation boundary (gateway R, started first) ----

CURRENT="rotation"
# Due 60 s after R started; the rest of the test takes about that long.
wait_s=$((R_START + 70 - SECONDS))
for _ in $(seq $((wait_s > 0 ? wait_s * 10 : 1))); do
	[ "$(ls "$R"/log/llm-*.json | wc -l)" -ge 2 ] && break
	sleep 0.1
done
check_eq "after a minute with a record, gateway R opened a second file" 2 "$(ls "$R"/log/llm-*.json | wc -l)"
check_eq "a call after the rotation" 200 "$(post "$LR/openai/chat/completions" "$TMP/req/oa.json" /dev/null "${OA[@]}" -H "X-Sentrix-Run: rot-2")"
first=$(ls "$R"/log/llm-*.json | head -n1)
check_eq "the first file was closed as a JSON array holding the first call" "rot-1" \
	"$(/usr/bin/python3 -c "import json; print(' '.join(r['run_id'] for r in json.load(open('$first'))))")"
check "the rotation is logged" grep -q "capture rotated" "$R/stderr"
stop_gw "$GWR"
check_eq "after SIGTERM: both files load, rot-1 then rot-2" "rot-1 rot-2" "$(rq "$R/log" "' '.join(r['run_id'] for a in arrays() for r in a)")"
CURRENT="stop"
stop_gw "$GWB"
check_eq "gateway B's capture files load as JSON arrays after SIGTERM" "$(rq "$B/log" "len(R)")" "$(rq "$B/log" "sum(len(a) for a in arrays())")"
echo "# $(basename "$0") took $SECONDS s"
summary
