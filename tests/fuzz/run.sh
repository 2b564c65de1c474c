#!/usr/bin/env bash
# Run each libFuzzer harness for SECONDS, seeded from tests/fuzz/corpus/NAME.
#   tests/fuzz/run.sh SECONDS BIN...
# A harness passes when libFuzzer exits 0 and wrote no crash/leak/timeout
# artifact. One line per harness, then "fuzz: N passed, N failed" (the format
# tests/run-all.sh counts). Environment:
#   FUZZ_WORK   where the growing corpus and artifacts are kept
#               (default: the directory of the first BIN, i.e. $(B)/fuzz)
#   FUZZ_ARGS   extra libFuzzer flags (e.g. -jobs=2 -workers=2, -dict=...)
# The seed directory is only read: new inputs go to FUZZ_WORK/corpus/NAME, so
# a long `make fuzz` run keeps its progress for the next one.
set -u
cd "$(dirname "$0")/../.." || exit 1
secs=${1:?usage: run.sh SECONDS BIN...}
shift
[ "$#" -gt 0 ] || { echo "run.sh: no harness given"; exit 2; }
work=${FUZZ_WORK:-$(dirname "$1")}
pass=0 fail=0
for bin in "$@"; do
	name=$(basename "$bin")
	seeds=tests/fuzz/corpus/$name
	corpus=$work/corpus/$name
	art=$work/artifacts/$name
	log=$work/logs/$name.log
	mkdir -p "$corpus" "$art" "$(dirname "$log")" "$seeds"
	rm -f "$art"/*
	# -timeout: one input running 10 s is a hang (a loop in the stack), also a failure.
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
	timeout -k 10 $((secs + 120)) "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" ${FUZZ_ARGS:-} "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+')
	found=$(find "$art" -type f | head -n1)
	if [ "$rc" = 0 ] && [ -z "$found" ] && [ -n "$execs" ]; then
		echo "ok   $name: ${execs} inputs in ${secs} s, coverage ${cov:-?} edges, corpus $(find "$corpus" -type f | wc -l) + $(find "$seeds" -type f | wc -l) seeds"
		pass=$((pass + 1))
	else
		echo "FAIL $name: exit $rc after ${execs:-?} inputs; log $log"
		# the report: libFuzzer/sanitizer lines and the stack trace
		grep -E '^(==[0-9]+==|fuzz:|SUMMARY|.*runtime error|    #[0-9]+ )' "$log" | head -n 40 | sed 's/^/    /'
		[ -n "$found" ] && echo "    reproduce: $bin $found   (minimise: $bin -minimize_crash=1 -runs=10000 $found)"
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]
