#!/usr/bin/env python3
"""multiprocessing with a TCP listener over 127.0.0.1 (tests/e2e/server_lo.bats): the parent
listens, three forked children connect and say hello, the parent answers each; every process
prints what it got. Deterministic output (sorted by the children's numbers)."""
import multiprocessing as mp
import socket
import sys


def child(i, port, q):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"hello %d\n" % i)
    q.put("child %d got %s" % (i, s.recv(100).decode().strip()))
    s.close()


if __name__ == "__main__":
    mp.set_start_method("fork")
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    port = ls.getsockname()[1]
    q = mp.Queue()
    ps = [mp.Process(target=child, args=(i, port, q)) for i in range(3)]
    for p in ps:
        p.start()
    got = []
    for _ in range(3):
        c, _ = ls.accept()
        c.settimeout(10)
        line = c.recv(100)
        got.append("parent got " + line.decode().strip())
        c.sendall(b"ack " + line)
        c.close()
    for p in ps:
        p.join(10)
    lines = sorted(got) + sorted(q.get(timeout=10) for _ in ps)
    print("\n".join(lines))
    print("exit codes", [p.exitcode for p in ps])
    sys.exit(0 if all(p.exitcode == 0 for p in ps) else 1)
