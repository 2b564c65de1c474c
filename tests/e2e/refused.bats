#!/usr/bin/env bats
# A connection to a closed port is refused the same way through nstack as through the kernel:
# curl exits 7, and connect() fails with ECONNREFUSED.

load lib

setup() {
	lab_setup
}

teardown() {
	lab_teardown
}

@test "curl to a closed port exits 7, kernel and nstack" {
	run timeout 20 $ksx curl -sS "http://$KADDR:9/"
	local kstatus=$status
	assert_equal "$kstatus" 7

	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 20 $nsx $NSTACK curl -sS "http://$KADDR:9/"
	assert_equal "$status" "$kstatus"
	assert_tap_used "$rx0"
}

@test "connect() to a closed port fails with ECONNREFUSED, kernel and nstack" {
	local py='
import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.connect((sys.argv[1], 9))
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
'
	run timeout 20 $ksx python3 -c "$py" "$KADDR"
	assert_success
	assert_output ECONNREFUSED
	local kout=$output

	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 20 $nsx $NSTACK python3 -c "$py" "$KADDR"
	assert_tap_used "$rx0"
	assert_success
	assert_output "$kout"
}
