#!/usr/bin/env bats
# A hostile peer made of crafted frames (tests/helpers/hostile.py, scapy): it takes an address
# nobody owns on the link (x.x.x.66, its own MAC, answering ARP itself), opens a connection by
# hand to a small echo server and then
#   - RFC 5961 3.2: an in-window RST that is not at RCV.NXT draws a challenge ACK, the
#     connection lives on (data still echoes); 4.2: a SYN on it draws one too; 5.2: data
#     whose ACK is too old is not taken and challenged; data acknowledging the future is not
#     taken; 7: a burst of 2000 blind RSTs draws only a handful of ACKs (500 ms per
#     connection, Linux tcp_invalid_ratelimit); the exact RST resets (the server reads
#     ECONNRESET);
#   - malformed headers (data offset < 5 or past the segment, truncated frames, IHL < 5) get
#     no answer and the right drop counters rise; a bad option length (0, 1, past the
#     header) ends option parsing and the SYN is answered (Linux tcp_parse_options), counted
#     in tcp_opt_bad; IP options are accepted like Linux; overlapping fragments are dropped (RFC 5722); ICMP errors that
#     match no connection or quote a sequence outside SND.UNA..SND.NXT change nothing.
# The kernel reference: the same script against the same server on the kernel (NS, over the
# veth from NSK), with the same expectations.

bats_require_minimum_version 1.5.0
load lib

PEER=/usr/bin/python3
HOSTILE=$ROOT/tests/helpers/hostile.py
MAC=02:00:5e:00:00:66

setup() {
	lab_setup
	$PEER -c 'import scapy' 2>/dev/null || fail "scapy missing for $PEER (run: sudo make deps)"
}

teardown() {
	lab_teardown
}

# counter JSON NAME: a counter of the one process in a `stats --json` reply
counter() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); c=d["processes"][0]["counters"]; print(c.get(sys.argv[2], 0))' "$1" "$2"
}

# field JSON KEY: one value of hostile.py's JSON result
field() {
	python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

# kernel_server PORT / nstack_server PORT: the echo server on the kernel (NS, on the veth
# address) or under nstack (NS, on the TAP); its log in $BATS_TEST_TMPDIR/<who>.log
kernel_server() {
	bg "$BATS_TEST_TMPDIR/kernel.out" $nsx python3 "$HOSTILE" server "$KVETH" "$1" "$BATS_TEST_TMPDIR/kernel.log"
	wait_listen "$NS" "$1"
}

nstack_server() {
	need_nstack
	bg "$BATS_TEST_TMPDIR/nstack.out" $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" -- \
		python3 "$HOSTILE" server "$NADDR" "$1" "$BATS_TEST_TMPDIR/nstack.log"
	SPID=$BG_PID
	wait_nstack_listen "$1"
}

# check_rfc5961 WHO JSON: the expectations both stacks meet
check_rfc5961() {
	local who=$1 r=$2 acks burst max
	[ "$(field "$r" echo_first)" = one ] || fail "$who: no echo on the new connection: $r"
	[ "$(field "$r" rst_inexact_challenge)" = true ] || fail "$who: no challenge ACK for an inexact RST: $r"
	[ "$(field "$r" syn_challenge)" = true ] || fail "$who: no challenge ACK for a SYN: $r"
	[ "$(field "$r" echo_after)" = two ] || fail "$who: connection did not survive: $r"
	[ "$(field "$r" old_ack_delivered)" = false ] || fail "$who: data with a too-old ACK delivered: $r"
	[ "$(field "$r" old_ack_challenge)" = true ] || fail "$who: no challenge ACK for a too-old ACK: $r"
	[ "$(field "$r" future_ack_delivered)" = false ] || fail "$who: data acking the future delivered: $r"
	[ "$(field "$r" echo_after_burst)" = three ] || fail "$who: connection did not survive the RST burst: $r"
	acks=$(field "$r" burst_acks)
	burst=$(field "$r" burst_s)
	# one ACK per 500 ms at most, over the burst and the second after it
	max=$(python3 -c "import math,sys; print(math.ceil((float(sys.argv[1]) + 1) / 0.5) + 1)" "$burst")
	((acks >= 1 && acks <= max)) || fail "$who: $acks ACKs for 2000 RSTs in ${burst}s (at most $max): $r"
	wait_file_grep "$BATS_TEST_TMPDIR/$who.log" '^error ECONNRESET$' 30 ||
		fail "$who: the exact RST did not reset: $(cat "$BATS_TEST_TMPDIR/$who.log")"
}

@test "hostile: RFC 5961 challenge ACKs and their rate limit, like the kernel" {
	local k n s1 s2
	kernel_server 7001
	k=$(timeout 60 $ksx $PEER "$HOSTILE" rfc5961 vk1 198.19.0.66 "$MAC" "$KVETH" 7001) ||
		fail "kernel run failed: $k"
	echo "kernel: $k" >&3
	check_rfc5961 kernel "$k"

	nstack_server 7001
	s1=$("$BUILD/nstack" stats --json -p "$SPID")
	n=$(timeout 60 $nsx $PEER "$HOSTILE" rfc5961 nst0 198.18.0.66 "$MAC" "$NADDR" 7001) ||
		fail "nstack run failed: $n"
	echo "nstack: $n" >&3
	check_rfc5961 nstack "$n"
	s2=$("$BUILD/nstack" stats --json -p "$SPID")
	local tx=$(($(counter "$s2" tcp_challenge_ack_tx) - $(counter "$s1" tcp_challenge_ack_tx)))
	local lim=$(($(counter "$s2" tcp_oow_ack_limited) - $(counter "$s1" tcp_oow_ack_limited)))
	((tx >= 4)) || fail "tcp_challenge_ack_tx moved by $tx"
	((lim >= 1900)) || fail "tcp_oow_ack_limited moved by $lim for a burst of 2000 RSTs"
	kill -0 "$SPID" || fail "the nstack server died"
}

@test "hostile: malformed headers dropped and counted, unmatched ICMP errors ignored" {
	local k n s1 s2 c
	kernel_server 7002
	k=$(timeout 60 $ksx $PEER "$HOSTILE" malformed vk1 198.19.0.66 "$MAC" "$KVETH" 7002) ||
		fail "kernel run failed: $k"
	echo "kernel: $k" >&3

	nstack_server 7002
	s1=$("$BUILD/nstack" stats --json -p "$SPID")
	n=$(timeout 60 $nsx $PEER "$HOSTILE" malformed nst0 198.18.0.66 "$MAC" "$NADDR" 7002) ||
		fail "nstack run failed: $n"
	echo "nstack: $n" >&3
	s2=$("$BUILD/nstack" stats --json -p "$SPID")
	# answered or not, like the kernel
	for c in doff_4 doff_15 optlen_0 optlen_1 optlen_long truncated ihl_4 ip_options good echo_before_icmp echo_after_icmp; do
		[ "$(field "$n" $c)" = "$(field "$k" $c)" ] ||
			fail "$c: nstack $(field "$n" $c), kernel $(field "$k" $c)"
	done
	[ "$(field "$n" good)" = true ] || fail "a well-formed SYN got no answer: $n"
	[ "$(field "$n" ip_options)" = true ] || fail "a SYN with IP options got no answer: $n"
	[ "$(field "$n" echo_after_icmp)" = pong ] || fail "the connection did not survive the ICMP errors: $n"
	for c in doff_4 doff_15 truncated ihl_4; do
		[ "$(field "$n" $c)" = false ] || fail "$c: nstack answered: $n"
	done
	# bad option lengths end the parsing (Linux tcp_parse_options): the SYN is answered
	for c in optlen_0 optlen_1 optlen_long; do
		[ "$(field "$n" $c)" = true ] || fail "$c: nstack did not answer: $n"
	done
	d() { echo $(($(counter "$s2" "$1") - $(counter "$s1" "$1"))); }
	(($(d tcp_drop_hdr) >= 2)) || fail "tcp_drop_hdr moved by $(d tcp_drop_hdr)"
	(($(d tcp_opt_bad) >= 3)) || fail "tcp_opt_bad moved by $(d tcp_opt_bad)"
	(($(d ip_drop_len) >= 1)) || fail "ip_drop_len moved by $(d ip_drop_len)"
	(($(d ip_drop_hdrlen) >= 1)) || fail "ip_drop_hdrlen moved by $(d ip_drop_hdrlen)"
	(($(d ip_opts_rx) >= 1)) || fail "ip_opts_rx moved by $(d ip_opts_rx)"
	(($(d ip_frag_overlap) >= 1)) || fail "ip_frag_overlap moved by $(d ip_frag_overlap)"
	(($(d icmp_err_ignored) >= 3)) || fail "icmp_err_ignored moved by $(d icmp_err_ignored)"
	kill -0 "$SPID" || fail "the nstack server died"
}
