#!/usr/bin/env bash
# bench/soak.sh — `make soak`: long mixed load through nstack; do the long-running nstack
# processes stay flat in memory and file descriptors?
#
#   sudo bench/soak.sh                 (SOAK_SECONDS=1200 by default: 20 minutes)
#   SOAK_SECONDS=180 SOAK_INTERVAL=5 SOAK_PHASE=30 BUILD=dir bench/soak.sh
#
# Two long-running nstack processes:
#   nginx (master_process off: one process) on the TAP nst0 behind the impairment bridge,
#     198.18.0.2:8080. Kernel clients in the server netns: bulk downloads (curl, 20 MB,
#     sha256 checked) and uploads (curl POST of 10 MB, discarded by nginx), keep-alive
#     request/response (wrk -c 16, a 4 KB file) and connect/close churn (wrk with
#     `Connection: close`).
#   redis-server on a second TAP nst1 (no bridge), 198.18.1.2:6379; a kernel redis-benchmark
#     (SET/GET, 20 clients) in rounds.
# The load runs in phases of SOAK_PHASE seconds; the bridge alternates between a clean link
# and a lossy one (loss=1%,reorder=1%,dup=0.5%,corrupt=0.05%,delay_us=2000,jitter_us=500),
# restarted at each phase (the frames in flight at a restart are lost, like any loss).
#
# Every SOAK_INTERVAL seconds the RSS (VmRSS) and the open fd count of both processes go to
# bench/results/soak-<date>.csv. The verdict compares two quiet samples (no load for 3 s):
# one after the first phase (warm-up: pools, caches and buffers reach their working size)
# and one at the end. Flat = end RSS <= warm-up RSS * 1.10 + 4 MB and end fds <= warm-up
# fds + 2, for each process, and both processes still alive. Exit 0 if flat and no load round
# failed (a corrupt or timed-out download, a redis-benchmark error, wrk failing), 1 if not.
#
# Lab (removed on exit, even on failure): netns S (kernel clients; veth vs0 198.18.0.1/24;
# TAP nst1 198.18.1.1/24 owned by redis's nstack) — netns B (impair_bridge vs1 <-> nst0;
# nginx's nstack on nst0). Only 198.18.0.0/15, only inside the namespaces; every client
# runs under timeout; the whole run ends SOAK_SECONDS + about a minute after it starts.
set -euo pipefail
SECS=${SOAK_SECONDS:-1200}
IVAL=${SOAK_INTERVAL:-10}
PHASE=${SOAK_PHASE:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LOSSY="loss=1%,reorder=1%,dup=0.5%,corrupt=0.05%,delay_us=2000,jitter_us=500,seed=11"
CLEAN="seed=11"
[ "$(id -u)" = 0 ] || { echo "bench/soak.sh: needs root (network namespaces)" >&2; exit 2; }
for c in ethtool nginx wrk curl redis-server redis-benchmark python3; do
	command -v "$c" >/dev/null || { echo "bench/soak.sh: $c missing (make deps)" >&2; exit 2; }
done
((SECS >= 2 * PHASE)) || { echo "bench/soak.sh: SOAK_SECONDS must be at least 2 * SOAK_PHASE" >&2; exit 2; }
BRIDGE=$BUILD/tests/helpers/impair_bridge
[ -x "$BUILD/nstack" ] && [ -x "$BRIDGE" ] || make -C "$ROOT" -s B="$BUILD" all "$BRIDGE"
NS=nstsoak-$$ NSB=nstsoakb-$$
WORK=$(mktemp -d)
PIDS=()
BR=
cleanup() {
	local p ns
	for p in "${PIDS[@]}" $BR; do kill "$p" 2>/dev/null || true; done
	for ns in "$NSB" "$NS"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx="ip netns exec $NS" bsx="ip netns exec $NSB"
for ns in "$NS" "$NSB"; do
	ip netns add "$ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$NS" link add vs0 type veth peer name vs1 netns "$NSB"
ip -n "$NSB" tuntap add dev nst0 mode tap
ip -n "$NSB" link set nst0 txqueuelen 5000
ip -n "$NS" addr add 198.18.0.1/24 dev vs0
ip -n "$NS" tuntap add dev nst1 mode tap
ip -n "$NS" addr add 198.18.1.1/24 dev nst1
for i in vs0:"$NS" vs1:"$NSB" nst0:"$NSB"; do
	for f in tso gso gro lro tx rx sg ufo; do
		ip netns exec "${i#*:}" ethtool -K "${i%%:*}" "$f" off >/dev/null 2>&1 || true
	done
done
ip -n "$NS" link set vs0 up; ip -n "$NS" link set nst1 up
ip -n "$NSB" link set vs1 up; ip -n "$NSB" link set nst0 up

mkdir -p "$WORK/www" "$WORK/ngx/tmp" "$WORK/ngx/logs"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$WORK/www/bulk"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$WORK/up"
head -c 4096 /dev/urandom >"$WORK/www/small"
WANT=$(sha256sum <"$WORK/www/bulk" | cut -d' ' -f1)
cat >"$WORK/ngx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/ngx/nginx.pid;
error_log $WORK/ngx/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $WORK/ngx/tmp/body;
	proxy_temp_path $WORK/ngx/tmp/proxy;
	fastcgi_temp_path $WORK/ngx/tmp/fastcgi;
	uwsgi_temp_path $WORK/ngx/tmp/uwsgi;
	scgi_temp_path $WORK/ngx/tmp/scgi;
	sendfile on;
	keepalive_timeout 65;
	keepalive_requests 1000000;
	client_max_body_size 0;
	server {
		listen 198.18.0.2:8080;
		root $WORK/www;
		location = /up { return 204; }
	}
}
CONF

# bridge SPEC: (re)start the bridge between the server side and nginx's TAP
bridge() {
	[ -n "$BR" ] && { kill -TERM "$BR" 2>/dev/null || true; wait "$BR" 2>/dev/null || true; }
	BRN=$((${BRN:-0} + 1))
	$bsx "$BRIDGE" --a vs1 --b nst0 --both "$1" --timeout $((SECS + 300)) 2>"$WORK/bridge-$BRN.log" &
	BR=$!
	local i
	for i in $(seq 100); do grep -q ready "$WORK/bridge-$BRN.log" && break; sleep 0.05; done
}
bridge "$CLEAN"

$bsx env NSTACK_OFFLOAD=0 "$BUILD/nstack" run --if nst0 --addr 198.18.0.2/24 -- \
	nginx -p "$WORK/ngx" -e "$WORK/ngx/logs/error.log" -c "$WORK/ngx/nginx.conf" \
	>"$WORK/nginx.log" 2>&1 &
NGX=$!; PIDS+=("$NGX")
$nsx env NSTACK_OFFLOAD=0 "$BUILD/nstack" run --if nst1 --addr 198.18.1.2/24 -- \
	redis-server --port 6379 --bind 198.18.1.2 --save '' --appendonly no --protected-mode no \
	--daemonize no >"$WORK/redis.log" 2>&1 &
RDS=$!; PIDS+=("$RDS")
$nsx python3 "$ROOT/tests/e2e/server_probe.py" 198.18.0.1 198.18.0.2 8080 100 >/dev/null ||
	{ echo "bench/soak.sh: nginx on nstack does not listen: $(tail -n 3 "$WORK/nginx.log")" >&2; exit 1; }
$nsx python3 "$ROOT/tests/e2e/server_probe.py" 198.18.1.1 198.18.1.2 6379 100 >/dev/null ||
	{ echo "bench/soak.sh: redis on nstack does not listen: $(tail -n 3 "$WORK/redis.log")" >&2; exit 1; }

STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$ROOT/bench/results"
CSV=$ROOT/bench/results/soak-$STAMP.csv
echo "t_s,phase,link,proc,pid,rss_kb,fds" >"$CSV"
START=$(date +%s)
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
phase() { PH=$1 LINK=$2; echo "$1,$2" >"$WORK/phase"; } # the sampler runs in a subshell
sample() { # -> CSV lines for both processes
	local t=$(($(date +%s) - START)) name pid ph
	ph=$(cat "$WORK/phase" 2>/dev/null || echo "0,clean")
	for name in nginx redis; do
		[ "$name" = nginx ] && pid=$NGX || pid=$RDS
		echo "$t,$ph,$name,$pid,$(rss "$pid"),$(fds "$pid")" >>"$CSV"
	done
}
sampler() { while :; do sample; sleep "$IVAL"; done; }
sampler &
SAMPLER=$!; PIDS+=("$SAMPLER")

# Load for one phase of $1 seconds; counters of each kind into $WORK/count.*
COUNTS="bulk_down bulk_up bulk_fail wrk_ka_req wrk_close_req wrk_fail redis_rounds redis_fail"
for k in $COUNTS; do echo 0 >"$WORK/count.$k"; done
bump() { echo $(($(cat "$WORK/count.$1") + ${2:-1})) >"$WORK/count.$1"; }
reqs() { awk '/requests in/ {print $1}' "$1" 2>/dev/null | grep . || echo 0; }
load_phase() {
	local d=$1 end=$(($(date +%s) + $1)) p=()
	( # bulk: download (checked) and upload, in turn
		while (($(date +%s) < end)); do
			if timeout 120 $nsx curl -sS -o "$WORK/bulk.out" http://198.18.0.2:8080/bulk 2>>"$WORK/curl.log" &&
				[ "$(sha256sum <"$WORK/bulk.out" | cut -d' ' -f1)" = "$WANT" ]; then
				bump bulk_down
			else
				bump bulk_fail
				sleep 1
			fi
			(($(date +%s) < end)) || break
			if [ "$(timeout 120 $nsx curl -sS -o /dev/null -w '%{http_code}' --data-binary @"$WORK/up" \
				http://198.18.0.2:8080/up 2>>"$WORK/curl.log")" = 204 ]; then
				bump bulk_up
			else
				bump bulk_fail
			fi
		done
	) &
	p+=($!)
	timeout $((d + 30)) $nsx wrk -t 1 -c 16 -d "${d}s" http://198.18.0.2:8080/small >"$WORK/wrk-ka.out" 2>&1 &
	p+=($!)
	timeout $((d + 30)) $nsx wrk -t 1 -c 4 -d "${d}s" -H 'Connection: close' \
		http://198.18.0.2:8080/small >"$WORK/wrk-close.out" 2>&1 &
	p+=($!)
	( # request/response on redis, in bounded rounds
		while (($(date +%s) < end)); do
			if timeout 60 $nsx redis-benchmark -h 198.18.1.2 -p 6379 -n 20000 -c 20 -q -t set,get \
				>"$WORK/redis-bench.out" 2>&1 && ! grep -qi error "$WORK/redis-bench.out"; then
				bump redis_rounds
			else
				bump redis_fail
				sleep 1 # no busy loop against a server that refuses
			fi
		done
	) &
	p+=($!)
	local i st
	for i in "${!p[@]}"; do
		st=0
		wait "${p[$i]}" || st=$?
		if ((i == 1 || i == 2)); then
			[ "$i" = 1 ] && bump wrk_ka_req "$(reqs "$WORK/wrk-ka.out")" ||
				bump wrk_close_req "$(reqs "$WORK/wrk-close.out")"
			((st == 0)) || bump wrk_fail
		fi
	done
}

quiet_sample() { # LABEL -> "rss_kb fds" of both processes after 3 s without load
	sleep 3
	echo "$1 nginx $(rss "$NGX") $(fds "$NGX") redis $(rss "$RDS") $(fds "$RDS")"
}

echo "bench/soak.sh: ${SECS} s, phases of ${PHASE} s, samples every ${IVAL} s -> $CSV" >&2
# phase 1 is the warm-up (clean link)
phase 1 clean
echo "  phase 1 (warm-up, clean)" >&2
load_phase "$PHASE"
BASE=$(quiet_sample warmup)
while (($(date +%s) - START + PHASE <= SECS)); do
	if ((PH % 2 == 1)); then phase $((PH + 1)) lossy; bridge "$LOSSY"; else phase $((PH + 1)) clean; bridge "$CLEAN"; fi
	echo "  phase $PH ($LINK) at $(($(date +%s) - START)) s" >&2
	load_phase "$PHASE"
	alive "$NGX" && alive "$RDS" || break
done
phase "$PH" end
END=$(quiet_sample end)
sample
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
kill -TERM "$BR" 2>/dev/null || true
wait "$BR" 2>/dev/null || true
BR=
# the bridge's counters summed over every phase, per direction
bridge_counts=$(cat "$WORK"/bridge-*.log | awk '$2 ~ /_to_/ { for (i = 3; i <= NF; i++) { split($i, kv, "=");
	if (kv[1] ~ /^(rx|lost|dup|reordered|corrupted|overflow|tx_err)$/) c[$2 "." kv[1]] += kv[2] } }
	END { for (k in c) printf "%s=%d\n", k, c[k] }' | sort | paste -sd' ')

verdict=flat
report() { # NAME BASE_RSS BASE_FDS END_RSS END_FDS PID
	local ok=flat
	alive "$6" || ok="DIED"
	if [ "$ok" = flat ]; then
		(($4 <= $2 * 110 / 100 + 4096)) || ok="RSS GREW"
		(($5 <= $3 + 2)) || ok="FDS GREW"
	fi
	printf '%-6s rss %6d KB -> %6d KB   fds %4d -> %4d   %s\n' "$1" "$2" "$4" "$3" "$5" "$ok"
	[ "$ok" = flat ] || verdict=GROWING
}
read -r _ _ bn_rss bn_fd _ br_rss br_fd <<<"$BASE"
read -r _ _ en_rss en_fd _ er_rss er_fd <<<"$END"
echo "soak: $(($(date +%s) - START)) s, $PH phases (odd clean, even lossy: $LOSSY)"
echo "load: $(for k in $COUNTS; do printf '%s=%s ' "$k" "$(cat "$WORK/count.$k")"; done)"
echo "bridge (all phases): $bridge_counts"
echo "start = after warm-up (phase 1), end = after the last phase; quiet samples"
report nginx "$bn_rss" "$bn_fd" "$en_rss" "$en_fd" "$NGX"
report redis "$br_rss" "$br_fd" "$er_rss" "$er_fd" "$RDS"
fails=$(($(cat "$WORK/count.bulk_fail") + $(cat "$WORK/count.redis_fail") + $(cat "$WORK/count.wrk_fail")))
echo "verdict: $verdict, $fails failed load rounds  (samples: $CSV)"
for p in "$NGX" "$RDS"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
[ "$verdict" = flat ] && ((fails == 0))
