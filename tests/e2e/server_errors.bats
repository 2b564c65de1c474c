#!/usr/bin/env bats
# Error parity for servers: tests/helpers/server_errors.c runs every bind/listen/accept/
# socket-buffer check once on the kernel (in NSK: own address 198.19.0.2, unowned 198.19.0.77)
# and once under nstack (own 198.18.0.2, unowned 198.18.0.77), against the same kernel peer
# (tests/e2e/server_peer.py on 198.18.0.1:7000, which holds connections and connects back).
# The two outputs (one line per check, no addresses) must be identical, line for line.

load lib

setup() {
	lab_setup
	bg "$BATS_TEST_TMPDIR/peer.log" $nsx python3 "$BATS_TEST_DIRNAME/server_peer.py" "$KADDR"
	wait_listen "$NS" 7000
}

teardown() {
	lab_teardown
}

@test "bind/listen/accept errors and buffer sizes equal the kernel's" {
	local prog="$BUILD/tests/helpers/server_errors"
	[ -x "$prog" ] || fail "missing $prog (run: make)"
	run timeout 60 $ksx "$prog" 198.19.0.2 198.19.0.77 "$KADDR" 20000
	assert_success
	echo "$output" >"$BATS_TEST_TMPDIR/kernel.out"
	# the kernel run really exercised the checks (not an empty or cut-short output)
	assert_line "bind own:P again: EADDRINUSE"
	assert_line "SO_LINGER get: 1 5 len 8"

	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 60 $nsx $NSTACK "$prog" "$NADDR" 198.18.0.77 "$KADDR" 20000
	echo "$output" >"$BATS_TEST_TMPDIR/nstack.out"
	assert_success
	run diff -u "$BATS_TEST_TMPDIR/kernel.out" "$BATS_TEST_TMPDIR/nstack.out"
	assert_success
	assert_tap_used "$rx0"
}
