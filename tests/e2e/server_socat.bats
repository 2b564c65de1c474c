#!/usr/bin/env bats
# socat TCP-LISTEN (one connection, no fork) as the SERVER under nstack (198.18.0.2) and, as the
# reference, on the kernel (NSK, 198.19.0.2). The kernel client in NS and the server exchange
# 5 MB each way at once (STDIO both ends; -t 30: after one direction ends, wait for the other);
# both sides' bytes are checked and both exit 0.

load lib

setup_file() {
	mkfile "$BATS_FILE_TMPDIR/a" 5
	mkfile "$BATS_FILE_TMPDIR/b" 5
}

setup() {
	lab_setup socat
}

teardown() {
	lab_teardown
}

# exchange WHO PORT
exchange() {
	local who=$1 port=$2 saddr d=$BATS_TEST_TMPDIR f=$BATS_FILE_TMPDIR
	local srv="socat -t 30 TCP-LISTEN:$port,reuseaddr STDIO <'$f/a' >'$d/srv-got-$who'"
	if [ "$who" = kernel ]; then
		saddr=198.19.0.2
		bg "$d/socat-$who.log" sh -c "exec $ksx sh -c \"$srv\""
		local spid=$BG_PID
		wait_listen "$NSK" "$port"
	else
		need_nstack
		saddr=$NADDR
		bg "$d/socat-$who.log" sh -c "exec $nsx $NSTACK sh -c \"$srv\""
		local spid=$BG_PID
		wait_nstack_listen "$port"
	fi
	run timeout 60 $nsx sh -c "exec socat -t 30 STDIO TCP:$saddr:$port <'$f/b' >'$d/cli-got-$who'"
	assert_success
	local rc=0
	wait_pid "$spid" 30 || rc=$?
	assert_equal "server exit $rc" "server exit 0"
	assert_equal "$(sha256 "$d/srv-got-$who")" "$(sha256 "$f/b")"
	assert_equal "$(sha256 "$d/cli-got-$who")" "$(sha256 "$f/a")"
}

@test "socat TCP-LISTEN exchanges 5 MB each way with a kernel client, kernel and nstack" {
	exchange kernel 9200
	exchange nstack 9201
}
