#!/usr/bin/env python3
"""Kernel peer for tests/e2e/posix_proc.bats: accepts connections on ADDR PORT forever;
echoes every byte back and, when a connection ends, prints one line:
    conn N: <bytes received> bytes '<first 40 bytes, escaped>' end=eof|reset
"""
import socket
import sys
import threading

count = 0
lock = threading.Lock()


def serve(conn, n):
    got = b""
    end = "eof"
    try:
        while True:
            d = conn.recv(65536)
            if not d:
                break
            got += d
            conn.sendall(d)
    except ConnectionResetError:
        end = "reset"
    except OSError as e:
        end = "error %s" % e.errno
    with lock:  # one whole line at a time: threads end together
        print("conn %d: %d bytes %r end=%s" % (n, len(got), got[:40].decode(errors="replace"), end),
              flush=True)
    conn.close()


def main():
    global count
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.listen(64)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        with lock:
            count += 1
            n = count
        threading.Thread(target=serve, args=(c, n), daemon=True).start()


main()
