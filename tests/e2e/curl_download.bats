#!/usr/bin/env bats
# curl downloads a 20 MB random file from a kernel python http.server: through the kernel
# (from NSK) and through nstack (on the TAP). Both exit 0 and both copies match the source.

load lib

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	mkfile "$BATS_FILE_TMPDIR/www/file" 20
}

setup() {
	lab_setup
	http_server "$BATS_FILE_TMPDIR/www" 8000
}

teardown() {
	lab_teardown
}

@test "curl downloads 20 MB intact, kernel and nstack" {
	local want url=http://$KADDR:8000/file
	want=$(sha256 "$BATS_FILE_TMPDIR/www/file")

	run timeout 60 $ksx curl -sS -o "$BATS_TEST_TMPDIR/kernel.out" "$url"
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/kernel.out")" "$want"
	assert_log "$BATS_TEST_TMPDIR/http-8000.log" '^198\.19\.0\.2 .*"GET /file'

	need_nstack
	local rx0
	rx0=$(tap_rx)
	run timeout 120 $nsx $NSTACK curl -sS -o "$BATS_TEST_TMPDIR/nstack.out" "$url"
	assert_success
	assert_equal "$(sha256 "$BATS_TEST_TMPDIR/nstack.out")" "$want"
	assert_log "$BATS_TEST_TMPDIR/http-8000.log" '^198\.18\.0\.2 .*"GET /file'
	assert_tap_used "$rx0"
}
