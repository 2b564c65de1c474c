#!/usr/bin/env bats
# NSTACK_IF=lo: a Python program whose server thread and client thread exchange 10 MB each way
# over 127.0.0.1 (tests/e2e/server_lo.py) runs entirely on nstack, as an unprivileged user
# (nobody), with the data intact. Proof that the kernel did not carry it: the nstack run is in
# a fresh network namespace whose loopback is DOWN -- there the same program on the kernel
# fails (checked) -- and the capture (NSTACK_PCAP) holds the connection's handshake. The
# reference run is the kernel with loopback up, same user, same output.

load lib

setup() {
	lab_require setpriv tcpdump
	LO_NS="nst${NST_LAB_TAG:-}-$$-lo"
	LO_DIR=$(mktemp -d /tmp/nstack-lo.XXXXXX)
	chmod 0755 "$LO_DIR"
	cp "$BATS_TEST_DIRNAME/server_lo.py" "$LO_DIR/prog.py"
	mkdir -m 0777 "$LO_DIR/out"
	ip netns add "$LO_NS"
}

teardown() {
	local p
	if [ -n "${LO_NS:-}" ] && [ -e "/run/netns/$LO_NS" ]; then
		for p in $(ip netns pids "$LO_NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$LO_NS" 2>/dev/null || true
	fi
	[ -n "${LO_DIR:-}" ] && rm -rf "$LO_DIR"
	return 0
}

asnobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

@test "NSTACK_IF=lo: 10 MB each way between two threads over 127.0.0.1, as nobody, lo down" {
	local py=/usr/bin/python3
	# reference: the kernel, loopback up (in its own namespace, so nothing else is touched)
	ip netns exec "$LO_NS" ip link set lo up
	run timeout 60 ip netns exec "$LO_NS" setpriv --reuid=nobody --regid=nogroup --clear-groups "$py" "$LO_DIR/prog.py"
	assert_success
	local want=$output
	assert_line "server received 10485760 bytes, intact"
	assert_line "client received 10485760 bytes, intact"

	# with loopback down the kernel cannot carry 127.0.0.1 at all
	ip netns exec "$LO_NS" ip link set lo down
	run timeout 60 ip netns exec "$LO_NS" setpriv --reuid=nobody --regid=nogroup --clear-groups "$py" "$LO_DIR/prog.py"
	assert_failure
	assert_output --partial "error:"

	need_nstack
	run timeout 120 ip netns exec "$LO_NS" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$BUILD/nstack" run --if lo --pcap "$LO_DIR/out/lo.pcap" -- "$py" "$LO_DIR/prog.py"
	assert_success
	assert_equal "$output" "$want"
	[ "$(stat -c %U "$LO_DIR/out/lo.pcap")" = nobody ] || fail "the capture was not written by nobody"
	# the connection is in the capture (the loop device's frames are written as sent and as
	# received): its SYN, SYN-ACK, and the data both ways
	run tcpdump -nn -r "$LO_DIR/out/lo.pcap" 'tcp[tcpflags] & tcp-syn != 0'
	assert_success
	assert_output --regexp 'Flags \[S\]'
	assert_output --regexp 'Flags \[S\.\]'
	assert_equal "$(grep -c 'Flags \[S\]' <<<"$output")" "$(grep -c 'Flags \[S\.\]' <<<"$output")"
	assert_output --regexp "127\.0\.0\.1\.[0-9]+ > 127\.0\.0\.1\.[0-9]+"
	local bytes
	bytes=$(tcpdump -nn -r "$LO_DIR/out/lo.pcap" 'tcp' 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "length") s += $(i + 1)} END {print s + 0}')
	((bytes >= 2 * 10485760)) || fail "capture holds only $bytes bytes of TCP payload"
}

@test "NSTACK_IF=lo: multiprocessing, a parent and its forked children talk over 127.0.0.1 through the shared stack, as nobody, lo down" {
	local py=/usr/bin/python3
	cp "$BATS_TEST_DIRNAME/family_mp.py" "$LO_DIR/mp.py"
	ip netns exec "$LO_NS" ip link set lo up
	run timeout 60 ip netns exec "$LO_NS" setpriv --reuid=nobody --regid=nogroup --clear-groups "$py" "$LO_DIR/mp.py"
	assert_success
	local want=$output
	assert_line "child 2 got ack hello 2"
	ip netns exec "$LO_NS" ip link set lo down
	need_nstack
	run timeout 60 ip netns exec "$LO_NS" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$BUILD/nstack" run --if lo -- "$py" "$LO_DIR/mp.py"
	assert_success
	assert_equal "$output" "$want"
}
