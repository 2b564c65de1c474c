# Shared helpers for the e2e suite: the network lab, background peers, bounded waits.
#
# The lab (one per test, created in setup, removed in teardown even on failure):
#
#   netns NS                                      netns NSK
#   kernel peers (http.server, nc -l, ...)        kernel reference client
#   nstack program (198.18.0.2, owns the TAP)
#   nst0  TAP   198.18.0.1/24
#   vk0   veth  198.19.0.1/24  <--------------->  vk1  veth  198.19.0.2/24
#                                                 route 198.18.0.0/24 via 198.19.0.1
#
# A scenario runs the same client command twice against the same kernel server in NS:
#   - through the kernel: `$ksx CMD`   (a different host, NSK, reaching 198.18.0.1 over the veth)
#   - through nstack:     `$nsx $NSTACK CMD` (the stack on the TAP, 198.18.0.2)
# and compares exit status and output. Because 198.18.0.1 is a local address of NS, NSK's
# packets to it are delivered over the veth without forwarding; both clients use the very same
# URL / address.
#
# Only 198.18.0.0/15 is used, only inside these namespaces; nothing touches the root namespace's
# interfaces or routes. Every wait is bounded. lab_down kills the PIDs we recorded, then any
# process still inside our (uniquely named) namespaces, then deletes them; it is idempotent.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BUILD=${E2E_BUILD:-$ROOT/build} # E2E_BUILD: test another build directory
KADDR=198.18.0.1
NADDR=198.18.0.2
KVETH=198.19.0.1
CVETH=198.19.0.2
: "${BATS_TEST_TIMEOUT:=300}" # bats ≥1.7 fails a single test that runs longer than this
export BATS_TEST_TIMEOUT

# Effective capabilities of this shell include CAP_NET_ADMIN (12) and CAP_SYS_ADMIN (21)?
have_netadmin() {
	local hex
	hex=$(awk '/^CapEff:/ {print $2}' /proc/self/status 2>/dev/null) || return 1
	[ -n "$hex" ] || return 1
	(( (16#$hex >> 12) & 1 )) && (( (16#$hex >> 21) & 1 ))
}

# Call first in setup: skip (with the reason) without privileges; fail when tools are missing.
lab_require() {
	have_netadmin || skip "needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) to create the network lab"
	[ -e /dev/net/tun ] || skip "no /dev/net/tun on this machine"
	local t
	for t in ip ss curl nc python3 sha256sum timeout "$@"; do
		command -v "$t" >/dev/null || fail "missing tool '$t' (run: sudo make deps)"
	done
}

# Call before the nstack half of a scenario (the kernel half runs first, so a missing build
# still shows whether the lab and the kernel reference work). A missing build is a failure,
# not a skip: `make test` builds first.
need_nstack() {
	[ -x "$BUILD/nstack" ] || fail "missing $BUILD/nstack (run: make)"
	[ -e "$BUILD/libnstack.so" ] || fail "missing $BUILD/libnstack.so (run: make)"
}

# Create the lab described above and set NS, NSK, nsx, ksx, NSTACK.
lab_up() {
	# Unique per run and test; NST_LAB_TAG (set by tests/run-e2e.sh) lets the runner find and
	# remove the labs of a bats run it had to kill on timeout.
	NS="nst${NST_LAB_TAG:-}-$$-${BATS_TEST_NUMBER:-0}"
	NSK="nsk${NST_LAB_TAG:-}-$$-${BATS_TEST_NUMBER:-0}"
	nsx="ip netns exec $NS"
	ksx="ip netns exec $NSK"
	NSTACK="$BUILD/nstack run --if nst0 --addr $NADDR/24 --"
	LAB_PIDS=()
	LAB_UP=1
	ip netns add "$NS"
	ip netns add "$NSK"
	# No IPv6 chatter (router solicitations, DAD) on the lab links.
	$nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	$ksx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$NS" link set lo up
	ip -n "$NSK" link set lo up
	ip -n "$NS" tuntap add dev nst0 mode tap
	ip -n "$NS" addr add "$KADDR/24" dev nst0
	ip -n "$NS" link set nst0 up
	ip -n "$NS" link add vk0 type veth peer name vk1 netns "$NSK"
	ip -n "$NS" addr add "$KVETH/24" dev vk0
	ip -n "$NSK" addr add "$CVETH/24" dev vk1
	ip -n "$NS" link set vk0 up
	ip -n "$NSK" link set vk1 up
	ip -n "$NSK" route add 198.18.0.0/24 via "$KVETH"
	export NS NSK nsx ksx NSTACK KADDR NADDR BUILD ROOT
}

# Idempotent; safe in teardown even when lab_up failed halfway or never ran.
lab_down() {
	local p ns
	for p in "${LAB_PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	for ns in "${NS:-}" "${NSK:-}"; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || continue
		# Anything still running inside our own namespaces was started by this test.
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	done
	local i
	for ((i = 0; i < 20; i++)); do
		local left=
		for ns in "${NS:-}" "${NSK:-}"; do
			if [ -n "$ns" ] && [ -e "/run/netns/$ns" ] && [ -n "$(ip netns pids "$ns" 2>/dev/null)" ]; then
				left=1
			fi
		done
		[ -z "$left" ] && break
		sleep 0.1
	done
	for ns in "${NS:-}" "${NSK:-}"; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	LAB_PIDS=()
	return 0
}

# bg LOG CMD... : start CMD in the background (its own stdout+stderr to LOG), record its PID.
# Use it with "$nsx"/"$ksx" as part of CMD. The PID is left in BG_PID.
bg() {
	local log=$1; shift
	"$@" </dev/null >"$log" 2>&1 3>&- &
	BG_PID=$!
	LAB_PIDS+=("$BG_PID")
}

# bg_in LOG INFILE CMD... : like bg, with stdin from INFILE.
bg_in() {
	local log=$1 in=$2; shift 2
	"$@" <"$in" >"$log" 2>&1 3>&- &
	BG_PID=$!
	LAB_PIDS+=("$BG_PID")
}

# wait_listen NETNS PORT [TRIES]: wait (bounded, 0.1 s steps, default 5 s) until a TCP socket
# listens on PORT inside NETNS.
wait_listen() {
	local ns=$1 port=$2 tries=${3:-50} i
	for ((i = 0; i < tries; i++)); do
		if ip netns exec "$ns" ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	echo "nothing listens on port $port in $ns after $((tries / 10)) s" >&2
	return 1
}

# wait_established NETNS PEER_ADDR [TRIES]: wait until NETNS has an established TCP connection
# with PEER_ADDR (bounded).
wait_established() {
	local ns=$1 peer=$2 tries=${3:-50} i
	for ((i = 0; i < tries; i++)); do
		if ip netns exec "$ns" ss -tnH state established "dst $peer" 2>/dev/null | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	echo "no established connection with $peer in $ns after $((tries / 10)) s" >&2
	return 1
}

# wait_file_grep FILE REGEX [TRIES]: wait until FILE contains REGEX (bounded).
wait_file_grep() {
	local f=$1 re=$2 tries=${3:-50} i
	for ((i = 0; i < tries; i++)); do
		grep -qE -- "$re" "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "'$re' did not appear in $f after $((tries / 10)) s" >&2
	return 1
}

# wait_pid PID [SECONDS]: wait for a background PID to end, bounded; returns its exit status,
# or 124 (after killing it) when it did not end in time.
wait_pid() {
	local pid=$1 secs=${2:-30} i
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid"
}

# The nstack half of a scenario must really have gone over the TAP: 198.18.0.1 is a local
# address of NS, so a program that silently fell back to the kernel would still reach it.
# tap_rx prints the frames the kernel has received on nst0 (= frames nstack sent);
# assert_tap_used BEFORE checks that it grew.
tap_rx() {
	ip netns exec "$NS" cat /sys/class/net/nst0/statistics/rx_packets
}

assert_tap_used() {
	local now
	now=$(tap_rx)
	((now > $1)) || fail "no frame came in on nst0 (rx_packets $1 -> $now): the program did not use nstack"
}

# assert_log LOG REGEX: a peer's log has a line matching REGEX (e.g. the client's address).
assert_log() {
	grep -qE -- "$2" "$1" || fail "no line matching '$2' in $(basename "$1"): $(tail -n 5 "$1")"
}

# sha256 FILE: print just the hex digest.
sha256() {
	sha256sum "$1" | awk '{print $1}'
}

# mkfile FILE MEGABYTES: random content.
mkfile() {
	head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$1"
}

# http_server DIR [PORT] [BIND]: kernel `python3 -m http.server` in NS serving DIR; waits until
# it listens.
http_server() {
	local dir=$1 port=${2:-8000} bind=${3:-0.0.0.0}
	bg "$BATS_TEST_TMPDIR/http-$port.log" $nsx python3 -m http.server "$port" --bind "$bind" --directory "$dir"
	wait_listen "$NS" "$port"
}

# Show the lab's state and any logs when a test failed (bats prints this only on failure).
lab_debug() {
	local f
	for f in "$BATS_TEST_TMPDIR"/*.log; do
		[ -e "$f" ] || continue
		echo "--- $(basename "$f") (last lines)"
		tail -n 20 "$f"
	done
}

# Standard setup/teardown for lab scenarios; a .bats file may define its own instead.
lab_setup() {
	lab_require "$@"
	lab_up
}

lab_teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || lab_debug || true
	lab_down
}

# wait_nstack_listen PORT [TRIES]: wait (bounded, ~0.15 s steps, default 100) until the nstack
# program in NS listens on $NADDR:PORT. `ss` cannot see nstack's sockets; this sends bare SYNs
# from a raw socket in NS (tests/e2e/server_probe.py) and takes a SYN-ACK as the answer, without
# using up the connection of a server that accepts only one.
wait_nstack_listen() {
	ip netns exec "$NS" python3 "$ROOT/tests/e2e/server_probe.py" "$KADDR" "$NADDR" "$1" "${2:-100}"
}

# ---- the lossy lab: an impairment bridge between a kernel server and either client ---------
#
#   netns NS (server)           netns NSB (bridge)                          netns NSK (client)
#   kernel server               impair_bridge vs1 <-> nst0 (nstack path)
#   vs0 198.18.0.1/24 <-------> vs1    nstack 198.18.0.2 on TAP nst0 (no kernel address)
#                               impair_bridge vs1 <-> vc1 (kernel path)
#                               vc1 <----------------------------------------> vc0 198.18.0.3/24
#
# One bridge runs at a time (bridge_start PATH SPEC / bridge_stop), with the same
# specification and seed on either path: the nstack client and the kernel client reach the
# same server over the same bad link. Offloads are off on every lab interface so each frame
# fits the MTU (the bridge forwards frames, not 64 KB GSO super-frames), and nstack runs with
# NSTACK_OFFLOAD=0 for the same reason. Only 198.18.0.0/15, only inside the namespaces.
BADDR=198.18.0.3 # the kernel client on the far side of the bridge

# lab_offloads_off NETNS IF...: no TSO/GSO/GRO/checksum offload (a feature a driver cannot
# change is left as it is).
lab_offloads_off() {
	local ns=$1 i f
	shift
	for i in "$@"; do
		for f in tso gso gro lro tx rx sg ufo; do
			ip netns exec "$ns" ethtool -K "$i" "$f" off >/dev/null 2>&1 || true
		done
	done
}

# lab_up_bridge: create the lossy lab; sets NS, NSB, NSK, nsx, bsx, ksx, NSTACK, BRIDGE.
lab_up_bridge() {
	NS="nst${NST_LAB_TAG:-}-$$-${BATS_TEST_NUMBER:-0}"
	NSB="nst${NST_LAB_TAG:-}-$$-${BATS_TEST_NUMBER:-0}-br"
	NSK="nsk${NST_LAB_TAG:-}-$$-${BATS_TEST_NUMBER:-0}"
	nsx="ip netns exec $NS"
	bsx="ip netns exec $NSB"
	ksx="ip netns exec $NSK"
	NSTACK="env NSTACK_OFFLOAD=0 $BUILD/nstack run --if nst0 --addr $NADDR/24 --"
	BRIDGE="$BUILD/tests/helpers/impair_bridge"
	BRIDGE_PID=
	LAB_PIDS=()
	LAB_UP=1
	local ns
	for ns in "$NS" "$NSB" "$NSK"; do
		ip netns add "$ns"
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip -n "$NS" link add vs0 type veth peer name vs1 netns "$NSB"
	ip -n "$NSK" link add vc0 type veth peer name vc1 netns "$NSB"
	ip -n "$NSB" tuntap add dev nst0 mode tap
	ip -n "$NSB" link set nst0 txqueuelen 5000
	ip -n "$NS" addr add "$KADDR/24" dev vs0
	ip -n "$NSK" addr add "$BADDR/24" dev vc0
	lab_offloads_off "$NS" vs0
	lab_offloads_off "$NSK" vc0
	lab_offloads_off "$NSB" vs1 vc1 nst0
	ip -n "$NS" link set vs0 up
	ip -n "$NSK" link set vc0 up
	ip -n "$NSB" link set vs1 up
	ip -n "$NSB" link set vc1 up
	ip -n "$NSB" link set nst0 up
	export NS NSB NSK nsx bsx ksx NSTACK BRIDGE KADDR NADDR BADDR BUILD ROOT
}

# bridge_start nstack|kernel SPEC [STATS_FILE]: run the bridge between the server's link
# and the nstack TAP or the kernel client's veth, SPEC on both directions (a = server side:
# a_to_b carries the server's data, b_to_a the client's). Waits until it is ready.
bridge_start() {
	local path=$1 spec=$2 stats=${3:-$BATS_TEST_TMPDIR/bridge-$1.json} b
	[ "$path" = nstack ] && b=nst0 || b=vc1
	[ -n "${BRIDGE_PID:-}" ] && bridge_stop
	rm -f "$stats"
	bg "$BATS_TEST_TMPDIR/bridge-$path.log" $bsx "$BRIDGE" --a vs1 --b "$b" --both "$spec" \
		--timeout 900 --stats "$stats"
	BRIDGE_PID=$BG_PID
	BRIDGE_STATS=$stats
	wait_file_grep "$BATS_TEST_TMPDIR/bridge-$path.log" 'impair_bridge: ready'
}

# bridge_stop: stop the running bridge (its counters land in BRIDGE_STATS).
bridge_stop() {
	[ -n "${BRIDGE_PID:-}" ] || return 0
	kill -TERM "$BRIDGE_PID" 2>/dev/null || true
	wait_pid "$BRIDGE_PID" 10 || true
	BRIDGE_PID=
}

# bridge_counter FILE LANE NAME: one counter of a stopped bridge's stats file.
bridge_counter() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' "$@"
}

# lab_down_bridge: idempotent; the bridge namespace, then the rest as lab_down does.
lab_down_bridge() {
	local p i
	bridge_stop
	if [ -n "${NSB:-}" ] && [ -e "/run/netns/$NSB" ]; then
		for p in $(ip netns pids "$NSB" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
		for ((i = 0; i < 20; i++)); do
			[ -z "$(ip netns pids "$NSB" 2>/dev/null)" ] && break
			sleep 0.1
		done
		for p in $(ip netns pids "$NSB" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$NSB" 2>/dev/null || true
	fi
	lab_down
}

# ---- the AF_PACKET lab: nstack on a veth end the kernel has no address on --------------------
#
#   netns NS                                  netns NSP
#   kernel peers                              nstack program (198.18.0.2, AF_PACKET on vp1)
#   vp0  veth  198.18.0.1/24  <------------>  vp1  veth, no kernel address, IPv6 off
#   vk0  veth  198.19.0.1/24  <-->  NSK: vk1 198.19.0.2/24, the kernel reference client
#
# The nstack program runs in NSP ($psx $NSTACK CMD); a kernel client in NSK reaches the
# same kernel server at 198.18.0.1 as in the TAP lab. A veth hands every frame to its peer
# whatever the destination MAC, so nstack needs no promiscuous mode; the kernel in NSP
# sees the frames too but owns no address on vp1 and drops them.
lab_up_packet() {
	NS="nst${NST_LAB_TAG:-}-$$-${BATS_TEST_NUMBER:-0}"
	NSP="nst${NST_LAB_TAG:-}-$$-${BATS_TEST_NUMBER:-0}-pk"
	NSK="nsk${NST_LAB_TAG:-}-$$-${BATS_TEST_NUMBER:-0}"
	nsx="ip netns exec $NS"
	psx="ip netns exec $NSP"
	ksx="ip netns exec $NSK"
	NSTACK="$BUILD/nstack run --dev packet --if vp1 --addr $NADDR/24 --"
	LAB_PIDS=()
	LAB_UP=1
	local ns
	for ns in "$NS" "$NSP" "$NSK"; do
		ip netns add "$ns"
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip -n "$NS" link add vp0 type veth peer name vp1 netns "$NSP"
	ip -n "$NS" addr add "$KADDR/24" dev vp0
	ip -n "$NS" link set vp0 up
	ip -n "$NSP" link set vp1 up
	ip -n "$NS" link add vk0 type veth peer name vk1 netns "$NSK"
	ip -n "$NS" addr add "$KVETH/24" dev vk0
	ip -n "$NSK" addr add "$CVETH/24" dev vk1
	ip -n "$NS" link set vk0 up
	ip -n "$NSK" link set vk1 up
	ip -n "$NSK" route add 198.18.0.0/24 via "$KVETH"
	export NS NSP NSK nsx psx ksx NSTACK KADDR NADDR BUILD ROOT
}

# packet_tx: frames the kernel has received on vp0 (= frames nstack sent on vp1);
# assert_packet_used BEFORE checks that it grew.
packet_tx() {
	ip netns exec "$NS" cat /sys/class/net/vp0/statistics/rx_packets
}

assert_packet_used() {
	local now
	now=$(packet_tx)
	((now > $1)) || fail "no frame came in on vp0 (rx_packets $1 -> $now): the program did not use nstack"
}

# lab_down_packet: idempotent; the nstack namespace, then the rest as lab_down does.
lab_down_packet() {
	local p i
	if [ -n "${NSP:-}" ] && [ -e "/run/netns/$NSP" ]; then
		for p in $(ip netns pids "$NSP" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
		for ((i = 0; i < 20; i++)); do
			[ -z "$(ip netns pids "$NSP" 2>/dev/null)" ] && break
			sleep 0.1
		done
		for p in $(ip netns pids "$NSP" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$NSP" 2>/dev/null || true
	fi
	lab_down
}

# ---- IPv6 in the TAP lab ---------------------------------------------------------------------
#
# lab_addr6_up: call after lab_up. Turns IPv6 on in NS and NSK (lab_up keeps it off) and adds
# the IPv6 twin of every IPv4 address, unique-local (RFC 4193), only inside those namespaces:
#
#   NS   nst0  TAP   fd00:198:18::1/64 (KADDR6)    nstack on the TAP: fd00:198:18::2/64 (NADDR6)
#   NS   vk0   veth  fd00:198:19::1/64 (KVETH6) <-> NSK vk1 fd00:198:19::2/64 (CVETH6)
#                                                  route fd00:198:18::/64 via fd00:198:19::1
#
# Every address is usable at once (nodad, accept_dad=0 for the link-local ones too: the TAP has
# no carrier until nstack opens it), and no router solicitations are sent. Exports KADDR6,
# NADDR6, KVETH6, CVETH6 and NSTACK_ADDR6=$NADDR6/64 (for programs run with LD_PRELOAD and the
# environment), and adds --addr6 $NADDR6/64 to NSTACK (the launcher unsets what it is not given).
KADDR6=fd00:198:18::1
NADDR6=fd00:198:18::2
BADDR6=fd00:198:18::3 # the kernel client of the lossy lab (lab_addr6_up_bridge)
KVETH6=fd00:198:19::1
CVETH6=fd00:198:19::2
lab_addr6_up() {
	[ -e /proc/sys/net/ipv6 ] || skip "this kernel has no IPv6"
	lab_ipv6_on "$NS" "$NSK"
	ip -n "$NS" -6 addr add "$KADDR6/64" dev nst0 nodad
	ip -n "$NS" -6 addr add "$KVETH6/64" dev vk0 nodad
	ip -n "$NSK" -6 addr add "$CVETH6/64" dev vk1 nodad
	ip -n "$NSK" -6 route add fd00:198:18::/64 via "$KVETH6"
	NSTACK_ADDR6="$NADDR6/64"
	case "$NSTACK" in
	*" --addr6 "*) ;;
	*" --") NSTACK="${NSTACK% --} --addr6 $NADDR6/64 --" ;;
	esac
	export KADDR6 NADDR6 KVETH6 CVETH6 NSTACK_ADDR6 NSTACK
}

# lab_ipv6_on NETNS...: IPv6 on in each namespace (the labs create them with it off), with no
# DAD and no router solicitations, on the devices that exist and the later ones.
lab_ipv6_on() {
	local ns dev
	for ns in "$@"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.router_solicitations=0 \
			net.ipv6.conf.default.router_solicitations=0
		for dev in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
			ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.accept_dad=0" \
				"net.ipv6.conf.$dev.router_solicitations=0"
		done
		# all.disable_ipv6 reaches every device of the namespace, default the later ones
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
			net.ipv6.conf.default.disable_ipv6=0
	done
}

# lab_addr6_up_bridge: call after lab_up_bridge. IPv6 in the lossy lab, one unique-local /64
# on the bridged link, only inside the namespaces (the bridge's own NSB keeps IPv6 off: it
# has no address, and nstack owns nst0):
#
#   NS   vs0  fd00:198:18::1/64 (KADDR6, the server)     nstack on nst0: fd00:198:18::2/64 (NADDR6)
#   NSK  vc0  fd00:198:18::3/64 (BADDR6, the kernel client)
#
# nodad, no DAD or router solicitations, as lab_addr6_up; adds --addr6 $NADDR6/64 to NSTACK.
lab_addr6_up_bridge() {
	[ -e /proc/sys/net/ipv6 ] || skip "this kernel has no IPv6"
	lab_ipv6_on "$NS" "$NSK"
	ip -n "$NS" -6 addr add "$KADDR6/64" dev vs0 nodad
	ip -n "$NSK" -6 addr add "$BADDR6/64" dev vc0 nodad
	case "$NSTACK" in
	*" --addr6 "*) ;;
	*" --") NSTACK="${NSTACK% --} --addr6 $NADDR6/64 --" ;;
	esac
	export KADDR6 NADDR6 BADDR6 NSTACK
}

# The kernel reference host NSC, beside nstack on the router NS's side (tests that need the
# kernel at nstack's place in the network: traceroute.bats, ipv6_rel.bats):
#
#   NSC  vc1 198.18.0.3/32, fd00:198:18::3/128 ── vc0 (NS: 198.18.0.1 peer 198.18.0.3, fe80::1)
#        default routes via 198.18.0.1 and fe80::1
#
# NS reaches NSC by host routes on vc0 and answers it from the same addresses as nstack
# (198.18.0.1, fd00:198:18::1). Sets NSC and csx; lab_nsc_down (called by the test's
# teardown before lab_teardown) removes it. Call after lab_up (and lab_addr6_up for IPv6).
lab_nsc_up() {
	NSC="nst${NST_LAB_TAG:-}-$$-${BATS_TEST_NUMBER:-0}-c"
	csx="ip netns exec $NSC"
	ip netns add "$NSC"
	$csx sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
	ip -n "$NSC" link set lo up
	ip -n "$NS" link add vc0 type veth peer name vc1 netns "$NSC"
	ip -n "$NS" addr add "$KADDR" peer 198.18.0.3 dev vc0
	ip -n "$NSC" addr add 198.18.0.3 peer "$KADDR" dev vc1
	ip -n "$NS" -6 addr add fe80::1/64 dev vc0 nodad
	ip -n "$NSC" -6 addr add fd00:198:18::3/128 dev vc1 nodad
	ip -n "$NS" link set vc0 up
	ip -n "$NSC" link set vc1 up
	ip -n "$NSC" route add default via "$KADDR"
	ip -n "$NS" -6 route add fd00:198:18::3/128 dev vc0
	ip -n "$NSC" -6 route add default via fe80::1 dev vc1
	export NSC csx
}

# Idempotent; kills what runs in NSC (started by the test), then deletes it.
lab_nsc_down() {
	local p i
	[ -n "${NSC:-}" ] && [ -e "/run/netns/$NSC" ] || return 0
	for p in $(ip netns pids "$NSC" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	for ((i = 0; i < 20; i++)); do
		[ -z "$(ip netns pids "$NSC" 2>/dev/null)" ] && break
		sleep 0.1
	done
	for p in $(ip netns pids "$NSC" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	ip netns del "$NSC" 2>/dev/null || true
}
