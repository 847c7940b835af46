#!/bin/sh
# Run every cmocka unit-test binary given; print one summary line.
pass=0; fail=0
for t in "$@"; do
    if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "unit: $t FAILED" >&2; fi
done
echo "unit test binaries: $pass passed, $fail failed"
[ "$fail" = 0 ]
