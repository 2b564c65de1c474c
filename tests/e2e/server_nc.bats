#!/usr/bin/env bats
# netcat-openbsd as the SERVER: `nc -l` under nstack (198.18.0.2 on the TAP) and, as the
# reference, `nc -l` on the kernel (NSK, 198.19.0.2), each serving the same kernel client in NS.
#   receive: server `nc -l PORT >recv`, client `nc -N ADDR PORT <file` (-N: shutdown(SHUT_WR)
#            at the end of the file; the server must see that EOF to exit, then the client ends)
#   send:    server `nc -N -l PORT <file`, client `nc ADDR PORT </dev/null >out`
# 20 MB each way, sha256 equal, every process exits 0, the server names the client's address.

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

# start_server WHO PORT LOG [nc args...]: nc -l in NSK (kernel) or under nstack in NS; waits
# until it listens; the server's address is left in SADDR, its PID in SPID.
start_server() {
	local who=$1 port=$2 log=$3; shift 3
	if [ "$who" = kernel ]; then
		SADDR=198.19.0.2
		bg "$log" sh -c "exec $ksx nc -n -v -l $port $*"
		SPID=$BG_PID
		wait_listen "$NSK" "$port"
	else
		need_nstack
		SADDR=$NADDR
		bg "$log" sh -c "exec $nsx $NSTACK nc -n -v -l $port $*"
		SPID=$BG_PID
		wait_nstack_listen "$port"
	fi
}

# receive WHO PORT: the server receives the file from the kernel client in NS.
receive() {
	local who=$1 port=$2
	local recv="$BATS_TEST_TMPDIR/recv-$who" log="$BATS_TEST_TMPDIR/server-$who.log"
	start_server "$who" "$port" "$log" ">'$recv'"
	local rx0
	rx0=$(tap_rx)
	run timeout 120 $nsx nc -N "$SADDR" "$port" <"$BATS_FILE_TMPDIR/file"
	assert_success
	local rc=0
	wait_pid "$SPID" 20 || rc=$?
	assert_equal "server exit $rc" "server exit 0"
	assert_log "$log" "Connection received on (198\.18\.0\.1|198\.19\.0\.1) "
	assert_equal "$(sha256 "$recv")" "$(sha256 "$BATS_FILE_TMPDIR/file")"
	[ "$who" = kernel ] || assert_tap_used "$rx0"
}

# send WHO PORT: the server sends the file to the kernel client in NS.
send() {
	local who=$1 port=$2
	local out="$BATS_TEST_TMPDIR/out-$who" log="$BATS_TEST_TMPDIR/server-$who.log"
	start_server "$who" "$port" "$log" -N "<'$BATS_FILE_TMPDIR/file'"
	run timeout 120 $nsx sh -c "exec nc $SADDR $port </dev/null >'$out'"
	assert_success
	local rc=0
	wait_pid "$SPID" 20 || rc=$?
	assert_equal "server exit $rc" "server exit 0"
	assert_log "$log" "Connection received on (198\.18\.0\.1|198\.19\.0\.1) "
	assert_equal "$(sha256 "$out")" "$(sha256 "$BATS_FILE_TMPDIR/file")"
}

@test "nc -l receives 20 MB and sees the client's half-close, kernel and nstack" {
	receive kernel 9100
	receive nstack 9101
}

@test "nc -l sends 20 MB to a kernel client, kernel and nstack" {
	send kernel 9110
	send nstack 9111
}
