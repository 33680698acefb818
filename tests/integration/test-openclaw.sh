#!/bin/bash
# The openclaw.json patch on a real user's file: every other key kept,
# owner and mode kept, the original saved once as .bak, --disable restoring
# the exact bytes (or, when the file was edited after setup, reverting only
# sentrix's keys), and the user's OpenClaw state kept.
source "$(dirname "$0")/../lib.sh"

NAME=sxt3
U=sandbox-$NAME
OC=/home/$U/.openclaw/openclaw.json
trap 'cleanup_instance $NAME; userdel -r $U >/dev/null 2>&1' EXIT
cleanup_instance $NAME
userdel -r $U >/dev/null 2>&1

py() { /usr/bin/python3 -c "import json; j=json.load(open('$OC')); print($1)"; }

useradd -m -s /bin/bash $U
mkdir -p /home/$U/.openclaw
cat >$OC <<'JSON'
{
  "agents": { "defaults": { "model": "mock/m1", "sandbox": { "mode": "all" } } },
  "channels": { "telegram": { "enabled": true, "dmPolicy": "open" } },
  "gateway": { "port": 1234, "auth": { "mode": "token", "token": "users-own-token" } },
  "ui": { "theme": "dark" },
  "tools": {}
}
JSON
chown -R $U: /home/$U/.openclaw
chmod 640 $OC
orig_md5=$(md5sum <$OC)
ocstate() { stat -c '%a %U %G %s' $OC; md5sum <$OC; }
before=$(ocstate)

check "setup on a user with an openclaw.json" sx_setup --name $NAME --policy strict
check_eq "owner and mode kept" "640 $U" "$(stat -c '%a %U' $OC)"
check_eq "other keys kept (agents.defaults.model)" mock/m1 "$(py "j['agents']['defaults']['model']")"
check_eq "other keys kept (ui.theme)" dark "$(py "j['ui']['theme']")"
check_eq "gateway.bind = custom" custom "$(py "j['gateway']['bind']")"
check_eq "gateway.customBindHost = sandbox-ip" "$("$SETUP" status --name $NAME --json | json_get "j['network']['sandbox_ip']")" "$(py "j['gateway']['customBindHost']")"
check_eq "gateway.port = 18789" 18789 "$(py "j['gateway']['port']")"
check_eq "the user's own gateway token is kept" users-own-token "$(py "j['gateway']['auth']['token']")"
check_eq "proxy.proxyUrl = egress proxy" "http://$("$SETUP" status --name $NAME --json | json_get "j['network']['host_ip']"):18791" "$(py "j['proxy']['proxyUrl']")"
check_eq "OpenClaw's Docker sandbox off" off "$(py "j['agents']['defaults']['sandbox']['mode']")"
check_eq "exec tool denied" deny "$(py "j['tools']['exec']['security']")"
check_eq "DM pairing on the configured channel" pairing "$(py "j['channels']['telegram']['dmPolicy']")"
check_eq "no channel invented" "['telegram']" "$(py "sorted(j['channels'])")"
check_eq ".bak holds the original bytes" "$orig_md5" "$(md5sum <$OC.bak)"

# A policy change rewrites the file but never the first backup.
check "re-run with another policy" sx_setup --name $NAME --policy permissive --dns none
check_eq "exec follows the new policy" allowlist "$(py "j['tools']['exec']['security']")"
check_eq ".bak still the first original" "$orig_md5" "$(md5sum <$OC.bak)"
check "--no-guardrail drops the proxy entry" sx_setup --name $NAME --policy permissive --dns none --no-guardrail
check_eq "no proxy key with --no-guardrail" False "$(py "'proxy' in j")"
check "guardrail back" sx_setup --name $NAME --policy strict

check "disable" "$SETUP" setup --disable --non-interactive --name $NAME
check_eq "untouched file: original bytes, owner and mode restored" "$before" "$(ocstate)"
check_fails "the .bak sentrix wrote is gone" test -e $OC.bak

# Edited after setup: only sentrix's keys go back.
check "setup again" sx_setup --name $NAME --policy strict
/usr/bin/python3 - "$OC" <<'PY'
import json, sys
p = sys.argv[1]
j = json.load(open(p))
j["ui"]["theme"] = "light"         # the user's own change
j["models"] = {"mode": "merge"}     # a key the user added
json.dump(j, open(p, "w"), indent=2)
PY
out=$("$SETUP" setup --disable --non-interactive --name $NAME 2>&1)
check "disable says only sentrix's keys were reverted" grep -q "reverted only the keys sentrix set" <<<"$out"
check_eq "the user's edit is kept" light "$(py "j['ui']['theme']")"
check_eq "the user's new key is kept" merge "$(py "j['models']['mode']")"
check_eq "gateway.port back to the original" 1234 "$(py "j['gateway']['port']")"
check_eq "gateway.bind removed (was absent)" False "$(py "'bind' in j['gateway']")"
check_eq "proxy removed (was absent)" False "$(py "'proxy' in j")"
check_eq "tools back to the empty object it was" "{}" "$(py "j['tools']")"
check_eq "sandbox mode back to the original" all "$(py "j['agents']['defaults']['sandbox']['mode']")"
check_eq "dmPolicy back to the original" open "$(py "j['channels']['telegram']['dmPolicy']")"
check "the .bak is kept when the file was edited" test -f $OC.bak

# No openclaw.json before: created 0600, removed with --disable, but the
# user's OpenClaw state in ~/.openclaw survives.
rm -rf /home/$U/.openclaw
check "setup without an openclaw.json" sx_setup --name $NAME --policy strict
check_eq "created 0600, owned by the sandbox user" "600 $U" "$(stat -c '%a %U' $OC)"
mkdir -p /home/$U/.openclaw/agents && echo state >/home/$U/.openclaw/agents/session.json
check "disable" "$SETUP" setup --disable --non-interactive --name $NAME
check_fails "openclaw.json removed" test -e $OC
check "OpenClaw's own state kept" test -f /home/$U/.openclaw/agents/session.json
summary
