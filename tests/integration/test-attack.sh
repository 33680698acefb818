#!/bin/bash
# The agent as the adversary.  Everything in the sandbox home is the
# sandbox user's to rewrite; root must never run, source or trust it, nor
# follow its symlinks.  As the sandbox user, from inside the sandbox, this
# test:
#   1. rewrites every file setup put in the home (launchers, .bashrc,
#      openclaw.json) with a payload that leaves a mark when run as root,
#      then drives every root path the README documents (sentrix sandbox
#      run, setup re-run, provider set, secrets set, status, exec of an
#      interactive shell from root's terminal, --disable): no mark;
#   2. injects keystrokes into root's terminal with TIOCSTI from a shell
#      root opened in the sandbox: refused by the seccomp filter;
#   3. puts symlinks (to /etc/shadow, to a root-only JSON file, to another
#      tenant's openclaw.json, to /etc), directories and a FIFO where setup
#      keeps its files, and swaps the .openclaw directory: setup, provider
#      set and status refuse with a message naming the path and change
#      nothing; --disable leaves them alone and still rolls back;
#   4. turns the policy's paths inside the home (writable ~/work, hidden
#      ~/private) and a --cwd into symlinks: the launcher refuses them.
source "$(dirname "$0")/../lib.sh"

A=sxt81 B=sxt82
UA=sandbox-$A UB=sandbox-$B
HA=/home/$UA HB=/home/$UB
OCA=$HA/.openclaw/openclaw.json OCB=$HB/.openclaw/openclaw.json
TMP=$(mktemp -d /tmp/sxt-attack.XXXXXX)
chmod 755 "$TMP"
SECRET=/root/sxt-attack-secret.json
MARK=/root/sxt-attack-ran-as-root
cleanup() {
	cleanup_instance $A
	cleanup_instance $B
	rm -f "$SECRET" "$MARK".* /etc/openclaw.json
	rm -rf "$TMP"
}
trap cleanup EXIT
cleanup

# agent SCRIPT: runs SCRIPT as the sandbox user inside instance A's sandbox.
agent() { "$SETUP" exec --name $A -- sh -c "$1"; }
# The payload: harmless as the sandbox user, a mark in /root as root.
payload() { printf '\n[ "$(id -u)" = 0 ] && touch %s.%s\n' "$MARK" "$1"; }
no_mark() { check_eq "$1: nothing of the agent's ran as root" "" "$(ls "$MARK".* 2>/dev/null)"; }
# Files of root's in the home would be names the agent can swap.
no_root_files() { check_eq "$1: nothing in the home belongs to root" "" "$(find $HA -xdev -uid 0 2>/dev/null)"; }
# targets: what a followed symlink would have read or written.
targets() {
	local f
	for f in /etc/shadow /etc/passwd "$SECRET" /etc/openclaw.json $OCB "$HB/.openclaw"; do
		stat -c '%n %F %a %U %G %s' "$f" 2>&1
		[ -f "$f" ] && md5sum "$f"
	done
}

mkdir -p "$TMP/policy"
python3 - "$TOP/policy/default/policy.json" "$TMP/policy/policy.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["name"] = "sxtattack"
p["filesystem"]["writable"].append("-~/work")
p["filesystem"]["hidden"].append("-~/private")
json.dump(p, open(sys.argv[2], "w"), indent=1)
EOF
printf '{"secret": "root-only-%s"}\n' "$RANDOM$RANDOM" >"$SECRET"
chmod 600 "$SECRET"

CURRENT=setup
check "instance $A (the attacker's)" sx_setup --name $A --policy "$TMP/policy"
check "instance $B (another tenant's)" sx_setup --name $B --policy strict
PROV=("$SETUP" provider set --name $A mock --api openai-completions --base-url http://127.0.0.1:9/v1 --model m1)
check "provider set" "${PROV[@]}"

CURRENT="launchers as root"
out=$(sh $HA/run-sandbox.sh 2>&1)
check_eq "run-sandbox.sh run by root refuses: exit 1" 1 $?
check "... and names root's way: sentrix sandbox run" grep -q "refusing to run as root.*sudo sentrix sandbox run --name $A" <<<"$(tr '\n' ' ' <<<"$out")"
out=$(sh $HA/pair.sh 2>&1)
check_eq "pair.sh run by root refuses: exit 1" 1 $?
check "... and says why" grep -q "refusing to run as root" <<<"$out"

CURRENT="the agent rewrites its home"
for f in run-sandbox.sh pair.sh .bashrc; do
	agent "printf '%s' '$(payload "$f")' >>~/$f" || not_ok "could not append to $f"
done
agent "python3 -c \"import json; p='$OCA'; j=json.load(open(p)); j['x_agent']='$(payload openclaw.json | tr -d '\n')'; json.dump(j, open(p, 'w'))\""
check "every file setup put in the home now carries the payload" \
	bash -c "grep -q sxt-attack $HA/run-sandbox.sh && grep -q sxt-attack $HA/pair.sh && grep -q sxt-attack $HA/.bashrc && grep -q sxt-attack $OCA"
snap=$(targets)

CURRENT="root paths after the rewrite"
out=$(timeout 30 "$SENTRIX" sandbox run --name $A 2>&1)
check_eq "sentrix sandbox run starts openclaw confined (absent here: exit 127)" 127 $?
no_mark "sentrix sandbox run"
check "setup re-run" sx_setup --name $A --policy "$TMP/policy"
check_fails "... puts sentrix's launchers back" grep -q sxt-attack $HA/run-sandbox.sh $HA/pair.sh $HA/.bashrc
no_mark "setup re-run"
check "provider set (a second model)" "${PROV[@]}" --model m2
no_mark "provider set"
check "secrets set" bash -c "printf k | '$SETUP' secrets set --name $A MOCK_API_KEY"
"$SETUP" status --name $A >/dev/null 2>&1
no_mark "status"
no_root_files "after every root path"
check_eq "nothing outside the home changed" "$snap" "$(targets)"

CURRENT="keystrokes into root's terminal"
# A shell root opens in the sandbox runs the agent's .bashrc; TIOCSTI would
# queue a command on root's terminal, read by root's shell afterwards.
# The agent's injector, in its home: types ARGV[1] and a newline.
printf '%s\n' 'import fcntl, sys, termios' 'for b in (sys.argv[1] + "\n").encode():' \
	'    fcntl.ioctl(0, termios.TIOCSTI, bytes([b]))' | agent 'cat >~/inject.py'
# Control: the kernel lets a plain process do it (dev.tty.legacy_tiocsti).
printf '%s\n' "setpriv --reuid=$UA --regid=$UA --clear-groups /usr/bin/python3 $HA/inject.py 'echo typed' 2>/dev/null" \
	'read -t 2 l; echo "got:$l"' >"$TMP/control.sh"
got=$(script -qec "bash $TMP/control.sh" /dev/null < <(sleep 8) | tr -d '\r' | grep '^got:')
if [ "$got" = "got:echo typed" ]; then
	ok "control: outside the sandbox, TIOCSTI types into the terminal on this kernel"
else
	skip "control: this kernel refuses TIOCSTI by itself (dev.tty.legacy_tiocsti=$(sysctl -n dev.tty.legacy_tiocsti 2>/dev/null)), so only the filter's EPERM is checked"
fi
printf '%s\n' "python3 ~/inject.py 'touch $MARK.tiocsti'" exit | agent 'cat >>~/.bashrc'
# Root's shell: after the command it takes the terminal back (as an
# interactive shell does) and reads what is typed next.
printf '%s\n' "'$SETUP' exec --name $A -- bash -i 2>/dev/null" \
	"/usr/bin/python3 -c 'import os, signal; signal.signal(signal.SIGTTOU, signal.SIG_IGN); os.tcsetpgrp(0, os.getpgrp())'" \
	'read -t 2 l; echo "got:$l"' >"$TMP/rootshell.sh"
got=$(script -qec "bash $TMP/rootshell.sh" /dev/null < <(sleep 8) | tr -d '\r' | grep '^got:')
check_eq "a shell root opens in the sandbox cannot type into root's terminal" "got:" "$got"
printf '%s\n' 'import errno, fcntl, sys, termios' 'try:' '    fcntl.ioctl(0, termios.TIOCSTI, b"x")' \
	'except OSError as e:' '    sys.exit(0 if e.errno == errno.EPERM else 1)' 'sys.exit(1)' | agent 'cat >~/eperm.py'
check "the filter answers TIOCSTI with EPERM" script -qec "'$SETUP' exec --name $A -- python3 $HA/eperm.py" /dev/null
no_mark "TIOCSTI"
check "setup re-run (restores .bashrc)" sx_setup --name $A --policy "$TMP/policy"

CURRENT="symlinks and swaps in the home"
# plant NAME SCRIPT: the agent's move; each is tried against every root path
# and undone by the agent afterwards (RESTORE).
attack() {
	local name=$1 plant=$2 restore=$3 refused_by_provider=$4 out rc hostsnap
	agent "$plant" || { not_ok "$name: the agent could not plant it"; return; }
	snap=$(targets)
	hostsnap=$(snapshot)
	out=$(timeout 20 "$SETUP" setup --non-interactive --name $A --policy "$TMP/policy" 2>&1)
	rc=$?
	check_eq "$name: setup re-run refuses (exit 1)" 1 $rc
	check "$name: ... naming what it refused" grep -q "$HA/" <<<"$out"
	if [ "$refused_by_provider" = 1 ]; then
		out=$(timeout 20 "${PROV[@]}" --model m3 2>&1)
		check_eq "$name: provider set refuses (exit 1)" 1 $?
	fi
	timeout 20 "$SETUP" status --name $A >/dev/null 2>&1
	check_eq "$name: status does not hang and reports a problem" 1 $?
	check_eq "$name: the host is unchanged" "$hostsnap" "$(snapshot)"
	check_eq "$name: nothing a link pointed at was read into the home or changed" "$snap" "$(targets)"
	check_fails "$name: no root-only content copied into the home" grep -rqs "root-only-" $HA
	no_root_files "$name"
	agent "$restore" || not_ok "$name: the agent could not undo it"
	check "$name: setup works again once it is gone" sx_setup --name $A --policy "$TMP/policy"
}
oc='cd ~/.openclaw && mv openclaw.json ../oc.keep'
back='cd ~/.openclaw && rm -rf openclaw.json && mv ../oc.keep openclaw.json'
attack "openclaw.json -> /etc/shadow" "$oc && ln -s /etc/shadow openclaw.json" "$back" 1
attack "openclaw.json -> a root-only JSON file" "$oc && ln -s $SECRET openclaw.json" "$back" 1
attack "openclaw.json -> another tenant's" "$oc && ln -s $OCB openclaw.json" "$back" 1
attack "a directory as openclaw.json" "$oc && mkdir openclaw.json" "$back" 1
attack "a FIFO as openclaw.json" "$oc && mkfifo openclaw.json" "$back" 1
dot='cd ~ && mv .openclaw .oc-keep'
dotback='cd ~ && rm -f .openclaw && mv .oc-keep .openclaw'
attack ".openclaw -> /etc" "$dot && ln -s /etc .openclaw" "$dotback" 1
attack ".openclaw -> another tenant's .openclaw" "$dot && ln -s $HB/.openclaw .openclaw" "$dotback" 1
attack ".bashrc -> /etc/shadow" "cd ~ && mv .bashrc .b-keep && ln -s /etc/shadow .bashrc" "cd ~ && rm .bashrc && mv .b-keep .bashrc" 0
attack "run-sandbox.sh -> /etc/passwd" "cd ~ && mv run-sandbox.sh r-keep && ln -s /etc/passwd run-sandbox.sh" "cd ~ && rm run-sandbox.sh && mv r-keep run-sandbox.sh" 0
attack "a directory as pair.sh" "cd ~ && mv pair.sh p-keep && mkdir pair.sh" "cd ~ && rmdir pair.sh && mv p-keep pair.sh" 0

CURRENT="--disable with the home booby-trapped"
agent "$oc && ln -s $SECRET openclaw.json && cd ~ && mv .bashrc .b-keep && ln -s /etc/shadow .bashrc && mv run-sandbox.sh r-keep && mkdir run-sandbox.sh"
snap=$(targets)
out=$("$SETUP" setup --disable --non-interactive --name $A 2>&1)
check_eq "--disable still rolls the instance back (exit 0)" 0 $?
check "... saying what it left alone" grep -q "left $OCA as it is" <<<"$out"
check_fails "... and the instance is gone" test -e /etc/sentrix/$A/config.json
check_eq "nothing a link pointed at changed" "$snap" "$(targets)"
check "the agent's links are still its own" test -L $OCA -a -L $HA/.bashrc
no_mark "--disable"
no_root_files "--disable"
check "--disable --purge" "$SETUP" setup --disable --purge --non-interactive --name $A
check_eq "the root-only file a link pointed at is unchanged after --purge" \
	"$(grep "$SECRET" <<<"$snap")" "$(targets | grep "$SECRET")"

CURRENT="policy paths inside the home"
check "instance $A again" sx_setup --name $A --policy "$TMP/policy"
agent "mkdir ~/work ~/private && echo mine >~/private/notes"
check "~/work is writable in the sandbox" agent "touch ~/work/f"
check_fails "~/private is hidden in the sandbox" agent "cat ~/private/notes"
# The agent's other processes (another session of the same home) plant
# these; inside this sandbox ~/work is a mount point.
as_user() { setpriv --reuid=$UA --regid=$UA --clear-groups sh -c "cd $HA && $1"; }
as_user "rm -rf work && ln -s /etc/sentrix work"
out=$("$SETUP" exec --name $A -- ls ~/work 2>&1)
check_eq "a writable ~/work that is a symlink: the launcher refuses (exit 1)" 1 $?
check "... and says it does not follow it" grep -q "symbolic link in the sandbox home" <<<"$out"
as_user "rm work && mv private private-real && ln -s /usr private"
out=$("$SETUP" exec --name $A -- true 2>&1)
check_eq "a hidden ~/private that is a symlink: the launcher refuses (exit 1)" 1 $?
as_user "rm private && ln -s /root cwdlink"
out=$("$SETUP" exec --name $A --cwd $HA/cwdlink -- pwd 2>&1)
check_eq "--cwd through the agent's symlink to /root: entered as the sandbox user, so refused (exit 126)" 126 $?
check_fails "... and the command never ran in /root" grep -qx /root <<<"$out"
summary
