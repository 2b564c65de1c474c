#!/usr/bin/env bash
# bench/download.sh — download time of a file over HTTP through nstack vs the
# kernel, in one lab, in the same run. Median, min and max of RUNS runs each.
#
#   sudo bench/download.sh [SIZE_MB=100] [RUNS=5]
#
# Lab (removed on exit, even on failure): netns NS with a TAP nst0
# (kernel side 198.18.0.1/24; nstack 198.18.0.2/24) and a veth to netns NSK
# (198.19.0.1 <-> 198.19.0.2) where the kernel reference client runs. The
# server is python3 -m http.server in NS. Only 198.18.0.0/15, only inside the
# namespaces.
set -euo pipefail
SIZE_MB=${1:-100}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
[ "$(id -u)" = 0 ] || { echo "bench/download.sh: needs root (network namespaces)" >&2; exit 2; }
[ -x "$BUILD/nstack" ] || make -C "$ROOT" -s
NS=nstb-$$ NSK=nstbk-$$
WORK=$(mktemp -d)
SRV=
cleanup() {
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null || true
	for ns in "$NS" "$NSK"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
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

mkdir "$WORK/www"
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$WORK/www/file"
want=$(sha256sum <"$WORK/www/file" | cut -d' ' -f1)
(cd "$WORK/www" && exec ip netns exec "$NS" python3 -m http.server 8000 --bind 0.0.0.0 >/dev/null 2>&1) &
SRV=$!
for _ in $(seq 50); do ip netns exec "$NS" ss -ltnH 'sport = :8000' | grep -q . && break; sleep 0.1; done

URL=http://198.18.0.1:8000/file
one() { # one LABEL CMD... -> prints seconds
	local label=$1 t; shift
	t=$(timeout 300 "$@" curl -sS -o "$WORK/out" -w '%{time_total}' "$URL")
	[ "$(sha256sum <"$WORK/out" | cut -d' ' -f1)" = "$want" ] || { echo "bench: $label corrupt download" >&2; exit 1; }
	echo "$t"
}
stats() { sort -g | awk '{a[NR]=$1} END {printf "median %.3f s  min %.3f s  max %.3f s", a[int((NR+1)/2)], a[1], a[NR]}'; }
k=() n=()
for i in $(seq "$RUNS"); do
	k+=("$(one kernel ip netns exec "$NSK")")
	n+=("$(one nstack ip netns exec "$NS" "$BUILD/nstack" run --if nst0 --addr 198.18.0.2/24 --)")
done
echo "download of ${SIZE_MB} MB over HTTP, $RUNS runs each"
echo "kernel (veth): $(printf '%s\n' "${k[@]}" | stats)"
echo "nstack (TAP):  $(printf '%s\n' "${n[@]}" | stats)"
