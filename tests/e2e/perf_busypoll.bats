#!/usr/bin/env bats
# NSTACK_BUSY_POLL_US: a thread about to sleep on nstack sockets first drives the device itself
# for that long (preload/engine.c eng_busy_poll). Correctness only, no timing (the speed is
# measured by bench/run.sh's pingpong_bp rows):
#   - sockperf ping-pong completes with busy polling on every waiting path: a blocking recv
#     (-i: sockperf's single-socket mode), select, poll and epoll (-F s/p/e), client and server;
#   - an idle process with busy polling set sleeps: blocked in epoll_wait, in recv and in poll
#     with nothing arriving, its CPU time over 2 s stays near 0 (imitates posix_epoll.bats);
#   - a bad value is one error line and the socket calls fail, never a silent default.

bats_require_minimum_version 1.5.0
load lib

setup() {
	lab_setup
	BP="env NSTACK_BUSY_POLL_US=50"
}

teardown() {
	lab_teardown
}

# check_run WHAT: the last run's output is a complete ping-pong
check_run() {
	assert_success
	refute_output --partial "ERROR"
	local sum
	sum=$(echo "$output" | grep -E "Summary: Latency is [0-9.]+ usec" | tail -n 1)
	[ -n "$sum" ] || fail "$1: no Summary line: $(echo "$output" | tail -n 5)"
	echo "# $1: ${sum#*Summary: }" >&3
}

@test "busy-poll: sockperf ping-pong client, blocking recv and select/poll/epoll" {
	bg "$BATS_TEST_TMPDIR/server.log" $nsx sockperf server --tcp -i "$KADDR" -p 11111
	wait_listen "$NS" 11111
	run timeout 30 $ksx sockperf ping-pong --tcp -i "$KADDR" -p 11111 -t 2
	check_run "kernel recv"
	need_nstack
	local rx0 f
	rx0=$(tap_rx)
	run timeout 30 $nsx $BP NSTACK_LOG=info $NSTACK sockperf ping-pong --tcp -i "$KADDR" -p 11111 -t 2
	check_run "nstack busy-poll recv"
	assert_output --partial "busy polling: 50 us"
	assert_tap_used "$rx0"
	echo "T:$KADDR:11111" >"$BATS_TEST_TMPDIR/conn"
	for f in s p e; do
		rx0=$(tap_rx)
		run timeout 30 $nsx $BP $NSTACK sockperf ping-pong -f "$BATS_TEST_TMPDIR/conn" -F $f -t 2
		check_run "nstack busy-poll -F $f"
		assert_tap_used "$rx0"
	done
}

@test "busy-poll: sockperf server under nstack (epoll), kernel client" {
	need_nstack
	echo "T:$NADDR:11130" >"$BATS_TEST_TMPDIR/nconn"
	bg "$BATS_TEST_TMPDIR/server.log" $nsx $BP $NSTACK sockperf server -f "$BATS_TEST_TMPDIR/nconn" -F e
	wait_file_grep "$BATS_TEST_TMPDIR/server.log" "to block on socket" 100
	run timeout 30 $nsx sockperf ping-pong --tcp -i "$NADDR" -p 11130 -t 2
	check_run "kernel client -> nstack busy-poll server"
}

# cpu_ticks PID: utime+stime of the whole process (every thread), in clock ticks.
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# idle_ticks LOG PID: the process is up (LOG says "ready"); print its CPU ticks over 2 s.
idle_ticks() {
	wait_file_grep "$1" '^ready' 100 || fail "idle client did not start: $(cat "$1")"
	local t0 t1
	t0=$(cpu_ticks "$2")
	sleep 2
	t1=$(cpu_ticks "$2")
	echo $((t1 - t0))
}

@test "busy-poll: an idle process blocked in epoll_wait, recv or poll uses no CPU" {
	need_nstack
	local helper="$BUILD/tests/helpers/posix_epoll" t pid
	[ -x "$helper" ] || fail "missing $helper (run: make $helper)"
	bg "$BATS_TEST_TMPDIR/nc1.log" $nsx timeout 30 nc -n -l "$KADDR" 7201
	bg "$BATS_TEST_TMPDIR/nc2.log" $nsx timeout 30 nc -n -l "$KADDR" 7202
	bg "$BATS_TEST_TMPDIR/nc3.log" $nsx timeout 30 nc -n -l "$KADDR" 7203
	wait_listen "$NS" 7203

	# epoll_wait (posix_epoll idle: an idle connection and a pipe in one set, 3 s)
	bg "$BATS_TEST_TMPDIR/ep.log" $nsx $BP $NSTACK "$helper" idle "$KADDR" 7201 3
	pid=$BG_PID
	t=$(idle_ticks "$BATS_TEST_TMPDIR/ep.log" "$pid")
	wait_pid "$pid" 10 || fail "idle client failed: $(cat "$BATS_TEST_TMPDIR/ep.log")"
	assert_log "$BATS_TEST_TMPDIR/ep.log" "idle wait: n=0"
	echo "# epoll_wait: $t ticks in 2 s (tick = 1/$(getconf CLK_TCK) s)" >&3
	# generous: 5 ticks = 50 ms of CPU in 2 s (2.5 %); spinning would use ~200
	((t <= 5)) || fail "blocked in epoll_wait with busy polling: $t ticks of CPU"

	# a blocking recv (nsock_wait)
	bg "$BATS_TEST_TMPDIR/recv.log" $nsx $BP $NSTACK python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
print("recv:", s.recv(1), flush=True)' "$KADDR" 7202
	pid=$BG_PID
	t=$(idle_ticks "$BATS_TEST_TMPDIR/recv.log" "$pid")
	alive=$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)
	kill "$pid" 2>/dev/null || true
	[ "$alive" = yes ] || fail "the recv client ended early: $(cat "$BATS_TEST_TMPDIR/recv.log")"
	echo "# recv: $t ticks in 2 s" >&3
	((t <= 5)) || fail "blocked in recv with busy polling: $t ticks of CPU"

	# poll with a timeout, in a loop (each call may spin once, for 50 us at most)
	bg "$BATS_TEST_TMPDIR/poll.log" $nsx $BP $NSTACK python3 -c '
import select, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
p = select.poll(); p.register(s, select.POLLIN)
print("ready", flush=True)
n = 0
while not p.poll(100):
    n += 1
print("poll: woke after", n, flush=True)' "$KADDR" 7203
	pid=$BG_PID
	t=$(idle_ticks "$BATS_TEST_TMPDIR/poll.log" "$pid")
	alive=$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)
	kill "$pid" 2>/dev/null || true
	[ "$alive" = yes ] || fail "the poll client ended early: $(cat "$BATS_TEST_TMPDIR/poll.log")"
	echo "# poll(100 ms) loop: $t ticks in 2 s" >&3
	((t <= 5)) || fail "poll loop with busy polling: $t ticks of CPU"
}

@test "busy-poll: a bad NSTACK_BUSY_POLL_US is one error line, the socket calls fail" {
	need_nstack
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo hello >"$BATS_TEST_TMPDIR/www/index.html"
	http_server "$BATS_TEST_TMPDIR/www"
	# the same request on a good configuration succeeds: the failure below is the value's
	run timeout 20 $nsx $BP $NSTACK curl -sS "http://$KADDR:8000/"
	assert_success
	assert_output hello
	local v
	for v in abc -5 2000000; do
		run --separate-stderr timeout 20 $nsx env NSTACK_IF=nst0 NSTACK_ADDR="$NADDR/24" \
			NSTACK_BUSY_POLL_US="$v" LD_PRELOAD="$BUILD/libnstack.so" curl -sS "http://$KADDR:8000/"
		assert_equal "$status" 7
		printf '%s\n' "$stderr" | grep '^nstack' | grep -q "NSTACK_BUSY_POLL_US=$v" ||
			fail "no error line naming NSTACK_BUSY_POLL_US=$v: $stderr"
	done
}

@test "busy-poll: threads, signals and epoll checks print the same as on the kernel" {
	# the helpers of posix_threads/posix_signals/posix_epoll.bats, on nstack's in-process
	# loopback with busy polling: close while blocked, EINTR/SA_RESTART, every epoll case
	local h port=7600 kout
	for h in posix_threads posix_signals "posix_epoll checks"; do
		port=$((port + 1))
		[ -x "$BUILD/tests/helpers/${h%% *}" ] || fail "missing $BUILD/tests/helpers/${h%% *}"
		ip -n "$NS" link set lo up
		run timeout 90 $nsx $BUILD/tests/helpers/$h 127.0.0.1 $port
		assert_success
		kout=$output
		need_nstack
		ip -n "$NS" link set lo down
		run timeout 90 $nsx $BP "$BUILD/nstack" run --if lo -- $BUILD/tests/helpers/$h 127.0.0.1 $port
		assert_success
		diff -u <(echo "$kout") <(echo "$output") || fail "$h: nstack with busy polling differs from the kernel (above)"
	done
}
