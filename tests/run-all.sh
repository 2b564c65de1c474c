#!/usr/bin/env bash
# Run every test group and print one total at the very end.
#   unit: tests/run-bins.sh unit UNIT_BINS   ("unit: N passed, N failed")
#   sim:  tests/run-bins.sh sim SIM_BINS
#   e2e:  tests/run-e2e.sh                   (bats TAP: "ok", "ok … # skip", "not ok")
#   conformance: tests/conformance/run.sh   (packetdrill scripts, kernel and nstack; CONFORMANCE=0
#                skips the group, which under CI counts as a failure)
#   sanitize: run-bins.sh over SAN_BINS, fuzz: tests/fuzz/run.sh over FUZZ_BINS (both from the
#   environment, set by `make test`; skipped when unset)
# A bats skip is not a pass: skips are counted and printed separately, and under CI (CI set to
# anything but "", 0 or false) they count as failures. A failing group does not stop the others.
# Last line, exactly: "N passed, N failed". Exit status non-zero if anything failed.
#
# Usage: tests/run-all.sh "UNIT_BINS" "SIM_BINS"
set -u
cd "$(dirname "$0")/.." || exit 1

unit_bins=${1:-}
sim_bins=${2:-}
total_pass=0 total_fail=0 total_skip=0
summary=()
out=$(mktemp)
trap 'rm -f "$out"' EXIT

case "${CI:-}" in
"" | 0 | false | no) ci= ;;
*) ci=1 ;;
esac

# bins GROUP BINS: run a group of test binaries through run-bins.sh and add up its summary.
bins() {
	local label=$1 list=$2 line p f st
	echo "== $label"
	# shellcheck disable=SC2086 # the list is space separated on purpose
	tests/run-bins.sh "$label" $list 2>&1 | tee "$out"
	st=${PIPESTATUS[0]}
	line=$(grep -E "^$label: [0-9]+ passed, [0-9]+ failed" "$out" | tail -n1)
	if [ -z "$line" ]; then
		echo "$label: run-bins.sh printed no summary (exit $st)"
		p=0 f=1
	else
		p=$(awk '{print $2}' <<<"$line") f=$(awk '{print $4}' <<<"$line")
		[ "$st" != 0 ] && [ "$f" = 0 ] && f=1
	fi
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
	summary+=("$label: $p passed, $f failed")
}

e2e() {
	local p f s st
	echo "== e2e"
	tests/run-e2e.sh 2>&1 | tee "$out"
	st=${PIPESTATUS[0]}
	s=$(grep -cE '^ok .*# [Ss][Kk][Ii][Pp]([ (]|$)' "$out")
	p=$(($(grep -cE '^ok ' "$out") - s))
	f=$(grep -cE '^not ok' "$out")
	[ "$st" != 0 ] && [ "$f" = 0 ] && f=1 && echo "e2e: run-e2e.sh exited $st with no failing test reported"
	[ $((p + f + s)) = 0 ] && f=1 && echo "e2e: no test ran"
	if [ "$s" != 0 ]; then
		grep -E '^ok .*# [Ss][Kk][Ii][Pp]' "$out" | sed 's/^/skipped: /'
	fi
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
	if [ -n "$ci" ] && [ "$s" != 0 ]; then
		summary+=("e2e: $p passed, $f failed, $s skipped (CI: skips count as failures)")
		total_fail=$((total_fail + s))
	else
		summary+=("e2e: $p passed, $f failed, $s skipped")
	fi
}

# fuzz: each libFuzzer harness for FUZZ_SECONDS (tests/fuzz/run.sh: "fuzz: N passed, N failed").
fuzz() {
	local line p f st
	echo "== fuzz (${FUZZ_SECONDS:-60} s each)"
	# shellcheck disable=SC2086 # the list is space separated on purpose
	tests/fuzz/run.sh "${FUZZ_SECONDS:-60}" $FUZZ_BINS 2>&1 | tee "$out"
	st=${PIPESTATUS[0]}
	line=$(grep -E "^fuzz: [0-9]+ passed, [0-9]+ failed" "$out" | tail -n1)
	if [ -z "$line" ]; then
		echo "fuzz: run.sh printed no summary (exit $st)"
		p=0 f=1
	else
		p=$(awk '{print $2}' <<<"$line") f=$(awk '{print $4}' <<<"$line")
		[ "$st" != 0 ] && [ "$f" = 0 ] && f=1
	fi
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
	summary+=("fuzz: $p passed, $f failed")
}

# conformance: the packetdrill scripts of tests/conformance/scripts.list, each on the kernel and
# on nstack ("conformance: N passed, N failed"; a script passes when it passes on both).
conformance() {
	local line p f st
	echo "== conformance (packetdrill, kernel and nstack)"
	CONF_SKIP_KNOWN=1 timeout -k 10 "${CONF_TOTAL_TIMEOUT:-1200}" tests/conformance/run.sh 2>&1 | tee "$out"
	st=${PIPESTATUS[0]}
	line=$(grep -E "^conformance: [0-9]+ passed, [0-9]+ failed" "$out" | tail -n1)
	if [ -z "$line" ]; then
		echo "conformance: run.sh printed no summary (exit $st)"
		p=0 f=1
	else
		p=$(awk '{print $2}' <<<"$line") f=$(awk '{print $4}' <<<"$line")
		[ "$st" != 0 ] && [ "$f" = 0 ] && f=1
	fi
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
	summary+=("conformance: $p passed, $f failed")
}

bins unit "$unit_bins"
bins sim "$sim_bins"
# unit and sim again, built with ASan+UBSan (make san-bins), and the fuzz smoke (make fuzz-bins)
[ -n "${SAN_BINS:-}" ] && bins sanitize "$SAN_BINS"
[ -n "${FUZZ_BINS:-}" ] && fuzz
e2e
if [ "${CONFORMANCE:-1}" != 0 ]; then
	conformance
elif [ -n "$ci" ]; then
	summary+=("conformance: skipped (CONFORMANCE=0; CI: counts as a failure)")
	total_fail=$((total_fail + 1))
fi

echo "== summary"
printf '%s\n' "${summary[@]}"
[ "$total_skip" != 0 ] && echo "skipped: $total_skip (not counted as passed)"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
