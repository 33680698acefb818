#!/bin/bash
# Bad input: every wrong flag value, a bad policy, a malformed
# openclaw.json, an occupied address, a too-long name, non-root, no
# terminal.  Each gives the documented exit status (2 usage, 1 failure), a
# message that says what to do, and leaves the host byte for byte as it was.
source "$(dirname "$0")/../lib.sh"

NAME=sxt8
BADDATA=$(mktemp -d /tmp/sxt-baddata.XXXXXX)
OCUSER=sandbox-$NAME
cleanup() {
	cleanup_instance $NAME
	ip link del sxt8-occ 2>/dev/null
	userdel -r $OCUSER >/dev/null 2>&1
	rm -rf "$BADDATA"
}
trap cleanup EXIT
cleanup_instance $NAME

EXPECT_BEFORE=$(snapshot) # expect (tests/lib.sh) compares the host with it

S=("$SETUP" setup --non-interactive --name $NAME)
expect 2 "unknown or incomplete option" "unknown flag" "${S[@]}" --frobnicate
expect 2 "not one of default, strict, permissive" "--policy bogus" "${S[@]}" --policy bogus
expect 1 "cannot find that directory" "--policy naming a missing directory" "${S[@]}" --policy /nonexistent/sxtpolicy
mkdir -p /tmp/sxt-badpolicy && echo '{"name": "x", "egress": {"dns": {"mode": "filtered"}, "ports": [0]}}' >/tmp/sxt-badpolicy/policy.json
expect 1 "egress.ports: must be an array of port numbers" "--policy DIR with an invalid policy.json" "${S[@]}" --policy /tmp/sxt-badpolicy
rm -rf /tmp/sxt-badpolicy
expect 2 "--resolver: 'dns.example' is not an IPv4 address" "--resolver garbage" "${S[@]}" --resolver 9.9.9.9,dns.example
expect 2 "--dns: 'filterd' is not an IPv4 address" "--dns with a misspelt mode" "${S[@]}" --dns filterd
expect 2 "not a valid instance name" "name too long" "$SETUP" setup --non-interactive --name abcdefghijkl
expect 2 "not a valid instance name" "name with capitals" "$SETUP" setup --non-interactive --name Sxt8
expect 2 "not a valid instance name" "name with a slash" "$SETUP" setup --non-interactive --name "a/b"
expect 2 "not an IPv4 address" "--sandbox-ip garbage" "${S[@]}" --sandbox-ip 10.200.1 --host-ip 10.200.1.1
expect 2 "go together" "--sandbox-ip without --host-ip" "${S[@]}" --sandbox-ip 10.200.8.2
expect 1 "one /30" "IPs in different /30s" "${S[@]}" --host-ip 10.200.8.1 --sandbox-ip 10.200.9.2
expect 1 "network and broadcast" "network address as host-ip" "${S[@]}" --host-ip 10.200.8.0 --sandbox-ip 10.200.8.2
expect 2 "port number" "--openclaw-port 0" "${S[@]}" --openclaw-port 0
expect 2 "port number" "--openclaw-port 70000" "${S[@]}" --openclaw-port 70000
expect 2 "port number" "--openclaw-port abc" "${S[@]}" --openclaw-port abc
expect 2 "not an IPv4 address" "--dns garbage" "${S[@]}" --dns 1.2.3
expect 2 "not a valid user name" "--user with a colon" "${S[@]}" --user "a:b"
expect 2 "--bridge-port: '1' is not 0 \(no bridge\) or a port number 2-65535" "--bridge-port 1 (no room for the trust page)" "${S[@]}" --bridge-port 1
expect 2 "--bridge-port: '70000'" "--bridge-port 70000" "${S[@]}" --bridge-port 70000
expect 2 "--bridge-port: 'x'" "--bridge-port x" "${S[@]}" --bridge-port x
expect 2 "--bridge-bind: 'localhost' is not an IPv4 address" "--bridge-bind with a name" "${S[@]}" --bridge-bind localhost
expect 2 "--bridge-origin: 'https://a.example/app' is not an origin" "--bridge-origin with a path" "${S[@]}" --bridge-origin https://a.example/app
expect 2 "--bridge-origin: 'ws://a.example' is not an origin" "--bridge-origin with another scheme" "${S[@]}" --bridge-origin ws://a.example
expect 2 "--bridge-origin: 'https://a.example:0' is not an origin" "--bridge-origin with port 0" "${S[@]}" --bridge-origin https://a.example:0
expect 2 "goes alone" "--bridge-origin default with another" "${S[@]}" --bridge-origin default --bridge-origin https://a.example
expect 2 "--bridge-name: '\*.example.com' is not a DNS name" "--bridge-name wildcard" "${S[@]}" --bridge-name '*.example.com'
expect 2 "does not apply" "--bridge-port for status" "$SETUP" status --name $NAME --bridge-port 9000
expect 2 "absolute" "--sandbox-home relative" "${S[@]}" --sandbox-home home/x
expect 2 "no '.', '..'" "--sandbox-home with a .. component" "${S[@]}" --sandbox-home /home/x/../../etc
expect 2 "no '.', '..'" "--sandbox-home with a trailing /" "${S[@]}" --sandbox-home /home/x/
# A home becomes the sandbox user's and is writable in the sandbox: never a
# system directory, another user's directory, or one others could replace.
for d in /etc /usr /var /root /home /tmp /srv /var/lib; do
	expect 1 "is a system directory" "--sandbox-home $d refused" "${S[@]}" --dns none --sandbox-home $d
done
for d in /etc/sxt8 /usr/local/sxt8 /tmp/sxt8 /root/sxt8 /var/lib/sentrix/sxt8 /proc/sxt8; do
	expect 1 "lies under" "--sandbox-home $d refused" "${S[@]}" --dns none --sandbox-home $d
done
expect 1 "parent directory does not exist" "--sandbox-home in a missing directory" "${S[@]}" --dns none --sandbox-home /nonexistent-sxt8/h
mkdir -m 0777 /srv/sxt8-open && mkdir -p /srv/sxt8-other && chown nobody /srv/sxt8-other
EXPECT_BEFORE=$(snapshot)
expect 1 "writable by others" "--sandbox-home in a directory others can write" "${S[@]}" --dns none --sandbox-home /srv/sxt8-open/h
expect 1 "belongs to uid [0-9]+, not to the sandbox user" "--sandbox-home owned by another user" "${S[@]}" --dns none --sandbox-home /srv/sxt8-other
rmdir /srv/sxt8-open /srv/sxt8-other
EXPECT_BEFORE=$(snapshot)
expect 2 "only goes with --disable" "--purge without --disable" "${S[@]}" --purge
expect 2 "unexpected argument" "stray argument" "${S[@]}" extra
expect 2 "unknown command" "unknown subcommand" "$SETUP" frobnicate
expect 2 "--non-interactive" "no terminal, no --non-interactive" "$SETUP" setup --name $NAME --dns none
expect 1 "gateway's account" "--user sentrix" "${S[@]}" --user sentrix --dns none
expect 1 "uid 0" "--user root" "${S[@]}" --user root --dns none

# An address already on a host interface.
ip link add sxt8-occ type veth peer name sxt8-occp
ip addr add 10.200.8.1/30 dev sxt8-occ
EXPECT_BEFORE=$(snapshot) # expect (tests/lib.sh) compares the host with it
expect 1 "in use" "occupied address" "${S[@]}" --host-ip 10.200.8.1 --sandbox-ip 10.200.8.2 --dns none
ip link del sxt8-occ
EXPECT_BEFORE=$(snapshot) # expect (tests/lib.sh) compares the host with it

# A bad policy template (a copy of the data dir with one broken file).
cp -r "$TOP/policy" "$TOP/templates" "$BADDATA/"
sed -i 's/"dns": { "mode": "none" }/"dns": { "mode": "sometimes" }/' "$BADDATA/policy/strict/policy.json"
expect 1 "egress.dns.mode" "policy with a bad value" env SENTRIX_DATADIR="$BADDATA" "${S[@]}" --policy strict
sed -i 's/"dns": { "mode": "sometimes" }/"dns": { "mode": "none" }, "colour": "blue"/' "$BADDATA/policy/strict/policy.json"
expect 1 "egress.colour: unknown key" "policy with an unknown key" env SENTRIX_DATADIR="$BADDATA" "${S[@]}" --policy strict
check_fails "sentrix policy check refuses it" "$SENTRIX" policy check "$BADDATA/policy/strict"
check "sentrix policy check accepts the shipped templates" bash -c "for p in default strict permissive; do '$SENTRIX' policy check '$TOP/policy/'\$p || exit 1; done"

# A malformed openclaw.json (JSON5 comment) of an existing user.
useradd -m -s /bin/bash $OCUSER
mkdir -p /home/$OCUSER/.openclaw
printf '{\n  // my settings\n  "gateway": {"port": 1}\n}\n' >/home/$OCUSER/.openclaw/openclaw.json
chown -R $OCUSER: /home/$OCUSER/.openclaw
before=$(snapshot /home/$OCUSER/.openclaw/openclaw.json)
out=$("${S[@]}" --dns none 2>&1)
rc=$?
check_eq "JSON5 openclaw.json: exit 1" 1 $rc
check "JSON5 openclaw.json: message names line 2 and the comment" grep -q "line 2: a comment" <<<"$out"
check_eq "JSON5 openclaw.json: host unchanged" "$before" "$(snapshot /home/$OCUSER/.openclaw/openclaw.json)"
printf '{"gateway": {"port": 1},}\n' >/home/$OCUSER/.openclaw/openclaw.json
check_fails "trailing comma refused" "${S[@]}" --dns none
printf '[1, 2]\n' >/home/$OCUSER/.openclaw/openclaw.json
check_fails "non-object openclaw.json refused" "${S[@]}" --dns none
userdel -r $OCUSER >/dev/null 2>&1
before=$(snapshot)

# Not root.
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$SETUP" setup --name $NAME --non-interactive 2>&1)
check_eq "non-root: exit 1" 1 $?
check "non-root: says to use sudo" grep -q "needs root" <<<"$out"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$SENTRIX" sandbox status --name $NAME 2>&1)
check_eq "non-root through the front door: exit 1" 1 $?
check_eq "host unchanged by all of the above" "$before" "$(snapshot)"

check "--help for setup" bash -c "'$SENTRIX' sandbox setup --help | grep -q -- --no-guardrail"
check "--help for status" bash -c "'$SENTRIX' sandbox status --help | grep -q Usage"
check "--help for up" bash -c "'$SENTRIX' sandbox up --help | grep -q Usage"
check "--help for list" bash -c "'$SENTRIX' sandbox list --help | grep -q Usage"
check "--help for policy check" bash -c "'$SENTRIX' policy check --help | grep -q Usage"
check "sentrix --help" bash -c "'$SENTRIX' --help | grep -q 'sandbox setup'"
summary
