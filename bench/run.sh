#!/usr/bin/env bash
# bench/run.sh — `make bench`: each case on nstack and on the kernel, side by side, in one lab
# and one run; writes bench/results/<date>.json, <date>.md (the table) and, with gnuplot,
# <date>.png. Every figure is a ratio nstack/kernel of medians, with min and max of RUNS runs.
#
#   sudo bench/run.sh [RUNS=3] [SECONDS=3]      (BUILD=dir picks the build, default build/)
#
# Lab (removed on exit, even on failure; same pattern as bench/download.sh): netns NS with a
# TAP nst0 (kernel side 198.18.0.1/24, nstack 198.18.0.2/24) and a veth vk0/vk1 to netns NSK
# (198.19.0.1 <-> 198.19.0.2). nstack talks to the kernel of NS over the TAP; the kernel
# reference talks to the same kernel over the veth. Only 198.18.0.0/15, only in the namespaces.
#
# Cases (the app side named is the one that runs on nstack, or on NSK's kernel as reference):
#   iperf3_tx   app = iperf3 client sending to a kernel iperf3 server in NS   (Gbit/s)
#   iperf3_rx   app = iperf3 server, a kernel client in NS sends to it         (Gbit/s)
#   pingpong    app = sockperf ping-pong client (--tcp), kernel sockperf server in NS
#               (half round trip p50/p99/p99.9, µs; lower is better)
#   nginx_ka    app = nginx serving a 4 KB file, wrk -c 50 keep-alive from NS (requests/s)
#   nginx_close same with `Connection: close`: one connection per request (connections/s)
# Bounded: every command runs under timeout; the whole run is under 10 minutes with defaults.
set -euo pipefail
RUNS=${1:-3}
SECS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root (network namespaces)" >&2; exit 2; }
[ -x "$BUILD/nstack" ] || make -C "$ROOT" -s B="$BUILD" all
for c in iperf3 sockperf nginx wrk python3; do
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
# on WHO: the command prefix that runs the app side on nstack or on the reference kernel
on() { if [ "$1" = nstack ]; then echo "$nsx $NST"; else echo "$ksx"; fi; }
# the app side's address, and the address of NS's kernel seen from it
app_addr() { if [ "$1" = nstack ]; then echo 198.18.0.2; else echo 198.19.0.2; fi; }
peer_addr() { if [ "$1" = nstack ]; then echo 198.18.0.1; else echo 198.19.0.1; fi; }
record() { echo "$*" >>"$RAW"; echo "  $*" >&2; }

# bg LOG CMD...: start in the background, remember the PID
bg() { local log=$1; shift; "$@" >"$log" 2>&1 & PIDS+=($!); LAST=$!; }
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# alive PID: running (a dead child stays a zombie until waited for)
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
# listening WHO PORT: bounded wait for a listener (ss in NSK; a SYN probe for nstack)
listening() {
	local who=$1 port=$2 i
	if [ "$who" = nstack ]; then
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

# ---- iperf3 ----------------------------------------------------------------------------
bps() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["end"]["sum_received"]["bits_per_second"]/1e9)' "$1" 2>/dev/null || echo fail; }
bench_iperf_tx() {
	bg "$WORK/iperf-srv.log" $nsx iperf3 -s -p 5201
	local srv=$LAST who r
	wait_kernel_listen 5201
	for r in $(seq "$RUNS"); do
		for who in kernel nstack; do
			timeout $((SECS + 20)) $(on $who) iperf3 -c "$(peer_addr $who)" -p 5201 -t "$SECS" -J \
				>"$WORK/i.json" 2>"$WORK/i.err" || true
			record iperf3_tx "$who" "$(bps "$WORK/i.json")"
		done
	done
	stop "$srv"
}
bench_iperf_rx() {
	local who r srv
	for who in kernel nstack; do
		bg "$WORK/iperf-$who.log" $(on $who) iperf3 -s -p 5202 -B "$(app_addr $who)"
		srv=$LAST
		if ! listening "$who" 5202; then
			for r in $(seq "$RUNS"); do record iperf3_rx "$who" fail; done
			stop "$srv"; continue
		fi
		for r in $(seq "$RUNS"); do
			timeout $((SECS + 20)) $nsx iperf3 -c "$(app_addr $who)" -p 5202 -t "$SECS" -J \
				>"$WORK/i.json" 2>"$WORK/i.err" || true
			record iperf3_rx "$who" "$(bps "$WORK/i.json")"
		done
		stop "$srv"
	done
}

# ---- sockperf ping-pong ----------------------------------------------------------------
bench_pingpong() {
	bg "$WORK/sp-srv.log" $nsx sockperf sr --tcp -i 0.0.0.0 -p 11111
	local srv=$LAST who r out
	wait_kernel_listen 11111
	for r in $(seq "$RUNS"); do
		for who in kernel nstack; do
			out=$(timeout $((SECS + 20)) $(on $who) sockperf pp --tcp -i "$(peer_addr $who)" -p 11111 \
				-t "$SECS" 2>&1) || true
			for pct in 50.000:p50 99.000:p99 99.900:p999; do
				v=$(awk -v p="${pct%:*}" '$0 ~ "percentile "p" =" {print $NF}' <<<"$out" | tail -1)
				record "pingpong_${pct#*:}" "$who" "${v:-fail}"
			done
		done
	done
	stop "$srv"
}

# ---- nginx + wrk -----------------------------------------------------------------------
nginx_conf() { # DIR ADDR
	local d=$1 addr=$2
	mkdir -p "$d/tmp" "$d/logs"
	cat >"$d/nginx.conf" <<-CONF
		daemon off;
		master_process off;
		worker_processes 1;
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

START=$(date +%s)
echo "bench: RUNS=$RUNS SECONDS=$SECS BUILD=$BUILD" >&2
for c in ${BENCH_CASES:-iperf_tx iperf_rx pingpong nginx}; do
	echo "bench: $c" >&2
	"bench_$c"
done
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$ROOT/bench/results"
python3 "$ROOT/bench/report.py" "$RAW" "$ROOT/bench/results/$STAMP" \
	"runs=$RUNS seconds=$SECS elapsed=$(( $(date +%s) - START ))s commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
