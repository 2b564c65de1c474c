#!/usr/bin/env bats
# The socket call surface under nstack equals the kernel's, line for line:
# tests/helpers/posix_calls.c exercises readv/writev, sendmsg/recvmsg (msg_name, control,
# flags out), sendmmsg/recvmmsg, sendfile (with and without an offset), splice (socket to
# pipe, pipe to socket, error paths), MSG_PEEK,
# MSG_DONTWAIT, MSG_WAITALL, MSG_TRUNC, MSG_NOSIGNAL, MSG_MORE, SIGPIPE, FIONREAD, SIOCINQ,
# SIOCOUTQ, SIOCOUTQNSQ, FIONBIO, fcntl F_GETFL/F_SETFL/F_DUPFD/F_DUPFD_CLOEXEC, dup/dup2/dup3,
# SO_RCVTIMEO/SO_SNDTIMEO, SO_TYPE/DOMAIN/PROTOCOL/ACCEPTCONN/RCVLOWAT, TCP_INFO, TCP_MAXSEG,
# TCP_NODELAY, TCP_CORK, TCP_QUICKACK, TCP_USER_TIMEOUT, TCP_CONGESTION, and the error paths
# (EBADF, ENOTSOCK, EFAULT, EINVAL, ENOPROTOOPT, ENOTCONN, EISCONN, EPIPE ...), with a
# listener, a client and the accepted socket in one process.
#
# Kernel run: 127.0.0.1 on the lab namespace's lo. nstack run: --if lo (the in-process
# loopback) with the namespace's lo down, so a program that silently used the kernel could
# not even connect.

load lib

setup() {
	lab_setup
	PROG="$BUILD/tests/helpers/posix_calls"
	[ -x "$PROG" ] || fail "missing $PROG (run: make $PROG)"
}

teardown() {
	lab_teardown
}

@test "posix_calls: every call and error path prints the same under nstack as on the kernel" {
	run timeout 60 $nsx "$PROG" 127.0.0.1 7301
	assert_success
	echo "$output" >"$BATS_TEST_TMPDIR/kernel.out"
	# the reference really ran to the end and shows the behaviours
	assert_line "recvmmsg data: '12' '34' len 2 2"
	assert_line "send after SHUT_WR: r=-1 e=EPIPE"
	assert_line "SIGPIPEs: 1"
	assert_line "close twice: r=-1 e=EBADF"
	need_nstack
	ip -n "$NS" link set lo down
	run timeout 60 $nsx "$BUILD/nstack" run --if lo -- "$PROG" 127.0.0.1 7301
	echo "$output" >"$BATS_TEST_TMPDIR/nstack.out"
	assert_success
	run diff -u "$BATS_TEST_TMPDIR/kernel.out" "$BATS_TEST_TMPDIR/nstack.out"
	assert_success
}
