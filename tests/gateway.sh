# Helpers for the tests that run sentrix-gateway outside an instance, on
# loopback, with configs from tests/helpers/gw-config.py (test-gateway.sh,
# test-patrol.sh).  They expect $GW (the gateway), $MOCK (the mock upstream)
# and $TMP (the test's scratch directory), and add what they start to PIDS.

# free_base FROM: the first port base at or above FROM (step 10) with its 4
# ports free on 127.0.0.1.
free_base() {
	local b=$1 p busy
	while :; do
		busy=0
		for p in $b $((b + 1)) $((b + 2)) $((b + 3)); do
			tcp_connects 127.0.0.1 "$p" && busy=1
		done
		[ $busy = 0 ] && echo "$b" && return
		b=$((b + 10))
	done
}

# start_mock VAR ARGS...: a mock upstream on 127.0.0.1; sets VAR_PID, VAR_PORT.
start_mock() {
	local var=$1 out=$TMP/$1.out i
	shift
	"$MOCK" --listen 127.0.0.1:0 --quiet "$@" >"$out" 2>&1 &
	PIDS+=($!)
	printf -v "${var}_PID" %s $!
	for i in $(seq 50); do grep -q '^ready' "$out" && break; sleep 0.1; done
	printf -v "${var}_PORT" %s "$(awk '/^ready/ {print $2}' "$out")"
}

# start_gw VAR DIR ARGS...: a gateway as nobody on DIR/config.json (ports
# from it), stderr appended to DIR/stderr; sets VAR to its PID once both
# ports accept.  Returns 1 if they do not.
start_gw() {
	local var=$1 dir=$2 base
	shift 2
	base=$(json_get "j['ports']['openclaw']" <"$dir/config.json")
	setpriv --reuid nobody --regid nogroup --clear-groups \
		"$GW" --name sxtgw --config "$dir/config.json" --listen 127.0.0.1 "$@" 2>>"$dir/stderr" &
	PIDS+=($!)
	printf -v "$var" %s $!
	wait_listening 127.0.0.1 $((base + 1)) && wait_listening 127.0.0.1 $((base + 3))
}

# stop_gw PID [SIGNAL]: signals the gateway and waits for it (at most 15 s).
stop_gw() {
	# KILL: no polling, so bash reaps it in wait (and prints no "Killed")
	kill -"${2:-TERM}" "$1" 2>/dev/null
	if [ "${2:-TERM}" != KILL ]; then
		for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	fi
	wait "$1" 2>/dev/null
}

# post URL BODY-FILE OUT [CURL-ARGS...]: POSTs the file, writes the response
# body to OUT and prints the HTTP status.
post() {
	local url=$1 body=$2 out=$3
	shift 3
	curl -sS -m 20 -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$body" "$@" "$url"
}
