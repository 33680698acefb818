#!/bin/bash
# make bench: the egress proxy (sentrix-gateway's CONNECT proxy) against
# tinyproxy doing the same job (CONNECT to allowed.test only, ports 443, 80
# and 7000), both in front of the tests' fake internet (tests/fakenet.sh:
# nginx on 198.51.100.10 in netns sxtnet, the names from dnsmasq on
# 198.51.100.53).  Root only; loopback ports 28200-28299; traffic goes to
# loopback, 198.51.100.0/24 and 203.0.113.0/30 only.
#
#   1. Bulk: one 1 GiB HTTPS download of https://allowed.test/big (the
#      fake internet's random file, made once under /var/cache/sentrix-tests)
#      with curl -o /dev/null, three ways: direct (--resolve to
#      198.51.100.10), through tinyproxy and through sentrix (curl -x: a
#      CONNECT tunnel, TLS end to end).  Per way one untimed download first,
#      piped through sha256sum (warm-up, and the body is checked against
#      big-1g.sha256), then RUNS timed runs, ways interleaved; median MiB/s.
#   2. New tunnels per second: bench/connect-rate, CONC clients in parallel,
#      COUNT tunnels or SECS seconds per run, each tunnel: CONNECT
#      allowed.test:80, GET /small through it (Connection: close), read to
#      EOF, check the body.  Plain HTTP inside the tunnel on purpose: with a
#      TLS handshake per tunnel the client and nginx (on the same 2 CPUs)
#      would spend more than the proxy and the figure would measure ECDHE,
#      not the proxy.  The direct row is the same GET without a proxy, the
#      ceiling of client and nginx on their own.  Python's per-connection
#      cost is in the range of a proxy's, hence the small C client.
#
# Name resolution: each proxy resolves allowed.test itself.  tinyproxy asks
# glibc, i.e. the host's /etc/resolv.conf, which points at the machine's
# real uplink and must not be used: it runs in its own mount namespace
# (unshare -m) with a resolv.conf "nameserver 198.51.100.53" bind-mounted
# over /etc/resolv.conf, visible to it alone.  glibc caches nothing, so
# every tinyproxy tunnel includes a DNS lookup: that is its real cost.
#
# sentrix: SENTRIX_PROXY=ADDR:PORT (an IPv4 literal) measures a proxy already
# running (it must allow allowed.test on 443, 80 and 7000 and resolve
# through 198.51.100.53).
# Unset, the script starts build/sentrix-gateway itself (start_sentrix_proxy).
#
# RUNS (default 3), COUNT (5000), SECS (8), CONC (8); about a minute, the
# first run ~5 s more (the 1 GiB file).  Targets: sentrix >= 0.9x direct's
# throughput, and >= 1.0x tinyproxy's throughput and tunnels/s.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/fakenet.sh"
RUNS=${RUNS:-3}
COUNT=${COUNT:-5000}
SECS=${SECS:-8}
CONC=${CONC:-8}
TP_PORT=28200 SX_BASE=28210
DL_MAX=60 # seconds per 1 GiB download (17 MiB/s at least)
GW=$BUILD/sentrix-gateway CR=$BUILD/bench/connect-rate

for c in tinyproxy nginx dnsmasq openssl curl dig unshare setpriv sha256sum ss; do
	command -v $c >/dev/null || { echo "bench/egress.sh needs $c"; exit 1; }
done
[ -x "$CR" ] || { echo "bench/egress.sh: $CR is missing (make $CR)"; exit 1; }
# fakenet_up replaces any fake internet: never one a test is using.
if ip netns list | grep -qw "$FAKENET"; then
	echo "bench/egress.sh: netns $FAKENET exists (is an integration test running? if not: ip netns del $FAKENET)"
	exit 1
fi
# The host's proxy settings must not reroute anything.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

TMP=$(mktemp -d /tmp/sxt-bench-egress.XXXXXX) || exit 1
chmod 755 "$TMP" # tinyproxy (nobody) writes its log below it
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	fakenet_down
	rm -rf "$TMP"
}
trap cleanup EXIT

listening() { timeout 1 bash -c "</dev/tcp/${1%:*}/${1##*:}"; }
# alive PID NAME LOG: fails loudly if a component died mid-bench.
alive() { kill -0 "$1" 2>/dev/null || { tail -20 "$3" >&2; die "$2 died"; }; }
proxies_alive() {
	alive "$TP_PID" tinyproxy "$TMP/tinyproxy.log"
	[ -z "${SX_PID:-}" ] || alive "$SX_PID" sentrix-gateway "$SX_LOG"
}
# Median of the numbers on stdin, one decimal; spread: "min-max".
med() { sort -g | awk '{a[NR]=$1} END {printf "%.1f", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
spread() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.0f-%.0f", lo, hi}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b > 0 ? a / b : 0)}'; }

# start_tinyproxy: tinyproxy in the foreground as its own process (pid in
# TP_PID) on 127.0.0.1:$TP_PORT, allowlist allowed.test (domain filter,
# default deny), CONNECT to 443/80/7000, resolving through the fake DNS.
start_tinyproxy() {
	echo '^allowed\.test$' >"$TMP/tinyproxy.filter"
	echo "nameserver $FAKENET_DNS" >"$TMP/resolv.conf"
	: >"$TMP/tinyproxy.log"
	chown nobody "$TMP/tinyproxy.log"
	cat >"$TMP/tinyproxy.conf" <<-EOF
	User nobody
	Group nogroup
	Port $TP_PORT
	Listen 127.0.0.1
	Allow 127.0.0.1
	Timeout 60
	MaxClients 256
	LogFile "$TMP/tinyproxy.log"
	LogLevel Warning
	Syslog Off
	DisableViaHeader Yes
	Filter "$TMP/tinyproxy.filter"
	FilterType ere
	FilterURLs Off
	FilterDefaultDeny Yes
	ConnectPort 443
	ConnectPort 80
	ConnectPort 7000
	EOF
	# unshare execs (no fork): $! is tinyproxy itself.
	unshare --mount --propagation private -- sh -c 'mount --bind "$1" /etc/resolv.conf && exec tinyproxy -d -c "$2"' \
		sh "$TMP/resolv.conf" "$TMP/tinyproxy.conf" >"$TMP/tinyproxy.out" 2>&1 &
	TP_PID=$!; PIDS+=("$TP_PID")
	wait_for 5 listening 127.0.0.1:$TP_PORT || { cat "$TMP/tinyproxy.out" "$TMP/tinyproxy.log"; die "tinyproxy did not start"; }
}

# start_sentrix_proxy: build/sentrix-gateway as nobody outside any instance
# (tests/helpers/gw-config.py: allowlist allowed.test, ports 443/80/7000,
# upstream DNS the fake internet's), its egress proxy on 127.0.0.1:
# SX_BASE + 2; sets SENTRIX_PROXY.
start_sentrix_proxy() {
	/usr/bin/python3 "$TOP/tests/helpers/gw-config.py" "$TMP/gw" --port-base $SX_BASE --name sxtbench \
		--domain allowed.test --egress-port 443 --egress-port 80 --egress-port 7000 \
		--resolver "$FAKENET_DNS" || die "gw-config.py failed"
	chown -R nobody "$TMP/gw"
	SX_LOG=$TMP/gw.log
	setpriv --reuid nobody --regid nogroup --clear-groups "$GW" --name sxtbench \
		--config "$TMP/gw/config.json" --listen 127.0.0.1 >"$SX_LOG" 2>&1 &
	SX_PID=$!; PIDS+=("$SX_PID")
	wait_for 5 listening 127.0.0.1:$((SX_BASE + 2)) || { cat "$SX_LOG"; die "sentrix-gateway did not start"; }
	SENTRIX_PROXY=127.0.0.1:$((SX_BASE + 2))
}

# fetch WAY CURL-ARGS...: curl the WAY way (direct, tinyproxy, sentrix),
# every call bounded in time.
fetch() {
	local way=$1; shift
	local c=(curl -sS --cacert "$FAKENET_CA" --connect-timeout 5 --max-time "$DL_MAX")
	case $way in
	direct) "${c[@]}" --noproxy '*' --resolve "allowed.test:443:$FAKENET_WEB2" "$@" ;;
	tinyproxy) "${c[@]}" --noproxy '' -x "http://127.0.0.1:$TP_PORT" "$@" ;;
	sentrix) "${c[@]}" --noproxy '' -x "http://$SENTRIX_PROXY" "$@" ;;
	esac
}

# download WAY: one timed 1 GiB download; prints MiB/s.
download() {
	local out code size speed
	out=$(fetch "$1" -o /dev/null -w '%{http_code} %{size_download} %{speed_download}' https://allowed.test/big) ||
		die "$1: the download failed ($out)"
	read -r code size speed <<<"$out"
	[ "$code" = 200 ] && [ "$size" = 1073741824 ] || die "$1: HTTP $code, $size bytes"
	awk -v s="$speed" 'BEGIN{printf "%.1f", s / 1048576}'
}

# verify WAY: one untimed download whose body must match big-1g.sha256.
verify() {
	local sum
	sum=$(set -o pipefail; fetch "$1" https://allowed.test/big | sha256sum) || die "$1: the checksum download failed"
	[ "${sum%% *}" = "$FAKENET_BIG_SHA256" ] || die "$1: body sha256 ${sum%% *}, expected $FAKENET_BIG_SHA256"
}

# refuses WAY: the proxy refuses a CONNECT to other.test (not allowlisted);
# prints the proxy's answer code.
refuses() {
	local code
	code=$(fetch "$1" -o /dev/null -w '%{http_connect}' --max-time 10 https://other.test/ 2>/dev/null)
	echo "${code:-none}"
	[ "${code:-000}" != 200 ]
}

# tunnels WAY [COUNT]: one connect-rate run; prints "rate errors".
tunnels() {
	local args=(--host allowed.test --path /small --expect "$FAKENET_SMALL_BODY" --conc "$CONC"
		--count "${2:-$COUNT}" --secs "$SECS") out n e r
	case $1 in
	direct) args+=(--to "$FAKENET_WEB2:80") ;;
	tinyproxy) args+=(--to "127.0.0.1:$TP_PORT" --connect allowed.test:80) ;;
	sentrix) args+=(--to "$SENTRIX_PROXY" --connect allowed.test:80) ;;
	esac
	out=$(timeout $((SECS + 20)) "$CR" "${args[@]}" 2>"$TMP/cr.err")
	read -r _ n _ e _ _ _ r <<<"$out"
	[ -n "${n:-}" ] && [ "$n" -gt 0 ] || { cat "$TMP/cr.err" >&2; die "$1: no tunnel worked ($out)"; }
	[ "${e:-0}" = 0 ] || sed "s/^/  $1: /" "$TMP/cr.err" >&2
	echo "$r $e"
}

t_start=$(now_us)
fakenet_bigfile || die "cannot make the 1 GiB file"
fakenet_up || die "the fake internet did not come up"
start_tinyproxy
WAYS=(direct tinyproxy)
SX_WHY=
if [ -z "${SENTRIX_PROXY:-}" ]; then
	start_sentrix_proxy || SX_WHY="not measured (SENTRIX_PROXY unset)"
fi
[ -z "$SX_WHY" ] && WAYS+=(sentrix)

echo "sentrix egress proxy bench ($RUNS runs per cell, medians; nothing pinned, $(nproc) CPUs)"
echo "  tinyproxy $(tinyproxy -v 2>&1 | awk '{print $2}'), nginx $(nginx -v 2>&1 | sed 's|.*/||'), curl $(curl -V | awk 'NR==1{print $2}')"
[ -z "$SX_WHY" ] && echo "  sentrix proxy at $SENTRIX_PROXY${SX_PID:+ ($GW built $(date -r "$GW" '+%F %T'))}"

# The allowlist is enforced by every proxy (else they do different work).
for w in "${WAYS[@]}"; do
	[ $w = direct ] && continue
	code=$(refuses $w) || die "$w let a CONNECT to other.test (not allowlisted) through"
	echo "  $w refuses CONNECT other.test:443 (answer $code)"
done

# ---- 1. bulk ------------------------------------------------------------
for w in "${WAYS[@]}"; do verify $w; done
echo "  1 GiB body checked against big-1g.sha256 once per way: ok"
declare -A MIBS TPS ERRS
for ((i = 0; i < RUNS; i++)); do
	for w in "${WAYS[@]}"; do
		v=$(download $w) || exit 1
		MIBS[$w]+="$v "
		proxies_alive
	done
done

# ---- 2. new tunnels per second ------------------------------------------
for w in "${WAYS[@]}"; do tunnels $w 500 >/dev/null; done # warm-up
for ((i = 0; i < RUNS; i++)); do
	for w in "${WAYS[@]}"; do
		v=$(tunnels $w) || exit 1
		read -r r e <<<"$v"
		TPS[$w]+="$r " ERRS[$w]=$((${ERRS[$w]:-0} + e))
		proxies_alive
	done
done

declare -A M T MS TS
for w in "${WAYS[@]}"; do
	M[$w]=$(printf '%s\n' ${MIBS[$w]} | med) MS[$w]=$(printf '%s\n' ${MIBS[$w]} | spread)
	T[$w]=$(printf '%s\n' ${TPS[$w]} | med) TS[$w]=$(printf '%s\n' ${TPS[$w]} | spread)
done
echo
echo "1 GiB HTTPS download (curl, one connection) and new tunnels (CONNECT allowed.test:80"
echo "+ GET /small, $CONC clients, up to $COUNT per run): medians, (min-max) of the runs,"
echo "tunnel errors over all runs"
printf '  %-18s %8s %-11s %10s %-13s %6s\n' way "MiB/s" "" "tunnels/s" "" errors
declare -A LABEL=([direct]="direct (no proxy)" [tinyproxy]=tinyproxy [sentrix]=sentrix)
for w in "${WAYS[@]}"; do
	printf '  %-18s %8s %-11s %10s %-13s %6s\n' "${LABEL[$w]}" "${M[$w]}" "(${MS[$w]})" \
		"${T[$w]}" "(${TS[$w]})" "${ERRS[$w]}"
done
[ -n "$SX_WHY" ] && printf '  %-20s %s\n' sentrix "$SX_WHY"
echo "  (direct tunnels/s: the same GET without a proxy, what client and nginx reach alone)"

echo
missed=0
if [ -n "$SX_WHY" ]; then
	echo "  sentrix:direct    throughput: $SX_WHY (target >= 0.9)"
	echo "  sentrix:tinyproxy throughput and tunnels/s: $SX_WHY (target >= 1.0)"
else
	r1=$(ratio "${M[sentrix]}" "${M[direct]}")
	r2=$(ratio "${M[sentrix]}" "${M[tinyproxy]}")
	r3=$(ratio "${T[sentrix]}" "${T[tinyproxy]}")
	v=ok; awk "BEGIN{exit !($r1 >= 0.9)}" || { v="target missed"; missed=1; }
	printf '  sentrix:direct    throughput %5sx (target >= 0.9)  %s\n' "$r1" "$v"
	v=ok; awk "BEGIN{exit !($r2 >= 1.0)}" || { v="target missed"; missed=1; }
	printf '  sentrix:tinyproxy throughput %5sx (target >= 1.0)  %s\n' "$r2" "$v"
	v=ok; awk "BEGIN{exit !($r3 >= 1.0)}" || { v="target missed"; missed=1; }
	printf '  sentrix:tinyproxy tunnels/s  %5sx (target >= 1.0)  %s\n' "$r3" "$v"
fi
printf '  tinyproxy:direct  throughput %5sx (reference)\n' "$(ratio "${M[tinyproxy]}" "${M[direct]}")"
echo
if [ -n "$SX_WHY" ]; then
	echo "  targets not checked (sentrix not measured)"
else
	[ $missed = 0 ] && echo "  targets met" || echo "  TARGETS MISSED"
fi
echo "  bench/egress.sh took $((($(now_us) - t_start) / 1000000)) s"
