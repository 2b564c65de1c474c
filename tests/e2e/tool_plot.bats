#!/usr/bin/env bats
# `nstack plot` draws the time-sequence graph of the largest TCP connection in a pcap: from
# `nstack run --pcap` of a 10 MB download, and (kernel reference) from tcpdump's capture of
# the same download through the kernel. Each must be a valid PNG of sensible size, and the
# summary line must name the connection and at least the 10 MB it carried.

bats_require_minimum_version 1.5.0
load lib

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	mkfile "$BATS_FILE_TMPDIR/www/f10" 10
}

setup() {
	lab_setup tcpdump gnuplot
	http_server "$BATS_FILE_TMPDIR/www" 8000
}

teardown() {
	lab_teardown
}

# assert_png FILE: PNG signature, IHDR 1280x800, between 5 KB and 5 MB.
assert_png() {
	local f=$1 size
	[ -s "$f" ] || fail "$f: missing or empty"
	assert_equal "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a
	assert_equal "$(head -c 24 "$f" | tail -c 8 | od -An -tx1 | tr -d ' \n')" 0000050000000320
	size=$(stat -c %s "$f")
	((size > 5000 && size < 5000000)) || fail "$f: $size bytes"
}

@test "plot renders a PNG of a 10 MB download (kernel capture and nstack --pcap)" {
	local url=http://$KADDR:8000/f10
	local kp=$BATS_TEST_TMPDIR/kernel.pcap np=$BATS_TEST_TMPDIR/nstack.pcap

	bg "$BATS_TEST_TMPDIR/tcpdump.log" $ksx tcpdump -Z root -U --immediate-mode -s 96 -B 16384 -i vk1 -w "$kp" 'tcp port 8000'
	local tpid=$BG_PID
	wait_file_grep "$BATS_TEST_TMPDIR/tcpdump.log" "listening on"
	run timeout 60 $ksx curl -sS -o "$BATS_TEST_TMPDIR/kernel.out" "$url"
	assert_success
	sleep 0.3
	kill "$tpid"
	wait_pid "$tpid" 10 || true
	need_nstack
	run timeout 30 "$BUILD/nstack" plot "$kp" -o "$BATS_TEST_TMPDIR/kernel.png"
	assert_success
	assert_output --regexp "^.*kernel.png: $KADDR:8000 -> 198\.19\.0\.2:[0-9]+: [0-9]+ bytes in [0-9]+ segments, [0-9]+ retransmitted$"
	assert_png "$BATS_TEST_TMPDIR/kernel.png"

	run timeout 60 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --pcap "$np" -- \
		curl -sS -o "$BATS_TEST_TMPDIR/nstack.out" "$url"
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack.out")" "$(sha256 "$BATS_FILE_TMPDIR/www/f10")"
	run timeout 30 "$BUILD/nstack" plot "$np" -o "$BATS_TEST_TMPDIR/nstack.png"
	assert_success
	assert_output --regexp "nstack.png: $KADDR:8000 -> $NADDR:[0-9]+: [0-9]+ bytes in [0-9]+ segments"
	local bytes
	bytes=$(sed -nE 's/.*: ([0-9]+) bytes in.*/\1/p' <<<"$output")
	((bytes >= 10 * 1024 * 1024)) || fail "plotted connection carried $bytes bytes, not the 10 MB"
	assert_png "$BATS_TEST_TMPDIR/nstack.png"
}

@test "plot reads IPv6 captures: a 10 MB download over IPv6 (kernel capture and nstack --pcap)" {
	lab_addr6_up
	local kp=$BATS_TEST_TMPDIR/kernel6.pcap np=$BATS_TEST_TMPDIR/nstack6.pcap
	http_server "$BATS_FILE_TMPDIR/www" 8006 ::
	bg "$BATS_TEST_TMPDIR/tcpdump6.log" $ksx tcpdump -Z root -U --immediate-mode -s 128 -B 16384 -i vk1 -w "$kp" 'ip6 and tcp port 8006'
	local tpid=$BG_PID
	wait_file_grep "$BATS_TEST_TMPDIR/tcpdump6.log" "listening on"
	run timeout 60 $ksx curl -sS -o "$BATS_TEST_TMPDIR/kernel6.out" "http://[$KADDR6]:8006/f10"
	assert_success
	sleep 0.3
	kill "$tpid"
	wait_pid "$tpid" 10 || true
	need_nstack
	run timeout 30 "$BUILD/nstack" plot "$kp" -o "$BATS_TEST_TMPDIR/kernel6.png"
	assert_success
	assert_output --regexp "kernel6.png: \\[$KADDR6\\]:8006 -> \\[$CVETH6\\]:[0-9]+: [0-9]+ bytes in [0-9]+ segments"
	assert_png "$BATS_TEST_TMPDIR/kernel6.png"

	run timeout 60 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --addr6 "$NADDR6/64" \
		--pcap "$np" -- curl -sS -o "$BATS_TEST_TMPDIR/nstack6.out" "http://[$KADDR6]:8006/f10"
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack6.out")" "$(sha256 "$BATS_FILE_TMPDIR/www/f10")"
	run timeout 30 "$BUILD/nstack" plot "$np" -o "$BATS_TEST_TMPDIR/nstack6.png"
	assert_success
	assert_output --regexp "nstack6.png: \\[$KADDR6\\]:8006 -> \\[$NADDR6\\]:[0-9]+: [0-9]+ bytes in [0-9]+ segments"
	local bytes
	bytes=$(sed -nE 's/.*: ([0-9]+) bytes in.*/\1/p' <<<"$output")
	((bytes >= 10 * 1024 * 1024)) || fail "plotted connection carried $bytes bytes, not the 10 MB"
	assert_png "$BATS_TEST_TMPDIR/nstack6.png"
}

@test "plot marks retransmissions of a lossy transfer; errors" {
	need_nstack
	local np=$BATS_TEST_TMPDIR/lossy.pcap
	mkfile "$BATS_TEST_TMPDIR/up" 1
	bg "$BATS_TEST_TMPDIR/server.log" sh -c "exec $nsx nc -n -l $KADDR 9200 >'$BATS_TEST_TMPDIR/recv'"
	wait_listen "$NS" 9200
	run timeout 60 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --pcap "$np" \
		--impair loss=0.05,seed=11,dir=tx -- nc -n -N "$KADDR" 9200 <"$BATS_TEST_TMPDIR/up"
	assert_success
	wait_pid "$BG_PID" 10 || true
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/recv")" "$(sha256 "$BATS_TEST_TMPDIR/up")"
	run timeout 30 "$BUILD/nstack" plot "$np" -o "$BATS_TEST_TMPDIR/lossy.png"
	assert_success
	local rex
	rex=$(sed -nE 's/.*, ([0-9]+) retransmitted$/\1/p' <<<"$output")
	((rex > 0)) || fail "no retransmission found in a capture with 5% loss: $output"
	assert_png "$BATS_TEST_TMPDIR/lossy.png"

	echo "not a capture" >"$BATS_TEST_TMPDIR/junk"
	run "$BUILD/nstack" plot "$BATS_TEST_TMPDIR/junk" -o "$BATS_TEST_TMPDIR/x.png"
	assert_failure 1
	assert_output --partial "not a pcap file"
	run "$BUILD/nstack" plot "$np"
	assert_failure 2
	run "$BUILD/nstack" plot
	assert_failure 2
}
