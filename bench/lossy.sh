#!/usr/bin/env bash
# bench/lossy.sh — completion time of a bulk transfer over a bad link, nstack vs the kernel,
# through the same impairment bridge (tests/helpers/impair_bridge) with the same seeded
# specification. Both directions: "down" = the client downloads from a kernel server, "up" =
# the client uploads to one. Median, min and max of RUNS runs, and the ratio nstack/kernel of
# the medians (above 1: nstack is slower). Writes bench/results/lossy-<date>.json. The client
# (tests/helpers/lossy_xfer.py) sends with CUBIC on both stacks (LOSSY_CC): this host's kernel
# default, BBR, ignores random loss and would not compare like for like. When the client
# downloads, the sender is the same kernel server (its default) for both.
#
#   sudo bench/lossy.sh [RUNS=3] [SIZE_MB=100]
#   LOSSY_PROFILES="a b c z a6 z6"  which profiles (the default); "all" = every profile of
#                            both families, a b c z a6 b6 c6 z6
#   LOSSY_TIMEOUT=300        seconds, each transfer (one over it is recorded as failed)
#   LOSSY_BUDGET=1400        seconds, the whole run: past it the remaining runs are skipped
#                            (bench/run.sh gives the script 1800 s in all)
#   BUILD=dir                the build to measure (default build/)
#
# Profiles (as tests/e2e/rel_lossy.bats, which runs them with smaller files for (b), (c)):
#   a  loss=1%,reorder=2%,dup=1%,corrupt=0.1%      b  loss=5%
#   c  delay_us=20000 (20 ms one way),loss=0.1%
#   z  no impairment, the bridge alone: the baseline of a, b, c
#   a6 b6 c6 z6  the same over IPv6 (same specification and seed; the client connects to the
#      server's IPv6 address). By default a6 and z6 only: b and c are the long ones (the
#      upload at 5% loss and at 20 ms takes 40 s and 70 s with 100 MB), and b6 c6 as well
#      would take a 3-run default past LOSSY_BUDGET (1400 s; a b c alone took 735 s on this
#      machine); they run on request (LOSSY_PROFILES="b6 c6", or "all").
# Output: one line per profile, direction and stack (median, min, max in seconds, failed
# runs, the ratio nstack/kernel), and bench/results/lossy-<date>.json: {"bench": "lossy",
# "size_mb", "runs", "elapsed_s", "commit", "profiles": {NAME: {"spec", "family": 4 or 6,
# "down"|"up": {"kernel"|"nstack": {"runs": [seconds or "fail"/"skipped"], "failed",
# "skipped", "median", "min", "max"}, "ratio": nstack/kernel of the medians}}}}.
#
# Lab (removed on exit, even on failure; the same as lab_up_bridge in tests/e2e/lib.bash):
# netns S (kernel server, veth vs0 198.18.0.1/24) — netns B (bridge: vs1, the TAP nst0 with
# nstack 198.18.0.2 and no kernel address, vc1) — netns K (kernel client, vc0 198.18.0.3/24).
# With an IPv6 profile (as lab_addr6_up_bridge): IPv6 on in S and K, no DAD and no router
# solicitations (set before the devices exist), vs0 fd00:198:18::1/64 and vc0
# fd00:198:18::3/64 nodad, nstack --addr6 fd00:198:18::2/64; B keeps IPv6 off (no address;
# nstack owns nst0). One bridge at a time: vs1<->nst0 for nstack, vs1<->vc1 for the kernel.
# Offloads off on every lab interface, nstack with NSTACK_OFFLOAD=0: every frame fits the
# MTU. The bridge corrupts IPv4 and IPv6 frames alike (IPv6 from the source address on: no
# header checksum; impair_bridge.c). Only 198.18.0.0/15 and fd00:198:18::/64, only inside
# the namespaces. Every transfer runs under timeout.
set -euo pipefail
RUNS=${1:-3}
SIZE_MB=${2:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
TMO=${LOSSY_TIMEOUT:-300}
BUDGET=${LOSSY_BUDGET:-1400}
PROFILES=${LOSSY_PROFILES:-a b c z a6 z6}
[ "$PROFILES" = all ] && PROFILES="a b c z a6 b6 c6 z6"
declare -A SPEC=(
	[a]="loss=1%,reorder=2%,dup=1%,corrupt=0.1%,seed=7"
	[b]="loss=5%,seed=7"
	[c]="delay_us=20000,loss=0.1%,seed=7"
	[z]="seed=7"
)
# a profile's specification is its base's (a6 -> a); the trailing 6 says IPv6
for prof in $PROFILES; do
	case ${prof%6} in a | b | c | z) ;; *) echo "bench/lossy.sh: no profile $prof" >&2; exit 2 ;; esac
done
HAVE6=0
case " $PROFILES " in *6\ *) HAVE6=1 ;; esac
[ "$(id -u)" = 0 ] || { echo "bench/lossy.sh: needs root (network namespaces)" >&2; exit 2; }
[ "$HAVE6" = 0 ] || [ -e /proc/sys/net/ipv6 ] ||
	{ echo "bench/lossy.sh: IPv6 profiles asked for, but this kernel has no IPv6" >&2; exit 2; }
for c in ethtool nc python3 sha256sum; do
	command -v "$c" >/dev/null || { echo "bench/lossy.sh: $c missing (make deps)" >&2; exit 2; }
done
BRIDGE=$BUILD/tests/helpers/impair_bridge
[ -x "$BUILD/nstack" ] && [ -x "$BRIDGE" ] || make -C "$ROOT" -s B="$BUILD" all "$BRIDGE"
XFER=$ROOT/tests/helpers/lossy_xfer.py
NS=nstlossy-$$ NSB=nstlossyb-$$ NSK=nstlossyk-$$
WORK=$(mktemp -d)
RAW=$WORK/raw.txt
PIDS=()
cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for ns in "$NSB" "$NS" "$NSK"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx="ip netns exec $NS" bsx="ip netns exec $NSB" ksx="ip netns exec $NSK"
for ns in "$NS" "$NSB" "$NSK"; do
	ip netns add "$ns"
	if [ "$HAVE6" = 1 ] && [ "$ns" != "$NSB" ]; then
		# IPv6 without DAD or router solicitations, before the devices exist (they inherit it)
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0 \
			net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
	else
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	fi
	ip -n "$ns" link set lo up
done
ip -n "$NS" link add vs0 type veth peer name vs1 netns "$NSB"
ip -n "$NSK" link add vc0 type veth peer name vc1 netns "$NSB"
ip -n "$NSB" tuntap add dev nst0 mode tap
ip -n "$NSB" link set nst0 txqueuelen 5000
ip -n "$NS" addr add 198.18.0.1/24 dev vs0
ip -n "$NSK" addr add 198.18.0.3/24 dev vc0
if [ "$HAVE6" = 1 ]; then
	ip -n "$NS" -6 addr add fd00:198:18::1/64 dev vs0 nodad
	ip -n "$NSK" -6 addr add fd00:198:18::3/64 dev vc0 nodad
fi
offloads_off() { # NETNS IF...
	local ns=$1 i f; shift
	for i in "$@"; do
		for f in tso gso gro lro tx rx sg ufo; do ip netns exec "$ns" ethtool -K "$i" "$f" off >/dev/null 2>&1 || true; done
	done
}
offloads_off "$NS" vs0; offloads_off "$NSK" vc0; offloads_off "$NSB" vs1 vc1 nst0
ip -n "$NS" link set vs0 up; ip -n "$NSK" link set vc0 up
for i in vs1 vc1 nst0; do ip -n "$NSB" link set "$i" up; done

head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$WORK/file"
WANT=$(sha256sum <"$WORK/file" | cut -d' ' -f1)
NST="env NSTACK_OFFLOAD=0 ${LOSSY_ENV:-} $BUILD/nstack run --if nst0 --addr 198.18.0.2/24 --"
NST6="env NSTACK_OFFLOAD=0 ${LOSSY_ENV:-} $BUILD/nstack run --if nst0 --addr 198.18.0.2/24 --addr6 fd00:198:18::2/64 --"
PORT=9000

# one PROFILE DIR WHO: one transfer; prints the seconds or "fail"
one() {
	local prof=$1 dir=$2 who=$3 b run srv br out t="" i saddr=198.18.0.1 nst=$NST
	[ "$prof" = "${prof%6}" ] || { saddr=fd00:198:18::1; nst=$NST6; }
	PORT=$((PORT + 1))
	out=$WORK/out
	rm -f "$out"
	if [ "$dir" = down ]; then
		$nsx nc -n -N -l "$saddr" "$PORT" <"$WORK/file" >/dev/null 2>&1 &
	else
		$nsx nc -n -l "$saddr" "$PORT" </dev/null >"$out" 2>/dev/null &
	fi
	srv=$!; PIDS+=("$srv")
	for i in $(seq 100); do $nsx ss -ltnH "sport = :$PORT" | grep -q . && break; sleep 0.1; done
	[ "$who" = nstack ] && b=nst0 || b=vc1
	$bsx "$BRIDGE" --a vs1 --b "$b" --both "${SPEC[${prof%6}]}" --timeout $((TMO + 60)) \
		2>"$WORK/bridge.log" &
	br=$!; PIDS+=("$br")
	for i in $(seq 100); do grep -q ready "$WORK/bridge.log" 2>/dev/null && break; sleep 0.05; done
	[ "$who" = nstack ] && run="$bsx $nst" || run=$ksx
	if [ "$dir" = down ]; then
		t=$(timeout -k 5 "$TMO" $run python3 "$XFER" down "$saddr" "$PORT" "$out" 2>>"$WORK/client.log") || t=""
	else
		t=$(timeout -k 5 "$TMO" $run python3 "$XFER" up "$saddr" "$PORT" "$WORK/file" 2>>"$WORK/client.log") || t=""
	fi
	# the upload's server ends at the client's FIN; give it a moment, then stop it anyway
	for i in $(seq 100); do kill -0 "$srv" 2>/dev/null || break; sleep 0.1; done
	kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true
	kill -TERM "$br" 2>/dev/null || true; wait "$br" 2>/dev/null || true
	if [ -n "$t" ] && [ "$(sha256sum <"$out" | cut -d' ' -f1)" = "$WANT" ]; then
		echo "${t#* }"
	else
		[ -n "$t" ] && echo "bench/lossy.sh: $prof $dir $who: corrupt data" >&2
		echo fail
	fi
}

START=$(date +%s)
echo "bench/lossy.sh: RUNS=$RUNS SIZE_MB=$SIZE_MB profiles: $PROFILES BUILD=$BUILD" >&2
# run by run over every profile: a budget that runs out costs the last runs, not a profile
for r in $(seq "$RUNS"); do
	for prof in $PROFILES; do
		for dir in down up; do
			for who in kernel nstack; do
				if (($(date +%s) - START > BUDGET)); then
					v=skipped
				else
					v=$(one "$prof" "$dir" "$who")
				fi
				echo "$prof $dir $who $v" >>"$RAW"
				echo "  $prof $dir $who run $r: $v" >&2
			done
		done
	done
done

STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$ROOT/bench/results"
OUT=$ROOT/bench/results/lossy-$STAMP.json
python3 - "$RAW" "$OUT" "$RUNS" "$SIZE_MB" "$(($(date +%s) - START))" \
	"$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)" \
	"a=${SPEC[a]}" "b=${SPEC[b]}" "c=${SPEC[c]}" "z=${SPEC[z]}" <<-'PY'
	import json, statistics, sys
	raw, out, runs, size, elapsed, commit = sys.argv[1:7]
	specs = dict(a.split("=", 1) for a in sys.argv[7:])
	base = lambda prof: prof[:-1] if prof.endswith("6") else prof
	res = {}
	for line in open(raw):
	    prof, d, who, v = line.split()
	    res.setdefault(prof, {}).setdefault(d, {}).setdefault(who, []).append(v)
	doc = {"bench": "lossy", "size_mb": int(size), "runs": int(runs), "elapsed_s": int(elapsed),
	       "commit": commit, "profiles": {}}
	print("%-3s %-4s %-7s %9s %9s %9s %6s  %s" % ("", "dir", "who", "median_s", "min_s", "max_s", "failed", "ratio nstack/kernel"))
	for prof, dirs in res.items():
	    p = doc["profiles"][prof] = {"spec": specs.get(base(prof), ""),
	                                 "family": 6 if prof.endswith("6") else 4}
	    for d, whos in dirs.items():
	        e = p[d] = {}
	        for who, vals in whos.items():
	            ok = sorted(float(v) for v in vals if v not in ("fail", "skipped"))
	            e[who] = {"runs": vals, "failed": sum(v == "fail" for v in vals),
	                      "skipped": sum(v == "skipped" for v in vals),
	                      "median": statistics.median(ok) if ok else None,
	                      "min": ok[0] if ok else None, "max": ok[-1] if ok else None}
	        n, k = e.get("nstack", {}).get("median"), e.get("kernel", {}).get("median")
	        e["ratio"] = round(n / k, 2) if n and k else None
	        for who in ("kernel", "nstack"):
	            s = e.get(who)
	            if not s:
	                continue
	            f = lambda x: "%.3f" % x if x is not None else "-"
	            print("%-3s %-4s %-7s %9s %9s %9s %6d  %s" % (prof, d, who, f(s["median"]), f(s["min"]),
	                  f(s["max"]), s["failed"], (e["ratio"] if who == "nstack" else "")))
	json.dump(doc, open(out, "w"), indent=1)
	print("wrote", out)
	PY
