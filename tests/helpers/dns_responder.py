#!/usr/bin/env python3
"""A tiny DNS responder for the e2e lab (RFC 1035, UDP only): A queries for NAME get ADDR,
AAAA queries get ADDR6 when given (RFC 3596), every other query for NAME gets an empty NOERROR
answer (so AAAA lookups end at once), other names get NXDOMAIN. One line per query goes to
stdout: "query <qname> <qtype> from <ip>".

  dns_responder.py BIND_ADDR NAME ADDR [ADDR6]
Runs only inside the lab's namespace, bound to the lab address it is given.
"""
import socket
import struct
import sys


def qname_end(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


def main():
    bind, name, addr = sys.argv[1], sys.argv[2].rstrip(".").lower(), sys.argv[3]
    addr6 = sys.argv[4] if len(sys.argv) > 4 else None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, 53))
    print("listening", flush=True)
    while True:
        msg, peer = s.recvfrom(4096)
        if len(msg) < 12:
            continue
        qid, flags, qd = struct.unpack("!HHH", msg[:6])
        if qd != 1 or flags & 0x8000:
            continue
        qname, off = qname_end(msg, 12)
        qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
        question = msg[12:off + 4]
        print(f"query {qname} {qtype} from {peer[0]}", flush=True)
        rd = flags & 0x0100
        if qname.lower() != name:
            hdr = struct.pack("!HHHHHH", qid, 0x8080 | rd | 3, 1, 0, 0, 0)   # NXDOMAIN
            s.sendto(hdr + question, peer)
            continue
        answers = b""
        if qtype == 1 and qclass == 1:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
        elif qtype == 28 and qclass == 1 and addr6:
            answers = (b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 60, 16) +
                       socket.inet_pton(socket.AF_INET6, addr6))
        hdr = struct.pack("!HHHHHH", qid, 0x8480 | rd, 1, 1 if answers else 0, 0, 0)
        s.sendto(hdr + question + answers, peer)


if __name__ == "__main__":
    main()
