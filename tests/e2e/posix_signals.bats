#!/usr/bin/env bats
# Signals during blocking calls under nstack behave as on the kernel, line for line
# (tests/helpers/posix_signals.c): recv, accept and send return EINTR without SA_RESTART and
# restart with it (unless the socket has a timeout); poll, select, ppoll and epoll_wait
# always return EINTR. Kernel: 127.0.0.1 on the lab namespace's lo; nstack: --if lo with the
# namespace's lo down (a program that silently used the kernel could not connect).

load lib

setup() {
	lab_setup
	PROG="$BUILD/tests/helpers/posix_signals"
	[ -x "$PROG" ] || fail "missing $PROG (run: make $PROG)"
}

teardown() {
	lab_teardown
}

@test "signals: EINTR and SA_RESTART as on the kernel" {
	run timeout 60 $nsx "$PROG" 127.0.0.1 7401
	assert_success
	local kout=$output
	assert_line "recv, no SA_RESTART: r=-1 e=EINTR signals=1"
	assert_line "recv, SA_RESTART: restarted, gets the late data: r=4 e=0 signals=1"
	assert_line "done"
	need_nstack
	ip -n "$NS" link set lo down
	run timeout 60 $nsx "$BUILD/nstack" run --if lo -- "$PROG" 127.0.0.1 7401
	assert_success
	diff -u <(echo "$kout") <(echo "$output") || fail "nstack output differs from the kernel's (above)"
}
