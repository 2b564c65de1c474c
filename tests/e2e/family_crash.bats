#!/usr/bin/env bats
# Crash safety of a family (preload/family.c: a process and its fork() children share one
# stack in shared memory): kill -9 of any member at any moment (idle, blocked, or inside the
# stack holding its lock) never hangs or corrupts the others. The dead member's lock is
# recovered (robust mutex, engine.c eng_locked), its descriptors released as the kernel does
# at process death and its packet buffers reclaimed (fam_reap, fam_bury), and the others keep
# serving.

load lib

FK="$BUILD/tests/helpers/family_kill"

setup() {
	lab_setup nginx wrk pgrep
}

teardown() {
	lab_teardown
	[ -z "${WWW:-}" ] || rm -rf "$WWW"
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

# backtraces PID...: every thread of each process (a hang's evidence), to stderr.
backtraces() {
	local p
	for p in "$@"; do
		echo "--- pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >&2
		timeout 20 gdb -p "$p" -batch -ex 'thread apply all bt 12' 2>&1 | grep -E '^(Thread|#)' >&2 || true
	done
}

# nginx_default DIR ADDR: nginx's default process model (as in family_fork.bats): daemon, a
# master and 2 workers, as nobody (the files they serve are in a directory anyone may read).
nginx_default() {
	local d=$1 addr=$2
	mkdir -p "$d/tmp" "$d/logs"
	if [ -z "${WWW:-}" ]; then
		WWW=$(mktemp -d /tmp/nst-crash-www.XXXXXX)
		chmod 755 "$WWW"
		head -c 10000 /dev/urandom >"$WWW/f"
		chmod 644 "$WWW/f"
	fi
	ln -s "$WWW" "$d/www"
	cat >"$d/nginx.conf" <<-CONF
		daemon on;
		master_process on;
		worker_processes 2;
		pid $d/nginx.pid;
		error_log $d/logs/error.log warn;
		events { worker_connections 1024; }
		http {
			access_log off;
			client_body_temp_path $d/tmp/body;
			proxy_temp_path $d/tmp/proxy;
			fastcgi_temp_path $d/tmp/fastcgi;
			uwsgi_temp_path $d/tmp/uwsgi;
			scgi_temp_path $d/tmp/scgi;
			server {
				listen $addr:8080;
				root $WWW;
			}
		}
	CONF
}

# workers MASTER: the master's children (its workers), one a line.
workers() {
	pgrep -P "$1" || true
}

# nginx_kill WHO: wrk -c 20 for 8 s; 2 s in, kill -9 one worker; the master forks a new one
# (2 workers again within 5 s); wrk goes on and ends with requests served and few errors
# (only the dead worker's connections); then 20 fetches in a row all succeed; -s quit.
nginx_kill() {
	local who=$1 d=$BATS_TEST_TMPDIR/nginx-$1 i
	local master
	master=$(cat "$d/nginx.pid")
	[ "$(workers "$master" | wc -l)" = 2 ] || fail "nginx on $who: not 2 workers"
	local wlog=$d/wrk.log
	bg "$wlog" $nsx wrk -t 2 -c 20 -d 8s "http://$SADDR:8080/f"
	local wpid=$BG_PID
	sleep 2
	local victim
	victim=$(workers "$master" | head -n 1)
	kill -9 "$victim"
	local ok=
	for i in $(seq 1 50); do
		local w
		w=$(workers "$master")
		if [ "$(wc -l <<<"$w")" = 2 ] && ! grep -qx "$victim" <<<"$w"; then
			ok=1
			break
		fi
		sleep 0.1
	done
	if [ -z "$ok" ]; then
		backtraces "$master" $(workers "$master")
		fail "nginx on $who: no new worker 5 s after kill -9 $victim: $(workers "$master" | tr '\n' ' ')"
	fi
	if ! wait_pid "$wpid" 30; then
		backtraces "$master" $(workers "$master")
		fail "wrk against nginx on $who did not end: $(cat "$wlog")"
	fi
	cat "$wlog" >&2
	local reqs rps errs
	reqs=$(awk '/requests in/ {print $1}' "$wlog")
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$wlog")
	errs=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$wlog")
	errs=${errs:-0}
	[ -n "$reqs" ] && [ "$reqs" -gt 0 ] || fail "wrk against nginx on $who: no requests: $(cat "$wlog")"
	[ -n "$rps" ] || fail "wrk against nginx on $who: no requests/s: $(cat "$wlog")"
	echo "# wrk -c 20 against nginx on $who, a worker killed 2 s in: $reqs requests, $rps requests/s, $errs socket errors ($(grep 'Socket errors' "$wlog" | sed 's/^ *//' || echo 'none reported'))" >&3
	# only the dead worker's connections (at most the 20 open, and a few in flight)
	[ "$errs" -le 40 ] || fail "wrk against nginx on $who: $errs socket errors: $(cat "$wlog")"
	for i in $(seq 1 20); do
		run timeout 10 $nsx curl -sS -o "$d/got" -w '%{http_code}' "http://$SADDR:8080/f"
		if [ "$output" != 200 ]; then
			backtraces "$master" $(workers "$master")
			fail "fetch $i from nginx on $who after the kill: $output"
		fi
		cmp -s "$d/got" "$d/www/f" || fail "fetch $i from nginx on $who differs"
	done
	[ "$(workers "$master" | wc -l)" = 2 ] || fail "nginx on $who: not 2 workers at the end"
	run $nsx nginx -p "$d" -c "$d/nginx.conf" -s quit
	assert_success
	wait_pid_gone "$master" 10 || fail "nginx master on $who did not quit"
}

@test "kill -9 of an nginx worker under wrk load: the master forks a new one, the load goes on, only that worker's connections fail, kernel and nstack" {
	local dk=$BATS_TEST_TMPDIR/nginx-kernel dn=$BATS_TEST_TMPDIR/nginx-nstack
	nginx_default "$dk" "$CVETH"
	SADDR=$CVETH
	run $ksx nginx -p "$dk" -c "$dk/nginx.conf"
	assert_success
	wait_listen "$NSK" 8080
	nginx_kill kernel
	need_nstack
	nginx_default "$dn" "$NADDR"
	SADDR=$NADDR
	local rx0
	rx0=$(tap_rx)
	run $nsx $NSTACK nginx -p "$dn" -c "$dn/nginx.conf"
	assert_success
	wait_nstack_listen 8080
	nginx_kill nstack
	assert_tap_used "$rx0"
}

# pool PID: "small large" packet buffers in use in the stack of PID (nstack stats).
pool() {
	"$BUILD/nstack" stats -a -p "$1" | awk '$1 == "pkt_pool_in_use" {s = $2} $1 == "pkt_pool_large_in_use" {l = $2} END {print s, l}'
}

@test "100 rounds of kill -9 of busy members at random moments: the parent forks replacements, the service answers after each kill, no hang, no connection or packet buffer left over" {
	need_nstack
	[ -x "$FK" ] || fail "missing $FK (run: make helpers)"
	local d=$BATS_TEST_TMPDIR port=7500 n=4 i
	bg "$d/server.log" $nsx env NSTACK_LOG=warn $NSTACK "$FK" server "$NADDR" "$port" "$n"
	local spid=$BG_PID
	wait_file_grep "$d/server.log" '^ready [0-9]+' 100
	local parent
	parent=$(awk '/^ready/ {print $2; exit}' "$d/server.log")
	wait_nstack_listen "$port"
	run timeout 10 $nsx "$FK" probe "$NADDR" "$port" 3000
	assert_success
	local before
	before=$(pool "$parent")
	[ -n "$before" ] || fail "nstack stats -p $parent: no pkt_pool_in_use: $("$BUILD/nstack" stats -a -p "$parent" 2>&1)"
	bg "$d/load.log" $nsx "$FK" load "$NADDR" "$port" 3 120
	local lpid=$BG_PID
	sleep 0.5
	local t0=$SECONDS kills=0 slow=0 ms
	local -A killed=()
	for i in $(seq 1 100); do
		local ws victim=
		ws=$(workers "$parent")
		[ -n "$ws" ] || { sleep 0.05; ws=$(workers "$parent"); }
		[ -n "$ws" ] || fail "kill $i: the parent $parent has no workers"
		# one in 10: every worker at once (several buried together, the parent
		# forking while it buries); else one at random
		if [ $((i % 10)) = 5 ]; then
			victim=$(tr '\n' ' ' <<<"$ws")
		else
			victim=$(shuf -n 1 <<<"$ws")
		fi
		local v
		for v in $victim; do
			# pgrep lists a zombie not yet waited for: killed already
			[ "$(awk '{print $3}' "/proc/$v/stat" 2>/dev/null)" != Z ] || continue
			kill -9 "$v" 2>/dev/null && [ -z "${killed[$v]:-}" ] && killed[$v]=1 && kills=$((kills + 1))
		done
		# mostly 50-150 ms apart; one in 4 at once (a new worker killed while it joins)
		[ $((RANDOM % 4)) = 0 ] || sleep "0.$(printf '%03d' $((50 + RANDOM % 100)))"
		run timeout 10 $nsx "$FK" probe "$NADDR" "$port" 3000
		if [ "$status" != 0 ]; then
			echo "kill $i (pid $victim): probe: $output" >&2
			backtraces "$parent" $(workers "$parent")
			fail "no echo 3 s after kill $i (pid $victim)"
		fi
		ms=${output#pong }
		[ "$ms" -le 500 ] || slow=$((slow + 1))
		kill -0 "$parent" 2>/dev/null || fail "the parent died at kill $i: $(cat "$d/server.log")"
		if [ $((i % 10)) = 0 ]; then
			run timeout 10 "$BUILD/nstack" stats -p "$parent"
			[ "$status" = 0 ] || fail "nstack stats -p $parent after kill $i: $output"
		fi
	done
	local kt=$((SECONDS - t0))
	kill "$lpid"
	if ! wait_pid "$lpid" 20; then
		backtraces "$parent" $(workers "$parent")
		fail "the load did not end"
	fi
	local load
	load=$(cat "$d/load.log")
	[[ "$load" =~ ^rounds\ ([0-9]+)\ errors\ ([0-9]+) ]] || fail "load: $load"
	[ "${BASH_REMATCH[1]}" -gt 0 ] || fail "load: no rounds: $load"
	run timeout 10 $nsx "$FK" probe "$NADDR" "$port" 3000
	assert_success
	# the connections of the dead settle (closed, TIME_WAIT); their buffers come back
	local after=
	for i in $(seq 1 30); do
		after=$(pool "$parent") || fail "nstack stats -p $parent failed"
		[ "${after% *}" -le $((${before% *} + 64)) ] && [ "${after#* }" -le $((${before#* } + 16)) ] && break
		sleep 0.2
	done
	# no connection left of the dead: only the listener (and TIME_WAITs)
	local est= all
	for i in $(seq 1 50); do
		all=$("$BUILD/nstack" ss -a -H -p "$parent") || fail "nstack ss -p $parent failed"
		est=$(grep -vE '^(LISTEN|TIME-WAIT)' <<<"$all" || true)
		[ -z "$est" ] && break
		sleep 0.2
	done
	grep -q '^LISTEN' <<<"$all" || fail "nstack ss -a -p $parent: no listener: $all"
	[ -z "$est" ] || fail "connections left 10 s after the load: $est"
	local locked
	locked=$(grep -c 'died holding its lock' "$d/server.log" || true)
	# every one killed was found dead and buried (fam_reap: about once a second)
	# (the log is rate-limited: "N messages suppressed" may stand for some)
	local died=0
	for i in $(seq 1 50); do
		died=$(awk '/of the stack died/ {n++} /messages suppressed/ {n += $2} END {print n + 0}' "$d/server.log")
		[ "$died" -ge "$kills" ] && break
		sleep 0.1
	done
	echo "# 100 rounds, $kills kill -9 in ${kt} s ($died buried, $locked of them holding the stack's lock; probes over 500 ms: $slow), load: $load; packet buffers in use (small large): before $before, after $after" >&3
	[ "$died" -ge "$kills" ] || fail "$kills killed, $died buried: $(grep warning "$d/server.log" | tail -n 5)"
	[ "${after% *}" -le $((${before% *} + 64)) ] || fail "packet buffers leaked: before $before, after $after"
	[ "${after#* }" -le $((${before#* } + 16)) ] || fail "large packet buffers leaked: before $before, after $after"
	[ "$(workers "$parent" | wc -l)" = "$n" ] || fail "not $n workers at the end"
	kill "$parent"
	wait_pid "$spid" 10 || fail "the parent did not end on SIGTERM"
	grep -E 'respawned [0-9]+' "$d/server.log" >&2 || true
}

@test "kill -9 of the first member (it serves the control socket): the workers go on serving, another member takes over nstack ss and stats" {
	need_nstack
	[ -x "$FK" ] || fail "missing $FK (run: make helpers)"
	local d=$BATS_TEST_TMPDIR port=7600 i
	bg "$d/server.log" $nsx env NSTACK_LOG=warn $NSTACK "$FK" server "$NADDR" "$port" 3
	wait_file_grep "$d/server.log" '^ready [0-9]+' 100
	local parent
	parent=$(awk '/^ready/ {print $2; exit}' "$d/server.log")
	wait_nstack_listen "$port"
	run timeout 10 "$BUILD/nstack" stats -p "$parent"
	assert_success
	bg "$d/load.log" $nsx "$FK" load "$NADDR" "$port" 2 120
	local lpid=$BG_PID
	sleep 1
	local ws
	ws=$(workers "$parent" | tr '\n' ' ')
	kill -9 "$parent"
	for i in $(seq 1 10); do
		run timeout 10 $nsx "$FK" probe "$NADDR" "$port" 3000
		[ "$status" = 0 ] || { backtraces $ws; fail "probe $i after the first member's death: $output"; }
	done
	# a worker took over the family's control socket (one per family, named by its pid)
	local ctl= w
	for i in $(seq 1 50); do
		for w in $ws; do
			"$BUILD/nstack" stats -p "$w" >/dev/null 2>&1 && ctl=$w && break 2
		done
		sleep 0.1
	done
	[ -n "$ctl" ] || fail "no member of $ws serves the control socket after the first one died"
	run timeout 10 "$BUILD/nstack" ss -a -H -p "$ctl"
	assert_success
	assert_output --partial "LISTEN"
	kill "$lpid"
	wait_pid "$lpid" 20 || fail "the load did not end"
	[[ "$(cat "$d/load.log")" =~ ^rounds\ [1-9][0-9]*\ errors ]] || fail "load: $(cat "$d/load.log")"
	echo "# the first member killed: 10 probes answered, pid $ctl serves the control socket, load: $(cat "$d/load.log")" >&3
	kill -9 $ws 2>/dev/null || true
}

@test "kill -9 of a member inside fork(): the sockets it reserved for the child are released (the listener closes with its last holder)" {
	need_nstack
	[ -x "$FK" ] || fail "missing $FK (run: make helpers)"
	local d=$BATS_TEST_TMPDIR t left=0 trials=8 forked=0
	for t in $(seq 1 $trials); do
		local port=$((7700 + t)) flag=$d/flag-$t p k
		bg "$d/s-$t.log" $nsx env NSTACK_LOG=warn $NSTACK "$FK" forker "$NADDR" "$port" "$flag"
		wait_file_grep "$d/s-$t.log" '^ready' 100
		read -r _ p k < <(grep '^ready' "$d/s-$t.log")
		# it forks all the time, holding the stack's lock around fork()
		sleep "0.$((2 + RANDOM % 5))"
		kill -9 "$p"
		touch "$flag"
		wait_file_grep "$d/s-$t.log" '^closed' 50
		sleep 1.3        # the keeper's engine reaps (about once a second)
		# its last holder closed the listener: refused (the kernel answers our SYN's RST)
		if timeout 5 $nsx nc -z -w 2 "$NADDR" "$port"; then
			left=$((left + 1))
			echo "trial $t: listener open after its last holder closed it: $("$BUILD/nstack" ss -l -H -p "$k" 2>&1)" >&2
		fi
		grep -q 'died forking it' "$d/s-$t.log" && forked=$((forked + 1))
		kill -9 "$k" 2>/dev/null || true
	done
	echo "# $trials parents killed while forking: $forked inside fork(), listeners left open: $left" >&3
	[ "$left" = 0 ] || fail "$left of $trials listeners stayed open"
}
