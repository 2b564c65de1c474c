#!/usr/bin/env python3
"""ipv6_probe.py SRC6 DST6 PORT [TRIES]: does something listen on [DST6]:PORT? The IPv6 twin of
server_probe.py, for listeners that `ss` cannot see (nstack's) and that accept only one
connection (nc -6 -l, socat TCP6-LISTEN): a bare SYN from a raw IPv6 socket (the kernel fills
in the checksum, IPV6_CHECKSUM); a SYN-ACK means listening (our kernel, which has no socket for
it, answers with a RST that returns the half-open connection to LISTEN, so no connection is
used up). Exit 0 when a SYN-ACK came, 1 after TRIES attempts (0.1 s apart) without one."""
import os, socket, struct, sys, time

src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
tries = int(sys.argv[4]) if len(sys.argv) > 4 else 50

s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 16)  # offset of the TCP checksum
s.bind((src, 0))
s.settimeout(0.1)
sport = 40000 + os.getpid() % 20000
for i in range(tries):
    seq = 1000 + i
    s.sendto(struct.pack("!HHIIBBHHH", sport, port, seq, 0, 5 << 4, 0x02, 65535, 0, 0), (dst, 0))
    end = time.time() + 0.1
    while time.time() < end:
        try:
            seg, frm = s.recvfrom(2048)  # an IPv6 raw socket hands over the payload only
        except socket.timeout:
            break
        if frm[0] != dst or len(seg) < 14:
            continue
        sp, dp, _, ack, _, flags = struct.unpack("!HHIIBB", seg[:14])
        if sp != port or dp != sport:
            continue
        # Any SYN-ACK to one of our SYNs: SYNs sent before the stack attached may be answered late.
        if flags & 0x12 == 0x12 and 1001 <= ack <= seq + 1:
            sys.exit(0)
    time.sleep(0.05)
print(f"nothing listens on [{dst}]:{port}", file=sys.stderr)
sys.exit(1)
