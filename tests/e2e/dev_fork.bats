#!/usr/bin/env bats
# shim_dev_fork on a real device: a process opens the device as preload does (shim_dev_open),
# forks, and closes its own; the child takes the inherited TAP fd / AF_PACKET socket over with a
# new io_uring instance (tests/helpers/shim_fork.c) and must get the kernel's ARP reply for
# 198.18.0.1 on it. With a capture, the child writes its own file, <path>.<child pid>.

bats_require_minimum_version 1.5.0
load lib

HELPER=

setup() {
	lab_require
	HELPER="$BUILD/tests/helpers/shim_fork"
	[ -x "$HELPER" ] || fail "missing $HELPER (run: make $HELPER)"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || lab_debug || true
	if [ -n "${NSP:-}" ]; then lab_down_packet; else lab_down; fi
}

@test "dev_fork: TAP: the child's own ring on the inherited TAP fd gets the ARP reply" {
	lab_up
	run timeout 20 $nsx "$HELPER" tap nst0 "$NADDR" "$KADDR"
	echo "$output"
	assert_success
	assert_output --partial "reply $KADDR is-at"
	assert_output --partial "tap nst0: forked: io_uring"
}

@test "dev_fork: TAP with pcap: the child captures to <path>.<pid>" {
	command -v tcpdump >/dev/null || skip "no tcpdump"
	lab_up
	local cap="$BATS_TEST_TMPDIR/cap.pcap" pid
	run timeout 20 $nsx "$HELPER" tap nst0 "$NADDR" "$KADDR" "$cap"
	echo "$output"
	assert_success
	pid=$(sed -n 's/^child \([0-9]*\)$/\1/p' <<<"$output")
	[ -n "$pid" ] || fail "the helper printed no child pid"
	[ -s "$cap.$pid" ] || fail "no capture $cap.$pid"
	run tcpdump -nr "$cap.$pid"
	echo "$output"
	assert_success
	assert_output --partial "Request who-has $KADDR tell $NADDR"
	assert_output --partial "Reply $KADDR is-at"
	# the parent's own file holds the header only: it sent and received nothing
	run tcpdump -nr "$cap"
	assert_success
	refute_output --partial "ARP"
}

@test "dev_fork: AF_PACKET: the child's own ring on the inherited packet socket gets the ARP reply" {
	lab_up_packet
	run timeout 20 $psx "$HELPER" packet vp1 "$NADDR" "$KADDR"
	echo "$output"
	assert_success
	assert_output --partial "reply $KADDR is-at"
	assert_output --partial "packet vp1: forked: io_uring"
}

@test "dev_fork: TAP: a multishot read ended in an application thread is armed again by the engine" {
	# The stall of a lossy download: the provided buffers ran dry, the multishot read ended,
	# an application thread reaped that end (it may not arm reads) and took the device fd's
	# signal; the engine slept on with no read alive. tests/helpers/shim_rearm.c.
	lab_up
	local helper="$BUILD/tests/helpers/shim_rearm"
	[ -x "$helper" ] || fail "missing $helper"
	run timeout 20 $nsx "$helper" nst0 600
	echo "$output"
	assert_success
	assert_output --partial "woken"
	assert_output --partial "received 600 of 600"
}

@test "dev_fork: TAP: the reads follow the thread that waits for frames, and come back when it is gone" {
	# The token holder takes the multishot read over (netdev_rx_claim): a frame then wakes
	# only it, not the engine first. When that thread exits, its read ends with the next
	# frame; the engine must be asked to arm and take the reads back, or receiving stops.
	# tests/helpers/shim_claim.c.
	lab_up
	local helper="$BUILD/tests/helpers/shim_claim"
	[ -x "$helper" ] || fail "missing $helper"
	run timeout 20 $nsx "$helper" nst0 300
	echo "$output"
	assert_success
	assert_output --partial "thread received 300 of 300"
	assert_output --partial "woken"
	assert_output --partial "received 300 of 300; wakes 1, claims 2"
}
