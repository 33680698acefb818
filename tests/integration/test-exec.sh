#!/bin/bash
# sentrix sandbox exec: the escape battery, run as the sandboxed user (each
# attempt must fail with the documented errno), plus what a user checks:
# Node's JIT works, exit status and signals pass through, the environment
# and descriptors of the caller stay outside, the launcher's death takes the
# sandbox with it, and every failure before the start is a clear error.
source "$(dirname "$0")/../lib.sh"

NAME=sxt11
U=sandbox-$NAME
H=/home/$U
OTHER=sxtother
BAD=$(mktemp -d /tmp/sxt-exec.XXXXXX)
cleanup() {
	pkill -KILL -f "sxt11-marker" 2>/dev/null
	cleanup_instance $NAME
	userdel -r $OTHER >/dev/null 2>&1
	rm -rf "$BAD"
}
trap cleanup EXIT
cleanup_instance $NAME

useradd -m $OTHER
echo "other user's data" >/home/$OTHER/private.txt
chmod 644 /home/$OTHER/private.txt
check "setup" sx_setup --name $NAME --policy strict
echo "OPENAI_API_KEY=sk-real" >/etc/sentrix/$NAME/secrets.env
# The helper goes to the home: the tree may live where the sandbox cannot look.
install -m 0755 "$TOP/tests/helpers/escape.py" $H/escape.py

X() { "$SETUP" exec --name $NAME -- "$@"; }
attempt() { # attempt DESCRIPTION ESCAPE-ARGS...
	local d=$1
	shift
	check "escape refused: $d" X /usr/bin/python3 $H/escape.py "$@"
}

attempt "read /etc/shadow" read /etc/shadow
attempt "list /root" listdir /root
attempt "read /root/.bashrc" read /root/.bashrc
attempt "read the instance's secrets.env" read /etc/sentrix/$NAME/secrets.env
attempt "list /etc/sentrix" listdir /etc/sentrix
attempt "read the rollback journal" read /var/lib/sentrix/$NAME/journal.db
attempt "read another user's home" read /home/$OTHER/private.txt
attempt "write /usr" write /usr/sentrix-escape
attempt "write /etc" write /etc/sentrix-escape
attempt "write /var/tmp" write /var/tmp/sentrix-escape
attempt "ptrace PID 1" ptrace
attempt "mount" mount
attempt "unshare(CLONE_NEWUSER)" unshare
attempt "unshare(CLONE_NEWNET)" unshare-net
attempt "setns" setns
attempt "clone3 (ENOSYS, glibc falls back to clone)" clone3
attempt "packet socket" socket packet
attempt "raw inet socket" socket raw
attempt "netlink socket" socket netlink
attempt "bluetooth socket" socket bluetooth
for sc in bpf keyctl add_key perf_event_open userfaultfd open_by_handle_at kexec_load init_module reboot swapon acct iopl ioperm process_vm_readv pivot_root chroot; do
	attempt "$sc" $sc
done
check_fails "escape refused: unshare -r" X unshare -r true
check_fails "escape refused: su to root through a setuid binary" X su -c true root
check_eq "no new privileges" "1" "$(X sh -c 'grep ^NoNewPrivs /proc/self/status' | awk '{print $2}')"
check_eq "CapEff, CapPrm, CapInh, CapBnd, CapAmb all zero" "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000" \
	"$(X sh -c 'grep ^Cap /proc/self/status' | awk '{printf "%s%s", sep, $2; sep=" "}')"
check "no host process visible in /proc" bash -c "n=\$('$SETUP' exec --name $NAME -- sh -c 'ls -d /proc/[0-9]* | wc -l'); [ \"\$n\" -le 4 ]"
check_eq "PID 1 is the sandbox's reaper" "1" "$(X sh -c 'echo $PPID')"
check_eq "runs as the sandbox user" "$U" "$(X id -un)"
check_eq "hostname is the instance name" "$NAME" "$(X hostname)"
check "home writable" X sh -c "echo ok > $H/written && cat $H/written"
check "private /tmp writable, empty" X sh -c 'test -z "$(ls -A /tmp)" && touch /tmp/x'
check_eq "umask 077" "600" "$(X sh -c "touch $H/um; stat -c %a $H/um")"
check "minimal /dev" X sh -c 'test -c /dev/null && test ! -e /dev/sda && test ! -e /dev/mem && test ! -e /dev/kmsg'
check "/etc/resolv.conf is the instance's" X grep -q "sentrix instance $NAME" /etc/resolv.conf
check_eq "core size 0" 0 "$(X sh -c 'ulimit -c')"
check_eq "open files limited by the policy" 1024 "$(X sh -c 'ulimit -n')"
check "nftables still applies: health port refused" bash -c "! '$SETUP' exec --name $NAME -- timeout 2 bash -c '</dev/tcp/$("$SETUP" status --name $NAME --json | json_get "j['network']['host_ip']")/18792' 2>/dev/null"

# Environment and descriptors of the caller stay outside.
env_out=$(SXT_SECRET=leak OPENAI_API_KEY=sk-real "$SETUP" exec --name $NAME -- env 5</etc/hostname)
check "no caller variable inside" bash -c "! grep -qE 'SXT_SECRET|OPENAI_API_KEY|SENTRIX_DATADIR' <<<'$env_out'"
check "only the documented variables" bash -c "[ -z \"\$(grep -vE '^(PATH|HOME|USER|LOGNAME|LANG|TERM|TZ|OPENCLAW_CONFIG_PATH|OPENCLAW_STATE_DIR|OPENCLAW_LOAD_SHELL_ENV|HTTPS_PROXY|HTTP_PROXY|NO_PROXY|https_proxy|http_proxy|no_proxy)=' <<<'$env_out')\" ]"
check "the egress proxy is set" grep -q "^HTTPS_PROXY=http://.*:18791$" <<<"$env_out"
check "... also in lower case (curl reads only http_proxy)" grep -q "^http_proxy=http://.*:18791$" <<<"$env_out"
check_eq "descriptors above 2 closed" "0 1 2 3" "$(X sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "' 5</etc/hostname | sed 's/ $//')"

# Node.js and threads work under the filter.
check "Node JIT workload" X node -e 'let s=0; for (let i=0;i<3e7;i++) s+=i%7; if (s!==89999995) process.exit(1); require("crypto").createHash("sha256").update("x").digest("hex")'
check "Node worker threads" X node -e 'const {Worker}=require("worker_threads"); new Worker("process.exit(0)",{eval:true}).on("exit",c=>process.exit(c))'
check "os.userInfo() works (the user has a name)" X node -e 'if (require("os").userInfo().username !== process.env.USER) process.exit(1)'

# Exit status and signals pass through.
X sh -c 'exit 42'
check_eq "exit status passes through" 42 $?
{ X sh -c 'kill -TERM $$'; rc=$?; } 2>/dev/null
check_eq "death by SIGTERM passes through (128+15)" 143 $rc
"$SETUP" exec --name $NAME -- sh -c 'trap "exit 7" INT; sleep 5 & wait' &
l=$!
sleep 0.5
kill -INT $l
wait $l
check_eq "SIGINT is forwarded to the command" 7 $?

# The launcher's death takes everything inside with it.
"$SETUP" exec --name $NAME -- sh -c 'sleep 31 & sleep 32; echo sxt11-marker' 2>/dev/null &
l=$!
sleep 0.5
check "the job runs" pgrep -f "sxt11-marker"
kill -KILL $l
wait $l 2>/dev/null
sleep 0.3
check_fails "SIGKILL of the launcher leaves no process behind" pgrep -f "sxt11-marker"

# Failures before the start: clear errors, exit 1, nothing started.
out=$("$SETUP" exec --name sxtnone -- true 2>&1)
check_eq "missing instance: exit 1" 1 $?
check "missing instance: says so" grep -q "no instance sxtnone" <<<"$out"
check "down instance refused" bash -c "'$SETUP' down --name $NAME && ! '$SETUP' exec --name $NAME -- true 2>&1 | grep -q . ; '$SETUP' exec --name $NAME -- true 2>&1 | grep -q 'is down'"
"$SETUP" up --name $NAME
cp /etc/sentrix/$NAME/policy/policy.json "$BAD/policy.json"
sed -i 's/"ptrace",/"ptrace", "frobnicate",/' /etc/sentrix/$NAME/policy/policy.json
out=$("$SETUP" exec --name $NAME -- true 2>&1)
check_eq "unknown syscall in the profile: exit 1" 1 $?
check "unknown syscall: named" grep -q 'unknown system call "frobnicate"' <<<"$out"
cp "$BAD/policy.json" /etc/sentrix/$NAME/policy/policy.json
sed -i 's|"/root",|"/root", "/nonexistent-sxt",|' /etc/sentrix/$NAME/policy/policy.json
out=$("$SETUP" exec --name $NAME -- true 2>&1)
check_eq "missing path to hide: exit 1" 1 $?
check "missing path to hide: named, with the fix" grep -q '/nonexistent-sxt does not exist.*optional' <<<"$out"
cp "$BAD/policy.json" /etc/sentrix/$NAME/policy/policy.json
check_eq "no command: usage error" 2 "$("$SETUP" exec --name $NAME >/dev/null 2>&1; echo $?)"
out=$(X /nonexistent-binary 2>&1)
check_eq "missing command: 127" 127 $?
check "exec --help" bash -c "'$SENTRIX' sandbox exec --help | grep -q Usage"
check "the host is untouched by the sandbox runs" bash -c "! test -e /usr/sentrix-escape && ! test -e /etc/sentrix-escape"
summary
