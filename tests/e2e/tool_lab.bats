#!/usr/bin/env bats
# `nstack lab up` makes a ready lab in one command (netns, TAP nst0 with the kernel side at
# 198.18.0.1/24 and fd00:198:18::1/64, usable at once: no DAD); `nstack run … curl` works in it
# at once; `nstack lab down` leaves nothing behind: no namespace, no TAP (neither in the
# namespace nor moved to the root namespace), no address, no process. The root namespace's
# links, IPv6 addresses and IPv6 sysctls are the same before and after. The kernel reference
# is the same download by a kernel curl inside the lab.

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
	lab_down # the e2e lab of the lab_addr6_up test, if it ran
	if [ -e "/run/netns/$LAB" ]; then
		"$BUILD/nstack" lab down --name "$LAB" >/dev/null 2>&1 || true
		for p in $(ip netns pids "$LAB" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$LAB" 2>/dev/null || true
	fi
}

# The IPv6 sysctls the lab sets inside its namespace, as the root namespace has them.
root_sysctl6() {
	sysctl -n net.ipv6.conf.all.disable_ipv6 net.ipv6.conf.default.disable_ipv6 \
		net.ipv6.conf.all.accept_dad net.ipv6.conf.default.accept_dad \
		net.ipv6.conf.default.router_solicitations 2>/dev/null | tr '\n' ' '
}

@test "lab up, curl on nstack in the lab, lab down leaves nothing" {
	local root_links_before root_addr6_before root_sysctl6_before
	root_links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort)
	root_addr6_before=$(ip -6 -o addr show | awk '{print $2, $4}' | sort)
	root_sysctl6_before=$(root_sysctl6)

	run "$BUILD/nstack" lab up --name "$LAB"
	assert_success
	assert_output --partial \
		"ip netns exec $LAB nstack run --if nst0 --addr 198.18.0.2/24 --addr6 fd00:198:18::2/64 -- curl"
	assert_output --partial "NSTACK_ADDR6=fd00:198:18::2/64"
	assert_output --partial "kernel side fd00:198:18::1/64"
	assert_output --partial "nstack lab down --name $LAB"
	[ -e "/run/netns/$LAB" ] || fail "no netns $LAB after lab up"
	run ip -n "$LAB" -4 -o addr show dev nst0
	assert_success
	assert_output --partial "inet 198.18.0.1/24"
	# IPv6: on in the lab only; the kernel side's address is there and not tentative
	run ip -n "$LAB" -6 -o addr show dev nst0
	assert_success
	assert_output --partial "inet6 fd00:198:18::1/64 scope global"
	refute_output --partial "tentative"
	assert_equal "$(ip netns exec "$LAB" sysctl -n net.ipv6.conf.nst0.disable_ipv6)" 0
	run ip -6 -o addr show
	refute_output --partial "fd00:198:18:"
	assert_equal "$(root_sysctl6)" "$root_sysctl6_before"

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
	run timeout 30 ip netns exec "$LAB" "$BUILD/nstack" run --if nst0 --addr 198.18.0.2/24 \
		--addr6 fd00:198:18::2/64 -- curl -sS -o "$BATS_TEST_TMPDIR/nstack.out" http://198.18.0.1:8000/file
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
	assert_equal "$(ip -6 -o addr show | awk '{print $2, $4}' | sort)" "$root_addr6_before"
	assert_equal "$(root_sysctl6)" "$root_sysctl6_before"
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

# The e2e suite's own lab (tests/e2e/lib.bash): lab_addr6_up gives it IPv6 inside its
# namespaces only; the kernel reference client in NSK reaches the kernel side of the TAP at
# fd00:198:18::1 over the veth, as it reaches 198.18.0.1.
@test "lib.bash lab_addr6_up: the e2e lab's kernel ends on IPv6, reachable at once" {
	lab_up
	lab_addr6_up
	assert_equal "$NSTACK_ADDR6" "fd00:198:18::2/64"
	[[ $NSTACK == *" --addr $NADDR/24 --addr6 fd00:198:18::2/64 --" ]] || fail "NSTACK: $NSTACK"
	run ip -n "$NS" -6 -o addr show dev nst0
	assert_output --partial "inet6 fd00:198:18::1/64 scope global"
	refute_output --partial "tentative"
	run ip -6 -o addr show
	refute_output --partial "fd00:198:1"
	mkdir -p "$BATS_TEST_TMPDIR/www6"
	echo six >"$BATS_TEST_TMPDIR/www6/f"
	http_server "$BATS_TEST_TMPDIR/www6" 8006 "$KADDR6"
	run timeout 20 $ksx curl -sS "http://[$KADDR6]:8006/f"
	assert_success
	assert_output "six"
	lab_down
	[ ! -e "/run/netns/$NS" ] && [ ! -e "/run/netns/$NSK" ] || fail "lab_down left a namespace"
}
