#!/usr/bin/env bats
# With nstack configured, what nstack does not serve still goes to the kernel untouched:
# a connection to 127.0.0.1 (a kernel http.server on the netns loopback) and AF_UNIX sockets.
# Output is compared with the same command run without nstack.

load lib

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	mkfile "$BATS_FILE_TMPDIR/www/file" 2
}

setup() {
	lab_setup
}

teardown() {
	lab_teardown
}

@test "connection to 127.0.0.1 goes through the kernel, kernel and nstack" {
	http_server "$BATS_FILE_TMPDIR/www" 8080 127.0.0.1
	local want url=http://127.0.0.1:8080/file
	want=$(sha256 "$BATS_FILE_TMPDIR/www/file")

	run timeout 30 $nsx curl -sS -o "$BATS_TEST_TMPDIR/kernel.out" "$url"
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/kernel.out")" "$want"

	need_nstack
	run timeout 30 $nsx $NSTACK curl -sS -o "$BATS_TEST_TMPDIR/nstack.out" "$url"
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack.out")" "$want"
	assert_equal "$(grep -c '^127\.0\.0\.1 .*"GET /file' "$BATS_TEST_TMPDIR/http-8080.log")" 2
}

@test "AF_UNIX sockets are untouched, kernel and nstack" {
	# An AF_INET connection attempt first (refused, port 9), so the stack is live in the process
	# and has used the TAP; then AF_UNIX traffic.
	local py='
import errno, os, socket, sys
i = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("inet", errno.errorcode.get(i.connect_ex((sys.argv[2], 9)), "?"))
a, b = socket.socketpair()
a.sendall(b"ping")
print("socketpair", b.recv(4).decode())
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(path)
s, _ = srv.accept()
c.sendall(b"hello")
print("unix stream", s.recv(5).decode())
d1, d2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
d1.send(b"dgram")
print("unix dgram", d2.recv(5).decode())
i.close()
'
	run timeout 20 $nsx python3 -c "$py" "$BATS_TEST_TMPDIR/k.sock" "$KADDR"
	assert_success
	assert_line "inet ECONNREFUSED"
	assert_line "unix stream hello"
	local kout=$output

	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 20 $nsx $NSTACK python3 -c "$py" "$BATS_TEST_TMPDIR/n.sock" "$KADDR"
	assert_success
	assert_output "$kout"
	assert_tap_used "$rx0"
}
