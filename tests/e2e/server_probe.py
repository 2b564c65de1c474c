#!/usr/bin/env python3
"""server_probe.py SRC DST PORT [TRIES]: does something listen on DST:PORT? For listeners that
`ss` cannot see (nstack's) and that accept only one connection (nc -l, socat): a bare SYN
from a raw socket; a SYN-ACK means listening (our kernel, which has no socket for it, answers
with a RST that returns the half-open connection to LISTEN, so no connection is used up).
Exit 0 when a SYN-ACK came, 1 after TRIES attempts (0.1 s apart) without one."""
import os, socket, struct, sys, time

src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
tries = int(sys.argv[4]) if len(sys.argv) > 4 else 50

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.settimeout(0.1)
sport = 40000 + os.getpid() % 20000
for i in range(tries):
    seq = 1000 + i
    hdr = struct.pack("!HHIIBBHHH", sport, port, seq, 0, 5 << 4, 0x02, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
    s.sendto(hdr, (dst, 0))
    end = time.time() + 0.1
    while time.time() < end:
        try:
            pkt = s.recv(2048)
        except socket.timeout:
            break
        ihl = (pkt[0] & 0x0f) * 4
        if socket.inet_ntoa(pkt[12:16]) != dst:
            continue
        sp, dp, _, ack, _, flags = struct.unpack("!HHIIBB", pkt[ihl:ihl + 14])
        if sp != port or dp != sport:
            continue
        # Any SYN-ACK to one of our SYNs means a listener: SYNs sent before the stack
        # attached reach it in a burst, so replies may lag behind the newest SYN.
        if flags & 0x12 == 0x12 and 1001 <= ack <= seq + 1:
            sys.exit(0)
        # a RST (nothing listens yet) or a stale reply: keep reading until the timeout
    time.sleep(0.05)
print(f"nothing listens on {dst}:{port}", file=sys.stderr)
sys.exit(1)
