#!/bin/bash
# make bench: `sentrix sandbox exec --name NAME -- /bin/true` against bwrap
# with the closest equivalent confinement (--unshare-all, read-only root
# bind, --tmpfs /tmp, --proc, --dev, --die-with-parent and the same seccomp
# filter, exported as BPF by seccomp-export), medians of RUNS interleaved
# runs.  Root only; no traffic.
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-50}
NAME=sxtbx

command -v bwrap >/dev/null || { echo "bench/exec.sh needs bwrap (package bubblewrap)"; exit 1; }
BPF=$(mktemp /tmp/sxt-bench.XXXXXX)
cleanup() {
	"$SETUP" setup --disable --purge --non-interactive --name $NAME >/dev/null 2>&1
	rm -f "$BPF"
}
trap cleanup EXIT
cleanup
"$SETUP" setup --non-interactive --name $NAME --policy strict >/dev/null || exit 1
"$BUILD/bench/seccomp-export" "$TOP/policy/strict" "$BPF" || exit 1


sx=() bw=()
for i in $(seq "$RUNS"); do
	t0=$(now_us)
	"$SETUP" exec --name $NAME -- /bin/true || exit 1
	t1=$(now_us)
	bwrap --unshare-all --ro-bind / / --tmpfs /tmp --proc /proc --dev /dev --die-with-parent \
		--seccomp 3 /bin/true 3<"$BPF" || exit 1
	t2=$(now_us)
	sx+=($((t1 - t0))) bw+=($((t2 - t1)))
done
m_sx=$(printf '%s\n' "${sx[@]}" | median)
m_bw=$(printf '%s\n' "${bw[@]}" | median)
echo "sentrix exec bench: medians of $RUNS runs (interleaved), wall time in ms"
echo "  sentrix sandbox exec -- /bin/true: $m_sx ms"
echo "  bwrap (same confinement)        : $m_bw ms"
echo "  ratio (sentrix / bwrap): $(awk "BEGIN{printf \"%.2f\", $m_sx / $m_bw}")  (target <= 1, and < 5 ms)"
awk "BEGIN{exit !($m_sx <= $m_bw && $m_sx < 5)}" && echo "  targets met" || echo "  TARGETS MISSED"

# A whole ephemeral job: create the instance, run /bin/true, remove it all.
eph=()
for i in $(seq $((RUNS / 2))); do
	t0=$(now_us)
	"$SETUP" exec --ephemeral --policy strict -- /bin/true || exit 1
	t1=$(now_us)
	eph+=($((t1 - t0)))
done
m_eph=$(printf '%s\n' "${eph[@]}" | median)
echo "  sentrix sandbox exec --ephemeral -- /bin/true (create, run, remove): $m_eph ms (median of $((RUNS / 2)); target < 50 ms)"
