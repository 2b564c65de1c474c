#!/usr/bin/env bats
# iperf3 (select, blocking and non-blocking sockets, TCP_INFO, TCP_CONGESTION queries) on
# nstack, compared with the kernel; 5 s each way:
#   - iperf3 -c under nstack to a kernel iperf3 -s;
#   - iperf3 -s under nstack with a kernel client.
# Both complete (exit 0, "iperf Done.") and report a throughput above a floor; the report's
# sender line comes from TCP_INFO-backed counters, so garbage there would show (checked: the
# retransmission count is a sane number).

load lib

setup() {
	lab_setup iperf3
}

teardown() {
	lab_teardown
}

# check_report: the last iperf3 run's output has a receiver line at >= 50 Mbit/s, a sender
# line with a small retransmission count, and "iperf Done."
check_report() {
	assert_output --partial "iperf Done."
	local recv
	recv=$(echo "$output" | grep -E ' receiver$' | tail -n 1)
	[ -n "$recv" ] || fail "no receiver line"
	echo "# $1: $recv" >&3
	local rate unit
	read -r rate unit < <(echo "$recv" | grep -oE '[0-9.]+ [KMG]bits/sec' | tail -n 1)
	case $unit in
	Gbits/sec) ;;
	Mbits/sec) awk -v r="$rate" 'BEGIN { exit !(r >= 50) }' || fail "$1: only $rate $unit" ;;
	*) fail "$1: only $rate $unit" ;;
	esac
	local sender retr
	sender=$(echo "$output" | grep -E ' sender$' | tail -n 1)
	if [ -n "$sender" ] && echo "$sender" | grep -qE 'bits/sec +[0-9]+ +sender$'; then
		retr=$(echo "$sender" | awk '{print $(NF-1)}')
		((retr < 100000)) || fail "$1: implausible retransmission count $retr (TCP_INFO?)"
	fi
}

@test "iperf3 client under nstack to a kernel iperf3 -s" {
	bg "$BATS_TEST_TMPDIR/server.log" $nsx iperf3 -s -B "$KADDR" -p 5201
	wait_listen "$NS" 5201
	run timeout 30 $ksx iperf3 -c "$KADDR" -p 5201 -t 5
	assert_success
	check_report kernel
	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 30 $nsx $NSTACK iperf3 -c "$KADDR" -p 5201 -t 5
	assert_success
	check_report nstack
	assert_tap_used "$rx0"
}

@test "iperf3 -s under nstack with a kernel client" {
	bg "$BATS_TEST_TMPDIR/server-kernel.log" $ksx iperf3 -s -B 198.19.0.2 -p 5211
	wait_listen "$NSK" 5211
	run timeout 30 $nsx iperf3 -c 198.19.0.2 -p 5211 -t 5
	assert_success
	check_report kernel
	need_nstack
	bg "$BATS_TEST_TMPDIR/server-nstack.log" $nsx $NSTACK iperf3 -s --forceflush -B "$NADDR" -p 5212
	wait_file_grep "$BATS_TEST_TMPDIR/server-nstack.log" 'Server listening'
	run timeout 30 $nsx iperf3 -c "$NADDR" -p 5212 -t 5
	assert_success
	check_report nstack
}
