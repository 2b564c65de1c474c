#!/usr/bin/env bats
# redis (epoll event loop, non-blocking sockets, writev, fcntl) on nstack, compared with the
# kernel:
#   - redis-server under nstack answers a kernel redis-cli (SET/GET) and a kernel
#     redis-benchmark (100000 requests of SET, GET, PING_INLINE; 50 clients) with no error;
#   - redis-cli under nstack talks to a kernel redis-server.
# Kernel half: the same server in NSK (198.19.0.2) with the clients in NS.

load lib

setup() {
	lab_setup redis-server redis-cli redis-benchmark
}

teardown() {
	lab_teardown
}

# redis_server NETNS-PREFIX ADDR PORT LOG
redis_server() {
	local addr=$2 port=$3 log=$4
	bg "$log" $1 redis-server --port "$port" --bind "$addr" --save '' --appendonly no \
		--protected-mode no --daemonize no
}

# redis_session ADDR PORT: SET/GET then the benchmark, checked
redis_session() {
	local addr=$1 port=$2
	run timeout 10 $nsx redis-cli -h "$addr" -p "$port" SET posix:key "value-$port"
	assert_success
	assert_output "OK"
	run timeout 10 $nsx redis-cli -h "$addr" -p "$port" GET posix:key
	assert_success
	assert_output "value-$port"
	run timeout 120 $nsx redis-benchmark -h "$addr" -p "$port" -n 100000 -c 50 -q -t set,get,ping_inline
	assert_success
	refute_output --partial "rror"
	# one summary line per test: "SET: N requests per second, p50=…"
	local t
	for t in PING_INLINE SET GET; do
		echo "$output" | tr '\r' '\n' | grep -qE "^ *$t: [0-9.]+ requests per second" ||
			fail "no $t result in: $(echo "$output" | tr '\r' '\n' | tail -n 5)"
	done
	echo "$output" | tr '\r' '\n' | grep -E "requests per second" | sed 's/^/# /' >&3
	run timeout 10 $nsx redis-cli -h "$addr" -p "$port" DBSIZE
	assert_success
	assert_output "2"       # posix:key and the benchmark's key:__rand_int__
}

@test "redis-server under nstack serves redis-cli and redis-benchmark with no error" {
	redis_server "$ksx" 198.19.0.2 6379 "$BATS_TEST_TMPDIR/redis-kernel.log"
	wait_listen "$NSK" 6379
	echo "# kernel:" >&3
	redis_session 198.19.0.2 6379
	need_nstack
	redis_server "$nsx $NSTACK" "$NADDR" 6380 "$BATS_TEST_TMPDIR/redis-nstack.log"
	wait_file_grep "$BATS_TEST_TMPDIR/redis-nstack.log" 'Ready to accept connections'
	echo "# nstack:" >&3
	redis_session "$NADDR" 6380
}

@test "redis-cli under nstack talks to a kernel redis-server" {
	redis_server "$nsx" "$KADDR" 6379 "$BATS_TEST_TMPDIR/redis.log"
	wait_listen "$NS" 6379
	local who
	for who in kernel nstack; do
		local pre=$ksx
		if [ $who = nstack ]; then
			need_nstack
			pre="$nsx $NSTACK"
		fi
		local rx0
		rx0=$(tap_rx)
		run timeout 10 $pre redis-cli -h "$KADDR" SET "k-$who" "v-$who"
		assert_success
		assert_output "OK"
		run timeout 10 $pre redis-cli -h "$KADDR" GET "k-$who"
		assert_success
		assert_output "v-$who"
		run timeout 10 $pre redis-cli -h "$KADDR" CLIENT LIST
		assert_success
		if [ $who = nstack ]; then
			assert_output --partial "addr=$NADDR:"
			assert_tap_used "$rx0"
		else
			assert_output --partial "addr=198.19.0.2:"
		fi
	done
}
