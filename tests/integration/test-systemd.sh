#!/bin/bash
# setup and --disable through sd-bus, with systemd running: boots a minimal
# Debian 12 with systemd as PID 1 in a systemd-nspawn container
# (tests/nspawn.sh), installs the build there as `make install` does, and
# checks that setup enables and starts sentrix@NAME.target (daemon-reload,
# EnableUnitFiles, StartUnit) and that --disable --purge stops, disables and
# removes it (StopUnit, DisableUnitFiles, daemon-reload).
#
# The first run debootstraps the rootfs into /var/cache/sentrix-tests (about
# a minute, from the mirror the host's apt uses); without a mirror the test
# is skipped.  The container has its own network namespace and a volatile
# root: nothing it does reaches the host, and the cached rootfs is never
# written to.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/nspawn.sh"

NAME=sxts
ROOTFS=${SENTRIX_TEST_ROOTFS:-$NSPAWN_ROOTFS_DEFAULT}
TMP=$(mktemp -d /tmp/sxt-systemd.XXXXXX)
trap 'nspawn_stop; rm -rf "$TMP"' EXIT

if [ "$(id -u)" != 0 ]; then
	skip "needs root (systemd-nspawn)"
	summary
	exit 0
fi

# unit_state UNIT: ActiveState once no job is pending for UNIT and it is not
# between states (10 s at most): setup and --disable return as soon as
# systemd has queued the job.
unit_state() {
	local s i
	for i in $(seq 100); do
		s=$(in_ct systemctl is-active "$1")
		case $s in activating | deactivating | reloading) ;; *)
			[ -z "$(in_ct systemctl list-jobs --no-legend "$1")" ] && break ;;
		esac
		sleep 0.1
	done
	echo "$s"
}

# check_unit DESCRIPTION EXPECTED UNIT: check_eq on unit_state, with the
# unit's last log lines when it differs.
check_unit() {
	local s i
	# A unit can still read "inactive", no job listed, a moment before the
	# start job setup queued shows (seen once in a full run): ask again.
	for i in 1 2 3; do
		s=$(unit_state "$3")
		[ "$s" = "$2" ] && break
		sleep 1
	done
	check_eq "$1" "$2" "$s"
	[ "$s" = "$2" ] || in_ct journalctl --no-pager -o cat -n 8 -u "$3" | sed 's/^/    | /'
}

host_before=$(nspawn_host_state "$ROOTFS")

# The rootfs: built once, reused afterwards.
t0=$(date +%s.%N)
if ! rootfs_ensure "$ROOTFS" 2>"$TMP/rootfs.err"; then
	skip "cannot build the Debian 12 rootfs in $ROOTFS (no Debian mirror reachable?): $(grep -v '^#' "$TMP/rootfs.err" | tail -1 | sed 's/^ *| //')"
	summary
	exit 0
fi
sed -n 's/^#/#/p' "$TMP/rootfs.err"

# Install as `make install` does (PREFIX=/usr/local), into a staging tree
# the container copies from; -o: use the build as it is, never rebuild it.
CURRENT="install"
if ! make -s -C "$TOP" BUILD="$BUILD" PREFIX=/usr/local DESTDIR="$TMP/stage/root" \
	-o "$BUILD/sentrix" -o "$BUILD/sentrix-setup" -o "$BUILD/sentrix-gateway" install >"$TMP/make.log" 2>&1; then
	not_ok "make install DESTDIR=$TMP/stage/root failed"
	sed 's/^/    | /' "$TMP/make.log" | tail -20
	summary
	exit 1
fi
# Shared libraries of the build, to be copied into the container where it
# lacks them (libasan and libubsan after `make asan`).
mkdir -p "$TMP/stage/libs"
ldd "$BUILD/sentrix" "$BUILD/sentrix-setup" "$BUILD/sentrix-gateway" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
	while read -r lib; do cp --parents -L "$lib" "$TMP/stage/libs/"; done
binds=(--bind-ro="$TMP/stage:/run/sentrix-stage" --bind-ro="$TOP")
case $BUILD in "$TOP"/*) ;; *) binds+=(--bind-ro="$BUILD") ;; esac

CURRENT="container"
t1=$(date +%s.%N)
if ! nspawn_boot "$ROOTFS" "${binds[@]}" 2>"$TMP/boot.err"; then
	not_ok "systemd does not boot in the container"
	sed 's/^/    | /' "$TMP/boot.err" | tail -20
	summary
	exit 1
fi
t2=$(date +%s.%N)
ok "systemd boots in the container ($(in_ct systemctl is-system-running), $(awk "BEGIN{printf \"%.1f\", $t2 - $t1}") s)"
check "systemd runs the container (/run/systemd/system)" nspawn_exec test -d /run/systemd/system
check "the build is installed under /usr/local" nspawn_exec sh -ec '
	cp -a /run/sentrix-stage/root/usr/local/. /usr/local/
	mkdir -p /etc/systemd/system.conf.d
	printf "[Manager]\nDefaultEnvironment=ASAN_OPTIONS=detect_leaks=0\n" >/etc/systemd/system.conf.d/sentrix-test.conf
	systemctl daemon-reexec
	cd /run/sentrix-stage/libs
	find . -type f | while read -r f; do [ -e "${f#.}" ] || cp "$f" "${f#.}"; done'
check "sentrix-setup runs in the container (its libraries are there)" nspawn_exec sentrix-setup --help

CURRENT="setup"
SETUP_ARGS=(sentrix-setup setup --non-interactive --name $NAME --policy strict)
nspawn_exec "${SETUP_ARGS[@]}" >"$TMP/setup.out" 2>&1
rc=$?
if [ $rc = 0 ]; then
	ok "setup --policy strict exits 0 in the container's own network namespace"
else
	not_ok "setup --policy strict exits 0 in the container's own network namespace (status $rc):"
	grep -E 'error|warning' "$TMP/setup.out" | sed 's/^/    | /'
	summary
	exit 1
fi
check_eq "systemctl is-enabled sentrix@$NAME.target" enabled "$(in_ct systemctl is-enabled sentrix@$NAME.target)"
check_unit "sentrix-netns@$NAME.service is active" active sentrix-netns@$NAME.service
check_eq "sentrix-netns@$NAME.service ran \`sentrix-setup up\` successfully" "ExecMainStatus=0 Result=success" \
	"$(in_ct systemctl show -p Result -p ExecMainStatus sentrix-netns@$NAME.service | sort | tr '\n' ' ' | sed 's/ $//')"
check_unit "sentrix@$NAME.target is active" active sentrix@$NAME.target
# The gateway is Type=notify: active means it sent READY=1 as user sentrix.
check_unit "sentrix-gateway@$NAME.service is active (Type=notify, READY=1 sent)" active sentrix-gateway@$NAME.service
check_eq "the gateway runs as user sentrix with the watchdog armed" "User=sentrix WatchdogUSec=30s" \
	"$(in_ct systemctl show -p User -p WatchdogUSec sentrix-gateway@$NAME.service | sort | tr '\n' ' ' | sed 's/ $//')"
check "sentrix-gateway --health answers ready from the host side" nspawn_exec sentrix-gateway --health --name $NAME

# The sandbox unit starts its command through the launcher.  OpenClaw is
# not installed in this container (the end-to-end tests run the real one),
# so a stand-in named openclaw reports how it was started and stays up.
nspawn_exec sh -ec 'cat >/usr/local/bin/openclaw <<"EOS"
#!/bin/sh
echo "uid=$(id -un) host=$(hostname) $(grep ^CapEff /proc/self/status | tr -d "\t") nnp=$(grep ^NoNewPrivs /proc/self/status | tr -d "\t") args=$*" >"$HOME/unit-probe"
exec sleep 600
EOS
chmod 755 /usr/local/bin/openclaw'
in_ct systemctl restart sentrix-sandbox@$NAME.service
check_unit "sentrix-sandbox@$NAME.service is active (OpenClaw's place taken by a stand-in)" active sentrix-sandbox@$NAME.service
for i in $(seq 50); do nspawn_exec test -s /home/sandbox-$NAME/unit-probe && break; sleep 0.1; done
check_eq "the unit ran it through the launcher: sandbox user, instance hostname, no capabilities, no new privileges" \
	"uid=sandbox-$NAME host=$NAME CapEff:0000000000000000 nnp=NoNewPrivs:1 args=gateway --port 18789" \
	"$(nspawn_exec cat /home/sandbox-$NAME/unit-probe 2>&1)"
# The launcher's relay for the sidecar, under the unit's hardening
# (RuntimeDirectory=, no CAP_CHOWN): the socket is born sentrix's, 0600.
check_eq "the unit's relay: /run/sentrix/$NAME/openclaw.sock, 600 sentrix sentrix, in a 755 root directory" \
	"600 sentrix sentrix 755 root" \
	"$(in_ct stat -c '%a %U %G' /run/sentrix/$NAME/openclaw.sock) $(in_ct stat -c '%a %U' /run/sentrix/$NAME)"
check "... its start is in the unit's journal" nspawn_exec sh -c \
	"journalctl --no-pager -o cat -u sentrix-sandbox@$NAME.service | grep -q 'relay /run/sentrix/$NAME/openclaw.sock -> 127.0.0.1:18789 in netns $NAME'"
in_ct sentrix-setup status --name $NAME --json >"$TMP/status.json"
for c in unit_active unit_enabled unit_files unit_dropin gateway; do
	check_eq "status --json: checks.$c.state" ok "$(json_get "j['checks']['$c']['state']" <"$TMP/status.json" 2>&1)"
done
check_eq "status --json: systemd" True "$(json_get "j['systemd']" <"$TMP/status.json" 2>&1)"
check_eq "status --json: ok (every check)" True "$(json_get "j['ok']" <"$TMP/status.json" 2>&1)"
[ "$(json_get "j['ok']" <"$TMP/status.json" 2>&1)" = True ] || json_get "[k + \": \" + v['detail'] for k, v in j['checks'].items() if not v['ok']]" <"$TMP/status.json" | sed "s/^/    | /"
check "netns $NAME exists in the container, eth0 inside it" nspawn_exec ip -n $NAME link show eth0
check "the container's sx-$NAME holds the host address" nspawn_exec sh -c "ip -o addr show dev sx-$NAME | grep -q ' 10\.200\.'"
check_fails "nothing of $NAME on the host (sx-$NAME, /run/netns/$NAME)" \
	sh -c "ip link show sx-$NAME 2>/dev/null || test -e /run/netns/$NAME"

# The instance driven with systemd's tools, through sentrix's commands.
CURRENT="target management"
tstate() { in_ct sentrix sandbox list --json | json_get "[i['target'] for i in j if i['name'] == '$NAME'][0]" 2>&1; }
ustate() { json_get "j['units']['$1']['active_state'] + '/' + j['units']['$1']['sub_state']" <"$TMP/status.json" 2>&1; }
check_eq "sandbox list shows the target active" active "$(tstate)"
check_eq "status --json: units (state/sub-state)" \
	"active/active active/exited active/running active/running" \
	"$(ustate sentrix@$NAME.target) $(ustate sentrix-netns@$NAME.service) $(ustate sentrix-gateway@$NAME.service) $(ustate sentrix-sandbox@$NAME.service)"
check_eq "status --json: the gateway's result, exit status and restarts" "success 0 0" \
	"$(json_get "' '.join(str(j['units']['sentrix-gateway@$NAME.service'][k]) for k in ('result', 'exec_main_status', 'restarts'))" <"$TMP/status.json" 2>&1)"
gwpid=$(in_ct systemctl show -p MainPID --value sentrix-gateway@$NAME.service)
check "sentrix sandbox stop" nspawn_exec sentrix sandbox stop --name $NAME
for u in sentrix@$NAME.target sentrix-gateway@$NAME.service sentrix-sandbox@$NAME.service sentrix-netns@$NAME.service; do
	check_unit "... $u is inactive" inactive $u
done
check "... the network is down (no /run/netns/$NAME)" nspawn_exec test ! -e /run/netns/$NAME
check "... the relay's socket and directory are gone (no /run/sentrix/$NAME)" nspawn_exec test ! -e /run/sentrix/$NAME
check_eq "sandbox list shows the target inactive" inactive "$(tstate)"
check_fails "status is not ok while stopped" nspawn_exec sentrix sandbox status --name $NAME
check "sentrix sandbox start" nspawn_exec sentrix sandbox start --name $NAME
for u in sentrix@$NAME.target sentrix-netns@$NAME.service sentrix-gateway@$NAME.service sentrix-sandbox@$NAME.service; do
	check_unit "... $u is active" active $u
done
check "... the gateway answers ready" nspawn_exec sentrix-gateway --health --name $NAME
check "sentrix sandbox restart" nspawn_exec sentrix sandbox restart --name $NAME
unit_state sentrix-gateway@$NAME.service >/dev/null # no job pending
newpid=$(in_ct systemctl show -p MainPID --value sentrix-gateway@$NAME.service)
if [ -n "$newpid" ] && [ "$newpid" != 0 ] && [ "$newpid" != "$gwpid" ]; then ok "... the gateway is a new process ($gwpid -> $newpid)"; else not_ok "... the gateway was not restarted ($gwpid -> $newpid)"; fi
check "sentrix sandbox disable-boot" nspawn_exec sentrix sandbox disable-boot --name $NAME
check_eq "... the target is disabled" disabled "$(in_ct systemctl is-enabled sentrix@$NAME.target)"
check_unit "... and still running" active sentrix@$NAME.target
check "sentrix sandbox enable" nspawn_exec sentrix sandbox enable --name $NAME
check_eq "... the target is enabled" enabled "$(in_ct systemctl is-enabled sentrix@$NAME.target)"
in_ct sentrix sandbox journal --name $NAME -n 500 >"$TMP/journal.txt" 2>&1
check "sandbox journal shows the gateway's own lines" grep -q "sentrix-gateway\[[0-9]*\]: " "$TMP/journal.txt"
check "sandbox journal shows systemd's lines about the units" grep -qE "systemd\[1\]: (Started|Starting|Stopped) .*$NAME" "$TMP/journal.txt"
check_eq "sandbox journal -n 3 prints three lines" 3 "$(in_ct sentrix sandbox journal --name $NAME -n 3 | wc -l)"
# A unit that fails: the network unit's `up` refuses a broken policy.
nspawn_exec sentrix sandbox stop --name $NAME >/dev/null 2>&1
nspawn_exec sh -c "cp /etc/sentrix/$NAME/policy/policy.json /root/policy.json.good && echo '{' >/etc/sentrix/$NAME/policy/policy.json"
out=$(nspawn_exec sentrix sandbox start --name $NAME 2>&1)
check_eq "start with a failing unit: exit 1" 1 $?
if grep -q "sentrix-netns@$NAME.service is failed" <<<"$out" && grep -q "sentrix-setup\[[0-9]*\]: .*policy" <<<"$out"; then
	ok "... names the failed unit and shows its journal lines"
else
	not_ok "... names the failed unit and shows its journal lines:"
	sed 's/^/    | /' <<<"$out" | head -20
fi
nspawn_exec sh -c "cp /root/policy.json.good /etc/sentrix/$NAME/policy/policy.json"
in_ct sentrix sandbox status --name $NAME --json >"$TMP/status.json"
check_eq "status --json: the failed unit's state and result" "failed exit-code" \
	"$(json_get "j['units']['sentrix-netns@$NAME.service']['active_state'] + ' ' + j['units']['sentrix-netns@$NAME.service']['result']" <"$TMP/status.json" 2>&1)"
check "status --json: its last journal lines" grep -q policy \
	<<<"$(json_get "'\\n'.join(j['units']['sentrix-netns@$NAME.service'].get('journal', []))" <"$TMP/status.json" 2>&1)"
check "start again once fixed" nspawn_exec sentrix sandbox start --name $NAME
check_unit "... the target is active" active sentrix@$NAME.target

CURRENT="disable"
nspawn_exec sentrix-setup setup --disable --purge --non-interactive --name $NAME >"$TMP/disable.out" 2>&1
rc=$?
check_eq "setup --disable --purge exits 0" 0 "$rc"
[ $rc = 0 ] || grep -vE '^  (undone|kept)' "$TMP/disable.out" | sed 's/^/    | /' | tail -20
enabled=$(in_ct systemctl is-enabled sentrix@$NAME.target)
case $enabled in
disabled | not-found) ok "sentrix@$NAME.target is no longer enabled ($enabled)" ;;
*) not_ok "sentrix@$NAME.target is no longer enabled: systemctl is-enabled says '$enabled'" ;;
esac
check_unit "sentrix-netns@$NAME.service is inactive" inactive sentrix-netns@$NAME.service
check_unit "sentrix@$NAME.target is inactive" inactive sentrix@$NAME.target
check "no /etc/systemd/system/multi-user.target.wants/sentrix@$NAME.target" \
	nspawn_exec sh -c "! test -e /etc/systemd/system/multi-user.target.wants/sentrix@$NAME.target && ! test -L /etc/systemd/system/multi-user.target.wants/sentrix@$NAME.target"
check "no drop-in /etc/systemd/system/sentrix-sandbox@$NAME.service.d" nspawn_exec test ! -e /etc/systemd/system/sentrix-sandbox@$NAME.service.d
check "no /run/netns/$NAME" nspawn_exec test ! -e /run/netns/$NAME
check "no /etc/sentrix/$NAME, no user sandbox-$NAME" \
	nspawn_exec sh -c "! test -e /etc/sentrix/$NAME && ! getent passwd sandbox-$NAME"

check_eq "no unit of $NAME is left failed" "" "$(in_ct systemctl list-units --all --failed --plain --no-legend "sentrix*@$NAME*")"
# A unit left failed (a start that failed, or one a --disable right after
# setup cut short): --disable leaves nothing of the instance in systemd's
# memory.
nspawn_exec sentrix-setup setup --non-interactive --name $NAME --policy strict >/dev/null 2>&1
nspawn_exec sentrix sandbox stop --name $NAME >/dev/null 2>&1
nspawn_exec sh -c "echo '{' >/etc/sentrix/$NAME/policy/policy.json"
nspawn_exec sentrix sandbox start --name $NAME >/dev/null 2>&1
check_eq "a failed start leaves the network unit failed" failed "$(in_ct systemctl is-failed sentrix-netns@$NAME.service)"
nspawn_exec sentrix-setup setup --disable --purge --non-interactive --name $NAME >/dev/null 2>&1
check_eq "--disable: no unit left failed" "" \
	"$(in_ct systemctl list-units --all --failed --plain --no-legend "sentrix*@$NAME*")"

CURRENT="teardown"
nspawn_stop 2>"$TMP/stop.err"
check_eq "the container powers off by itself" "" "$(cat "$TMP/stop.err")"
check_eq "the host is as before (links, nspawn mounts, processes, runtime files)" "$host_before" "$(nspawn_host_state "$ROOTFS")"
check_eq "the cached rootfs was not written to" "" "$(find "$ROOTFS" -newer "$ROOTFS.stamp" -print 2>&1 | head -5)"
t3=$(date +%s.%N)
echo "# rootfs and install $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s, boot $(awk "BEGIN{printf \"%.1f\", $t2 - $t1}") s, tests and power-off $(awk "BEGIN{printf \"%.1f\", $t3 - $t2}") s"
summary
