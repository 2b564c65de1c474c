#!/usr/bin/env bats
# ICMP echo: while a preloaded process is alive in the lab (the stack only exists inside such a
# process), `ping` from the kernel in NS to the stack's address is answered, as the kernel host
# NSK answers it.

load lib

setup() {
	lab_setup ping
}

teardown() {
	lab_teardown
}

@test "ping to the stack's address is answered, kernel and nstack" {
	run timeout 20 $nsx ping -c 3 -W 2 198.19.0.2
	assert_success
	assert_output --partial "3 received"

	need_nstack
	# A kernel listener, and an nstack process that connects to it and stays alive.
	bg "$BATS_TEST_TMPDIR/listener.log" $nsx nc -l "$KADDR" 9100
	wait_listen "$NS" 9100
	bg "$BATS_TEST_TMPDIR/nstack.log" timeout 30 $nsx $NSTACK python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 9100), timeout=10)
time.sleep(20)
' "$KADDR"
	wait_established "$NS" "$NADDR" 100

	run timeout 20 $nsx ping -c 3 -W 2 "$NADDR"
	assert_success
	assert_output --partial "3 received"
}

# ping_norm: ping's output without the times (they differ run to run)
ping_norm() {
	sed -E 's/time=[0-9.]+ ms//; s/, time [0-9]+ms//; /^rtt /d' <<<"$1"
}

@test "ping and ping -6 run through nstack (raw ICMP sockets as root), output as the kernel's" {
	lab_addr6_up
	# the kernel reference: NSK's ping of the same addresses, over the veth
	run timeout 20 $ksx ping -c 2 -i 0.2 -W 2 "$KADDR"
	assert_success
	local k4=$output
	run timeout 20 $ksx ping -6 -c 2 -i 0.2 -W 2 "$KADDR6"
	assert_success
	local k6=$output
	need_nstack
	bg "$BATS_TEST_TMPDIR/td.log" $nsx tcpdump -i nst0 -n -l icmp or icmp6
	sleep 0.5
	run timeout 20 $nsx $NSTACK ping -c 2 -i 0.2 -W 2 "$KADDR"
	assert_success
	assert_equal "$(ping_norm "$output")" "$(ping_norm "$k4")"
	run timeout 20 $nsx $NSTACK ping -6 -c 2 -i 0.2 -W 2 "$KADDR6"
	assert_success
	assert_equal "$(ping_norm "$output")" "$(ping_norm "$k6")"
	sleep 0.3
	# the requests were nstack's, on its TAP
	assert_log "$BATS_TEST_TMPDIR/td.log" "IP $NADDR > $KADDR: ICMP echo request"
	assert_log "$BATS_TEST_TMPDIR/td.log" "IP6 $NADDR6 > $KADDR6: ICMP6, echo request"
}

@test "ICMP echo sockets (SOCK_DGRAM, IPPROTO_ICMP): EACCES outside ping_group_range, ping over them inside, kernel and nstack" {
	local probe='import socket, sys
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP); print("ok")
except OSError as e:
    print(e.strerror)'
	# outside the range (this namespace's default "1 0"): both refuse
	$nsx sysctl -qw net.ipv4.ping_group_range="1 0"
	run timeout 10 $nsx python3 -c "$probe"
	local kernel=$output
	need_nstack
	run timeout 10 $nsx $NSTACK python3 -c "$probe"
	assert_output "$kernel"
	assert_output "Permission denied"
	# inside the range: ping uses an echo socket, no raw socket at all
	$nsx sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	run timeout 20 $nsx $NSTACK strace -f -e trace=socket ping -c 2 -i 0.2 -W 2 "$KADDR"
	assert_success
	assert_output --partial "2 received"
	refute_output --partial "SOCK_RAW"
}

@test "a raw ICMP socket and an ICMPv6 echo socket survive exec and keep working in the new program, kernel and nstack" {
	lab_addr6_up
	$nsx sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	$ksx sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	local h=$BATS_TEST_DIRNAME/icmp_exec.py
	run timeout 20 $ksx python3 "$h" parent "$KVETH" "$KVETH6"
	echo "# kernel: $output" >&3
	assert_success
	local kernel=$output
	need_nstack
	local before
	before=$(tap_rx)
	run timeout 20 $nsx $NSTACK python3 "$h" parent "$KADDR" "$KADDR6"
	echo "# nstack: $output" >&3
	assert_success
	assert_output "$kernel"
	assert_line "raw reply b'exec'"
	assert_line "ping6 reply type 129 b'exec6'"
	assert_tap_used "$before"
}
