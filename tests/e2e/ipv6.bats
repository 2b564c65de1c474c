#!/usr/bin/env bats
# IPv6 (issue 14): TCP and UDP over IPv6, dual-stack AF_INET6 sockets, ICMPv6 echo, Neighbor
# Discovery, fragmentation. The TAP lab with lab_addr6_up:
#
#   NS  nst0 TAP  fd00:198:18::1 (KADDR6) 198.18.0.1   nstack: fd00:198:18::2 (NADDR6) 198.18.0.2
#   NS  vk0  veth fd00:198:19::1 (KVETH6) 198.19.0.1 <-> NSK vk1 fd00:198:19::2 (CVETH6) 198.19.0.2
#
# Every scenario is done twice in the same test and compared: by a kernel host (NSK, or a
# kernel program in NS talking to NSK) and by nstack (in NS on the TAP, talking to the kernel
# in NS). Only fd00:198:18::/64, fd00:198:19::/64, the link-local addresses of the lab's own
# links and 198.18.0.0/15, only inside the lab's namespaces.

bats_require_minimum_version 1.5.0
load lib

SEM="$ROOT/tests/e2e/ipv6_semantics.py"
UDP6="python3 $ROOT/tests/helpers/udp_tool.py"

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	mkfile "$BATS_FILE_TMPDIR/www/file" 20
	mkfile "$BATS_FILE_TMPDIR/1m" 1
	head -c 1234 /dev/urandom >"$BATS_FILE_TMPDIR/www/small"
}

setup() {
	lab_setup ping socat tcpdump
	lab_addr6_up
}

teardown() {
	lab_teardown
}

# wait_nstack_listen6 PORT [TRIES]: the nstack program in NS listens on [NADDR6]:PORT (a bare
# SYN from a raw IPv6 socket in NS, tests/e2e/ipv6_probe.py; no connection is used up).
wait_nstack_listen6() {
	ip netns exec "$NS" python3 "$ROOT/tests/e2e/ipv6_probe.py" "$KADDR6" "$NADDR6" "$1" "${2:-100}"
}

# log_forms LOG: an http.server log with the client address and the time left out:
# "ADDR-FORM request status" per line, ADDR-FORM one of v4 / v6 / v4mapped.
log_forms() {
	sed -nE 's/^([^ ]+) - - \[[^]]*\] (.*)$/\1 \2/p' "$1" | awk '{
		a = $1; $1 = ""
		if (a ~ /^::ffff:[0-9.]+$/) f = "v4mapped"; else if (a ~ /:/) f = "v6"; else f = "v4"
		print f $0 }'
}

# full6 ADDR6: the address with every group in four digits.
full6() {
	python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]).exploded)' "$1"
}

# eui64_ll MAC: the link-local address of RFC 4291 Appendix A (modified EUI-64).
eui64_ll() {
	local IFS=: m
	read -ra m <<<"$1"
	printf 'fe80::%x:%x:%x:%x\n' $(((16#${m[0]} ^ 2) << 8 | 16#${m[1]})) \
		$((16#${m[2]} << 8 | 0xff)) $((0xfe << 8 | 16#${m[3]})) $((16#${m[4]} << 8 | 16#${m[5]}))
}

@test "ipv6: curl -6 downloads 20 MB intact from a kernel http.server on [::], kernel and nstack" {
	http_server "$BATS_FILE_TMPDIR/www" 8000 ::
	local want log=$BATS_TEST_TMPDIR/http-8000.log url="http://[$KADDR6]:8000/file"
	want=$(sha256 "$BATS_FILE_TMPDIR/www/file")

	run timeout 60 $ksx curl -6 -sS -g -o "$BATS_TEST_TMPDIR/kernel.out" "$url"
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/kernel.out")" "$want"
	assert_log "$log" '^fd00:198:19::2 .*"GET /file HTTP/1.1" 200'

	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 120 $nsx $NSTACK curl -6 -sS -g -o "$BATS_TEST_TMPDIR/nstack.out" \
		-w '%{http_code} %{size_download} %{remote_ip} %{local_ip}\n' "$url"
	assert_success
	assert_output "200 $((20 * 1024 * 1024)) $KADDR6 $NADDR6"
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack.out")" "$want"
	assert_log "$log" '^fd00:198:18::2 .*"GET /file HTTP/1.1" 200'
	assert_tap_used "$rx0"

	# the URL with brackets and no -g (curl recognises an IPv6 literal itself), both clients
	local who
	for who in kernel nstack; do
		if [ "$who" = kernel ]; then
			run timeout 20 $ksx curl -sS -w ' %{http_code}' "http://[$KADDR6]:8000/small"
		else
			run timeout 20 $nsx $NSTACK curl -sS -w ' %{http_code}' "http://[$KADDR6]:8000/small"
		fi
		assert_success
		assert_equal "$(sha256sum <<<"${output% 200}")" "$(sha256sum <<<"$(cat "$BATS_FILE_TMPDIR/www/small")")"
		assert_output --regexp ' 200$'
	done
}

@test "ipv6: http.server --bind :: is dual-stack, IPv4 clients seen as ::ffff:a.b.c.d, kernel and nstack" {
	local who saddr4 saddr6 port log forms=()
	for who in kernel nstack; do
		log=$BATS_TEST_TMPDIR/http-$who.log
		if [ "$who" = kernel ]; then
			port=8010 saddr4=198.19.0.2 saddr6=$CVETH6
			bg "$log" $ksx python3 -m http.server $port --bind :: --directory "$BATS_FILE_TMPDIR/www"
			wait_listen "$NSK" $port
		else
			need_nstack
			port=8011 saddr4=$NADDR saddr6=$NADDR6
			bg "$log" $nsx $NSTACK python3 -m http.server $port --bind :: --directory "$BATS_FILE_TMPDIR/www"
			wait_nstack_listen6 $port
		fi
		run timeout 20 $nsx curl -sS -g -o /dev/null -o /dev/null -w '%{http_code} %{size_download} %{remote_ip}\n' \
			"http://[$saddr6]:$port/small" "http://$saddr4:$port/small"
		assert_success
		assert_equal "${lines[0]}" "200 1234 $saddr6"
		assert_equal "${lines[1]}" "200 1234 $saddr4"
		wait_file_grep "$log" '^::ffff:'
		if [ "$who" = kernel ]; then
			assert_log "$log" '^fd00:198:19::1 - - .*"GET /small HTTP/1.1" 200'
			assert_log "$log" '^::ffff:198\.19\.0\.1 - - .*"GET /small HTTP/1.1" 200'
		else
			assert_log "$log" '^fd00:198:18::1 - - .*"GET /small HTTP/1.1" 200'
			assert_log "$log" '^::ffff:198\.18\.0\.1 - - .*"GET /small HTTP/1.1" 200'
		fi
		forms+=("$(log_forms "$log")")
	done
	assert_equal "${forms[1]}" "${forms[0]}"
}

@test "ipv6: AF_INET6 socket semantics (V6ONLY, v4-mapped, names, options, port space) match the kernel" {
	# kernel: the script in NSK (its only addresses: 198.19.0.2, fd00:198:19::2), the peer in NS
	run timeout 60 $ksx python3 "$SEM" 198.19.0.2 "$CVETH6" "$KVETH" "$KVETH6" ip netns exec "$NS"
	assert_success
	local kout=$output
	echo "$kout" >"$BATS_TEST_TMPDIR/kernel.out"
	# what the kernel says, spelled out (the comparison below holds nstack to all of it)
	assert_line "tcp6 SO_DOMAIN SO_TYPE SO_PROTOCOL: (10, 1, 6)"
	assert_line "tcp6 IPV6_V6ONLY default: 0"
	assert_line "tcp6 getsockname unbound: (::, 0, 0, 0)"
	assert_line "tcp6 IPV6_V6ONLY set after bind: EINVAL"
	assert_line "tcp6 V6ONLY=1 bind ::ffff:L4: EINVAL"
	assert_line "tcp6 IPV6_UNICAST_HOPS default: 64"
	assert_line "udp: [::]:P V6ONLY=0 then 0.0.0.0:P: EADDRINUSE"
	assert_line "udp: [::]:P V6ONLY=1 then 0.0.0.0:P: None"
	assert_line "tcp listener [::]:9421 V6ONLY=1: peer IPv4 connect: ECONNREFUSED"
	assert_line --regexp '^tcp listener \[::\]:9420 V6ONLY=0: accept IPv4: from \(::ffff:P4, eph=same, 0, 0\)'
	assert_line --partial "udp6 [::]:9440 recvfrom an IPv4 peer: v4 hello from (::ffff:P4, eph=same, 0, 0)"
	assert_line --partial "hops=7 tclass=32"

	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 60 $nsx $NSTACK python3 "$SEM" "$NADDR" "$NADDR6" "$KADDR" "$KADDR6" ip netns exec "$NS"
	echo "$output" >"$BATS_TEST_TMPDIR/nstack.out"
	assert_success
	assert_tap_used "$rx0"
	run diff -u "$BATS_TEST_TMPDIR/kernel.out" "$BATS_TEST_TMPDIR/nstack.out"
	assert_success
}

# nc6 WHO DIR PORT: 1 MB over nc -6, kernel client -> server (DIR=in: the server is nstack's or
# NSK's) or client -> kernel server in NS (DIR=out: the client is nstack or NSK); checks the
# bytes, both exit statuses and the address the server saw.
nc6() {
	local who=$1 dir=$2 port=$3 d=$BATS_TEST_TMPDIR saddr cpre spre client
	local recv=$d/recv-$who-$dir log=$d/nc-$who-$dir.log
	if [ "$dir" = in ]; then
		if [ "$who" = kernel ]; then saddr=$CVETH6 spre=$ksx client=$KVETH6; else saddr=$NADDR6 spre="$nsx $NSTACK" client=$KADDR6; fi
		cpre=$nsx
	else
		saddr=$KADDR6 spre=$nsx
		if [ "$who" = kernel ]; then cpre=$ksx client=$CVETH6; else cpre="$nsx $NSTACK" client=$NADDR6; fi
	fi
	bg "$log" sh -c "exec $spre nc -6 -n -v -l $saddr $port >'$recv'"
	local spid=$BG_PID
	if [ "$who $dir" = "nstack in" ]; then
		need_nstack
		wait_nstack_listen6 "$port"
	elif [ "$who $dir" = "kernel in" ]; then
		wait_listen "$NSK" "$port"
	else
		wait_listen "$NS" "$port"
		[ "$who" = kernel ] || need_nstack
	fi
	run timeout 60 $cpre nc -6 -N "$saddr" "$port" <"$BATS_FILE_TMPDIR/1m"
	assert_success
	local rc=0
	wait_pid "$spid" 20 || rc=$?
	assert_equal "server exit $rc" "server exit 0"
	assert_log "$log" "Connection received on $client "
	assert_equal "$(sha256 "$recv")" "$(sha256 "$BATS_FILE_TMPDIR/1m")"
}

@test "ipv6: nc -6 moves 1 MB to a listener and from a client, kernel and nstack" {
	nc6 kernel in 9300
	nc6 nstack in 9301
	nc6 kernel out 9310
	nc6 nstack out 9311
}

# -b 4096: socat is the only reader of its PIPE; a blocking write of 8 KB into a pipe with one
# free page would wait forever (seen once with the kernel as the server); 4 KB always fits.
@test "ipv6: socat TCP6-LISTEN PIPE echoes 1 MB to a kernel socat client, kernel and nstack" {
	local who port saddr client spid rc d=$BATS_TEST_TMPDIR
	for who in kernel nstack; do
		if [ "$who" = kernel ]; then
			port=9500 saddr=$CVETH6 client=$KVETH6
			bg "$d/socat-$who.log" $ksx socat -d -d -b 4096 TCP6-LISTEN:$port,reuseaddr PIPE
			spid=$BG_PID
			wait_listen "$NSK" $port
		else
			need_nstack
			port=9501 saddr=$NADDR6 client=$KADDR6
			bg "$d/socat-$who.log" $nsx $NSTACK socat -d -d -b 4096 TCP6-LISTEN:$port,reuseaddr PIPE
			spid=$BG_PID
			wait_nstack_listen6 $port
		fi
		run timeout 60 $nsx sh -c "exec socat -t 10 STDIO 'TCP6:[$saddr]:$port' <'$BATS_FILE_TMPDIR/1m' >'$d/echo-$who'"
		assert_success
		rc=0
		wait_pid "$spid" 20 || rc=$?
		assert_equal "server exit $rc" "server exit 0"
		assert_equal "$(sha256 "$d/echo-$who")" "$(sha256 "$BATS_FILE_TMPDIR/1m")"
		# socat prints IPv6 addresses in full (fd00:0198:0018:0000:...)
		assert_log "$d/socat-$who.log" "accepting connection from AF=10 \[$(full6 "$client")\]:[0-9]+ on AF=10 \[$(full6 "$saddr")\]:$port\$"
	done
}

@test "ipv6: ping -6 to the global and the link-local address is answered, kernel and nstack" {
	# kernel: NSK's vk1, from NS
	local kmac nmac
	run timeout 20 $nsx ping -6 -c 3 -W 2 "$CVETH6"
	assert_success
	assert_output --partial "3 received"
	kmac=$(ip -n "$NSK" -br link show vk1 | awk '{print $3}')
	run timeout 20 $nsx ping -6 -c 2 -W 2 "$(eui64_ll "$kmac")%vk0"
	assert_success
	assert_output --partial "2 received"

	# nstack: a program holding a socket keeps the stack alive (it starts at the first socket)
	need_nstack
	bg "$BATS_TEST_TMPDIR/holder.log" timeout 30 $nsx $NSTACK python3 -c '
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 9600))
print("ready", flush=True)
time.sleep(25)
'
	wait_file_grep "$BATS_TEST_TMPDIR/holder.log" '^ready'
	run timeout 20 $nsx ping -6 -c 3 -W 2 "$NADDR6"
	assert_success
	assert_output --partial "3 received"
	# its MAC, as Neighbor Discovery taught the kernel; the link-local address derives from it
	nmac=$(ip -n "$NS" -6 neigh show "$NADDR6" dev nst0 | awk '/lladdr/ {print $3}')
	[ -n "$nmac" ] || fail "no neighbor entry for $NADDR6: $(ip -n "$NS" -6 neigh show dev nst0)"
	run timeout 20 $nsx ping -6 -c 2 -W 2 "$(eui64_ll "$nmac")%nst0"
	assert_success
	assert_output --partial "2 received"
}

# frag6 WHO DIR PORT: 3 datagrams of 30000 bytes over IPv6 (21 fragments each at MTU 1500);
# prints the receiver's summary line. DIR=out: the sender is NSK's kernel or nstack, the
# receiver a kernel program in NS; DIR=in: a kernel sender in NS, the receiver NSK's kernel or
# nstack. nstack runs with --pcap $BATS_TEST_TMPDIR/DIR.pcap.
frag6() {
	local who=$1 dir=$2 port=$3 raddr rpre spre log=$BATS_TEST_TMPDIR/recv-$1-$2.log
	local nst="$nsx $BUILD/nstack run --if nst0 --addr $NADDR/24 --addr6 $NADDR6/64 --pcap $BATS_TEST_TMPDIR/$dir.pcap --"
	if [ "$dir" = out ]; then
		raddr=$KADDR6 rpre=$nsx
		if [ "$who" = kernel ]; then spre=$ksx; else spre=$nst; fi
	else
		spre=$nsx
		if [ "$who" = kernel ]; then raddr=$CVETH6 rpre=$ksx; else raddr=$NADDR6 rpre=$nst; fi
	fi
	bg "$log" $rpre $UDP6 recv "$raddr" "$port"
	local rpid=$BG_PID
	wait_file_grep "$log" "^bound" 100 || return 1
	timeout 20 $spre $UDP6 send "$raddr" "$port" 3 30000 >/dev/null || return 1
	wait_pid "$rpid" 30 || return 1
	grep datagrams "$log"
}

# frags PCAP... SRC: IPv6 fragments from SRC in these capture files.
frags() {
	local src=${*: -1} f n=0 c
	for f in "${@:1:$#-1}"; do
		[ -e "$f" ] || continue
		c=$(timeout 20 tcpdump -nr "$f" "ip6 and ip6[6] == 44 and src host $src" 2>/dev/null | wc -l)
		n=$((n + c))
	done
	echo "$n"
}

@test "ipv6: a 30000-byte UDP datagram crosses fragmented both ways, kernel and nstack" {
	local kline nline n
	kline=$(frag6 kernel in 9710)
	assert_equal "$(echo "$kline" | awk '{print $1, $3}')" "3 90000"
	need_nstack
	nline=$(frag6 nstack in 9711)
	assert_equal "$nline" "$kline"
	n=$(frags "$BATS_TEST_TMPDIR/in.pcap" "$BATS_TEST_TMPDIR/in.pcap".* "$KADDR6")
	[ "$n" -ge 63 ] || fail "expected >= 63 fragments to nstack in the pcap, got $n"

	# out: the sender exits right after its last sendto, as the kernel's does; datagrams
	# still waiting for Neighbor Discovery then must still go out (the kernel sends them from
	# its neighbor queue after the process is gone)
	kline=$(frag6 kernel out 9700)
	assert_equal "$(echo "$kline" | awk '{print $1, $3}')" "3 90000"
	nline=$(frag6 nstack out 9701)
	assert_equal "$nline" "$kline"
	# datagrams sent after the program's exit go out through the keeper: <pcap>.<pid>
	n=$(frags "$BATS_TEST_TMPDIR/out.pcap" "$BATS_TEST_TMPDIR/out.pcap".* "$NADDR6")
	[ "$n" -ge 63 ] || fail "expected >= 63 fragments from nstack in the pcap, got $n"
}

# nd_exit WHO PORT: 3 datagrams of 1000 bytes to a next hop that answers Neighbor Discovery
# only after the sender has exited (its address is added back 0.5 s later); prints the
# receiver's summary. kernel: NSK sends to KADDR6 via KVETH6 (taken off vk0); nstack: sends to
# KADDR6 (taken off nst0). The receiver in NS is bound to [::].
nd_exit() {
	local who=$1 port=$2 log=$BATS_TEST_TMPDIR/recv-nd-$1.log spre dev addr
	if [ "$who" = kernel ]; then spre=$ksx dev=vk0 addr=$KVETH6; else spre="$nsx $NSTACK" dev=nst0 addr=$KADDR6; fi
	bg "$log" $nsx $UDP6 recv :: "$port"
	local rpid=$BG_PID
	wait_file_grep "$log" "^bound" 100 || return 1
	ip -n "$NS" -6 addr del "$addr/64" dev "$dev"
	timeout 20 $spre $UDP6 send "$KADDR6" "$port" 3 1000 >/dev/null || return 1
	sleep 0.5
	ip -n "$NS" -6 addr add "$addr/64" dev "$dev" nodad
	wait_pid "$rpid" 30 || return 1
	grep datagrams "$log"
}

@test "ipv6: UDP datagrams still waiting for Neighbor Discovery when the sender exits go out, kernel and nstack" {
	# the kernel sends them from its neighbor queue after the process is gone; nstack's IPv4
	# twin (datagrams waiting for ARP) is handed to the keeper at exit
	local kline nline
	kline=$(nd_exit kernel 9800)
	assert_equal "$(echo "$kline" | awk '{print $1, $3}')" "3 3000"
	need_nstack
	nline=$(nd_exit nstack 9801)
	assert_equal "$nline" "$kline"
}

@test "ipv6: IPv4 still works beside IPv6 (curl -4 from a dual-stack kernel server), kernel and nstack" {
	http_server "$BATS_FILE_TMPDIR/www" 8020 ::
	local log=$BATS_TEST_TMPDIR/http-8020.log url="http://$KADDR:8020/file" want
	want=$(sha256 "$BATS_FILE_TMPDIR/www/file")
	run timeout 60 $ksx curl -4 -sS -o "$BATS_TEST_TMPDIR/kernel.out" "$url"
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/kernel.out")" "$want"
	assert_log "$log" '^::ffff:198\.19\.0\.2 .*"GET /file HTTP/1.1" 200'
	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 120 $nsx $NSTACK curl -4 -sS -o "$BATS_TEST_TMPDIR/nstack.out" -w '%{local_ip}\n' "$url"
	assert_success
	assert_output "$NADDR"
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack.out")" "$want"
	assert_log "$log" '^::ffff:198\.18\.0\.2 .*"GET /file HTTP/1.1" 200'
	assert_tap_used "$rx0"
}
