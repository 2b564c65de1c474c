#!/usr/bin/env bash
# Run test binaries; each prints "# N passed, N failed". Sum them up.
# Usage: run-bins.sh LABEL BIN...   Prints "LABEL: N passed, N failed".
set -u
label=$1; shift
pass=0; fail=0
for b in "$@"; do
	out=$("$b" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -v '^# ' | sed "s|^|[$(basename "$b")] |"
	line=$(printf '%s\n' "$out" | grep -E '^# [0-9]+ passed, [0-9]+ failed' | tail -n1)
	if [ -z "$line" ]; then
		echo "[$(basename "$b")] crashed or printed no summary (exit $rc)"; fail=$((fail + 1)); continue
	fi
	p=$(echo "$line" | awk '{print $2}'); f=$(echo "$line" | awk '{print $4}')
	pass=$((pass + p)); fail=$((fail + f))
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { echo "[$(basename "$b")] exit $rc"; fail=$((fail + 1)); }
done
echo "$label: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
