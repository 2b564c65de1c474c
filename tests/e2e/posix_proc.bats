#!/usr/bin/env bats
# fork, exec and exit with nstack sockets open, compared with the kernel, against a kernel
# echo peer in NS (tests/e2e/posix_peer.py, which logs one line per connection as it ends):
#   - fork: the child's inherited copy is close-only; closing it does not end the parent's
#     connection on the wire (the peer gets "before|after|" and a clean EOF);
#   - FD_CLOEXEC (SOCK_CLOEXEC, F_SETFD) is honoured across exec;
#   - exit(0) with threads blocked in recv ends at once and ends every connection on the wire;
#   - a preloaded shell pipeline: sh forks, the programs it execs are preloaded again and
#     the one that talks to the network does so through nstack.
# Kernel runs are made from NSK (198.19.0.2), nstack runs from NS on the TAP.

load lib

setup() {
	lab_setup
	PROG="$BUILD/tests/helpers/posix_proc"
	[ -x "$PROG" ] || fail "missing $PROG (run: make $PROG)"
	PEERLOG="$BATS_TEST_TMPDIR/peer.log"
	bg "$PEERLOG" $nsx python3 "$BATS_TEST_DIRNAME/posix_peer.py" "$KADDR" 7600
	wait_file_grep "$PEERLOG" '^listening$'
}

teardown() {
	lab_teardown
}

@test "fork: the child's close of an inherited socket leaves the parent's connection alone" {
	run timeout 20 $ksx "$PROG" fork "$KADDR" 7600
	assert_success
	local kout=$output
	assert_line "echo: 'before|after|'"
	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 20 $nsx $NSTACK "$PROG" fork "$KADDR" 7600
	assert_success
	assert_equal "$output" "$kout"
	assert_tap_used "$rx0"
	wait_file_grep "$PEERLOG" '^conn 2:'
	assert_equal "$(grep -c "13 bytes 'before|after|' end=eof" "$PEERLOG")" 2
}

@test "FD_CLOEXEC and SOCK_CLOEXEC are honoured across exec" {
	run timeout 20 $nsx "$PROG" cloexec
	assert_success
	local kout=$output
	assert_line "after exec, fd with no cloexec: open"
	assert_line "after exec, fd with SOCK_CLOEXEC: closed"
	need_nstack
	run timeout 20 $nsx $NSTACK "$PROG" cloexec
	assert_success
	assert_equal "$output" "$kout"
}

# threads_exit WHO PREFIX...: 3 connections with a thread blocked on each, then exit(0)
threads_exit() {
	local who=$1; shift
	local before t0 t1
	before=$(grep -c "thread" "$PEERLOG" || true)
	t0=$(date +%s%N)
	run timeout 10 "$@" "$PROG" threads-exit "$KADDR" 7600 3
	t1=$(date +%s%N)
	assert_success
	assert_output "exiting with 3 threads blocked in recv"
	local ms=$(((t1 - t0) / 1000000))
	echo "# $who: exit with 3 threads blocked took $ms ms" >&3
	((ms < 3000)) || fail "$who: exit took $ms ms"
	local i n
	for ((i = 0; i < 30; i++)); do
		n=$(grep -cE "'thread [0-9]\|' end=(eof|reset)" "$PEERLOG" || true)
		((n >= before + 3)) && break
		sleep 0.1
	done
	((n >= before + 3)) || fail "$who: the peer saw $((n - before)) of 3 connections end: $(cat "$PEERLOG")"
}

@test "exit with threads blocked in recv ends every connection on the wire, never hangs" {
	threads_exit kernel $ksx
	need_nstack
	local rx0
	rx0=$(tap_rx)
	threads_exit nstack $nsx $NSTACK
	assert_tap_used "$rx0"
}

@test "a preloaded shell pipeline keeps working" {
	mkfile "$BATS_TEST_TMPDIR/file" 2
	local want
	want=$(sha256 "$BATS_TEST_TMPDIR/file")
	http_server "$BATS_TEST_TMPDIR" 8000 "$KADDR"
	# (the pause: the TAP is released asynchronously after curl's process exits, with its
	# io_uring, and a new stack opening it at once may find it busy; see the shim)
	local script="curl -s http://$KADDR:8000/file | sha256sum | cut -d' ' -f1; sleep 0.5; printf 'via nc|' | nc -N $KADDR 7600; echo; echo rc=\$?"
	run timeout 60 $ksx sh -c "$script"
	assert_success
	local kout=$output
	assert_line "$want"
	assert_line "via nc|"
	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 60 $nsx $NSTACK sh -c "$script"
	assert_success
	assert_equal "$output" "$kout"
	assert_tap_used "$rx0"
	assert_log "$BATS_TEST_TMPDIR/http-8000.log" "$NADDR"
}
