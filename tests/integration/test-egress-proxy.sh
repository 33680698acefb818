#!/bin/bash
# The egress proxy and the filtered DNS forwarder of sentrix-gateway, tried
# the way a user meets them: an instance set up with the default policy plus
# the test's own domains (a copy of policy/default, as the README shows),
# the gateway started as its unit starts it, and every request made from
# inside the sandbox as the sandbox user, against the fake internet of
# tests/fakenet.sh (TEST-NET addresses in a namespace this test builds).
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/fakenet.sh"

NAME=sxt61
USER_=sandbox-$NAME
LOG=/var/log/sentrix/$NAME
TMP=$(mktemp -d /tmp/sxt-egress-proxy.XXXXXX)
chmod 755 "$TMP"
GWPID=""
cleanup() {
	[ -n "$GWPID" ] && kill "$GWPID" 2>/dev/null && wait "$GWPID" 2>/dev/null
	cleanup_instance $NAME
	fakenet_down
	rm -rf "$TMP"
}
trap cleanup EXIT

CURRENT=setup
fakenet_bigfile || { not_ok "the 1 GiB test file could not be made"; summary; exit 1; }
snap=$(snapshot) # before the fake internet: compared after both are gone
fakenet_up || { not_ok "the fake internet could not be built"; summary; exit 1; }
fwd_before=$(sysctl -n net.ipv4.ip_forward)

# The README's way to allow a domain: copy the default policy, edit it.
mkdir -p "$TMP/policy"
python3 - "$TOP/policy/default/policy.json" "$TMP/policy/policy.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["name"] = "sxtpol"
p["egress"]["domains"] += ["allowed.test", "*.wild.test", "loop.test", "private.test"]
p["egress"]["ports"] = [80, 443, 7000]
json.dump(p, open(sys.argv[2], "w"), indent=1)
EOF
out=$("$SENTRIX" policy check "$TMP/policy" 2>&1)
check "policy check: the edited policy is valid" grep -q "is valid" <<<"$out"
check "policy check warns: *.wild.test does not match wild.test" grep -q '"\*.wild.test" matches names below wild.test but not wild.test' <<<"$out"

check "setup --policy DIR --resolver (the fake internet's DNS)" \
	sx_setup --name $NAME --policy "$TMP/policy" --resolver $FAKENET_DNS
HOST_IP=$("$SETUP" status --name $NAME --json | json_get "j['network']['host_ip']")
check_eq "config.json: DNS mode filtered" filtered "$(json_get "j['dns']['mode']" </etc/sentrix/$NAME/config.json)"
check_eq "the sandbox's resolv.conf names the gateway (host-ip)" "nameserver $HOST_IP" \
	"$(grep ^nameserver /etc/netns/$NAME/resolv.conf)"
check_eq "nothing is routed for this policy: ip_forward untouched" "$fwd_before" "$(sysctl -n net.ipv4.ip_forward)"
check "nftables lets the sandbox reach host-ip:53 (udp and tcp)" \
	bash -c "nft list table inet sentrix_$NAME | grep -q 'ip daddr $HOST_IP udp dport 53 accept'"
cp "$FAKENET_CA" "/home/$USER_/ca.crt" && chown "$USER_" "/home/$USER_/ca.crt"

"${GATEWAY_AS_SENTRIX[@]}" --name $NAME 2>"$TMP/gw.stderr" &
GWPID=$!
wait_listening "$HOST_IP" 18791 && wait_listening "$HOST_IP" 18792
check_eq "the gateway listens on host-ip:18791 (egress) as user sentrix" 0 $?
check "... and answers DNS on host-ip:53" dig +short +time=2 +tries=1 @"$HOST_IP" allowed.test
check_eq "... with no capability left once listening" 0000000000000000 \
	"$(awk '/^CapEff/ {print $2}' /proc/$(pgrep -u sentrix -x sentrix-gateway | head -n1)/status)"

sbx() { "$SETUP" exec --name $NAME -- "$@"; }
# raw_proxy REQUEST-HEAD: sends it to the proxy from inside the sandbox, prints
# the status line and the body (bash's /dev/tcp: no client-side rewriting).
raw_proxy() {
	sbx bash -c 'exec 3<>/dev/tcp/'"$HOST_IP"'/18791 || exit 9; printf "%s\r\n\r\n" "$1" >&3; timeout 5 cat <&3' _ "$1" 2>&1 | tr -d '\r'
}
audit_has() { # PYTHON-CONDITION on each egress.jsonl record "r"
	python3 -c "import json,sys; sys.exit(0 if any($1 for r in map(json.loads, open('$LOG/egress.jsonl'))) else 1)"
}

CURRENT=allowed
out=$(sbx curl -sS -m 10 --cacert "/home/$USER_/ca.crt" https://allowed.test/ 2>&1)
check_eq "https://allowed.test from the sandbox (CONNECT through the proxy)" "hello from allowed.test" "$out"
out=$(sbx curl -sS -m 10 http://allowed.test/ 2>&1)
check_eq "http://allowed.test (plain HTTP forward)" "hello from allowed.test" "$out"
out=$(sbx curl -sS -m 10 --cacert "/home/$USER_/ca.crt" https://x.wild.test/ 2>&1)
check_eq "https://x.wild.test (under *.wild.test)" "hello from x.wild.test" "$out"
out=$(sbx curl -sS -m 10 --proxy-header "X-Sentrix-Run: job-42" --cacert "/home/$USER_/ca.crt" https://allowed.test/small 2>&1)
check_eq "a run id header (X-Sentrix-Run)" "$FAKENET_SMALL_BODY" "$out"
check "egress.jsonl: the CONNECT, allowed, with address, bytes and duration" \
	audit_has "r['kind']=='connect' and r['host']=='allowed.test' and r['decision']=='allowed' and r['address']=='$FAKENET_WEB2' and r['bytes_down']>0 and r['bytes_up']>0 and 'duration_ms' in r"
check "egress.jsonl: the plain HTTP forward, allowed, method GET" \
	audit_has "r['kind']=='http' and r['host']=='allowed.test' and r['decision']=='allowed' and r['method']=='GET'"
check "egress.jsonl: run id job-42 recorded" audit_has "r.get('run_id')=='job-42'"

CURRENT=refused
out=$(sbx curl -sS -m 10 --cacert "/home/$USER_/ca.crt" https://other.test/ 2>&1)
check "https://other.test fails: the proxy answers 403" grep -q "403" <<<"$out"
out=$(raw_proxy "CONNECT other.test:443 HTTP/1.1")
check "... with a one-line reason" grep -qx "sentrix egress: refused other.test:443: host is not in the policy's egress.domains" <<<"$out"
out=$(sbx curl -sS -m 10 http://other.test/ 2>&1)
check "plain http://other.test: 403 with the reason in the body" grep -q "refused other.test:80: host is not in" <<<"$out"
out=$(raw_proxy "CONNECT wild.test:443 HTTP/1.1")
check "wild.test (the apex of *.wild.test, not listed) refused" grep -q "^HTTP/1.1 403.*" <<<"$out"
for spelling in 198.51.100.10 3325256714 0306.063.0144.012 0xc6336410 0xc6.0x33.0x64.0xa 198.51.25610 \
	'[::ffff:198.51.100.10]' '[::1]' 127.1 198.51.100.10.; do
	out=$(raw_proxy "CONNECT $spelling:443 HTTP/1.1")
	check "IP literal $spelling refused (CONNECT)" grep -qE "^HTTP/1.1 (403|400)" <<<"$out"
done
out=$(raw_proxy "CONNECT $HOST_IP:18790 HTTP/1.1")
check "CONNECT to the gateway's own LLM port is relayed (OpenClaw's managed proxy sends LLM calls so)" \
	grep -q "^HTTP/1.1 200" <<<"$out"
out=$(raw_proxy "CONNECT $HOST_IP:18792 HTTP/1.1")
check "... but not to its health port" grep -q "^HTTP/1.1 403" <<<"$out"
out=$(raw_proxy "GET http://0xc6336410/ HTTP/1.1")
check "IP literal in a plain-HTTP URL refused, saying so" grep -q "IP address literal" <<<"$out"
out=$(raw_proxy "CONNECT loop.test:443 HTTP/1.1")
check "loop.test (allowed, resolves to 127.0.0.1) refused as loopback" grep -q "resolves to 127.0.0.1 (loopback)" <<<"$out"
out=$(raw_proxy "CONNECT private.test:443 HTTP/1.1")
check "private.test (allowed, resolves to 10.1.2.3) refused as private" grep -q "resolves to 10.1.2.3 (private)" <<<"$out"
out=$(raw_proxy "CONNECT allowed.test:8443 HTTP/1.1")
check "allowed.test:8443 (port not listed) refused" grep -q "port 8443 is not in the policy's egress.ports" <<<"$out"
check "egress.jsonl: other.test refused with its reason" \
	audit_has "r['host']=='other.test' and r['decision']=='refused' and 'egress.domains' in r['reason'] and r['status']==403"
check "egress.jsonl: loop.test refused with the address it resolved to" \
	audit_has "r['host']=='loop.test' and r['decision']=='refused' and r['address']=='127.0.0.1'"
check "egress.jsonl: every IP-literal refusal is there" \
	python3 -c "import json,sys; n=sum(1 for r in map(json.loads, open('$LOG/egress.jsonl')) if r['decision']!='allowed' and ('literal' in (r['reason'] or '') or 'CONNECT wants' in (r['reason'] or ''))); sys.exit(0 if n>=11 else 1)"
check "egress.jsonl: the port refusal" audit_has "r['port']==8443 and r['decision']=='refused'"
check_fails "a direct connection that skips the proxy is dropped (nftables)" \
	sbx curl -sS -m 3 --noproxy '*' --cacert "/home/$USER_/ca.crt" https://$FAKENET_WEB2/
check_fails "... and so is direct DNS to the fake internet's resolver" \
	sbx dig +short +time=2 +tries=1 @$FAKENET_DNS allowed.test

CURRENT="filtered DNS"
check_eq "an allowed name resolves in the sandbox (getent, its resolv.conf)" "$FAKENET_WEB2" \
	"$(sbx getent ahostsv4 allowed.test | awk 'NR==1 {print $1}')"
check_eq "... over TCP as well" "$FAKENET_WEB2" "$(sbx dig +tcp +short allowed.test)"
check "a question the upstream will not answer (AAAA: the fake DNS refuses) still gets an answer at once" \
	bash -c "'$SETUP' exec --name $NAME -- dig +time=1 +tries=1 AAAA allowed.test | grep -qE 'status: (SERVFAIL|NOERROR|REFUSED)'"
rnd=r$RANDOM$RANDOM
check "a random subdomain of an unlisted domain gets NXDOMAIN" \
	bash -c "'$SETUP' exec --name $NAME -- dig $rnd.other.test | grep -q 'status: NXDOMAIN'"
check "egress.jsonl: the NXDOMAIN is recorded" audit_has "r['kind']=='dns' and r['host']=='$rnd.other.test' and r['decision']=='refused'"
check "egress.jsonl: the allowed lookup is recorded with its answer" \
	audit_has "r['kind']=='dns' and r['host']=='allowed.test' and r['decision']=='allowed' and r['address']=='$FAKENET_WEB2'"

CURRENT=tunnels
t0=$SECONDS
sum=$(sbx bash -c "curl -sS -m 120 --cacert /home/$USER_/ca.crt https://allowed.test/big | sha256sum" 2>&1)
check_eq "1 GiB through a CONNECT tunnel: checksum equal at both ends ($((SECONDS - t0)) s)" \
	"$FAKENET_BIG_SHA256" "${sum%% *}"
check "egress.jsonl: that tunnel carried more than 1 GiB down" audit_has "r['kind']=='connect' and r['bytes_down']>=1073741824"
cat >"/home/$USER_/halfclose.py" <<'EOF'
# CONNECT to allowed.test:7000, send 1 MiB, shut the write side, read the
# server's reply: the tunnel must pass the FIN and still deliver the answer.
import hashlib, os, socket, sys
data = os.urandom(1 << 20)
s = socket.create_connection((sys.argv[1], 18791), timeout=10)
s.sendall(b"CONNECT allowed.test:7000 HTTP/1.1\r\nHost: allowed.test:7000\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
assert head.startswith(b"HTTP/1.1 200"), head
s.sendall(data)
s.shutdown(socket.SHUT_WR)
reply = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    reply += chunk
want = "got %d bytes sha256 %s" % (len(data), hashlib.sha256(data).hexdigest())
print("ok" if reply.decode().strip() == want else "got %r want %r" % (reply, want))
EOF
out=$(sbx python3 "/home/$USER_/halfclose.py" "$HOST_IP" 2>&1)
check_eq "half-close: the client's FIN passes, the server's answer still arrives" ok "$out"
m=$(curl -s -m 5 "http://$HOST_IP:18792/metrics")
check "/metrics counts refused CONNECTs" grep -qE '^sentrix_egress_decisions_total\{kind="connect",decision="refused"\} [1-9]' <<<"$m"
check "/metrics counts the bytes sent down" grep -qE '^sentrix_egress_bytes_down_total [0-9]{10,}' <<<"$m"

CURRENT="policy edit"
out=$(sx_setup --name $NAME --policy "$TMP/policy" --resolver $FAKENET_DNS 2>&1)
check "setup re-run with the same flags: nothing changed" grep -q "already set up" <<<"$out"
python3 -c "import json; f='$TMP/policy/policy.json'; p=json.load(open(f)); p['egress']['domains'].append('other.test'); json.dump(p, open(f, 'w'))"
out=$(sx_setup --name $NAME --policy "$TMP/policy" --resolver $FAKENET_DNS 2>&1)
check "setup re-run after editing the policy reloads the running gateway" grep -q "gateway reloaded" <<<"$out"
out=""
for _ in $(seq 20); do
	out=$(sbx curl -sS -m 5 --cacert "/home/$USER_/ca.crt" https://other.test/ 2>&1)
	[ "$out" = "hello from other.test" ] && break
	sleep 0.2
done
check_eq "... and the newly listed domain is allowed" "hello from other.test" "$out"

CURRENT=teardown
kill "$GWPID" && wait "$GWPID" 2>/dev/null
GWPID=""
check "--disable --purge" sx_disable $NAME
fakenet_down
snapshot_changed "$snap" "the host is not as before setup" || ok "the host is as before setup"
summary
