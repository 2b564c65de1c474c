#!/usr/bin/env bats
# Socket options under nstack answer as the kernel's, line for line: tests/helpers/sockopt_sweep.c
# tries every SOL_SOCKET / IPPROTO_IP / IPPROTO_TCP / IPPROTO_UDP option Linux knows on AF_INET
# TCP and UDP sockets (default, a valid set, read back, a too short optlen, a NULL optval, a
# truncated get, unknown options) on an unconnected TCP socket, a UDP socket and a TCP socket
# connected to a kernel peer (198.18.0.1).
#
# Kernel run: from NSK over the veth. nstack run: from NS over the TAP. Values that depend on the machine (SO_COOKIE, the
# contents of TCP_INFO) are printed as '*' and IP_PROTOCOL's local port as 'lport' by the sweep.
#
# The outputs must be equal except for these lines, dropped from both before the diff:
#  - "tcp-connected SOL_SOCKET SO_SNDBUF get" before any set: Linux grows an unlocked send
#    buffer at connection setup from its congestion window and skb overheads
#    (tcp_sndbuf_expand: 2 x 10 segments x ~2304 bytes of kernel memory each); nstack's send
#    budget counts payload bytes only and keeps reporting the default.
#  - "tcp-connected SOL_SOCKET SO_INCOMING_CPU get" before any set: the CPU that happened to
#    process the connection's last packet (varies from run to run on the kernel too).
#  - "TCP_CONGESTION get" before any set, on both TCP sockets: the default algorithm. nstack's
#    is CUBIC; a namespace's kernel default is the host's (bbr here) and a namespace may only
#    switch to algorithms in the host-wide net.ipv4.tcp_allowed_congestion_control, which this
#    test does not change. After the sweep sets reno, both read it back.

load lib

setup() {
	lab_setup
	PROG="$BUILD/tests/helpers/sockopt_sweep"
	[ -x "$PROG" ] || fail "missing $PROG (run: make $PROG)"
}

teardown() {
	lab_teardown
}

# The sweep's output without the lines excused above (only their first, default reading).
excuse() {
	awk '/^tcp-connected SOL_SOCKET (SO_SNDBUF|SO_INCOMING_CPU) get -> / && !seen[$3]++ { next }
	     /^tcp(-connected)? IPPROTO_TCP TCP_CONGESTION get -> / && !seen[$1 $3]++ { next }
	     { print }'
}

@test "posix_sockopts: every socket option answers under nstack as on the kernel" {
	bg "$BATS_TEST_TMPDIR/peer.log" $nsx python3 "$ROOT/tests/e2e/posix_peer.py" "$KADDR" 7311
	wait_listen "$NS" 7311
	run timeout 60 $ksx "$PROG" "$KADDR" 7311
	assert_success
	echo "$output" >"$BATS_TEST_TMPDIR/kernel.out"
	# the reference really ran to the end and shows the behaviours
	assert_line "tcp IPPROTO_IP IP_TOS set=19 -> 0 0"
	assert_line "tcp IPPROTO_IP IP_TOS get -> 0 0 16"
	assert_line "udp IPPROTO_IP IP_TOS get -> 0 0 19"
	assert_line "tcp SOL_SOCKET 999 set=1 -> -1 ENOPROTOOPT"
	assert_line "tcp IPPROTO_TCP TCP_DEFER_ACCEPT get -> 0 0 7"
	assert_line "tcp-connected IPPROTO_IP IP_MTU get -> 0 0 1500"
	assert_line "done"
	need_nstack
	local before
	before=$(tap_rx)
	run timeout 60 $nsx $NSTACK "$PROG" "$KADDR" 7311
	echo "$output" >"$BATS_TEST_TMPDIR/nstack.out"
	assert_success
	assert_tap_used "$before"
	excuse <"$BATS_TEST_TMPDIR/kernel.out" >"$BATS_TEST_TMPDIR/kernel.cmp"
	excuse <"$BATS_TEST_TMPDIR/nstack.out" >"$BATS_TEST_TMPDIR/nstack.cmp"
	run diff -u "$BATS_TEST_TMPDIR/kernel.cmp" "$BATS_TEST_TMPDIR/nstack.cmp"
	assert_success
}
