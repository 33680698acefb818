#!/bin/bash
# Lifecycle of one instance: setup, green status, idempotent re-run, list,
# down/up, policy change reconciled in place, --disable leaving the host
# exactly as before (and keeping user, home, secrets, logs unless --purge).
source "$(dirname "$0")/../lib.sh"

NAME=sxt1
USER_NAME=sandbox-$NAME
HOMEDIR=/home/$USER_NAME
trap 'cleanup_instance $NAME' EXIT
cleanup_instance $NAME

before=$(snapshot)

check "dry run exits 0" "$SETUP" setup --name $NAME --dns none --dry-run
check_eq "dry run changes nothing" "$before" "$(snapshot)"

out=$(sx_setup --name $NAME --policy strict 2>&1)
check_eq "setup --policy strict exits 0" 0 $?
check "status --json reports ok" bash -c "'$SETUP' status --name $NAME --json | /usr/bin/python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"ok\"] else 1)'"
json=$("$SETUP" status --name $NAME --json)
check_eq "status: sandbox interface eth0" eth0 "$(echo "$json" | json_get "j['network']['sandbox_interface']")"
check_eq "status: host interface sx-$NAME" sx-$NAME "$(echo "$json" | json_get "j['network']['host_interface']")"
check_eq "status: units activity skipped without systemd" skipped "$(echo "$json" | json_get "j['checks']['unit_active']['state']")"
check "ip netns lists the instance" bash -c "ip netns list | grep -qw $NAME"
check "sandbox user exists with /bin/bash" bash -c "getent passwd $USER_NAME | grep -q ':/bin/bash$'"
check "gateway user sentrix exists and cannot log in" bash -c "getent passwd sentrix | grep -q nologin"
check_eq "home owned by the sandbox user" "$USER_NAME" "$(stat -c %U $HOMEDIR)"
check_eq "secrets.env is 0600 sentrix" "600 sentrix" "$(stat -c '%a %U' /etc/sentrix/$NAME/secrets.env)"
check_eq "policy dir is root-owned 755" "755 root" "$(stat -c '%a %U' /etc/sentrix/$NAME/policy)"
check_eq "openclaw.json is 0600, sandbox user's" "600 $USER_NAME" "$(stat -c '%a %U' $HOMEDIR/.openclaw/openclaw.json)"
check_eq "strict: resolv.conf has no nameserver" 0 "$(grep -c '^nameserver' /etc/netns/$NAME/resolv.conf)"
check_eq "strict: forwarding left alone" "$(echo "$before" | sed -n '/^## sysctl/{n;p}')" "$(sysctl -n net.ipv4.ip_forward)"
check "enablement symlink written without systemd" test -L /etc/systemd/system/multi-user.target.wants/sentrix@$NAME.target
check "launcher scripts rendered" bash -c "grep -q 'exec openclaw gateway --port 18789' $HOMEDIR/run-sandbox.sh && ! grep -q '@[A-Z_]*@' $HOMEDIR/run-sandbox.sh $HOMEDIR/pair.sh $HOMEDIR/.bashrc"
check_fails "pair.sh says it is not available yet and exits non-zero" sh $HOMEDIR/pair.sh
check "bashrc starts run-sandbox.sh on interactive login" grep -q 'run-sandbox.sh' $HOMEDIR/.bashrc
check "list shows the instance" bash -c "'$SETUP' list | grep -E '^$NAME +strict'"

# Target management needs systemd (test-systemd.sh drives it there); here
# each command says what to use instead and changes nothing.
up=$(snapshot)
EXPECT_BEFORE=$up
for verb in start stop restart enable disable-boot; do
	expect 1 "systemd is not running here.*sentrix sandbox up --name $NAME" "sandbox $verb without systemd" \
		"$SENTRIX" sandbox $verb --name $NAME
done
expect 1 "there is no instance sxt1nope" "sandbox start of a missing instance" "$SENTRIX" sandbox start --name sxt1nope
expect 2 "not a number of lines" "sandbox journal -n garbage" "$SENTRIX" sandbox journal --name $NAME -n x
expect 2 "does not apply" "sandbox start -f" "$SENTRIX" sandbox start --name $NAME -f
EXPECT_BEFORE=""
check_eq "list: no target state without systemd" "-" "$("$SETUP" list | awk -v n=$NAME '$1 == n {print $6}')"
out=$(sx_setup --name $NAME --policy strict 2>&1)
check "re-run says already set up" grep -q "already set up" <<<"$out"
check_eq "re-run changes nothing" "$up" "$(snapshot)"

check "down" "$SETUP" down --name $NAME
check_fails "status fails while down" "$SETUP" status --name $NAME
check_eq "netns state missing after down" missing "$(status_state $NAME netns)"
check "down again is idempotent" "$SETUP" down --name $NAME
check "up" "$SETUP" up --name $NAME
check "up again is idempotent" "$SETUP" up --name $NAME
check "status green after up" "$SETUP" status --name $NAME

# Policy change: reconciled in place.
out=$(sx_setup --name $NAME --policy permissive --dns 198.51.100.53 2>&1)
check_eq "policy change to permissive exits 0" 0 $?
check "status green after the policy change" "$SETUP" status --name $NAME
check "host table now routes tcp 80/443" bash -c "nft list table inet sentrix_$NAME | grep -q 'tcp dport { 80, 443 } accept'"
check_eq "forwarding on for permissive" 1 "$(sysctl -n net.ipv4.ip_forward)"
check "resolv.conf lists the server" grep -q '^nameserver 198.51.100.53' /etc/netns/$NAME/resolv.conf
check "openclaw exec security follows the policy" grep -q '"security":[[:space:]]*"allowlist"' $HOMEDIR/.openclaw/openclaw.json
out=$(sx_setup --name $NAME --policy strict 2>&1)
check "back to strict" "$SETUP" status --name $NAME
check_eq "forwarding restored when no longer needed" "$(echo "$before" | sed -n '/^## sysctl/{n;p}')" "$(sysctl -n net.ipv4.ip_forward)"

# Identity changes need --disable first.
check_fails "changing the addresses is refused" sx_setup --name $NAME --policy strict --host-ip 10.200.9.1 --sandbox-ip 10.200.9.2
check_fails "changing the user is refused" sx_setup --name $NAME --policy strict --user someoneelse

# A state dir with user state: --disable keeps user, home, secrets, logs.
echo "OPENAI_API_KEY=test" >/etc/sentrix/$NAME/secrets.env
check "disable" "$SETUP" setup --disable --non-interactive --name $NAME
check "user kept" getent passwd $USER_NAME
check "home kept" test -d $HOMEDIR
check "secrets kept" grep -q OPENAI_API_KEY /etc/sentrix/$NAME/secrets.env
check "logs kept" test -d /var/log/sentrix/$NAME
check_fails "netns gone" test -e /run/netns/$NAME
check_fails "no nftables table left" nft list table inet sentrix_$NAME
check_fails "no units left" test -e /etc/systemd/system/multi-user.target.wants/sentrix@$NAME.target
check_fails "config.json removed" test -e /etc/sentrix/$NAME/config.json
check_fails "launchers removed" test -e $HOMEDIR/run-sandbox.sh
check "disable again: nothing to do" bash -c "'$SETUP' setup --disable --non-interactive --name $NAME | grep -q 'kept'"

# Setup again reuses the kept user; --purge then removes everything.
check "setup again after disable" sx_setup --name $NAME --policy strict
check "secrets survived re-setup" grep -q OPENAI_API_KEY /etc/sentrix/$NAME/secrets.env
check "disable --purge" sx_disable $NAME
check_eq "host identical to before setup" "$before" "$(snapshot)"
check_fails "user removed by --purge" getent passwd $USER_NAME
check_fails "home removed by --purge" test -e $HOMEDIR
out=$("$SETUP" setup --disable --non-interactive --name $NAME 2>&1)
check_eq "disable of a missing instance exits 0" 0 $?
check "and says so" grep -q "no instance $NAME" <<<"$out"
summary
