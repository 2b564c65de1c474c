#!/usr/bin/env bats
# Threads sharing sockets under nstack, compared with the kernel line for line
# (tests/helpers/posix_threads.c): 8 MB each way at once from four threads on one connected
# pair; 2 x 2000 records of 100 bytes sent from two threads on one socket arrive whole and
# in order per sender; a thread blocked in recv or accept while another closes the fd
# returns (no crash, no hang). Kernel: lo of the lab namespace; nstack: --if lo with the
# namespace's lo down.

load lib

setup() {
	lab_setup
	PROG="$BUILD/tests/helpers/posix_threads"
	[ -x "$PROG" ] || fail "missing $PROG (run: make $PROG)"
}

teardown() {
	lab_teardown
}

@test "threads: concurrent send/recv on shared sockets, close while blocked" {
	run timeout 60 $nsx "$PROG" 127.0.0.1 7501
	assert_success
	local kout=$output
	assert_line "records: 4000 of 4000 whole, each sender's in order: yes"
	assert_line "done"
	need_nstack
	ip -n "$NS" link set lo down
	run timeout 60 $nsx "$BUILD/nstack" run --if lo -- "$PROG" 127.0.0.1 7501
	assert_success
	diff -u <(echo "$kout") <(echo "$output") || fail "nstack output differs from the kernel's (above)"
}
