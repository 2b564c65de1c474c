#!/usr/bin/env python3
"""Kernel peer for tests/helpers/server_errors.c: listens on ADDR:7000; each connection sends
one line:
  HOLD       keep the connection until the client's EOF, then close it
  BACK port  connect back to the client's address on port, hold that connection until EOF
             and close it; the control connection too."""
import socket, sys, threading

def hold(c):
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()

def serve(c, addr):
    line = b""
    while not line.endswith(b"\n"):
        d = c.recv(1)
        if not d:
            break
        line += d
    w = line.split()
    if w and w[0] == b"BACK":
        b = socket.create_connection((addr[0], int(w[1])), timeout=10)
        b.settimeout(None)
        threading.Thread(target=hold, args=(b,), daemon=True).start()
    hold(c)

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7000))
s.listen(64)
while True:
    c, a = s.accept()
    threading.Thread(target=serve, args=(c, a), daemon=True).start()
