#!/usr/bin/env bats
# The nstack command's surface: one binary with subcommands, `--help` for each (exit 0), exit
# status 2 on usage errors; the man pages nstack(1) and libnstack(7) render with `man -l`
# without warnings; `make install PREFIX=…` installs library, CLI and man pages, and the
# installed launcher finds the installed library. No network: nothing here needs root.

bats_require_minimum_version 1.5.0
load lib

@test "every subcommand has --help (exit 0); usage errors exit 2" {
	need_nstack
	local c
	run "$BUILD/nstack" --help
	assert_success
	local main=$output
	for c in run lab ss stats plot; do
		grep -q "^  $c " <<<"$main" || fail "nstack --help does not list $c: $main"
		run "$BUILD/nstack" "$c" --help
		assert_success
		assert_output --partial "usage: nstack $c"
	done
	run "$BUILD/nstack"
	assert_failure 2
	run "$BUILD/nstack" frobnicate
	assert_failure 2
	assert_output --partial "unknown command frobnicate"
	for c in run lab ss stats plot; do
		run "$BUILD/nstack" "$c" --no-such-option
		assert_failure 2
		assert_output --partial "Try 'nstack $c --help'."
	done
	run "$BUILD/nstack" run --if lo --impair loss=0.5,seed=x -- true
	assert_failure 2
	assert_output --partial "bad item 'seed=x'"
	run "$BUILD/nstack" run --if lo --impair loss=0.05,dup=1%,reorder=0.02,corrupt=0.001,delay_us=200,seed=7,dir=tx -- \
		sh -c 'echo "$NSTACK_IMPAIR"'
	assert_success
	assert_output "loss=0.05,dup=1%,reorder=0.02,corrupt=0.001,delay_us=200,seed=7,dir=tx"
	# one spec per direction, jitter and a rate limit
	run "$BUILD/nstack" run --if lo --impair 'loss=0.01,dir=tx;delay_us=500,jitter_us=100,rate_mbit=100,dir=rx' -- \
		sh -c 'echo "$NSTACK_IMPAIR"'
	assert_success
	assert_output "loss=0.01,dir=tx;delay_us=500,jitter_us=100,rate_mbit=100,dir=rx"
	run "$BUILD/nstack" run --if lo --impair 'loss=0.01;rate_mbit=0,dir=rx' -- true
	assert_failure 2
	assert_output --partial "bad item 'rate_mbit=0'"
}

@test "man -l renders nstack(1) and libnstack(7) without warnings" {
	command -v man >/dev/null || fail "missing tool 'man'"
	local p
	for p in "$ROOT/man/nstack.1" "$ROOT/man/libnstack.7"; do
		run env LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p"
		assert_success
		assert_output --partial "NAME"
		assert_output --partial "SEE ALSO"
		# warnings go to stderr: check that stream alone
		run sh -c "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l '$p' 2>&1 >/dev/null"
		assert_output ""
	done
	run env LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$ROOT/man/libnstack.7"
	assert_output --partial "NSTACK_IMPAIR"
	assert_output --partial "NSTACK_RUNDIR"
}

@test "make install PREFIX=… installs library, CLI and man pages; the installed launcher works" {
	need_nstack
	local p=$BATS_TEST_TMPDIR/prefix
	# -o: use the build as it is (install does not rebuild what other work may be changing)
	run make -s -C "$ROOT" B="$BUILD" PREFIX="$p" -o "$BUILD/libnstack.so" -o "$BUILD/nstack" install
	assert_success
	[ -x "$p/bin/nstack" ] || fail "no $p/bin/nstack"
	[ -f "$p/lib/libnstack.so" ] || fail "no $p/lib/libnstack.so"
	[ -f "$p/share/man/man1/nstack.1" ] || fail "no nstack.1"
	[ -f "$p/share/man/man7/libnstack.7" ] || fail "no libnstack.7"
	assert_equal "$(stat -c %a "$p/share/man/man1/nstack.1")" 644
	# the installed nstack preloads the installed library (PREFIX/lib), not the build's
	run "$p/bin/nstack" run --if lo -- sh -c 'echo "$LD_PRELOAD"'
	assert_success
	assert_output "$(realpath "$p/lib/libnstack.so")"
	run env MANPATH="$p/share/man" man -w nstack
	assert_success
	assert_output "$p/share/man/man1/nstack.1"
	run make -s -C "$ROOT" B="$BUILD" PREFIX="$p" uninstall
	assert_success
	[ ! -e "$p/bin/nstack" ] && [ ! -e "$p/lib/libnstack.so" ] || fail "uninstall left files"
}
