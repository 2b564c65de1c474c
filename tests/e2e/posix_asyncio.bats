#!/usr/bin/env bats
# Python asyncio (epoll event loop, non-blocking sockets) on nstack, compared with the kernel:
#   - an echo server under nstack serves 100 concurrent kernel clients (20 kB each way);
#   - 100 concurrent asyncio clients under nstack use a kernel echo server.
# The kernel half of each runs the same script with the roles on kernel sockets (server in
# NSK on 198.19.0.2 with clients in NS; or server in NS on 198.18.0.1 with clients in NSK).
# Output ("100/100 echoed …") and exit status must match.

load lib

PY="$BATS_TEST_DIRNAME/posix_asyncio.py"

setup() {
	lab_setup
}

teardown() {
	lab_teardown
}

@test "asyncio echo server under nstack serves 100 concurrent kernel clients" {
	bg "$BATS_TEST_TMPDIR/server-kernel.log" $ksx python3 "$PY" server 198.19.0.2 7201
	wait_file_grep "$BATS_TEST_TMPDIR/server-kernel.log" '^listening$'
	run timeout 90 $nsx python3 "$PY" clients 198.19.0.2 7201 100 20000
	assert_success
	assert_output "100/100 echoed 20000 bytes"
	need_nstack
	bg "$BATS_TEST_TMPDIR/server-nstack.log" $nsx $NSTACK python3 "$PY" server "$NADDR" 7202
	wait_file_grep "$BATS_TEST_TMPDIR/server-nstack.log" '^listening$'
	run timeout 90 $nsx python3 "$PY" clients "$NADDR" 7202 100 20000
	assert_success
	assert_output "100/100 echoed 20000 bytes"
}

@test "100 concurrent asyncio clients under nstack use a kernel echo server" {
	bg "$BATS_TEST_TMPDIR/server.log" $nsx python3 "$PY" server "$KADDR" 7211
	wait_file_grep "$BATS_TEST_TMPDIR/server.log" '^listening$'
	run timeout 90 $ksx python3 "$PY" clients "$KADDR" 7211 100 20000
	assert_success
	assert_output "100/100 echoed 20000 bytes"
	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 90 $nsx $NSTACK python3 "$PY" clients "$KADDR" 7211 100 20000
	assert_success
	assert_output "100/100 echoed 20000 bytes"
	assert_tap_used "$rx0"
}
