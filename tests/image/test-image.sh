#!/bin/bash
# make check-image: the disk image of `make image` boots under qemu
# (software emulation: no KVM needed) and its first-boot unit provisions
# the instance of /etc/sentrix/image.conf (sandbox0, policy strict): the
# serial console shows "SENTRIX-IMAGE-READY sandbox0 active ..." once
# sentrix@sandbox0.target is active, and `sentrix sandbox status` ok.  The
# time from starting qemu to that line is the boot-to-target-active time.
# Then the guest powers off on an ACPI power button press and boots again
# from the same disk: the first-boot unit does not run again, and the
# instance comes back by itself.  Last, a fresh copy boots through UEFI
# (OVMF; skipped when the ovmf package is missing).
#
# Not part of `make check` (it would push it past its 20 minutes): each
# boot takes a minute or more under TCG.  Root (make image).
#
# Knobs: SENTRIX_TEST_IMAGE=PATH boots that image instead of building one;
# SENTRIX_TEST_IMAGE_BOOTS=N first boots to time (default 1; the median is
# printed); SENTRIX_TEST_IMAGE_TIMEOUT=S per boot (default 900);
# SENTRIX_TEST_IMAGE_MEM=MiB (default 1536), SENTRIX_TEST_IMAGE_SMP=N
# (default 2).
#
# Every boot writes to a (sparse) copy of the image in a temporary
# directory: the image itself is never written to.  qemu dies with this script, whatever ends
# it: the EXIT trap kills it, and it runs with a parent-death signal.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

BOOTS=${SENTRIX_TEST_IMAGE_BOOTS:-1}
WAIT=${SENTRIX_TEST_IMAGE_TIMEOUT:-900}
MEM=${SENTRIX_TEST_IMAGE_MEM:-1536}
SMP=${SENTRIX_TEST_IMAGE_SMP:-2}
NAME=sandbox0
TMP=$(mktemp -d /tmp/sxt-image.XXXXXX)
QEMU_PID=

qemu_kill() {
	[ -n "$QEMU_PID" ] || return 0
	kill -TERM "$QEMU_PID" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
}
trap 'qemu_kill; rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

secs() { awk "BEGIN{printf \"%.1f\", $2 - $1}"; }
now() { date +%s.%N; }

# qemu_start DISK LOG [QEMU-ARGS...]: boots DISK (raw) in the background,
# the serial console into LOG, a QMP socket in $TMP/qmp.sock; sets
# QEMU_PID.
qemu_start() {
	local disk=$1 log=$2
	shift 2
	rm -f "$TMP/qmp.sock"
	setpriv --pdeathsig KILL -- qemu-system-x86_64 -accel tcg -machine pc -m "$MEM" -smp "$SMP" \
		-display none -monitor none -serial "file:$log" -qmp "unix:$TMP/qmp.sock,server=on,wait=off" \
		-nic none -no-reboot -drive "file=$disk,format=raw,if=virtio" "$@" \
		</dev/null >"$log.qemu" 2>&1 &
	QEMU_PID=$!
}

# wait_console LOG REGEX: until a line of LOG matches REGEX (0), qemu exits
# (1) or WAIT seconds pass (2).
wait_console() {
	local end=$(($(date +%s) + WAIT))
	while [ "$(date +%s)" -lt $end ]; do
		grep -a -q -E "$2" "$1" 2>/dev/null && return 0
		kill -0 "$QEMU_PID" 2>/dev/null || { grep -a -q -E "$2" "$1" 2>/dev/null && return 0; return 1; }
		sleep 0.25
	done
	return 2
}

# qmp COMMAND: one QMP command to the running qemu.
qmp() {
	python3 - "$TMP/qmp.sock" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ("qmp_capabilities", sys.argv[2]):
    f.write(json.dumps({"execute": cmd}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
    if "error" in r:
        sys.exit("qmp %s: %s" % (cmd, r["error"]))
EOF
}

# console_tail LOG: the last lines of a console log, for a failure.
console_tail() {
	tr -d '\r' <"$1" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' | grep -a -v '^$' | tail -25 | sed 's/^/    | /'
}

# boot DISK LOG [QEMU-ARGS...]: boots DISK and waits for the marker;
# ok/not ok; sets BOOT_SECS (host seconds from qemu's start to the marker)
# and READY (the marker line).
READY_RE="SENTRIX-IMAGE-(READY|FAILED|DISABLED) $NAME"
boot() {
	local t0 rc
	BOOT_SECS='' READY=''
	t0=$(now)
	qemu_start "$@"
	wait_console "$2" "$READY_RE"
	rc=$?
	if [ $rc != 0 ]; then
		case $rc in
		1) not_ok "qemu exited before the console said SENTRIX-IMAGE-READY $NAME" ;;
		*) not_ok "no SENTRIX-IMAGE-READY $NAME on the console within $WAIT s" ;;
		esac
		sed 's/^/    | qemu: /' "$2.qemu"
		console_tail "$2"
		return 1
	fi
	BOOT_SECS=$(secs "$t0" "$(now)")
	READY=$(grep -a -o -E "$READY_RE.*" "$2" | head -1 | tr -d '\r')
	if [[ $READY == "SENTRIX-IMAGE-READY $NAME active"* ]]; then
		ok "sentrix@$NAME.target active $BOOT_SECS s after qemu started ($READY)"
	else
		not_ok "$READY"
		console_tail "$2"
		return 1
	fi
}

# status_ok LOG: `sentrix sandbox status`, which follows the marker line on
# the console, ended with "ok" (not "NOT OK: ..."); 2 minutes at most.
status_ok() {
	local i last
	for i in $(seq 480); do
		last=$(tr -d '\r' <"$1" | grep -a -o -E 'ready\[[0-9]+\]: (ok|NOT OK.*)$' | tail -1)
		[ -n "$last" ] && break
		sleep 0.25
	done
	echo "${last:-no status on the console}"
	[ "${last#*: }" = ok ]
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# ---- prerequisites -------------------------------------------------------------
CURRENT="prerequisites"
for t in qemu-system-x86_64:qemu-system-x86 python3:python3 setpriv:util-linux; do
	command -v "${t%%:*}" >/dev/null && continue
	skip "${t%%:*} is not installed (apt-get install ${t#*:})"
	summary
	exit 0
done
if [ -z "${SENTRIX_TEST_IMAGE:-}" ] && [ "$(id -u)" != 0 ]; then
	skip "make image needs root (or give SENTRIX_TEST_IMAGE=PATH)"
	summary
	exit 0
fi

# ---- the image ---------------------------------------------------------------------
CURRENT="image"
if [ -n "${SENTRIX_TEST_IMAGE:-}" ]; then
	IMAGE=$SENTRIX_TEST_IMAGE
	echo "# booting $IMAGE (SENTRIX_TEST_IMAGE)"
else
	VERSION=$(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")
	IMAGE=$BUILD/sentrix-$VERSION-$(dpkg --print-architecture).raw
	rm -f "$IMAGE"
	t=$(now)
	if make -s -C "$TOP" BUILD="$BUILD" image >"$TMP/make.log" 2>&1 && [ -f "$IMAGE" ]; then
		ok "make image builds $(basename "$IMAGE") ($(secs "$t" "$(now)") s with make deb)"
		grep '^make image:' "$TMP/make.log" | tail -1 | sed 's/^/# /'
	else
		not_ok "make image builds $(basename "$IMAGE")"
		tail -30 "$TMP/make.log" | sed 's/^/    | /'
		summary
		exit 1
	fi
fi
check "no loop device is left attached to the image" sh -c "! losetup -j '$IMAGE' | grep ."
echo "# $(basename "$IMAGE"): $(du --apparent-size -h "$IMAGE" | cut -f1) raw, $(du -h "$IMAGE" | cut -f1) allocated"
echo "# qemu: TCG (software emulation), $SMP vCPUs, $MEM MiB, virtio disk, no network"

# ---- first boots -----------------------------------------------------------------
times='' second='' uefi=''
for i in $(seq "$BOOTS"); do
	CURRENT="first boot"
	[ "$BOOTS" = 1 ] || CURRENT="first boot $i/$BOOTS"
	disk=$TMP/disk-$i.raw
	log=$TMP/console-$i.log
	rm -f "$TMP"/disk-*.raw
	cp --sparse=always "$IMAGE" "$disk"
	if ! boot "$disk" "$log"; then
		summary
		exit 1
	fi
	times="$times $BOOT_SECS"
	check "the first-boot unit provisioned $NAME with policy strict" \
		grep -a -q -E "sentrix-image: first boot: sentrix sandbox setup --non-interactive --name $NAME --policy strict" "$log"
	check "netns and gateway units active" sh -c "echo '$READY' | grep -q 'netns=active gateway=active'"
	check "sentrix sandbox status on the console: ok" status_ok "$log"
	# No OpenClaw in the image: the sandbox unit restarts until one is
	# installed (docs/image.md).
	echo "# sandbox unit: $(echo "$READY" | grep -o 'sandbox=[a-z-]*') (the image has no OpenClaw)"
	[ "$i" = "$BOOTS" ] || qemu_kill
done

# ---- power-off and second boot ---------------------------------------------------
CURRENT="power-off"
t=$(now)
if qmp system_powerdown 2>"$TMP/qmp.err"; then
	for _ in $(seq 1200); do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$QEMU_PID" 2>/dev/null; then
		not_ok "the guest did not power off within 300 s of the ACPI power button"
		console_tail "$log"
		qemu_kill
	else
		wait "$QEMU_PID" 2>/dev/null
		QEMU_PID=
		check "the guest powers off on the ACPI power button ($(secs "$t" "$(now)") s)" \
			grep -a -q 'reboot: Power down' "$log"
	fi
else
	not_ok "QMP system_powerdown: $(cat "$TMP/qmp.err")"
	qemu_kill
fi

CURRENT="second boot"
log2=$TMP/console-second.log
if boot "$disk" "$log2"; then
	second=$BOOT_SECS
	check "the first-boot unit did not run again" sh -c "! grep -a -q 'sentrix-image: first boot' '$log2'"
	check "sentrix sandbox status on the console: ok" status_ok "$log2"
fi
qemu_kill

# ---- UEFI ----------------------------------------------------------------------------
# The same image through UEFI firmware (OVMF): GRUB's EFI image on the
# ESP, a first boot of a fresh copy.
CURRENT="UEFI first boot"
OVMF=/usr/share/ovmf/OVMF.fd
if [ ! -r "$OVMF" ]; then
	skip "no $OVMF (apt-get install ovmf): the UEFI boot is not tried"
else
	rm -f "$TMP"/disk-*.raw
	cp --sparse=always "$IMAGE" "$TMP/disk-uefi.raw"
	log3=$TMP/console-uefi.log
	if boot "$TMP/disk-uefi.raw" "$log3" -bios "$OVMF"; then
		uefi=$BOOT_SECS
		check "GRUB's EFI image booted it (the kernel saw EFI)" grep -a -q -E 'efi: EFI v[0-9]' "$log3"
		check "sentrix sandbox status on the console: ok" status_ok "$log3"
	fi
	qemu_kill
fi

echo "# boot-to-target-active (qemu start to SENTRIX-IMAGE-READY, TCG):$(for t in $times; do printf ' %s s' "$t"; done) first boot$([ "$BOOTS" -gt 1 ] && echo "s, median $(echo "$times" | median) s")${second:+; second boot $second s}${uefi:+; UEFI first boot $uefi s}"
summary
