#!/usr/bin/env python3
"""lossy_xfer.py down|up HOST PORT FILE [GOFILE]: one bulk TCP transfer, timed.

HOST is an IPv4 or IPv6 literal (an AF_INET or AF_INET6 socket).

down: connect, read until EOF into FILE (the server sends the file and closes).
up:   connect, send FILE, shut down writing, read until the server closes.
Prints "BYTES SECONDS" (connect to EOF). With GOFILE, the process then waits (at most
120 s) until GOFILE exists before it exits, so a test can read the counters of the nstack
process that ran it (`nstack stats -p PID`). The same program runs on the kernel and under
nstack (tests/e2e/rel_lossy.bats, bench/lossy.sh).

The socket's congestion control is LOSSY_CC (default cubic, nstack's default; "" leaves the
system's): a kernel whose default is another algorithm (BBR ignores random loss) would not
be compared like for like when the client sends.
"""
import os
import socket
import sys
import time


def main():
    mode, host, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    go = sys.argv[5] if len(sys.argv) > 5 else None
    cc = os.environ.get("LOSSY_CC", "cubic")
    t0 = time.monotonic()
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if cc:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
    s.settimeout(600)
    s.connect((host, port))
    n = 0
    if mode == "down":
        with open(path, "wb") as f:
            while True:
                b = s.recv(1 << 18)
                if not b:
                    break
                f.write(b)
                n += len(b)
    elif mode == "up":
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 18)
                if not b:
                    break
                s.sendall(b)
                n += len(b)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
    else:
        sys.exit("mode must be down or up")
    secs = time.monotonic() - t0
    s.close()
    print("%d %.3f" % (n, secs), flush=True)
    if go:
        end = time.monotonic() + 120
        while not os.path.exists(go) and time.monotonic() < end:
            time.sleep(0.05)


if __name__ == "__main__":
    main()
