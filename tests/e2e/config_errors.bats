#!/usr/bin/env bats
# A misconfiguration is one clear line on stderr and a quick failure — never a hang, never a
# silent fallback to the kernel. The launcher exits 2 without running the command; the library
# alone (environment only) makes the program's socket calls fail, so curl fails the way it does
# against an unreachable kernel peer (exit 7). Every run is bounded by `timeout` (exit 124 = hang).

bats_require_minimum_version 1.5.0
load lib

setup() {
	lab_setup
}

teardown() {
	lab_teardown
}

# The stderr of the last `run --separate-stderr` has exactly one error line ("nstack: …")
# and it matches REGEX; the only other line allowed is a pointer to --help.
assert_one_stderr_line() {
	local n other
	n=$(printf '%s\n' "$stderr" | grep -c '^nstack' || true)
	assert_equal "nstack error lines on stderr: $n" "nstack error lines on stderr: 1"
	other=$(printf '%s\n' "$stderr" | grep -v '^nstack' | grep -v -- '--help' | grep . || true)
	[ -z "$other" ] || fail "unexpected lines on stderr: $other"
	[[ $(printf '%s\n' "$stderr" | grep '^nstack') =~ $1 ]] || fail "stderr does not match '$1': $stderr"
}

@test "launcher: no such interface exits 2 with one line naming it" {
	need_nstack
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst9 --addr "$NADDR/24" -- \
		curl -sS "http://$KADDR/"
	assert_equal "$status" 2
	assert_output ""
	assert_one_stderr_line "nst9"
}

@test "library: no such interface from the environment fails quickly, like the kernel's refusal" {
	run timeout 20 $nsx curl -sS "http://$KADDR/"
	local kstatus=$status
	assert_equal "$kstatus" 7

	need_nstack
	local t0=$SECONDS
	run --separate-stderr timeout 20 $nsx env NSTACK_IF=nst9 NSTACK_ADDR="$NADDR/24" \
		LD_PRELOAD="$BUILD/libnstack.so" curl -sS "http://$KADDR/"
	assert_equal "$status" "$kstatus"
	(( SECONDS - t0 < 10 )) || fail "took $((SECONDS - t0)) s"
	local n
	n=$(printf '%s\n' "$stderr" | grep -ci nstack || true)
	assert_equal "nstack lines on stderr: $n" "nstack lines on stderr: 1"
	printf '%s\n' "$stderr" | grep -i nstack | grep -q nst9 || fail "the nstack line does not name nst9: $stderr"
}

@test "launcher: bad address exits 2 with one line" {
	need_nstack
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr 300.1.1.1/24 -- \
		curl -sS "http://$KADDR/"
	assert_equal "$status" 2
	assert_output ""
	assert_one_stderr_line "300\.1\.1\.1"
}

@test "launcher: missing command exits 2" {
	need_nstack
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --
	assert_equal "$status" 2
	assert_one_stderr_line "."
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24"
	assert_equal "$status" 2
	assert_one_stderr_line "."
}

# IPv6 configuration (NSTACK_ADDR6, NSTACK_GW6, NSTACK_IPV6; --addr6, --gw6): the same rules as
# for IPv4. The stack's own IPv6 address is global or unique-local (ADDR/N, N 1..128): not
# multicast, ::, ::1, link-local or v4-mapped. A gateway may be link-local; a global one needs
# an address of our own; it is never our own address.

@test "launcher: bad --addr6 exits 2 with one line naming it" {
	need_nstack
	local a
	for a in 'fd00:198:18::2' 'fd00:198:18::2/0' 'fd00:198:18::2/129' 'fd00:198:18::2/x' \
		'fd00:198:18::zz/64' '198.18.0.2/24' 'ff02::1/64' '::/64' '::1/128' 'fe80::2/64' \
		'::ffff:198.18.0.2/96'; do
		run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" \
			--addr6 "$a" -- curl -sS "http://$KADDR/"
		assert_equal "--addr6 $a: status $status" "--addr6 $a: status 2"
		assert_output ""
		assert_one_stderr_line "--addr6 ${a//./\\.}: "
	done
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" \
		--addr6 'fe80::2/64' -- true
	assert_one_stderr_line "link-local"
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" \
		--addr6 'ff02::1/64' -- true
	assert_one_stderr_line "multicast"
}

@test "launcher: bad --gw6 exits 2 with one line naming it" {
	need_nstack
	local args
	# not an address; multicast; ::; a global gateway without --addr6; our own address
	for args in '--gw6 fd00:198:18::zz' '--gw6 ff02::2' '--gw6 ::' '--gw6 fe80::1%nst0' \
		'--gw6 fd00:198:18::1' '--addr6 fd00:198:18::2/64 --gw6 fd00:198:18::2'; do
		# shellcheck disable=SC2086 # args holds options and their values
		run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" \
			$args -- curl -sS "http://$KADDR/"
		assert_equal "$args: status $status" "$args: status 2"
		assert_output ""
		assert_one_stderr_line "--gw6 "
	done
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" \
		--gw6 fd00:198:18::1 -- true
	assert_one_stderr_line "needs --addr6"
}

@test "launcher: good --addr6/--gw6 reach the program's environment, absent ones are unset" {
	need_nstack
	run --separate-stderr timeout 20 $nsx env NSTACK_ADDR6=fd00::99/64 NSTACK_GW6=fe80::99 \
		"$BUILD/nstack" run --if nst0 --addr "$NADDR/24" --addr6 'fd00:198:18:0::2/64' \
		--gw6 fe80::1 -- env
	assert_success
	assert_line "NSTACK_ADDR6=fd00:198:18:0::2/64"
	assert_line "NSTACK_GW6=fe80::1"
	# the command line is the whole configuration: no --addr6/--gw6, no NSTACK_ADDR6/GW6
	run --separate-stderr timeout 20 $nsx env NSTACK_ADDR6=fd00::99/64 NSTACK_GW6=fe80::99 \
		"$BUILD/nstack" run --if nst0 --addr "$NADDR/24" -- env
	assert_success
	refute_line --partial "NSTACK_ADDR6="
	refute_line --partial "NSTACK_GW6="
	# a global gateway with an address of our own, in any inet_pton form
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" \
		--addr6 'fd00:198:18:0:0:0:0:2/64' --gw6 'fd00:198:18::1' -- true
	assert_success
}

@test "library: bad NSTACK_ADDR6, NSTACK_GW6, NSTACK_IPV6 fail quickly with one line, like the kernel's refusal" {
	run timeout 20 $nsx curl -sS "http://$KADDR/"
	local kstatus=$status
	assert_equal "$kstatus" 7

	need_nstack
	local env t0 n
	for env in 'NSTACK_ADDR6=fe80::2/64' 'NSTACK_ADDR6=fd00:198:18::2' 'NSTACK_ADDR6=ff02::1/64' \
		'NSTACK_GW6=ff02::2' 'NSTACK_GW6=fd00:198:18::1' 'NSTACK_IPV6=yes'; do
		t0=$SECONDS
		run --separate-stderr timeout 20 $nsx env NSTACK_IF=nst0 NSTACK_ADDR="$NADDR/24" "$env" \
			LD_PRELOAD="$BUILD/libnstack.so" curl -sS "http://$KADDR/"
		assert_equal "$env: status $status" "$env: status $kstatus"
		(( SECONDS - t0 < 10 )) || fail "$env: took $((SECONDS - t0)) s"
		n=$(printf '%s\n' "$stderr" | grep -ci nstack || true)
		assert_equal "$env: nstack lines on stderr: $n" "$env: nstack lines on stderr: 1"
		printf '%s\n' "$stderr" | grep -i nstack | grep -qF "$env:" ||
			fail "the nstack line does not name $env: $stderr"
	done
}

@test "library: good IPv6 settings leave IPv4 working; NSTACK_IPV6=0 ignores them" {
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo hello >"$BATS_TEST_TMPDIR/www/f"
	http_server "$BATS_TEST_TMPDIR/www" 8000 "$KADDR"
	need_nstack
	local env rx0
	for env in 'NSTACK_ADDR6=fd00:198:18::2/64' 'NSTACK_GW6=fe80::1' 'NSTACK_IPV6=1' \
		'NSTACK_IPV6=0 NSTACK_ADDR6=not-an-address'; do
		rx0=$(tap_rx)
		# shellcheck disable=SC2086 # env holds one or two assignments
		run --separate-stderr timeout 20 $nsx env NSTACK_IF=nst0 NSTACK_ADDR="$NADDR/24" $env \
			LD_PRELOAD="$BUILD/libnstack.so" curl -sS "http://$KADDR:8000/f"
		assert_equal "$env: status $status: $stderr" "$env: status 0: "
		assert_output "hello"
		assert_tap_used "$rx0"
	done
}

@test "launcher: --dev packet with the kernel's own IPv6 address exits 2 with one line" {
	lab_addr6_up # the kernel has $KVETH6 on vk0
	need_nstack
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --dev packet --if vk0 \
		--addr 198.19.0.9/24 --addr6 "$KVETH6/64" -- true
	assert_equal "$status" 2
	assert_one_stderr_line "the kernel has fd00:198:19::1/64 on it"
	run --separate-stderr timeout 20 $nsx "$BUILD/nstack" run --dev packet --if vk0 \
		--addr 198.19.0.9/24 --addr6 fd00:198:19::9/64 -- true
	assert_success
}
