#!/usr/bin/env bats
# One stack for a process and its fork() children (preload/family.c): sockets inherited across
# fork work in parent and child as on the kernel, and forking servers serve. Each scenario runs
# on the kernel (NSK, 198.19.0.2, or a kernel client in NSK) and under nstack (198.18.0.2 on the
# TAP) in the same lab and compares the results.

load lib

PY="$BATS_TEST_DIRNAME/family.py"

setup() {
	lab_setup nginx socat
}

teardown() {
	lab_teardown
	[ -z "${WWW:-}" ] || rm -rf "$WWW"
}

# inherit WHO PORT: a kernel peer in NS; the client (in NSK for the kernel, under nstack in NS)
# connects, forks; the child reads and answers, closes its copy; the parent writes after it.
inherit() {
	local who=$1 port=$2 d=$BATS_TEST_TMPDIR
	bg "$d/peer-$who.log" $nsx python3 "$PY" peer "$KADDR" "$port" "$d/got-$who"
	local ppid=$BG_PID
	wait_listen "$NS" "$port"
	if [ "$who" = kernel ]; then
		run timeout 30 $ksx python3 "$PY" inherit "$KADDR" "$port"
	else
		need_nstack
		run timeout 30 $nsx $NSTACK python3 "$PY" inherit "$KADDR" "$port"
	fi
	assert_success
	assert_output "ok"
	wait_pid "$ppid" 20
	assert_equal "$(cat "$d/got-$who")" "$(printf 'child:to-child\nparent')"
}

@test "a connection shared across fork: the child reads and writes, its close leaves the parent's open, kernel and nstack" {
	inherit kernel 7100
	local rx0
	rx0=$(tap_rx)
	inherit nstack 7101
	assert_tap_used "$rx0"
}

# serve WHO PORT CMD...: start a server (kernel: in NSK; nstack: in NS on the TAP); sets SADDR.
serve() {
	local who=$1 port=$2
	shift 2
	if [ "$who" = kernel ]; then
		SADDR=$CVETH
		bg "$BATS_TEST_TMPDIR/srv-$who.log" $ksx "$@"
		wait_listen "$NSK" "$port"
	else
		need_nstack
		SADDR=$NADDR
		bg "$BATS_TEST_TMPDIR/srv-$who.log" $nsx $NSTACK "$@"
		wait_nstack_listen "$port"
	fi
}

# lines PORT N: N clients one after another, then N at once, each a line and its answer.
lines() {
	local port=$1 n=$2 i
	for i in $(seq 1 "$n"); do
		run timeout 10 $nsx sh -c "printf 'hello %s\n' $i | nc -N $SADDR $port"
		assert_success
		assert_output "HELLO $i"
	done
	local pids=()
	for i in $(seq 1 "$n"); do
		$nsx sh -c "printf 'again %s\n' $i | timeout 10 nc -N $SADDR $port" >"$BATS_TEST_TMPDIR/par-$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq 1 "$n"); do
		assert_equal "$(cat "$BATS_TEST_TMPDIR/par-$i")" "AGAIN $i"
	done
}

@test "socketserver.ForkingTCPServer: a child per connection, kernel and nstack" {
	serve kernel 7200 python3 "$PY" forking "$CVETH" 7200
	lines 7200 10
	serve nstack 7201 python3 "$PY" forking "$NADDR" 7201
	local rx0
	rx0=$(tap_rx)
	lines 7201 10
	assert_tap_used "$rx0"
}

@test "socat TCP-LISTEN,fork echoes 30 000 bytes per connection (less than its pipe holds: socat PIPE with more can block itself writing its own pipe), 5 in turn and 5 at once, kernel and nstack" {
	serve kernel 7300 socat TCP-LISTEN:7300,bind=$CVETH,fork,reuseaddr PIPE
	run timeout 60 $nsx python3 "$PY" echo "$SADDR" 7300 5 30000
	assert_success
	assert_output "ok 10"
	serve nstack 7301 socat TCP-LISTEN:7301,bind=$NADDR,fork,reuseaddr PIPE
	run timeout 60 $nsx python3 "$PY" echo "$SADDR" 7301 5 30000
	assert_success
	assert_output "ok 10"
}

@test "fork and exec: the child's exec closes its close-on-exec copy, the parent's close ends the connection, kernel and nstack" {
	serve kernel 7400 python3 "$PY" spawn "$CVETH" 7400
	run timeout 20 $nsx python3 "$PY" eof "$SADDR" 7400
	assert_success
	assert_output "bye eof-fast"
	serve nstack 7401 python3 "$PY" spawn "$NADDR" 7401
	run timeout 20 $nsx python3 "$PY" eof "$SADDR" 7401
	assert_success
	assert_output "bye eof-fast"
}

# execcat WHO PORT: socat forks per connection and execs cat on the socket (nofork: cat's stdin
# and stdout are the connection); 3 MB through it, twice.
execcat() {
	local who=$1 port=$2 i
	for i in 1 2; do
		run timeout 60 $nsx sh -c "nc -N $SADDR $port <'$BATS_FILE_TMPDIR/big' >'$BATS_TEST_TMPDIR/got-$who-$i'"
		assert_success
		assert_equal "$(sha256 "$BATS_TEST_TMPDIR/got-$who-$i")" "$(sha256 "$BATS_FILE_TMPDIR/big")"
	done
}

@test "socat TCP-LISTEN,fork EXEC:cat,nofork: the socket survives exec and cat echoes 3 MB on it, kernel and nstack" {
	head -c 3000000 /dev/urandom >"$BATS_FILE_TMPDIR/big"
	serve kernel 7500 socat TCP-LISTEN:7500,bind=$CVETH,fork,reuseaddr EXEC:cat,nofork
	execcat kernel 7500
	serve nstack 7501 socat TCP-LISTEN:7501,bind=$NADDR,fork,reuseaddr EXEC:cat,nofork
	local rx0
	rx0=$(tap_rx)
	execcat nstack 7501
	assert_tap_used "$rx0"
}

# owed WHO PORT: a writer sends 60 KB to a kernel peer that reads nothing for 3 s (its window
# takes a few KB), closes and exits: it must be gone long before the peer reads, and every byte
# must arrive after.
owed() {
	local who=$1 port=$2 d=$BATS_TEST_TMPDIR pre=
	head -c 60000 /dev/urandom >"$d/owed"
	bg "$d/slow-$who.log" $nsx python3 "$PY" slowpeer "$KADDR" "$port" "$d/owed-$who"
	local reader=$BG_PID
	wait_listen "$NS" "$port"
	local t0=$SECONDS
	if [ "$who" = kernel ]; then
		run timeout 60 $ksx python3 "$PY" blast "$KADDR" "$port" "$d/owed"
	else
		run timeout 60 $nsx $NSTACK python3 "$PY" blast "$KADDR" "$port" "$d/owed"
	fi
	assert_success
	[ $((SECONDS - t0)) -le 1 ] || fail "on $who the writer's exit waited $((SECONDS - t0)) s for its peer"
	wait_pid "$reader" 30
	assert_equal "$(sha256 "$d/owed-$who")" "$(sha256 "$d/owed")"
}

@test "exit does not wait for what closed connections owe; it is delivered after, kernel and nstack" {
	owed kernel 7700
	need_nstack
	owed nstack 7701
}

# nginx_default DIR ADDR: nginx's default process model: daemon, a master and 2 workers
# (as the default user, nobody: the files they serve are in a directory anyone may read).
nginx_default() {
	local d=$1 addr=$2 events=${3:-} lopt=${4:-}
	mkdir -p "$d/tmp" "$d/logs"
	if [ -z "${WWW:-}" ]; then
		WWW=$(mktemp -d /tmp/nst-family-www.XXXXXX)
		chmod 755 "$WWW"
		head -c 100000 /dev/urandom >"$WWW/f"
		chmod 644 "$WWW/f"
	fi
	ln -sfn "$WWW" "$d/www"
	cat >"$d/nginx.conf" <<-CONF
		daemon on;
		master_process on;
		worker_processes 2;
		pid $d/nginx.pid;
		error_log $d/logs/error.log warn;
		events { worker_connections 1024; $events }
		http {
			access_log off;
			client_body_temp_path $d/tmp/body;
			proxy_temp_path $d/tmp/proxy;
			fastcgi_temp_path $d/tmp/fastcgi;
			uwsgi_temp_path $d/tmp/uwsgi;
			scgi_temp_path $d/tmp/scgi;
			server {
				listen $addr:8080 $lopt;
				root $WWW;
			}
		}
	CONF
}

# nginx_check WHO: 20 fetches, a short wrk, then -s quit ends the master (bounded).
nginx_check() {
	local who=$1 d=$BATS_TEST_TMPDIR/nginx-$1 i
	for i in $(seq 1 20); do
		run timeout 10 $nsx curl -sS -o "$d/got" -w '%{http_code}' "http://$SADDR:8080/f"
		assert_output "200"
		cmp -s "$d/got" "$d/www/f" || fail "fetch $i from nginx on $who differs"
	done
	run timeout 30 $nsx wrk -t 2 -c 20 -d 2s "http://$SADDR:8080/f"
	assert_success
	refute_output --partial "Socket errors"
	refute_output --partial "Non-2xx"
	echo "# wrk -c 20 against nginx (master + 2 workers) on $who: $(awk '/^Requests\/sec:/ {print $2}' <<<"$output") requests/s" >&3
	local master old
	master=$(cat "$d/nginx.pid")
	[ "$(pgrep -P "$master" | wc -l)" = 2 ] || fail "nginx on $who: not 2 workers: $(pgrep -P "$master")"
	if [ -n "${RELOAD:-}" ]; then
		# new workers from the master (which keeps the listener), the old ones finish and go
		old=$(pgrep -P "$master" | sort | tr '\n' ' ')
		run $nsx nginx -p "$d" -c "$d/nginx.conf" -s reload
		assert_success
		for i in $(seq 1 50); do
			[ "$(pgrep -P "$master" | sort | tr '\n' ' ')" != "$old" ] && [ "$(pgrep -P "$master" | wc -l)" = 2 ] && break
			sleep 0.1
		done
		[ "$(pgrep -P "$master" | sort | tr '\n' ' ')" != "$old" ] || fail "nginx on $who: reload made no new workers"
		for i in $(seq 1 10); do
			run timeout 10 $nsx curl -sS -o "$d/got" -w '%{http_code}' "http://$SADDR:8080/f"
			assert_output "200"
		done
	fi
	run $nsx nginx -p "$d" -c "$d/nginx.conf" -s quit
	assert_success
	wait_pid_gone "$master" 10 || fail "nginx master on $who did not quit"
	if grep -E '\[(error|crit|alert|emerg)\]' "$d/logs/error.log"; then
		fail "nginx on $who logged errors: $(tail -n 5 "$d/logs/error.log")"
	fi
}

# wait_pid_gone PID SECONDS: a process we did not start (a daemon) has ended.
wait_pid_gone() {
	local i
	for i in $(seq 1 $((${2} * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# nginx_both EVENTS LISTEN-OPTIONS: the default process model with these, kernel then nstack.
nginx_both() {
	local dk=$BATS_TEST_TMPDIR/nginx-kernel dn=$BATS_TEST_TMPDIR/nginx-nstack
	nginx_default "$dk" "$CVETH" "$1" "$2"
	SADDR=$CVETH
	run $ksx nginx -p "$dk" -c "$dk/nginx.conf"
	assert_success
	wait_listen "$NSK" 8080
	nginx_check kernel
	need_nstack
	nginx_default "$dn" "$NADDR" "$1" "$2"
	SADDR=$NADDR
	local rx0
	rx0=$(tap_rx)
	run $nsx $NSTACK nginx -p "$dn" -c "$dn/nginx.conf"
	assert_success
	wait_nstack_listen 8080
	nginx_check nstack
	assert_tap_used "$rx0"
}

@test "nginx in its default configuration (daemon, master, 2 workers) serves and quits, kernel and nstack" {
	nginx_both "" ""
}

@test "nginx with accept_mutex on, and with listen reuseport, serves and quits, kernel and nstack" {
	nginx_both "accept_mutex on;" ""
	nginx_both "" "reuseport"
}

@test "nginx -s reload: new workers take over, kernel and nstack" {
	RELOAD=1 nginx_both "" ""
}

# redis_daemon WHO ADDR: redis-server --daemonize yes (the parent exits at once), SET/GET from
# the kernel side, SHUTDOWN ends it.
redis_daemon() {
	local who=$1 addr=$2 d=$BATS_TEST_TMPDIR/redis-$1 pre=
	mkdir -p "$d"
	if [ "$who" = nstack ]; then
		run $nsx $NSTACK redis-server --daemonize yes --bind "$addr" --port 6390 --protected-mode no \
			--dir "$d" --pidfile "$d/r.pid" --logfile "$d/r.log" --save ""
	else
		run $ksx redis-server --daemonize yes --bind "$addr" --port 6390 --protected-mode no \
			--dir "$d" --pidfile "$d/r.pid" --logfile "$d/r.log" --save ""
	fi
	assert_success
	if [ "$who" = nstack ]; then wait_nstack_listen 6390; else wait_listen "$NSK" 6390; fi
	run timeout 10 $nsx redis-cli -h "$addr" -p 6390 set k "v-$who"
	assert_output "OK"
	run timeout 10 $nsx redis-cli -h "$addr" -p 6390 get k
	assert_output "v-$who"
	run timeout 30 $nsx redis-benchmark -h "$addr" -p 6390 -n 5000 -q -t set,get
	assert_success
	refute_output --partial "rror"
	local pid
	pid=$(cat "$d/r.pid")
	run timeout 10 $nsx redis-cli -h "$addr" -p 6390 shutdown nosave
	wait_pid_gone "$pid" 10 || fail "redis on $who did not shut down"
}

@test "redis-server --daemonize yes serves after its parent exits, kernel and nstack" {
	redis_daemon kernel "$CVETH"
	need_nstack
	redis_daemon nstack "$NADDR"
}
