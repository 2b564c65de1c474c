#!/usr/bin/env bats
# sockperf TCP ping-pong on nstack in each of its multiplexing modes (-F s select, p poll,
# e epoll), compared with the kernel (2 s each):
#   - the client under nstack against a kernel `sockperf server --tcp`;
#   - `sockperf server --tcp -F s|p|e` under nstack with a kernel client.
# Each run must end with sockperf's "Summary: Latency is ..." line and no ERROR.
# (sockperf takes -F only with a connection file: -f FILE, one line "T:ADDR:PORT".)

load lib

setup() {
	lab_setup sockperf
}

teardown() {
	lab_teardown
}

# check_run WHO MODE: the last run's output is a complete ping-pong
check_run() {
	assert_success
	refute_output --partial "ERROR"
	local sum
	sum=$(echo "$output" | grep -E "Summary: Latency is [0-9.]+ usec" | tail -n 1)
	[ -n "$sum" ] || fail "$1 -F $2: no Summary line: $(echo "$output" | tail -n 5)"
	echo "# $1 -F $2: ${sum#*Summary: }" >&3
}

@test "sockperf ping-pong client under nstack, select/poll/epoll" {
	bg "$BATS_TEST_TMPDIR/server.log" $nsx sockperf server --tcp -i "$KADDR" -p 11111
	wait_listen "$NS" 11111
	echo "T:$KADDR:11111" >"$BATS_TEST_TMPDIR/conn"
	local f rx0
	for f in s p e; do
		run timeout 30 $ksx sockperf ping-pong -f "$BATS_TEST_TMPDIR/conn" -F $f -t 2
		check_run kernel $f
		need_nstack
		rx0=$(tap_rx)
		run timeout 30 $nsx $NSTACK sockperf ping-pong -f "$BATS_TEST_TMPDIR/conn" -F $f -t 2
		check_run nstack $f
		assert_tap_used "$rx0"
	done
}

@test "sockperf server under nstack, select/poll/epoll" {
	local f port=11120
	for f in s p e; do
		port=$((port + 1))
		echo "T:198.19.0.2:$port" >"$BATS_TEST_TMPDIR/kconn-$f"
		echo "T:$NADDR:$port" >"$BATS_TEST_TMPDIR/nconn-$f"
		bg "$BATS_TEST_TMPDIR/server-kernel-$f.log" $ksx sockperf server -f "$BATS_TEST_TMPDIR/kconn-$f" -F $f
		local kpid=$BG_PID
		wait_listen "$NSK" $port
		run timeout 30 $nsx sockperf ping-pong --tcp -i 198.19.0.2 -p $port -t 2
		check_run kernel $f
		kill "$kpid" 2>/dev/null || true
		need_nstack
		bg "$BATS_TEST_TMPDIR/server-nstack-$f.log" $nsx $NSTACK sockperf server -f "$BATS_TEST_TMPDIR/nconn-$f" -F $f
		local npid=$BG_PID
		wait_file_grep "$BATS_TEST_TMPDIR/server-nstack-$f.log" "to block on socket"
		run timeout 30 $nsx sockperf ping-pong --tcp -i "$NADDR" -p $port -t 2
		check_run nstack $f
		kill "$npid" 2>/dev/null || true
	done
}
