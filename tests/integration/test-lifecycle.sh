#!/bin/bash
# Lifecycle of one instance: setup, green status, idempotent re-run, list,
# down/up, policy change reconciled in place, --disable leaving the host
# exactly as before (and keeping user, home, secrets, logs unless --purge);
# the browser bridge's device key (kept byte for byte by re-runs, replaced
# when not valid) and directory, its --bridge-* settings reconciled in place,
# and --disable's attempt to remove the bridge's OpenClaw pairing.
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
check_fails "pair.sh run by root refuses (exit non-zero)" sh $HOMEDIR/pair.sh
check "bashrc starts run-sandbox.sh on interactive login" grep -q 'run-sandbox.sh' $HOMEDIR/.bashrc
check "list shows the instance" bash -c "'$SETUP' list | grep -E '^$NAME +strict'"

# The browser bridge: its device key and directory are the gateway user's.
KEY=/etc/sentrix/$NAME/device.key
BDIR=/var/lib/sentrix/bridge.d/$NAME
check_eq "device.key is 0600 sentrix:sentrix, 65 bytes" "600 sentrix sentrix 65" "$(stat -c '%a %U %G %s' $KEY)"
check "device.key holds 64 lower-case hex digits and a newline" grep -qxE '[0-9a-f]{64}' $KEY
check_eq "bridge directory is 0750 sentrix:sentrix" "750 sentrix sentrix" "$(stat -c '%a %U %G' $BDIR)"
check_eq "status: device_key ok" ok "$(echo "$json" | json_get "j['checks']['device_key']['state']")"
check_eq "status: bridge_dir ok" ok "$(echo "$json" | json_get "j['checks']['bridge_dir']['state']")"
bport=$(echo "$json" | json_get "j['bridge']['port']")
btrust=$(echo "$json" | json_get "j['bridge']['trust_port']")
check "status: bridge port $bport is even, from 8768, its trust page ($btrust) the port below" \
	test "$bport" -ge 8768 -a $((bport % 2)) = 0 -a "$btrust" = $((bport - 1))
check_eq "status: bridge bind loopback, built-in origins, no extra names" "127.0.0.1 None []" \
	"$(echo "$json" | json_get "' '.join(map(str, [j['bridge']['bind'], j['bridge']['origins'], j['bridge']['names']]))")"
keysum=$(md5sum <$KEY)

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
check_eq "policy changes keep the device key byte for byte" "$keysum" "$(md5sum <$KEY)"

# --bridge-* reconcile in place; omitted, they keep what is recorded.
bridge_json() { "$SETUP" status --name $NAME --json | json_get "' '.join(map(str, [j['bridge'][k] for k in ('port', 'trust_port', 'bind', 'origins', 'names')]))"; }
check "--bridge-* flags change the bridge in place" sx_setup --name $NAME --policy strict --bridge-port 9100 \
	--bridge-bind 0.0.0.0 --bridge-origin https://chat.example.com --bridge-origin http://localhost:3000/ \
	--bridge-name box.example.com
check_eq "bridge settings recorded" "9100 9099 0.0.0.0 ['https://chat.example.com', 'http://localhost:3000/'] ['box.example.com']" "$(bridge_json)"
out=$(sx_setup --name $NAME --policy strict 2>&1)
check "a re-run without --bridge-* keeps them (already set up)" grep -q "already set up" <<<"$out"
check_eq "bridge settings kept" "9100 9099 0.0.0.0 ['https://chat.example.com', 'http://localhost:3000/'] ['box.example.com']" "$(bridge_json)"
check "--bridge-port 0, default origins, no names" sx_setup --name $NAME --policy strict --bridge-port 0 \
	--bridge-bind 127.0.0.1 --bridge-origin default --bridge-name none
check_eq "no bridge, the defaults again" "0 0 127.0.0.1 None []" "$(bridge_json)"
check "status green without a bridge port" "$SETUP" status --name $NAME
check "back to port $bport" sx_setup --name $NAME --policy strict --bridge-port $bport
check_eq "the bridge settings never change the device key" "$keysum" "$(md5sum <$KEY)"

# A key that is not valid is drifted for status and replaced by setup.
chmod 0640 $KEY
check_eq "status: a key readable by the group is drifted" drifted "$(status_state $NAME device_key)"
out=$(sx_setup --name $NAME --policy strict 2>&1)
check "setup replaces it, saying why" grep -q "device key $KEY is not valid (its mode is not 0600)" <<<"$out"
check_eq "the new key is 0600 sentrix" "600 sentrix 65" "$(stat -c '%a %U %s' $KEY)"
check "and a new key" test "$keysum" != "$(md5sum <$KEY)"
printf '%064d\n' 7 | tr 0 g >$KEY
out=$(sx_setup --name $NAME --policy strict 2>&1)
check "a key that is not hex is replaced" grep -q "not 64 lower-case hex digits" <<<"$out"
check "the replacement is hex" grep -qxE '[0-9a-f]{64}' $KEY
keysum=$(md5sum <$KEY)
rmdir $BDIR
check_eq "status: a missing bridge directory is missing" missing "$(status_state $NAME bridge_dir)"
check "setup makes it again" sx_setup --name $NAME --policy strict
check_eq "bridge directory back, 0750 sentrix" "750 sentrix sentrix" "$(stat -c '%a %U %G' $BDIR)"
chmod 0755 $BDIR
check_eq "status: a bridge directory of another mode is drifted" drifted "$(status_state $NAME bridge_dir)"
check "setup repairs its mode" sx_setup --name $NAME --policy strict
check_eq "bridge directory 0750 again" 750 "$(stat -c '%a' $BDIR)"
check_eq "and the key stayed" "$keysum" "$(md5sum <$KEY)"
# Never through a symlink: refused before anything changes.
mv $KEY $KEY.sxt && ln -s $KEY.sxt $KEY
EXPECT_BEFORE=$(snapshot)
expect 1 "device.key exists and is not a regular file; move it away" "a symlink as device.key is refused" \
	"$SETUP" setup --non-interactive --name $NAME --policy strict
EXPECT_BEFORE=""
rm $KEY && mv $KEY.sxt $KEY
check "green again" "$SETUP" status --name $NAME
check_eq "forwarding restored when no longer needed" "$(echo "$before" | sed -n '/^## sysctl/{n;p}')" "$(sysctl -n net.ipv4.ip_forward)"

# Identity changes need --disable first.
check_fails "changing the addresses is refused" sx_setup --name $NAME --policy strict --host-ip 10.200.9.1 --sandbox-ip 10.200.9.2
check_fails "changing the user is refused" sx_setup --name $NAME --policy strict --user someoneelse

# A state dir with user state: --disable keeps user, home, secrets, logs.
echo "OPENAI_API_KEY=test" >/etc/sentrix/$NAME/secrets.env
# The gateway's files in its bridge directory, one a symlink out of it: gone
# with the directory, the symlink's target untouched.  A device token means
# the bridge paired: --disable tries to remove the pairing, as OpenClaw
# names the device (hex SHA-256 of the raw Ed25519 public key), through the
# launcher once something answers on 127.0.0.1:18789 in the netns (here a
# listener that takes two connections; no OpenClaw: the removal fails, a
# warning, and the rollback goes on).
echo keep >/tmp/sxt-lc-target
setpriv --reuid sentrix --regid sentrix --clear-groups sh -c \
	"echo tok >$BDIR/device-token && mkdir $BDIR/sub && echo x >$BDIR/sub/f && ln -s /tmp/sxt-lc-target $BDIR/cert.pem"
devid=$(/usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex("302e020100300506032b657004220420" + sys.argv[1]))' "$(head -c 64 $KEY)" |
	openssl pkey -inform DER -pubout -outform DER | tail -c 32 | sha256sum | cut -c1-64)
ip netns exec $NAME /usr/bin/python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 18789))
s.listen(4)
print("ready", flush=True)
for _ in range(2):
    s.accept()[0].close()' >/tmp/sxt-lc-listen.log 2>&1 &
lpid=$!
for i in $(seq 50); do grep -q ready /tmp/sxt-lc-listen.log 2>/dev/null && break; sleep 0.1; done
out=$("$SETUP" setup --disable --non-interactive --name $NAME 2>&1)
check_eq "disable" 0 $?
check "it tried \`openclaw devices remove $devid\` in the sandbox and warned that it failed" \
	grep -qE "openclaw devices remove $devid. in the sandbox failed" <<<"$out"
kill $lpid 2>/dev/null
wait $lpid 2>/dev/null
check_eq "the symlink's target in the bridge directory untouched" keep "$(cat /tmp/sxt-lc-target)"
rm -f /tmp/sxt-lc-target /tmp/sxt-lc-listen.log
check_fails "device key removed" test -e $KEY
check_fails "bridge directory removed with its contents" test -e $BDIR
check_fails "and the shared bridge.d with the last instance" test -e /var/lib/sentrix/bridge.d
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
check "a new device key" test "$keysum" != "$(md5sum <$KEY)"
# Paired, but OpenClaw not running: a warning naming the device.
setpriv --reuid sentrix --regid sentrix --clear-groups sh -c "echo tok >$BDIR/device-token"
out=$(sx_disable $NAME 2>&1)
check_eq "disable --purge" 0 $?
check "it warns that OpenClaw is not running, so the pairing stays (unusable without the key)" \
	grep -q "OpenClaw gateway of $NAME is not running, so the bridge's pairing (device [0-9a-f]\{64\}) stays" <<<"$out"
check_eq "host identical to before setup" "$before" "$(snapshot)"
check_fails "user removed by --purge" getent passwd $USER_NAME
check_fails "home removed by --purge" test -e $HOMEDIR
out=$("$SETUP" setup --disable --non-interactive --name $NAME 2>&1)
check_eq "disable of a missing instance exits 0" 0 $?
check "and says so" grep -q "no instance $NAME" <<<"$out"
summary
