#!/bin/bash
# make bench: the patrol's detection engine against ripgrep, and the inline
# guardrail's cost (docs/patrol.md).
#
#   1. A generated capture of PATROL_BENCH_MB (default 1024) MB
#      (tests/helpers/patrol-corpus.py --size-mb: agent-like records, mostly
#      prose and code, a planted item every ~1000 records), scanned RUNS
#      times (default 3) on one core (taskset -c 0) by build/tests/patrol-scan
#      (the engine as the patrol runs it: every record in every view, hits
#      confirmed) and by Debian's ripgrep with the same 83 patterns (`rg -j1
#      --no-unicode -c -f`; quotes unescaped, which ripgrep's syntax wants).
#      Prints MB/s for both (median), the ratio, peak RSS, and the engine's
#      seconds per stage.  Target: at least 2x ripgrep.
#   2. The guardrail's scan of a 50 KB request (what the LLM proxy adds
#      before forwarding in block mode), 500 times: p50 and p90.  Target:
#      p50 under 200 us.
#   3. A 2,000-delta streamed answer through two gateways on loopback, one
#      in observe mode and one in block mode (the stream guard looking at
#      every event), STREAM_RUNS (default 41) each, interleaved: median
#      time, the guard's share of it, and µs per delta.  Target: under 5%.
#
# Root (the gateways run as nobody, as in the tests); loopback only;
# scratch files in /var/tmp, removed at exit.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
MB=${PATROL_BENCH_MB:-1024}
RUNS=${RUNS:-3}
SCAN=$BUILD/tests/patrol-scan
command -v rg >/dev/null || { echo "bench/patrol.sh: ripgrep (rg) is not installed (packaging/install-deps.sh)"; exit 1; }
[ -x "$SCAN" ] || { echo "bench/patrol.sh: $SCAN missing (make $SCAN)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/patrol.sh needs root (its gateways run as nobody)"; exit 1; }
TMP=$(mktemp -d /var/tmp/sxt-patrol-bench.XXXXXX) || exit 1
chmod 711 "$TMP"
PIDS=()
bench_patrol_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap bench_patrol_cleanup EXIT
one_core=(taskset -c 0)
command -v taskset >/dev/null || one_core=()

echo "== patrol: generating a ${MB} MB capture"
/usr/bin/python3 "$TOP/tests/helpers/patrol-corpus.py" "$TMP/c" --size-mb "$MB" | tail -n1
FILES=("$TMP"/c/bench/llm-*.json)
BYTES=$(cat "${FILES[@]}" | wc -c)

# ripgrep's syntax refuses \" and \' (PCRE2 and Vectorscan take them as the
# quote itself): the same patterns, those two escapes undone.
/usr/bin/python3 - "$TOP/patrol" >"$TMP/patterns" <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    for r in json.load(open(f))["rules"]:
        p, out, i = r["pattern"], [], 0
        while i < len(p):
            if p[i] == "\\" and i + 1 < len(p):
                out.append(p[i + 1] if p[i + 1] in "\"'" else p[i:i + 2])
                i += 2
            else:
                out.append(p[i])
                i += 1
        print(("(?i)" if r.get("caseless") else "") + "".join(out))
PY

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
: >"$TMP/engine" >"$TMP/rg"
for i in $(seq "$RUNS"); do
	"${one_core[@]}" /usr/bin/time -f "%e %M" -o "$TMP/t" "$SCAN" --packs "$TOP/patrol" "${FILES[@]}" >"$TMP/out"
	read -r secs rss <"$TMP/t"
	echo "$secs $rss $(tail -n1 "$TMP/out")" >>"$TMP/engine"
	"${one_core[@]}" /usr/bin/time -f "%e %M" -o "$TMP/t" rg -j1 --no-unicode -c -f "$TMP/patterns" "${FILES[@]}" >/dev/null
	read -r secs rss <"$TMP/t"
	echo "$secs $rss" >>"$TMP/rg"
done
e_secs=$(awk '{print $1}' "$TMP/engine" | median)
e_rss=$(awk '{print $2}' "$TMP/engine" | sort -n | tail -n1)
r_secs=$(awk '{print $1}' "$TMP/rg" | median)
r_rss=$(awk '{print $2}' "$TMP/rg" | sort -n | tail -n1)
stages=$(sort -n "$TMP/engine" | sed -n "$(((RUNS + 1) / 2))p" | cut -d' ' -f3-)
/usr/bin/python3 - "$BYTES" "$e_secs" "$e_rss" "$r_secs" "$r_rss" "$stages" "$RUNS" <<'PY'
import json, sys
n, es, erss, rs, rrss, st, runs = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5], json.loads(sys.argv[6]), sys.argv[7]
e, r = n / 1e6 / es, n / 1e6 / rs
print(f"patrol scan of {n / 1e6:.0f} MB, one core, median of {runs} (process time, compile included):")
print(f"  engine   {e:8.1f} MB/s  ({es:.2f} s, peak RSS {int(erss) // 1024} MiB)")
print(f"  ripgrep  {r:8.1f} MB/s  ({rs:.2f} s, peak RSS {int(rrss) // 1024} MiB)")
print(f"  ratio    {e / r:8.2f}x ripgrep  (target >= 2x: {'met' if e / r >= 2 else 'NOT met'})")
s = st["stages"]
print("  engine stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in s.items()) +
      f"; scan by view: " + ", ".join(f"{k} {v:.2f}" for k, v in st["scan_by_view"].items()))
scan_only = n / 1e6 / st["seconds"]
print(f"  engine without its start (pattern compile): {scan_only:.1f} MB/s; "
      f"records parsed (something fired): {st['parsed']} of {st['records']}")
for k, v in s.items():
    if v > 0:
        print(f"    {k:8s} {n / 1e6 / v:10.1f} MB/s")
PY

echo "== guardrail: one 50 KB request, scanned as the proxy does in block mode"
/usr/bin/python3 - "$TMP/req.json" <<'PY'
import json, random, sys
random.seed(1)
words = "the quick brown fox jumps over the lazy dog agent tool call result file build test deploy server".split()
msgs = [{"role": "system", "content": "You are a helpful coding agent. " * 20}]
while len(json.dumps(msgs)) < 50000:
    msgs.append({"role": random.choice(["user", "assistant"]),
                 "content": " ".join(random.choice(words) for _ in range(120)) + "\n```\nls -la\ngit status\n```"})
json.dump({"model": "m", "messages": msgs, "stream": True}, open(sys.argv[1], "w"))
PY
g=$("${one_core[@]}" "$SCAN" --packs "$TOP/patrol" --guardrail 500 "$TMP/req.json")
/usr/bin/python3 - "$g" <<'PY'
import json, sys
g = json.loads(sys.argv[1])
met = "met" if g["p50_us"] < 200 else "NOT met"
print(f"  {g['bytes']} bytes: p50 {g['p50_us']:.1f} us, p90 {g['p90_us']:.1f} us (target p50 < 200 us: {met})")
PY

echo "== guardrail: a 2000-delta stream through a gateway in observe mode and one in block mode"
source "$TOP/tests/lib.sh" >/dev/null
GW=$BUILD/sentrix-gateway MOCK=$BUILD/tests/mock-llm
source "$TOP/tests/gateway.sh"
start_mock MOCK
for m in observe block; do
	base=$(free_base $((29000 + ${#m} * 10)))
	/usr/bin/python3 "$TOP/tests/helpers/gw-config.py" "$TMP/$m" --port-base "$base" --guardrail "$m" \
		--provider "openai,openai-completions,http://127.0.0.1:$MOCK_PORT/v1,OPENAI_API_KEY" \
		--secret "OPENAI_API_KEY=sk-bench" >/dev/null
	chown -R nobody:nogroup "$TMP/$m"
	start_gw "GW_$m" "$TMP/$m" || { echo "  the $m gateway did not start"; exit 1; }
	printf -v "PORT_$m" %s $((base + 1))
done
printf '{"model":"m","stream":true,"messages":[{"role":"user","content":"talk [[slow:2000:0:plain]]"}]}' >"$TMP/stream.json"
: >"$TMP/observe.t" >"$TMP/block.t"
for i in $(seq "${STREAM_RUNS:-41}"); do
	order="observe block"
	((i % 2)) || order="block observe" # no side always second
	for m in $order; do
		port=PORT_$m
		curl -s -o "$TMP/out.$m" -w '%{time_total}\n' -H 'Authorization: Bearer sxtoken-test' \
			-H 'Content-Type: application/json' --data-binary @"$TMP/stream.json" \
			"http://127.0.0.1:${!port}/openai/chat/completions" >>"$TMP/$m.t"
	done
done
deltas=$(grep -c '"content":' "$TMP/out.block")
/usr/bin/python3 - "$TMP/observe.t" "$TMP/block.t" "$deltas" <<'PY'
import statistics, sys
o = statistics.median(float(x) for x in open(sys.argv[1]))
b = statistics.median(float(x) for x in open(sys.argv[2]))
d = int(sys.argv[3])
share = (b - o) / o * 100
met = "met" if share < 5 else "NOT met"
print(f"  {d} deltas: observe {o * 1000:.1f} ms, block {b * 1000:.1f} ms (median); "
      f"the guard adds {share:+.1f}% ({(b - o) / d * 1e6:+.2f} us per delta; target < 5%: {met})")
PY
