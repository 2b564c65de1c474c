#!/usr/bin/env bats
# A 30000-byte UDP datagram crosses fragmented (MTU 1500: 21 fragments) both ways:
#   out: the program sends 3 such datagrams to a kernel receiver in NS, which reassembles them;
#   in:  a kernel sender in NS sends 3 to the program, which reassembles them.
# The receiver's summary line (count, bytes, hash) is the same for the kernel and nstack, and
# nstack's pcap (with the keeper's, if it sent some after the exit) shows the fragments.

bats_require_minimum_version 1.5.0
load lib

TOOL="python3 $ROOT/tests/helpers/udp_tool.py"

setup() {
	lab_setup tcpdump
}

teardown() {
	lab_teardown
}

# frag_out PORT CLIENT-PREFIX...: kernel receiver in NS; prints its summary.
frag_out() {
	local port=$1; shift
	local log="$BATS_TEST_TMPDIR/recv-$port.log"
	bg "$log" $nsx $TOOL recv "$KADDR" "$port"
	local rpid=$BG_PID
	wait_file_grep "$log" "^bound"
	run timeout 20 "$@" $TOOL send "$KADDR" "$port" 3 30000
	assert_success
	wait_pid "$rpid" 30
	grep datagrams "$log"
}

@test "30000-byte datagrams out, fragmented, reassembled by the kernel: kernel and nstack" {
	local kline nline np=$BATS_TEST_TMPDIR/out.pcap
	kline=$(frag_out 9200 $ksx)
	assert_equal "${kline%% *}" 3
	assert_equal "$(echo "$kline" | awk '{print $3}')" 90000
	need_nstack
	nline=$(frag_out 9201 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --pcap "$np" --)
	assert_equal "$nline" "$kline"
	# datagrams still waiting for ARP when the program exits are sent by the keeper that
	# finishes its work, which captures to <pcap>.<pid> (shim/pcap.c): count every file
	local f n=0
	for f in "$np" "$np".*; do
		[ -e "$f" ] || continue
		run timeout 20 tcpdump -nr "$f" "ip[6:2] & 0x3fff != 0"
		assert_success
		n=$((n + ${#lines[@]}))
	done
	[ "$n" -ge 63 ] || fail "expected >= 63 fragments in the pcaps, got $n: $(ls -l "$np"*)"
}

# frag_in WHO ADDR PORT RECV-PREFIX...: kernel sender in NS sends to ADDR; prints the summary.
frag_in() {
	local who=$1 addr=$2 port=$3; shift 3
	local log="$BATS_TEST_TMPDIR/recv-$who.log"
	bg "$log" "$@" $TOOL recv "$addr" "$port"
	local rpid=$BG_PID
	wait_file_grep "$log" "^bound"
	run timeout 20 $nsx $TOOL send "$addr" "$port" 3 30000
	assert_success
	wait_pid "$rpid" 30
	grep datagrams "$log"
}

@test "30000-byte datagrams in, fragmented by the kernel, reassembled: kernel and nstack" {
	local kline nline
	kline=$(frag_in kernel 198.19.0.2 9210 $ksx)
	assert_equal "$(echo "$kline" | awk '{print $1, $3}')" "3 90000"
	need_nstack
	nline=$(frag_in nstack "$NADDR" 9211 $nsx $NSTACK)
	assert_equal "$nline" "$kline"
}
