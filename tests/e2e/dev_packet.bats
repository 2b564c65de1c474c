#!/usr/bin/env bats
# The AF_PACKET backend (NSTACK_DEV=packet): nstack owns a veth end (vp1) the kernel has no
# address on, and reaches a kernel server on the other end (vp0, 198.18.0.1). Each scenario
# runs the same client through the kernel (from NSK, over another veth) and through nstack,
# and compares: a 20 MB curl download (sha256), nc 20 MB each way, iperf3 each way (2 s).
# With offloads on (the default) the kernel's TSO output reaches nstack whole (PACKET_VNET_HDR)
# and nstack hands it 64 KB TSO frames; NSTACK_OFFLOAD=0 gets MSS-sized frames both ways
# (the kernel's aggregates are cut up in software). Misconfigurations: one line, exit 2.

bats_require_minimum_version 1.5.0
load lib

setup_file() {
	mkfile "$BATS_FILE_TMPDIR/file" 20
}

setup() {
	lab_require iperf3
	lab_up_packet
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || lab_debug || true
	lab_down_packet
}

# curl_both [ENV...]: the file over HTTP through the kernel and through nstack; same digest.
curl_both() {
	[ -n "${HTTP_UP:-}" ] || http_server "$BATS_FILE_TMPDIR" 8000 "$KADDR"
	HTTP_UP=1
	run timeout 60 $ksx curl -sS -o "$BATS_TEST_TMPDIR/k" "http://$KADDR:8000/file"
	assert_success
	need_nstack
	local tx0
	tx0=$(packet_tx)
	run timeout 120 $psx env "$@" $NSTACK curl -sS -o "$BATS_TEST_TMPDIR/n" "http://$KADDR:8000/file"
	assert_success
	assert_packet_used "$tx0"
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/n")" "$(sha256 "$BATS_FILE_TMPDIR/file")"
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/k")" "$(sha256 "$BATS_FILE_TMPDIR/file")"
}

@test "curl downloads 20 MB intact over AF_PACKET, kernel and nstack" {
	curl_both NSTACK_LOG=error
}

@test "curl over AF_PACKET without offloads (NSTACK_OFFLOAD=0)" {
	curl_both NSTACK_OFFLOAD=0
}

@test "curl over AF_PACKET on the fallback paths (no multishot read; no io_uring)" {
	curl_both NSTACK_URING_NO_MULTISHOT=1
	curl_both NSTACK_URING_DISABLE=1
}

# nc_up WHO PREFIX...: 20 MB to a kernel `nc -l`; nc_down: 20 MB from a kernel `nc -N -l`.
nc_up() {
	local who=$1 port=$2; shift 2
	local recv="$BATS_TEST_TMPDIR/up-$who"
	bg "$BATS_TEST_TMPDIR/ncup-$who.log" sh -c "exec $nsx nc -n -l $KADDR $port >'$recv'"
	local spid=$BG_PID
	wait_listen "$NS" "$port"
	run timeout 120 "$@" nc -N "$KADDR" "$port" <"$BATS_FILE_TMPDIR/file"
	assert_success
	local rc=0
	wait_pid "$spid" 20 || rc=$?
	assert_equal "server exit $rc" "server exit 0"
	assert_equal "$(sha256 "$recv")" "$(sha256 "$BATS_FILE_TMPDIR/file")"
}

nc_down() {
	local who=$1 port=$2; shift 2
	local out="$BATS_TEST_TMPDIR/down-$who"
	bg_in "$BATS_TEST_TMPDIR/ncdown-$who.log" "$BATS_FILE_TMPDIR/file" $nsx nc -n -N -l "$KADDR" "$port"
	wait_listen "$NS" "$port"
	run timeout 120 "$@" sh -c "exec nc $KADDR $port </dev/null >'$out'"
	assert_success
	assert_equal "$(sha256 "$out")" "$(sha256 "$BATS_FILE_TMPDIR/file")"
}

@test "nc moves 20 MB each way over AF_PACKET, kernel and nstack" {
	nc_up kernel 7001 $ksx
	nc_down kernel 7002 $ksx
	need_nstack
	local tx0
	tx0=$(packet_tx)
	nc_up nstack 7003 $psx $NSTACK
	nc_down nstack 7004 $psx $NSTACK
	assert_packet_used "$tx0"
}

# iperf_ok: the last iperf3 run finished and reported a receiver rate.
iperf_ok() {
	assert_success
	assert_output --partial "iperf Done."
	local recv
	recv=$(echo "$output" | grep -E ' receiver$' | tail -n 1)
	[ -n "$recv" ] || fail "no receiver line"
	echo "# $1: $recv" >&3
}

@test "iperf3 each way over AF_PACKET, kernel and nstack" {
	bg "$BATS_TEST_TMPDIR/iperf-server.log" $nsx iperf3 -s -B "$KADDR" -p 5201
	wait_listen "$NS" 5201
	run timeout 30 $ksx iperf3 -c "$KADDR" -p 5201 -t 2
	iperf_ok "kernel ->"
	run timeout 30 $ksx iperf3 -c "$KADDR" -p 5201 -t 2 -R
	iperf_ok "kernel <-"
	need_nstack
	run timeout 30 $psx $NSTACK iperf3 -c "$KADDR" -p 5201 -t 2
	iperf_ok "nstack ->"
	run timeout 30 $psx $NSTACK iperf3 -c "$KADDR" -p 5201 -t 2 -R
	iperf_ok "nstack <-"
}

@test "misconfiguration: one line and exit 2 (no interface, not a TAP, the kernel's address)" {
	need_nstack
	run --separate-stderr timeout 20 $psx "$BUILD/nstack" run --dev packet --if vp9 \
		--addr "$NADDR/24" -- true
	assert_equal "$status" 2
	[[ $stderr =~ vp9 ]] || fail "no line naming vp9: $stderr"
	assert_equal "$(printf '%s\n' "$stderr" | grep -c .)" 1

	run --separate-stderr timeout 20 $psx "$BUILD/nstack" run --dev tap --if vp1 \
		--addr "$NADDR/24" -- true
	assert_equal "$status" 2
	[[ $stderr =~ "not a TAP" ]] || fail "unexpected: $stderr"

	ip -n "$NSP" addr add "$NADDR/24" dev vp1
	run --separate-stderr timeout 20 $psx "$BUILD/nstack" run --if vp1 --addr "$NADDR/24" -- true
	assert_equal "$status" 2
	[[ $stderr =~ "must not be the kernel's" ]] || fail "unexpected: $stderr"
	ip -n "$NSP" addr del "$NADDR/24" dev vp1

	ip -n "$NSP" link set vp1 down
	run --separate-stderr timeout 20 $psx "$BUILD/nstack" run --if vp1 --addr "$NADDR/24" -- true
	assert_equal "$status" 2
	[[ $stderr =~ "is down" ]] || fail "unexpected: $stderr"

	# the library alone: NSTACK_DEV=tap on a veth fails the program's sockets, one line
	ip -n "$NSP" link set vp1 up
	run --separate-stderr timeout 20 $psx env NSTACK_IF=vp1 NSTACK_ADDR="$NADDR/24" NSTACK_DEV=tap \
		LD_PRELOAD="$BUILD/libnstack.so" curl -sS "http://$KADDR:8000/"
	assert_equal "$status" 7
	printf '%s\n' "$stderr" | grep -q "not a TAP" || fail "unexpected: $stderr"
}
