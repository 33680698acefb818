#!/bin/bash
# The gateway's upstream HTTP/1.1 client (src/gateway/upclient.c), run by
# tests/helpers/upclient-drive.c against loopback servers on ports
# 28300-28399: the mock upstream (tests/helpers/mock-llm.c) plain and with
# TLS, and the small servers of tests/helpers/upclient-servers.py (a fake
# DNS, connections that break on their second request, HTTP oddities, a
# server that never says a word).  Checked: requests and responses byte for
# byte (a 512 KiB upload against the mock's --record, a 2000-delta stream
# against curl's copy), keep-alive reuse and concurrency, pause and resume,
# DNS, connect and TLS failures (no CA, wrong name, wrong IP, not TLS, a CA
# set at run time), stale kept-alive connections retried, a half response,
# timeouts, HTTP framing oddities, cancel from inside a callback and from a
# timer, freeing the client with requests open, idle connections expiring.
# The TLS material is made here with openssl.  Needs no root; about 10 s.
source "$(dirname "$0")/../lib.sh"

DRIVE=$BUILD/tests/upclient-drive
MOCK=$BUILD/tests/mock-llm
SRVPY=$TOP/tests/helpers/upclient-servers.py
TMP=$(mktemp -d /tmp/sxt-upc.XXXXXX)
PIDS=()     # all it starts
SRV_PIDS=() SRV_NAMES=() # the servers among them
declare -A BG=()
cleanup() {
	local p
	# TERM first: timeout(1) passes it on to the driver it runs.
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.1
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# The ports (TCP; 28353 is UDP, the fake DNS).
PLAIN=28301 TLS=28302 WRONG=28303 CLOSE=28310 RESET=28311 HALF=28312 ODD=28320 MUTE=28330 DNS=28353
CLOSED=28399 # nothing listens there
P=http://127.0.0.1:$PLAIN/v1/chat/completions
T=https://127.0.0.1:$TLS/v1/chat/completions
TN=https://localhost:$TLS/v1/chat/completions
CT=(--header "Content-Type: application/json")

# ---- helpers ----

# fatal MESSAGE: reports it and ends the test (the EXIT trap cleans up).
fatal() {
	not_ok "$1"
	summary
	exit 1
}

# start_server NAME COMMAND...: in the background, stdout and stderr in
# $TMP/srv-NAME.{out,err}; servers_ready waits (5 s at most) for the "ready"
# line of each.
start_server() {
	local name=$1
	shift
	"$@" >"$TMP/srv-$name.out" 2>"$TMP/srv-$name.err" &
	PIDS+=($!)
	SRV_PIDS+=($!)
	SRV_NAMES+=("$name")
}
servers_ready() {
	local i n
	for n in "${!SRV_NAMES[@]}"; do
		for i in $(seq 50); do
			grep -qs '^ready' "$TMP/srv-${SRV_NAMES[n]}.out" && continue 2
			kill -0 "${SRV_PIDS[n]}" 2>/dev/null || break
			sleep 0.1
		done
		sed 's/^/    | /' "$TMP/srv-${SRV_NAMES[n]}.err" | tail -5
		fatal "server ${SRV_NAMES[n]} did not start"
	done
}

# expect_out DESCRIPTION PATTERNS OUTPUT: passes when every extended regex
# of PATTERNS (separated by ;) matches somewhere in OUTPUT, and no sanitizer
# complained (`make asan` builds).
expect_out() {
	local desc=$1 pats=$2 out=$3 p missing=()
	local -a ps
	IFS=';' read -ra ps <<<"$pats"
	for p in "${ps[@]}"; do
		grep -Eq -- "$p" <<<"$out" || missing+=("/$p/")
	done
	grep -qE 'ERROR: AddressSanitizer|LeakSanitizer|runtime error' <<<"$out" && missing+=("(a sanitizer report)")
	if [ ${#missing[@]} = 0 ]; then
		ok "$desc"
	else
		not_ok "$desc: no ${missing[*]} in the driver's output:"
		tail -n 12 <<<"$out" | cut -c1-200 | sed 's/^/    | /'
	fi
}

# drive DESCRIPTION PATTERNS ARGS...: the driver (20 s at most) with ARGS,
# its stdout and stderr checked by expect_out.
drive() {
	local desc=$1 pats=$2
	shift 2
	expect_out "$desc" "$pats" "$(cd "$TMP" && timeout 20 "$DRIVE" "$@" 2>&1)"
}

# drive_bg NAME ARGS...: the driver in the background (for the checks that
# mostly wait); drive_wait NAME DESCRIPTION PATTERNS checks it once it ends.
drive_bg() {
	local name=$1
	shift
	(cd "$TMP" && exec timeout 20 "$DRIVE" "$@") >"$TMP/bg-$name.out" 2>&1 &
	PIDS+=($!)
	BG[$name]=$!
}
drive_wait() {
	wait "${BG[$1]}"
	expect_out "$2" "$3" "$(cat "$TMP/bg-$1.out")"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# recorded FILE LEN: "COUNT SHA256..." of the requests of FILE (a mock's
# --record) whose body had LEN bytes.
recorded() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
shas = [r["body_sha256"] for r in map(json.loads, open(sys.argv[1])) if r["body_len"] == int(sys.argv[2])]
print(len(shas), " ".join(sorted(set(map(str, shas)))))
PY
}

# ---- fixtures ----

CURRENT="fixtures"
[ -x "$DRIVE" ] || fatal "$DRIVE is missing (make $DRIVE)"
[ -x "$MOCK" ] || fatal "$MOCK is missing (make $MOCK)"
busy=""
for p in $PLAIN $TLS $WRONG $CLOSE $RESET $HALF $ODD $MUTE $CLOSED; do
	tcp_connects 127.0.0.1 $p && busy="$busy $p"
done
[ -z "$busy" ] || fatal "ports in use on 127.0.0.1:$busy"

# TLS: a CA; "good" for localhost and 127.0.0.1; "wrong" for another name
# and address, signed by the same CA.
mkdir "$TMP/tls"
cat >"$TMP/tls/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = sentrix upclient test
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[good]
subjectAltName = DNS:localhost,IP:127.0.0.1
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
[wrong]
subjectAltName = DNS:wrong.example,IP:192.0.2.7
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
EOF
make_tls() {
	local d=$TMP/tls cnf=$TMP/tls/openssl.cnf ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes) n c
	openssl req -config "$cnf" -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
		-extensions ca -subj "/CN=sentrix upclient test CA" || return 1
	n=1
	for c in good wrong; do
		n=$((n + 1))
		openssl req -config "$cnf" -new "${ec[@]}" -keyout "$d/$c.key" -out "$d/$c.csr" -subj "/CN=$c" &&
			openssl x509 -req -in "$d/$c.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -set_serial $n \
				-days 2 -extfile "$cnf" -extensions "$c" -out "$d/$c.pem" || return 1
	done
}
check "TLS material made with openssl (a CA, a server certificate, a wrong one)" make_tls
[ -s "$TMP/tls/wrong.pem" ] || fatal "no TLS material, no point going on"
check "the server certificate verifies against the CA" \
	openssl verify -CAfile "$TMP/tls/ca.pem" -verify_ip 127.0.0.1 -verify_hostname localhost "$TMP/tls/good.pem"

# Bodies: a plain request, a streamed one, 512 KiB exactly.
B=$TMP/body.json S=$TMP/stream.json BIG=$TMP/big.json
printf '%s' '{"model":"m","messages":[{"role":"user","content":"hi"}]}' >"$B"
printf '%s' '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}' >"$S"
/usr/bin/python3 -c '
import json, sys
j = {"model": "m", "messages": [{"role": "user", "content": ""}]}
j["messages"][0]["content"] = "x" * (524288 - len(json.dumps(j)))
open(sys.argv[1], "w").write(json.dumps(j))' "$BIG"
check_eq "the upload is 512 KiB" 524288 "$(stat -c %s "$BIG")"

start_server plain "$MOCK" --listen 127.0.0.1:$PLAIN --record "$TMP/rec-plain.jsonl" --quiet
start_server tls "$MOCK" --listen 127.0.0.1:$TLS --tls-cert "$TMP/tls/good.pem" --tls-key "$TMP/tls/good.key" \
	--record "$TMP/rec-tls.jsonl" --quiet
start_server wrong "$MOCK" --listen 127.0.0.1:$WRONG --tls-cert "$TMP/tls/wrong.pem" --tls-key "$TMP/tls/wrong.key" --quiet
start_server dns /usr/bin/python3 "$SRVPY" dns $DNS
start_server close /usr/bin/python3 "$SRVPY" flaky $CLOSE close
start_server reset /usr/bin/python3 "$SRVPY" flaky $RESET reset
start_server half /usr/bin/python3 "$SRVPY" flaky $HALF half
start_server odd /usr/bin/python3 "$SRVPY" odd $ODD
start_server mute /usr/bin/python3 "$SRVPY" mute $MUTE
servers_ready
ok "the mock (plain, TLS, wrong certificate) and the helper servers are up"

# What curl gets: streams of 2000 and 300 deltas, a 20000-word answer.
ref() { # ref NAME BODY-FILE WORDS: "bytes=N sha256=HEX" of curl's copy
	curl -sS --noproxy '*' -m 20 -H 'Content-Type: application/json' -H "X-Mock-Words: $3" --data-binary @"$2" \
		-o "$TMP/$1.curl" $P && echo "bytes=$(stat -c %s "$TMP/$1.curl") sha256=$(sha "$TMP/$1.curl")"
}
SSE=$(ref sse "$S" 2000) SSE300=$(ref sse300 "$S" 300) LONG=$(ref long "$B" 20000)
check "curl's copies of the streams are event streams" \
	bash -c 'for f; do grep -q "^data: \[DONE\]" "$f" || exit 1; done' _ "$TMP/sse.curl" "$TMP/sse300.curl"
check "curl's copy of the 20000-word answer is JSON" /usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
	"$TMP/long.curl"

# The checks that mostly wait (pauses, timeouts, expiry) run meanwhile.
drive_bg pause-sse POST $P --body "$S" "${CT[@]}" --header 'X-Mock-Words: 300' --pause-ms 1
drive_bg pause-sse-tls POST $TN --ca "$TMP/tls/ca.pem" --body "$S" "${CT[@]}" --header 'X-Mock-Words: 300' \
	--pause-ms 1 -n 2
drive_bg pause-long POST $P --body "$B" "${CT[@]}" --header 'X-Mock-Words: 20000' --pause-ms 1 -n 3
drive_bg pause-cancel POST $P --body "$S" "${CT[@]}" --header 'X-Mock-Words: 2000' --cancel-after 30000 --pause-ms 1
drive_bg dns-timeout GET http://hang.test/ --dns 127.0.0.1:$DNS --connect-secs 1
drive_bg handshake-timeout GET https://127.0.0.1:$MUTE/ --connect-secs 1
drive_bg idle-timeout POST $P --body "$B" "${CT[@]}" --header 'X-Mock-Hang: 2' --idle-secs 1
drive_bg keepalive-expiry GET http://127.0.0.1:$PLAIN/health --keepalive-secs 1 --linger-ms 2500 --verbose

# ---- plain HTTP ----

CURRENT="plain"
drive "POST: 200 and the mock's answer" '^#1 200 bytes=323 ;ok=1 failed=0' POST $P --body "$B" "${CT[@]}"
drive "GET /health" '^#1 200 bytes=2 ' GET http://127.0.0.1:$PLAIN/health
drive "an HTTP error status is a response, not a failure" '^#1 500 ;ok=1 failed=0' \
	POST $P --body "$B" "${CT[@]}" --header 'X-Mock-Status: 500'
drive "a name resolved by the DNS server given" '^#1 200 bytes=2 ' GET http://mock.test:$PLAIN/health --dns 127.0.0.1:$DNS

# ---- failures before a response ----

CURRENT="errors"
drive "connection refused" "^#1 error connect: connect to 127.0.0.1:$CLOSED: Connection refused" \
	GET http://127.0.0.1:$CLOSED/
drive "DNS: NXDOMAIN" '^#1 error dns: DNS: nope.test: Domain name not found' GET http://nope.test/ --dns 127.0.0.1:$DNS
if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/'; then
	drive "an AAAA-only name: its address tried ([::1], refused)" \
		"^#1 error connect: connect to v6.test \(\[::1\]:$CLOSED\): Connection refused" \
		GET http://v6.test:$CLOSED/ --dns 127.0.0.1:$DNS
else
	skip "no ::1 on lo: an AAAA-only name not checked"
fi

# ---- TLS ----

CURRENT="tls"
drive "TLS to 127.0.0.1 with the CA" '^#1 200 bytes=323 ' POST $T --ca "$TMP/tls/ca.pem" --body "$B" "${CT[@]}"
drive "TLS to localhost with the CA" '^#1 200 bytes=323 ' POST $TN --ca "$TMP/tls/ca.pem" --body "$B" "${CT[@]}"
drive "TLS without the CA: refused" \
	'^#1 error tls: TLS: certificate verify failed: unable to get local issuer certificate' POST $T --body "$B" "${CT[@]}"
drive "TLS, certificate for another name: refused" '^#1 error tls: TLS: certificate verify failed: hostname mismatch' \
	GET https://localhost:$WRONG/health --ca "$TMP/tls/ca.pem"
drive "TLS, certificate for another address: refused" \
	'^#1 error tls: TLS: certificate verify failed: IP address mismatch' GET https://127.0.0.1:$WRONG/health --ca "$TMP/tls/ca.pem"
drive "TLS to a plain HTTP server: a handshake error" \
	"^#1 error tls: TLS handshake with 127.0.0.1:$PLAIN: (wrong version number|the server closed the connection)" \
	GET https://127.0.0.1:$PLAIN/health --ca "$TMP/tls/ca.pem"
drive "sx_upclient_set_ca_file at run time: refused before, accepted after" \
	'^#1 error tls: TLS: certificate verify failed;^#2 200 bytes=2 ' \
	GET https://localhost:$TLS/health -n 2 --set-ca "$TMP/tls/ca.pem"

# ---- bodies and streams ----

CURRENT="bodies"
drive "a 2000-delta stream, byte for byte as curl got it" "^#1 200 $SSE\$" \
	POST $P --body "$S" "${CT[@]}" --header 'X-Mock-Words: 2000'
drive "the same over TLS" "^#1 200 $SSE\$" \
	POST $TN --ca "$TMP/tls/ca.pem" --body "$S" "${CT[@]}" --header 'X-Mock-Words: 2000'
drive "a 512 KiB upload (plain)" '^#1 200 ;ok=1 failed=0' POST $P --body "$BIG" "${CT[@]}"
drive "two 512 KiB uploads over TLS on one connection" '^#2 200 ;ok=2 failed=0 .*max_conns=1 ' \
	POST $TN --ca "$TMP/tls/ca.pem" --body "$BIG" "${CT[@]}" -n 2
check_eq "the mock got the upload intact (plain: body_sha256 in its --record)" "1 $(sha "$BIG")" \
	"$(recorded "$TMP/rec-plain.jsonl" 524288)"
check_eq "the mock got both uploads intact (TLS)" "2 $(sha "$BIG")" "$(recorded "$TMP/rec-tls.jsonl" 524288)"

# ---- keep-alive and concurrency ----

CURRENT="reuse"
drive "1000 sequential requests on one kept-alive connection" 'ok=1000 failed=0 cancelled=0 max_conns=1 conns=1 ' \
	POST $P --body "$B" "${CT[@]}" -n 1000 --quiet
drive "300 sequential requests on one kept-alive TLS connection" 'ok=300 failed=0 cancelled=0 max_conns=1 conns=1 ' \
	POST $TN --ca "$TMP/tls/ca.pem" --body "$B" "${CT[@]}" -n 300 --quiet
drive "1000 requests, 64 at a time: 64 connections, all kept" 'ok=1000 failed=0 cancelled=0 max_conns=64 conns=64 ' \
	POST $P --body "$B" "${CT[@]}" -n 1000 -c 64 --quiet
drive "256 TLS streams, 64 at a time" 'ok=256 failed=0 cancelled=0 max_conns=64 conns=64 ' \
	POST $TN --ca "$TMP/tls/ca.pem" --body "$S" "${CT[@]}" --header 'X-Mock-Words: 200' -n 256 -c 64 --quiet

# ---- broken connections ----

CURRENT="broken"
drive "a kept-alive connection closed (FIN) under a request: sent again" 'ok=4 failed=0;sending it again' \
	GET http://127.0.0.1:$CLOSE/ -n 4 --verbose
drive "a kept-alive connection reset (RST) under a request: sent again" 'ok=4 failed=0;sending it again' \
	GET http://127.0.0.1:$RESET/ -n 4 --verbose
drive "half a response then close: an error, not a retry" \
	'^#1 200 ;^#2 error other: the connection closed before the response ended' GET http://127.0.0.1:$HALF/ -n 2

# ---- HTTP oddities ----

CURRENT="http"
drive "1xx responses skipped" '^#1 200 bytes=5 ;header X-Final: yes' GET http://127.0.0.1:$ODD/100 --show-headers
drive "a body delimited by close (not kept)" '^#1 200 bytes=100000 ;conns=0 ' GET http://127.0.0.1:$ODD/close
drive "chunked with trailers, connection reused" '^#1 200 bytes=11 ;^#2 200 bytes=11 ;max_conns=1 ' \
	GET http://127.0.0.1:$ODD/trailers -n 2
drive "a head a byte at a time" '#1 header X-Long-Header-Name: some value here;^#1 200 bytes=3 ' \
	GET http://127.0.0.1:$ODD/slowhead --show-headers
drive "bytes after the response: the connection is not reused" '^#1 200 bytes=2 ;conns=0 ' GET http://127.0.0.1:$ODD/junk
drive "a malformed response" '^#1 error other: a malformed response' GET http://127.0.0.1:$ODD/bad
drive "a head over 64 KiB" '^#1 error other: the response head is larger than 64 KiB' GET http://127.0.0.1:$ODD/bighead
drive "204 without a body, connection reused" '^#1 204 bytes=0 ;^#2 204 bytes=0 ;max_conns=1 ' \
	GET http://127.0.0.1:$ODD/empty -n 2

# ---- cancel and free ----

CURRENT="cancel"
drive "cancelled from inside the body callback (TLS stream, 3 times)" \
	'cancelled in its body callback;cancelled=3 ' \
	POST $TN --ca "$TMP/tls/ca.pem" --body "$S" "${CT[@]}" --header 'X-Mock-Words: 2000' --cancel-after 1000 -n 3
drive "8 dripping streams cancelled from a timer" 'cancelled=8 ' \
	POST $T --ca "$TMP/tls/ca.pem" --body "$S" "${CT[@]}" --header 'X-Mock-Words: 100' --header 'X-Mock-Drip-Ms: 50' \
	-n 8 -c 8 --cancel-ms 300
drive "4 TLS handshakes cancelled from a timer" 'cancelled=4 ' GET https://127.0.0.1:$MUTE/ -n 4 -c 4 --cancel-ms 200
drive "the client freed with 8 streams open" 'freed the client with 8 requests open' \
	POST $TN --ca "$TMP/tls/ca.pem" --body "$S" "${CT[@]}" --header 'X-Mock-Words: 100' --header 'X-Mock-Drip-Ms: 50' \
	-n 8 -c 8 --free-after-ms 300
drive "the client freed while resolving" 'freed the client with 4 requests open' \
	GET http://hang.test/ --dns 127.0.0.1:$DNS -n 4 -c 4 --free-after-ms 200

# ---- the checks started with the fixtures ----

CURRENT="pause"
drive_wait pause-sse "paused in every body callback, resumed 1 ms later: the stream intact" "^#1 200 $SSE300\$"
drive_wait pause-sse-tls "the same over TLS, twice on one connection" "^#1 200 $SSE300\$;^#2 200 $SSE300\$;max_conns=1 "
drive_wait pause-long "a 20000-word answer paused and resumed, 3 times on one connection" \
	"^#1 200 $LONG\$;^#3 200 $LONG\$;max_conns=1 "
drive_wait pause-cancel "cancelled from inside the body callback of a paused and resumed stream" \
	'cancelled in its body callback;cancelled=1 '
CURRENT="timeouts"
drive_wait dns-timeout "DNS: no answer, timed out" '^#1 error timeout: DNS: hang.test: timed out'
drive_wait handshake-timeout "TLS handshake with a mute server: timed out" \
	"^#1 error timeout: connect to 127.0.0.1:$MUTE: timed out after 1 s"
drive_wait idle-timeout "no response head: timed out" "^#1 error timeout: 127.0.0.1:$PLAIN sent nothing for 1 s"
drive_wait keepalive-expiry "an idle kept-alive connection closed after keepalive_secs" \
	'ok=1 .* conns=0 ;idle connection closed after 1 s'

CURRENT="end"
i=0
for n in "${!SRV_PIDS[@]}"; do
	kill -0 "${SRV_PIDS[n]}" 2>/dev/null && i=$((i + 1)) && continue
	echo "# server ${SRV_NAMES[n]} is gone; its stderr:"
	tail -n 5 "$TMP/srv-${SRV_NAMES[n]}.err" | sed 's/^/#   /'
done
check_eq "the servers are all still running" ${#SRV_PIDS[@]} "$i"
echo "# $(basename "$0") took $SECONDS s"
summary
