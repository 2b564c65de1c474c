#!/usr/bin/env bats
# epoll under nstack behaves as on the kernel, and a process blocked in epoll_wait sleeps.
#
#   checks: tests/helpers/posix_epoll.c prints one line per epoll behaviour (epoll_ctl errnos,
#           level and edge triggered, an edge on every arrival, ONESHOT, RDHUP/HUP, one
#           socket in two sets, the epoll fd in poll and select, a pipe and a socket in one
#           set, timeouts, EINTR, close of the last fd). It runs once on the kernel (lo of
#           the lab namespace) and once under nstack with --if lo (the in-process loopback);
#           the outputs must be equal line for line. For the nstack run the namespace's lo is
#           down, so a program that silently used the kernel could not connect at all.
#   idle:   a client blocked in epoll_wait (an idle connection to a kernel nc + a pipe) for
#           3 s; its CPU time (utime+stime of all its threads, /proc/PID/stat) over 2 s must
#           stay near 0, on the kernel and under nstack over the TAP.

load lib

setup() {
	lab_setup
	HELPER="$BUILD/tests/helpers/posix_epoll"
	[ -x "$HELPER" ] || fail "missing $HELPER (run: make $HELPER)"
}

teardown() {
	lab_teardown
}

@test "epoll: every check prints the same under nstack as on the kernel" {
	run timeout 60 $nsx "$HELPER" checks 127.0.0.1 7001
	assert_success
	local kout=$output
	# the kernel's answer is the reference: it must show the behaviours, not just run
	assert_line "et second arrival: n=1 [data=33 ev=0x1]"
	assert_line "wait interrupted: r=-1 e=EINTR"
	need_nstack
	ip -n "$NS" link set lo down
	run timeout 60 $nsx "$BUILD/nstack" run --if lo -- "$HELPER" checks 127.0.0.1 7001
	assert_success
	diff -u <(echo "$kout") <(echo "$output") || fail "nstack output differs from the kernel's (above)"
}

# cpu_ticks PID: utime+stime of the whole process, in clock ticks.
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# idle_cpu WHO PORT PREFIX...: run the idle client, print its CPU ticks over 2 s.
idle_cpu() {
	local who=$1 port=$2; shift 2
	bg "$BATS_TEST_TMPDIR/nc-$who.log" $nsx timeout 20 nc -n -l "$KADDR" "$port"
	wait_listen "$NS" "$port"
	local log="$BATS_TEST_TMPDIR/idle-$who.log"
	bg "$log" "$@" "$HELPER" idle "$KADDR" "$port" 3
	local pid=$BG_PID
	wait_file_grep "$log" '^ready$' || fail "idle client did not start: $(cat "$log")"
	[ "$(cat "/proc/$pid/comm")" = posix_epoll ] || fail "pid $pid is $(cat "/proc/$pid/comm"), not the client"
	local t0 t1
	t0=$(cpu_ticks "$pid")
	sleep 2
	t1=$(cpu_ticks "$pid")
	wait_pid "$pid" 10 || fail "idle client failed: $(cat "$log")"
	assert_log "$log" "idle wait: n=0"
	echo "# $who: $((t1 - t0)) ticks of CPU in 2 s blocked in epoll_wait (tick = 1/$(getconf CLK_TCK) s)" >&3
	IDLE_TICKS=$((t1 - t0))
}

@test "epoll: a process blocked in epoll_wait uses no CPU, kernel and nstack" {
	idle_cpu kernel 7101 $ksx
	((IDLE_TICKS <= 5)) || fail "kernel client used $IDLE_TICKS ticks"
	need_nstack
	local rx0
	rx0=$(tap_rx)
	idle_cpu nstack 7102 $nsx $NSTACK
	assert_tap_used "$rx0"
	# generous: 5 ticks = 50 ms of CPU in 2 s (2.5 %); a busy loop would use ~200
	((IDLE_TICKS <= 5)) || fail "nstack client used $IDLE_TICKS ticks of CPU while idle"
}

@test "epoll: a socket added before connect follows its hand-off to the kernel" {
	# 127.0.0.1 beside the TAP is not nstack's: connect hands the socket to the kernel
	bg "$BATS_TEST_TMPDIR/peer.log" $nsx python3 "$BATS_TEST_DIRNAME/posix_peer.py" 127.0.0.1 7700
	wait_file_grep "$BATS_TEST_TMPDIR/peer.log" '^listening$'
	run timeout 20 $nsx "$HELPER" handoff 127.0.0.1 7700
	assert_success
	local kout=$output
	assert_line "handoff echo: 'hello'"
	need_nstack
	local log="$BATS_TEST_TMPDIR/nstack-stderr.log"
	run timeout 20 bash -c "exec $nsx env NSTACK_LOG=debug $NSTACK '$HELPER' handoff 127.0.0.1 7700 2>'$log'"
	assert_success
	assert_equal "$output" "$kout"
	# it really was an nstack socket first
	assert_log "$log" "handed to the kernel"
}
