#!/usr/bin/env bash
# bench/run.sh — `make bench`: each case on nstack and on the kernel, side by side, in one lab
# and one run; writes bench/results/<date>.json, <date>.md (the table, also printed at the end)
# and, with gnuplot, <date>-ratios.png and <date>-latency.png (bench/plot.gp). Every figure is
# nstack and kernel from the same run, the median of RUNS runs with min and max, and the ratio
# nstack/kernel of the medians.
#
#   sudo bench/run.sh [RUNS=3] [SECONDS=3]      (BUILD=dir picks the build, default build/)
#   BENCH_CASES="iperf_tx pingpong"            run only these cases (default: all below)
#   BENCH_BUSY_POLL_US=50                      the busy-poll budget of the pingpong_bp row
#   BENCH_LOSSY=1                              also run bench/lossy.sh (long; off by default)
#   BENCH_BUDGET=600                           seconds after which the remaining cases are
#                                              skipped (and said so), to stay near 10 minutes
#
# Lab (removed on exit, even on failure; same pattern as bench/download.sh): netns NS with a
# TAP nst0 (kernel side 198.18.0.1/24, nstack 198.18.0.2/24) and a veth vk0/vk1 to netns NSK
# (198.19.0.1 <-> 198.19.0.2). nstack talks to the kernel of NS over the TAP; the kernel
# reference talks to the same kernel over the veth. Only 198.18.0.0/15, only in the namespaces.
# The IPv6 twins (unique-local, as tests/e2e/lib.bash's lab_addr6_up, only in the namespaces,
# all nodad, no DAD or router solicitations there): nst0 fd00:198:18::1/64, nstack
# fd00:198:18::2/64 (--addr6), vk0 fd00:198:19::1/64 <-> vk1 fd00:198:19::2/64.
#
# Cases (the app side named is the one that runs on nstack, or on NSK's kernel as reference;
# the kernel column is always kernel <-> kernel over the veth):
#   iperf3_tx   app = iperf3 client sending to a kernel iperf3 server in NS   (Gbit/s)
#   iperf3_rx   app = iperf3 server, a kernel client in NS sends to it         (Gbit/s)
#   cpu_tx/rx   CPU seconds per GB moved of the app process during those runs: iperf3's own
#               getrusage (user+sys of every thread, so nstack's engine thread is included;
#               for the kernel, the protocol work done in the process's syscalls, but not
#               softirq work that ran elsewhere: the kernel figure is a lower bound)
#   pingpong    app = sockperf ping-pong client (--tcp), kernel sockperf server in NS
#               (half round trip p50/p99/p99.9, µs; lower is better)
#   pingpong_bp the same with NSTACK_BUSY_POLL_US=BENCH_BUSY_POLL_US on the nstack side
#   underload   latency under load: sockperf under-load (--tcp, 64-byte messages, a reply every
#               100) at half the message rate the kernel client reaches in sockperf throughput
#               mode in the same run (the rate is in the row's note), p50/p99/p99.9 (µs)
#   iperf3_tx6/rx6, cpu_tx6/rx6  the iperf3 cases over IPv6 (iperf3 -6; cases iperf_tx6, iperf_rx6)
#   pingpong6   ping-pong over IPv6 (and pingpong6_bp): Debian 12's sockperf 3.7 parses only
#               IPv4 addresses (inet_aton), so this is the bench's own ping-pong (PP_SRC below,
#               built with cc): sockperf's method, one TCP connection, TCP_NODELAY, 14-byte
#               messages, blocking send then recv, 0.4 s of warm-up, half round trip p50/p99/p99.9
#               (µs); pingpong6v4 is the same program over IPv4 in the same runs, the control
#               that tells the program's figures from sockperf's
#   connrate    app = tests/helpers/connrate client: connect, 8 bytes each way, close, one
#               connection at a time, against a connrate server on NS's kernel (conn/s)
#   connrate_srv the reverse: kernel connrate client in NS against an app connrate server
#   curl_seq    app = 200 curl processes one after another, 1 KB each from a kernel http.server
#               in NS (seconds; the cost of a process's start, first connect and exit)
#   redis_get/set app = redis-server, redis-benchmark -c 50 -q in NS (requests/s)
#   redis_cli_get/set  the client side: app = redis-benchmark -c 50 against a redis-server on
#               NS's kernel (requests/s)
#   memc_get/set app = memcslap (libmemcached-tools; 50 threads, a connection each) against a
#               memcached on NS's kernel (operations/s; skipped without memcslap/memcached)
#   pg_select/pg_tpcb  app = pgbench -c 8 (select-only -S, and the TPC-B-like default) against
#               a PostgreSQL on NS's kernel (scale 4; transactions/s; skipped without
#               postgres, initdb, pgbench and the postgres user)
#   nginx_ka    app = nginx serving a 4 KB file, wrk -c 50 keep-alive from NS (requests/s)
#   nginx_close same with `Connection: close`: one connection per request (connections/s)
#   nginx_wN_ka/_close  the same with nginx's default model: a daemon master and N = 1, 2
#               worker processes (on nstack one shared stack); nginx_scale_* = w2 / w1
#   calls_*     system calls per request of the app process (perf stat raw_syscalls:sys_enter
#               over the run, every thread; ÷ requests, or ÷ connections for connrate): nginx
#               keep-alive and close (one process), redis GET, connrate_srv, connrate;
#               BENCH_CALLS_DETAIL=1 prints which calls, per thread (perf trace -s)
#   rss_idle    bytes of RSS per idle connection with 10 000 of them (bench/idle_rss.sh, if
#               present; one run)
#   lossy       bench/lossy.sh (if present and BENCH_LOSSY=1; its default profiles, IPv4
#               a b c z and IPv6 a6 z6, within its own 1400 s budget): its output is appended
# Bounded: every command runs under timeout; the whole run is about 10 minutes with defaults.
set -euo pipefail
RUNS=${1:-3}
SECS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root (network namespaces)" >&2; exit 2; }
BP_US=${BENCH_BUSY_POLL_US:-50}
BUDGET=${BENCH_BUDGET:-600}
CONNRATE=$BUILD/tests/helpers/connrate
[ -x "$BUILD/nstack" ] || make -C "$ROOT" -s B="$BUILD" all
[ -x "$CONNRATE" ] || make -C "$ROOT" -s B="$BUILD" "$CONNRATE"
for c in iperf3 sockperf nginx wrk python3 redis-server redis-benchmark; do
	command -v "$c" >/dev/null || { echo "bench/run.sh: $c missing (make deps)" >&2; exit 2; }
done
NS=nstbench-$$ NSK=nstbenchk-$$
WORK=$(mktemp -d)
RAW=$WORK/raw.txt
PIDS=()
cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for ns in "$NS" "$NSK"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS"; ip netns add "$NSK"
# IPv6 on, but no DAD and no router solicitations: set before the devices exist, so that each
# inherits it (the TAP has no carrier until nstack opens it)
HAVE6=0
if [ -e /proc/sys/net/ipv6 ]; then
	HAVE6=1
	for ns in "$NS" "$NSK"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0 \
			net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
	done
fi
ip -n "$NS" link set lo up; ip -n "$NSK" link set lo up
# Short connections: a kernel client that closes first (connrate's close races the server's
# FIN) leaves TIME-WAITs in its namespace, and with Linux's default tcp_tw_reuse=2 (loopback
# only) 3 s at ~15k connections/s hold half the ephemeral ports, connect() crawls through
# them and the rate falls to ~1000/s for the rest of the run (it varied 900-5958 between
# runs). nstack's connect takes over its own TIME-WAITs as tcp_tw_reuse=1 does; the kernel
# gets the same rule, so the connrate rows compare the stacks, not the leftovers of the run
# before.
for ns in "$NS" "$NSK"; do ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1; done
ip -n "$NS" tuntap add dev nst0 mode tap
ip -n "$NS" addr add 198.18.0.1/24 dev nst0
ip -n "$NS" link set nst0 up
ip -n "$NS" link add vk0 type veth peer name vk1 netns "$NSK"
ip -n "$NS" addr add 198.19.0.1/24 dev vk0
ip -n "$NSK" addr add 198.19.0.2/24 dev vk1
ip -n "$NS" link set vk0 up; ip -n "$NSK" link set vk1 up
ip -n "$NSK" route add 198.18.0.0/24 via 198.19.0.1
ip -n "$NS" route add 198.19.0.0/24 dev vk0 2>/dev/null || true
if [ "$HAVE6" = 1 ]; then
	ip -n "$NS" -6 addr add fd00:198:18::1/64 dev nst0 nodad
	ip -n "$NS" -6 addr add fd00:198:19::1/64 dev vk0 nodad
	ip -n "$NSK" -6 addr add fd00:198:19::2/64 dev vk1 nodad
	ip -n "$NSK" -6 route add fd00:198:18::/64 via fd00:198:19::1
fi

nsx="ip netns exec $NS"
ksx="ip netns exec $NSK"
NST="$BUILD/nstack run --if nst0 --addr 198.18.0.2/24 --"
# on WHO: the command prefix that runs the app side on nstack (nstack_bp: with busy polling)
# or on the reference kernel
on() {
	case $1 in
	nstack) echo "$nsx $NST" ;;
	nstack_bp) echo "$nsx env NSTACK_BUSY_POLL_US=$BP_US $NST" ;;
	*) echo "$ksx" ;;
	esac
}
# the app side's address, and the address of NS's kernel seen from it
app_addr() { if [ "${1%_bp}" = nstack ]; then echo 198.18.0.2; else echo 198.19.0.2; fi; }
peer_addr() { if [ "${1%_bp}" = nstack ]; then echo 198.18.0.1; else echo 198.19.0.1; fi; }
# their IPv6 twins: nstack gets its IPv6 address too (the kernel reference is NSK's, over vk1)
NST6="$BUILD/nstack run --if nst0 --addr 198.18.0.2/24 --addr6 fd00:198:18::2/64 --"
on6() {
	case $1 in
	nstack) echo "$nsx $NST6" ;;
	nstack_bp) echo "$nsx env NSTACK_BUSY_POLL_US=$BP_US $NST6" ;;
	*) echo "$ksx" ;;
	esac
}
app_addr6() { if [ "${1%_bp}" = nstack ]; then echo fd00:198:18::2; else echo fd00:198:19::2; fi; }
peer_addr6() { if [ "${1%_bp}" = nstack ]; then echo fd00:198:18::1; else echo fd00:198:19::1; fi; }
record() { echo "$*" >>"$RAW"; echo "  $*" >&2; }

# bg LOG CMD...: start in the background, remember the PID
bg() { local log=$1; shift; "$@" >"$log" 2>&1 & PIDS+=($!); LAST=$!; }
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# alive PID: running (a dead child stays a zombie until waited for)
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
# listening WHO PORT: bounded wait for a listener (ss in NSK; a SYN probe for nstack)
listening() {
	local who=$1 port=$2 i
	if [ "${who%_bp}" = nstack ]; then
		$nsx python3 "$ROOT/tests/e2e/server_probe.py" 198.18.0.1 198.18.0.2 "$port" 100 >/dev/null
	else
		for i in $(seq 100); do $ksx ss -ltnH "sport = :$port" | grep -q . && return 0; sleep 0.1; done
		return 1
	fi
}
# listening6 WHO PORT: the same over IPv6 (server_probe.py speaks IPv4 only, so nstack's
# listener is probed here: a bare SYN from a raw IPv6 socket in NS, a SYN-ACK means listening)
listening6() {
	[ "${1%_bp}" = nstack ] || { listening "$@"; return; }
	$nsx python3 - fd00:198:18::1 fd00:198:18::2 "$2" 100 >/dev/null <<-'PY'
		import os, socket, struct, sys, time
		src, dst, port, tries = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
		def csum(b):
		    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
		    while s >> 16:
		        s = (s & 0xffff) + (s >> 16)
		    return ~s & 0xffff
		s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
		s.bind((src, 0))
		s.settimeout(0.1)
		sport = 40000 + os.getpid() % 20000
		a, b = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
		for i in range(tries):
		    hdr = struct.pack("!HHIIBBHHH", sport, port, 1000 + i, 0, 5 << 4, 0x02, 65535, 0, 0)
		    c = csum(a + b + struct.pack("!IxxxB", len(hdr), 6) + hdr)
		    s.sendto(hdr[:16] + struct.pack("!H", c) + hdr[18:], (dst, 0))
		    end = time.time() + 0.1
		    while time.time() < end:
		        try:
		            pkt, frm = s.recvfrom(2048)
		        except socket.timeout:
		            break
		        if socket.inet_pton(socket.AF_INET6, frm[0]) != b or len(pkt) < 14:
		            continue
		        sp, dp, _, _, _, flags = struct.unpack("!HHIIBB", pkt[:14])
		        if sp == port and dp == sport and flags & 0x12 == 0x12:
		            sys.exit(0)
		sys.exit(1)
	PY
}
wait_kernel_listen() { # in NS
	local port=$1 i
	for i in $(seq 100); do $nsx ss -ltnH "sport = :$port" | grep -q . && return 0; sleep 0.1; done
	return 1
}

# ---- iperf3 (+ CPU per GB) -------------------------------------------------------------
# iperf_fig JSON SIDE: "Gbit/s cpu_s_per_GB" from an iperf3 -J report; SIDE host or remote is
# the process whose CPU counts (the app side). iperf3's cpu_utilization_percent is getrusage
# user+sys of the whole process over the test's wall time.
iperf_fig() {
	python3 - "$1" "$2" <<-'PY' 2>/dev/null || echo "fail fail"
		import json, sys
		d = json.load(open(sys.argv[1]))["end"]
		r = d["sum_received"]
		cpu = d["cpu_utilization_percent"][sys.argv[2] + "_total"] / 100 * r["seconds"]
		print(r["bits_per_second"] / 1e9, cpu / (r["bytes"] / 1e9) if r["bytes"] else "fail")
	PY
}
# iperf_tx FAM PORT, iperf_rx FAM PORT: FAM "" for IPv4, 6 for IPv6 (on6, peer_addr6, ...;
# iperf3 -6; figures named iperf3_tx6, cpu_tx6, ...)
iperf_tx() {
	local fam=$1 port=$2 srv who r f
	bg "$WORK/iperf-srv$fam.log" $nsx iperf3 -s -p "$port"
	srv=$LAST
	wait_kernel_listen "$port" || echo "bench: nothing listens on $port in NS" >&2
	for r in $(seq "$RUNS"); do
		for who in kernel nstack; do
			timeout $((SECS + 20)) $(on$fam $who) iperf3 ${fam:+-6} -c "$(peer_addr$fam $who)" -p "$port" \
				-t "$SECS" -J >"$WORK/i.json" 2>"$WORK/i.err" || true
			read -r -a f <<<"$(iperf_fig "$WORK/i.json" host)"
			record "iperf3_tx$fam" "$who" "${f[0]}"
			record "cpu_tx$fam" "$who" "${f[1]}"
		done
	done
	stop "$srv"
}
iperf_rx() {
	local fam=$1 port=$2 who r srv f
	for who in kernel nstack; do
		bg "$WORK/iperf-$who$fam.log" $(on$fam $who) iperf3 -s -p "$port" -B "$(app_addr$fam $who)"
		srv=$LAST
		if ! listening$fam "$who" "$port"; then
			for r in $(seq "$RUNS"); do record "iperf3_rx$fam" "$who" fail; record "cpu_rx$fam" "$who" fail; done
			stop "$srv"; continue
		fi
		for r in $(seq "$RUNS"); do
			timeout $((SECS + 20)) $nsx iperf3 ${fam:+-6} -c "$(app_addr$fam $who)" -p "$port" -t "$SECS" -J \
				>"$WORK/i.json" 2>"$WORK/i.err" || true
			read -r -a f <<<"$(iperf_fig "$WORK/i.json" remote)"
			record "iperf3_rx$fam" "$who" "${f[0]}"
			record "cpu_rx$fam" "$who" "${f[1]}"
		done
		stop "$srv"
	done
}
bench_iperf_tx() { iperf_tx "" 5201; }
bench_iperf_rx() { iperf_rx "" 5202; }
bench_iperf_tx6() { need6 iperf3_tx6 cpu_tx6 && iperf_tx 6 5203; }
bench_iperf_rx6() { need6 iperf3_rx6 cpu_rx6 && iperf_rx 6 5204; }
# need6 FIGURE...: true with IPv6 in this kernel; else each figure recorded failed, said why
need6() {
	[ "$HAVE6" = 1 ] && return 0
	local c r
	echo "bench: this kernel has no IPv6, $* failed" >&2
	for c in "$@"; do for r in $(seq "$RUNS"); do record "$c" kernel fail; record "$c" nstack fail; done; done
	return 1
}

# ---- sockperf ping-pong ----------------------------------------------------------------
bench_pingpong() {
	bg "$WORK/sp-srv.log" $nsx sockperf sr --tcp -i 0.0.0.0 -p 11111
	local srv=$LAST who r out v pct
	local -A kv
	wait_kernel_listen 11111 || echo "bench: nothing listens on 11111 in NS" >&2
	for r in $(seq "$RUNS"); do
		kv=()
		for who in kernel nstack nstack_bp; do
			out=$(timeout $((SECS + 20)) $(on $who) sockperf pp --tcp -i "$(peer_addr $who)" -p 11111 \
				-t "$SECS" 2>&1) || true
			for pct in 50.000:p50 99.000:p99 99.900:p999; do
				v=$(awk -v p="${pct%:*}" '$0 ~ "percentile "p" =" {print $NF}' <<<"$out" | tail -1)
				v=${v:-fail}
				case $who in
				kernel) kv[$pct]=$v; record "pingpong_${pct#*:}" kernel "$v" ;;
				nstack) record "pingpong_${pct#*:}" nstack "$v" ;;
				# the busy-poll row: the same run's kernel figure beside it
				nstack_bp) record "pingpong_bp_${pct#*:}" kernel "${kv[$pct]}"
					record "pingpong_bp_${pct#*:}" nstack "$v" ;;
				esac
			done
		done
	done
	stop "$srv"
}

# ---- latency under load: half the kernel's peak message rate ---------------------------------
bench_underload() {
	bg "$WORK/sp-ul.log" $nsx sockperf sr --tcp -i 0.0.0.0 -p 11112
	local srv=$LAST who r out v pct peak mps
	wait_kernel_listen 11112 || echo "bench: nothing listens on 11112 in NS" >&2
	# the kernel client's peak: sockperf throughput mode, as fast as it can send
	out=$(timeout $((SECS + 20)) $(on kernel) sockperf tp --tcp -i "$(peer_addr kernel)" -p 11112 \
		-m 64 --mps=max -t "$SECS" 2>&1) || true
	peak=$(awk '/Message Rate is/ {for (i = 1; i <= NF; i++) if ($i == "is") print $(i + 1)}' <<<"$out" | tail -1)
	if ! [[ "$peak" =~ ^[0-9]+$ ]]; then
		echo "bench: sockperf throughput gave no rate, underload skipped" >&2
		stop "$srv"
		return 0
	fi
	mps=$((peak / 2))
	echo "bench: underload at $mps msg/s (half the kernel's $peak)" >&2
	for r in $(seq "$RUNS"); do
		for who in kernel nstack; do
			out=$(timeout $((SECS + 20)) $(on $who) sockperf ul --tcp -i "$(peer_addr $who)" -p 11112 \
				-m 64 --mps="$mps" -t "$SECS" 2>&1) || true
			for pct in 50.000:p50 99.000:p99 99.900:p999; do
				v=$(awk -v p="${pct%:*}" '$0 ~ "percentile "p" =" {print $NF}' <<<"$out" | tail -1)
				record "underload_${pct#*:}" "$who" "${v:-fail}"
			done
		done
	done
	stop "$srv"
}

# ---- ping-pong over IPv6 (sockperf 3.7 has no IPv6: our own program, sockperf's method) ----
# pp_build: compile the ping-pong program into $PP (once)
PP=$WORK/pp
pp_build() {
	[ -x "$PP" ] && return 0
	cat >"$PP.c" <<-'C'
	/* ping-pong SERVER: pp server ADDR PORT  (a process per connection echoes SIZE-byte messages)
	 *            CLIENT: pp client ADDR PORT SECONDS [SIZE=14]: sockperf pp's method: one
	 * connection, TCP_NODELAY, blocking send then recv of SIZE bytes, back to back; the first
	 * 0.4 s is warm-up; prints "p50 X p99 Y p999 Z" of half the round trip in µs. ADDR: IPv4
	 * or IPv6 literal (an IPv6 listener is V6ONLY). */
	#include <arpa/inet.h>
	#include <netinet/in.h>
	#include <netinet/tcp.h>
	#include <signal.h>
	#include <stdio.h>
	#include <stdlib.h>
	#include <string.h>
	#include <sys/socket.h>
	#include <time.h>
	#include <unistd.h>
	static socklen_t addr(const char *a, int port, struct sockaddr_storage *ss)
	{
		struct sockaddr_in *s4 = (void *)ss;
		struct sockaddr_in6 *s6 = (void *)ss;
		memset(ss, 0, sizeof(*ss));
		if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET, s4->sin_port = htons(port);
			return sizeof(*s4);
		}
		if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6, s6->sin6_port = htons(port);
			return sizeof(*s6);
		}
		fprintf(stderr, "pp: bad address %s\n", a);
		exit(2);
	}
	static int full(int fd, char *b, int n, int rd)
	{
		for (int k = 0; k < n;) {
			ssize_t r = rd ? recv(fd, b + k, n - k, 0) : send(fd, b + k, n - k, MSG_NOSIGNAL);
			if (r <= 0)
				return -1;
			k += r;
		}
		return 0;
	}
	static double now(void)
	{
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		return t.tv_sec + t.tv_nsec / 1e9;
	}
	static int cmp(const void *a, const void *b)
	{
		float x = *(const float *)a, y = *(const float *)b;
		return (x > y) - (x < y);
	}
	int main(int argc, char **argv)
	{
		struct sockaddr_storage ss;
		int one = 1, size = argc > 5 ? atoi(argv[5]) : 14, fd;
		char buf[65536];
		if (argc < 4 || size < 1 || size > (int)sizeof(buf)) {
			fprintf(stderr, "usage: pp server ADDR PORT | pp client ADDR PORT SECONDS [SIZE]\n");
			return 2;
		}
		socklen_t len = addr(argv[2], atoi(argv[3]), &ss);
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		if (fd < 0)
			return perror("socket"), 1;
		if (!strcmp(argv[1], "server")) {
			signal(SIGCHLD, SIG_IGN);
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ss.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			if (bind(fd, (void *)&ss, len) || listen(fd, 16))
				return perror("bind/listen"), 1;
			for (;;) {
				int c = accept(fd, NULL, NULL);
				if (c < 0)
					continue;
				if (fork() == 0) {
					struct timeval tv = { 30, 0 };
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
					while (!full(c, buf, size, 1) && !full(c, buf, size, 0))
						;
					_exit(0);
				}
				close(c);
			}
		}
		double secs = argc > 4 ? atof(argv[4]) : 3, t0, t1, end, warm;
		size_t n = 0, cap = 1 << 20;
		float *lat = malloc(cap * sizeof(*lat));
		if (connect(fd, (void *)&ss, len))
			return perror("connect"), 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		memset(buf, 'p', size);
		t0 = now(), warm = t0 + 0.4, end = t0 + secs;
		for (;;) {
			t0 = now();
			if (t0 >= end)
				break;
			if (full(fd, buf, size, 0) || full(fd, buf, size, 1))
				return fprintf(stderr, "pp: connection lost after %zu samples\n", n), 1;
			t1 = now();
			if (t0 < warm)
				continue;
			if (n == cap && !(lat = realloc(lat, (cap *= 2) * sizeof(*lat))))
				return 1;
			lat[n++] = (t1 - t0) / 2 * 1e6;
		}
		if (!n)
			return fprintf(stderr, "pp: no samples\n"), 1;
		qsort(lat, n, sizeof(*lat), cmp);
		printf("samples %zu p50 %.3f p99 %.3f p999 %.3f\n", n, lat[n / 2], lat[n * 99 / 100],
		       lat[n * 999 / 1000]);
		return 0;
	}
	C
	cc -O2 -o "$PP" "$PP.c" 2>"$WORK/pp.err" || { echo "bench: pingpong6: cc failed: $(head -n 3 "$WORK/pp.err")" >&2; return 1; }
}
# pp_fig OUT NAME WHO: record NAME_p50/_p99/_p999 for WHO from the program's output line
pp_fig() {
	local pct v
	for pct in p50 p99 p999; do
		v=$(awk -v p="$pct" '$1 == "samples" { for (i = 2; i < NF; i++) if ($i == p) print $(i + 1) }' <<<"$1" | tail -1)
		record "$2_$pct" "$3" "${v:-fail}"
	done
}
bench_pingpong6() {
	local figs=(pingpong6_p50 pingpong6_p99 pingpong6_p999 pingpong6_bp_p50 pingpong6_bp_p99
		pingpong6_bp_p999 pingpong6v4_p50 pingpong6v4_p99 pingpong6v4_p999) c r
	need6 "${figs[@]}" || return 0
	if ! command -v cc >/dev/null || ! pp_build; then
		echo "bench: pingpong6 needs cc to build its ping-pong program" >&2
		for c in "${figs[@]}"; do for r in $(seq "$RUNS"); do record "$c" kernel fail; record "$c" nstack fail; done; done
		return 0
	fi
	bg "$WORK/pp6-srv.log" $nsx "$PP" server :: 11112
	local srv6=$LAST
	bg "$WORK/pp4-srv.log" $nsx "$PP" server 0.0.0.0 11113
	local srv4=$LAST who out k6=
	wait_kernel_listen 11112 || echo "bench: nothing listens on 11112 in NS" >&2
	wait_kernel_listen 11113 || echo "bench: nothing listens on 11113 in NS" >&2
	for r in $(seq "$RUNS"); do
		for who in kernel nstack nstack_bp; do
			out=$(timeout $((SECS + 20)) $(on6 $who) "$PP" client "$(peer_addr6 $who)" 11112 "$SECS" 2>&1) || true
			case $who in
			kernel) pp_fig "$out" pingpong6 kernel; k6=$out ;;
			nstack) pp_fig "$out" pingpong6 nstack ;;
			# the busy-poll row: the same run's kernel figure beside it
			nstack_bp) pp_fig "$k6" pingpong6_bp kernel; pp_fig "$out" pingpong6_bp nstack ;;
			esac
		done
		# the control: the same program over IPv4
		for who in kernel nstack; do
			out=$(timeout $((SECS + 20)) $(on $who) "$PP" client "$(peer_addr $who)" 11113 "$SECS" 2>&1) || true
			pp_fig "$out" pingpong6v4 "$who"
		done
	done
	stop "$srv6"; stop "$srv4"
}

# ---- short connections (tests/helpers/connrate) -----------------------------------------
crate() { awk '/^conn\/s/ {print $2}' <<<"$1" | grep . || echo fail; }
bench_connrate() {
	bg "$WORK/cr-srv.log" $nsx "$CONNRATE" server 0.0.0.0 7100
	local srv=$LAST who r out
	wait_kernel_listen 7100 || echo "bench: nothing listens on 7100 in NS" >&2
	for r in $(seq "$RUNS"); do
		for who in kernel nstack; do
			out=$(timeout $((SECS + 20)) $(on $who) "$CONNRATE" client "$(peer_addr $who)" 7100 "$SECS" 2>&1) || true
			record connrate "$who" "$(crate "$out")"
		done
	done
	stop "$srv"
}
bench_connrate_srv() {
	local who r srv out
	for who in kernel nstack; do
		bg "$WORK/crs-$who.log" $(on $who) "$CONNRATE" server "$(app_addr $who)" 7101
		srv=$LAST
		if ! listening "$who" 7101; then
			for r in $(seq "$RUNS"); do record connrate_srv "$who" fail; done
			stop "$srv"; continue
		fi
		for r in $(seq "$RUNS"); do
			out=$(timeout $((SECS + 20)) $nsx "$CONNRATE" client "$(app_addr $who)" 7101 "$SECS" 2>&1) || true
			record connrate_srv "$who" "$(crate "$out")"
		done
		stop "$srv"
	done
}

# ---- short-lived clients: a process per request ----------------------------------------
# curl_seq: 200 curl processes one after another, each fetching 1 KB from a kernel http.server
# in NS (the app is the curl process: start, first socket, connect, exit); total seconds.
bench_curl_seq() {
	local who r out t0 i ok
	head -c 1024 /dev/urandom >"$WORK/f1k"
	bg "$WORK/http.log" $nsx python3 -m http.server 8000 --directory "$WORK"
	local srv=$LAST
	wait_kernel_listen 8000 || echo "bench: nothing listens on 8000 in NS" >&2
	for r in $(seq "$RUNS"); do
		for who in kernel nstack; do
			t0=$(date +%s.%N)
			ok=1
			for i in $(seq 200); do
				timeout 10 $(on $who) curl -sS -o /dev/null "http://$(peer_addr $who):8000/f1k" 2>>"$WORK/curl_seq.err" || { ok=0; tail -3 "$WORK/curl_seq.err" >&2; break; }
			done
			if [ "$ok" = 1 ]; then
				record curl_seq "$who" "$(echo "$(date +%s.%N) - $t0" | bc)"
			else
				record curl_seq "$who" fail
			fi
		done
	done
	stop "$srv"
}

# ---- PostgreSQL: pgbench on the app side, postgres on NS's kernel ---------------------------
pg_tps() { grep -o 'tps = [0-9.]*' <<<"$1" | head -1 | awk '{print $3}' | grep . || echo fail; }
bench_pgbench() {
	local pg_bin who r out srv d=$WORK/pg
	pg_bin=$(dirname "$(command -v postgres 2>/dev/null || echo /usr/lib/postgresql/15/bin/postgres)")
	if ! [ -x "$pg_bin/postgres" ] || ! [ -x "$pg_bin/initdb" ] || ! command -v pgbench >/dev/null ||
		! id postgres >/dev/null 2>&1; then
		echo "bench: no PostgreSQL here (postgres, initdb, pgbench, user postgres), pg_* skipped" >&2
		return 0
	fi
	# postgres refuses root: the cluster is the postgres user's (WORK is root's, mode 0700)
	mkdir -p "$d"; chown postgres "$d"; chmod 0711 "$WORK"
	if ! setpriv --reuid=postgres --regid=postgres --init-groups "$pg_bin/initdb" -D "$d/data" \
		-A trust -U postgres >"$WORK/pg-initdb.log" 2>&1; then
		echo "bench: initdb failed (see $WORK/pg-initdb.log), pg_* skipped" >&2
		return 0
	fi
	echo "host all all 198.18.0.0/15 trust" >>"$d/data/pg_hba.conf"
	bg "$WORK/pg.log" $nsx setpriv --reuid=postgres --regid=postgres --init-groups "$pg_bin/postgres" \
		-D "$d/data" -c listen_addresses=198.18.0.1,198.19.0.1 -c port=5440 -c unix_socket_directories="$d"
	srv=$LAST
	if wait_kernel_listen 5440 && timeout 120 $nsx pgbench -h 198.18.0.1 -p 5440 -U postgres -i -s 4 \
		postgres >"$WORK/pg-init.log" 2>&1; then
		# the TPC-B-like runs grow the tables: kernel and nstack take turns
		for r in $(seq "$RUNS"); do
			for who in kernel nstack; do
				out=$(timeout $((SECS + 30)) $(on $who) pgbench -h "$(peer_addr $who)" -p 5440 \
					-U postgres -S -c 8 -T "$SECS" postgres 2>&1) || true
				record pg_select "$who" "$(pg_tps "$out")"
				out=$(timeout $((SECS + 30)) $(on $who) pgbench -h "$(peer_addr $who)" -p 5440 \
					-U postgres -c 8 -T "$SECS" postgres 2>&1) || true
				record pg_tpcb "$who" "$(pg_tps "$out")"
			done
		done
	else
		echo "bench: postgres for pgbench did not start (see $WORK/pg.log)" >&2
	fi
	kill -INT "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
}

# ---- redis -------------------------------------------------------------------------------
# redis_rps OUT TEST: requests/s of TEST (SET, GET) from redis-benchmark --csv
redis_rps() { awk -F'"' -v t="$2" '$2 == t {print $4}' <<<"$1" | grep . || echo fail; }
# bench_clients: request/response clients on the app side, the servers on NS's kernel
bench_clients() {
	local who r srv out n=$((SECS * 20000)) t
	bg "$WORK/redis-cli-srv.log" $nsx redis-server --port 6390 --bind 198.18.0.1 198.19.0.1 \
		--save '' --appendonly no --protected-mode no --dir "$WORK"
	srv=$LAST
	if wait_kernel_listen 6390; then
		for who in kernel nstack; do
			for r in $(seq "$RUNS"); do
				out=$(timeout $((SECS * 4 + 20)) $(on $who) redis-benchmark -h "$(peer_addr $who)" \
					-p 6390 -q -t get,set -n "$n" -c 50 --csv 2>&1) || true
				record redis_cli_set "$who" "$(redis_rps "$out" SET)"
				record redis_cli_get "$who" "$(redis_rps "$out" GET)"
			done
		done
	else
		echo "bench: redis-server for the client cases did not start" >&2
	fi
	stop "$srv"
	if ! command -v memcslap >/dev/null || ! command -v memcached >/dev/null; then
		echo "bench: memcslap or memcached missing (apt-get install memcached libmemcached-tools), memc_* skipped" >&2
		return 0
	fi
	bg "$WORK/memcached.log" $nsx memcached -u root -l 198.18.0.1,198.19.0.1 -p 11211 -t 2
	srv=$LAST
	if wait_kernel_listen 11211; then
		local keys=$((SECS * 500))     # per thread; 50 threads
		for who in kernel nstack; do
			for r in $(seq "$RUNS"); do
				for t in set get; do
					out=$(timeout $((SECS * 10 + 30)) $(on $who) memcslap --servers="$(peer_addr $who):11211" \
						--concurrency=50 --execute-number="$keys" --test=$t 2>&1) || true
					# "Time to get  100000 keys by   50 threads:     4.897 seconds."
					record "memc_$t" "$who" "$(awk -v t="$t" '$1 == "Time" && $3 == t {
						print $4 / $(NF - 1); f = 1 } END { if (!f) print "fail" }' <<<"$out")"
				done
			done
		done
	else
		echo "bench: memcached did not start" >&2
	fi
	stop "$srv"
}

bench_redis() {
	local who r srv out n=$((SECS * 20000))
	for who in kernel nstack; do
		bg "$WORK/redis-$who.log" $(on $who) redis-server --port 6379 --bind "$(app_addr $who)" \
			--save '' --appendonly no --protected-mode no --dir "$WORK"
		srv=$LAST
		if ! listening "$who" 6379; then
			for r in $(seq "$RUNS"); do record redis_set "$who" fail; record redis_get "$who" fail; done
			stop "$srv"; continue
		fi
		for r in $(seq "$RUNS"); do
			out=$(timeout $((SECS * 4 + 20)) $nsx redis-benchmark -h "$(app_addr $who)" -p 6379 \
				-q -t get,set -n "$n" -c 50 --csv 2>&1) || true
			record redis_set "$who" "$(redis_rps "$out" SET)"
			record redis_get "$who" "$(redis_rps "$out" GET)"
		done
		stop "$srv"
	done
}

# ---- nginx + wrk -----------------------------------------------------------------------
nginx_conf() { # DIR ADDR [WORKERS]: without WORKERS one process (daemon off, no master);
	# with it nginx's default model: a daemon master and WORKERS worker processes
	local d=$1 addr=$2 w=${3:-}
	mkdir -p "$d/tmp" "$d/logs"
	cat >"$d/nginx.conf" <<-CONF
		$(if [ -n "$w" ]; then echo "worker_processes $w;"; else
			printf 'daemon off;\nmaster_process off;\nworker_processes 1;'; fi)
		pid $d/nginx.pid;
		error_log $d/logs/error.log warn;
		events { worker_connections 1024; }
		http {
			access_log off;
			client_body_temp_path $d/tmp/body;
			proxy_temp_path $d/tmp/proxy;
			fastcgi_temp_path $d/tmp/fastcgi;
			uwsgi_temp_path $d/tmp/uwsgi;
			scgi_temp_path $d/tmp/scgi;
			sendfile on;
			keepalive_timeout 65;
			keepalive_requests 1000000;
			server { listen $addr:8080; root $WORK/www; }
		}
	CONF
}
rps() { awk '/^Requests\/sec:/ {print $2}' <<<"$1" | grep . || echo fail; }
bench_nginx() {
	mkdir -p "$WORK/www"; head -c 4096 /dev/urandom >"$WORK/www/small"
	local who r srv d out url
	for who in kernel nstack; do
		d=$WORK/nginx-$who
		nginx_conf "$d" "$(app_addr $who)"
		bg "$WORK/nginx-$who.log" $(on $who) nginx -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf"
		srv=$LAST
		url=http://$(app_addr $who):8080/small
		if ! listening "$who" 8080; then
			for r in $(seq "$RUNS"); do record nginx_ka "$who" fail; record nginx_close "$who" fail; done
			stop "$srv"; continue
		fi
		for r in $(seq "$RUNS"); do
			# a server that died (crash) is restarted so one failure does not void
			# the other runs; the dead run is recorded as failed and reported
			if ! alive "$srv"; then
				echo "bench: nginx on $who died (log: $(tail -n 1 "$WORK/nginx-$who.log" 2>/dev/null)); restarting" >&2
				bg "$WORK/nginx-$who.log" $(on $who) nginx -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf"
				srv=$LAST
				listening "$who" 8080 || true
			fi
			out=$(timeout $((SECS + 20)) $nsx wrk -t 2 -c 50 -d "${SECS}s" "$url" 2>&1) || true
			record nginx_ka "$who" "$(rps "$out")"
			out=$(timeout $((SECS + 20)) $nsx wrk -t 2 -c 50 -d "${SECS}s" -H 'Connection: close' "$url" 2>&1) || true
			record nginx_close "$who" "$(rps "$out")"
		done
		stop "$srv"
	done
}

# nginx's default configuration (daemon, master, N workers: one stack shared by the family on
# nstack) with 1 and then 2 workers; report.py adds the 1 -> 2 scaling of each side
bench_nginx_mp() {
	mkdir -p "$WORK/www"; [ -s "$WORK/www/small" ] || head -c 4096 /dev/urandom >"$WORK/www/small"
	local who w r d out url pid i
	for w in 1 2; do
		for who in kernel nstack; do
			d=$WORK/nginx-mp$w-$who
			nginx_conf "$d" "$(app_addr $who)" "$w"
			# daemon on: the command returns once the master has detached
			if ! timeout 20 $(on $who) nginx -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf" \
				>"$WORK/nginx-mp.log" 2>&1 || ! listening "$who" 8080; then
				echo "bench: nginx ($w workers) on $who did not start: $(tail -n 1 "$d/logs/error.log" 2>/dev/null)" >&2
				for r in $(seq "$RUNS"); do record "nginx_w${w}_ka" "$who" fail; record "nginx_w${w}_close" "$who" fail; done
			else
				url=http://$(app_addr $who):8080/small
				for r in $(seq "$RUNS"); do
					out=$(timeout $((SECS + 20)) $nsx wrk -t 2 -c 50 -d "${SECS}s" "$url" 2>&1) || true
					record "nginx_w${w}_ka" "$who" "$(rps "$out")"
					out=$(timeout $((SECS + 20)) $nsx wrk -t 2 -c 50 -d "${SECS}s" -H 'Connection: close' "$url" 2>&1) || true
					record "nginx_w${w}_close" "$who" "$(rps "$out")"
				done
			fi
			# stop the master (SIGTERM: fast shutdown) and wait, bounded, for it to go
			pid=$(cat "$d/nginx.pid" 2>/dev/null || true)
			if [ -n "$pid" ]; then
				kill "$pid" 2>/dev/null || true
				for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
				kill -9 "$pid" 2>/dev/null || true
			fi
		done
	done
}

# ---- system calls per request (perf's raw_syscalls:sys_enter, every thread of the app
# process: nstack's engine thread included; the kernel's protocol work is inside its calls) --
# count_calls OUT PID: count the app's system calls until SIGINT (background; PERF_PID)
# BENCH_CALLS_DETAIL=1: count with `perf trace -s` instead, which names the calls per thread,
# and print that table on stderr after each case (slower: figures for reading, not for the record)
count_calls() {
	if [ "${BENCH_CALLS_DETAIL:-0}" = 1 ]; then
		perf trace -s -o "$1" -p "$2" >/dev/null 2>&1 & PERF_PID=$!
	else
		perf stat -e raw_syscalls:sys_enter -x, -o "$1" -p "$2" 2>/dev/null & PERF_PID=$!
	fi
	sleep 0.3
}
# calls_done OUT: stop the count, its total in CALLS (not in a $(...): perf is this shell's child)
calls_done() {
	kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true
	if [ "${BENCH_CALLS_DETAIL:-0}" = 1 ]; then
		CALLS=$(awk '$2 ~ /^[0-9]+$/ && $1 ~ /^[a-z_0-9]+$/ {n += $2} END {print n + 0}' "$1" 2>/dev/null)
		grep -E '^ .*events|^   [a-z_0-9]+ +[0-9]+ ' "$1" >&2 || true
	else
		CALLS=$(awk -F, '/raw_syscalls:sys_enter/ {print $1}' "$1" 2>/dev/null | grep -E '^[0-9]+$' || echo fail)
	fi
}
per_req() { # CALLS REQUESTS
	if [[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ && $2 -gt 0 ]]; then echo "scale=2; $1 / $2" | bc; else echo fail; fi
}
bench_syscalls() {
	command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter -x, -o /dev/null true 2>/dev/null ||
		{ echo "bench: perf cannot count raw_syscalls:sys_enter here, syscalls skipped" >&2; return 0; }
	mkdir -p "$WORK/www"; [ -s "$WORK/www/small" ] || head -c 4096 /dev/urandom >"$WORK/www/small"
	local who d srv out n calls reqs f=$WORK/calls.txt
	for who in kernel nstack; do
		# nginx, one process: keep-alive, then Connection: close
		d=$WORK/nginx-sc-$who
		nginx_conf "$d" "$(app_addr $who)"
		bg "$WORK/nginx-sc-$who.log" $(on $who) nginx -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf"
		srv=$LAST
		if listening "$who" 8080; then
			count_calls "$f" "$srv"
			out=$(timeout $((SECS + 20)) $nsx wrk -t 2 -c 50 -d "${SECS}s" "http://$(app_addr $who):8080/small" 2>&1) || true
			calls_done "$f"; calls=$CALLS; reqs=$(awk '/requests in/ {print $1}' <<<"$out")
			record calls_nginx_ka "$who" "$(per_req "$calls" "$reqs")"
			count_calls "$f" "$srv"
			out=$(timeout $((SECS + 20)) $nsx wrk -t 2 -c 50 -d "${SECS}s" -H 'Connection: close' "http://$(app_addr $who):8080/small" 2>&1) || true
			calls_done "$f"; calls=$CALLS; reqs=$(awk '/requests in/ {print $1}' <<<"$out")
			record calls_nginx_close "$who" "$(per_req "$calls" "$reqs")"
		else
			record calls_nginx_ka "$who" fail; record calls_nginx_close "$who" fail
		fi
		stop "$srv"
		# redis GET, 50 clients
		bg "$WORK/redis-sc-$who.log" $(on $who) redis-server --port 6380 --bind "$(app_addr $who)" \
			--save '' --appendonly no --protected-mode no --dir "$WORK"
		srv=$LAST; n=$((SECS * 20000))
		if listening "$who" 6380; then
			count_calls "$f" "$srv"
			timeout $((SECS * 4 + 20)) $nsx redis-benchmark -h "$(app_addr $who)" -p 6380 -q -t get -n "$n" -c 50 >/dev/null 2>&1 || n=0
			calls_done "$f"
			record calls_redis_get "$who" "$(per_req "$CALLS" "$n")"
		else
			record calls_redis_get "$who" fail
		fi
		stop "$srv"
		# short connections, app accepts (kernel client) and app connects (kernel server)
		bg "$WORK/crs-sc-$who.log" $(on $who) "$CONNRATE" server "$(app_addr $who)" 7102
		srv=$LAST
		if listening "$who" 7102; then
			count_calls "$f" "$srv"
			out=$(timeout $((SECS + 20)) $nsx "$CONNRATE" client "$(app_addr $who)" 7102 "$SECS" 2>&1) || true
			calls_done "$f"; calls=$CALLS
			record calls_connrate_srv "$who" "$(per_req "$calls" "$(awk '/^conn\/s/ {print $4}' <<<"$out")")"
		else
			record calls_connrate_srv "$who" fail
		fi
		stop "$srv"
	done
	bg "$WORK/cr-sc-srv.log" $nsx "$CONNRATE" server 0.0.0.0 7103
	srv=$LAST
	wait_kernel_listen 7103 || echo "bench: nothing listens on 7103 in NS" >&2
	for who in kernel nstack; do
		# the client process under perf (it and what it runs: the launcher's few calls too)
		out=$(timeout $((SECS + 20)) perf stat -e raw_syscalls:sys_enter -x, -o "$f" -- \
			$(on $who) "$CONNRATE" client "$(peer_addr $who)" 7103 "$SECS" 2>&1) || true
		calls=$(awk -F, '/raw_syscalls:sys_enter/ {print $1}' "$f" | grep -E '^[0-9]+$' || echo fail)
		record calls_connrate "$who" "$(per_req "$calls" "$(awk '/^conn\/s/ {print $4}' <<<"$out")")"
	done
	stop "$srv"
}

# ---- RSS per idle connection and lossy links: other scripts, their own labs ---------------
bench_idle_rss() {
	[ -x "$ROOT/bench/idle_rss.sh" ] || { echo "bench: bench/idle_rss.sh absent, skipped" >&2; return 0; }
	local out
	out=$(BUILD=$BUILD timeout 240 "$ROOT/bench/idle_rss.sh" 2>"$WORK/idle_rss.err") || true
	python3 - "$out" <<-'PY' >>"$RAW" || { echo "bench: idle_rss.sh gave no figures: $(tail -n 2 "$WORK/idle_rss.err")" >&2; record rss_idle kernel fail; record rss_idle nstack fail; }
		import json, sys
		d = json.loads(sys.argv[1][sys.argv[1].index("{"):sys.argv[1].rindex("}") + 1])
		print("rss_idle kernel", float(d["kernel_bytes_per_conn"]))
		print("rss_idle nstack", float(d["nstack_bytes_per_conn"]))
		if "nstack_kernel_bytes_per_conn" in d:   # an nstack socket's eventfd etc. in the kernel
		    print("mem_idle_total kernel", float(d["kernel_bytes_per_conn"]))
		    print("mem_idle_total nstack", float(d["nstack_bytes_per_conn"]) + float(d["nstack_kernel_bytes_per_conn"]))
	PY
}
bench_lossy() {
	[ "${BENCH_LOSSY:-0}" = 1 ] || return 0
	[ -x "$ROOT/bench/lossy.sh" ] || { echo "bench: bench/lossy.sh absent, skipped" >&2; return 0; }
	BUILD=$BUILD timeout 1800 "$ROOT/bench/lossy.sh" >"$WORK/lossy.txt" 2>"$WORK/lossy.err" ||
		echo "bench: lossy.sh failed: $(tail -n 2 "$WORK/lossy.err")" >&2
}

START=$(date +%s)
echo "bench: RUNS=$RUNS SECONDS=$SECS BUILD=$BUILD" >&2
SKIPPED=
for c in ${BENCH_CASES:-iperf_tx iperf_rx pingpong underload iperf_tx6 iperf_rx6 pingpong6 connrate connrate_srv curl_seq redis clients pgbench nginx nginx_mp syscalls idle_rss lossy}; do
	if [ $(( $(date +%s) - START )) -gt "$BUDGET" ]; then
		echo "bench: over the ${BUDGET}s budget, $c skipped" >&2
		SKIPPED="$SKIPPED $c"
		continue
	fi
	echo "bench: $c" >&2
	"bench_$c"
done
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$ROOT/bench/results"
NOTE="runs=$RUNS seconds=$SECS busy_poll_us=$BP_US elapsed=$(( $(date +%s) - START ))s load=$(cut -d' ' -f1-3 /proc/loadavg) commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)${SKIPPED:+ skipped:$SKIPPED}"
LOSSY=
[ -s "$WORK/lossy.txt" ] && LOSSY=$WORK/lossy.txt
python3 "$ROOT/bench/report.py" "$RAW" "$ROOT/bench/results/$STAMP" "$NOTE" $LOSSY
