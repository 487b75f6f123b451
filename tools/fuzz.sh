#!/usr/bin/env bash
# Runs libFuzzer targets on a scratch copy of their seed corpora.
#
#   tools/fuzz.sh runs N bin...      each target for N runs (-runs=N)
#   tools/fuzz.sh seconds S bin...   each target for S seconds
#
# Seeds: lua-free-tests/fuzz/corpus/<target name without fuzz_>/.  New
# corpus entries go to a temporary directory, so the tree is not modified;
# crash/leak/timeout inputs go to build/fuzz/artifacts/.  Exits non-zero
# when any target fails.

set -u

usage() {
    echo "usage: $0 runs N bin... | $0 seconds S bin..." >&2
    exit 2
}

[ $# -ge 3 ] || usage

mode=$1
count=$2
shift 2

case $count in
    ''|*[!0-9]*) usage ;;
esac

case $mode in
    runs)    limit="-runs=$count" ;;
    seconds) limit="-max_total_time=$count" ;;
    *)       usage ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
artifacts=$top/build/fuzz/artifacts
mkdir -p "$artifacts" || exit 1

work=$(mktemp -d "${TMPDIR:-/tmp}/kefu-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# UBSan only reports by default; a report must fail the run
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

failed=0
total=0

for bin in "$@"; do
    total=$((total + 1))
    name=$(basename "$bin")
    seeds=$top/lua-free-tests/fuzz/corpus/${name#fuzz_}
    corpus=$work/$name
    log=$work/$name.log

    if [ ! -x "$bin" ]; then
        echo "$name: FAILED: $bin is not an executable"
        failed=$((failed + 1))
        continue
    fi

    mkdir -p "$corpus"

    if [ -d "$seeds" ]; then
        cp -R "$seeds"/. "$corpus"/
    else
        echo "$name: warning: no seed corpus at $seeds"
    fi

    "$bin" "$limit" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$name-" "$corpus" >"$log" 2>&1
    rc=$?

    # "Done N runs" is printed only when the target survives
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    if [ -z "$runs" ]; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" \
               | tail -n 1)
    fi

    if [ $rc -ne 0 ]; then
        failed=$((failed + 1))
        echo "---- $name (exit $rc), end of log:"
        tail -n 60 "$log"
        echo "----"
        echo "$name: FAILED after ${runs:-?} runs;" \
             "artifacts in $artifacts/"
    else
        echo "$name: ${runs:-?} runs, no crash"
    fi
done

if [ $failed -ne 0 ]; then
    echo "fuzz: $failed of $total targets FAILED"
    exit 1
fi

echo "fuzz: all $total targets passed ($mode $count)"
