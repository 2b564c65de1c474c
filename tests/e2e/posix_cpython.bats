#!/usr/bin/env bats
# CPython's own socket tests (test.test_socket, Debian's libpython3.11-testsuite) under
# NSTACK_IF=lo, where the stack serves 127.0.0.0/8 and ::1 in the process: the IPv4, IPv6 and
# dual-stack classes (TCP, UDP, recvmsg/sendmsg with RFC 3542 ancillary data, v4-mapped
# clients of a :: listener, timeouts, non-blocking calls) must end exactly as on the kernel, in
# the same run: the same tests pass, the same are skipped, none fails on one side only. The
# VSOCK classes are left out on both sides (they hang on this kernel without vsock). Both runs
# are in a namespace of their own with loopback up; the nstack run's capture (NSTACK_PCAP: the
# in-process loopback's frames) proves that its connections over ::1, 127.0.0.1 and IPv4
# clients of dual-stack listeners were nstack's.

load lib

setup() {
	python3 -c 'import test.test_socket' 2>/dev/null ||
		fail "CPython's test suite is missing (Debian: libpython3.11-testsuite; make deps)"
	need_nstack
	CP_NS="nst${NST_LAB_TAG:-}-$$-cpy"
	ip netns add "$CP_NS"
	ip netns exec "$CP_NS" ip link set lo up
}

teardown() {
	local p
	if [ -n "${CP_NS:-}" ] && [ -e "/run/netns/$CP_NS" ]; then
		for p in $(ip netns pids "$CP_NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$CP_NS" 2>/dev/null || true
	fi
	return 0
}

# cpy_results LOG: one line per test, "name result" (ok, skipped, FAIL, ERROR, expected
# failure, unexpected success), sorted.
cpy_results() {
	sed -nE 's/^([A-Za-z0-9_]+ \(test\.test_socket\.[A-Za-z0-9_.]+\)) \.\.\. (ok|skipped|FAIL|ERROR|expected failure|unexpected success).*/\1 \2/p' "$1" | sort
}

# cpy_run OUT [ENV...]: test_socket in CP_NS, verbose, VSOCK left out.
cpy_run() {
	local out=$1; shift
	(cd "$BATS_TEST_TMPDIR" && timeout 600 ip netns exec "$CP_NS" env "$@" \
		python3 -m test test_socket -v -i '*VSOCK*') >"$out" 2>&1
}

@test "CPython test_socket under NSTACK_IF=lo ends as on the kernel (IPv4, IPv6, dual-stack, ancillary data)" {
	local k=$BATS_TEST_TMPDIR/kernel.log n=$BATS_TEST_TMPDIR/nstack.log
	cpy_run "$k" PYTHONDONTWRITEBYTECODE=1 || true
	cpy_run "$n" PYTHONDONTWRITEBYTECODE=1 NSTACK_IF=lo NSTACK_PCAP="$BATS_TEST_TMPDIR/lo.pcap" \
		LD_PRELOAD="$BUILD/libnstack.so" || true
	cpy_results "$k" >"$BATS_TEST_TMPDIR/kernel.res"
	cpy_results "$n" >"$BATS_TEST_TMPDIR/nstack.res"
	local nk nn
	nk=$(wc -l <"$BATS_TEST_TMPDIR/kernel.res")
	nn=$(wc -l <"$BATS_TEST_TMPDIR/nstack.res")
	echo "# kernel: $nk tests, $(grep -c ' ok$' "$BATS_TEST_TMPDIR/kernel.res") ok; nstack: $nn tests, $(grep -c ' ok$' "$BATS_TEST_TMPDIR/nstack.res") ok" >&3
	[ "$nk" -gt 500 ] || fail "the kernel run listed $nk tests: $(tail -n 5 "$k")"
	# a test CPython itself finds timing-sensitive may differ once: run the differing ones
	# again on both sides, alone, and compare those results
	local diffs
	diffs=$(diff "$BATS_TEST_TMPDIR/kernel.res" "$BATS_TEST_TMPDIR/nstack.res" | sed -nE 's/^[<>] ([A-Za-z0-9_]+) \(.*/\1/p' | sort -u)
	if [ -n "$diffs" ]; then
		echo "# differing at first, run again: $(echo $diffs)" >&3
		local args=() t
		for t in $diffs; do args+=(-m "$t"); done
		(cd "$BATS_TEST_TMPDIR" && timeout 300 ip netns exec "$CP_NS" python3 -m test test_socket -v -i '*VSOCK*' "${args[@]}") >"$k.2" 2>&1 || true
		(cd "$BATS_TEST_TMPDIR" && timeout 300 ip netns exec "$CP_NS" env NSTACK_IF=lo LD_PRELOAD="$BUILD/libnstack.so" \
			python3 -m test test_socket -v -i '*VSOCK*' "${args[@]}") >"$n.2" 2>&1 || true
		run diff <(cpy_results "$k.2") <(cpy_results "$n.2")
		assert_success
	fi
	# the nstack run's TCP over ::1 and 127.0.0.1, and its UDP over ::1, were nstack's
	local v6 v4 u6
	v6=$(tcpdump -nr "$BATS_TEST_TMPDIR/lo.pcap" 'ip6 and tcp' 2>/dev/null | grep -c '::1\.[0-9]* > ::1\.[0-9]*: Flags \[S\]' || true)
	v4=$(tcpdump -nr "$BATS_TEST_TMPDIR/lo.pcap" 'ip and tcp' 2>/dev/null | grep -c 'Flags \[S\]' || true)
	u6=$(tcpdump -nr "$BATS_TEST_TMPDIR/lo.pcap" 'ip6 and udp' 2>/dev/null | wc -l)
	echo "# in nstack's capture: $v6 SYNs over ::1, $v4 over IPv4, $u6 UDP datagrams over ::1" >&3
	[ "$v6" -ge 3 ] || fail "only $v6 TCP SYNs over ::1 in nstack's capture"
	[ "$v4" -ge 20 ] || fail "only $v4 TCP SYNs over IPv4 in nstack's capture"
	[ "$u6" -ge 50 ] || fail "only $u6 UDP datagrams over ::1 in nstack's capture"
}
