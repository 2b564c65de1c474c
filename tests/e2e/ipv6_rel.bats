#!/usr/bin/env bats
# IPv6 under attack and under a smaller path MTU, nstack against the kernel in the same run
# (the TAP lab with lab_addr6_up; programs in tests/e2e/ipv6_hostile.py):
#
#   1. a hostile peer made of crafted frames (scapy) opens a connection by hand from an address
#      nobody owns (x::66, its own MAC, answering Neighbor Solicitations itself) to an echo
#      server: RFC 5961 3.2 (an in-window RST not at RCV.NXT draws a challenge ACK), an RST
#      outside the window is ignored, 4.2 (a SYN draws a challenge ACK), 5.2 (data with a
#      too-old ACK is challenged, data acknowledging the future is not taken), and malformed
#      IPv6 frames carrying in-window data (payload length past the frame, TCP checksum error,
#      a Destination Options header running past the packet, a cut Hop-by-Hop header) are not
#      taken; the connection lives on, and the exact RST resets it. Kernel: the server in NS
#      on fd00:198:19::1, the peer on NSK's vk1; nstack: the server under nstack on the TAP,
#      the peer on nst0 in NS.
#   2. forged Neighbor Discovery: an advertisement with hop limit 254 (it crossed a router:
#      RFC 4861 7.1.2) claiming a neighbor's address for another MAC changes nothing, the same
#      with hop limit 255 and Override does (the difference, shown); router advertisements
#      with hop limit 254 or from a global source (6.1.2) install no default router, a valid
#      one does. Kernel: NSK's neighbor table and default route; nstack: its counters, the
#      MAC its frames go to (its pcap) and which stack a connection to NSK takes.
#   3. Packet Too Big: NS routes between the TAP and a veth of MTU 1280; an upload of 5 MB from
#      nstack (--gw6 fd00:198:18::1) to NSK draws a Packet Too Big from NS's kernel, nstack
#      lowers the connection's MSS (1280 - 40 - 20 = 1220, less 12 bytes of timestamps: 1208
#      bytes of data a segment, TCP_MAXSEG and ss's mss, as the kernel) and the bytes arrive
#      intact. Kernel
#      reference: the same upload from a kernel host on the same side of the router (a third
#      namespace NSC on a veth to NS, fd00:198:18::3/128 routed to it): the same PTB, the same
#      lowered MSS (TCP_MAXSEG), the same bytes.
# Only fd00:198:18::/64, fd00:198:19::/64 and link-local addresses, only inside the lab's
# namespaces.

bats_require_minimum_version 1.5.0
load lib

PY=/usr/bin/python3 # Debian's: it has scapy, and starts faster than a pyenv shim
PEER=$PY
H=$ROOT/tests/e2e/ipv6_hostile.py
MAC=02:00:5e:00:00:66
BOGUS=02:00:5e:00:00:bd # the MAC of the forged advertisements
NMAC=02:00:5e:00:00:02  # nstack's MAC in test 2 (--mac), to address frames to it

setup() {
	lab_setup tcpdump
	lab_addr6_up
	$PEER -c 'import scapy' 2>/dev/null || fail "scapy missing for $PEER (run: sudo make deps)"
	NSC=
}

teardown() {
	lab_nsc_down
	lab_teardown
}

# wait_nstack_listen6 PORT: the nstack program in NS listens on [NADDR6]:PORT (bare SYNs).
wait_nstack_listen6() {
	ip netns exec "$NS" $PY "$ROOT/tests/e2e/ipv6_probe.py" "$KADDR6" "$NADDR6" "$1" "${2:-100}"
}

# counter JSON NAME: a counter of the one process in a `stats --json` reply
counter() {
	$PY -c 'import json,sys; d=json.loads(sys.argv[1]); c=d["processes"][0]["counters"]; print(c.get(sys.argv[2], 0))' "$1" "$2"
}

# field JSON KEY: one value of ipv6_hostile.py's JSON result
field() {
	$PY -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

# stats PID: its counters (JSON)
stats() {
	$nsx "$BUILD/nstack" stats --json -p "$1"
}

# ---- 1 ----------------------------------------------------------------------------------

# check_hostile WHO JSON: what both stacks must do
check_hostile() {
	local who=$1 r=$2 k v
	for k in echo_first:one echo_after_rst_syn:two echo_after_acks:three dstopts_echo:dst \
		echo_after_malformed:four rst_inexact_challenge:true rst_oow_answered:false \
		syn_challenge:true old_ack_delivered:false old_ack_challenge:true \
		future_ack_delivered:false plen_long_delivered:false bad_csum_delivered:false \
		exthdr_trunc_delivered:false hbh_short_answered:false; do
		v=$(field "$r" "${k%%:*}")
		[ "$v" = "${k#*:}" ] || fail "$who: ${k%%:*} is $v, expected ${k#*:}: $r"
	done
	wait_file_grep "$BATS_TEST_TMPDIR/$who.log" '^error ECONNRESET$' 30 ||
		fail "$who: the exact RST did not reset: $(cat "$BATS_TEST_TMPDIR/$who.log")"
	grep -q '^data bad' "$BATS_TEST_TMPDIR/$who.log" &&
		fail "$who: a malformed frame's data reached the server: $(cat "$BATS_TEST_TMPDIR/$who.log")"
	return 0
}

@test "ipv6 hostile: RFC 5961 challenge ACKs and malformed IPv6 frames dropped and counted, kernel and nstack" {
	local k n s1 s2 c spid
	bg "$BATS_TEST_TMPDIR/kernel.out" $nsx $PY "$H" server "$KVETH6" 7101 "$BATS_TEST_TMPDIR/kernel.log"
	wait_listen "$NS" 7101
	local t0=$SECONDS
	k=$(timeout 60 $ksx $PEER "$H" rfc5961 vk1 fd00:198:19::66 "$MAC" "$KVETH6" 7101) ||
		fail "kernel run failed: $k"
	echo "# kernel ($((SECONDS - t0)) s): $k" >&3
	check_hostile kernel "$k"

	need_nstack
	bg "$BATS_TEST_TMPDIR/nstack.out" $nsx $NSTACK $PY "$H" server :: 7101 "$BATS_TEST_TMPDIR/nstack.log"
	spid=$BG_PID
	wait_nstack_listen6 7101
	s1=$(stats "$spid")
	t0=$SECONDS
	n=$(timeout 60 $nsx $PEER "$H" rfc5961 nst0 fd00:198:18::66 "$MAC" "$NADDR6" 7101) ||
		fail "nstack run failed: $n"
	echo "# nstack ($((SECONDS - t0)) s): $n" >&3
	s2=$(stats "$spid")
	check_hostile nstack "$n"
	# every observation as on the kernel (the future ACK's answer included)
	for c in $($PY -c 'import json,sys; print(" ".join(sorted(json.loads(sys.argv[1]))))' "$k"); do
		[ "$(field "$n" "$c")" = "$(field "$k" "$c")" ] ||
			fail "$c: nstack $(field "$n" "$c"), kernel $(field "$k" "$c")"
	done
	d() { echo $(($(counter "$s2" "$1") - $(counter "$s1" "$1"))); }
	(($(d tcp_challenge_ack_tx) >= 3)) || fail "tcp_challenge_ack_tx moved by $(d tcp_challenge_ack_tx)"
	(($(d tcp_rst_ignored) >= 1)) || fail "tcp_rst_ignored moved by $(d tcp_rst_ignored)"
	(($(d ip6_drop_len) >= 1)) || fail "ip6_drop_len moved by $(d ip6_drop_len)"
	(($(d tcp_drop_csum) >= 1)) || fail "tcp_drop_csum moved by $(d tcp_drop_csum)"
	(($(d ip6_drop_exthdr) >= 2)) || fail "ip6_drop_exthdr moved by $(d ip6_drop_exthdr)"
	(($(d tcp_rst_rx) >= 1)) || fail "tcp_rst_rx moved by $(d tcp_rst_rx)"
	kill -0 "$spid" || fail "the nstack server died"
}

# ---- 2 ----------------------------------------------------------------------------------

# neigh_mac NETNS ADDR DEV: the link-layer address in the neighbor table, or "none"
neigh_mac() {
	local m
	m=$(ip -n "$1" -6 neigh show "$2" dev "$3" | awk '/lladdr/ {print $3}')
	echo "${m:-none}"
}

# drive CMD...: one command to the nstack driver; its answer in DRV_OUT (bounded, 10 s)
drive() {
	local i
	echo "$*" >"$DRV/cmd.tmp"
	mv "$DRV/cmd.tmp" "$DRV/cmd.$DRV_N"
	for ((i = 0; i < 100; i++)); do
		[ -e "$DRV/res.$DRV_N" ] && break
		sleep 0.1
	done
	[ -e "$DRV/res.$DRV_N" ] || fail "the nstack driver did not answer '$*'"
	DRV_OUT=$(cat "$DRV/res.$DRV_N")
	DRV_N=$((DRV_N + 1))
}

# udp_until WANT: a datagram through the driver, up to 5 tries, until the answer is WANT
udp_until() {
	local i
	for ((i = 0; i < 5; i++)); do
		drive udp "$KADDR6" 7200
		[ "$DRV_OUT" = "$1" ] && return 0
	done
	return 1
}

@test "ipv6 nd: forged advertisements (hop limit 254, non-link-local routers) ignored, valid ones taken, kernel and nstack" {
	local kmac m d=$BATS_TEST_TMPDIR
	# kernel: NSK's entry for its neighbor fd00:198:19::1, forged from NS on vk0
	run timeout 10 $ksx ping -6 -c 1 -W 2 "$KVETH6"
	assert_success
	kmac=$(ip -n "$NS" -br link show vk0 | awk '{print $3}')
	local vk1mac
	vk1mac=$(ip -n "$NSK" -br link show vk1 | awk '{print $3}')
	assert_equal "$(neigh_mac "$NSK" "$KVETH6" vk1)" "$kmac"
	$nsx $PEER "$H" na vk0 "$vk1mac" "$CVETH6" "$KVETH6" "$BOGUS" 254 O
	sleep 0.3
	assert_equal "kernel after NA hop limit 254: $(neigh_mac "$NSK" "$KVETH6" vk1)" "kernel after NA hop limit 254: $kmac"
	$nsx $PEER "$H" na vk0 "$vk1mac" "$CVETH6" "$KVETH6" "$BOGUS" 255 O
	sleep 0.3
	assert_equal "kernel after NA hop limit 255: $(neigh_mac "$NSK" "$KVETH6" vk1)" "kernel after NA hop limit 255: $BOGUS"
	# the truth told again (NS reaches NSK through this entry later on)
	$nsx $PEER "$H" na vk0 "$vk1mac" "$CVETH6" "$KVETH6" "$kmac" 255 O
	sleep 0.3
	assert_equal "kernel after the corrective NA: $(neigh_mac "$NSK" "$KVETH6" vk1)" "kernel after the corrective NA: $kmac"
	# routers: NSK has no default route; only the valid advertisement makes one
	assert_equal "$(ip -n "$NSK" -6 route show default)" ""
	$nsx $PEER "$H" ra vk0 fe80::66 "$MAC" 254 60
	$nsx $PEER "$H" ra vk0 fd00:198:19::66 "$MAC" 255 60
	sleep 0.3
	assert_equal "kernel after bad RAs: $(ip -n "$NSK" -6 route show default)" "kernel after bad RAs: "
	$nsx $PEER "$H" ra vk0 fe80::66 "$MAC" 255 60
	sleep 0.3
	run ip -n "$NSK" -6 route show default
	assert_output --regexp '^default via fe80::66 dev vk1 proto ra'

	# nstack: a driver program keeps the stack alive; NS routes (for the valid router)
	need_nstack
	$nsx sysctl -qw net.ipv6.conf.all.forwarding=1
	local nk
	nk=$(ip -n "$NS" -br link show nst0 | awk '{print $3}')
	bg "$d/udpecho.log" $nsx $PY "$H" udpecho "$KADDR6" 7200
	wait_file_grep "$d/udpecho.log" '^bound'
	bg "$d/sink.log" $ksx $PY "$H" sink "$CVETH6" 7210
	wait_listen "$NSK" 7210
	DRV=$d/drv DRV_N=0
	mkdir -p "$DRV"
	bg "$d/driver.log" $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --addr6 "$NADDR6/64" \
		--mac "$NMAC" --pcap "$d/nd.pcap" -- $PY "$H" driver "$DRV"
	local dpid=$BG_PID s0 s1 s2 s3 s4 s5
	wait_file_grep "$d/driver.log" '^ready' 100
	udp_until ok || fail "no UDP echo from the kernel at first: $DRV_OUT"
	# no router yet: fd00:198:19::2 is not served by nstack; the socket is the kernel's
	drive tcp "$CVETH6" 7210
	assert_equal "no router: $DRV_OUT" "no router: local $KVETH6"
	s0=$(stats "$dpid")
	# the off-link forgery: dropped, traffic keeps going to the kernel's MAC
	$nsx $PEER "$H" na nst0 "$NMAC" "$NADDR6" "$KADDR6" "$BOGUS" 254 O
	sleep 0.3
	s1=$(stats "$dpid")
	drive udp "$KADDR6" 7200
	assert_equal "after NA hop limit 254: $DRV_OUT" "after NA hop limit 254: ok"
	assert_equal "nd6_drop_hoplimit +$(($(counter "$s1" nd6_drop_hoplimit) - $(counter "$s0" nd6_drop_hoplimit)))" "nd6_drop_hoplimit +1"
	assert_equal "nd6_na_rx +$(($(counter "$s1" nd6_na_rx) - $(counter "$s0" nd6_na_rx)))" "nd6_na_rx +0"
	# the same with hop limit 255: taken (Override), frames go to the bogus MAC, no echo
	$nsx $PEER "$H" na nst0 "$NMAC" "$NADDR6" "$KADDR6" "$BOGUS" 255 O
	sleep 0.3
	s2=$(stats "$dpid")
	assert_equal "nd6_na_rx +$(($(counter "$s2" nd6_na_rx) - $(counter "$s1" nd6_na_rx)))" "nd6_na_rx +1"
	drive udp "$KADDR6" 7200
	assert_equal "after NA hop limit 255: $DRV_OUT" "after NA hop limit 255: timeout"
	# the truth told again (hop limit 255, Override, the real MAC): echoes again
	$nsx $PEER "$H" na nst0 "$NMAC" "$NADDR6" "$KADDR6" "$nk" 255 O
	sleep 0.3
	udp_until ok || fail "no UDP echo after the corrective advertisement: $DRV_OUT"
	# router advertisements: hop limit 254, then a global source: no default router
	local ll
	ll=$(ip -n "$NS" -6 addr show dev nst0 scope link | awk '/inet6/ {sub("/.*", "", $2); print $2; exit}')
	[ -n "$ll" ] || fail "nst0 has no link-local address"
	$nsx $PEER "$H" ra nst0 "$ll" "$nk" 254 60
	$nsx $PEER "$H" ra nst0 "$KADDR6" "$nk" 255 60
	sleep 0.3
	s3=$(stats "$dpid")
	assert_equal "nd6_drop_hoplimit +$(($(counter "$s3" nd6_drop_hoplimit) - $(counter "$s2" nd6_drop_hoplimit)))" "nd6_drop_hoplimit +1"
	assert_equal "nd6_drop_ra_src +$(($(counter "$s3" nd6_drop_ra_src) - $(counter "$s2" nd6_drop_ra_src)))" "nd6_drop_ra_src +1"
	assert_equal "nd6_ra_rx $(counter "$s3" nd6_ra_rx)" "nd6_ra_rx 0"
	drive tcp "$CVETH6" 7210
	assert_equal "after bad RAs: $DRV_OUT" "after bad RAs: local $KVETH6"
	# the valid one (NS's link-local address, hop limit 255): nstack routes through NS now
	$nsx $PEER "$H" ra nst0 "$ll" "$nk" 255 60
	sleep 0.3
	s4=$(stats "$dpid")
	assert_equal "nd6_ra_rx $(counter "$s4" nd6_ra_rx)" "nd6_ra_rx 1"
	drive tcp "$CVETH6" 7210
	assert_equal "after a valid RA: $DRV_OUT" "after a valid RA: local $NADDR6"
	wait_file_grep "$d/sink.log" "^$NADDR6 0 " || fail "NSK's sink saw no connection from $NADDR6"
	drive quit
	wait_pid "$dpid" 15 || fail "the driver did not end"
	# the MACs nstack's datagrams to the kernel went to, in order (its pcap)
	run timeout 20 tcpdump -nr "$d/nd.pcap" -e "ip6 and udp and dst port 7200"
	m=$(awk '/ethertype/ {sub(",", "", $4); print $4}' <<<"$output" | uniq | tr '\n' ' ')
	echo "# nstack's datagrams to $KADDR6 went to: $m" >&3
	assert_equal "$m" "$nk $BOGUS $nk "
}

# ---- 3 ----------------------------------------------------------------------------------

@test "ipv6 pmtu: Packet Too Big from a router lowers a running upload's MSS as on the kernel, 5 MB intact, kernel and nstack" {
	local d=$BATS_TEST_TMPDIR want line
	mkfile "$d/up" 5
	want=$(sha256 "$d/up")
	$nsx sysctl -qw net.ipv6.conf.all.forwarding=1
	ip -n "$NS" link set vk0 mtu 1280
	ip -n "$NSK" link set vk1 mtu 1280
	# NSK's SYN-ACKs would announce MSS 1220 (its link's MTU) and no PTB would ever be needed:
	# it announces 1440 instead, as a server behind a larger link would (the narrow link is
	# in the middle of the path)
	ip -n "$NSK" -6 route replace fd00:198:18::/64 via "$KVETH6" advmss 1440
	lab_nsc_up
	bg "$d/sink.log" $ksx $PY "$H" sink "$CVETH6" 7300
	wait_listen "$NSK" 7300
	ptbs() { $nsx awk '$1 == "Icmp6OutPktTooBigs" {print $2}' /proc/net/snmp6; }

	# kernel reference, from NSC through the router
	local p0 p1 p2
	p0=$(ptbs)
	run timeout 60 $csx $PY "$H" upload "$CVETH6" 7300 "$d/up" 0.5
	assert_success
	assert_line --regexp '^sent maxseg=1[0-9]{3}$'
	local kseg=${lines[0]#sent maxseg=}
	assert_line done
	wait_file_grep "$d/sink.log" "^fd00:198:18::3 " 100
	assert_log "$d/sink.log" "^fd00:198:18::3 $((5 * 1024 * 1024)) $want\$"
	p1=$(ptbs)
	run $csx ip -6 route get "$CVETH6"
	echo "# kernel: TCP_MAXSEG $kseg after the upload, router sent $((p1 - p0)) PTB; $output" >&3
	assert_output --partial "mtu 1280"
	((p1 > p0)) || fail "the router sent no Packet Too Big to the kernel client"
	((kseg <= 1220)) || fail "kernel: TCP_MAXSEG $kseg after a PTB of 1280"

	# nstack, on the TAP, the router as its default gateway. While the upload holds its
	# connection after sending: its TCP_MAXSEG, `nstack ss -i` and the counters. A stall (the
	# data never all sent) is diagnosed from the same three.
	need_nstack
	bg "$d/upload.log" $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --addr6 "$NADDR6/64" \
		--gw6 "$KADDR6" -- $PY "$H" upload "$CVETH6" 7300 "$d/up" 3
	local upid=$BG_PID ssout st i sent=
	for ((i = 0; i < 200; i++)); do
		grep -q '^sent maxseg=' "$d/upload.log" && sent=1 && break
		kill -0 "$upid" 2>/dev/null || break
		sleep 0.1
	done
	ssout=$("$BUILD/nstack" ss -i -p "$upid" 2>&1) || true
	st=$(stats "$upid") || true
	p2=$(ptbs)
	local diag="router sent $((p2 - p1)) PTB; nstack: icmp6_ptb_rx $(counter "$st" icmp6_ptb_rx) icmp6_pmtu_update $(counter "$st" icmp6_pmtu_update) ip6_drop_toobig $(counter "$st" ip6_drop_toobig) tcp_retrans $(counter "$st" tcp_retrans) tcp_rto $(counter "$st" tcp_rto); ss -i: $(tr '\n\t' '  ' <<<"$ssout")"
	echo "# nstack: $(grep maxseg "$d/upload.log"); $diag" >&3
	[ -n "$sent" ] || fail "nstack: the upload stalled (not all sent in 20 s; the kernel's took $kseg-byte segments): $diag"
	wait_pid "$upid" 30 || fail "the nstack upload did not end: $(cat "$d/upload.log")"
	assert_log "$d/upload.log" '^done$'
	wait_file_grep "$d/sink.log" "^$NADDR6 " 100
	assert_log "$d/sink.log" "^$NADDR6 $((5 * 1024 * 1024)) $want\$"
	((p2 > p1)) || fail "the router sent no Packet Too Big to nstack"
	(($(counter "$st" icmp6_ptb_rx) >= 1)) || fail "icmp6_ptb_rx $(counter "$st" icmp6_ptb_rx)"
	(($(counter "$st" icmp6_pmtu_update) >= 1)) || fail "icmp6_pmtu_update $(counter "$st" icmp6_pmtu_update)"
	# the MSS as the kernel's: 1280 - 40 - 20 - 12 (timestamps) when timestamps are on
	local nseg
	nseg=$(sed -n 's/^sent maxseg=//p' "$d/upload.log")
	assert_equal "nstack TCP_MAXSEG $nseg" "nstack TCP_MAXSEG $kseg"
	[[ "$ssout" =~ mss:([0-9]+) ]] || fail "no mss in nstack ss -i: $ssout"
	assert_equal "nstack ss -i mss ${BASH_REMATCH[1]}" "nstack ss -i mss $kseg"
}
