#!/usr/bin/env bats
# UDP with netcat-openbsd, both ways, kernel and nstack:
#   send:    `nc -u ADDR PORT <file` (each read of stdin, up to 16 KB, is one datagram, so the
#            larger ones cross fragmented) to a kernel receiver in NS that counts datagrams,
#            bytes and hashes them; the receiver's line must be the same for both senders.
#   receive: `nc -u -l -W 20 ADDR PORT >out` (MSG_PEEK, then connect() to the first sender,
#            as openbsd nc does) gets 20 datagrams of 1000 bytes from a kernel sender; out
#            must be the same bytes for both.

load lib

TOOL="python3 $ROOT/tests/helpers/udp_tool.py"

setup_file() {
	head -c 50000 /dev/urandom >"$BATS_FILE_TMPDIR/file"
}

setup() {
	lab_setup
}

teardown() {
	lab_teardown
}

# nc_send WHO PORT CLIENT-PREFIX...: kernel receiver in NS on 198.18.0.1:PORT; prints its line.
nc_send() {
	local who=$1 port=$2; shift 2
	local log="$BATS_TEST_TMPDIR/recv-$who.log"
	bg "$log" $nsx $TOOL recv "$KADDR" "$port"
	local rpid=$BG_PID
	wait_file_grep "$log" "^bound"
	run timeout 20 "$@" nc -u -q 1 "$KADDR" "$port" <"$BATS_FILE_TMPDIR/file"
	assert_success
	wait_pid "$rpid" 30
	grep datagrams "$log"
}

@test "nc -u sends datagrams (some fragmented) intact and in count, kernel and nstack" {
	local kline nline
	kline=$(nc_send kernel 9100 $ksx)
	[[ "$kline" == "4 datagrams 50000 bytes "* ]] || fail "kernel reference: '$kline'"
	need_nstack
	local rx0
	rx0=$(tap_rx)
	nline=$(nc_send nstack 9101 $nsx $NSTACK)
	assert_tap_used "$rx0"
	assert_equal "$nline" "$kline"
}

# nc_recv WHO ADDR PORT SENDER_PREFIX NC_PREFIX...: nc -u -l on ADDR:PORT gets 20 datagrams.
nc_recv() {
	local who=$1 addr=$2 port=$3 sender=$4; shift 4
	local out="$BATS_TEST_TMPDIR/out-$who"
	bg "$BATS_TEST_TMPDIR/nc-$who.log" sh -c "exec $* nc -u -l -d -W 20 $addr $port >'$out'"
	local npid=$BG_PID
	sleep 1 # nc binds at once; no portable way to see a UDP bind from outside an nstack process
	run timeout 20 $sender $TOOL send "$addr" "$port" 20 1000
	assert_success
	local rc=0
	wait_pid "$npid" 20 || rc=$?
	assert_equal "nc exit $rc" "nc exit 0"
	sha256 "$out"
}

@test "nc -u -l receives 20 datagrams intact, kernel and nstack" {
	local ksum nsum
	ksum=$(nc_recv kernel 198.19.0.2 9110 "$nsx" "$ksx")
	local want
	want=$(python3 -c 'import sys; sys.stdout.buffer.write(b"".join(bytes([i % 256]) * 1000 for i in range(20)))' | sha256sum | awk '{print $1}')
	assert_equal "$ksum" "$want"
	need_nstack
	nsum=$(nc_recv nstack "$NADDR" 9111 "$nsx" "$nsx $NSTACK")
	assert_equal "$nsum" "$ksum"
}
