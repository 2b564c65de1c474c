#!/usr/bin/env bash
# nstack demo: curl downloads a file from a kernel HTTP server through nstack.
#
# Creates a throw-away lab — network namespace "nst-demo-<pid>" with a TAP device nst0, kernel
# side 198.18.0.1/24, nstack on 198.18.0.2/24 — starts `python3 -m http.server` there serving a
# random file, downloads it with `nstack run … curl`, checks the sha256, and removes the lab on
# any exit. Nothing outside the namespace is touched. Needs root (it creates a netns and a TAP).
#
# Usage: sudo ./demo.sh        (or: sudo make demo)   DEMO_MB=N sets the file size (default 20)
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" != 0 ]; then
	echo "demo.sh: needs root to create its network namespace and TAP device; run: sudo ./demo.sh" >&2
	exit 1
fi
for t in ip ss curl python3 sha256sum timeout make; do
	command -v "$t" >/dev/null || { echo "demo.sh: missing '$t'; run: make deps" >&2; exit 1; }
done

mb=${DEMO_MB:-20}
ns="nst-demo-$$"
work=$(mktemp -d)
server=

# shellcheck disable=SC2317 # called through trap
cleanup() {
	set +e
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	if [ -e "/run/netns/$ns" ]; then
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== build"
make -s all
nstack=$PWD/build/nstack

echo "== lab: netns $ns, TAP nst0: kernel 198.18.0.1/24, nstack 198.18.0.2/24"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" tuntap add dev nst0 mode tap
ip -n "$ns" addr add 198.18.0.1/24 dev nst0
ip -n "$ns" link set nst0 up

mkdir -p "$work/www"
head -c "$((mb * 1024 * 1024))" /dev/urandom >"$work/www/file"
want=$(sha256sum "$work/www/file" | awk '{print $1}')
ip netns exec "$ns" python3 -m http.server 8000 --bind 198.18.0.1 --directory "$work/www" \
	</dev/null >"$work/http.log" 2>&1 &
server=$!
for _ in $(seq 50); do
	ip netns exec "$ns" ss -ltnH 'sport = :8000' | grep -q . && break
	sleep 0.1
done
ip netns exec "$ns" ss -ltnH 'sport = :8000' | grep -q . || { echo "demo.sh: http.server did not start" >&2; cat "$work/http.log" >&2; exit 1; }
echo "   kernel: python3 -m http.server on 198.18.0.1:8000 serving a $mb MB random file"

echo "== download through nstack"
cmd=(curl -sS -o "$work/out" -w '%{size_download} %{time_total} %{speed_download} %{http_code}\n' http://198.18.0.1:8000/file)
echo "   \$ nstack run --if nst0 --addr 198.18.0.2/24 -- curl -sS -o out -w '<stats>' http://198.18.0.1:8000/file"
set +e
stats=$(timeout 120 ip netns exec "$ns" "$nstack" run --if nst0 --addr 198.18.0.2/24 -- "${cmd[@]}")
rc=$?
set -e
read -r size secs speed code <<<"${stats:-0 0 0 000}"
printf '   curl: %s bytes in %s s = %.1f MB/s, HTTP %s, exit %s\n' "$size" "$secs" \
	"$(awk -v s="$speed" 'BEGIN {print s / 1e6}')" "$code" "$rc"

got=$( [ -f "$work/out" ] && sha256sum "$work/out" | awk '{print $1}' || echo none)
# Who the kernel server saw: the stack's address on the TAP proves the bytes went through nstack.
client=$(awk '/"GET \/file/ {c = $1} END {print c}' "$work/http.log")
echo "== result"
echo "   source sha256:     $want"
echo "   downloaded sha256: $got"
echo "   the kernel server saw the client as ${client:-nobody} (nstack is 198.18.0.2 on nst0)"
if [ "$rc" = 0 ] && [ "$got" = "$want" ] && [ "$client" = 198.18.0.2 ]; then
	echo "   PASS: $size bytes arrived intact through nstack"
	status=0
else
	[ "$rc" = 124 ] && echo "   curl did not finish within 120 s"
	echo "   FAIL: curl exit $rc, content $([ "$got" = "$want" ] && echo matches || echo differs), client ${client:-none}"
	status=1
fi
echo "== cleanup: removing netns $ns"
exit "$status"
