#!/usr/bin/env python3
"""UDP helper for the e2e tests: the same program runs on the kernel and under nstack.

  udp_tool.py recv ADDR PORT [IDLE_S]   receive datagrams (SO_RCVBUF 1 MB) until IDLE_S (default
                                        1.5) pass with none after the first; print "N datagrams
                                        B bytes SHA" where SHA hashes every datagram's length
                                        and content
  (recv and send: an IPv6 ADDR, with a colon, makes an AF_INET6 socket)
  udp_tool.py send ADDR PORT COUNT SIZE send COUNT datagrams of SIZE bytes (datagram i is made
                                        of byte i % 256), paced 1 ms apart
  udp_tool.py refused ADDR PORT         connected socket to a closed port: send, recv (2 s
                                        bound), send again; print each step's errno name or "ok"
  udp_tool.py bcast ADDR PORT           sendto a broadcast without, then with SO_BROADCAST
  udp_tool.py resolve NAME [4|6|any] [FLAGS]
                                        getaddrinfo(NAME) -> the IPv4 (IPv6) addresses, sorted;
                                        any (AF_UNSPEC): every address, in getaddrinfo's order;
                                        FLAGS: addrconfig,v4mapped,all (AI_*)
"""
import errno
import hashlib
import socket
import sys
import time


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv(addr, port, idle=1.5):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
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
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    for i in range(int(count)):
        s.sendto(bytes([i % 256]) * int(size), (addr, int(port)))
        time.sleep(0.001)
    print("sent", count, flush=True)


def refused(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, int(port)))
    out = []
    for step in ("send", "recv", "send2", "recv2"):
        try:
            if step.startswith("send"):
                s.send(b"ping")
            else:
                s.settimeout(2)
                s.recv(100)
            out.append(f"{step}:ok")
        except socket.timeout:
            out.append(f"{step}:timeout")
        except OSError as e:
            out.append(f"{step}:{ename(e)}")
    print(" ".join(out))


def bcast(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out = []
    for opt in (0, 1):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, opt)
        try:
            s.sendto(b"hello", (addr, int(port)))
            out.append(f"so_broadcast={opt}:ok")
        except OSError as e:
            out.append(f"so_broadcast={opt}:{ename(e)}")
    print(" ".join(out))


def resolve(name, fam="4", flags=""):
    family = {"4": socket.AF_INET, "6": socket.AF_INET6, "any": socket.AF_UNSPEC}[fam]
    fl = 0
    for f in filter(None, flags.split(",")):
        fl |= {"addrconfig": socket.AI_ADDRCONFIG, "v4mapped": socket.AI_V4MAPPED,
               "all": socket.AI_ALL}[f]
    try:
        addrs = [a[4][0] for a in socket.getaddrinfo(name, 80, family, socket.SOCK_STREAM, 0, fl)]
    except socket.gaierror as e:
        print("gaierror", e.errno)
        return
    print(" ".join(addrs if fam == "any" else sorted(set(addrs))))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"recv": recv, "send": send, "refused": refused, "bcast": bcast, "resolve": resolve}[cmd](*args)
