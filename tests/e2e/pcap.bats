#!/usr/bin/env bats
# `nstack run --pcap F` writes every frame to a pcap file that tcpdump reads: a small curl
# download shows the SYN, data and FIN of the connection. The kernel reference is the same
# download from NSK, captured by tcpdump on NSK's veth, checked by the same function.

bats_require_minimum_version 1.5.0
load lib

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	mkfile "$BATS_FILE_TMPDIR/www/small" 1
}

setup() {
	lab_setup tcpdump
	http_server "$BATS_FILE_TMPDIR/www" 8000
}

teardown() {
	lab_teardown
}

# assert_conn_in_pcap FILE CLIENT_ADDR: SYN from the client to port 8000, a segment carrying
# data, and a FIN (alone or with the last data: [F.] or [FP.]).
assert_conn_in_pcap() {
	local f=$1 client=$2
	run timeout 20 tcpdump -nr "$f" 'tcp port 8000'
	assert_success
	assert_line --regexp "IP $client\.[0-9]+ > $KADDR\.8000: Flags \[S\]"
	assert_line --regexp "Flags \[[^]]*\].* length [1-9][0-9]*"
	assert_line --regexp "Flags \[FP?\.\]"
}

@test "pcap shows SYN, data and FIN, kernel capture and nstack --pcap" {
	local url=http://$KADDR:8000/small
	local kp=$BATS_TEST_TMPDIR/kernel.pcap np=$BATS_TEST_TMPDIR/nstack.pcap

	bg "$BATS_TEST_TMPDIR/tcpdump.log" $ksx tcpdump -Z root -U --immediate-mode -s 128 -B 8192 -i vk1 -w "$kp" 'tcp port 8000'
	local tpid=$BG_PID
	wait_file_grep "$BATS_TEST_TMPDIR/tcpdump.log" "listening on"
	run timeout 30 $ksx curl -sS -o "$BATS_TEST_TMPDIR/kernel.out" "$url"
	assert_success
	sleep 0.3 # let the last ACK/FIN reach the capture
	kill "$tpid"
	wait_pid "$tpid" 10 || true
	assert_conn_in_pcap "$kp" 198.19.0.2

	need_nstack
	run timeout 30 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --pcap "$np" -- \
		curl -sS -o "$BATS_TEST_TMPDIR/nstack.out" "$url"
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack.out")" "$(sha256 "$BATS_FILE_TMPDIR/www/small")"
	assert_conn_in_pcap "$np" "$NADDR"
}
