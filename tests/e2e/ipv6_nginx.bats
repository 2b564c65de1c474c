#!/usr/bin/env bats
# nginx (nginx-light) listening on IPv6 under nstack, in its default process model (a master
# and 2 workers; `daemon off` only so that the test holds the master's PID), against the same
# configuration on the kernel in the same run. nginx sets IPV6_V6ONLY on a [::] listener
# unless told `ipv6only=off` ("ipv6only=on|off ... By default it is turned on", the listen
# directive's documentation), so:
#   (a) `listen PORT; listen [::]:PORT;`: two listeners; IPv4 and IPv6 clients both served,
#       each seen in its own family ($remote_addr 198.x / fd00:...);
#   (b) `listen [::]:PORT ipv6only=off;` alone: one dual-stack listener; both families served,
#       the IPv4 client seen as ::ffff:a.b.c.d ($remote_addr and $server_addr both mapped);
#   (c) `listen [::]:PORT;` alone: IPv6 only; an IPv4 client is refused.
# Each answer is "$remote_addr $server_addr" (a `return 200`), checked in the body and the
# access log. Kernel: nginx in NSK (198.19.0.2, fd00:198:19::2); nstack: nginx under nstack in
# NS on the TAP (198.18.0.2, fd00:198:18::2); the clients are the kernel's curl in NS. The
# addresses are replaced by names (C4 C6 S4 S6) and the two runs compared line by line.

bats_require_minimum_version 1.5.0
load lib

setup() {
	lab_setup nginx
	lab_addr6_up
}

teardown() {
	lab_teardown
}

# wait_nstack_listen6 PORT: the nstack program in NS listens on [NADDR6]:PORT (bare SYNs).
wait_nstack_listen6() {
	ip netns exec "$NS" /usr/bin/python3 "$ROOT/tests/e2e/ipv6_probe.py" "$KADDR6" "$NADDR6" "$1" "${2:-100}"
}

# nginx_conf DIR LISTEN...: master + 2 workers, one server with these listen lines.
nginx_conf() {
	local d=$1 l listen=
	shift
	for l in "$@"; do listen+="listen $l; "; done
	mkdir -p "$d/tmp" "$d/logs"
	cat >"$d/nginx.conf" <<-CONF
		daemon off;
		master_process on;
		worker_processes 2;
		pid $d/nginx.pid;
		error_log $d/logs/error.log warn;
		events { worker_connections 256; }
		http {
			log_format addrs '\$remote_addr \$server_addr \$status';
			access_log $d/logs/access.log addrs;
			client_body_temp_path $d/tmp/body;
			proxy_temp_path $d/tmp/proxy;
			fastcgi_temp_path $d/tmp/fastcgi;
			uwsgi_temp_path $d/tmp/uwsgi;
			scgi_temp_path $d/tmp/scgi;
			server {
				$listen
				location / { return 200 "\$remote_addr \$server_addr\n"; }
			}
		}
	CONF
}

# names WHO: sed script replacing WHO's addresses by C4 C6 S4 S6
names() {
	if [ "$1" = kernel ]; then
		echo "s/fd00:198:19::2/S6/g; s/fd00:198:19::1/C6/g; s/198\.19\.0\.2/S4/g; s/198\.19\.0\.1/C4/g"
	else
		echo "s/fd00:198:18::2/S6/g; s/fd00:198:18::1/C6/g; s/198\.18\.0\.2/S4/g; s/198\.18\.0\.1/C4/g"
	fi
}

# serve WHO CASE PORT LISTEN...: run nginx on WHO with these listen lines, fetch by IPv4 and
# by IPv6 from NS, stop nginx; prints what was seen, addresses named:
#   v4: <curl exit> <body>        v6: <curl exit> <body>        log: <line>...
serve() {
	local who=$1 case=$2 port=$3 d=$BATS_TEST_TMPDIR/nginx-$1-$2 s4 s6 pid out rc fam
	shift 3
	nginx_conf "$d" "$@"
	if [ "$who" = kernel ]; then
		s4=198.19.0.2 s6=$CVETH6
		bg "$BATS_TEST_TMPDIR/nginx-$who-$case.log" $ksx nginx -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf"
		pid=$BG_PID
		wait_listen "$NSK" "$port" >&2 || return 1
	else
		s4=$NADDR s6=$NADDR6
		bg "$BATS_TEST_TMPDIR/nginx-$who-$case.log" $nsx $NSTACK nginx -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf"
		pid=$BG_PID
		wait_nstack_listen6 "$port" >&2 || return 1
	fi
	# the master and its 2 workers
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(pgrep -P "$pid" | wc -l)" = 2 ] && break
		sleep 0.1
	done
	[ "$(pgrep -P "$pid" | wc -l)" = 2 ] || { echo "nginx on $who: not 2 workers" >&2; return 1; }
	for fam in 4 6; do
		if [ $fam = 4 ]; then url="http://$s4:$port/"; else url="http://[$s6]:$port/"; fi
		rc=0
		out=$(timeout 10 $nsx curl -sS -g --max-time 5 "$url" 2>/dev/null) || rc=$?
		echo "v$fam: $rc $out"
	done
	kill -TERM "$pid"
	wait_pid "$pid" 10 || { echo "nginx on $who did not stop" >&2; return 1; }
	sed 's/^/log: /' "$d/logs/access.log"
	if grep -E '\[(error|crit|alert|emerg)\]' "$d/logs/error.log" >&2; then
		echo "nginx on $who logged errors" >&2
		return 1
	fi
}

# both CASE PORT LISTEN...: serve on the kernel, then on nstack; both outputs (named) must be
# equal; leaves the nstack one in OUT.
both() {
	local case=$1 port=$2 k n rx0
	shift 2
	k=$(serve kernel "$case" "$port" "$@") || fail "kernel run of ($case) failed: $k"
	k=$(sed "$(names kernel)" <<<"$k")
	echo "# ($case) kernel: $(tr '\n' '|' <<<"$k")" >&3
	need_nstack
	rx0=$(tap_rx)
	n=$(serve nstack "$case" "$port" "$@") || fail "nstack run of ($case) failed: $n"
	n=$(sed "$(names nstack)" <<<"$n")
	echo "# ($case) nstack: $(tr '\n' '|' <<<"$n")" >&3
	assert_tap_used "$rx0"
	assert_equal "$n" "$k"
	OUT=$n
}

@test "nginx 'listen PORT; listen [::]:PORT;' serves IPv4 and IPv6 each in its family, kernel and nstack" {
	both a 8080 8080 "[::]:8080"
	assert_equal "$OUT" "$(printf '%s\n' 'v4: 0 C4 S4' 'v6: 0 C6 S6' 'log: C4 S4 200' 'log: C6 S6 200')"
}

@test "nginx 'listen [::]:PORT ipv6only=off;' is dual-stack: IPv4 clients as ::ffff:a.b.c.d, kernel and nstack" {
	both b 8081 "[::]:8081 ipv6only=off"
	assert_equal "$OUT" "$(printf '%s\n' 'v4: 0 ::ffff:C4 ::ffff:S4' 'v6: 0 C6 S6' 'log: ::ffff:C4 ::ffff:S4 200' 'log: C6 S6 200')"
}

@test "nginx 'listen [::]:PORT;' alone is IPv6-only (ipv6only=on by default): IPv4 refused, kernel and nstack" {
	both c 8082 "[::]:8082"
	assert_equal "$OUT" "$(printf '%s\n' 'v4: 7 ' 'v6: 0 C6 S6' 'log: C6 S6 200')"
}
