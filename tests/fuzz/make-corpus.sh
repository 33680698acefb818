#!/bin/bash
# Regenerates the seed corpora tests/fuzz/corpus/NAME/ from what the tests
# send (docs/fuzzing.md, "Where the corpora come from").  Run it after
# changing the tests' requests, review `git status tests/fuzz/corpus`, and
# commit what changed.  Needs build/tests/mock-llm (make), curl, dig,
# dnsmasq and python3; no root; everything runs on 127.0.0.1.
#
#   llm       the raw HTTP requests curl sends in tests/integration/
#             test-gateway.sh (its fixture bodies, headers, chunked upload,
#             a bad-UTF-8 body, unknown route, no token, two pipelined),
#             captured by a one-shot listener, with the harness's token
#   record    what tests/helpers/mock-llm answers to those bodies (OpenAI
#             and Anthropic, streamed and whole, tool calls, errors), one
#             flag byte in front (fuzz-record.c)
#   egress    test-egress-proxy.sh's raw request heads (its IP-literal
#             spellings, refused names and ports) and the heads curl sends
#             to a proxy (CONNECT, absolute-URI GET, --proxy-header), each
#             with a read-size byte in front (fuzz-egress.c)
#   dns       the queries dig sends in test-egress-proxy.sh (A, AAAA, a
#             random unlisted name; UDP and TCP), and dnsmasq's answers to
#             them, with a transport byte in front (fuzz-dns.c)
#   capture   tests/integration/test-logs.sh's handcrafted capture files,
#             with a two-byte cut position in front (fuzz-capture.c)
#   allowlist host names and patterns from tests/unit/test-allowlist.c and
#             the IP-literal spellings of test-egress-proxy.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=tests/fuzz/corpus
TOKEN=sxt-fuzz-token-0123456789abcdef # fuzz-llm.c's TOKEN
MOCK=$BUILD/tests/mock-llm
for tool in curl dig python3 "$MOCK"; do
	command -v "$tool" >/dev/null || { echo "make-corpus: $tool is missing" >&2; exit 1; }
done
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || { echo "make-corpus: dnsmasq is missing" >&2; exit 1; }

T=$(mktemp -d /tmp/sxt-corpus.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
for n in llm record egress dns capture allowlist; do
	rm -rf "${OUT:?}/$n"
	mkdir -p "$OUT/$n"
done

# put NAME FILE PREFIX-BYTES (printf %b escapes, \xHH): one corpus file.
put() {
	{
		printf '%b' "$3"
		cat "$2"
	} >"$OUT/$1/$(basename "$2")"
}

# capture PORT DIR: a listener that saves each connection's request
# (request line, headers, body by Content-Length or chunked) as DIR/N,
# answers 100 Continue when asked and then a short 403, and exits after
# COUNT connections.
capture() {
	python3 - "$1" "$2" "$3" <<'PY' &
import os, socket, sys
port, out, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(8)
print("ready", flush=True)
for i in range(count):
    c, _ = s.accept()
    c.settimeout(3)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        h = head.lower()
        if b"expect: 100-continue" in h:
            c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if b"transfer-encoding: chunked" in h:
            while not body.endswith(b"0\r\n\r\n"):
                chunk = c.recv(65536)
                if not chunk:
                    break
                body += chunk
        else:
            n = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    n = int(v)
            while len(body) < n:
                chunk = c.recv(65536)
                if not chunk:
                    break
                body += chunk
    except socket.timeout:
        head, _, body = data.partition(b"\r\n\r\n")
    # The listener's random port would change the bytes at every run.
    head = head.replace(b"Host: 127.0.0.1:%d" % port, b"Host: 10.200.0.1:18790")
    with open(os.path.join(out, "%02d" % i), "wb") as f:
        f.write(head + b"\r\n\r\n" + body if data else b"")
    c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    c.close()
PY
	PIDS+=($!)
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

### The request bodies test-gateway.sh builds.
mkdir -p "$T/req"
# shellcheck disable=SC2016 # $TMP is the test script's text, not ours
sed -n '/^\/usr\/bin\/python3 - "$TMP\/req" <<'"'"'PY'"'"'$/,/^PY$/p' tests/integration/test-gateway.sh |
	sed '1d;$d' >"$T/fixtures.py"
[ -s "$T/fixtures.py" ] || { echo "make-corpus: test-gateway.sh's fixture script not found" >&2; exit 1; }
python3 "$T/fixtures.py" "$T/req"
printf '{"model":"m\xff","messages":[{"role":"user","content":"hi \xc3"}]}' >"$T/req/bad-utf8.json"

### llm: what curl sends to the LLM port.
P=$(free_port)
capture "$P" "$T/llm" 9 >"$T/llm.ready"
while ! grep -q ready "$T/llm.ready"; do sleep 0.1; done
L=http://127.0.0.1:$P
OA=(-H "Authorization: Bearer $TOKEN")
AN=(-H "x-api-key: $TOKEN" -H "anthropic-version: 2023-06-01")
post() { # URL BODY [CURL ARGS]
	local url=$1 body=$2
	shift 2
	curl -s -m 5 -o /dev/null -H 'Content-Type: application/json' --data-binary @"$T/req/$body" "$@" "$url" || true
}
post "$L/openai/chat/completions" oa.json "${OA[@]}" -H "X-Sentrix-Run: oa"
post "$L/openai/chat/completions" oa-stream.json "${OA[@]}" -H "X-Mock-Drip-Ms: 100" -H "X-Sentrix-Run: oa-s"
post "$L/anthropic/messages" an.json "${AN[@]}" -H "X-Sentrix-Run: an"
post "$L/anthropic/messages" an-tool-stream.json "${AN[@]}" -H "X-Sentrix-Run: an-tool"
post "$L/openai/chat/completions" oa-tool.json "${OA[@]}" -H "Transfer-Encoding: chunked"
post "$L/openai/chat/completions" bad-utf8.json "${OA[@]}" -H "X-Sentrix-Run: bad-utf8"
post "$L/nosuch/chat/completions" oa.json "${OA[@]}"
post "$L/openai/chat/completions" oa.json
curl -s -m 5 -o /dev/null "${OA[@]}" "$L/metrics" || true
wait "${PIDS[-1]}"
names=(oa oa-stream an an-tool-stream chunked bad-utf8 unknown-route no-token get-metrics)
for i in "${!names[@]}"; do
	cp "$T/llm/$(printf %02d "$i")" "$T/llm/${names[$i]}"
	put llm "$T/llm/${names[$i]}" ''
done
cat "$T/llm/oa" "$T/llm/an" >"$T/llm/pipelined"
put llm "$T/llm/pipelined" ''

### record: what the mock upstream answers.
"$MOCK" --listen 127.0.0.1:0 --quiet >"$T/mock.out" 2>&1 &
PIDS+=($!)
while ! grep -q '^ready' "$T/mock.out"; do sleep 0.1; done
M=http://127.0.0.1:$(awk '/^ready/ {print $2}' "$T/mock.out")/v1
answer() { # NAME PATH BODY [CURL ARGS]: saves the answer with its flag byte
	local name=$1 path=$2 body=$3 flags=0
	shift 3
	curl -s -m 10 -D "$T/$name.h" -o "$T/$name" -H 'Content-Type: application/json' \
		--data-binary @"$T/req/$body" "$@" "$M/$path" || true
	grep -qi '^content-type: text/event-stream' "$T/$name.h" && flags=1
	put record "$T/$name" "\\x0$flags"
}
answer oa chat/completions oa.json
answer oa-stream chat/completions oa-stream.json
answer oa-stream-2-words chat/completions oa-stream.json -H "X-Mock-Words: 2"
answer oa-tool chat/completions oa-tool.json
answer oa-429 chat/completions oa.json -H "X-Mock-Status: 429"
answer an messages an.json
answer an-stream messages an-stream.json
answer an-tool messages an-tool.json
answer an-tool-stream messages an-tool-stream.json
answer an-500 messages an.json -H "X-Mock-Status: 500"
# The same with --no-reasoning (flag 2) and cut short (flag 4).
put record "$T/oa-stream" '\x03' && mv "$OUT/record/oa-stream" "$OUT/record/oa-stream-no-reasoning" &&
	put record "$T/oa-stream" '\x01'
put record "$T/an-stream" '\x07' && mv "$OUT/record/an-stream" "$OUT/record/an-stream-no-reasoning-incomplete" &&
	put record "$T/an-stream" '\x01'

### egress: request heads, raw and as curl sends them to a proxy.
P=$(free_port)
capture "$P" "$T/eg" 4 >"$T/eg.ready"
while ! grep -q ready "$T/eg.ready"; do sleep 0.1; done
curl -s -m 3 -o /dev/null -x "http://127.0.0.1:$P" https://allowed.test/ || true
curl -s -m 3 -o /dev/null -x "http://127.0.0.1:$P" http://allowed.test/ || true
curl -s -m 3 -o /dev/null -x "http://127.0.0.1:$P" --proxy-header "X-Sentrix-Run: job-42" https://allowed.test/small || true
curl -s -m 3 -o /dev/null -x "http://127.0.0.1:$P" -H "X-Sentrix-Run: job-7" "http://x.wild.test/path?q=1" || true
wait "${PIDS[-1]}"
names=(curl-connect curl-get curl-connect-run-id curl-get-query)
for i in "${!names[@]}"; do
	mv "$T/eg/$(printf %02d "$i")" "$T/eg/${names[$i]}"
	put egress "$T/eg/${names[$i]}" '\xff'
done
put egress "$T/eg/curl-get" '\x00' && mv "$OUT/egress/curl-get" "$OUT/egress/curl-get-bytewise" &&
	put egress "$T/eg/curl-get" '\xff'
raw() { # NAME HEAD-LINE: raw_proxy's "HEAD\r\n\r\n"
	printf '%s\r\n\r\n' "$2" >"$T/eg/$1"
	put egress "$T/eg/$1" '\x0f'
}
raw connect-unlisted "CONNECT other.test:443 HTTP/1.1"
raw connect-apex "CONNECT wild.test:443 HTTP/1.1"
raw connect-llm-port "CONNECT 10.200.0.1:18790 HTTP/1.1"
raw connect-health-port "CONNECT 10.200.0.1:18792 HTTP/1.1"
raw get-hex-literal "GET http://0xc6336410/ HTTP/1.1"
raw connect-loopback-name "CONNECT loop.test:443 HTTP/1.1"
raw connect-port-8443 "CONNECT allowed.test:8443 HTTP/1.1"
printf 'CONNECT allowed.test:7000 HTTP/1.1\r\nHost: allowed.test:7000\r\n\r\n' >"$T/eg/connect-halfclose"
put egress "$T/eg/connect-halfclose" '\x3f'
spellings=$(sed -n '/^for spelling in/,/; do$/p' tests/integration/test-egress-proxy.sh |
	sed -e 's/^for spelling in//' -e 's/; do$//' -e 's/\\$//' | tr -d "'")
[ -n "$spellings" ] || { echo "make-corpus: test-egress-proxy.sh's IP spellings not found" >&2; exit 1; }
i=0
for s in $spellings; do
	raw "connect-literal-$i" "CONNECT $s:443 HTTP/1.1"
	i=$((i + 1))
done

### dns: dig's queries (udp, tcp) and dnsmasq's answers.
DP=$(free_port)
"$DNSMASQ" --keep-in-foreground --no-resolv --no-hosts --port="$DP" --listen-address=127.0.0.1 \
	--bind-interfaces --pid-file="$T/dnsmasq.pid" --address=/allowed.test/198.51.100.10 \
	--address=/allowed.test/2001:db8::10 --log-facility=/dev/null &
PIDS+=($!)
for _ in $(seq 50); do # until dnsmasq answers
	[ -n "$(dig +short +time=1 +tries=1 -p "$DP" @127.0.0.1 allowed.test 2>/dev/null)" ] && break
	sleep 0.1
done
QP=$(free_port)
python3 - "$QP" "$DP" "$T/dns" >"$T/dns.ready" <<'PY' &
import os, socket, sys
port, upstream, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", port))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port)); t.listen(1)
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); up.settimeout(2)
print("ready", flush=True)
def ask(q):
    for _ in range(3):
        up.sendto(q, ("127.0.0.1", upstream))
        try:
            return up.recvfrom(65535)[0]
        except socket.timeout:
            pass
    sys.exit("make-corpus: dnsmasq does not answer")
for i in range(3):
    q, peer = u.recvfrom(4096)
    a = ask(q)
    open(os.path.join(out, "udp%d.q" % i), "wb").write(q)
    open(os.path.join(out, "udp%d.a" % i), "wb").write(a)
    u.sendto(a, peer)
c, _ = t.accept()
buf = b""
while len(buf) < 2 or len(buf) < 2 + int.from_bytes(buf[:2], "big"):
    buf += c.recv(4096)
open(os.path.join(out, "tcp.q"), "wb").write(buf)
a = ask(buf[2:])
c.sendall(len(a).to_bytes(2, "big") + a)
c.close()
PY
PIDS+=($!)
while ! grep -q ready "$T/dns.ready" 2>/dev/null; do sleep 0.1; done
dig +time=2 +tries=1 -p "$QP" @127.0.0.1 allowed.test >/dev/null || true
dig +time=2 +tries=1 -p "$QP" @127.0.0.1 AAAA allowed.test >/dev/null || true
dig +time=2 +tries=1 -p "$QP" @127.0.0.1 "sxt$RANDOM.other.test" >/dev/null || true
dig +time=2 +tries=1 +tcp -p "$QP" @127.0.0.1 allowed.test >/dev/null || true
wait "${PIDS[-1]}"
names=(a-allowed aaaa-allowed a-unlisted)
for i in 0 1 2; do
	cp "$T/dns/udp$i.q" "$T/dns/udp-query-${names[$i]}"
	put dns "$T/dns/udp-query-${names[$i]}" '\x00'
	cp "$T/dns/udp$i.a" "$T/dns/upstream-answer-${names[$i]}"
	put dns "$T/dns/upstream-answer-${names[$i]}" '\x00'
done
cp "$T/dns/tcp.q" "$T/dns/tcp-query-a-allowed"
put dns "$T/dns/tcp-query-a-allowed" '\x01'
cat "$T/dns/tcp.q" "$T/dns/tcp.q" >"$T/dns/tcp-two-queries"
put dns "$T/dns/tcp-two-queries" '\x01'

### capture: test-logs.sh's fixture files.
{
	sed -n '/^rec() {$/,/^}$/p' tests/integration/test-logs.sh
	sed -n '/^### Fixtures/,/^### Listing/p' tests/integration/test-logs.sh
} >"$T/logs-fixtures.sh"
grep -q '^rec()' "$T/logs-fixtures.sh" || { echo "make-corpus: test-logs.sh's fixtures not found" >&2; exit 1; }
T=$T bash -c 'set -e; source "$T/logs-fixtures.sh"'
for f in "$T"/logs/llm-*.json; do
	size=$(stat -c %s "$f")
	half=$((size / 2))
	put capture "$f" "\\x$(printf %02x $((half >> 8)))\\x$(printf %02x $((half & 255)))"
done

### allowlist: names and patterns from the unit test and the proxy test.
al() { # NAME LINES...
	local name=$1
	shift
	printf '%s\n' "$@" >"$T/$name"
	put allowlist "$T/$name" ''
}
al wildcard A.Wild.Test. '*.wild.test' example.com Mixed.Case.ORG.
al apex wild.test '*.wild.test' example.com
al suffix badexample.com '*.example.com' example.com
al trailing example.com.. example.com
al ranges 10.1.2.3 '*.wild.test' 10.1.2.0/24 fd00::/8 169.254.169.254/32
al literal-short 127.1 '*.test'
al literal-hex 0x7f.0.0.1 '*.test'
al literal-number 2130706433 '*.test'
al numeric-label foo.0x1f '*.0x1f'
al idn xn--bcher-kva.ch '*.ch' xn--bcher-kva.ch
i=0
for s in $spellings; do
	al "proxy-spelling-$i" "$s" allowed.test '*.wild.test'
	i=$((i + 1))
done

du -sh "$OUT"/* | sed 's/^/make-corpus: /'
