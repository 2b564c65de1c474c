#!/usr/bin/env bats
# netcat-openbsd moves 20 MB each way between a kernel `nc -l` in NS and a client run through
# the kernel (from NSK) and through nstack. Both transfers arrive intact and everything exits 0;
# the server's -v line shows which address connected (NSK's, or the stack's on the TAP).
#   upload:   server `nc -l ADDR PORT >recv`    client `nc -N ADDR PORT <file`
#             (-N: shutdown(SHUT_WR) at EOF on stdin; the server then sees EOF and exits, and
#             its close ends the client)
#   download: server `nc -N -l ADDR PORT <file` client `nc ADDR PORT </dev/null >out`
#             (the server shuts down after the file; the client exits at EOF from the network)

load lib

setup_file() {
	mkfile "$BATS_FILE_TMPDIR/file" 20
}

setup() {
	lab_setup
}

teardown() {
	lab_teardown
}

# upload WHO PORT CLIENT-PREFIX...: kernel server receives, client sends; checks both ends.
upload() {
	local who=$1 port=$2 client=198.19.0.2; shift 2
	[ "$who" = nstack ] && client=$NADDR
	local recv="$BATS_TEST_TMPDIR/recv-$who"
	bg "$BATS_TEST_TMPDIR/server-$who.log" sh -c "exec $nsx nc -n -v -l $KADDR $port >'$recv'"
	local spid=$BG_PID
	wait_listen "$NS" "$port"
	run timeout 120 "$@" nc -N "$KADDR" "$port" <"$BATS_FILE_TMPDIR/file"
	assert_success
	local rc=0
	wait_pid "$spid" 20 || rc=$?
	assert_equal "server exit $rc" "server exit 0"
	assert_log "$BATS_TEST_TMPDIR/server-$who.log" "Connection received on $client "
	assert_equal "$(sha256 "$recv")" "$(sha256 "$BATS_FILE_TMPDIR/file")"
}

# download WHO PORT CLIENT-PREFIX...: kernel server sends, client receives; checks both ends.
download() {
	local who=$1 port=$2 client=198.19.0.2; shift 2
	[ "$who" = nstack ] && client=$NADDR
	local out="$BATS_TEST_TMPDIR/out-$who"
	bg_in "$BATS_TEST_TMPDIR/server-$who.log" "$BATS_FILE_TMPDIR/file" $nsx nc -n -v -N -l "$KADDR" "$port"
	local spid=$BG_PID
	wait_listen "$NS" "$port"
	run timeout 120 "$@" sh -c "exec nc $KADDR $port </dev/null >'$out'"
	assert_success
	local rc=0
	wait_pid "$spid" 20 || rc=$?
	assert_equal "server exit $rc" "server exit 0"
	assert_log "$BATS_TEST_TMPDIR/server-$who.log" "Connection received on $client "
	assert_equal "$(sha256 "$out")" "$(sha256 "$BATS_FILE_TMPDIR/file")"
}

@test "nc sends 20 MB to a kernel nc -l, kernel and nstack" {
	upload kernel 9000 $ksx
	need_nstack
	upload nstack 9001 $nsx $NSTACK
}

@test "nc receives 20 MB from a kernel nc -l, kernel and nstack" {
	download kernel 9010 $ksx
	need_nstack
	download nstack 9011 $nsx $NSTACK
}
