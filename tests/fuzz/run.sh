#!/bin/bash
# Runs the libFuzzer harnesses (tests/fuzz/fuzz-*.c; docs/fuzzing.md).
#
#   tests/fuzz/run.sh [NAME...]          fuzz each for FUZZ_SECS seconds (make fuzz)
#   tests/fuzz/run.sh --check [NAME...]  build them, replay every regress/ and
#                                        corpus/ input, fuzz each for FUZZ_CHECK_SECS
#                                        (tests/run-all.sh's fuzz tier)
#
# Prints one "ok"/"not ok" line per step and harness (the words
# tests/run-all.sh counts), or one "skip" line when clang's libFuzzer
# runtime is missing.  Fuzzing runs on a copy of the corpus in a temporary
# directory: the tree's corpus never grows by itself (FUZZ_KEEP=DIR keeps
# the grown corpora in DIR/NAME, to merge by hand).  A crash, leak,
# timeout, broken property or out-of-memory fails the harness; its input
# is kept in $BUILD/fuzz/findings/NAME/ with the command that reproduces
# it.  Exit status 1 when any harness failed.
#
# Environment: BUILD (build), FUZZ_SECS (300), FUZZ_CHECK_SECS (15),
# FUZZ_TIMEOUT (seconds one input may take, 10), FUZZ_RSS_MB (2048),
# FUZZ_SEED (libFuzzer's -seed; random when unset), FUZZ_KEEP.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
FUZZ_SECS=${FUZZ_SECS:-300}
FUZZ_CHECK_SECS=${FUZZ_CHECK_SECS:-15}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
FUZZ_CC=${FUZZ_CC:-clang}
check=
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
secs=$FUZZ_SECS
[ -n "$check" ] && secs=$FUZZ_CHECK_SECS

names=("$@")
if [ ${#names[@]} = 0 ]; then
	for f in tests/fuzz/fuzz-*.c; do
		n=${f#tests/fuzz/fuzz-}
		names+=("${n%.c}")
	done
fi

tmp=$(mktemp -d /tmp/sentrix-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# clang links -fsanitize=fuzzer against libclang_rt.fuzzer (Debian:
# libclang-rt-14-dev, which packaging/install-deps.sh installs).
probe() {
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }' >"$tmp/probe.c"
	"$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" >"$tmp/probe.log" 2>&1
}
if ! command -v "$FUZZ_CC" >/dev/null; then
	echo "skip - fuzz: $FUZZ_CC is not installed (packaging/install-deps.sh installs clang)"
	exit 0
fi
if ! probe; then
	echo "skip - fuzz: $FUZZ_CC cannot link -fsanitize=fuzzer,address,undefined (install libclang-rt-14-dev:" \
		"packaging/install-deps.sh): $(grep -m1 -E 'error|cannot find' "$tmp/probe.log")"
	exit 0
fi
if [ -n "$check" ] && ! make -s BUILD="$BUILD" fuzz-build >"$tmp/build.log" 2>&1; then
	echo "not ok - fuzz: the harnesses do not build (make fuzz-build)"
	grep -E 'error|Error' "$tmp/build.log" | head -20
	exit 1
fi

failed=0

# The per-harness input limit, from the "fuzz-max-len: N" line of its source.
max_len() {
	grep -m1 -oE 'fuzz-max-len: [0-9]+' "tests/fuzz/fuzz-$1.c" | grep -oE '[0-9]+$' || echo 4096
}

# finding NAME LOG ARTIFACT-DIR: keeps what libFuzzer saved, says how to
# reproduce it, and shows the report's key lines.
finding() {
	local name=$1 log=$2 art=$3 keep="$BUILD/fuzz/findings/$1" f
	mkdir -p "$keep"
	for f in "$art"/*; do
		[ -f "$f" ] || continue
		cp "$f" "$keep/"
		echo "#   input kept: $keep/$(basename "$f")  (reproduce: $BUILD/fuzz/fuzz-$name $keep/$(basename "$f"))"
	done
	grep -aE '^(==[0-9]+==ERROR|SUMMARY|fuzz: property broken|.*runtime error|ERROR: libFuzzer)' "$log" |
		head -8 | sed 's/^/#   /'
}

# replay NAME: every regress/ and corpus/ input once.
replay() {
	local name=$1 bin=$BUILD/fuzz/fuzz-$1 log=$tmp/$1.replay.log art=$tmp/$1.replay-art files=()
	mkdir -p "$art" "$tmp/scratch"
	while IFS= read -r -d '' f; do files+=("$f"); done < <(find "tests/fuzz/regress/$name" \
		"tests/fuzz/corpus/$name" -type f -print0 2>/dev/null | sort -z)
	if [ ${#files[@]} = 0 ]; then
		echo "not ok - fuzz $name: no inputs in tests/fuzz/corpus/$name or tests/fuzz/regress/$name"
		failed=1
		return
	fi
	if TMPDIR=$tmp/scratch "$bin" -timeout="$FUZZ_TIMEOUT" -rss_limit_mb="$FUZZ_RSS_MB" \
		-artifact_prefix="$art/" "${files[@]}" >"$log" 2>&1; then
		echo "ok - fuzz $name: ${#files[@]} inputs replayed"
	else
		echo "not ok - fuzz $name: replaying its ${#files[@]} regress/ and corpus/ inputs failed"
		finding "$name" "$log" "$art"
		failed=1
	fi
}

# fuzz NAME: SECS seconds on a copy of the corpus; one line with the figures.
fuzz() {
	local name=$1 bin=$BUILD/fuzz/fuzz-$1 log=$tmp/$1.fuzz.log art=$tmp/$1.art corpus=$tmp/corpus/$1
	local runs eps cov ft units rc seed seed_opt=() t0 elapsed
	mkdir -p "$art" "$corpus" "$tmp/scratch"
	cp tests/fuzz/corpus/"$name"/* tests/fuzz/regress/"$name"/* "$corpus/" 2>/dev/null
	[ -n "${FUZZ_SEED:-}" ] && seed_opt=(-seed="$FUZZ_SEED")
	t0=$(date +%s)
	TMPDIR=$tmp/scratch "$bin" -max_total_time="$secs" -max_len="$(max_len "$name")" \
		-timeout="$FUZZ_TIMEOUT" -rss_limit_mb="$FUZZ_RSS_MB" -print_final_stats=1 \
		-artifact_prefix="$art/" "${seed_opt[@]}" "$corpus" >"$log" 2>&1
	rc=$?
	elapsed=$(($(date +%s) - t0))
	runs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log")
	eps=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log")
	units=$(awk '/^stat::new_units_added:/ {print $2}' "$log")
	cov=$(grep -aoE ' cov: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+')
	ft=$(grep -aoE ' ft: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+')
	seed=$(grep -aoE 'INFO: Seed: [0-9]+' "$log" | grep -oE '[0-9]+$')
	if [ -n "${FUZZ_KEEP:-}" ]; then
		mkdir -p "$FUZZ_KEEP/$name" && cp "$corpus"/* "$FUZZ_KEEP/$name/" 2>/dev/null
	fi
	local figures="$elapsed s, ${runs:-?} runs, ${eps:-?} exec/s, cov ${cov:-?} edges, ft ${ft:-?}, ${units:-?} new inputs, seed ${seed:-?}"
	if [ "$rc" = 0 ] && ! ls "$art"/* >/dev/null 2>&1; then
		echo "ok - fuzz $name: $figures"
	else
		echo "not ok - fuzz $name: libFuzzer exited $rc ($figures)"
		finding "$name" "$log" "$art"
		failed=1
	fi
}

for name in "${names[@]}"; do
	if [ ! -x "$BUILD/fuzz/fuzz-$name" ]; then
		echo "not ok - fuzz $name: $BUILD/fuzz/fuzz-$name is not built (make fuzz-build)"
		failed=1
		continue
	fi
	[ -n "$check" ] && replay "$name"
	fuzz "$name"
done
exit $failed
