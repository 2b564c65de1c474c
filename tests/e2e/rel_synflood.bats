#!/usr/bin/env bats
# A SYN flood against an nstack listener (backlog 128): tests/helpers/synflood sends 100 000
# SYNs with a real client's options (MSS, SACK-permitted, timestamps, window scale) from
# spoofed sources in NS (198.18.0.100-.199 on the TAP's link; it answers their ARP itself, so
# nstack's SYN-ACKs really leave), at about 10 000/s and at most 20 s. Meanwhile a kernel
# client in NS opens a
# connection every ~10 ms and exchanges a request and its echo. Expected (RFC 4987 3.6, as
# Linux with syncookies=1): the SYN queue fills, the rest of the flood gets SYN cookies and
# costs nothing, legitimate connections keep being accepted (>= 90 %), syncookies_sent > 0,
# the process's RSS stays under 200 MB, it stays alive and ends cleanly on SIGTERM.
# The kernel reference: the same flood against a kernel listener in NS (same backlog; the
# default tcp_syncookies=1), sent with the client from NSK over the veth (198.19.0.100-.199),
# and the client must also keep getting in.

bats_require_minimum_version 1.5.0
load lib

HOSTILE=$ROOT/tests/helpers/hostile.py
FLOOD_N=${SYNFLOOD_COUNT:-100000}

setup() {
	lab_setup
	[ -x "$BUILD/tests/helpers/synflood" ] || fail "missing $BUILD/tests/helpers/synflood (run: make)"
}

teardown() {
	lab_teardown
}

counter() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); c=d["processes"][0]["counters"]; print(c.get(sys.argv[2], 0))' "$1" "$2"
}

field() {
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# flood_and_client NETNS IFACE SRCBASE DST PORT: the flood (from IFACE in NETNS, sources
# SRCBASE and the 99 addresses after it) and the legitimate client (in NETNS) at once; sets
# FLOOD (the flood tool's line) and CLIENT (the client's JSON). The client runs a little
# longer than the flood so that it also sees the SYN queue full of half-open children.
flood_and_client() {
	local ns=$1 ifc=$2 srcs=$3 dst=$4 port=$5 cpid
	ip netns exec "$ns" python3 "$HOSTILE" client "$dst" "$port" 22 >"$BATS_TEST_TMPDIR/client.json" 2>&1 &
	cpid=$!
	LAB_PIDS+=("$cpid")
	sleep 1
	FLOOD=$(timeout 60 ip netns exec "$ns" "$BUILD/tests/helpers/synflood" "$ifc" "$dst" "$port" \
		"$FLOOD_N" 10000 20 "$srcs" 100) || fail "synflood failed: $FLOOD"
	wait_pid "$cpid" 60 || fail "client failed: $(cat "$BATS_TEST_TMPDIR/client.json")"
	CLIENT=$(cat "$BATS_TEST_TMPDIR/client.json")
}

# check_client WHO: at least 90 % of the legitimate connections made it
check_client() {
	local att ok
	att=$(field "$CLIENT" attempts) ok=$(field "$CLIENT" ok)
	((att >= 50)) || fail "$1: only $att client attempts: $CLIENT"
	((ok * 10 >= att * 9)) || fail "$1: $ok of $att legitimate connections succeeded: $CLIENT"
}

@test "synflood: 100 000 spoofed SYNs, SYN cookies keep the listener open" {
	# kernel reference: a kernel listener in NS on the veth (198.19.0.1), same backlog, the
	# flood and the client in NSK
	bg "$BATS_TEST_TMPDIR/kserver.log" $nsx python3 "$HOSTILE" server "$KVETH" 7100 - 128
	wait_listen "$NS" 7100
	flood_and_client "$NSK" vk1 198.19.0.100 "$KVETH" 7100
	echo "kernel: flood: $FLOOD; client: $CLIENT" >&3
	check_client kernel

	need_nstack
	bg "$BATS_TEST_TMPDIR/nserver.log" $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" -- \
		python3 "$HOSTILE" server "$NADDR" 7101 - 128
	local spid=$BG_PID s rss max_rss=0 i
	wait_nstack_listen 7101
	# watch the RSS while the flood runs
	(
		while kill -0 "$spid" 2>/dev/null; do
			rss_kb "$spid" 2>/dev/null
			sleep 0.5
		done >"$BATS_TEST_TMPDIR/rss"
	) &
	LAB_PIDS+=("$!")
	flood_and_client "$NS" nst0 198.18.0.100 "$NADDR" 7101
	echo "nstack: flood: $FLOOD; client: $CLIENT" >&3
	kill -0 "$spid" || fail "the nstack server died: $(cat "$BATS_TEST_TMPDIR/nserver.log")"
	s=$("$BUILD/nstack" stats --json -p "$spid")
	echo "nstack: syncookies_sent $(counter "$s" syncookies_sent) recv_ok $(counter "$s" syncookies_recv_ok)" \
		"failed $(counter "$s" syncookies_failed) passive_open $(counter "$s" tcp_passive_open)" \
		"drop_listen $(counter "$s" tcp_drop_listen) arp_drop_queue $(counter "$s" arp_drop_queue)" >&3
	check_client nstack
	(($(counter "$s" syncookies_sent) > 0)) || fail "no SYN cookie sent: $s"
	for i in $(cat "$BATS_TEST_TMPDIR/rss"); do ((i > max_rss)) && max_rss=$i; done
	echo "nstack: max RSS ${max_rss} kB" >&3
	((max_rss > 0 && max_rss < 200 * 1024)) || fail "RSS reached ${max_rss} kB"
	# a clean end on SIGTERM, bounded
	kill -TERM "$spid"
	local rc=0
	wait_pid "$spid" 20 || rc=$?
	((rc != 124)) || fail "the nstack server did not end on SIGTERM"
	((rc < 128 || rc == 143)) || fail "the nstack server ended with status $rc"
}
