#!/usr/bin/env bats
# SO_LINGER on a server's accepted socket (tests/helpers/server_linger.c), on the kernel (NSK,
# 198.19.0.2) and under nstack (198.18.0.2), with the same kernel client in NS, which starts
# reading only after 1 s. Both servers' outputs and the client's must be equal:
#   linger  {1, 10}: close returns 0 once the 200 KB are delivered; the client gets all, then EOF
#   timeout {1, 1}:  close returns 0 after the linger time although nothing was read
#   zero    {1, 0}:  close does not block; the client gets a reset

load lib

setup() {
	lab_setup
}

teardown() {
	lab_teardown
}

# client ADDR PORT: 4 KB receive buffer, connect, sleep 2.5 s, read to the end; prints bytes and how it ended
CLIENT='
import socket, sys, time
n = 0
try:
    # a small receive buffer and nothing read for longer than the 1 s linger time:
    # in "timeout" mode the data the server queued cannot drain before its close
    # meets the limit, whatever the two stacks buffer
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(20)
    s.connect((sys.argv[1], int(sys.argv[2])))
    time.sleep(2.5)
    while True:
        b = s.recv(65536)
        if not b:
            print("client: EOF"); break
        n += len(b)
except ConnectionResetError:
    print("client: reset")
except socket.timeout:
    print("client: timeout")
if sys.argv[3] == "linger":
    print("client: bytes", n)
'

# scenario WHO MODE PORT: output of server and client into $BATS_TEST_TMPDIR/WHO-MODE
scenario() {
	local who=$1 mode=$2 port=$3 saddr prog=$BUILD/tests/helpers/server_linger
	local out=$BATS_TEST_TMPDIR/$who-$mode
	if [ "$who" = kernel ]; then
		saddr=198.19.0.2
		bg "$out-server.log" $ksx "$prog" "$mode" "$port"
		local spid=$BG_PID
		wait_listen "$NSK" "$port"
	else
		need_nstack
		saddr=$NADDR
		bg "$out-server.log" $nsx $NSTACK "$prog" "$mode" "$port"
		local spid=$BG_PID
		wait_nstack_listen "$port"
	fi
	timeout 30 $nsx python3 -c "$CLIENT" "$saddr" "$port" "$mode" >"$out-client.log" 2>&1 || true
	local rc=0
	wait_pid "$spid" 20 || rc=$?
	echo "server exit $rc" >>"$out-server.log"
	cat "$out-server.log" "$out-client.log" >"$out"
}

@test "SO_LINGER 10 s, 1 s and 0 on an accepted socket behave as on the kernel" {
	[ -x "$BUILD/tests/helpers/server_linger" ] || fail "missing $BUILD/tests/helpers/server_linger (run: make)"
	local mode port=9300
	for mode in linger timeout zero; do
		scenario kernel $mode $port
		scenario nstack $mode $((port + 1))
		port=$((port + 2))
	done
	run cat "$BATS_TEST_TMPDIR/kernel-linger"
	assert_line "close: 0"
	assert_line "write+close took >= 0.8 s: yes"
	assert_line "client: EOF"
	assert_line "client: bytes 204800"
	run cat "$BATS_TEST_TMPDIR/kernel-timeout"
	assert_line "close blocked for the linger time: yes"
	run cat "$BATS_TEST_TMPDIR/kernel-zero"
	assert_line "client: reset"
	for mode in linger timeout zero; do
		run diff -u "$BATS_TEST_TMPDIR/kernel-$mode" "$BATS_TEST_TMPDIR/nstack-$mode"
		assert_success
	done
}
