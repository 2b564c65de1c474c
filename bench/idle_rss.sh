#!/usr/bin/env bash
# bench/idle_rss.sh — memory per idle TCP connection, nstack against the kernel, in one lab.
# Prints one JSON object on stdout:
#   {"conns":N,"nstack_bytes_per_conn":..,"kernel_bytes_per_conn":..,
#    "nstack_kernel_bytes_per_conn":..}
# Progress goes to stderr. Bounded (< 2 minutes); needs root (network namespaces).
#
#   sudo bench/idle_rss.sh            (BUILD=dir picks the build, default build/;
#                                      IDLE_CONNS=N, default 10000)
#
# Method. tests/helpers/conn_hold opens N connections to a kernel conn_hold server in netns NS,
# checks each with a one-byte echo, then holds them idle.
#   nstack: the client runs on nstack over the TAP; the figure is the RSS of that process while
#           it holds the N connections, less its RSS once its stack had started (first socket,
#           no connection yet), divided by N: everything the stack spends on a connection in
#           the process (TCB, rings if any, fd table, the application's own epoll bookkeeping).
#   kernel: the client runs on the kernel of netns NSK, over a veth; the figure is the growth of
#           the kernel's slab memory (/proc/meminfo Slab) plus TCP buffer memory (/proc/net/
#           sockstat "TCP: mem", pages) between "server listening" and "N held", divided by 2N:
#           both ends of each connection are kernel sockets (socket, inode, file, epoll item).
#   nstack_kernel_bytes_per_conn: what an nstack socket still costs in the kernel (its
#           eventfd, file, epoll item): the slab growth of the nstack run less N kernel
#           server endpoints (the kernel figure), divided by N.
# Slab is machine-wide: other activity on the host adds noise (each sample is the median of 3).
# Lab: netns NS (TAP nst0 198.18.0.1/24, nstack 198.18.0.2) and NSK (veth 198.19.0.2, route
# to 198.18.0.0/24 via NS); removed on exit, even on failure. Only 198.18.0.0/15, only inside.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
N=${IDLE_CONNS:-10000}
HOLD=$BUILD/tests/helpers/conn_hold
[ "$(id -u)" = 0 ] || { echo "idle_rss.sh: needs root (network namespaces)" >&2; exit 2; }
[ -x "$BUILD/nstack" ] || make -C "$ROOT" -s B="$BUILD" all >&2
[ -x "$HOLD" ] || make -C "$ROOT" -s B="$BUILD" "$HOLD" >&2
ulimit -n $((N + 1024)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt "$N" ] || { echo "idle_rss.sh: ulimit -n below $N" >&2; exit 2; }

NS=nstidle-$$ NSK=nstidlek-$$
WORK=$(mktemp -d)
PIDS=()
cleanup() {
	local p ns
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	for ns in "$NS" "$NSK"; do
		[ -e "/run/netns/$ns" ] || continue
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
nsx="ip netns exec $NS"
ksx="ip netns exec $NSK"

bg() { local log=$1; shift; "$@" </dev/null >"$log" 2>&1 & PIDS+=($!); LAST=$!; }
# wait_line FILE REGEX SECS
wait_line() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "idle_rss.sh: '$2' not in $1 after $3 s: $(tail -n 3 "$1")" >&2
	return 1
}
wait_listen() {
	local i
	for ((i = 0; i < 50; i++)); do
		$nsx ss -ltnH "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
# kernel_bytes: slab + TCP buffer memory, bytes (median of 3 samples)
kernel_bytes() {
	local i v=()
	for i in 1 2 3; do
		local slab pages
		slab=$(awk '/^Slab:/ {print $2}' /proc/meminfo)
		pages=$($nsx awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1)}' /proc/net/sockstat)
		v+=($((slab * 1024 + ${pages:-0} * 4096)))
		sleep 0.2
	done
	printf '%s\n' "${v[@]}" | sort -n | sed -n 2p
}

# run WHO PORT: one hold run; WHO is kernel (client in NSK) or nstack (client on the TAP).
# Leaves K0, K1 (kernel bytes before/while holding) and LINE (the client's report).
run() {
	local who=$1 port=$2 srv cli
	bg "$WORK/srv-$who.log" $nsx "$HOLD" server "$port" "$N"
	srv=$LAST
	wait_listen "$port" || { echo "idle_rss.sh: server does not listen" >&2; return 1; }
	K0=$(kernel_bytes)
	if [ "$who" = kernel ]; then
		bg "$WORK/cli-$who.log" $ksx "$HOLD" client 198.19.0.1 "$port" "$N"
	else
		bg "$WORK/cli-$who.log" $nsx "$BUILD/nstack" run --if nst0 --addr 198.18.0.2/24 -- \
			"$HOLD" client 198.18.0.1 "$port" "$N"
	fi
	cli=$LAST
	wait_line "$WORK/cli-$who.log" "^established $N echoed $N" 60
	sleep 0.5
	K1=$(kernel_bytes)
	LINE=$(grep -E '^established' "$WORK/cli-$who.log")
	echo "idle_rss.sh: $who: $LINE; kernel memory +$(((K1 - K0) / 1024)) kB" >&2
	kill -USR1 "$cli"
	wait_line "$WORK/srv-$who.log" "^closed $N" 60
	kill "$cli" "$srv" 2>/dev/null || true
	wait "$cli" "$srv" 2>/dev/null || true
}

run kernel 7200
KDELTA=$((K1 - K0))
run nstack 7201
NDELTA=$((K1 - K0))
read -r rss base <<<"$(sed -nE 's/.* rss_kb ([0-9]+) base_rss_kb ([0-9]+)$/\1 \2/p' <<<"$LINE")"
[ -n "$rss" ] && [ -n "$base" ] || { echo "idle_rss.sh: no RSS in: $LINE" >&2; exit 1; }
kper=$((KDELTA / (2 * N)))
nper=$(((rss - base) * 1024 / N))
nkper=$(((NDELTA - kper * N) / N))
printf '{"conns":%d,"nstack_bytes_per_conn":%d,"kernel_bytes_per_conn":%d,"nstack_kernel_bytes_per_conn":%d}\n' \
	"$N" "$nper" "$kper" "$nkper"
