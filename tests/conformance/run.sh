#!/usr/bin/env bash
# TCP conformance: packetdrill scripts from Google's suite, each run in wire mode twice in one
# run — on the kernel and on nstack — and the table of results (docs/COMPATIBILITY.md).
#
#   tests/conformance/run.sh [-k] [-n] [-j N] [-f REGEX] [LIST]
#     LIST  the curated list (default tests/conformance/scripts.list; its header explains it)
#     -k    kernel only; -n nstack only (a script then passes on its one side)
#     -f    only the scripts whose path matches REGEX
#     -v    show 20 lines of packetdrill's output for a failing run (4 without -v)
#
# Environment:
#   BUILD            nstack's build directory (default build/)
#   PACKETDRILL      a packetdrill binary to use as it is
#   PACKETDRILL_SRC  packetdrill's source: a tarball or a directory holding gtests/net/packetdrill
#                    (default ../shared/vendor/packetdrill-2c4001c.tar.gz); built once into
#                    BUILD/conformance/
#   CONF_SKIP_KNOWN=1  leave out the scripts marked 'known' (make test does: they fail on nstack
#                    today and are reported by make conformance, not counted)
#   CONF_TIMEOUT     seconds allowed to one packetdrill run (default 60)
#   CONF_TOLERANCE_USECS  packetdrill's --tolerance_usecs (default 10000; see below)
#   CONF_PCAP=1      capture each run beside its log (nstack: NSTACK_PCAP; kernel: tcpdump)
#   CONF_VERBOSE=1   packetdrill --verbose
#
# One lab per run of a script (fresh kernel state: no TIME-WAIT or metrics carried over):
#
#   netns pdc-…  (machine under test)                    netns pds-…  (wire server)
#   packetdrill --wire_client, syscalls on the kernel    packetdrill --wire_server
#   or, preloaded, on nstack (AF_PACKET on pdc0)         injects and sniffs on pds0
#   pdc0  veth  [198.18.0.2: kernel or nstack]  <---->   pds0  veth  gateway 198.18.0.1/24
#   pdc1  veth  198.19.0.1/30                   <---->   pds1  veth  198.19.0.2/30 :8081
#   socat 127.0.0.1:8081 -> 198.19.0.2:8081 (control connection, always the kernel's)
#
# The script's remote end is 198.18.1.1, reached through the gateway. The wire client talks to
# its server through the relay on 127.0.0.1, which nstack never serves, so the control
# connection stays on the kernel while the script's sockets are nstack's. On nstack the wire
# client's `ip addr add 198.18.0.2/24 dev pdc0` and `ip route add` are answered by
# tests/conformance/bin/ip without touching the kernel (the kernel must not own nstack's
# address); nstack gets pdc0's MAC, software offloads (NSTACK_OFFLOAD=0) and the gateway.
# TSO/GSO/GRO are off on the veth ends: packetdrill compares segments one by one.
#
# Output: one line per script "PATH  kernel  nstack" (pass/FAIL/-), then
# "conformance: N passed, N failed". A script passes when it passes on both sides; a script
# the kernel fails is a failure too (the list holds only scripts the kernel passes here).
# Only 198.18.0.0/15, only inside the namespaces made here, removed on exit.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD

kernel=1 nstack=1 filter= verbose= skip_known=${CONF_SKIP_KNOWN:-}
while getopts knf:v o; do
	case $o in
	k) nstack= ;;
	n) kernel= ;;
	f) filter=$OPTARG ;;
	v) verbose=1 ;;
	*) sed -n '2,12p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
LIST=${1:-tests/conformance/scripts.list}
[ -f "$LIST" ] || { echo "conformance: no list $LIST"; echo "conformance: 0 passed, 1 failed"; exit 1; }
BUILD=$(cd "${BUILD:-${E2E_BUILD:-build}}" 2>/dev/null && pwd) || { echo "conformance: no build directory (run: make)"; exit 2; }
WORK=$BUILD/conformance
TIMEOUT=${CONF_TIMEOUT:-60}
# Timing tolerance: packetdrill's default is 4 ms (+12.5% of the interval). In wire mode every
# event crosses two namespaces and a relay on a shared 2-core machine, and the kernel itself
# misses 4 ms now and then here; the behaviours the scripts tell apart (an ACK at once or after
# 40/200 ms, RACK at RTT/4 or a probe at 2 RTT, an RTO) differ by far more than 10 ms.
TOLERANCE=${CONF_TOLERANCE_USECS:-10000}
LADDR=198.18.0.2 GW=198.18.0.1 RADDR=198.18.1.1 MASK=255.255.255.0
CADDR=198.19.0.1 SADDR=198.19.0.2 CPORT=8081

die() { echo "conformance: $*" >&2; echo "conformance: 0 passed, 1 failed"; exit 1; }
if [ "$(id -u)" != 0 ]; then
	case "${CI:-}" in
	"" | 0 | false | no)
		echo "conformance: needs root (network namespaces, veth, AF_PACKET): not run"
		echo "conformance: 0 passed, 0 failed"
		exit 0 ;;
	esac
	die "needs root (network namespaces, veth, AF_PACKET)"
fi
for t in ip socat ethtool timeout sed; do command -v $t >/dev/null || die "missing tool '$t' (run: make deps)"; done
[ -e "$BUILD/libnstack.so" ] || die "missing $BUILD/libnstack.so (run: make)"

# ---- packetdrill: a given binary, or built once from the pinned source ----------------------
build_packetdrill() {
	local src=${PACKETDRILL_SRC:-$ROOT/../shared/vendor/packetdrill-2c4001c.tar.gz}
	local dir=$WORK/src stamp=$WORK/src/.built
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$src" ]; then return 0; fi
	command -v bison >/dev/null && command -v flex >/dev/null || die "packetdrill needs bison and flex (run: make deps)"
	rm -rf "$dir" && mkdir -p "$dir"
	if [ -d "$src" ]; then
		cp -a "$src/." "$dir/" || die "cannot copy $src"
	elif [ -f "$src" ]; then
		tar -xzf "$src" -C "$dir" --strip-components=1 || die "cannot unpack $src"
	else
		die "no packetdrill source at $src (set PACKETDRILL_SRC or PACKETDRILL)"
	fi
	[ -d "$dir/gtests/net/packetdrill" ] || die "$src has no gtests/net/packetdrill"
	echo "conformance: building packetdrill from $src"
	(cd "$dir/gtests/net/packetdrill" && ./configure >/dev/null && make -j2 packetdrill) \
		>"$WORK/packetdrill-build.log" 2>&1 || die "packetdrill build failed: $WORK/packetdrill-build.log"
	echo "$src" >"$stamp"
}
mkdir -p "$WORK"
if [ -n "${PACKETDRILL:-}" ]; then
	PD=$PACKETDRILL
	SCRIPTS=${PACKETDRILL_SCRIPTS:-$(dirname "$PD")/../tcp}
else
	build_packetdrill
	PD=$WORK/src/gtests/net/packetdrill/packetdrill
	SCRIPTS=$WORK/src/gtests/net/tcp
fi
[ -x "$PD" ] || die "no packetdrill binary at $PD"
[ -d "$SCRIPTS" ] || die "no packetdrill scripts at $SCRIPTS (set PACKETDRILL_SCRIPTS)"

# ---- the lab --------------------------------------------------------------------------------
TAG=$$
NSC=pdc-$TAG NSS=pds-$TAG
SRV_PID= RELAY_PID=
lab_down() {
	local p ns
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	[ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null
	SRV_PID= RELAY_PID=
	for ns in "$NSC" "$NSS"; do
		ip netns list 2>/dev/null | grep -qw "$ns" || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
}
trap 'lab_down' EXIT
trap 'lab_down; exit 130' INT TERM

# Labs left by a run that was killed outright (no trap ran): pdc-PID/pds-PID whose PID is gone.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^pd[cs]-[0-9]+$'); do
	pid=${ns#pd?-}
	[ "$pid" != "$TAG" ] && ! kill -0 "$pid" 2>/dev/null || continue
	for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
done

# wait_port NS ADDR PORT: up to 5 s for a TCP listener
wait_port() {
	local i
	for i in $(seq 100); do
		ip netns exec "$1" ss -Hltn "src $2:$3" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

lab_up() {
	local ns
	lab_down
	ip netns add "$NSC" && ip netns add "$NSS" || return 1
	for ns in "$NSC" "$NSS"; do
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	ip -n "$NSC" link add pdc0 type veth peer name pds0 netns "$NSS" || return 1
	ip -n "$NSC" link add pdc1 type veth peer name pds1 netns "$NSS" || return 1
	ip netns exec "$NSC" ethtool -K pdc0 tso off gso off gro off >/dev/null 2>&1
	ip netns exec "$NSS" ethtool -K pds0 tso off gso off gro off >/dev/null 2>&1
	ip -n "$NSC" addr add $CADDR/30 dev pdc1
	ip -n "$NSS" addr add $SADDR/30 dev pds1
	for ns in "$NSC" "$NSS"; do ip -n "$ns" link set "${ns:0:3}0" up; ip -n "$ns" link set "${ns:0:3}1" up; done
	ip netns exec "$NSS" "$PD" --wire_server --wire_server_dev=pds0 ${CONF_VERBOSE:+--verbose} >"$WORK/server.log" 2>&1 &
	SRV_PID=$!
	ip netns exec "$NSC" socat TCP-LISTEN:$CPORT,bind=127.0.0.1,reuseaddr,fork,nodelay TCP:$SADDR:$CPORT,nodelay \
		>/dev/null 2>&1 &
	RELAY_PID=$!
	wait_port "$NSS" 0.0.0.0 $CPORT || { echo "conformance: wire server did not start"; cat "$WORK/server.log"; return 1; }
	wait_port "$NSC" 127.0.0.1 $CPORT || { echo "conformance: relay did not start"; return 1; }
}

# ---- one script ------------------------------------------------------------------------------
# run_one MODE DIR FILE LOG: packetdrill on FILE (in DIR, where its relative paths point).
run_one() {
	local mode=$1 dir=$2 file=$3 log=$4 mac
	lab_up >"$log" 2>&1 || return 1
	local args=(--wire_client --wire_client_dev=pdc0 --wire_server_ip=${CONF_SRV:-127.0.0.1}
		--wire_server_port=$CPORT --local_ip=$LADDR --remote_ip=$RADDR --gateway_ip=$GW
		--netmask_ip=$MASK --tolerance_usecs=$TOLERANCE ${CONF_VERBOSE:+--verbose} "$file")
	if [ "$mode" = kernel ]; then
		local cap= rc
		if [ -n "${CONF_PCAP:-}" ]; then
			# --immediate-mode: packets reach tcpdump as they come, not when a
			# TPACKET_V3 block fills or times out (those still in a block when
			# tcpdump stops are lost: "N packets received by filter" > captured);
			# -U writes each one at once; ip netns exec execs tcpdump: $! is its pid
			ip netns exec "$NSC" tcpdump --immediate-mode -U -q -i pdc0 -w "$log.pcap" >/dev/null 2>&1 &
			cap=$!
			sleep 0.5
		fi
		(cd "$dir" && timeout -k 5 "$TIMEOUT" ip netns exec "$NSC" "$PD" "${args[@]}") >>"$log" 2>&1
		rc=$?
		if [ -n "$cap" ]; then
			# stop the capture before lab_down kills what is left in the namespace with
			# SIGKILL: SIGINT lets tcpdump drain its buffer and close the file whole
			sleep 0.2
			kill -INT "$cap" 2>/dev/null
			for _ in $(seq 50); do kill -0 "$cap" 2>/dev/null || break; sleep 0.1; done
			kill -TERM "$cap" 2>/dev/null
			wait "$cap" 2>/dev/null
		fi
		return $rc
	else
		mac=$(ip netns exec "$NSC" cat /sys/class/net/pdc0/address)
		(cd "$dir" && timeout -k 5 "$TIMEOUT" ip netns exec "$NSC" env \
			PATH="$ROOT/tests/conformance/bin:$PATH" CONF_REAL_IP="$(command -v ip)" CONF_NSTACK_DEV=pdc0 \
			LD_PRELOAD="$BUILD/libnstack.so" NSTACK_IF=pdc0 NSTACK_DEV=packet NSTACK_ADDR=$LADDR/24 \
			NSTACK_GW=$GW NSTACK_MAC="$mac" NSTACK_OFFLOAD=0 NSTACK_RUNDIR="$WORK/run" ${CONF_PCAP:+NSTACK_PCAP=$log.pcap} \
			"$PD" "${args[@]}") >>"$log" 2>&1
	fi
}

# run_side MODE DIR FILE LOG: prints pass, pass2 or FAIL. A failed run gets one more run in a
# fresh lab; "pass (2)" in the table and the count in the summary say so, and the first run's
# log stays as LOG.first. Most such failures are packetdrill's "timing error" (an event a few ms
# outside the tolerance, which happens to the kernel too on a busy machine); some are behaviour
# that depends on time by design with a margin under a millisecond (RACK's reordering window in
# fast_recovery/prr-ss-ack-below-snd_una-cubic: a segment is lost if an ACK comes 0.5 ms later
# than the script's), which a process that is scheduled late misses where the kernel's softirq
# does not. A failure that is not about time fails twice.
run_side() {
	if run_one "$@"; then echo pass; return; fi
	mv "$4" "$4.first"; [ -f "$4.pcap" ] && mv "$4.pcap" "$4.first.pcap"
	if run_one "$@"; then echo pass2; return; fi
	echo FAIL
}

# ---- the list -------------------------------------------------------------------------------
# Copy the scripts (and their common/ helpers) into the build directory, apply the list's
# edits there; the original tree is never touched.
# Scripts reach the suite's shared helpers as ../common and ../../common (gtests/net/common):
# keep that layout, links resolved.
EDITED=$WORK/net/tcp
rm -rf "$WORK/net" && mkdir -p "$EDITED" && cp -rL "$SCRIPTS/." "$EDITED/" || die "cannot copy the scripts"
if [ -d "$SCRIPTS/../common" ]; then cp -rL "$SCRIPTS/../common" "$WORK/net/common" || die "cannot copy common/"; fi
mkdir -p "$WORK/logs" "$WORK/run"
# The suite's common/defaults.sh ends with a qdisc on packetdrill's local tun0; in wire mode the
# device is the wire client's.
DEFAULTS=("$EDITED/common/defaults.sh")
[ -f "$WORK/net/common/defaults.sh" ] && DEFAULTS+=("$WORK/net/common/defaults.sh")
sed -i 's/\<tun0\>/pdc0/' "${DEFAULTS[@]}"

# The scripts assume CUBIC (defaults.sh sets it). A network namespace may only select the
# algorithms of net.ipv4.tcp_allowed_congestion_control, a host-wide list; add cubic to it for
# this run and put the list back on exit.
ALLOWED_CC=$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control 2>/dev/null)
if [ -n "$ALLOWED_CC" ] && ! grep -qw cubic <<<"$ALLOWED_CC"; then
	sysctl -qw net.ipv4.tcp_allowed_congestion_control="$ALLOWED_CC cubic" 2>/dev/null || ALLOWED_CC=
	trap 'lab_down; [ -n "$ALLOWED_CC" ] && sysctl -qw net.ipv4.tcp_allowed_congestion_control="$ALLOWED_CC"' EXIT
else
	ALLOWED_CC=
fi

pass=0 fail=0 excluded=0 retried=0 known_fail=0 known_pass=() every=()
TABLE=$WORK/table.md # the same table in Markdown, for docs/COMPATIBILITY.md
printf '| script | kernel | nstack |\n|---|---|---|\n' >"$TABLE"
printf '%-58s %-7s %-7s\n' script kernel nstack
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%%#*}
	read -r verb path rest <<<"$line" || true
	[ -n "${verb:-}" ] || continue
	if [ "$verb" = skip ]; then excluded=$((excluded + 1)); continue; fi
	if [ "$verb" = defaults ]; then sed -i -e "$path $rest" "${DEFAULTS[@]}" || die "bad defaults edit: $path $rest"; continue; fi
	if [ "$verb" = every ]; then every+=("$path $rest"); continue; fi
	if [ "$verb" = known ] && [ -n "$skip_known" ]; then excluded=$((excluded + 1)); continue; fi
	[ "$verb" = run ] || [ "$verb" = known ] || { echo "conformance: $LIST: bad line: $line"; fail=$((fail + 1)); continue; }
	[ "$verb" = known ] && rest=  # its text is the reason, not an edit
	[ -z "$filter" ] || [[ $path =~ $filter ]] || continue
	if [ ! -f "$EDITED/$path" ]; then
		printf '%-58s %-7s %-7s\n' "$path" missing missing
		fail=$((fail + 1))
		continue
	fi
	for e in "${every[@]}"; do sed -i -e "$e" "$EDITED/$path" || die "bad edit: $e"; done
	if [ -n "$rest" ]; then
		sed -i -e "$rest" "$EDITED/$path" || { echo "conformance: bad edit for $path: $rest"; fail=$((fail + 1)); continue; }
	fi
	dir=$EDITED/$(dirname "$path") file=$(basename "$path")
	log=$WORK/logs/$(echo "$path" | tr / _)
	k=- n=-
	if [ -n "$kernel" ]; then k=$(run_side kernel "$dir" "$file" "$log.kernel"); fi
	if [ -n "$nstack" ]; then n=$(run_side nstack "$dir" "$file" "$log.nstack"); fi
	[ "$k" = pass2 ] && retried=$((retried + 1)) && k="pass (2)"
	[ "$n" = pass2 ] && retried=$((retried + 1)) && n="pass (2)"
	lab_down
	[ "$verb" = known ] && [ "$n" = FAIL ] && n="FAIL (known)"
	printf '%-58s %-7s %-7s\n' "$path" "$k" "$n"
	printf '| %s | %s | %s |\n' "$path" "$k" "$n" >>"$TABLE"
	if [ "$verb" = known ] && [ "$k" != FAIL ]; then
		# a known nstack failure: reported, not counted; a pass says the list is out of date
		if [ "$n" != pass ] && [ "$n" != "pass (2)" ]; then known_fail=$((known_fail + 1)); else known_pass+=("$path"); fi
		continue
	fi
	if [ "$k" = FAIL ] || [ "$n" = FAIL ]; then
		fail=$((fail + 1))
		# what failed, always (a CI log is all there is of a run elsewhere); -v: the whole tail.
		# A copy of the log stays as LOG.fail, which later runs of the script do not overwrite.
		lines=4; [ -n "$verbose" ] && lines=20
		for side in kernel nstack; do
			[ "$side" = kernel ] && [ "$k" != FAIL ] && continue
			[ "$side" = nstack ] && [ "$n" != FAIL ] && continue
			cp "$log.$side" "$log.$side.fail" 2>/dev/null
			grep -v -e "syscall: [0-9.]*$" "$log.$side" | head -n "$lines" | sed "s/^/    $side: /"
		done
	else
		pass=$((pass + 1))
	fi
done <"$LIST"
echo "($excluded scripts left out: see $LIST; logs in $WORK/logs)"
[ "$known_fail" = 0 ] || echo "($known_fail scripts the kernel passes still fail on nstack: 'known' in the list, open work, not counted)"
for k in "${known_pass[@]}"; do echo "($k is listed as known failing but passed: make it 'run')"; done
[ "$retried" = 0 ] || echo "($retried runs passed at the second try: pass (2); LOG.first holds the first)"
echo "conformance: $pass passed, $fail failed"
[ "$fail" = 0 ]
