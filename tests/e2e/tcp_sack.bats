#!/usr/bin/env bats
# SACK with the kernel as the peer, seen in nstack's own capture (--pcap, taken above the
# --impair fault injection, so it shows what the stack sent and what reached it):
#   - both SYNs carry SACK-permitted; with frames to nstack lost, a download completes intact
#     and nstack's ACKs carry SACK blocks (RFC 2018) -- the kernel client's download of the
#     same file is the reference;
#   - with frames from nstack lost, an upload completes intact and the kernel's ACKs carry
#     SACK blocks, which nstack's RFC 6675 recovery acts on;
#   - a kernel with net.ipv4.tcp_sack=0 (in the lab's namespace only): no SACK-permitted in
#     its SYN-ACK, no SACK block from nstack, and the lossy download still completes (NewReno).

load lib

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	mkfile "$BATS_FILE_TMPDIR/www/file" 8
}

setup() {
	lab_setup tcpdump
}

teardown() {
	lab_teardown
}

# pcap_lines FILE FILTER: tcpdump's one-line decode of the capture's matching TCP segments.
pcap_lines() {
	tcpdump -nn -r "$1" "$2" 2>/dev/null
}

# nstack_download CAP URL OUT: curl on nstack through 2% receive loss, in the background, so
# that a transfer that stalls for 120 s leaves both ends' state in the log before it fails.
nstack_download() {
	local cap=$1 url=$2 out=$3 pid i st=0
	bg "$BATS_TEST_TMPDIR/curl.log" $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --pcap "$cap" \
		--impair loss=0.02,seed=5,dir=rx -- curl -sS -o "$out" "$url"
	pid=$BG_PID
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "# stalled after 120 s; nstack:" >&3
		"$BUILD/nstack" ss -a -i 2>&1 | sed 's/^/#   /' >&3
		"$BUILD/nstack" stats 2>&1 | sed 's/^/#   /' >&3
		echo "# the kernel's side:" >&3
		$nsx ss -tino 2>&1 | sed 's/^/#   /' >&3
		kill "$pid"
		fail "the download stalled (curl: $(cat "$BATS_TEST_TMPDIR/curl.log"))"
	fi
	wait "$pid" || st=$?
	[ "$st" = 0 ] || fail "curl on nstack exited with $st: $(cat "$BATS_TEST_TMPDIR/curl.log")"
}

@test "SACK negotiated with the kernel; lossy download: nstack sends SACK blocks" {
	local want url=http://$KADDR:8000/file cap=$BATS_TEST_TMPDIR/down.pcap
	want=$(sha256 "$BATS_FILE_TMPDIR/www/file")
	http_server "$BATS_FILE_TMPDIR/www" 8000
	run timeout 60 $ksx curl -sS -o "$BATS_TEST_TMPDIR/kernel.out" "$url"
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/kernel.out")" "$want"

	need_nstack
	nstack_download "$cap" "$url" "$BATS_TEST_TMPDIR/nstack.out"
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack.out")" "$want"
	# our SYN offers it, the kernel's SYN-ACK accepts it
	pcap_lines "$cap" "src host $NADDR and tcp[tcpflags] & tcp-syn != 0" | grep -q 'sackOK' ||
		fail "nstack's SYN has no sackOK: $(pcap_lines "$cap" 'tcp[tcpflags] & tcp-syn != 0')"
	pcap_lines "$cap" "src host $KADDR and tcp[tcpflags] & tcp-syn != 0" | grep -q 'sackOK' ||
		fail "the kernel's SYN-ACK has no sackOK"
	# segments lost on the way to nstack: its ACKs report what came after the holes
	local n
	n=$(pcap_lines "$cap" "src host $NADDR and tcp" | grep -c 'sack [1-4] {' || true)
	((n > 0)) || fail "no SACK block in nstack's ACKs"
	echo "# nstack ACKs with SACK blocks: $n" >&3
}

@test "lossy upload to the kernel: its SACK blocks drive nstack's recovery" {
	local cap=$BATS_TEST_TMPDIR/up.pcap recv=$BATS_TEST_TMPDIR/recv
	need_nstack
	bg "$BATS_TEST_TMPDIR/nc-l.log" sh -c "exec $nsx nc -n -l $KADDR 9000 >'$recv'"
	wait_listen "$NS" 9000
	run timeout 120 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --pcap "$cap" \
		--impair loss=0.02,seed=11,dir=tx -- nc -N "$KADDR" 9000 <"$BATS_FILE_TMPDIR/www/file"
	assert_success
	wait_pid "$BG_PID" 20 || fail "kernel nc did not finish"
	assert_equal "$(sha256 "$recv")" "$(sha256 "$BATS_FILE_TMPDIR/www/file")"
	local n
	n=$(pcap_lines "$cap" "src host $KADDR and tcp" | grep -c 'sack [1-4] {' || true)
	((n > 0)) || fail "no SACK block in the kernel's ACKs"
	echo "# kernel ACKs with SACK blocks: $n" >&3
}

@test "kernel without SACK: none negotiated, lossy download still intact" {
	local want url=http://$KADDR:8000/file cap=$BATS_TEST_TMPDIR/nosack.pcap
	want=$(sha256 "$BATS_FILE_TMPDIR/www/file")
	$nsx sysctl -qw net.ipv4.tcp_sack=0
	http_server "$BATS_FILE_TMPDIR/www" 8000
	need_nstack
	nstack_download "$cap" "$url" "$BATS_TEST_TMPDIR/nstack.out"
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack.out")" "$want"
	pcap_lines "$cap" "src host $NADDR and tcp[tcpflags] & tcp-syn != 0" | grep -q 'sackOK' ||
		fail "nstack's SYN has no sackOK"
	if pcap_lines "$cap" "src host $KADDR and tcp[tcpflags] & tcp-syn != 0" | grep -q 'sackOK'; then
		fail "the kernel's SYN-ACK has sackOK with tcp_sack=0"
	fi
	run sh -c "tcpdump -nn -r '$cap' 'src host $NADDR and tcp' 2>/dev/null | grep -c 'sack [1-4] {'"
	assert_output "0"
}
