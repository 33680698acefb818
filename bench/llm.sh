#!/bin/bash
# make bench: the LLM proxy (build/sentrix-gateway, run as nobody outside any
# instance) against nginx as a streaming reverse proxy doing the same job
# (proxy_buffering off, keep-alive pool to the upstream, the Authorization
# header replaced by the real key), both in front of the C mock upstream
# build/tests/mock-llm.  Root only (setpriv); loopback ports 28100-28199.
#
#   1. Memory, on freshly started processes: VmRSS of the gateway (and of
#      the nginx worker) before and while 1000 streams are held open against
#      a mock stream that hangs after its first event (X-Mock-Hang: 1).
#   2. Traffic: wrk against the mock directly, through sentrix and through
#      nginx, ~1 KB chat-completions bodies, non-streaming and streaming, at
#      1, 64 and 512 connections; medians of RUNS runs of DUR seconds,
#      targets interleaved within each cell.  "added" latency = proxied
#      minus direct.  Targets: sentrix's throughput >= 0.8x nginx's and its
#      added p50 within 100 us of nginx's.
#
# Sentrix also writes every call to its capture file (and a spool file while
# the call is open); nginx (access_log off) records nothing.
#
# CPU placement: nothing is pinned.  On this 2-CPU machine, pinning the proxy
# to CPU 0 and the mock and wrk to CPU 1 was measured to be worse for every
# target: c=1 latency rose 3-10x (each hop became a cross-CPU wake-up) and
# the shared mock+wrk CPU capped direct and nginx throughput.  Unpinned, the
# proxy, the mock (2 threads) and wrk share both CPUs, the same for sentrix
# and nginx; the direct rows show what the mock and wrk reach on their own.
#
# DUR (seconds per wrk run, default 4) and RUNS (default 3) keep the whole
# bench at about 5 minutes.
source "$(dirname "$0")/lib.sh"
DUR=${DUR:-4}
RUNS=${RUNS:-3}
STREAMS=${STREAMS:-1000}
MOCK_PORT=28190 GW_BASE=28100 NGX_PORT=28110 NGXA_PORT=28111
GW_URL=http://127.0.0.1:$((GW_BASE + 1))/mock/chat/completions
GW_METRICS=http://127.0.0.1:$((GW_BASE + 3))/metrics
MOCK_URL=http://127.0.0.1:$MOCK_PORT/v1/chat/completions
NGX_URL=http://127.0.0.1:$NGX_PORT/mock/chat/completions
NGXA_URL=http://127.0.0.1:$NGXA_PORT/mock/chat/completions
GW=$BUILD/sentrix-gateway MOCK=$BUILD/tests/mock-llm

for c in wrk nginx setpriv python3 curl; do
	command -v $c >/dev/null || { echo "bench/llm.sh needs $c"; exit 1; }
done
for f in "$GW" "$MOCK"; do
	[ -x "$f" ] || { echo "bench/llm.sh: $f is missing (make && make $MOCK)"; exit 1; }
done
# 1000 streams cost the gateway 2000 descriptors, the hold client 1000.
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

# stop PID: SIGTERM, wait for it, drop it from PIDS.
stop() {
	local p keep=()
	kill "$1" 2>/dev/null; wait "$1" 2>/dev/null
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
metric() { curl -sf "$GW_METRICS" | awk -v m="$1" '$1 == m {print $2}'; }
# alive PID NAME LOG: fails loudly if a component died mid-bench.
alive() { kill -0 "$1" 2>/dev/null || { tail -20 "$3" >&2; die "$2 died"; }; }

# The request bodies (~1 KB) and wrk's script.
python3 - "$TMP" <<'EOF' || die "cannot write the request bodies"
import json, sys
msgs = [{"role": "system", "content": "You are a helpful assistant. " * 12},
        {"role": "user", "content": "Please summarise the following text. " + "lorem ipsum dolor sit amet " * 20}]
for name, extra in (("body.json", {}), ("body-stream.json", {"stream": True})):
    with open(f"{sys.argv[1]}/{name}", "w") as f:
        json.dump({"model": "mock-model", **extra, "messages": msgs}, f)
EOF
cat >"$TMP/post.lua" <<'EOF'
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sxtoken-test"
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

# start_mock: the mock with 2 threads (libmicrohttpd's thread pool; with
# --threads 1 its single polling thread was seen to stall with 128+ clients).
start_mock() {
	"$MOCK" --listen 127.0.0.1:$MOCK_PORT --quiet --threads 2 >"$TMP/mock.out" 2>&1 &
	MOCK_PID=$!; PIDS+=($MOCK_PID)
	wait_for 5 grep -q '^ready' "$TMP/mock.out" || { cat "$TMP/mock.out"; die "mock-llm did not start"; }
}

# start_gateway: a fresh config dir, the gateway as nobody.
start_gateway() {
	local d=$TMP/gw$1
	"$TOP/tests/helpers/gw-config.py" "$d" --port-base $GW_BASE --name sxtbench \
		--provider mock,openai-completions,http://127.0.0.1:$MOCK_PORT/v1,MOCK_KEY \
		--secret MOCK_KEY=sk-bench || die "gw-config.py failed"
	chown -R nobody "$d"
	setpriv --reuid nobody --regid nogroup --clear-groups "$GW" --name sxtbench \
		--config "$d/config.json" --listen 127.0.0.1 --grace-secs 1 >"$d.log" 2>&1 &
	GW_PID=$!; PIDS+=($GW_PID)
	wait_for 5 curl -sf "$GW_METRICS" || { cat "$d.log"; die "sentrix-gateway did not start"; }
	GW_LOG=$d.log
}

# start_nginx NAME PORT WORKERS: a private nginx (own prefix, pid file and
# logs, daemon off, so $! is its master).
start_nginx() {
	local d=$TMP/$1
	mkdir -p "$d/logs" "$d/tmp"
	cat >"$d/nginx.conf" <<-EOF
	daemon off;
	worker_processes $3;
	worker_rlimit_nofile 65536;
	pid $d/nginx.pid;
	error_log $d/logs/error.log warn;
	events { worker_connections 16384; }
	http {
	  access_log off;
	  client_body_temp_path $d/tmp/body; proxy_temp_path $d/tmp/proxy;
	  fastcgi_temp_path $d/tmp/fcgi; uwsgi_temp_path $d/tmp/uwsgi; scgi_temp_path $d/tmp/scgi;
	  keepalive_requests 1000000;
	  upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 256; keepalive_requests 1000000; }
	  server {
	    listen 127.0.0.1:$2 backlog=4096;
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
	local pid=$!; PIDS+=($pid)
	wait_for 5 curl -sf -o /dev/null -d @"$TMP/body.json" "http://127.0.0.1:$2/mock/chat/completions" ||
		{ cat "$d/logs/error.log"; die "nginx ($1) did not start"; }
	eval "${1^^}_PID=$pid"
}

# hold NAME PORT PATH PID: RSS of PID before and with STREAMS held streams;
# prints a row and sets HOLD_KIB (per stream, KiB).
hold() {
	local out=$TMP/hold-$1.out before after py
	curl -sf -o /dev/null --max-time 5 -d @"$TMP/body-stream.json" -H 'Authorization: Bearer sxtoken-test' \
		"http://127.0.0.1:$2$3" || die "$1: a warm-up stream failed"
	sleep 0.2
	before=$(rss_kib "$4")
	python3 "$TMP/hold.py" "$2" "$3" "$STREAMS" "$TMP/body-stream.json" >"$out" 2>&1 &
	py=$!; PIDS+=($py)
	wait_for 60 grep -q '^open' "$out" || { tail -5 "$out"; die "$1: could not open $STREAMS streams"; }
	sleep 0.5
	after=$(rss_kib "$4")
	stop $py
	HOLD_KIB=$(awk "BEGIN{printf \"%.1f\", ($after - $before) / $STREAMS}")
	printf '  %-28s %9s %9s %12s\n' "$1" "$before" "$after" "$HOLD_KIB"
}

t_start=$(now_us)

# ---- 1. memory ----------------------------------------------------------
start_mock
start_gateway 1
start_nginx ngx1 $NGX_PORT 1
NGX_WORKER=$(pgrep -P "$NGX1_PID" | head -1)
echo "sentrix LLM proxy bench (wrk ${DUR}s x $RUNS runs per cell, medians; nothing pinned, $(nproc) CPUs)"
echo "  $GW built $(date -r "$GW" '+%F %T')"
echo
echo "Memory: VmRSS with $STREAMS open streams (mock X-Mock-Hang: 1), KiB"
printf '  %-28s %9s %9s %12s\n' "" before after "per stream"
hold "sentrix-gateway" $((GW_BASE + 1)) /mock/chat/completions "$GW_PID"
gw_kib=$HOLD_KIB
sleep 2 # the clients are gone: every upstream stream should be closed by now
gw_left=$(metric sentrix_llm_open_streams)
hold "nginx worker (reference)" $NGX_PORT /mock/chat/completions "$NGX_WORKER"
missed=0
if awk "BEGIN{exit !($gw_kib <= 64)}"; then
	echo "  sentrix: $gw_kib KiB per stream (target <= 64 KiB): ok"
else
	echo "  sentrix: $gw_kib KiB per stream (target <= 64 KiB): target missed"
	missed=1
fi
[ "${gw_left:-0}" = 0 ] ||
	echo "  note: 2 s after its $STREAMS clients closed, the gateway still had $gw_left upstream streams open"
stop "$GW_PID"; stop "$NGX1_PID"; stop "$MOCK_PID"

# ---- 2. traffic ---------------------------------------------------------
start_mock
start_gateway 2
start_nginx ngx1 $NGX_PORT 1
start_nginx ngxa $NGXA_PORT auto

# to_us VALUE: wrk's "85.00us" / "2.55ms" / "1.27s" / "1.00m" in us.
to_us() { awk -v v="$1" 'BEGIN{u = v; sub(/[0-9.]+/, "", u); n = v + 0;
	printf "%d", n * (u == "us" ? 1 : u == "ms" ? 1e3 : u == "s" ? 1e6 : u == "m" ? 6e7 : 1)}'; }
med() { sort -n | awk '{a[NR]=$1} END {printf "%d", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# bench URL CONNS BODY: one wrk run; prints "rps p50us p99us requests errors".
bench() {
	local t=2 out
	[ "$2" = 1 ] && t=1
	out=$(BODY=$3 wrk -t$t -c"$2" -d"${DUR}s" --latency -s "$TMP/post.lua" "$1") || die "wrk failed: $out"
	grep -q 'Requests/sec' <<<"$out" || die "wrk printed no result: $out"
	awk '/ 50%/ {p50=$2} / 99%/ {p99=$2} /requests in/ {n=$1} /Requests\/sec/ {r=$2}
	     /Non-2xx/ {e+=$NF} /Socket errors/ {gsub(/,/, ""); e+=$4+$6+$8+$10}
	     END {print r+0, p50, p99, n+0, e+0}' <<<"$out" | {
		read -r r p50 p99 n e
		echo "$r $(to_us "$p50") $(to_us "$p99") $n $e"
	}
}

declare -A URL=([direct]=$MOCK_URL [sentrix]=$GW_URL [nginx]=$NGX_URL [nginx-auto]=$NGXA_URL)
declare -A LABEL=([direct]="direct (mock)" [sentrix]="sentrix" [nginx]="nginx (1 worker)"
	[nginx-auto]="nginx (auto: $(nproc) workers)")
# Warm-up: connection pools, page cache, the gateway's allocator.
for tg in direct sentrix nginx nginx-auto; do
	BODY=$TMP/body.json wrk -t2 -c64 -d1s -s "$TMP/post.lua" "${URL[$tg]}" >/dev/null
done
rec0=$(metric sentrix_capture_records_total)
sx_requests=0 sx_inflight=0

declare -A RPS P50 P99 ERR
for mode in non-stream stream; do
	body=$TMP/body.json
	[ $mode = stream ] && body=$TMP/body-stream.json
	for c in 1 64 512; do
		targets=(direct sentrix nginx)
		[ "$c" -gt 1 ] && targets+=(nginx-auto)
		declare -A r_rps=() r_p50=() r_p99=() r_err=()
		for ((i = 0; i < RUNS; i++)); do
			for tg in "${targets[@]}"; do
				res=$(bench "${URL[$tg]}" "$c" "$body") || exit 1
				read -r rps p50 p99 n e <<<"$res"
				r_rps[$tg]+="$rps " r_p50[$tg]+="$p50 " r_p99[$tg]+="$p99 " r_err[$tg]=$((${r_err[$tg]:-0} + e))
				if [ $tg = sentrix ]; then
					sx_requests=$((sx_requests + n)) sx_inflight=$((sx_inflight + c))
				fi
			done
			alive "$MOCK_PID" mock-llm "$TMP/mock.out"
			alive "$GW_PID" sentrix-gateway "$GW_LOG"
		done
		for tg in "${targets[@]}"; do
			k="$mode $c $tg"
			RPS[$k]=$(printf '%s\n' ${r_rps[$tg]} | med)
			P50[$k]=$(printf '%s\n' ${r_p50[$tg]} | med)
			P99[$k]=$(printf '%s\n' ${r_p99[$tg]} | med)
			ERR[$k]=${r_err[$tg]}
		done
	done
done
sleep 0.5 # the last calls' records
rec1=$(metric sentrix_capture_records_total)
cap_err=$(metric sentrix_capture_errors_total)
mock_stats=$(curl -sf http://127.0.0.1:$MOCK_PORT/_mock/stats)

echo
echo "Traffic: ~1 KB chat-completions bodies; latency in us; added = proxied - direct;"
echo "errors = non-2xx + socket errors over all runs.  nginx (1 worker) matches the"
echo "gateway's single thread; the auto row is for reference.  p99 and c=512 figures"
echo "are noisy: the proxy, the mock and wrk share 2 CPUs."
printf '  %-10s %5s  %-24s %9s %9s %9s %9s %9s %6s\n' mode conc target "req/s" p50 p99 "+p50" "+p99" errors
for mode in non-stream stream; do
	for c in 1 64 512; do
		for tg in direct sentrix nginx nginx-auto; do
			k="$mode $c $tg" d="$mode $c direct"
			[ -n "${RPS[$k]:-}" ] || continue
			add50=- add99=-
			[ $tg != direct ] && add50=$((P50[$k] - P50[$d])) add99=$((P99[$k] - P99[$d]))
			printf '  %-10s %5s  %-24s %9s %9s %9s %9s %9s %6s\n' $mode $c "${LABEL[$tg]}" \
				"${RPS[$k]}" "${P50[$k]}" "${P99[$k]}" $add50 $add99 "${ERR[$k]}"
		done
	done
done

echo
echo "sentrix vs nginx (1 worker): throughput ratio (target >= 0.8) and added p50"
echo "difference, sentrix - nginx (target <= 100 us)"
for mode in non-stream stream; do
	for c in 1 64 512; do
		s="$mode $c sentrix" n="$mode $c nginx"
		ratio=$(awk "BEGIN{printf \"%.2f\", ${RPS[$n]} ? ${RPS[$s]} / ${RPS[$n]} : 0}")
		diff=$((P50[$s] - P50[$n]))
		verdict=ok
		awk "BEGIN{exit !($ratio >= 0.8 && $diff <= 100)}" || { verdict="target missed"; missed=1; }
		printf '  %-10s c=%-4s throughput %5sx   added p50 %+8d us   %s\n' $mode $c "$ratio" "$diff" "$verdict"
	done
done

echo
echo "Capture (sentrix records every call; nginx records nothing):"
echo "  sentrix_capture_records_total grew by $((rec1 - rec0)) for $sx_requests requests wrk completed"
echo "  (plus up to $sx_inflight in flight when a wrk run stopped, recorded as cancelled);"
echo "  capture errors: ${cap_err:-?}"
if [ $((rec1 - rec0)) -ge "$sx_requests" ] && [ $((rec1 - rec0)) -le $((sx_requests + sx_inflight)) ]; then
	echo "  every bench request was recorded"
else
	echo "  target missed: records and requests disagree"
fi
headroom=$(for mode in non-stream stream; do for c in 1 64 512; do
	best=${RPS[$mode $c nginx]}
	[ "${RPS[$mode $c sentrix]}" -gt "$best" ] && best=${RPS[$mode $c sentrix]}
	awk "BEGIN{printf \"%.1f\\n\", $best ? ${RPS[$mode $c direct]} / $best : 0}"
done; done | sort -n | head -1)
echo "Mock upstream: $mock_stats"
if awk "BEGIN{exit !($headroom >= 1.5)}"; then
	echo "  on its own it serves at least ${headroom}x the req/s of sentrix and of nginx"
	echo "  (1 worker) in every cell: the proxies, not the mock, are measured"
else
	echo "  warning: in some cell the mock alone serves only ${headroom}x the req/s of sentrix"
	echo "  or nginx (1 worker); it may be the bottleneck there"
fi
echo
[ $missed = 0 ] && echo "  targets met" || echo "  TARGETS MISSED"
echo "  bench/llm.sh took $(( ($(now_us) - t_start) / 1000000 )) s"
