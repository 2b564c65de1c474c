#!/usr/bin/env bats
# A connected UDP socket to a closed kernel port: the first send goes out, the kernel answers
# ICMP port unreachable, and the following recv fails with ECONNREFUSED (Linux reports the
# error once, on the next call of a connected socket); then the socket works again (the next
# send succeeds and the next recv times out... or is refused again). The same program runs
# from NSK through the kernel and under nstack; the step lines must be identical.
# Also: sendto a broadcast address fails with EACCES without SO_BROADCAST and works with it.

load lib

TOOL="python3 $ROOT/tests/helpers/udp_tool.py"

setup() {
	lab_setup
}

teardown() {
	lab_teardown
}

@test "connected UDP socket to a closed port: ECONNREFUSED on the next recv, kernel and nstack" {
	run timeout 20 $ksx $TOOL refused "$KADDR" 9
	assert_success
	assert_output --partial "recv:ECONNREFUSED"
	local kout=$output
	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 20 $nsx $NSTACK $TOOL refused "$KADDR" 9
	assert_tap_used "$rx0"
	assert_success
	assert_output "$kout"
}

@test "sendto a subnet broadcast needs SO_BROADCAST (EACCES), kernel and nstack" {
	run timeout 20 $ksx $TOOL bcast 198.19.0.255 9
	assert_success
	assert_output "so_broadcast=0:EACCES so_broadcast=1:ok"
	local kout=$output
	need_nstack
	run timeout 20 $nsx $NSTACK $TOOL bcast 198.18.0.255 9
	assert_success
	assert_output "$kout"
}
