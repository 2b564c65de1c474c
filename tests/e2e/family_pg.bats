#!/usr/bin/env bats
# PostgreSQL (Debian's postgresql, a postmaster that forks a backend per connection and its
# background workers) on nstack: initdb, then postgres serving 198.18.0.2; pgbench -c 8 -T 10
# from the kernel side with 0 failed transactions, and psql through nstack as a client (it joins
# the server's stack: a second program on the interface). The same run with postgres on the
# kernel (NSK) first. postgres refuses to run as root: it runs as the postgres user, with
# CAP_DAC_OVERRIDE to open /dev/net/tun (mode 0600) and a TAP that user owns.

load lib

PG_BIN=${PG_BIN:-$(dirname "$(command -v postgres 2>/dev/null || echo /usr/lib/postgresql/15/bin/postgres)")}

setup() {
	lab_require pgbench psql setpriv
	[ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ] || skip "no PostgreSQL server here (initdb, postgres)"
	id postgres >/dev/null 2>&1 || skip "no postgres user"
	lab_up
	# the TAP, owned by the user postgres runs as
	ip -n "$NS" tuntap del dev nst0 mode tap
	ip -n "$NS" tuntap add dev nst0 mode tap user postgres
	ip -n "$NS" addr add "$KADDR/24" dev nst0
	ip -n "$NS" link set nst0 up
	PG_DIR=$(mktemp -d /tmp/nst-pg.XXXXXX)
	chown postgres "$PG_DIR"
	mkdir -m 0700 "$PG_DIR/run"
	chown postgres "$PG_DIR/run"
}

teardown() {
	lab_teardown
	[ -z "${PG_DIR:-}" ] || rm -rf "$PG_DIR"
}

aspg() {
	setpriv --reuid=postgres --regid=postgres --init-groups \
		--inh-caps=+dac_override --ambient-caps=+dac_override "$@"
}

# pg WHO ADDR: a fresh cluster serving ADDR:5440, pgbench against it, then stopped.
pg() {
	local who=$1 addr=$2 d=$PG_DIR/$1
	run aspg "$PG_BIN/initdb" -D "$d" -A trust -U postgres
	assert_success
	echo "host all all 198.18.0.0/15 trust" >>"$d/pg_hba.conf"
	local opts="-c listen_addresses=$addr -c port=5440 -c unix_socket_directories=$PG_DIR"
	if [ "$who" = kernel ]; then
		bg "$PG_DIR/$who.log" $ksx setpriv --reuid=postgres --regid=postgres --init-groups \
			"$PG_BIN/postgres" -D "$d" $opts
		wait_listen "$NSK" 5440
	else
		bg "$PG_DIR/$who.log" $nsx setpriv --reuid=postgres --regid=postgres --init-groups \
			--inh-caps=+dac_override --ambient-caps=+dac_override \
			env NSTACK_RUNDIR="$PG_DIR/run" "$BUILD/nstack" run --if nst0 --addr "$NADDR/24" -- \
			"$PG_BIN/postgres" -D "$d" $opts
		wait_nstack_listen 5440
	fi
	local server=$BG_PID
	run timeout 60 $nsx pgbench -h "$addr" -p 5440 -U postgres -i -s 2 postgres
	assert_success
	run timeout 60 $nsx pgbench -h "$addr" -p 5440 -U postgres -c 8 -T 10 postgres
	assert_success
	assert_output --partial "number of failed transactions: 0 (0.000%)"
	echo "# pgbench -c 8 -T 10 against postgres on $who: $(grep -o 'tps = [0-9.]*' <<<"$output" | head -1)" >&3
	if [ "$who" = nstack ]; then
		# psql through nstack: it joins the server's stack (root may join a postgres-user stack)
		run timeout 30 $nsx env NSTACK_RUNDIR="$PG_DIR/run" $NSTACK psql -h "$NADDR" -p 5440 -U postgres -Atc "select count(*) from pgbench_branches"
	else
		run timeout 30 $ksx psql -h "$addr" -p 5440 -U postgres -Atc "select count(*) from pgbench_branches"
	fi
	assert_success
	assert_output "2"
	kill -INT "$server" 2>/dev/null || true
	wait_pid "$server" 20
}

@test "PostgreSQL: a backend per connection, pgbench -c 8 -T 10 with no failed transaction, psql through nstack, kernel and nstack" {
	pg kernel "$CVETH"
	need_nstack
	local rx0
	rx0=$(tap_rx)
	pg nstack "$NADDR"
	assert_tap_used "$rx0"
}
