#!/usr/bin/env python3
"""A program that talks to itself over 127.0.0.1: a server thread and a client thread exchange
10 MB each way at once (random bytes, checked by sha256). Prints one line per side and exits 0
when both arrived intact; 1 otherwise, with the error."""
import hashlib, os, socket, sys, threading

N = 10 * 1024 * 1024
to_server, to_client = os.urandom(N), os.urandom(N)
got = {}

def recv_all(s, who):
    h, n = hashlib.sha256(), 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
    got[who] = (n, h.hexdigest())

def send_all(s, data):
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)

def server(ls):
    c, _ = ls.accept()
    t = threading.Thread(target=send_all, args=(c, to_client))
    t.start()
    recv_all(c, "server")
    t.join()
    c.close()

try:
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    port = ls.getsockname()[1]
    st = threading.Thread(target=server, args=(ls,), daemon=True)
    st.start()
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.settimeout(60)
    t = threading.Thread(target=send_all, args=(c, to_server), daemon=True)
    t.start()
    recv_all(c, "client")
    t.join()
    st.join(60)
    c.close()
    ls.close()
except OSError as e:
    print(f"error: {e.strerror or e}")
    sys.stdout.flush()
    os._exit(1)
ok = True
for who, data in (("server", to_server), ("client", to_client)):
    n, h = got.get(who, (0, ""))
    good = n == N and h == hashlib.sha256(data).hexdigest()
    ok = ok and good
    print(f"{who} received {n} bytes, {'intact' if good else 'CORRUPT'}")
sys.exit(0 if ok else 1)
