#!/bin/bash
# make bench: `sentrix sandbox up` + `down` against bench/baseline-netns.sh
# (the same pieces with ip, sysctl and nft -f), medians of RUNS runs each,
# interleaved in one run; then full setup + --disable.  Root only.  Uses
# TEST-NET addresses and sends no traffic.
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-25}
NAME=sxtb BASE=sxtbb DNS=198.51.100.53

command -v nft >/dev/null || { echo "make bench needs the nft command (package nftables) for the baseline"; exit 1; }

orig_forward=$(sysctl -n net.ipv4.ip_forward)
cleanup() {
	"$SETUP" setup --disable --purge --non-interactive --name $NAME >/dev/null 2>&1
	"$TOP/bench/baseline-netns.sh" down $BASE x x x x
	sysctl -qw net.ipv4.ip_forward="$orig_forward"
}
trap cleanup EXIT
cleanup

# gone IFNAME: wait (untimed) until the kernel has reaped a veth.
gone() { local i; for i in $(seq 200); do ip link show "$1" >/dev/null 2>&1 || return 0; sleep 0.01; done; }

"$SETUP" setup --non-interactive --name $NAME --policy default --dns $DNS >/dev/null || exit 1
"$SETUP" down --name $NAME
gone sx-$NAME
read -r _ hip sip < <("$SETUP" list | awk -v n=$NAME '$1==n {print $1, $3, $4}')
bip=10.200.250.1 bsip=10.200.250.2

sx_up=() sx_down=() sh_up=() sh_down=()
for i in $(seq "$RUNS"); do
	t0=$(now_us); "$SETUP" up --name $NAME || exit 1; t1=$(now_us)
	"$SETUP" down --name $NAME || exit 1; t2=$(now_us)
	sx_up+=($((t1 - t0))) sx_down+=($((t2 - t1)))
	gone sx-$NAME
	t0=$(now_us); "$TOP/bench/baseline-netns.sh" up $BASE $bip $bsip $DNS || exit 1; t1=$(now_us)
	"$TOP/bench/baseline-netns.sh" down $BASE x x x x; t2=$(now_us)
	sh_up+=($((t1 - t0))) sh_down+=($((t2 - t1)))
	gone sx-$BASE
done
sx_total=() sh_total=()
for i in $(seq 0 $((RUNS - 1))); do
	sx_total+=($((sx_up[i] + sx_down[i]))) sh_total+=($((sh_up[i] + sh_down[i])))
done
m_sx_up=$(printf '%s\n' "${sx_up[@]}" | median)
m_sx_down=$(printf '%s\n' "${sx_down[@]}" | median)
m_sx=$(printf '%s\n' "${sx_total[@]}" | median)
m_sh_up=$(printf '%s\n' "${sh_up[@]}" | median)
m_sh_down=$(printf '%s\n' "${sh_down[@]}" | median)
m_sh=$(printf '%s\n' "${sh_total[@]}" | median)
ratio=$(awk "BEGIN{printf \"%.1f\", $m_sh / $m_sx}")

"$SETUP" setup --disable --purge --non-interactive --name $NAME >/dev/null
gone sx-$NAME
full_setup=() full_disable=()
for i in $(seq 5); do
	t0=$(now_us); "$SETUP" setup --non-interactive --name $NAME --policy default --dns $DNS >/dev/null || exit 1; t1=$(now_us)
	"$SETUP" setup --disable --purge --non-interactive --name $NAME >/dev/null || exit 1; t2=$(now_us)
	full_setup+=($((t1 - t0))) full_disable+=($((t2 - t1)))
done
m_setup=$(printf '%s\n' "${full_setup[@]}" | median)
m_disable=$(printf '%s\n' "${full_disable[@]}" | median)

echo "sentrix bench: medians of $RUNS runs (interleaved), wall time in ms"
printf '  %-34s %8s %8s %8s\n' "" up down "up+down"
printf '  %-34s %8s %8s %8s\n' "sentrix sandbox up/down" "$m_sx_up" "$m_sx_down" "$m_sx"
printf '  %-34s %8s %8s %8s\n' "baseline ip + nft -f script" "$m_sh_up" "$m_sh_down" "$m_sh"
echo "  ratio (baseline / sentrix, up+down): ${ratio}x  (target >= 10x)"
echo "  sentrix up+down: ${m_sx} ms  (target < 20 ms)"
echo "  full setup: ${m_setup} ms, setup --disable --purge: ${m_disable} ms (medians of 5)"
awk "BEGIN{exit !($ratio >= 10 && $m_sx < 20)}" && echo "  targets met" || echo "  TARGETS MISSED"
