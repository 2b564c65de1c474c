#!/usr/bin/env bats
# A misconfiguration is one clear line on stderr and a quick failure — never a hang, never a
# silent fallback to the kernel. The launcher exits 2 without running the command; the library
# alone (environment only) makes the program's socket calls fail, so curl fails the way it does
# against an unreachable kernel peer (exit 7). Every run is bounded by `timeout` (exit 124 = hang).

bats_require_minimum_version 1.5.0
load lib

setup() {
	lab_setup
}

teardown() {
	lab_teardown
}

# The stderr of the last `run --separate-stderr` has exactly one error line ("nstack: …")
# and it matches REGEX; the only other line allowed is a pointer to --help.
assert_one_stderr_line() {
	local n other
	n=$(printf '%s\n' "$stderr" | grep -c '^nstack' || true)
	assert_equal "nstack error lines on stderr: $n" "nstack error lines on stderr: 1"
	other=$(printf '%s\n' "$stderr" | grep -v '^nstack' | grep -v -- '--help' | grep . || true)
	[ -z "$other" ] || fail "unexpected lines on stderr: $other"
	[[ $(printf '%s\n' "$stderr" | grep '^nstack') =~ $1 ]] || fail "stderr does not match '$1': $stderr"
}

@test "launcher: no such interface exits 2 with one line naming it" {
	need_nstack
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst9 --addr "$NADDR/24" -- \
		curl -sS "http://$KADDR/"
	assert_equal "$status" 2
	assert_output ""
	assert_one_stderr_line "nst9"
}

@test "library: no such interface from the environment fails quickly, like the kernel's refusal" {
	run timeout 20 $nsx curl -sS "http://$KADDR/"
	local kstatus=$status
	assert_equal "$kstatus" 7

	need_nstack
	local t0=$SECONDS
	run --separate-stderr timeout 20 $nsx env NSTACK_IF=nst9 NSTACK_ADDR="$NADDR/24" \
		LD_PRELOAD="$BUILD/libnstack.so" curl -sS "http://$KADDR/"
	assert_equal "$status" "$kstatus"
	(( SECONDS - t0 < 10 )) || fail "took $((SECONDS - t0)) s"
	local n
	n=$(printf '%s\n' "$stderr" | grep -ci nstack || true)
	assert_equal "nstack lines on stderr: $n" "nstack lines on stderr: 1"
	printf '%s\n' "$stderr" | grep -i nstack | grep -q nst9 || fail "the nstack line does not name nst9: $stderr"
}

@test "launcher: bad address exits 2 with one line" {
	need_nstack
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr 300.1.1.1/24 -- \
		curl -sS "http://$KADDR/"
	assert_equal "$status" 2
	assert_output ""
	assert_one_stderr_line "300\.1\.1\.1"
}

@test "launcher: missing command exits 2" {
	need_nstack
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --
	assert_equal "$status" 2
	assert_one_stderr_line "."
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24"
	assert_equal "$status" 2
	assert_one_stderr_line "."
}
