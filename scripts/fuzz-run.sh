#!/bin/sh
# Run libFuzzer targets: fuzz-run.sh BUILD_DIR SECONDS TARGET...
# Per target: replay tests/fuzz/regress/<target>/ (inputs that once crashed it),
# then fuzz SECONDS seconds from tests/fuzz/corpus/<target>/ (the committed seeds
# stay untouched: new inputs go to BUILD_DIR/corpus/<target>/). A crash, leak,
# sanitizer report or broken invariant fails the target; the input that did it
# is printed. Logs: BUILD_DIR/logs/<target>.log. Exit status 1 if any failed.
set -u
build=$1 secs=$2
shift 2
dir=$(cd "$(dirname "$0")/.." && pwd)/tests/fuzz
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$build/logs" "$build/crashes"
pass=0 fail=0
for t in "$@"; do
    bin=$build/fuzz_$t log=$build/logs/$t.log work=$build/corpus/$t
    mkdir -p "$work"
    : >"$log"
    status=ok
    if [ -d "$dir/regress/$t" ] && [ -n "$(ls -A "$dir/regress/$t")" ]; then
        "$bin" "$dir/regress/$t"/* >>"$log" 2>&1 || status="regression input failed"
    fi
    if [ "$status" = ok ]; then
        "$bin" -max_total_time="$secs" -timeout=10 -dict="$dir/json.dict" \
            -artifact_prefix="$build/crashes/$t-" -print_final_stats=1 \
            "$work" "$dir/corpus/$t" >>"$log" 2>&1 || status="crashed"
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$status" = ok ]; then
        pass=$((pass + 1))
        echo "fuzz $t: PASS (${execs:-?} inputs in ${secs}s, log $log)"
    else
        fail=$((fail + 1))
        input=$(sed -n "s/.*Test unit written to \(.*\)/\1/p; s/^Running: \(.*\)/\1/p" "$log" | tail -n 1)
        echo "fuzz $t: FAIL: $status; input: ${input:-see $log}" >&2
        grep -m 3 -E "ERROR: |runtime error|^fuzz: " "$log" | sed 's/^/    /' >&2
    fi
done
echo "fuzz targets: $pass passed, $fail failed"
[ "$fail" = 0 ]
