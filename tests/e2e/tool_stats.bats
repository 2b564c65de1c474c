#!/usr/bin/env bats
# `nstack stats` reads a running process's counters over its control socket, like nstat:
# across an upload the segments-out counter moves by at least the number of segments the
# data needs, and under `--impair loss=0.05` the forced losses show up as retransmissions
# (tcp_retrans) and as impair_tx_lost, while the bytes still arrive intact. The kernel
# reference is nstat in the kernel client's namespace for the same upload.

bats_require_minimum_version 1.5.0
load lib

setup_file() {
	mkfile "$BATS_FILE_TMPDIR/file" 2
}

setup() {
	lab_setup
}

teardown() {
	exec 7>&- 2>/dev/null || true
	lab_teardown
}

# counter JSON NAME: the value of counter NAME of the one process in a `stats --json` reply
# (empty if absent).
counter() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); c=d["processes"][0]["counters"]; print(c.get(sys.argv[2], ""))' "$1" "$2"
}

# upload PORT [RUN OPTIONS...]: an nstack nc client uploads the file to a kernel nc server
# through a fifo held open by the test, so the client is still running (and answering on its
# control socket) after the data has arrived. Sets PID, S1 and S2 (stats --json before and
# after the data).
upload() {
	local port=$1 i
	shift
	local fifo=$BATS_TEST_TMPDIR/in.fifo recv=$BATS_TEST_TMPDIR/recv-$port
	bg "$BATS_TEST_TMPDIR/server-$port.log" sh -c "exec $nsx nc -n -l $KADDR $port >'$recv'"
	wait_listen "$NS" "$port"
	mkfifo "$fifo"
	exec 7<>"$fifo" # a writer that stays open: the client sees EOF only when we close it
	$nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" "$@" -- nc -n -N "$KADDR" "$port" \
		<"$fifo" >"$BATS_TEST_TMPDIR/client-$port.log" 2>&1 3>&- 7>&- &
	PID=$!
	LAB_PIDS+=("$PID")
	for ((i = 0; i < 50; i++)); do
		"$BUILD/nstack" ss -H -p "$PID" 2>/dev/null | grep -q "^ESTAB .*$KADDR:$port" && break
		sleep 0.1
	done
	S1=$("$BUILD/nstack" stats --json -p "$PID")
	cat "$BATS_FILE_TMPDIR/file" >&7
	local want
	want=$(stat -c %s "$BATS_FILE_TMPDIR/file")
	for ((i = 0; i < 300; i++)); do
		[ "$(stat -c %s "$recv" 2>/dev/null || echo 0)" = "$want" ] && break
		sleep 0.1
	done
	S2=$("$BUILD/nstack" stats --json -p "$PID")
	exec 7>&-
	wait_pid "$PID" 30 || fail "nc on nstack failed: $(cat "$BATS_TEST_TMPDIR/client-$port.log")"
	assert_equal "$(sha256 "$recv")" "$(sha256 "$BATS_FILE_TMPDIR/file")"
}

@test "stats: segments out move across an upload (kernel: nstat)" {
	# kernel reference
	local before after
	bg "$BATS_TEST_TMPDIR/kserver.log" sh -c "exec $nsx nc -n -l $KADDR 9100 >'$BATS_TEST_TMPDIR/krecv'"
	wait_listen "$NS" 9100
	before=$($ksx nstat -asz TcpOutSegs | awk '/TcpOutSegs/ {print $2}')
	run timeout 30 $ksx nc -n -N "$KADDR" 9100 <"$BATS_FILE_TMPDIR/file"
	assert_success
	after=$($ksx nstat -asz TcpOutSegs | awk '/TcpOutSegs/ {print $2}')
	((after - before >= 1000)) || fail "kernel TcpOutSegs moved by $((after - before)) only"

	need_nstack
	upload 9101
	local tx1 tx2 b1 b2
	tx1=$(counter "$S1" tcp_tx) tx2=$(counter "$S2" tcp_tx)
	b1=$(counter "$S1" dev_tx_bytes) b2=$(counter "$S2" dev_tx_bytes)
	[ -n "$tx1" ] && [ -n "$tx2" ] || fail "no tcp_tx in stats --json: $S1"
	# 2 MB in segments of at most 1460 bytes: at least 1436 segments
	((tx2 - tx1 >= 1436)) || fail "tcp_tx moved by $((tx2 - tx1)) (from $tx1 to $tx2)"
	((b2 - b1 >= 2 * 1024 * 1024)) || fail "dev_tx_bytes moved by $((b2 - b1))"
	assert_equal "$(counter "$S2" tcp_drop_csum)" 0
	assert_equal "$(counter "$S2" impair_tx_lost)" "" # no impairment device without --impair
}

@test "stats: --impair loss=0.05 forces retransmissions that tcp_retrans counts" {
	need_nstack
	upload 9102 --impair loss=0.05,seed=7
	local r1 r2 lost
	r1=$(counter "$S1" tcp_retrans) r2=$(counter "$S2" tcp_retrans)
	lost=$(counter "$S2" impair_tx_lost)
	((lost > 0)) || fail "impair_tx_lost is '$lost': no frame was lost"
	((r2 > r1)) || fail "tcp_retrans did not move ($r1 -> $r2) although $lost frames were lost"
	((r2 >= lost / 2)) || fail "tcp_retrans $r2 for $lost lost frames"
}

@test "stats text layout, -p errors, --impair and usage errors" {
	need_nstack
	bg "$BATS_TEST_TMPDIR/nc-l.log" $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" -- nc -l "$NADDR" 7777
	local pid=$BG_PID i
	for ((i = 0; i < 50; i++)); do
		[ -e "${NSTACK_RUNDIR:-/run/nstack}/$pid.sock" ] && break
		sleep 0.1
	done
	run $nsx ping -c 2 -W 2 "$NADDR"
	assert_success
	run "$BUILD/nstack" stats -p "$pid"
	assert_success
	assert_line --index 0 "#pid $pid nc"
	assert_line --regexp '^icmp_echo_tx +[1-9][0-9]* +ICMP echo replies sent$'
	assert_line --regexp '^arp_reply_tx +[1-9][0-9]* +ARP replies sent$'
	refute_line --regexp '^tcp_drop_csum ' # zero counters only with -a
	run "$BUILD/nstack" stats -a -p "$pid"
	assert_line --regexp '^tcp_drop_csum +0 +TCP checksum errors$'
	kill "$pid"

	run "$BUILD/nstack" stats -p 999999999
	assert_failure
	run "$BUILD/nstack" stats --bogus
	assert_failure 2
	run "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --impair loss=2 -- true
	assert_failure 2
	assert_output --partial "bad item 'loss=2'"
	run "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --impair color=blue -- true
	assert_failure 2
	# the library checks NSTACK_IMPAIR too (set by hand, without the launcher)
	run timeout 10 $nsx env LD_PRELOAD="$BUILD/libnstack.so" NSTACK_IF=nst0 NSTACK_ADDR="$NADDR/24" \
		NSTACK_IMPAIR=loss=x curl -sS --max-time 3 "http://$KADDR:1/"
	assert_failure
	assert_output --partial "NSTACK_IMPAIR"
}
