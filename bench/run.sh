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
#   BENCH_BUDGET=540                           seconds after which the remaining cases are
#                                              skipped (and said so), to stay under 10 minutes
#
# Lab (removed on exit, even on failure; same pattern as bench/download.sh): netns NS with a
# TAP nst0 (kernel side 198.18.0.1/24, nstack 198.18.0.2/24) and a veth vk0/vk1 to netns NSK
# (198.19.0.1 <-> 198.19.0.2). nstack talks to the kernel of NS over the TAP; the kernel
# reference talks to the same kernel over the veth. Only 198.18.0.0/15, only in the namespaces.
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
#   connrate    app = tests/helpers/connrate client: connect, 8 bytes each way, close, one
#               connection at a time, against a connrate server on NS's kernel (conn/s)
#   connrate_srv the reverse: kernel connrate client in NS against an app connrate server
#   curl_seq    app = 200 curl processes one after another, 1 KB each from a kernel http.server
#               in NS (seconds; the cost of a process's start, first connect and exit)
#   redis_get/set app = redis-server, redis-benchmark -c 50 -q in NS (requests/s)
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
#   lossy       bench/lossy.sh (if present and BENCH_LOSSY=1): its output is appended
# Bounded: every command runs under timeout; the whole run is under 10 minutes with defaults.
set -euo pipefail
RUNS=${1:-3}
SECS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root (network namespaces)" >&2; exit 2; }
BP_US=${BENCH_BUSY_POLL_US:-50}
BUDGET=${BENCH_BUDGET:-540}
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
ip -n "$NS" link set lo up; ip -n "$NSK" link set lo up
ip -n "$NS" tuntap add dev nst0 mode tap
ip -n "$NS" addr add 198.18.0.1/24 dev nst0
ip -n "$NS" link set nst0 up
ip -n "$NS" link add vk0 type veth peer name vk1 netns "$NSK"
ip -n "$NS" addr add 198.19.0.1/24 dev vk0
ip -n "$NSK" addr add 198.19.0.2/24 dev vk1
ip -n "$NS" link set vk0 up; ip -n "$NSK" link set vk1 up
ip -n "$NSK" route add 198.18.0.0/24 via 198.19.0.1
ip -n "$NS" route add 198.19.0.0/24 dev vk0 2>/dev/null || true

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
bench_iperf_tx() {
	bg "$WORK/iperf-srv.log" $nsx iperf3 -s -p 5201
	local srv=$LAST who r f
	wait_kernel_listen 5201 || echo "bench: nothing listens on 5201 in NS" >&2
	for r in $(seq "$RUNS"); do
		for who in kernel nstack; do
			timeout $((SECS + 20)) $(on $who) iperf3 -c "$(peer_addr $who)" -p 5201 -t "$SECS" -J \
				>"$WORK/i.json" 2>"$WORK/i.err" || true
			read -r -a f <<<"$(iperf_fig "$WORK/i.json" host)"
			record iperf3_tx "$who" "${f[0]}"
			record cpu_tx "$who" "${f[1]}"
		done
	done
	stop "$srv"
}
bench_iperf_rx() {
	local who r srv f
	for who in kernel nstack; do
		bg "$WORK/iperf-$who.log" $(on $who) iperf3 -s -p 5202 -B "$(app_addr $who)"
		srv=$LAST
		if ! listening "$who" 5202; then
			for r in $(seq "$RUNS"); do record iperf3_rx "$who" fail; record cpu_rx "$who" fail; done
			stop "$srv"; continue
		fi
		for r in $(seq "$RUNS"); do
			timeout $((SECS + 20)) $nsx iperf3 -c "$(app_addr $who)" -p 5202 -t "$SECS" -J \
				>"$WORK/i.json" 2>"$WORK/i.err" || true
			read -r -a f <<<"$(iperf_fig "$WORK/i.json" remote)"
			record iperf3_rx "$who" "${f[0]}"
			record cpu_rx "$who" "${f[1]}"
		done
		stop "$srv"
	done
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

# ---- redis -------------------------------------------------------------------------------
# redis_rps OUT TEST: requests/s of TEST (SET, GET) from redis-benchmark --csv
redis_rps() { awk -F'"' -v t="$2" '$2 == t {print $4}' <<<"$1" | grep . || echo fail; }
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
for c in ${BENCH_CASES:-iperf_tx iperf_rx pingpong connrate connrate_srv curl_seq redis nginx nginx_mp syscalls idle_rss lossy}; do
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
