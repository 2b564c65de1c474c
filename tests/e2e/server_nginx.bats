#!/usr/bin/env bats
# nginx (nginx-light, `daemon off; master_process off;`) as the SERVER under nstack
# (198.18.0.2:8080 on the TAP) and, as the reference, on the kernel (NSK, 198.19.0.2:8080), with
# the same configuration (a temp prefix: pid, logs and temp paths in the test's directory;
# sendfile on). From NS the kernel's curl fetches a 10 MB static file (sha256 equal) and
# `wrk -c 50 -d 5s` loads a small one: zero socket errors, zero non-2xx answers; both wrk
# request rates are printed.
# Event method: nginx's default (epoll) when libnstack.so interposes epoll_wait, else
# `use poll;` -- the test says which on the TAP stream.

load lib

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	mkfile "$BATS_FILE_TMPDIR/www/big" 10
	head -c 4096 /dev/urandom >"$BATS_FILE_TMPDIR/www/small"
}

setup() {
	lab_setup nginx wrk
}

teardown() {
	lab_teardown
}

# nginx_conf DIR ADDR EVENTS: a self-contained configuration in DIR.
nginx_conf() {
	local d=$1 addr=$2 events=$3
	mkdir -p "$d/tmp" "$d/logs"
	cat >"$d/nginx.conf" <<-CONF
		daemon off;
		master_process off;
		worker_processes 1;
		pid $d/nginx.pid;
		error_log $d/logs/error.log warn;
		events { worker_connections 1024; $events }
		http {
			access_log $d/logs/access.log;
			client_body_temp_path $d/tmp/body;
			proxy_temp_path $d/tmp/proxy;
			fastcgi_temp_path $d/tmp/fastcgi;
			uwsgi_temp_path $d/tmp/uwsgi;
			scgi_temp_path $d/tmp/scgi;
			sendfile on;
			keepalive_timeout 65;
			keepalive_requests 100000;
			server {
				listen $addr:8080;
				root $BATS_FILE_TMPDIR/www;
			}
		}
	CONF
}

# run_nginx WHO: start it, wait until it listens; sets SADDR.
run_nginx() {
	local who=$1 d=$BATS_TEST_TMPDIR/nginx-$1 events=
	if [ "$who" = nstack ] && ! nm -D --defined-only "$BUILD/libnstack.so" | grep -qw epoll_wait; then
		events="use poll;"
		echo "# nginx under nstack: libnstack.so has no epoll_wait yet, using 'use poll;'" >&3
	fi
	if [ "$who" = kernel ]; then
		SADDR=198.19.0.2
		nginx_conf "$d" "$SADDR" "$events"
		bg "$BATS_TEST_TMPDIR/nginx-$who.log" $ksx nginx -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf"
		wait_listen "$NSK" 8080
	else
		need_nstack
		SADDR=$NADDR
		nginx_conf "$d" "$SADDR" "$events"
		bg "$BATS_TEST_TMPDIR/nginx-$who.log" $nsx $NSTACK nginx -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf"
		wait_nstack_listen 8080
	fi
}

# check WHO: curl the big file, then wrk; prints the wrk rate.
check() {
	local who=$1 out=$BATS_TEST_TMPDIR/big-$1
	run timeout 60 $nsx curl -sS -o "$out" -w '%{http_code} %{size_download}\n' "http://$SADDR:8080/big"
	assert_success
	assert_output "200 $((10 * 1024 * 1024))"
	assert_equal "$(sha256 "$out")" "$(sha256 "$BATS_FILE_TMPDIR/www/big")"
	run timeout 30 $nsx wrk -t 2 -c 50 -d 5s "http://$SADDR:8080/small"
	echo "$output" >"$BATS_TEST_TMPDIR/wrk-$who.log"
	assert_success
	refute_output --partial "Socket errors"
	refute_output --partial "Non-2xx"
	assert_output --regexp "Requests/sec: +[0-9]"
	local rps
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$output")
	echo "# wrk -c 50 -d 5s against nginx on $who: $rps requests/s" >&3
	# one request per connection: accept/close churn (a use-after-free in the
	# epoll membership teardown once crashed nginx here)
	run timeout 30 $nsx wrk -t 2 -c 50 -d 3s -H 'Connection: close' "http://$SADDR:8080/small"
	echo "$output" >"$BATS_TEST_TMPDIR/wrk-close-$who.log"
	assert_success
	refute_output --partial "Non-2xx"
	assert_output --regexp "Requests/sec: +[1-9]"
	echo "# wrk -c 50 Connection: close against nginx on $who: $(awk '/^Requests\/sec:/ {print $2}' <<<"$output") requests/s" >&3
	run timeout 10 $nsx curl -sS -o /dev/null -w '%{http_code}' "http://$SADDR:8080/small"
	assert_output "200"
	local elog=$BATS_TEST_TMPDIR/nginx-$who/logs/error.log
	if grep -E '\[(error|crit|alert|emerg)\]' "$elog"; then
		fail "nginx on $who logged errors: $(tail -n 5 "$elog")"
	fi
}

@test "nginx serves a static file to curl and wrk -c 50 without errors, kernel and nstack" {
	run_nginx kernel
	check kernel
	run_nginx nstack
	local rx0
	rx0=$(tap_rx)
	check nstack
	assert_tap_used "$rx0"
}
