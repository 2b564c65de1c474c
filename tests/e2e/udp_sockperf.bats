#!/usr/bin/env bats
# sockperf over UDP (its default): ping-pong and throughput, 2 s each, against a kernel
# `sockperf server` in NS, from NSK through the kernel and from nstack; then the server under
# nstack with a kernel client. Each run must complete (exit 0) with its summary line, and the
# ping-pong must have seen replies (a latency figure).

load lib

setup() {
	lab_setup sockperf
}

teardown() {
	lab_teardown
}

# sp_server WHO ADDR PORT PREFIX...: start `sockperf server` (UDP) and wait for its banner.
sp_server() {
	local who=$1 addr=$2 port=$3; shift 3
	bg "$BATS_TEST_TMPDIR/server-$who.log" "$@" sockperf server -i "$addr" -p "$port"
	wait_file_grep "$BATS_TEST_TMPDIR/server-$who.log" "Warmup stage|IP = " 50 || true
	sleep 0.5
}

# sp_client MODE ADDR PORT PREFIX...: run the client for 2 s; asserts and prints the summary.
sp_client() {
	local mode=$1 addr=$2 port=$3; shift 3
	run timeout 30 "$@" sockperf "$mode" -i "$addr" -p "$port" -t 2
	assert_success
	if [ "$mode" = ping-pong ]; then
		assert_output --regexp "Summary: Latency is [0-9.]+ usec"
	else
		assert_output --regexp "Summary: Message Rate is [0-9]+ \[msg/sec\]"
	fi
	local who=kernel
	[[ "$*" == *nstack* ]] && who=nstack
	echo "# $mode, $who client -> $addr: $(echo "$output" | grep -oE "Summary: (Latency|Message Rate) is [0-9.]+ [^ ]+")" >&3
}

@test "sockperf ping-pong and throughput (UDP) against a kernel server: kernel and nstack" {
	sp_server kernel "$KADDR" 11111 $nsx
	sp_client ping-pong "$KADDR" 11111 $ksx
	sp_client throughput "$KADDR" 11111 $ksx
	need_nstack
	local rx0
	rx0=$(tap_rx)
	sp_client ping-pong "$KADDR" 11111 $nsx $NSTACK
	sp_client throughput "$KADDR" 11111 $nsx $NSTACK
	assert_tap_used "$rx0"
}

@test "sockperf server (UDP) under nstack answers a kernel ping-pong client" {
	need_nstack
	sp_server nstack "$NADDR" 11112 $nsx $NSTACK
	sp_client ping-pong "$NADDR" 11112 $nsx
	sp_client throughput "$NADDR" 11112 $nsx
}
