#!/usr/bin/env bats
# traceroute, tracepath and ping's error reports through nstack, each with the output of the
# same command on a kernel host at the same place in the network. They depend on the error
# queue (IP_RECVERR / IPV6_RECVERR, recvmsg(MSG_ERRQUEUE)): Time Exceeded from each hop and
# Port Unreachable from the destination come back as queued errors with the quoted probe, the
# offender's address and the ICMP message's TTL; tracepath learns the MTU from the local
# EMSGSIZE error of a datagram larger than IP_PMTUDISC_DO allows.
#
#   NSC  198.18.0.3, fd00:198:18::3 (kernel reference)     nstack on nst0: 198.18.0.2,
#         vc1 ── vc0 ┐                                              fd00:198:18::2
#                    NS (the router: 198.18.0.1, fd00:198:18::1 on nst0; forwarding on)
#                    └ vk0 ── vk1 NSK 198.19.0.2, fd00:198:19::2 (the destination, 2 hops)
#
# NS answers both sources from 198.18.0.1 / fd00:198:18::1, so the hop lists are the same.

load lib

NSC=

setup() {
	lab_require traceroute tracepath ping
	lab_up
	lab_addr6_up
	$nsx sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	lab_nsc_up
	NST="$BUILD/nstack run --if nst0 --addr $NADDR/24 --gw $KADDR --addr6 $NADDR6/64 --gw6 $KADDR6 --"
}

teardown() {
	lab_nsc_down
	lab_teardown
}

# norm: the output without times (they differ run to run) and column padding.
norm() {
	sed -E 's/[0-9]+\.[0-9]+ ?ms//g; s/, time [0-9]+ms//; /^rtt /d; s/[[:space:]]+/ /g; s/ $//' <<<"$1"
}

# same_as_kernel CMD...: CMD from NSC (the kernel) and through nstack in NS; the outputs, times
# left out, must be equal, and nstack's frames must have gone out on nst0.
same_as_kernel() {
	run timeout 60 $csx "$@"
	local krc=$status kout=$output
	echo "# kernel: $*" >&3
	sed 's/^/#   /' <<<"$kout" >&3
	need_nstack
	local before
	before=$(tap_rx)
	run timeout 60 $nsx $NST "$@"
	echo "# nstack:" >&3
	sed 's/^/#   /' <<<"$output" >&3
	assert_equal "$status" "$krc"
	assert_equal "$(norm "$output")" "$(norm "$kout")"
	assert_tap_used "$before"
}

@test "traceroute (UDP probes) and traceroute -6 through nstack: the kernel's hops" {
	same_as_kernel traceroute -n -q 2 -w 2 198.19.0.2
	assert_line --regexp '^ 1  198\.18\.0\.1 '
	assert_line --regexp '^ 2  198\.19\.0\.2 '
	same_as_kernel traceroute -6 -n -q 2 -w 2 "$CVETH6"
	assert_line --regexp '^ 1  fd00:198:18::1 '
	assert_line --regexp '^ 2  fd00:198:19::2 '
}

@test "tracepath and tracepath -6 through nstack: path MTU and hops as the kernel's" {
	same_as_kernel tracepath -n 198.19.0.2
	assert_output --partial "pmtu 1500"
	assert_output --partial "reached"
	same_as_kernel tracepath -n "$CVETH6"
	assert_output --partial "pmtu 1500"
	assert_output --partial "reached"
	# a narrower link on the way: tracepath sees the router's Packet Too Big / Fragmentation
	# Needed (the error queue's EMSGSIZE with the MTU) and reports the new path MTU
	ip -n "$NS" link set vk0 mtu 1400
	ip -n "$NSK" link set vk1 mtu 1400
	same_as_kernel tracepath -n 198.19.0.2
	assert_output --partial "pmtu 1400"
	same_as_kernel tracepath -n "$CVETH6"
	assert_output --partial "pmtu 1400"
}

@test "ping -t 1 and ping -M do through nstack: errors reported as the kernel's" {
	same_as_kernel ping -n -c 2 -i 0.2 -W 1 -t 1 198.19.0.2
	assert_output --partial "From 198.18.0.1 icmp_seq=1 Time to live exceeded"
	same_as_kernel ping -6 -n -c 2 -i 0.2 -W 1 -t 1 "$CVETH6"
	assert_output --partial "From fd00:198:18::1 icmp_seq=1 Time exceeded: Hop limit"
	same_as_kernel ping -n -c 1 -W 1 -M do -s 1600 198.19.0.2
	assert_output --partial "local error: message too long, mtu=1500"
}
