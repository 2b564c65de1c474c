#!/usr/bin/env bash
# Run the e2e suite (tests/e2e/*.bats, or the files given) with bats, one bats run per file
# under a time limit (E2E_FILE_TIMEOUT, default 600 s). TAP on stdout; each file's TAP stream
# starts with its own "1..N" plan. Exit status non-zero if any test failed, a file timed out or
# bats itself failed.
#
# The tests need root (CAP_NET_ADMIN) to build their network lab; without it every test is
# reported as skipped, with the reason — a skip is not a pass (tests/run-all.sh counts skips
# separately, and as failures under CI).
#
# Usage: tests/run-e2e.sh [FILE.bats...]
set -u
cd "$(dirname "$0")/.." || exit 1

per_file=${E2E_FILE_TIMEOUT:-600}
export NST_LAB_TAG="r$$" # lab namespaces of this run: nstr<pid>-… / nskr<pid>-…

if [ $# -gt 0 ]; then files=("$@"); else files=(tests/e2e/*.bats); fi

if ! command -v bats >/dev/null; then
	echo "not ok 1 e2e: bats is not installed (run: sudo make deps)"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "# e2e: not running as root: every test will skip (the lab needs CAP_NET_ADMIN; run: sudo make test)"
fi

# Remove labs left behind by a bats run that was killed (its teardown never ran): only the
# namespaces carrying this run's tag, and only the processes inside them.
cleanup_labs() {
	local ns p
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^ns[tk]${NST_LAB_TAG}-" || true); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
}
trap 'cleanup_labs; exit 130' INT TERM

tmp=$(mktemp)
trap 'rm -f "$tmp"; cleanup_labs' EXIT
rc=0
for f in "${files[@]}"; do
	echo "# e2e: $f"
	timeout -k 10 "$per_file" bats --tap "$f" 2>&1 | tee "$tmp"
	st=${PIPESTATUS[0]}
	if [ "$st" = 124 ] || [ "$st" = 137 ]; then
		echo "not ok - $f: timed out after ${per_file} s (tests not reported above did not finish)"
		cleanup_labs
		rc=1
	elif [ "$st" != 0 ]; then
		rc=1
		grep -q '^not ok' "$tmp" || echo "not ok - $f: bats exited with status $st and reported no failing test"
	fi
done
exit "$rc"
