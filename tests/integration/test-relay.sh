#!/bin/bash
# The netns relay (src/setup/relay.c): `sentrix-setup run`, the command the
# sandbox unit's drop-in runs, also starts a relay from
# /run/sentrix/NAME/openclaw.sock to 127.0.0.1:PORT inside the instance's
# netns, for the sidecar (OpenClaw pairs loopback peers silently).  The
# drop-in's own command line runs here, with OpenClaw stood in for by
# tests/helpers/relay-openclaw.py: a private mount namespace shows it as
# /usr/local/bin/openclaw (the host's /usr/local/bin is untouched), as
# test-openclaw-e2e.sh does with the real one.  Checked: bytes both ways,
# half-close both ways, the 17th connection, who may connect, the relay's
# identity and namespaces, a second start, a bad directory, and what is left
# after the launcher ends or is killed.
source "$(dirname "$0")/../lib.sh"

NAME=sxt61
U=sandbox-$NAME
H=/home/$U
DIR=/run/sentrix/$NAME
SOCK=$DIR/openclaw.sock
TMP=$(mktemp -d /tmp/sxt-relay.XXXXXX)
RUN_EXISTED=$([ -d /run/sentrix ] && echo yes)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	cleanup_instance $NAME
	rm -f "$SOCK"
	rm -rf "$DIR" 2>/dev/null
	[ -n "$RUN_EXISTED" ] || rmdir /run/sentrix 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
cleanup_instance $NAME

# as USER CMD...: from the host, as USER with its groups.
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}
client() { as sentrix /usr/bin/python3 "$TMP/relay-client.py" "$SOCK" "$@"; }

# start: the drop-in's command line, in the background ($L: the launcher);
# waits until the stand-in answers through the relay.
start() {
	(cd $H && exec unshare --mount --propagation private -- sh -c 'mount --bind "$1" /usr/local/bin && shift && exec "$@"' \
		sh "$TMP/bin" "${RUN[@]}") >>"$TMP/run.out" 2>&1 &
	L=$!
	PIDS+=($L)
	for _ in $(seq 100); do
		client ping 2>/dev/null && return 0
		kill -0 $L 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
relay_pid() { pgrep -P "$L" -u sentrix; }

CURRENT=setup
check "setup" sx_setup --name $NAME --policy strict
install -d -m 0755 "$TMP/bin"
install -m 0755 "$TOP/tests/helpers/relay-openclaw.py" "$TMP/bin/openclaw"
install -m 0755 "$TOP/tests/helpers/relay-client.py" "$TMP/relay-client.py"
chmod 0755 "$TMP"
dropin=/etc/systemd/system/sentrix-sandbox@$NAME.service.d/50-sentrix-instance.conf
cmdline=$(sed -n 's/^ExecStart=\(.\+\)$/\1/p' "$dropin" | tail -n1)
check_eq "the drop-in starts the instance with sentrix-setup run" "/usr/local/sbin/sentrix-setup run --name $NAME" "$cmdline"
read -r -a RUN <<<"${cmdline/#*\/sbin\/sentrix-setup/$SETUP}"

CURRENT="relay"
if ! start; then
	not_ok "the launcher and its relay start (the stand-in answers through $SOCK)"
	sed 's/^/    | /' "$TMP/run.out" | tail -20
	summary
	exit 1
fi
ok "the launcher and its relay start (the stand-in answers through $SOCK)"
check "the start is logged" grep -q "relay $SOCK -> 127.0.0.1:18789 in netns $NAME" "$TMP/run.out"
check "1 MiB each way, intact; the client's half-close reaches OpenClaw" client roundtrip
sent=$(client server-eof)
check "OpenClaw's half-close reaches the client, whose side stays open" test -n "$sent"
for _ in $(seq 50); do [ -s $H/relay-s.txt ] && break; sleep 0.1; done
check_eq "... and what the client sent after it arrives whole" "$sent" "$(cat $H/relay-s.txt 2>/dev/null)"
check "16 connections at once; the 17th is closed at once; a freed slot serves again" client limit
check_eq "the socket: mode 0600, user and group sentrix" "600 sentrix sentrix" "$(stat -c '%a %U %G' $SOCK)"
check_eq "its directory: 0755 root root" "755 root root" "$(stat -c '%a %U %G' $DIR)"
as $U /usr/bin/python3 "$TMP/relay-client.py" "$SOCK" connect 2>/dev/null
check_eq "the sandbox user cannot connect (EACCES)" 13 $?
check_eq "nor can the sandboxed command (EACCES)" 13 "$("$SETUP" exec --name $NAME -- /usr/bin/python3 -c "
import socket
try:
    socket.socket(socket.AF_UNIX).connect('$SOCK')
    print(0)
except OSError as e:
    print(e.errno)" 2>&1)"

R=$(relay_pid)
P1=$(pgrep -P "$L" -u $U)
check "one relay process, a child of the launcher" test -n "$R" -a "$(wc -w <<<"$R")" = 1
check_eq "the relay runs as sentrix (real, effective, saved, fs uid)" \
	"$(id -u sentrix) $(id -u sentrix) $(id -u sentrix) $(id -u sentrix)" "$(awk '/^Uid:/{print $2, $3, $4, $5}' /proc/$R/status)"
check_eq "... with sentrix's groups only" "$(id -G sentrix)" "$(awk '/^Groups:/{$1=""; print substr($0, 2)}' /proc/$R/status | sed 's/ *$//')"
check_eq "... no capabilities, no new privileges" "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000 1" \
	"$(grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/$R/status | awk '{printf "%s%s", sep, $2; sep=" "}')"
check_eq "... in the instance's netns" "$(stat -L -c %i /run/netns/$NAME)" "$(stat -L -c %i /proc/$R/ns/net)"
check_eq "... in the host's PID namespace, not the sandbox's" "$(readlink /proc/self/ns/pid)" "$(readlink /proc/$R/ns/pid)"
check "... nor the sandbox's mount namespace" test "$(readlink /proc/$R/ns/mnt)" != "$(readlink /proc/$P1/ns/mnt)"
check_eq "... holding stdio, its epoll and its listener only" "0 1 2 3 4" "$(ls /proc/$R/fd | sort -n | tr '\n' ' ' | sed 's/ $//')"
check_eq "... with at most 64 descriptors" 64 "$(awk '/^Max open files/{print $4}' /proc/$R/limits)"

out=$("$SETUP" run --name $NAME 2>&1)
check_eq "a second start while it runs: exit 1" 1 $?
check "... saying the instance runs already" grep -q "runs already" <<<"$out"
check "... and the first relay still serves" client ping

check "OpenClaw gone: the relay closes the client's connection at once" client refused
check "... and says so" grep -q "cannot reach OpenClaw's gateway on 127.0.0.1:18789" "$TMP/run.out"

kill -TERM $L
wait $L 2>/dev/null
check_fails "the launcher's end ends the relay" kill -0 $R
check_fails "... and removes the socket and its directory" test -e $DIR

CURRENT="plain exec"
"$SETUP" exec --name $NAME -- sleep 2 &
E=$!
PIDS+=($E)
sleep 0.7
check_eq "sentrix sandbox exec starts no relay" "" "$(pgrep -P $E -u sentrix)"
check_fails "... and makes no socket" test -e $SOCK
wait $E

CURRENT="killed launcher"
check "the launcher starts again" start
R=$(relay_pid)
exec 3>&2 2>/dev/null # not bash's "Killed" notice
kill -KILL $L
wait $L
for _ in $(seq 20); do kill -0 $R 2>/dev/null || break; sleep 0.1; done
exec 2>&3 3>&-
check_fails "SIGKILL of the launcher takes the relay with it (no orphan)" kill -0 $R
check_fails "... no process of its left" pgrep -u sentrix -f "sentrix-setup run --name $NAME"
check_eq "... which leaves the socket file at most" "openclaw.sock" "$(ls -A $DIR)"
check "a new start replaces the socket it left" start
check "... and serves" client roundtrip
kill -TERM $L
wait $L 2>/dev/null
check_fails "... and removes it at the end" test -e $SOCK

CURRENT="bad directory"
mkdir -p /run/sentrix "$TMP/elsewhere"
ln -s "$TMP/elsewhere" $DIR
expect 1 "not a directory" "a symlink for /run/sentrix/$NAME is refused" "$SETUP" run --name $NAME
check "... nothing was made behind it" test -z "$(ls -A "$TMP/elsewhere")"
rm $DIR
install -d -m 0755 -o $U $DIR
expect 1 "belongs to uid" "a directory of another user's is refused" "$SETUP" run --name $NAME
rmdir $DIR

summary
