#!/usr/bin/env bats
# Threads sharing sockets under nstack, compared with the kernel line for line
# (tests/helpers/posix_threads.c): 8 MB each way at once from four threads on one connected
# pair; 2 x 2000 records of 100 bytes sent from two threads on one socket arrive whole and
# in order per sender; a thread blocked in recv or accept while another closes the fd
# returns (no crash, no hang), and the socket lives on until that call returns (data or
# a FIN sent later reach the blocked recv, a connection made later the blocked accept,
# the FIN or the refusal come only when it returns); a thread blocked in recv or
# poll(POLLIN) on a socket with EPOLLOUT interest in an epoll set sleeps (thread CPU over
# 2 s under 50 ms). Kernel: lo of the lab namespace; nstack: --if lo with the
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

@test "threads: shared sockets; close while blocked keeps the socket for the call; no spin beside EPOLLOUT" {
	run timeout 90 $nsx "$PROG" 127.0.0.1 7501
	assert_success
	local kout=$output
	assert_line "records: 4000 of 4000 whole, each sender's in order: yes"
	assert_line "done"
	# the kernel's semantics the nstack run must reproduce (not just equal output)
	assert_line 'close-ref recv: peer after close: nothing (connection open)'
	assert_line 'close-ref recv, then the peer sends hello: 5 "hello"'
	assert_line 'close-ref recv, then the peer sends its FIN: 0 ""'
	assert_line 'close-ref recv: peer once the call returned: EOF'
	assert_line 'close-ref accept, then a connection: a new socket'
	assert_line 'close-ref accept: connect once the call returned: Connection refused'
	assert_line 'busy: blocked recv beside EPOLLOUT interest: Resource temporarily unavailable, CPU idle'
	assert_line 'busy: blocked poll POLLIN beside EPOLLOUT interest: 0, CPU idle'
	need_nstack
	ip -n "$NS" link set lo down
	run timeout 90 $nsx "$BUILD/nstack" run --if lo -- "$PROG" 127.0.0.1 7501
	assert_success
	diff -u <(echo "$kout") <(echo "$output") || fail "nstack output differs from the kernel's (above)"
}
