#!/usr/bin/env bats
# python3 -m http.server as the SERVER under nstack (198.18.0.2 on the TAP) and, as the
# reference, on the kernel (NSK, 198.19.0.2); the same kernel curl in NS downloads from each:
# a 50 MB file (sha256 equal) and 200 small files in sequence (HTTP/1.0: one connection each,
# the server closes first), every one complete.

load lib

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	mkfile "$BATS_FILE_TMPDIR/www/big" 50
	head -c 1234 /dev/urandom >"$BATS_FILE_TMPDIR/www/small"
}

setup() {
	lab_setup
}

teardown() {
	lab_teardown
}

# serve WHO PORT: http.server in NSK (kernel) or under nstack in NS; sets SADDR.
serve() {
	local who=$1 port=$2 www=$BATS_FILE_TMPDIR/www
	if [ "$who" = kernel ]; then
		SADDR=198.19.0.2
		bg "$BATS_TEST_TMPDIR/http-$who.log" $ksx python3 -m http.server "$port" --bind 0.0.0.0 --directory "$www"
		wait_listen "$NSK" "$port"
	else
		need_nstack
		SADDR=$NADDR
		bg "$BATS_TEST_TMPDIR/http-$who.log" $nsx $NSTACK python3 -m http.server "$port" --bind 0.0.0.0 --directory "$www"
		wait_nstack_listen "$port"
	fi
}

# big WHO PORT
big() {
	serve "$1" "$2"
	local out="$BATS_TEST_TMPDIR/big-$1" rx0
	rx0=$(tap_rx)
	run timeout 120 $nsx curl -sS -o "$out" -w '%{http_code} %{size_download}\n' "http://$SADDR:$2/big"
	assert_success
	assert_output "200 $((50 * 1024 * 1024))"
	assert_equal "$(sha256 "$out")" "$(sha256 "$BATS_FILE_TMPDIR/www/big")"
	assert_log "$BATS_TEST_TMPDIR/http-$1.log" '"GET /big HTTP/1.1" 200'
	[ "$1" = kernel ] || assert_tap_used "$rx0"
}

# small WHO PORT: 200 requests in sequence, one curl, a new connection each.
small() {
	serve "$1" "$2"
	local args=() i
	for ((i = 0; i < 200; i++)); do args+=(-o /dev/null "http://$SADDR:$2/small"); done
	run timeout 120 $nsx curl -sS -w '%{http_code} %{size_download} %{num_connects}\n' "${args[@]}"
	assert_success
	assert_equal "$(grep -cx '200 1234 1' <<<"$output")" 200
	assert_equal "$(grep -c '"GET /small HTTP/1.1" 200' "$BATS_TEST_TMPDIR/http-$1.log")" 200
}

@test "http.server serves 50 MB intact to kernel curl, kernel and nstack" {
	big kernel 8000
	big nstack 8001
}

@test "http.server answers 200 sequential small requests, kernel and nstack" {
	small kernel 8010
	small nstack 8011
}
