#!/usr/bin/env bats
# `nstack ss` shows what the host's ss cannot: the sockets inside a running nstack process,
# read over its control socket /run/nstack/<pid>.sock. While a preloaded iperf3 client runs,
# `nstack ss -i` lists its connections ESTAB with a non-zero rtt and cwnd; once it has exited
# the list is empty and its control socket is gone. The kernel reference is the host's own
# `ss -tin` for the same iperf3 run through the kernel: same layout, same fields.
# A listener shared by a process and its fork() child is listed once with both processes,
# ss -p style, as the kernel's `ss -ltnp` lists the same program's.

bats_require_minimum_version 1.5.0
load lib

RUNDIR=${NSTACK_RUNDIR:-/run/nstack}

setup() {
	lab_setup iperf3
}

teardown() {
	lab_teardown
}

# ss_fields LINE: "rtt cwnd" from an ss -i detail line ("rtt:0.123/0.05 ... cwnd:10").
ss_fields() {
	sed -nE 's/.*rtt:([0-9.]+)\/[0-9.]+.* cwnd:([0-9]+).*/\1 \2/p' <<<"$1" | head -n 1
}

@test "ss -i shows a running iperf3's connection ESTAB with rtt and cwnd; nothing after exit" {
	# kernel reference: iperf3 from NSK through the kernel, seen by the host's ss
	bg "$BATS_TEST_TMPDIR/iperf-s1.log" $nsx iperf3 -s -1 -B "$KADDR"
	wait_listen "$NS" 5201
	bg "$BATS_TEST_TMPDIR/iperf-k.log" $ksx iperf3 -c "$KADDR" -t 3
	local kpid=$BG_PID kline= i
	for ((i = 0; i < 40; i++)); do
		kline=$($ksx ss -tinH state established "dst $KADDR" 2>/dev/null | grep -A1 ':5201' | tail -n 1)
		[ -n "$(ss_fields "$kline")" ] && break
		sleep 0.1
	done
	read -r krtt kcwnd <<<"$(ss_fields "$kline")"
	[ -n "$krtt" ] && [ -n "$kcwnd" ] || fail "kernel ss -ti showed no rtt/cwnd: '$kline'"
	wait_pid "$kpid" 20 || fail "kernel iperf3 failed"

	need_nstack
	bg "$BATS_TEST_TMPDIR/iperf-s2.log" $nsx iperf3 -s -1 -B "$KADDR"
	wait_listen "$NS" 5201
	bg "$BATS_TEST_TMPDIR/iperf-n.log" $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" -- \
		iperf3 -c "$KADDR" -t 4
	local pid=$BG_PID # ip netns exec and nstack run exec: this is iperf3's pid
	local out= line= info=
	for ((i = 0; i < 50; i++)); do
		out=$("$BUILD/nstack" ss -i -p "$pid" 2>&1) || true
		# the data connection: the ESTAB one whose detail line shows bytes acked
		# (iperf3 has a control connection too: take the one with most bytes acked)
		info=$(grep -A1 -E "^ESTAB .* $KADDR:5201 " <<<"$out" | grep -E 'bytes_acked:[1-9]' |
			awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^bytes_acked:/) { split($i, a, ":"); if (a[2] + 0 > best) { best = a[2] + 0; line = $0 } } } END { print line }')
		[ -n "$info" ] && ! grep -q 'delivery_rate' <<<"$info" && info="" # not sampled yet
		[ -n "$info" ] && break
		sleep 0.1
	done
	[ -n "$info" ] || fail "no ESTAB connection to $KADDR:5201 with data in nstack ss -i -p $pid: $out"
	read -r rtt cwnd <<<"$(ss_fields "$info")"
	[ -n "$rtt" ] || fail "no rtt/cwnd in: $info"
	awk -v r="$rtt" 'BEGIN { exit !(r > 0) }' || fail "rtt is zero: $info"
	((cwnd > 0)) || fail "cwnd is zero: $info"
	# SACK negotiated with the kernel peer when the kernel's own connection has it, and
	# cubic, Linux's default congestion control, is nstack's too
	if grep -qw sack <<<"$kline"; then
		grep -qw sack <<<"$info" || fail "kernel ss shows sack, nstack ss does not: $info"
	fi
	grep -qw cubic <<<"$info" || fail "no cubic in: $info"
	# a bulk sender has a measured delivery rate, as the kernel's ss -ti shows
	grep -qE 'delivery_rate [0-9.]+[KMG]?bps' <<<"$info" || fail "no delivery_rate in: $info"
	# ss's layout: the same header columns as the host's ss (which glues "Port" and "Process")
	assert_equal "$(head -n 1 <<<"$out" | tr -d ' ')" "$(ss -tn | head -n 1 | tr -d ' ')"
	grep -qE "^ESTAB +[0-9]+ +[0-9]+ +$NADDR:[0-9]+ +$KADDR:5201 +users:\(\(\"iperf3\",pid=$pid,fd=[0-9]+\)\)" <<<"$out" ||
		fail "unexpected ss line layout: $out"
	# the control socket: only its owner may use it
	assert_equal "$(stat -c %a "$RUNDIR/$pid.sock")" 600
	assert_equal "$(stat -c %a "$RUNDIR")" 700
	# the host's ss cannot see this connection (it is not the kernel's)
	run $nsx ss -tnH state established "src $NADDR"
	assert_output ""

	wait_pid "$pid" 20 || fail "iperf3 on nstack failed: $(tail -n 5 "$BATS_TEST_TMPDIR/iperf-n.log")"
	grep -q "iperf Done" "$BATS_TEST_TMPDIR/iperf-n.log" || fail "iperf3 did not finish: $(tail -n 5 "$BATS_TEST_TMPDIR/iperf-n.log")"
	[ ! -e "$RUNDIR/$pid.sock" ] || fail "control socket $RUNDIR/$pid.sock left after exit"
	run "$BUILD/nstack" ss -a -H
	refute_output --regexp "pid=$pid[,)]"
	run "$BUILD/nstack" ss -p "$pid"
	assert_failure 1
	assert_output --partial "no control socket"
}

@test "ss -l lists a listening nstack server; -t/-u filter; usage errors exit 2" {
	need_nstack
	bg "$BATS_TEST_TMPDIR/nc-l.log" $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" -- nc -l "$NADDR" 7777
	local pid=$BG_PID out= i
	for ((i = 0; i < 50; i++)); do
		out=$("$BUILD/nstack" ss -l -p "$pid" 2>&1) || true
		grep -q "^LISTEN .* $NADDR:7777 " <<<"$out" && break
		sleep 0.1
	done
	grep -qE "^LISTEN +0 +[0-9]+ +$NADDR:7777 +0\.0\.0\.0:\* +users:\(\(\"nc\",pid=$pid,fd=[0-9]+\)\)" <<<"$out" ||
		fail "no LISTEN line for nc: $out"
	# without -l (ss's default) listeners are not shown; -u shows no TCP
	run "$BUILD/nstack" ss -H -p "$pid"
	assert_success
	assert_output ""
	run "$BUILD/nstack" ss -H -l -u -p "$pid"
	assert_success
	assert_output ""
	# killed by a signal, nc never runs its exit handler: the next ss finds the stale
	# socket of a process that is gone and removes it. (Another preloaded process starting
	# meanwhile sweeps such sockets too, so the file may already be gone: that is fine.)
	kill "$pid"
	wait_pid "$pid" 5 || true
	run "$BUILD/nstack" ss -a -H
	refute_output --regexp "pid=$pid[,)]"
	[ ! -e "$RUNDIR/$pid.sock" ] || fail "stale $RUNDIR/$pid.sock not removed by nstack ss"
	# its rendezvous link (if-<netns>-nst0.sock -> <pid>.sock) dangles now; the next
	# preloaded process that starts a stack removes it
	run $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" -- \
		python3 -c 'import socket; socket.socket().close()'
	assert_success
	local l
	for l in "$RUNDIR"/if-*; do
		[ -L "$l" ] || continue
		[ "$(readlink "$l")" != "$RUNDIR/$pid.sock" ] || fail "dangling $l -> $RUNDIR/$pid.sock left"
	done

	run "$BUILD/nstack" ss -p notapid
	assert_failure 2
	run "$BUILD/nstack" ss --bogus
	assert_failure 2
	run "$BUILD/nstack" ss --help
	assert_success
	assert_output --partial "usage: nstack ss"
}

# A listener shared across fork(): parent and child sleep holding it. The program prints
# "parent PID FD" and "child PID" (the child after a socket call on the inherited socket:
# a forked child joins the family lazily, at its first call).
FORKED='
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
pid = os.fork()
if pid == 0:
    s.getsockname()
    print("child", os.getpid(), flush=True)
    time.sleep(60)
    os._exit(0)
print("parent", os.getpid(), s.fileno(), flush=True)
time.sleep(60)
'

# forked_wait LOG: wait (bounded) until LOG has both lines; sets PPID_ PFD CPID.
forked_wait() {
	local log=$1 i
	for ((i = 0; i < 100; i++)); do
		grep -q '^parent ' "$log" && grep -q '^child ' "$log" && break
		sleep 0.1
	done
	read -r _ PPID_ PFD < <(grep '^parent ' "$log")
	read -r _ CPID < <(grep '^child ' "$log")
	[ -n "$PPID_" ] && [ -n "$CPID" ] || fail "the forked program did not start: $(cat "$log")"
}

@test "ss -l lists a listener shared across fork() once, with both processes, as the kernel's ss -p" {
	# kernel reference: the same program in NSK, seen by the kernel's ss -ltnp
	bg "$BATS_TEST_TMPDIR/fork-k.log" $ksx python3 -c "$FORKED" "$CVETH" 7780
	forked_wait "$BATS_TEST_TMPDIR/fork-k.log"
	local kout
	kout=$($ksx ss -ltnpH "sport = :7780")
	assert_equal "$(grep -c ':7780 ' <<<"$kout")" 1
	grep -qF "(\"python3\",pid=$PPID_,fd=$PFD)" <<<"$kout" || fail "kernel ss -p: no parent $PPID_: $kout"
	grep -qF "(\"python3\",pid=$CPID,fd=$PFD)" <<<"$kout" || fail "kernel ss -p: no child $CPID: $kout"

	need_nstack
	bg "$BATS_TEST_TMPDIR/fork-n.log" $nsx $NSTACK python3 -c "$FORKED" "$NADDR" 7780
	wait_nstack_listen 7780
	forked_wait "$BATS_TEST_TMPDIR/fork-n.log"
	local out= i
	for ((i = 0; i < 50; i++)); do
		out=$($nsx "$BUILD/nstack" ss -l -H -p "$PPID_" 2>&1) || true
		grep -qF "pid=$CPID)" <<<"$out" && break
		sleep 0.1
	done
	# once, with both: the serving process (the parent) with its fd, the child without (only
	# the serving process knows its own descriptor numbers)
	assert_equal "$(grep -c " $NADDR:7780 " <<<"$out")" 1
	grep -qE "^LISTEN +0 +[0-9]+ +$NADDR:7780 +0\.0\.0\.0:\* +users:\(.*\)$" <<<"$out" ||
		fail "no LISTEN line for the forked listener: $out"
	grep -qF "(\"python3\",pid=$PPID_,fd=$PFD)" <<<"$out" || fail "nstack ss: no parent $PPID_ fd $PFD: $out"
	grep -qF "(\"python3\",pid=$CPID)" <<<"$out" || fail "nstack ss: no child $CPID: $out"
	# the child has no control socket of its own: the family has one, the parent's
	[ -e "$RUNDIR/$PPID_.sock" ] || fail "no control socket for the parent $PPID_"
	[ ! -e "$RUNDIR/$CPID.sock" ] || fail "the child $CPID has a control socket of its own"
}

# Listeners of both families (an AF_INET one, a dual-stack AF_INET6 one, a V6ONLY one, and a
# UDP socket on ::), as ss -4 / -6 list them: state, local and peer columns.
TWOFAM='
import socket, sys, time
a, a6 = sys.argv[1], sys.argv[2]
s4 = socket.socket(); s4.bind((a, 7781)); s4.listen(4)
s6 = socket.socket(socket.AF_INET6); s6.bind(("::", 7782)); s6.listen(4)
o6 = socket.socket(socket.AF_INET6); o6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
o6.bind((a6, 7783)); o6.listen(4)
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::", 7784))
r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
try:    # a ping socket: not listed by ss (-u or -w); the kernel refuses root outside ping_group_range
    p4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
except OSError:
    pass
print("ready", flush=True)
time.sleep(30)
'

@test "ss -4 / -6 split the families as the kernel's ss does; -w lists raw ICMP sockets, ping sockets are not listed" {
	lab_addr6_up
	local d=$BATS_TEST_TMPDIR args k n
	bg "$d/k.log" $nsx python3 -c "$TWOFAM" "$KADDR" "$KADDR6"
	local kpid=$BG_PID
	wait_file_grep "$d/k.log" "^ready" 100
	need_nstack
	bg "$d/n.log" $nsx $NSTACK python3 -c "$TWOFAM" "$NADDR" "$NADDR6"
	local npid=$BG_PID
	wait_file_grep "$d/n.log" "^ready" 100
	# state, local, peer; the kernel's addresses as nstack's
	for args in "-4 -t" "-6 -t" "-6 -u" "-4 -u" "-t" "-4 -w" "-6 -w"; do
		k=$($nsx ss -H -l -n $args -p | grep "pid=$kpid," | awk '{print $1, $4, $5}' |
			sed "s/$KADDR6/$NADDR6/; s/$KADDR:/$NADDR:/" | sort)
		n=$("$BUILD/nstack" ss -H -l $args -p "$npid" | awk '{print $1, $4, $5}' | sort)
		echo "# ss -l $args: kernel [$k] nstack [$n]" >&3
		assert_equal "$n" "$k"
	done
	[ -n "$k" ] || fail "the kernel's ss listed nothing"
	run "$BUILD/nstack" ss -H -l -6 -t -p "$npid"
	assert_output --partial "*:7782 "
	refute_output --partial "$NADDR:7781"
}
