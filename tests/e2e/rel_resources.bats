#!/usr/bin/env bats
# Resources at scale: 10 000 concurrent connections through nstack, both ways, every one
# established, checked with a one-byte echo and closed cleanly (no connection left on either
# side); the nstack process's RSS while it holds them is printed (idle connections hold no
# ring memory: ARCHITECTURE.md "Memory"). The same helper (tests/helpers/conn_hold.c) runs
# the kernel reference first with 2 000 connections through the kernel, so a lab that cannot
# hold connections shows up before nstack is blamed. And a slow reader: an nstack server
# writes 50 MB to a kernel client that reads nothing for 5 s: the server's peak RSS stays
# bounded (its send ring stays within its budget) and every byte arrives intact.
#
# Memory assertions, not timing ones; every wait is bounded.

bats_require_minimum_version 1.5.0
load lib

N=${REL_RES_CONNS:-10000}
PORT=7100

setup() {
	lab_setup
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	[ "$(ulimit -n)" -ge $((N + 200)) ] || skip "ulimit -n cannot reach $((N + 200))"
	HOLD=$BUILD/tests/helpers/conn_hold
	[ -x "$HOLD" ] || fail "missing $HOLD (run: make)"
}

teardown() {
	lab_teardown
}

# conns_left NETNS PORT: TCP connections of NETNS involving PORT other than listeners and
# TIME-WAIT (what a clean close leaves).
conns_left() {
	ip netns exec "$1" ss -tanH state all "( sport = :$2 or dport = :$2 )" 2>/dev/null |
		awk '$1 != "LISTEN" && $1 != "TIME-WAIT"' | wc -l
}

# wait_conns_gone NETNS PORT SECS
wait_conns_gone() {
	local i left
	for ((i = 0; i < $3 * 5; i++)); do
		left=$(conns_left "$1" "$2")
		[ "$left" -eq 0 ] && return 0
		sleep 0.2
	done
	echo "$left connections still open on port $2 in $1:" >&2
	ip netns exec "$1" ss -tanH state all "( sport = :$2 or dport = :$2 )" | awk '{print $1}' |
		sort | uniq -c >&2
	return 1
}

# nstack_conns PID: connections an nstack process still has (not listening, not TIME-WAIT),
# from `nstack ss -a`; -1 when it could not be asked. Its states go to fd 3.
nstack_conns() {
	local out
	out=$("$BUILD/nstack" ss -a -t -p "$1" 2>&1) && grep -q '^State' <<<"$out" || {
		echo "# nstack ss -a -p $1 failed: $out" >&3
		echo -1
		return
	}
	echo "# nstack ss -a: $(awk 'NR > 1 {print $1}' <<<"$out" | sort | uniq -c | tr -s ' \n' ' ')" >&3
	awk 'NR > 1 && $1 != "LISTEN" && $1 != "TIME-WAIT"' <<<"$out" | wc -l
}

@test "10000 connections from an nstack client to a kernel server: established, echoed, closed" {
	# kernel reference (fewer: it shows the helper and the lab work)
	bg "$BATS_TEST_TMPDIR/ksrv.log" $nsx "$HOLD" server $PORT 2000
	wait_listen "$NS" $PORT
	bg "$BATS_TEST_TMPDIR/kcli.log" $ksx "$HOLD" client "$KADDR" $PORT 2000
	local kcli=$BG_PID
	wait_file_grep "$BATS_TEST_TMPDIR/kcli.log" '^established 2000 echoed 2000' 600 ||
		fail "kernel client: $(cat "$BATS_TEST_TMPDIR/kcli.log")"
	kill -USR1 "$kcli"
	wait_file_grep "$BATS_TEST_TMPDIR/ksrv.log" '^closed 2000' 300 ||
		fail "kernel server: $(cat "$BATS_TEST_TMPDIR/ksrv.log")"
	kill "$kcli"
	wait_pid "$kcli" 10 || fail "kernel client failed: $(cat "$BATS_TEST_TMPDIR/kcli.log")"
	wait_conns_gone "$NS" $PORT 10 || fail "kernel reference left connections"

	need_nstack
	local port=$((PORT + 1)) rx0
	rx0=$(tap_rx)
	bg "$BATS_TEST_TMPDIR/srv.log" $nsx "$HOLD" server $port "$N"
	local srv=$BG_PID
	wait_listen "$NS" $port
	bg "$BATS_TEST_TMPDIR/cli.log" $nsx $NSTACK "$HOLD" client "$KADDR" $port "$N"
	local cli=$BG_PID
	wait_file_grep "$BATS_TEST_TMPDIR/cli.log" "^established $N echoed $N" 1500 ||
		fail "nstack client: $(tail -n 5 "$BATS_TEST_TMPDIR/cli.log"); server: $(cat "$BATS_TEST_TMPDIR/srv.log")"
	assert_tap_used "$rx0"
	local est
	est=$(ip netns exec "$NS" ss -tanH state established "( sport = :$port )" | wc -l)
	[ "$est" -eq "$N" ] || fail "the kernel server sees $est established connections, expected $N"
	local rss
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$cli/status")
	echo "# nstack client holding $N connections: VmRSS ${rss} kB ($((rss * 1024 / N)) bytes per connection, everything included)" >&3
	"$BUILD/nstack" stats -p "$cli" 2>/dev/null | grep -iE 'drop_rcvmem|snd_nomem' >&3 || true
	kill -USR1 "$cli"
	wait_file_grep "$BATS_TEST_TMPDIR/srv.log" "^closed $N" 900 ||
		fail "kernel server: $(cat "$BATS_TEST_TMPDIR/srv.log")"
	wait_conns_gone "$NS" $port 60 || fail "connections left on the kernel side"
	local left
	left=$(nstack_conns "$cli")
	[ "$left" -eq 0 ] || fail "nstack ss shows $left connections left: $("$BUILD/nstack" ss -p "$cli" | head)"
	kill "$cli"
	wait_pid "$cli" 30 || fail "nstack client failed: $(cat "$BATS_TEST_TMPDIR/cli.log")"
	wait_pid "$srv" 10 || true
}

@test "10000 connections from kernel clients to an nstack server: accepted, echoed, closed" {
	need_nstack
	bg "$BATS_TEST_TMPDIR/srv.log" $nsx $NSTACK "$HOLD" server $PORT "$N"
	local srv=$BG_PID
	wait_nstack_listen $PORT || fail "nstack server does not listen: $(cat "$BATS_TEST_TMPDIR/srv.log")"
	bg "$BATS_TEST_TMPDIR/cli.log" $nsx "$HOLD" client "$NADDR" $PORT "$N"
	local cli=$BG_PID
	wait_file_grep "$BATS_TEST_TMPDIR/cli.log" "^established $N echoed $N" 1500 ||
		fail "kernel client: $(tail -n 5 "$BATS_TEST_TMPDIR/cli.log"); server: $(cat "$BATS_TEST_TMPDIR/srv.log")"
	wait_file_grep "$BATS_TEST_TMPDIR/srv.log" "^held $N" 100 ||
		fail "nstack server: $(cat "$BATS_TEST_TMPDIR/srv.log")"
	local est rss
	est=$(ip netns exec "$NS" ss -tanH state established "( dport = :$PORT )" | wc -l)
	[ "$est" -eq "$N" ] || fail "the kernel clients have $est established connections, expected $N"
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$srv/status")
	echo "# nstack server holding $N accepted connections: VmRSS ${rss} kB ($((rss * 1024 / N)) bytes per connection, everything included)" >&3
	kill -USR1 "$cli"
	wait_file_grep "$BATS_TEST_TMPDIR/srv.log" "^closed $N" 900 ||
		fail "nstack server: $(cat "$BATS_TEST_TMPDIR/srv.log")"
	wait_conns_gone "$NS" $PORT 60 || fail "connections left on the kernel side"
	local left i
	for ((i = 0; i < 50; i++)); do
		left=$(nstack_conns "$srv")
		[ "$left" -eq 0 ] && break
		sleep 0.2
	done
	[ "$left" -eq 0 ] || fail "nstack ss shows $left connections left: $("$BUILD/nstack" ss -p "$srv" | head)"
	kill "$cli" "$srv"
	wait_pid "$cli" 10 || fail "kernel client failed: $(cat "$BATS_TEST_TMPDIR/cli.log")"
	wait_pid "$srv" 30 || fail "nstack server failed: $(cat "$BATS_TEST_TMPDIR/srv.log")"
}

@test "slow reader: an nstack server writing 50 MB to a client that waits 5 s stays under 64 MB RSS" {
	local bytes=$((50 * 1024 * 1024))
	need_nstack
	bg "$BATS_TEST_TMPDIR/srv.log" $nsx $NSTACK "$HOLD" bulkserve $PORT $bytes
	local srv=$BG_PID
	wait_nstack_listen $PORT || fail "nstack server does not listen: $(cat "$BATS_TEST_TMPDIR/srv.log")"
	run -0 timeout 120 $nsx "$HOLD" slowread "$NADDR" $PORT $bytes 5000
	assert_output "read $bytes ok"
	wait_pid "$srv" 30 || fail "nstack server failed: $(cat "$BATS_TEST_TMPDIR/srv.log")"
	local hwm
	hwm=$(sed -nE 's/^sent [0-9]+ hwm_kb ([0-9]+)$/\1/p' "$BATS_TEST_TMPDIR/srv.log")
	[ -n "$hwm" ] || fail "no peak RSS reported: $(cat "$BATS_TEST_TMPDIR/srv.log")"
	echo "# nstack server peak RSS while a reader stalled 5 s on 50 MB: ${hwm} kB" >&3
	[ "$hwm" -lt $((64 * 1024)) ] || fail "peak RSS ${hwm} kB >= 64 MB"
}
