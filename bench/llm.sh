#!/bin/bash
# make bench: the LLM proxy (build/sentrix-gateway, run as nobody outside any
# instance) against nginx as a streaming reverse proxy doing the same job
# (1 worker, proxy_buffering off, keep-alive pool to the upstream, the
# Authorization header replaced by the real key), both in front of the C
# mock upstream build/tests/mock-llm.  Root only (setpriv); loopback ports
# 28100-28199.  Every target is printed as met or missed.
#
#   1. Memory, on freshly started processes: VmRSS of the gateway (and of
#      the nginx worker) before and while STREAMS (1000) streams are held
#      open against a mock stream that hangs after its first event
#      (X-Mock-Hang: 1).  Target: <= 32 KiB per open idle stream.  The
#      held requests keep the old ~1 KB body so the figure stays comparable
#      with the earlier runs (50.1 KiB for sentrix, 17.7 for nginx).
#   2. Traffic: wrk against the mock directly, through sentrix and through
#      nginx, for chat-completions bodies of 2 KB, 64 KB and 512 KB (an
#      agent's context: system prompt, tools, user / assistant / tool-call /
#      tool-result turns, made to the exact size) and for a stream of 2,000
#      deltas (2 KB body, "stream": true, X-Mock-Words: 2000), at 1, 64 and
#      512 connections; medians of RUNS runs of DUR seconds, targets
#      interleaved within each cell, each run started once the previous
#      one's work is done (quiesce); wrk --timeout 10s, timeouts, socket
#      errors and non-2xx answers are counted.  wrk counts only requests
#      that end within the run: at c=512 a 3 s run sees a few rounds of
#      512, and a proxy that needs more than 3 s per round shows 0 req/s.
#      Sentrix's req/s is the run's completed requests over the run's
#      length plus the time its recorder then took to write the run's
#      records (its backlog: a proxy that only queued the capture work
#      would look faster than it is); that drain is printed per cell.
#      "added" latency = proxied minus direct.  Targets: sentrix's throughput >= 1.0x nginx's at c=1
#      and c=64, >= 0.8x at c=512; at c=1 its added p50 <= nginx's + 20 us.
#   3. CPU per delta: CPU_DELTAS (200000) deltas as sequential streams of
#      200 deltas and of 2,000 deltas (one keep-alive client), the proxy's
#      utime+stime from /proc/PID/stat (all threads) before and after,
#      each read once every record so far is written (and, before, once
#      the CPUs are quiet).
#      Target: flat, i.e. us per delta at 2,000 <= FLAT (1.25) x at 200.
#      The same number of deltas per length, so that both figures have the
#      same resolution (the clock ticks are 10 ms: 20 streams of 200 deltas
#      would be a tick or two).  The mock sends its deltas unpaced.
#   4. Syscalls per call: strace -c -f attached to the proxy (all its
#      threads; for nginx its worker) during SYS_CALLS (2000) non-streaming
#      2 KB calls and then SYS_STREAMS (200) streams of 200 deltas, one
#      keep-alive client at c=1; totals per call and the top 5 syscalls.
#   5. Capture: the gateway's own counters (/metrics): records grew by the
#      requests wrk completed (plus those in flight when a wrk run stopped,
#      and those that failed, both recorded as cancelled or failed), by
#      exactly the calls of steps 3 and 4 and by the held streams of step 1;
#      capture errors 0.
#
# Sentrix also writes every call to its capture file (and a spool file while
# the call is open); nginx (access_log off) records nothing.  The "nginx
# auto workers" reference row of earlier versions is gone: it cost a quarter
# of the run time and no target uses it.
#
# CPU placement: nothing is pinned.  On this 2-CPU machine, pinning the proxy
# to CPU 0 and the mock and wrk to CPU 1 was measured to be worse for every
# target: c=1 latency rose 3-10x (each hop became a cross-CPU wake-up) and
# the shared mock+wrk CPU capped direct and nginx throughput.  Unpinned, the
# proxy, the mock (2 threads) and wrk share both CPUs, the same for sentrix
# and nginx; the direct rows show what the mock and wrk reach on their own.
#
# SENTRIX_GW=FILE measures another gateway binary than $BUILD/sentrix-gateway
# (an older build, say); it is copied first, so a rebuild during the bench
# cannot change it.
#
# DUR (seconds per wrk run, default 3) and RUNS (default 3): 4 bodies x 3
# concurrencies x 3 targets x RUNS x DUR = 5.4 minutes of wrk; the whole
# bench took about 8 minutes.  It warns when other processes keep the CPUs
# busy before it starts: they would skew every figure.
source "$(dirname "$0")/lib.sh"
DUR=${DUR:-3}
RUNS=${RUNS:-3}
STREAMS=${STREAMS:-1000}
CPU_DELTAS=${CPU_DELTAS:-200000}
FLAT=${FLAT:-1.25}
SYS_CALLS=${SYS_CALLS:-2000}
SYS_STREAMS=${SYS_STREAMS:-200}
# For working on one figure: STEPS (default "1 2 3 4 5"; "serve" starts the
# targets and waits, see below), BODIES (of step 2,
# default "2k 64k 512k stream") and CONCS (default "1 64 512").  Step 5 and
# the verdict count need every step.
STEPS=" ${STEPS:-1 2 3 4 5} "
read -ra BODIES <<<"${BODIES:-2k 64k 512k stream}"
read -ra CONCS <<<"${CONCS:-1 64 512}"
step() { [[ $STEPS == *" $1 "* ]]; }
MOCK_PORT=28190 GW_BASE=28100 NGX_PORT=28110
GW_PORT=$((GW_BASE + 1)) GW_PATH=/mock/chat/completions
GW_URL=http://127.0.0.1:$GW_PORT$GW_PATH
GW_METRICS=http://127.0.0.1:$((GW_BASE + 3))/metrics
MOCK_URL=http://127.0.0.1:$MOCK_PORT/v1/chat/completions
NGX_URL=http://127.0.0.1:$NGX_PORT/mock/chat/completions
GW=${SENTRIX_GW:-$BUILD/sentrix-gateway} MOCK=$BUILD/tests/mock-llm
HZ=$(getconf CLK_TCK)

for c in wrk nginx strace setpriv python3 curl; do
	command -v $c >/dev/null || { echo "bench/llm.sh needs $c"; exit 1; }
done
for f in "$GW" "$MOCK"; do
	[ -x "$f" ] || { echo "bench/llm.sh: $f is missing (make && make $MOCK)"; exit 1; }
done
# 1000 streams cost the gateway 2000 descriptors, the hold client 1000; wrk
# at c=512 512, each proxy 1024 and the mock 512 more.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 4096 ] || { echo "bench/llm.sh: needs ulimit -n >= 4096 (have $(ulimit -n))"; exit 1; }

TMP=$(mktemp -d /tmp/sxt-bench-llm.XXXXXX) || exit 1
chmod 755 "$TMP" # the gateway (nobody) reads its config below it
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
# The gateway under test, copied: a rebuild during the bench must not give
# its steps different binaries.
GW_BUILT=$(date -r "$GW" '+%F %T')
cp "$GW" "$TMP/sentrix-gateway" || die "cannot copy $GW"
GW_RUN=$TMP/sentrix-gateway

# stop PID: SIGTERM, wait for it, drop it from PIDS.  (strace, too, detaches
# and writes its summary on SIGTERM.)
stop() {
	local p keep=()
	kill "$1" 2>/dev/null; wait "$1" 2>/dev/null
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# cpu_us PID: utime + stime of all of PID's threads, dead ones included
# (fields 14 and 15 of /proc/PID/stat, counted after the ")" of the name).
cpu_us() { sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$HZ" '{printf "%d", ($12 + $13) * 1e6 / hz}'; }
metric() { curl -sf "$GW_METRICS" | awk -v m="$1" '$1 == m {print $2}'; }
# alive PID NAME LOG: fails loudly if a component died mid-bench.
alive() { kill -0 "$1" 2>/dev/null || { tail -20 "$3" >&2; die "$2 died"; }; }
# settle: waits until the gateway has no call open (its records are written
# when a call ends, also for calls whose client went away).
settle() { wait_for 10 eval '[ "$(metric sentrix_llm_open_streams)" = 0 ]' || echo "  note: calls still open after 10 s"; }
# quiesce: waits (up to 15 s) until the mock and both proxies together use
# less than 10% of a CPU.  A proxy can be busy for seconds after wrk stopped
# (with 512 uploads of 512 KB cut off, sentrix was seen busy for 2.5 s
# after wrk had gone, writing records of the cancelled calls): that must
# not be charged to the target that runs next.
quiesce() {
	local i a b
	for ((i = 0; i < 75; i++)); do
		a=$(($(cpu_us "$MOCK_PID") + $(cpu_us "$GW_PID") + $(cpu_us "$NGX_WORKER")))
		sleep 0.2
		b=$(($(cpu_us "$MOCK_PID") + $(cpu_us "$GW_PID") + $(cpu_us "$NGX_WORKER")))
		[ $((b - a)) -lt 20000 ] && return 0
	done
	echo "  note: the mock and the proxies were still busy 15 s after a wrk run" >&2
}
# drain: waits (up to 60 s) until the gateway's recorder has written every
# ended call's record (sentrix_capture_queued 0); prints the wait in ms
# (0 when nothing was queued: a look costs a curl, ~10-40 ms here).
drain() {
	local t0 q
	t0=$(now_us)
	[ "$(metric sentrix_capture_queued)" = 0 ] && { echo 0; return; }
	for ((q = 0; q < 3000; q++)); do
		sleep 0.02
		[ "$(metric sentrix_capture_queued)" = 0 ] && break
	done
	echo $((($(now_us) - t0) / 1000))
}
missed=0
# verdict OK TEXT: one "met" / "MISSED" line (OK: 1 or 0); misses are counted.
verdict() {
	if [ "$1" = 1 ]; then
		echo "  met:    $2"
	else
		echo "  MISSED: $2"
		missed=$((missed + 1))
	fi
}
# le A B: 1 when A <= B (floats).
le() { awk "BEGIN{print ($1 <= $2) ? 1 : 0}"; }

# The request bodies: an agent's context of exactly 2 KB, 64 KB and 512 KB
# (JSON with escapes, tools, tool calls and tool results like OpenClaw's),
# the 2 KB one again with "stream": true, and the old ~1 KB body for the
# held streams of step 1.  Deterministic (fixed seed).
python3 - "$TMP" <<'EOF' || die "cannot write the request bodies"
import json, random, sys
out = sys.argv[1]
rnd = random.Random(15)
WORDS = ("the a file test build config gateway request stream error value return "
         "function module import list check path user agent tool call output line "
         "when then because should would could update change fix run make").split()
def prose(n):
    return " ".join(rnd.choice(WORDS) for _ in range(n)).capitalize() + "."
def code(lines):
    return "\n".join(f'    {rnd.choice(WORDS)}_{i} = "{rnd.choice(WORDS)}"  # {prose(5)}'
                     for i in range(lines))
tools = [{"type": "function", "function": {
    "name": name, "description": prose(6),
    "parameters": {"type": "object", "properties": {
        "path": {"type": "string", "description": prose(3)},
        "command": {"type": "string", "description": prose(3)}},
        "required": ["path"]}}} for name in ("read_file", "write_file", "exec")]
def turns():
    yield {"role": "user", "content": prose(12)}
    yield {"role": "assistant", "content": prose(15)}
    i = 0
    while True:
        i += 1
        yield {"role": "user", "content": prose(rnd.randint(10, 40))}
        yield {"role": "assistant", "content": None, "tool_calls": [{
            "id": f"call_{i}", "type": "function", "function": {
                "name": "read_file", "arguments": json.dumps({"path": f"src/{rnd.choice(WORDS)}.c"})}}]}
        yield {"role": "tool", "tool_call_id": f"call_{i}", "content": code(rnd.randint(5, 60))}
        yield {"role": "assistant", "content": prose(rnd.randint(20, 80))}
# Turns up to about size, ending with an assistant's text (so the mock gives
# its plain answer), then a user message padded to exactly size bytes.
def body(size, stream):
    msgs = [{"role": "system", "content": "You are a coding agent. " + prose(25)}]
    req = {"model": "mock-model", "stream": stream, "tools": tools, "messages": msgs}
    t = turns()
    while True:
        msgs.append(next(t))
        if len(json.dumps(req)) + 80 > size:
            msgs.pop()
            break
    while len(msgs) > 1 and (msgs[-1]["role"] != "assistant" or msgs[-1]["content"] is None):
        msgs.pop()
    msgs.append({"role": "user", "content": ""})
    pad = size - len(json.dumps(req))
    msgs[-1]["content"] = ("Go on, and keep the tests passing. " * (pad // 35 + 1))[:pad]
    s = json.dumps(req)
    assert len(s) == size, (size, len(s))
    return s
for name, size, stream in (("2k", 2048, False), ("64k", 65536, False), ("512k", 524288, False),
                           ("stream", 2048, True)):
    with open(f"{out}/body-{name}.json", "w") as f:
        f.write(body(size, stream))
msgs = [{"role": "system", "content": "You are a helpful assistant. " * 12},
        {"role": "user", "content": "Please summarise the following text. " + "lorem ipsum dolor sit amet " * 20}]
with open(f"{out}/body-hold.json", "w") as f:
    json.dump({"model": "mock-model", "stream": True, "messages": msgs}, f)
EOF
# wrk's script: BODY, the body file; WORDS, when set, the X-Mock-Words header.
cat >"$TMP/post.lua" <<'EOF'
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sxtoken-test"
local words = os.getenv("WORDS")
if words and words ~= "" then wrk.headers["X-Mock-Words"] = words end
EOF

# The hold client: opens N streams, waits for each one's first event,
# prints "open N", then keeps them until SIGTERM.
cat >"$TMP/hold.py" <<'EOF'
import asyncio, signal, sys
port, path, n, body_file = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
body = open(body_file, "rb").read()
req = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sxtoken-test\r\n"
       f"Content-Type: application/json\r\nX-Mock-Hang: 1\r\nContent-Length: {len(body)}\r\n\r\n"
       ).encode() + body
async def one(sem):
    async with sem:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(req)
        data = b""
        while b"data:" not in data:
            chunk = await asyncio.wait_for(r.read(65536), 10)
            if not chunk:
                raise RuntimeError("closed before the first event: %r" % data[:200])
            data += chunk
        return w
async def main():
    sem = asyncio.Semaphore(100)
    writers = await asyncio.gather(*(one(sem) for _ in range(n)))
    print("open", len(writers), flush=True)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop
    for w in writers:
        w.close()
asyncio.run(main())
EOF

# The bounded client of steps 3 and 4 (wrk cannot stop after N requests):
# N calls one after the other on one keep-alive connection, each read to its
# end and checked (200; a stream ends with "data: [DONE]").  Only the
# proxy is measured, so Python's own cost does not matter.
cat >"$TMP/calls.py" <<'EOF'
import http.client, sys
port, path, n, body_file, words = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
body = open(body_file, "rb").read()
stream = b'"stream": true' in body
hdr = {"Authorization": "Bearer sxtoken-test", "Content-Type": "application/json"}
if words != "0":
    hdr["X-Mock-Words"] = words
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
closed = 0
for i in range(n):
    conn.request("POST", path, body, hdr)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200 or (stream and not data.rstrip().endswith(b"data: [DONE]")):
        sys.exit(f"call {i}: status {r.status}: {data[-300:]!r}")
    closed += r.will_close
if closed:
    print(f"note: the proxy closed the connection after {closed} of {n} calls")
EOF

# start_mock: the mock with 2 threads (libmicrohttpd's thread pool; with
# --threads 1 its single polling thread was seen to stall with 128+ clients).
start_mock() {
	"$MOCK" --listen 127.0.0.1:$MOCK_PORT --quiet --threads 2 >"$TMP/mock.out" 2>&1 &
	MOCK_PID=$!; PIDS+=($MOCK_PID)
	wait_for 5 grep -q '^ready' "$TMP/mock.out" || { cat "$TMP/mock.out"; die "mock-llm did not start"; }
}

# start_gateway N: a fresh config dir, the gateway as nobody.
start_gateway() {
	local d=$TMP/gw$1
	"$TOP/tests/helpers/gw-config.py" "$d" --port-base $GW_BASE --name sxtbench \
		--provider mock,openai-completions,http://127.0.0.1:$MOCK_PORT/v1,MOCK_KEY \
		--secret MOCK_KEY=sk-bench || die "gw-config.py failed"
	chown -R nobody "$d"
	setpriv --reuid nobody --regid nogroup --clear-groups "$GW_RUN" --name sxtbench \
		--config "$d/config.json" --listen 127.0.0.1 --grace-secs 1 >"$d.log" 2>&1 &
	GW_PID=$!; PIDS+=($GW_PID)
	# 30 s: generous, a build in the middle of a rework took seconds
	wait_for 30 curl -sf "$GW_METRICS" || { cat "$d.log"; die "sentrix-gateway did not start"; }
	GW_LOG=$d.log
}

# start_nginx: a private nginx with 1 worker (own prefix, pid file and logs,
# daemon off, so $! is its master); sets NGX_PID and NGX_WORKER.
start_nginx() {
	local d=$TMP/ngx
	mkdir -p "$d/logs" "$d/tmp"
	cat >"$d/nginx.conf" <<-EOF
	daemon off;
	worker_processes 1;
	worker_rlimit_nofile 65536;
	pid $d/nginx.pid;
	error_log $d/logs/error.log warn;
	events { worker_connections 16384; }
	http {
	  access_log off;
	  client_body_temp_path $d/tmp/body; proxy_temp_path $d/tmp/proxy;
	  fastcgi_temp_path $d/tmp/fcgi; uwsgi_temp_path $d/tmp/uwsgi; scgi_temp_path $d/tmp/scgi;
	  keepalive_requests 1000000;
	  client_max_body_size 32m;
	  upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 256; keepalive_requests 1000000; }
	  server {
	    listen 127.0.0.1:$NGX_PORT backlog=4096;
	    location /mock/ {
	      proxy_pass http://mock/v1/;
	      proxy_http_version 1.1;
	      proxy_set_header Connection "";
	      proxy_set_header Authorization "Bearer sk-bench";
	      proxy_buffering off;
	      proxy_request_buffering off;
	    }
	  }
	}
	EOF
	nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" &
	NGX_PID=$!; PIDS+=($NGX_PID)
	wait_for 5 curl -sf -o /dev/null -d @"$TMP/body-2k.json" "$NGX_URL" ||
		{ cat "$d/logs/error.log"; die "nginx did not start"; }
	NGX_WORKER=$(pgrep -P "$NGX_PID" | head -1)
	[ -n "$NGX_WORKER" ] || die "no nginx worker"
}

# hold NAME PORT PATH PID: RSS of PID before and with STREAMS held streams;
# prints a row and sets HOLD_KIB (per stream, KiB).
hold() {
	local out=$TMP/hold-$1.out before after py
	curl -sf -o /dev/null --max-time 5 -d @"$TMP/body-hold.json" -H 'Authorization: Bearer sxtoken-test' \
		"http://127.0.0.1:$2$3" || die "$1: a warm-up stream failed"
	sleep 0.2
	before=$(rss_kib "$4")
	python3 "$TMP/hold.py" "$2" "$3" "$STREAMS" "$TMP/body-hold.json" >"$out" 2>&1 &
	py=$!; PIDS+=($py)
	wait_for 60 grep -q '^open' "$out" || { tail -5 "$out"; die "$1: could not open $STREAMS streams"; }
	sleep 0.5
	after=$(rss_kib "$4")
	stop $py
	HOLD_KIB=$(awk "BEGIN{printf \"%.1f\", ($after - $before) / $STREAMS}")
	printf '  %-28s %9s %9s %12s\n' "$1" "$before" "$after" "$HOLD_KIB"
}

# busy_pct: how much of all CPUs was busy during one second, from the
# first line of /proc/stat (nothing of this bench runs then).  Other load on
# the machine shows up in every figure below.
busy_pct() {
	local a b
	a=$(head -1 /proc/stat); sleep 1; b=$(head -1 /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN{split(a, x); split(b, y); t = 0
		for (i = 2; i <= 11; i++) t += y[i] - x[i]
		idle = (y[5] - x[5]) + (y[6] - x[6]); printf "%d", t ? 100 * (t - idle) / t : 0}'
}

t_start=$(now_us)
busy=$(busy_pct)

# ---- 1. memory ----------------------------------------------------------
echo "sentrix LLM proxy bench (wrk ${DUR}s x $RUNS runs per cell, medians; nothing pinned, $(nproc) CPUs)"
echo "  $GW built $GW_BUILT"
[ "$busy" -le 10 ] || echo "  warning: before the bench, other processes kept ${busy}% of the CPUs busy"
if step 1; then
start_mock
start_gateway 1
start_nginx
echo
echo "1. Memory: VmRSS with $STREAMS open idle streams (mock X-Mock-Hang: 1, ~1 KB bodies), KiB"
printf '  %-28s %9s %9s %12s\n' "" before after "per stream"
hold_rec0=$(metric sentrix_capture_records_total)
hold "sentrix-gateway" $GW_PORT $GW_PATH "$GW_PID"
gw_kib=$HOLD_KIB
sleep 2 # the clients are gone: every upstream stream should be closed by now
gw_left=$(metric sentrix_llm_open_streams)
settle
hold_rec=$(($(metric sentrix_capture_records_total) - hold_rec0))
hold_err=$(metric sentrix_capture_errors_total)
hold "nginx worker (reference)" $NGX_PORT /mock/chat/completions "$NGX_WORKER"
verdict "$(le "$gw_kib" 32)" "sentrix: $gw_kib KiB per open idle stream (target <= 32 KiB)"
[ "${gw_left:-0}" = 0 ] ||
	echo "  note: 2 s after its $STREAMS clients closed, the gateway still had $gw_left upstream streams open"
stop "$GW_PID"; stop "$NGX_PID"; stop "$MOCK_PID"
fi

# ---- 2. traffic ---------------------------------------------------------
start_mock
start_gateway 2
start_nginx

# STEPS=serve (development): the three targets and the bodies stay up until
# SIGINT; their pids, ports and files are in $TMP/serve.env for wrk, perf
# and /proc/PID/task/*/stat.
if step serve; then
	cat >"$TMP/serve.env" <<-EOF
	GW_PID=$GW_PID NGX_WORKER=$NGX_WORKER MOCK_PID=$MOCK_PID
	GW_URL=$GW_URL NGX_URL=$NGX_URL MOCK_URL=$MOCK_URL GW_METRICS=$GW_METRICS
	TMP=$TMP POST_LUA=$TMP/post.lua
	EOF
	echo "serving; see $TMP/serve.env (bodies: $TMP/body-*.json); SIGINT or SIGTERM ends"
	trap 'exit 0' INT TERM
	sleep infinity &
	wait $!
fi

# to_us VALUE: wrk's "85.00us" / "2.55ms" / "1.27s" / "1.00m" in us.
to_us() { awk -v v="$1" 'BEGIN{u = v; sub(/[0-9.]+/, "", u); n = v + 0;
	printf "%d", n * (u == "us" ? 1 : u == "ms" ? 1e3 : u == "s" ? 1e6 : u == "m" ? 6e7 : 1)}'; }
med() { sort -n | awk '{a[NR]=$1} END {printf "%d", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# bench URL CONNS BODYFILE WORDS [SECS]: one wrk run; prints "rps p50us
# p99us requests errors" (errors: non-2xx + socket errors, timeouts
# included).
bench() {
	local t=2 out
	[ "$2" = 1 ] && t=1
	out=$(BODY=$3 WORDS=$4 wrk -t$t -c"$2" -d"${5:-$DUR}s" --timeout 10s --latency -s "$TMP/post.lua" "$1" 2>&1) ||
		die "wrk failed: $out"
	grep -q 'Requests/sec' <<<"$out" || die "wrk printed no result: $out"
	awk '/ 50%/ {p50=$2} / 99%/ {p99=$2} /requests in/ {n=$1} /Requests\/sec/ {r=$2}
	     /Non-2xx/ {e+=$NF} /Socket errors/ {gsub(/,/, ""); e+=$4+$6+$8+$10}
	     END {print r+0, p50, p99, n+0, e+0}' <<<"$out" | {
		read -r r p50 p99 n e
		echo "$r $(to_us "$p50") $(to_us "$p99") $n $e"
	}
}

declare -A BFILE=([2k]=$TMP/body-2k.json [64k]=$TMP/body-64k.json [512k]=$TMP/body-512k.json
	[stream]=$TMP/body-stream.json)
declare -A BWORDS=([2k]= [64k]= [512k]= [stream]=2000)
declare -A BLABEL=([2k]="2 KB" [64k]="64 KB" [512k]="512 KB" [stream]="2000 deltas")
TARGETS=(direct sentrix nginx)
declare -A URL=([direct]=$MOCK_URL [sentrix]=$GW_URL [nginx]=$NGX_URL)
declare -A LABEL=([direct]="direct (mock)" [sentrix]="sentrix" [nginx]="nginx (1 worker)")
declare -A GOAL=([1]=1.0 [64]=1.0 [512]=0.8)
if step 2; then
# Warm-up: connection pools, page cache, the proxies' allocators.
for b in "${BODIES[@]}"; do
	for tg in "${TARGETS[@]}"; do
		bench "${URL[$tg]}" 64 "${BFILE[$b]}" "${BWORDS[$b]}" 1 >/dev/null || exit 1
		quiesce
	done
done
settle
rec0=$(metric sentrix_capture_records_total)
sx_requests=0 sx_inflight=0 sx_errors=0

declare -A RPS P50 P99 ERR DRAINS
for b in "${BODIES[@]}"; do
	for c in "${CONCS[@]}"; do
		declare -A r_rps=() r_p50=() r_p99=() r_err=()
		for ((i = 0; i < RUNS; i++)); do
			for tg in "${TARGETS[@]}"; do
				res=$(bench "${URL[$tg]}" "$c" "${BFILE[$b]}" "${BWORDS[$b]}") || exit 1
				read -r rps p50 p99 n e <<<"$res"
				# Sentrix's recorder may still be writing the run's records
				# when wrk stops (its backlog): that time is the run's too.
				if [ $tg = sentrix ]; then
					d=$(drain)
					rps=$(awk -v n="$n" -v t="$DUR" -v d="$d" 'BEGIN{printf "%.2f", n / (t + d / 1000)}')
					DRAINS[$b $c]+="$d "
				fi
				r_rps[$tg]+="$rps " r_err[$tg]=$((${r_err[$tg]:-0} + e))
				# wrk's percentiles are over completed requests only
				[ "$n" -gt 0 ] && r_p50[$tg]+="$p50 " r_p99[$tg]+="$p99 "
				quiesce
				if [ $tg = sentrix ]; then
					sx_requests=$((sx_requests + n)) sx_inflight=$((sx_inflight + c)) sx_errors=$((sx_errors + e))
				fi
			done
			alive "$MOCK_PID" mock-llm "$TMP/mock.out"
			alive "$GW_PID" sentrix-gateway "$GW_LOG"
			alive "$NGX_WORKER" "nginx worker" "$TMP/ngx/logs/error.log"
		done
		for tg in "${TARGETS[@]}"; do
			k="$b $c $tg"
			RPS[$k]=$(printf '%s\n' ${r_rps[$tg]} | med)
			P50[$k]=- P99[$k]=-
			if [ -n "${r_p50[$tg]:-}" ]; then
				P50[$k]=$(printf '%s\n' ${r_p50[$tg]} | med)
				P99[$k]=$(printf '%s\n' ${r_p99[$tg]} | med)
			fi
			ERR[$k]=${r_err[$tg]}
		done
	done
done
settle
rec1=$(metric sentrix_capture_records_total)

echo
echo "2. Traffic: chat-completions bodies of 2 KB, 64 KB, 512 KB (non-streaming) and a"
echo "stream of 2000 deltas (2 KB body); latency in us (wrk: whole response); added ="
echo "proxied - direct; errors = non-2xx + socket errors (timeout 10 s) over all runs."
echo "p99 and c=512 figures are noisy: the proxy, the mock and wrk share $(nproc) CPUs."
echo "A request slower than a whole run (${DUR} s) is not counted: 0 req/s and no latency (-)."
echo "Sentrix's req/s is over the run and the time its recorder took after it to write"
echo "the run's records (drain, median per cell in the last column)."
printf '  %-11s %5s  %-18s %9s %9s %9s %9s %9s %6s %6s\n' body conc target "req/s" p50 p99 "+p50" "+p99" errors drain
for b in "${BODIES[@]}"; do
	for c in "${CONCS[@]}"; do
		for tg in "${TARGETS[@]}"; do
			k="$b $c $tg" d="$b $c direct"
			add50=- add99=-
			[ $tg != direct ] && [ "${P50[$k]}" != - ] && [ "${P50[$d]}" != - ] &&
				add50=$((P50[$k] - P50[$d])) add99=$((P99[$k] - P99[$d]))
			dr=
			[ $tg = sentrix ] && dr="$(printf '%s\n' ${DRAINS[$b $c]} | med)ms"
			printf '  %-11s %5s  %-18s %9s %9s %9s %9s %9s %6s %6s\n' "${BLABEL[$b]}" $c "${LABEL[$tg]}" \
				"${RPS[$k]}" "${P50[$k]}" "${P99[$k]}" $add50 $add99 "${ERR[$k]}" "$dr"
		done
	done
done

echo
echo "sentrix vs nginx (1 worker): throughput ratio (target >= 1.0x at c=1 and c=64,"
echo ">= 0.8x at c=512) and, at c=1, added p50 sentrix - nginx (target <= +20 us)"
for b in "${BODIES[@]}"; do
	for c in "${CONCS[@]}"; do
		s="$b $c sentrix" n="$b $c nginx"
		ratio=$(awk "BEGIN{printf \"%.2f\", ${RPS[$n]} ? ${RPS[$s]} / ${RPS[$n]} : 0}")
		verdict "$(le "${GOAL[$c]}" "$ratio")" \
			"$(printf '%-11s c=%-4s throughput %5sx nginx (target >= %s)' "${BLABEL[$b]}" $c "$ratio" "${GOAL[$c]}")"
		if [ "$c" = 1 ] && [ "${P50[$s]}" = - ]; then
			verdict 0 "$(printf '%-11s c=%-4s added p50: no sentrix request completed' "${BLABEL[$b]}" $c)"
		elif [ "$c" = 1 ]; then
			diff=$((P50[$s] - ${P50[$n]/-/999999999}))
			verdict "$(le "$diff" 20)" \
				"$(printf '%-11s c=%-4s added p50 %+6d us vs nginx (target <= +20 us)' "${BLABEL[$b]}" $c "$diff")"
		fi
		[ "${ERR[$s]}" = 0 ] || echo "  note: sentrix answered ${ERR[$s]} requests of this cell with errors (nginx: ${ERR[$n]})"
	done
done

fi

# ---- 3. CPU per delta ---------------------------------------------------
# deltas PORT PATH PID WORDS: us of PID's CPU per delta over CPU_DELTAS
# deltas as streams of WORDS deltas; sets DELTA_US and DELTA_CPU_MS.
SYS_REC=0 # calls made through sentrix by calls.py (steps 3 and 4)
deltas() {
	local n=$((CPU_DELTAS / $4)) before after
	# Every earlier call's record written and the CPUs quiet first; and
	# this phase's records written before its CPU is read.
	drain >/dev/null
	quiesce
	before=$(cpu_us "$3")
	python3 "$TMP/calls.py" "$1" "$2" "$n" "$TMP/body-stream.json" "$4" || die "streams of $4 deltas failed"
	drain >/dev/null
	after=$(cpu_us "$3")
	[ "$1" = $GW_PORT ] && SYS_REC=$((SYS_REC + n))
	DELTA_CPU_MS=$(((after - before) / 1000))
	DELTA_US=$(awk "BEGIN{printf \"%.2f\", ($after - $before) / ($n * $4)}")
}
if step 3; then
echo
echo "3. CPU per delta: $CPU_DELTAS deltas as sequential streams of 200 and of 2000 deltas"
echo "(one keep-alive client; proxy utime+stime, all threads, ${HZ} Hz ticks)"
printf '  %-18s %16s %16s %8s\n' "" "us/delta (200)" "us/delta (2000)" ratio
for tg in sentrix nginx; do
	if [ $tg = sentrix ]; then args=($GW_PORT $GW_PATH $GW_PID); else args=($NGX_PORT /mock/chat/completions $NGX_WORKER); fi
	deltas "${args[@]}" 200; u200=$DELTA_US ms200=$DELTA_CPU_MS
	deltas "${args[@]}" 2000; u2000=$DELTA_US ms2000=$DELTA_CPU_MS
	ratio=$(awk "BEGIN{printf \"%.2f\", ($u200 > 0 ? $u2000 / $u200 : 0)}")
	printf '  %-18s %16s %16s %8s   (%d and %d ms of CPU)\n' "${LABEL[$tg]}" "$u200" "$u2000" "$ratio" $ms200 $ms2000
	[ $tg = sentrix ] && sx_ratio=$ratio
done
verdict "$(le "$sx_ratio" "$FLAT")" "sentrix CPU per delta flat: 2000-delta / 200-delta = ${sx_ratio} (target <= $FLAT)"

fi

# ---- 4. syscalls per call -----------------------------------------------
# traced PID OUT N BODYFILE WORDS PORT PATH: strace -c -f on PID (all its
# threads) while calls.py makes N calls; OUT gets strace's table.
traced() {
	local sp
	strace -c -f -p "$1" -o "$2" 2>"$2.err" &
	sp=$!; PIDS+=($sp)
	wait_for 5 grep -q attached "$2.err" || { cat "$2.err"; die "strace could not attach to $1"; }
	sleep 0.2
	python3 "$TMP/calls.py" "$6" "$7" "$3" "$4" "$5" || die "calls under strace failed"
	[ "$6" = $GW_PORT ] && SYS_REC=$((SYS_REC + $3))
	sleep 0.3 # what the proxy does after the last answer (records, pool)
	stop $sp
	[ -s "$2" ] || die "strace wrote no summary"
}
# per_call OUT N: total syscalls per call; top5 OUT N: the 5 most frequent.
per_call() { awk -v n="$2" '$NF == "total" {printf "%.1f", $4 / n}' "$1"; }
top5() {
	awk '/^-/ {s++; next} s == 1 && NF >= 5 {print $4, $NF}' "$1" | sort -nr | head -5 |
		awk -v n="$2" '{printf "%s %.1f  ", $2, $1 / n}'
}
if step 4; then
echo
echo "4. Syscalls per call (strace -c -f on the proxy: the gateway's threads, the nginx"
echo "worker; one keep-alive client, c=1)"
printf '  %-34s %12s %18s\n' "" sentrix "nginx (1 worker)"
for kind in 2k stream; do
	if [ $kind = 2k ]; then n=$SYS_CALLS w=0 what="2 KB non-streaming ($n calls)"
	else n=$SYS_STREAMS w=200 what="200-delta stream ($n calls)"; fi
	traced "$GW_PID" "$TMP/strace-sx-$kind" $n "${BFILE[$kind]}" $w $GW_PORT $GW_PATH
	traced "$NGX_WORKER" "$TMP/strace-ngx-$kind" $n "${BFILE[$kind]}" $w $NGX_PORT /mock/chat/completions
	printf '  %-34s %12s %18s\n' "$what" "$(per_call "$TMP/strace-sx-$kind" $n)" "$(per_call "$TMP/strace-ngx-$kind" $n)"
done
for kind in 2k stream; do
	[ $kind = 2k ] && n=$SYS_CALLS what="2 KB" || n=$SYS_STREAMS what="stream"
	echo "  top 5 per call, $what:"
	echo "    sentrix  $(top5 "$TMP/strace-sx-$kind" $n)"
	echo "    nginx    $(top5 "$TMP/strace-ngx-$kind" $n)"
done

fi

# ---- 5. capture ---------------------------------------------------------
if [ "$STEPS" = " 1 2 3 4 5 " ]; then
settle
rec2=$(metric sentrix_capture_records_total)
cap_err=$(metric sentrix_capture_errors_total)
echo
echo "5. Capture (sentrix records every call; nginx records nothing)"
echo "  step 1: records grew by $hold_rec for $((STREAMS + 1)) streams (1 warm-up); capture errors: ${hold_err:-?}"
echo "  step 2: records grew by $((rec1 - rec0)) for $sx_requests requests wrk completed"
echo "          (plus up to $sx_inflight in flight when a wrk run stopped and $sx_errors failed)"
echo "  steps 3-4: records grew by $((rec2 - rec1)) for $SYS_REC calls; capture errors: ${cap_err:-?}"
ok=1
[ "$hold_rec" = $((STREAMS + 1)) ] || ok=0
[ $((rec1 - rec0)) -ge "$sx_requests" ] && [ $((rec1 - rec0)) -le $((sx_requests + sx_inflight + sx_errors)) ] || ok=0
[ $((rec2 - rec1)) = "$SYS_REC" ] || ok=0
verdict $ok "records = requests in every step"
verdict "$([ "${hold_err:-x}" = 0 ] && [ "${cap_err:-x}" = 0 ] && echo 1 || echo 0)" "capture errors 0"

else
	echo
	echo "5. Capture: not checked (STEPS=$STEPS)"
fi

if step 2; then
# The mock's headroom: direct req/s over the better proxy's, per cell.
low=
for b in "${BODIES[@]}"; do
	for c in "${CONCS[@]}"; do
		best=${RPS[$b $c nginx]}
		[ "${RPS[$b $c sentrix]}" -gt "$best" ] && best=${RPS[$b $c sentrix]}
		h=$(awk "BEGIN{printf \"%.1f\", ($best ? ${RPS[$b $c direct]} / $best : 99)}")
		[ "$(le 1.5 "$h")" = 1 ] || low+="${low:+, }${BLABEL[$b]} c=$c (${h}x)"
	done
done
mock_stats=$(curl -sf http://127.0.0.1:$MOCK_PORT/_mock/stats)
echo
echo "Mock upstream: $mock_stats"
if [ -z "$low" ]; then
	echo "  on its own it serves at least 1.5x the req/s of sentrix and of nginx in every"
	echo "  cell: the proxies, not the mock, are measured"
else
	echo "  warning: the mock alone serves less than 1.5x the req/s of the faster proxy in"
	echo "  $low; it may be the bottleneck there"
fi
fi
echo
[ "$STEPS" = " 1 2 3 4 5 " ] || echo "  partial run (STEPS=$STEPS BODIES=${BODIES[*]} CONCS=${CONCS[*]})"
[ $missed = 0 ] && echo "  all targets met" || echo "  TARGETS MISSED: $missed"
echo "  bench/llm.sh took $(( ($(now_us) - t_start) / 1000000 )) s"
