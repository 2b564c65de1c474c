#!/usr/bin/env bats
# ICMP echo: while a preloaded process is alive in the lab (the stack only exists inside such a
# process), `ping` from the kernel in NS to the stack's address is answered, as the kernel host
# NSK answers it.

load lib

setup() {
	lab_setup ping
}

teardown() {
	lab_teardown
}

@test "ping to the stack's address is answered, kernel and nstack" {
	run timeout 20 $nsx ping -c 3 -W 2 198.19.0.2
	assert_success
	assert_output --partial "3 received"

	need_nstack
	# A kernel listener, and an nstack process that connects to it and stays alive.
	bg "$BATS_TEST_TMPDIR/listener.log" $nsx nc -l "$KADDR" 9100
	wait_listen "$NS" 9100
	bg "$BATS_TEST_TMPDIR/nstack.log" timeout 30 $nsx $NSTACK python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 9100), timeout=10)
time.sleep(20)
' "$KADDR"
	wait_established "$NS" "$NADDR" 100

	run timeout 20 $nsx ping -c 3 -W 2 "$NADDR"
	assert_success
	assert_output --partial "3 received"
}
