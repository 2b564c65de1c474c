#!/usr/bin/env bats
# Unrelated programs on one interface share its stack (preload/family.c, ctl.c "join"): while a
# server under nstack holds the TAP, more programs started on it join that stack instead of
# failing with "Device or resource busy" -- as a second program on the kernel shares the
# kernel's stack. Each client run is compared with the same client on the kernel.

load lib

setup() {
	lab_setup
	mkdir -p "$BATS_TEST_TMPDIR/www"
	head -c 200000 /dev/urandom >"$BATS_TEST_TMPDIR/www/f"
}

teardown() {
	lab_teardown
}

# fetch WHO TAG: curl the kernel's file, through nstack or the kernel; checks the bytes.
fetch() {
	local who=$1 tag=$2 pre=
	[ "$who" = nstack ] && pre=$NSTACK
	run timeout 20 $nsx $pre curl -sS -o "$BATS_TEST_TMPDIR/got-$tag" -w '%{http_code}' "http://$KADDR:8000/f"
	assert_success
	assert_output "200"
	cmp -s "$BATS_TEST_TMPDIR/got-$tag" "$BATS_TEST_TMPDIR/www/f" || fail "fetch $tag through $who differs"
}

@test "programs started while a server holds the interface join its stack, one at a time and 4 at once, kernel and nstack" {
	bg "$BATS_TEST_TMPDIR/kserver.log" $nsx python3 -m http.server 8000 --bind "$KADDR" --directory "$BATS_TEST_TMPDIR/www"
	wait_listen "$NS" 8000
	local i pids=()
	for i in 1 2 3; do fetch kernel "k$i"; done
	for i in 1 2 3 4; do
		timeout 20 $nsx curl -sS -o "$BATS_TEST_TMPDIR/got-kp$i" "http://$KADDR:8000/f" &
		pids+=($!)
	done
	wait "${pids[@]}"
	need_nstack
	# the server under nstack holds nst0 for the whole test
	bg "$BATS_TEST_TMPDIR/nserver.log" $nsx $NSTACK python3 -m http.server 8081 --bind "$NADDR" --directory "$BATS_TEST_TMPDIR/www"
	local server=$BG_PID
	wait_nstack_listen 8081
	local rx0
	rx0=$(tap_rx)
	for i in 1 2 3; do fetch nstack "n$i"; done
	pids=()
	for i in 1 2 3 4; do
		timeout 20 $nsx $NSTACK curl -sS -o "$BATS_TEST_TMPDIR/got-np$i" "http://$KADDR:8000/f" 2>"$BATS_TEST_TMPDIR/np$i.err" &
		pids+=($!)
	done
	local rc=0
	wait "${pids[@]}" || rc=$?
	for i in 1 2 3 4; do
		cmp -s "$BATS_TEST_TMPDIR/got-np$i" "$BATS_TEST_TMPDIR/www/f" ||
			fail "parallel fetch $i through nstack differs: $(cat "$BATS_TEST_TMPDIR/np$i.err")"
	done
	[ "$rc" = 0 ] || fail "a parallel curl through nstack failed ($rc)"
	# the server went on serving the kernel's clients meanwhile
	run timeout 10 $nsx curl -sS -o /dev/null -w '%{http_code}' "http://$NADDR:8081/f"
	assert_output "200"
	assert_tap_used "$rx0"
	# the server goes: the stack ends with its last member, the next program starts a new one
	kill "$server"
	wait_pid "$server" 10 || true
	fetch nstack after
}

@test "a program whose address differs from the stack's on that interface gets a clear error" {
	need_nstack
	bg "$BATS_TEST_TMPDIR/nserver.log" $nsx $NSTACK python3 -m http.server 8081 --bind "$NADDR"
	wait_nstack_listen 8081
	run timeout 20 $nsx "$BUILD/nstack" run --if nst0 --addr 198.18.0.3/24 -- curl -sS "http://$KADDR:8000/"
	assert_failure
	assert_output --partial "served by another program as 198.18.0.2/24"
}
