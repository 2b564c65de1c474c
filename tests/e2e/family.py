#!/usr/bin/env python3
"""Programs for tests/e2e/family_fork.bats: processes that share sockets across fork().

  family.py peer ADDR PORT OUT     kernel peer: accept one connection, send "to-child\\n",
                                   write everything received until EOF to OUT
  family.py inherit ADDR PORT      client: connect, fork; the child reads the peer's line,
                                   answers "child:<line>" and closes its copy; the parent waits
                                   for the child, then sends "parent\\n" on the same connection
  family.py forking ADDR PORT      socketserver.ForkingTCPServer: one child per connection,
                                   each line echoed upper-cased
  family.py echo ADDR PORT N SIZE  client: N connections one after another, then N at once;
                                   each sends SIZE bytes and must read the same bytes back
  family.py spawn ADDR PORT        server: accept one connection, fork a child that execs
                                   `sleep 5` (the socket is close-on-exec, as Python makes it),
                                   then answer "bye" and close: the peer sees EOF at once
  family.py eof ADDR PORT          client: read until EOF; print what came and whether the EOF
                                   came within 2 s
  family.py slowpeer ADDR PORT OUT kernel peer (SO_RCVBUF 4096): accept one connection, read
                                   nothing for 3 s, then everything into OUT until EOF
  family.py blast ADDR PORT FILE   client (SO_SNDBUF 256 KB): send FILE, close, exit at once
"""
import os, socket, socketserver, sys, threading


def peer(addr, port, out):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    c, _ = ls.accept()
    c.sendall(b"to-child\n")
    got = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += d
    with open(out, "wb") as f:
        f.write(got)
    c.close()


def inherit(addr, port):
    s = socket.create_connection((addr, port), timeout=20)
    pid = os.fork()
    if pid == 0:
        line = b""
        while not line.endswith(b"\n"):
            d = s.recv(100)
            if not d:
                break
            line += d
        s.sendall(b"child:" + line)
        s.close()
        sys.stdout.flush()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        print("child failed", status)
        sys.exit(1)
    s.sendall(b"parent\n")
    s.close()
    print("ok")


class Upper(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())


class Forking(socketserver.ForkingTCPServer):
    allow_reuse_address = True


def forking(addr, port):
    with Forking((addr, port), Upper) as srv:
        srv.serve_forever()


def echo_one(addr, port, size, errors):
    data = os.urandom(size)
    try:
        s = socket.create_connection((addr, port), timeout=20)
        t = threading.Thread(target=s.sendall, args=(data,))
        t.start()
        got = b""
        while len(got) < size:
            d = s.recv(65536)
            if not d:
                break
            got += d
        t.join()
        s.close()
        if got != data:
            errors.append("got %d of %d bytes, %s" % (len(got), size,
                          "equal prefix" if data.startswith(got) else "different"))
    except OSError as e:
        errors.append(str(e))


def echo(addr, port, n, size):
    errors = []
    for _ in range(n):
        echo_one(addr, port, size, errors)
    ts = [threading.Thread(target=echo_one, args=(addr, port, size, errors)) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        print("errors:", errors)
        sys.exit(1)
    print("ok %d" % (2 * n))


def spawn(addr, port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    c, _ = ls.accept()
    pid = os.fork()
    if pid == 0:
        os.execvp("sleep", ["sleep", "5"])
    c.sendall(b"bye\n")
    c.close()
    ls.close()
    os.waitpid(pid, 0)


def eof(addr, port):
    import time
    s = socket.create_connection((addr, port), timeout=10)
    t0 = time.monotonic()
    got = b""
    while True:
        d = s.recv(100)
        if not d:
            break
        got += d
    took = time.monotonic() - t0
    print(got.decode().strip(), "eof-fast" if took < 2 else "eof-after-%.1fs" % took)


def slowpeer(addr, port, out):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind((addr, port))
    ls.listen(1)
    c, _ = ls.accept()
    import time
    time.sleep(3)
    with open(out, "wb") as f:
        while True:
            d = c.recv(32768)
            if not d:
                break
            f.write(d)


def blast(addr, port, path):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 262144)
    s.settimeout(30)
    s.connect((addr, port))
    with open(path, "rb") as f:
        s.sendall(f.read())
    s.close()


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "peer":
        peer(a[0], int(a[1]), a[2])
    elif cmd == "inherit":
        inherit(a[0], int(a[1]))
    elif cmd == "forking":
        forking(a[0], int(a[1]))
    elif cmd == "slowpeer":
        slowpeer(a[0], int(a[1]), a[2])
    elif cmd == "blast":
        blast(a[0], int(a[1]), a[2])
    elif cmd == "spawn":
        spawn(a[0], int(a[1]))
    elif cmd == "eof":
        eof(a[0], int(a[1]))
    elif cmd == "echo":
        echo(a[0], int(a[1]), int(a[2]), int(a[3]))
    else:
        sys.exit("unknown command " + cmd)
