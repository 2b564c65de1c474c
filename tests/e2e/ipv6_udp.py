#!/usr/bin/env python3
"""UDP over IPv6 for ipv6.bats: the same program runs on the kernel and under nstack (the IPv6
twin of tests/helpers/udp_tool.py recv/send).

  ipv6_udp.py recv ADDR6 PORT [IDLE_S]    AF_INET6 socket bound to [ADDR6]:PORT; receive until
                                          IDLE_S (default 1.5) pass with none after the first;
                                          print "N datagrams B bytes SHA" (SHA hashes every
                                          datagram's length and content)
  ipv6_udp.py send ADDR6 PORT COUNT SIZE  send COUNT datagrams of SIZE bytes (datagram i is made
                                          of byte i % 256), paced 1 ms apart
"""
import hashlib
import socket
import sys
import time


def recv(addr, port, idle=1.5):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((addr, int(port)))
    print("bound", flush=True)
    h = hashlib.sha256()
    n = total = 0
    s.settimeout(20)  # the first datagram
    while True:
        try:
            d, _ = s.recvfrom(65536)
        except socket.timeout:
            break
        n += 1
        total += len(d)
        h.update(len(d).to_bytes(4, "big"))
        h.update(d)
        s.settimeout(float(idle))
    print(f"{n} datagrams {total} bytes {h.hexdigest()[:16]}", flush=True)


def send(addr, port, count, size):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    for i in range(int(count)):
        s.sendto(bytes([i % 256]) * int(size), (addr, int(port)))
        time.sleep(0.001)
    print("sent", count, flush=True)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"recv": recv, "send": send}[cmd](*args)
