#!/usr/bin/env bats
# `nstack lab up` makes a ready lab in one command (netns, TAP nst0 with the kernel side at
# 198.18.0.1/24); `nstack run … curl` works in it at once; `nstack lab down` leaves nothing
# behind: no namespace, no TAP (neither in the namespace nor moved to the root namespace), no
# process. The kernel reference is the same download by a kernel curl inside the lab.

bats_require_minimum_version 1.5.0
load lib

setup() {
	lab_require
	need_nstack
	# The runner's cleanup (tests/run-e2e.sh) recognises the nst<tag>- prefix.
	LAB="nst${NST_LAB_TAG:-}-$$-lab"
	mkdir -p "$BATS_TEST_TMPDIR/www"
	mkfile "$BATS_TEST_TMPDIR/www/file" 2
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || lab_debug || true
	if [ -e "/run/netns/$LAB" ]; then
		"$BUILD/nstack" lab down --name "$LAB" >/dev/null 2>&1 || true
		for p in $(ip netns pids "$LAB" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$LAB" 2>/dev/null || true
	fi
}

@test "lab up, curl on nstack in the lab, lab down leaves nothing" {
	local root_links_before
	root_links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort)

	run "$BUILD/nstack" lab up --name "$LAB"
	assert_success
	assert_output --partial "ip netns exec $LAB nstack run --if nst0 --addr 198.18.0.2/24 -- curl"
	assert_output --partial "nstack lab down --name $LAB"
	[ -e "/run/netns/$LAB" ] || fail "no netns $LAB after lab up"
	run ip -n "$LAB" -4 -o addr show dev nst0
	assert_success
	assert_output --partial "inet 198.18.0.1/24"

	# A second `up` of the same lab is an error, not a silent success.
	run "$BUILD/nstack" lab up --name "$LAB"
	assert_failure 1
	assert_output --partial "already exists"

	bg "$BATS_TEST_TMPDIR/http.log" ip netns exec "$LAB" python3 -m http.server 8000 --bind 198.18.0.1 \
		--directory "$BATS_TEST_TMPDIR/www"
	wait_listen "$LAB" 8000

	# kernel reference: the same URL from inside the lab through the kernel
	run timeout 30 ip netns exec "$LAB" curl -sS -o "$BATS_TEST_TMPDIR/kernel.out" http://198.18.0.1:8000/file
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/kernel.out")" "$(sha256 "$BATS_TEST_TMPDIR/www/file")"

	local rx0
	rx0=$(ip netns exec "$LAB" cat /sys/class/net/nst0/statistics/rx_packets)
	run timeout 30 ip netns exec "$LAB" "$BUILD/nstack" run --if nst0 --addr 198.18.0.2/24 -- \
		curl -sS -o "$BATS_TEST_TMPDIR/nstack.out" http://198.18.0.1:8000/file
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack.out")" "$(sha256 "$BATS_TEST_TMPDIR/www/file")"
	(($(ip netns exec "$LAB" cat /sys/class/net/nst0/statistics/rx_packets) > rx0)) ||
		fail "nothing came in on nst0: curl did not use nstack"
	assert_log "$BATS_TEST_TMPDIR/http.log" '^198\.18\.0\.2 .*"GET /file'

	# down stops the server still running in the lab and removes everything.
	run timeout 30 "$BUILD/nstack" lab down --name "$LAB"
	assert_success
	assert_output --partial "lab $LAB removed"
	[ ! -e "/run/netns/$LAB" ] || fail "netns $LAB still exists after lab down"
	run ip netns list
	refute_output --partial "$LAB"
	assert_equal "$(ip -o link show | awk -F': ' '{print $2}' | sort)" "$root_links_before"
	run ip link show nst0
	assert_failure
	kill -0 "$BG_PID" 2>/dev/null && fail "the lab's http.server (pid $BG_PID) survived lab down"
	# down of a lab that is not there: an error
	run "$BUILD/nstack" lab down --name "$LAB"
	assert_failure 1
	assert_output --partial "no such lab"
}

@test "lab usage errors exit 2" {
	run "$BUILD/nstack" lab
	assert_failure 2
	run "$BUILD/nstack" lab sideways
	assert_failure 2
	run "$BUILD/nstack" lab up --name 'a/b'
	assert_failure 2
	run "$BUILD/nstack" lab up --name
	assert_failure 2
	run "$BUILD/nstack" lab --help
	assert_success
	assert_output --partial "usage: nstack lab up|down"
}
