"""ICMP sockets across exec (tests/e2e/ping.bats).

  icmp_exec.py parent ADDR4 ADDR6   make a raw ICMP socket and an ICMPv6 echo ("ping") socket,
                                    mark them inheritable and exec this program as the child
  icmp_exec.py child FD4 FD6 ADDR4 ADDR6
                                    with only the fds: print what they are, send an echo request
                                    on each and print the replies
"""
import os
import socket
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def parent(a4, a6):
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    p = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
    for s in (r, p):
        os.set_inheritable(s.fileno(), True)
    os.execv(sys.executable, [sys.executable, __file__, "child", str(r.fileno()), str(p.fileno()), a4, a6])


def child(fd4, fd6, a4, a6):
    r = socket.socket(fileno=int(fd4))
    p = socket.socket(fileno=int(fd6))
    print("raw", r.family.name, r.type.name, r.proto, "ping", p.family.name, p.type.name, p.proto)
    for s in (r, p):
        s.settimeout(5)
    m = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"exec"
    r.sendto(struct.pack("!BBHHH", 8, 0, csum(m), 0x4242, 1) + b"exec", (a4, 0))
    while True:
        d = r.recv(200)
        ih = (d[0] & 15) * 4
        if d[ih] == 0 and d[ih + 4:ih + 6] == b"\x42\x42":
            print("raw reply", d[ih + 8:])
            break
    p.sendto(struct.pack("!BBHHH", 128, 0, 0, 0, 2) + b"exec6", (a6, 0))
    d = p.recv(200)
    print("ping6 reply type", d[0], d[8:])


if __name__ == "__main__":
    if sys.argv[1] == "parent":
        parent(*sys.argv[2:4])
    else:
        child(*sys.argv[2:6])
