#!/usr/bin/env bats
# Name resolution over nstack UDP: `ip netns exec NS` bind-mounts /etc/netns/NS/resolv.conf on
# /etc/resolv.conf, which points glibc's resolver at a tiny DNS responder on 198.18.0.1 (in NS,
# the TAP's kernel side). Under nstack the resolver's UDP socket is an nstack socket (the name
# server is on the stack's subnet): the query shows in the NSTACK_PCAP capture as a UDP packet
# from 198.18.0.2 to port 53, the responder logs it from 198.18.0.2, and curl then downloads
# http://peer.lab:8000/file. The kernel reference is the same lookup run in NS without nstack
# (its query comes from 198.18.0.1). The resolv.conf is removed in teardown.

bats_require_minimum_version 1.5.0
load lib

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	mkfile "$BATS_FILE_TMPDIR/www/file" 1
}

setup() {
	lab_setup tcpdump
	mkdir -p "/etc/netns/$NS"
	printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$KADDR" >"/etc/netns/$NS/resolv.conf"
	bg "$BATS_TEST_TMPDIR/dns.log" $nsx python3 "$ROOT/tests/helpers/dns_responder.py" "$KADDR" peer.lab "$KADDR"
	DNS_PID=$BG_PID
	wait_file_grep "$BATS_TEST_TMPDIR/dns.log" "^listening"
	http_server "$BATS_FILE_TMPDIR/www" 8000
}

teardown() {
	[ -n "${NS:-}" ] && rm -rf "/etc/netns/$NS"
	lab_teardown
}

@test "getaddrinfo(peer.lab) through the kernel and through nstack UDP" {
	run timeout 20 $nsx python3 "$ROOT/tests/helpers/udp_tool.py" resolve peer.lab
	assert_success
	assert_output "$KADDR"
	assert_log "$BATS_TEST_TMPDIR/dns.log" "query peer.lab 1 from $KADDR"
	need_nstack
	run timeout 20 $nsx $NSTACK python3 "$ROOT/tests/helpers/udp_tool.py" resolve peer.lab
	assert_success
	assert_output "$KADDR"
	assert_log "$BATS_TEST_TMPDIR/dns.log" "query peer.lab 1 from $NADDR"
}

@test "getaddrinfo AAAA and AF_UNSPEC through the kernel and through nstack UDP (same answers, same order)" {
	# a second responder, which also answers AAAA, on port 53 of the same address: stop the first
	kill "$DNS_PID"
	wait "$DNS_PID" 2>/dev/null || true
	bg "$BATS_TEST_TMPDIR/dns6.log" $nsx python3 "$ROOT/tests/helpers/dns_responder.py" "$KADDR" peer.lab "$KADDR" fd00:198:18::1
	wait_file_grep "$BATS_TEST_TMPDIR/dns6.log" "^listening"
	local fam kernel
	for fam in 6 any; do
		run timeout 20 $nsx python3 "$ROOT/tests/helpers/udp_tool.py" resolve peer.lab $fam
		assert_success
		kernel=$output
		need_nstack
		run timeout 20 $nsx $NSTACK python3 "$ROOT/tests/helpers/udp_tool.py" resolve peer.lab $fam
		assert_success
		assert_output "$kernel"
	done
	assert_output "$KADDR fd00:198:18::1"        # IPv4 first: no IPv6 source (RFC 6724 rule 1)
	assert_log "$BATS_TEST_TMPDIR/dns6.log" "query peer.lab 28 from $NADDR"
}

@test "curl http://peer.lab:8000/file resolves over nstack UDP (pcap) and downloads" {
	run timeout 30 $nsx curl -sS -o "$BATS_TEST_TMPDIR/kernel.out" http://peer.lab:8000/file
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/kernel.out")" "$(sha256 "$BATS_FILE_TMPDIR/www/file")"
	need_nstack
	local np=$BATS_TEST_TMPDIR/nstack.pcap
	run timeout 30 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --pcap "$np" -- \
		curl -sS -o "$BATS_TEST_TMPDIR/nstack.out" http://peer.lab:8000/file
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack.out")" "$(sha256 "$BATS_FILE_TMPDIR/www/file")"
	run timeout 20 tcpdump -nr "$np" udp port 53
	assert_success
	assert_line --regexp "IP $NADDR\.[0-9]+ > $KADDR\.53: .*A\? peer\.lab\."
	assert_line --regexp "IP $KADDR\.53 > $NADDR\.[0-9]+: .* A $KADDR"
	run timeout 20 tcpdump -nr "$np" tcp port 8000
	assert_line --regexp "IP $NADDR\.[0-9]+ > $KADDR\.8000: Flags \[S\]"
}

@test "getaddrinfo with AI_ADDRCONFIG, AI_V4MAPPED and AI_ALL answers as the kernel's, with and without IPv6" {
	local T="$ROOT/tests/helpers/udp_tool.py" args kernel
	# NS has no IPv6 (lab_up): nstack without IPv6 (NSTACK_IPV6=0) is the same host. The
	# responder answers A only.
	for args in any "any addrconfig" "6 addrconfig" "4 addrconfig" "6 v4mapped" "6 v4mapped,all"; do
		run timeout 20 $nsx python3 "$T" resolve peer.lab $args
		assert_success
		kernel=$output
		need_nstack
		run timeout 20 $nsx env NSTACK_IPV6=0 $NSTACK python3 "$T" resolve peer.lab $args
		assert_success
		echo "# $args: kernel '$kernel', nstack '$output'" >&3
		assert_output "$kernel"
	done
	run timeout 20 $nsx env NSTACK_IPV6=0 $NSTACK python3 "$T" resolve peer.lab 6 v4mapped
	assert_output "::ffff:$KADDR"
	# with IPv6 on both, and a responder that answers AAAA too
	kill "$DNS_PID"
	wait "$DNS_PID" 2>/dev/null || true
	bg "$BATS_TEST_TMPDIR/dns6.log" $nsx python3 "$ROOT/tests/helpers/dns_responder.py" "$KADDR" peer.lab "$KADDR" fd00:198:18::1
	wait_file_grep "$BATS_TEST_TMPDIR/dns6.log" "^listening"
	lab_addr6_up
	for args in "any addrconfig" "6 addrconfig" "6 v4mapped" "6 v4mapped,all"; do
		run timeout 20 $nsx python3 "$T" resolve peer.lab $args
		assert_success
		kernel=$output
		run timeout 20 $nsx $NSTACK python3 "$T" resolve peer.lab $args
		assert_success
		echo "# $args: kernel '$kernel', nstack '$output'" >&3
		assert_output "$kernel"
	done
	assert_output "::ffff:$KADDR fd00:198:18::1"
	assert_log "$BATS_TEST_TMPDIR/dns6.log" "query peer.lab 28 from $NADDR"
}
