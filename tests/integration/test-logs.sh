#!/bin/bash
# `sentrix logs` on handcrafted capture files (docs/capture-format.md), read
# with --dir so no instance is needed: the listing (a closed file, a rotated
# sequence, the open file with a torn last line), --tail's readable output
# (streaming and non-streaming records, reasoning, tool calls, errors, an
# incomplete record, a long line, escape sequences), --json, --since
# (absolute and relative), --follow (appends, a torn line completed later,
# rotation to a newer file, SIGTERM and SIGINT), and the error paths.
# KEEP=1 keeps the scratch directory for a look at the fixtures.
source "$(dirname "$0")/../lib.sh"

T=$(mktemp -d /tmp/sxt-logs.XXXXXX)
FOLLOW_PID='' STRACE_PID=''
cleanup() {
	[ -n "$FOLLOW_PID" ] && kill -KILL "$FOLLOW_PID" 2>/dev/null
	[ -n "$STRACE_PID" ] && kill -KILL "$STRACE_PID" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
export COLUMNS=100 LC_ALL=C.UTF-8
L=("$SENTRIX" logs)

# rec TIMESTAMP ID [JSON]: one compact capture record; the keys of JSON
# replace the defaults (a non-streaming OpenAI call answered 200).
rec() {
	/usr/bin/python3 -c '
import json, sys
r = {"timestamp": sys.argv[1], "id": sys.argv[2], "instance": "sxtlogs", "run_id": None,
     "provider": "openai", "model": "gpt-4o", "endpoint": "/chat/completions", "method": "POST",
     "stream": False, "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
     "status": 200, "response": {"choices": []},
     "message": {"text": "ok", "reasoning": None, "tool_calls": []},
     "usage": {"prompt_tokens": 1, "completion_tokens": 2},
     "latency_ms": {"first_byte": 10, "total": 20}, "bytes": {"request": 10, "response": 20},
     "error": None, "complete": True}
r.update(json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
if r["stream"]:
    r.pop("response")
    r.setdefault("events", [{"data": {"choices": []}}, {"data": "[DONE]"}])
print(json.dumps(r, separators=(",", ":"), ensure_ascii=False))' "$@"
}

# json_lines: checks every line of stdin is a JSON object and prints their ids.
json_lines() {
	/usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    assert isinstance(r, dict), line
    print(r["id"])'
}

# wait_lines FILE N: until FILE has at least N lines (5 s).
wait_lines() {
	local _
	for _ in $(seq 50); do
		[ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# stop_follow SIGNAL [PARENT]: stops the --follow process (SIGKILL after
# 5 s); its exit status, or PARENT's (strace passes it on), in FOLLOW_RC.
stop_follow() {
	local _
	kill -"$1" "$FOLLOW_PID"
	for _ in $(seq 50); do
		kill -0 "$FOLLOW_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$FOLLOW_PID" 2>/dev/null
	wait "${2:-$FOLLOW_PID}"
	FOLLOW_RC=$?
	FOLLOW_PID=
}

### Fixtures: three files in rotation order, the last one open.
D=$T/logs
mkdir -p "$D"
{
	echo "["
	rec 2026-11-23T10:00:00.123Z 00000000000000a1 '{"run_id": "run-1",
		"usage": {"prompt_tokens": 12, "completion_tokens": 34}, "latency_ms": {"first_byte": 300, "total": 850},
		"message": {"text": "\n\nline one\nline two\nline three\nline four\nline five\n", "reasoning": null, "tool_calls": []}}'
	echo ",$(rec 2026-11-23T10:02:00.000Z 00000000000000a2 '{"model": "o3-mini", "stream": true,
		"usage": {"prompt_tokens": 100, "completion_tokens": 7}, "latency_ms": {"first_byte": 900, "total": 1500},
		"message": {"text": "", "reasoning": "think A\nthink B",
			"tool_calls": [{"id": "c1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}]}}')"
	echo ",$(rec 2026-11-23T10:05:30.500Z 00000000000000a3 '{"provider": "anthropic", "model": "claude-sonnet-4",
		"endpoint": "/messages", "stream": true, "usage": {"input_tokens": 50, "output_tokens": 60},
		"latency_ms": {"first_byte": 700, "total": 2100},
		"message": {"text": "Bonjour", "reasoning": "thinking about it", "tool_calls": []}}')"
	echo "]"
} >"$D/llm-20261123T100000Z.json"
{
	echo "["
	rec 2026-11-23T10:10:05.000Z 00000000000000b1 '{"status": 500, "message": {"text": "", "reasoning": null, "tool_calls": []},
		"usage": null, "error": "upstream answered 500"}'
	echo ",$(rec 2026-11-23T10:12:00.000Z 00000000000000b2 '{"stream": true, "status": null, "complete": false, "usage": null,
		"latency_ms": {"first_byte": null, "total": 4000}, "error": "client went away",
		"message": {"text": "partial answer", "reasoning": null, "tool_calls": []}}')"
	echo "]"
} >"$D/llm-20261123T101000Z.json"
LONG=$(printf 'x%.0s' $(seq 300))
{
	echo "["
	rec 2026-11-23T10:20:01.000Z 00000000000000c1 '{"message": {"text": "'"$LONG"'\n\u001b[31mred\u0007 \u202eevil", "reasoning": null,
		"tool_calls": [{"id": "c2", "name": "write_file", "arguments": "{\"path\":\"/tmp/a\",\"content\":\"'"$LONG"'\"}"}]}}'
	echo ",$(rec 2026-11-23T10:21:00.000Z 00000000000000c2 '{"model": "gpt-4o-mini", "run_id": "run-2",
		"message": {"text": "last", "reasoning": null, "tool_calls": []}}')"
	printf '%s' ",$(rec 2026-11-23T10:22:00.000Z 00000000000000c3)" | head -c 40
} >"$D/llm-20261123T102000Z.json"

### Listing
CURRENT=listing
out=$("${L[@]}" --dir "$D")
check_eq "exit status 0" 0 $?
check_eq "one line per file, oldest first" \
	"llm-20261123T100000Z.json llm-20261123T101000Z.json llm-20261123T102000Z.json" \
	"$(awk '/^llm-/ {printf "%s%s", sep, $1; sep=" "}' <<<"$out")"
check_eq "record counts" "3 2 2" "$(awk '/^llm-/ {printf "%s%s", sep, $2; sep=" "}' <<<"$out")"
check "sizes are human (KiB)" grep -qE '^llm-20261123T100000Z.json +3 +[0-9]+\.[0-9] KiB' <<<"$out"
check "time span of the first file" grep -q "2026-11-23 10:00:00 \.\. 10:05:30" <<<"$out"
check "the open file is marked, with its torn last line" \
	grep -qE '^llm-20261123T102000Z\.json .*2026-11-23 10:20:01 \.\. 10:21:00 +\(open, last line being written\)$' <<<"$out"
check_eq "only the open file is marked" 1 "$(grep -c '(open' <<<"$out")"
check "a total line" grep -qE "^3 files, 7 records, .* in $D\$" <<<"$out"
mkdir "$T/empty"
check_eq "no files: said so, exit 0" "no capture files in $T/empty" "$("${L[@]}" --dir "$T/empty")"

### --tail, readable
CURRENT='tail'
out=$("${L[@]}" --dir "$D" --tail 7)
check_eq "exit status 0" 0 $?
ELL=$(printf '\xe2\x80\xa6')
X86=$(printf 'x%.0s' $(seq 86)) X47=$(printf 'x%.0s' $(seq 47))
expected="2026-11-23 10:00:00.123  openai/gpt-4o  200  tokens in 12 out 34  850 ms  non-stream  run run-1
  reply:     line one
             line two
             line three
             $ELL 2 more lines
2026-11-23 10:02:00.000  openai/o3-mini  200  tokens in 100 out 7  1500 ms  stream
  reasoning: think A
             think B
  tool:      get_weather {\"city\":\"Paris\"}
2026-11-23 10:05:30.500  anthropic/claude-sonnet-4  200  tokens in 50 out 60  2100 ms  stream
  reply:     Bonjour
  reasoning: thinking about it
2026-11-23 10:10:05.000  openai/gpt-4o  500  20 ms  non-stream
  error:     upstream answered 500
2026-11-23 10:12:00.000  openai/gpt-4o  incomplete  4000 ms  stream
  reply:     partial answer
  error:     client went away
2026-11-23 10:20:01.000  openai/gpt-4o  200  tokens in 1 out 2  20 ms  non-stream
  reply:     $X86$ELL
             ?[31mred? ?evil
  tool:      write_file {\"path\":\"/tmp/a\",\"content\":\"$X47$ELL
2026-11-23 10:21:00.000  openai/gpt-4o-mini  200  tokens in 1 out 2  20 ms  non-stream  run run-2
  reply:     last"
check_eq "every record, across the three files" "$expected" "$out"
check_eq "no line is wider than COLUMNS=100" "" \
	"$(/usr/bin/python3 -c 'import sys; [print(l) for l in sys.stdin.read().split("\n") if len(l) > 100]' <<<"$out")"
check_eq "no escape or bell character reaches the terminal" 0 "$(tr -cd '\033\007' <<<"$out" | wc -c)"
check_eq "--tail 3: the last three, oldest first" \
	"2026-11-23 10:12:00.000 2026-11-23 10:20:01.000 2026-11-23 10:21:00.000" \
	"$("${L[@]}" --dir "$D" --tail 3 | grep '^2026' | cut -c1-23 | paste -sd' ')"
check_eq "--tail 4 reaches into the rotated file" 4 "$("${L[@]}" --dir "$D" --tail 4 | grep -c '^2026')"
check_eq "--tail 100: all 7" 7 "$("${L[@]}" --dir "$D" --tail 100 | grep -c '^2026')"
check_eq "--tail 0: nothing" "" "$("${L[@]}" --dir "$D" --tail 0)"

### --json
CURRENT=json
out=$("${L[@]}" --dir "$D" --json)
check_eq "exit status 0" 0 $?
check_eq "every complete record, one valid JSON object per line, in order (torn line left out)" \
	"00000000000000a1 00000000000000a2 00000000000000a3 00000000000000b1 00000000000000b2 00000000000000c1 00000000000000c2" \
	"$(json_lines <<<"$out" | paste -sd' ')"
check_eq "records exactly as written" "$(grep -h '{' "$D"/llm-*.json | sed 's/^,//' | grep -v '"00000000000000c3' | head -7)" \
	"$(grep -v c3 <<<"$out")"
check_eq "--json --tail 2" "00000000000000c1 00000000000000c2" \
	"$("${L[@]}" --dir "$D" --json --tail 2 | json_lines | paste -sd' ')"

### --since
CURRENT=since
since_ids() { "${L[@]}" --dir "$1" --json --since "$2" | json_lines | paste -sd' '; }
check_eq "absolute, with Z" "00000000000000b1 00000000000000b2 00000000000000c1 00000000000000c2" \
	"$(since_ids "$D" 2026-11-23T10:10:00Z)"
check_eq "absolute, no seconds, no Z" \
	"00000000000000a3 00000000000000b1 00000000000000b2 00000000000000c1 00000000000000c2" \
	"$(since_ids "$D" 2026-11-23T10:05)"
check_eq "inclusive, to the millisecond" "00000000000000c1 00000000000000c2" \
	"$(since_ids "$D" 2026-11-23T10:20:01.000Z)"
check_eq "an offset is honoured" "00000000000000c2" "$(since_ids "$D" 2026-11-23T11:21+01:00)"
check_eq "after the last record: nothing" "" "$(since_ids "$D" 2026-11-24)"
check_eq "with --tail, --since limits" "2026-11-23 10:12:00.000 2026-11-23 10:20:01.000 2026-11-23 10:21:00.000" \
	"$("${L[@]}" --dir "$D" --since 2026-11-23T10:11:00Z --tail 5 | grep '^2026' | cut -c1-23 | paste -sd' ')"
check_eq "with --since, --tail limits" "2026-11-23 10:20:01.000 2026-11-23 10:21:00.000" \
	"$("${L[@]}" --dir "$D" --since 2026-11-23T10:00:00Z --tail 2 | grep '^2026' | cut -c1-23 | paste -sd' ')"
# Relative: records around now, in a closed file opened 3 h ago and the open
# file opened 1 h ago.
R=$T/relative
mkdir "$R"
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%S.000Z; }
{
	echo "["
	rec "$(at '-170 min')" 00000000000000d1
	echo ",$(rec "$(at '-120 min')" 00000000000000d2)"
	echo "]"
} >"$R/llm-$(date -u -d '-180 min' +%Y%m%dT%H%M%SZ).json"
{
	echo "["
	rec "$(at '-30 min')" 00000000000000d3
	echo ",$(rec "$(at '-5 min')" 00000000000000d4)"
} >"$R/llm-$(date -u -d '-60 min' +%Y%m%dT%H%M%SZ).json"
check_eq "10m" "00000000000000d4" "$(since_ids "$R" 10m)"
check_eq "1h" "00000000000000d3 00000000000000d4" "$(since_ids "$R" 1h)"
check_eq "2h30m" "00000000000000d2 00000000000000d3 00000000000000d4" "$(since_ids "$R" 2h30m)"
check_eq "1d" "00000000000000d1 00000000000000d2 00000000000000d3 00000000000000d4" "$(since_ids "$R" 1d)"
check_eq "3600s" "00000000000000d3 00000000000000d4" "$(since_ids "$R" 3600s)"
check_eq "readable, --since alone prints every match" 2 "$("${L[@]}" --dir "$R" --since 1h | grep -c '^20')"

### --follow
CURRENT=follow
F=$T/follow
mkdir "$F"
{
	echo "["
	rec 2026-11-23T11:00:00.000Z 00000000000000e1
} >"$F/llm-20261123T110000Z.json"
"${L[@]}" --dir "$F" --follow --json >"$T/follow.out" 2>"$T/follow.err" &
FOLLOW_PID=$!
sleep 0.5
check_eq "without --tail, nothing is printed at first" "" "$(cat "$T/follow.out")"
echo ",$(rec 2026-11-23T11:00:01.000Z 00000000000000e2)" >>"$F/llm-20261123T110000Z.json"
check "an appended record appears" wait_lines "$T/follow.out" 1
line=$(rec 2026-11-23T11:00:02.000Z 00000000000000e3)
printf ',%s' "${line:0:50}" >>"$F/llm-20261123T110000Z.json"
sleep 0.8
check_eq "half a line is not printed" 1 "$(wc -l <"$T/follow.out")"
printf '%s\n' "${line:50}" >>"$F/llm-20261123T110000Z.json"
check "the line completed: it appears whole" wait_lines "$T/follow.out" 2
# Rotation: close the file, open a newer one.
echo "]" >>"$F/llm-20261123T110000Z.json"
{
	echo "["
	rec 2026-11-23T11:10:00.000Z 00000000000000e4
} >"$F/llm-20261123T111000Z.json"
check "the first record of a newer file appears" wait_lines "$T/follow.out" 3
echo ",$(rec 2026-11-23T11:10:01.000Z 00000000000000e5)" >>"$F/llm-20261123T111000Z.json"
check "a record appended to the newer file appears" wait_lines "$T/follow.out" 4
stop_follow TERM
check_eq "SIGTERM: exit status 0" 0 "$FOLLOW_RC"
check_eq "each record once, in order, valid JSON" \
	"00000000000000e2 00000000000000e3 00000000000000e4 00000000000000e5" \
	"$(json_lines <"$T/follow.out" | paste -sd' ')"
check_eq "nothing on stderr" "" "$(cat "$T/follow.err")"

# --tail with --follow, readable; stopped with SIGINT.
"${L[@]}" --dir "$F" --tail 1 -f >"$T/follow2.out" 2>&1 &
FOLLOW_PID=$!
check "--tail 1 --follow prints the last record first" wait_lines "$T/follow2.out" 2
check_eq "that is the newest record" "2026-11-23 11:10:01.000" "$(head -1 "$T/follow2.out" | cut -c1-23)"
echo ",$(rec 2026-11-23T11:10:02.000Z 00000000000000e6 '{"message": {"text": "followed", "reasoning": null, "tool_calls": []}}')" \
	>>"$F/llm-20261123T111000Z.json"
check "then the new one" wait_lines "$T/follow2.out" 4
check_eq "readably" "  reply:     followed" "$(sed -n 4p "$T/follow2.out")"
stop_follow INT
check_eq "SIGINT: exit status 0" 0 "$FOLLOW_RC"

# --follow in an empty directory picks up the first file to appear.
mkdir "$T/follow3"
"${L[@]}" --dir "$T/follow3" --follow --json >"$T/follow3.out" 2>&1 &
FOLLOW_PID=$!
sleep 0.3
{
	echo "["
	rec 2026-11-23T12:00:00.000Z 00000000000000f1
} >"$T/follow3/llm-20261123T120000Z.json"
check "empty directory: the first file's record appears" wait_lines "$T/follow3.out" 1
stop_follow TERM
check_eq "SIGTERM: exit status 0" 0 "$FOLLOW_RC"

# Without inotify (strace makes inotify_init1 fail): polling every 500 ms.
if command -v strace >/dev/null; then
	strace -qq -o /dev/null -e trace=inotify_init1 -e inject=inotify_init1:error=EMFILE \
		"${L[@]}" --dir "$T/follow3" --follow --json >"$T/follow4.out" 2>&1 &
	STRACE_PID=$!
	for _ in $(seq 50); do
		FOLLOW_PID=$(pgrep -P $STRACE_PID)
		[ -n "$FOLLOW_PID" ] && break
		sleep 0.1
	done
	sleep 0.3
	echo ",$(rec 2026-11-23T12:00:01.000Z 00000000000000f2)" >>"$T/follow3/llm-20261123T120000Z.json"
	check "without inotify: an appended record appears" wait_lines "$T/follow4.out" 1
	check_eq "without inotify: that record" 00000000000000f2 "$(json_lines <"$T/follow4.out")"
	stop_follow TERM $STRACE_PID
	check_eq "without inotify: SIGTERM, exit status 0" 0 "$FOLLOW_RC"
else
	skip "--follow without inotify: strace not installed"
fi

### Errors
CURRENT=errors
# expect STATUS STDERR-REGEX DESCRIPTION ARGS...: exit STATUS, the message
# on stderr, nothing on stdout.
expect() {
	local want=$1 msg=$2 desc=$3 rc
	shift 3
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if [ "$rc" != "$want" ]; then
		not_ok "$desc: exit status $rc, expected $want"
		sed 's/^/    | /' "$T/err" | head -5
	elif ! grep -qE -- "$msg" "$T/err"; then
		not_ok "$desc: stderr does not match /$msg/"
		sed 's/^/    | /' "$T/err" | head -5
	elif [ -s "$T/out" ]; then
		not_ok "$desc: wrote to stdout"
	else
		ok "$desc (exit $rc)"
	fi
}
expect 2 "Usage: sentrix logs" "unknown option" "${L[@]}" --dir "$D" --frobnicate
expect 2 "'abc' is not a number" "--tail abc" "${L[@]}" --dir "$D" --tail abc
expect 2 "is not a number" "--tail -1" "${L[@]}" --dir "$D" --tail -1
expect 2 "neither a UTC time" "--since garbage" "${L[@]}" --dir "$D" --since yesterday
expect 2 "neither a UTC time" "--since 2026-02-30" "${L[@]}" --dir "$D" --since 2026-02-30
expect 2 "neither a UTC time" "--since without a unit" "${L[@]}" --dir "$D" --since 10
expect 2 "unknown or incomplete option '--tail'" "--tail without a value" "${L[@]}" --dir "$D" --tail
expect 2 "unexpected argument 'extra'" "stray argument" "${L[@]}" --dir "$D" extra
expect 2 "not a valid instance name" "bad instance name" "${L[@]}" --name ../etc
expect 1 "no instance sxtnone \(run sentrix sandbox setup\)" "unknown instance" "${L[@]}" --name sxtnone
expect 1 "cannot read $T/missing" "missing directory" "${L[@]}" --dir "$T/missing"
if [ "$(id -u)" = 0 ]; then
	chmod 0755 "$T"
	mkdir -m 0750 "$T/private"
	cp "$D/llm-20261123T100000Z.json" "$T/private/"
	cp "$SENTRIX" "$T/sentrix"
	expect 1 "run as root or a member of group sentrix" "unreadable directory (user nobody)" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$T/sentrix" logs --dir "$T/private"
	expect 1 "run as root or a member of group sentrix" "unreadable directory, --tail (user nobody)" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$T/sentrix" logs --dir "$T/private" --tail 1
else
	skip "permission message: needs root to run as another user"
fi
out=$("${L[@]}" --help)
check_eq "--help: exit 0" 0 $?
check "--help describes every option" bash -c 'for o in --name --dir --tail --since --follow --json; do
	grep -q -- "^  .*$o" <<<"$1" || { echo "missing $o"; exit 1; }; done' _ "$out"
check "sentrix --help lists logs" bash -c '"$1" --help | grep -q "^  logs "' _ "$SENTRIX"

summary
