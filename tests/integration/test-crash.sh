#!/bin/bash
# Crash safety: setup is SIGKILLed at every checkpoint in turn (one before
# and one after each journalled change; SENTRIX_TEST_KILL_AT=N), then
# --disable --purge must return the host to exactly its prior state (plain
# --disable would keep the gateway user and the logs directory, as
# documented).  Then the same for --disable itself: killed at every
# checkpoint, a second --disable finishes the job.
source "$(dirname "$0")/../lib.sh"

NAME=sxt7
OC=/home/sandbox-$NAME/.openclaw/openclaw.json
LOG=$(mktemp /tmp/sxt-crash.XXXXXX)
trap 'cleanup_instance $NAME; userdel -r sandbox-$NAME >/dev/null 2>&1; rm -f "$LOG"' EXIT
cleanup_instance $NAME

# A pre-existing user with an openclaw.json of its own makes the rollback
# of a patched file part of every round.
useradd -m -s /bin/bash sandbox-$NAME
mkdir -p "$(dirname $OC)"
printf '{\n  "agents": {"defaults": {"model": "mock/m1"}},\n  "gateway": {"port": 1234}\n}\n' >$OC
chown -R sandbox-$NAME: "$(dirname $OC)"
chmod 640 $OC

before=$(snapshot $OC)
args=(--name $NAME --policy default --dns 198.51.100.53)
kills=0 bad=0
for k in $(seq 1 200); do
	{ SENTRIX_TEST_KILL_AT=$k "$SETUP" setup --non-interactive "${args[@]}" >/dev/null 2>&1; rc=$?; } 2>/dev/null
	if [ $rc = 0 ]; then
		break
	fi
	if [ $rc != 137 ]; then
		not_ok "setup killed at checkpoint $k exited $rc instead of being killed"
		bad=1
	fi
	kills=$((kills + 1))
	if ! "$SETUP" setup --disable --purge --non-interactive --name $NAME >"$LOG" 2>&1; then
		not_ok "--disable after a kill at checkpoint $k failed"
		sed 's/^/    | /' "$LOG"
		bad=1
	fi
	if snapshot_changed "$before" "host differs after kill at checkpoint $k + --disable" $OC; then
		bad=1
		break
	fi
done
if [ $kills -lt 20 ]; then
	not_ok "only $kills kill points were reached (checkpoints missing?)"
elif [ $bad = 0 ]; then
	ok "setup killed at each of $kills checkpoints, then --disable: host identical every time"
fi
check_eq "status green after the uninterrupted run" 0 "$("$SETUP" status --name $NAME >/dev/null 2>&1; echo $?)"

# Now kill --disable itself at every checkpoint; a second run completes it.
up=$(snapshot $OC)
dkills=0 bad=0
for k in $(seq 1 200); do
	{ SENTRIX_TEST_KILL_AT=$k "$SETUP" setup --disable --purge --non-interactive --name $NAME >/dev/null 2>&1; rc=$?; } 2>/dev/null
	if [ $rc = 0 ]; then
		break
	fi
	dkills=$((dkills + 1))
	"$SETUP" setup --disable --purge --non-interactive --name $NAME >/dev/null 2>&1 || { not_ok "second --disable after kill $k failed"; bad=1; }
	if snapshot_changed "$before" "host differs after --disable killed at checkpoint $k and re-run" $OC; then
		bad=1
		break
	fi
	sx_setup "${args[@]}" >/dev/null 2>&1 || { not_ok "setup again after round $k failed"; bad=1; break; }
done
if [ $dkills -lt 20 ]; then
	not_ok "only $dkills kill points reached in --disable"
elif [ $bad = 0 ]; then
	ok "--disable killed at each of $dkills checkpoints, then re-run: host identical every time"
fi
# Killed inside an atomic write, between writing the temporary file
# (NAME.sx-tmp.PID) and renaming it into place: strace delivers SIGKILL at
# the Nth rename.  The next run sweeps the temporary file (the snapshot
# lists every *.sx-tmp.* under /etc, /var/lib/sentrix, /home, ...).
CURRENT="killed mid-write"
renames=(-e trace=rename,renameat,renameat2 -e)
mkills=0 left=0 bad=0
for k in $(seq 1 60); do
	{ strace -f -o /dev/null "${renames[@]}" inject=rename,renameat,renameat2:signal=KILL:when=$k \
		"$SETUP" setup --non-interactive "${args[@]}" >/dev/null 2>&1; rc=$?; } 2>/dev/null
	[ $rc = 0 ] && break
	mkills=$((mkills + 1))
	[ -n "$(find /etc /var/lib/sentrix /home/sandbox-$NAME -xdev -name '*.sx-tmp.*' 2>/dev/null)" ] && left=$((left + 1))
	"$SETUP" setup --disable --purge --non-interactive --name $NAME >"$LOG" 2>&1 ||
		{ not_ok "--disable after a kill at rename $k failed"; sed 's/^/    | /' "$LOG"; bad=1; }
	if snapshot_changed "$before" "host differs after a kill at rename $k + --disable" $OC; then
		bad=1
		break
	fi
done
if [ $mkills -lt 5 ] || [ $left -lt 5 ]; then
	not_ok "only $mkills kills mid-write ($left left a temporary file): strace injection not working?"
elif [ $bad = 0 ]; then
	ok "setup killed at each of $mkills renames ($left with a temporary file left), then --disable: host identical, no temporary file"
fi
"$SETUP" setup --disable --purge --non-interactive --name $NAME >/dev/null 2>&1

# A setup killed before secrets.env exists: plain --disable (which keeps
# secrets.env and so /etc/sentrix/NAME) must not keep an empty directory.
CURRENT="plain --disable after an early kill"
bad=0 rounds=0
for k in $(seq 1 60); do
	{ SENTRIX_TEST_KILL_AT=$k "$SETUP" setup --non-interactive "${args[@]}" >/dev/null 2>&1; } 2>/dev/null
	[ -e /etc/sentrix/$NAME/secrets.env ] && break
	rounds=$((rounds + 1))
	"$SETUP" setup --disable --non-interactive --name $NAME >/dev/null 2>&1 || { not_ok "--disable after kill $k failed"; bad=1; }
	if [ -e /etc/sentrix/$NAME ]; then
		not_ok "kill at checkpoint $k, then --disable: /etc/sentrix/$NAME is left ($(ls -A /etc/sentrix/$NAME | tr '\n' ' '))"
		bad=1
	fi
	"$SETUP" setup --disable --purge --non-interactive --name $NAME >/dev/null 2>&1
done
[ $bad = 0 ] && [ $rounds -gt 3 ] && ok "setup killed at each of the $rounds checkpoints before secrets.env exists, then --disable: no empty /etc/sentrix/$NAME"
"$SETUP" setup --disable --purge --non-interactive --name $NAME >/dev/null 2>&1
check_eq "host as before" "$before" "$(snapshot $OC)"

# `secrets set` killed mid-write: the next change sweeps its temporary file.
CURRENT="secrets set killed mid-write"
sx_setup "${args[@]}" >/dev/null 2>&1
{ printf 'v1' | strace -f -o /dev/null "${renames[@]}" inject=rename,renameat,renameat2:signal=KILL:when=1 \
	"$SETUP" secrets set --name $NAME SXT_CRASH_KEY >/dev/null 2>&1; rc=$?; } 2>/dev/null
check_eq "killed at its rename (exit 137)" 137 $rc
check "it left its temporary file" bash -c "ls /etc/sentrix/$NAME/secrets.env.sx-tmp.* >/dev/null 2>&1"
check "the next secrets set works" bash -c "printf v2 | '$SETUP' secrets set --name $NAME SXT_CRASH_KEY"
check_fails "... and removed the leftover" bash -c "ls /etc/sentrix/$NAME/secrets.env.sx-tmp.* 2>/dev/null | grep ."
check "--disable --purge" "$SETUP" setup --disable --purge --non-interactive --name $NAME
check_eq "host as before, no temporary file anywhere" "$before" "$(snapshot $OC)"

check_eq "user's openclaw.json restored byte for byte" "$(echo "$before" | grep -A1 "^$OC " | tail -1)" "$(snapshot $OC | grep -A1 "^$OC " | tail -1)"
summary
