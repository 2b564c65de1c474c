#!/usr/bin/env python3
"""hostile.py: a hostile TCP peer made of crafted frames (scapy), and the small server it talks to.

  hostile.py server ADDR PORT LOG [BACKLOG]
      Accept connections on ADDR:PORT (any python3; runs under nstack or on the kernel), echo
      what arrives, and log one line per event: "accept", "data <text>", "eof",
      "error <ERRNO-NAME>" (LOG "-": no log).
  hostile.py client ADDR PORT SECS
      A legitimate client: every ~10 ms for SECS seconds, connect, send a request, read the
      echo, close; prints JSON {"attempts", "ok", "failed", "errors"}.
  /usr/bin/python3 hostile.py rfc5961 IFACE SRC SRCMAC DST PORT
      RFC 5961 cases on one hand-made connection from SRC (an address nobody else owns on
      the link: we answer ARP for it) to DST:PORT. Prints one JSON object of observations.
  /usr/bin/python3 hostile.py malformed IFACE SRC SRCMAC DST PORT
      Malformed headers and unmatched ICMP errors; prints JSON (which crafted SYNs drew an
      answer, whether a connection stayed usable).

The frames go out with sendp on IFACE and the answers are sniffed there (promiscuous); the
kernel of the namespace ignores the answers (they are addressed to SRCMAC, not to it).
Bounded: every wait has a timeout."""
import json, os, random, socket, struct, sys, threading, time


class NoLog:
    def write(self, s):
        pass


def server(addr, port, log, backlog=8):
    import selectors, errno
    out = open(log, "a", buffering=1) if log != "-" else NoLog()
    ls = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(backlog)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select(timeout=60):
            s = key.fileobj
            if s is ls:
                c, _ = ls.accept()
                out.write("accept\n")
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                b = s.recv(65536)
            except OSError as e:
                out.write("error %s\n" % errno.errorcode.get(e.errno, str(e.errno)))
                sel.unregister(s)
                s.close()
                continue
            if not b:
                out.write("eof\n")
                sel.unregister(s)
                s.close()
                continue
            out.write("data %s\n" % b.decode(errors="replace"))
            try:
                s.send(b)
            except OSError:
                pass


def client(addr, port, secs):
    r = {"attempts": 0, "ok": 0, "failed": 0, "errors": {}}
    end = time.time() + secs
    while time.time() < end:
        r["attempts"] += 1
        req = b"req %d" % r["attempts"]
        try:
            with socket.create_connection((addr, port), timeout=5) as c:
                c.sendall(req)
                got = b""
                while len(got) < len(req):
                    b = c.recv(100)
                    if not b:
                        break
                    got += b
            if got != req:
                raise OSError("short echo %r" % got)
            r["ok"] += 1
        except OSError as e:
            r["failed"] += 1
            k = type(e).__name__
            r["errors"][k] = r["errors"].get(k, 0) + 1
        time.sleep(0.01)
    print(json.dumps(r, sort_keys=True))


# ---- the crafted peer (scapy) ----------------------------------------------------------------

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tcp_raw(src, dst, sport, dport, seq, ack, flags, opts=b"", data=b"", off=None, wnd=65535):
    """A TCP header as bytes, checksummed, with any data offset and raw options."""
    if off is None:
        opts += b"\1" * (-len(opts) % 4)     # NOP padding
        off = (20 + len(opts)) // 4
    elif off * 4 > 20 + len(opts):
        opts += b"\0" * (off * 4 - 20 - len(opts))
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                    (off & 0xf) << 4, flags, wnd, 0, 0) + opts + data
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h))
    c = csum(ph + h)
    return h[:16] + struct.pack("!H", c) + h[18:]


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


class Peer:
    def __init__(self, iface, src, smac, dst, dport):
        from scapy.all import conf, Ether, ARP, srp1, AsyncSniffer, sendp, IP, TCP, Raw
        conf.verb = 0
        self.S = dict(Ether=Ether, ARP=ARP, IP=IP, TCP=TCP, Raw=Raw, sendp=sendp)
        self.iface, self.src, self.smac, self.dst, self.dport = iface, src, smac, dst, dport
        self.lock = threading.Lock()
        self.segs = []          # (time, flags, seq, ack, payload, sport, dport)
        self.sock = conf.L2socket(iface=iface)
        r = None
        for _ in range(20):
            r = srp1(Ether(src=smac, dst="ff:ff:ff:ff:ff:ff") /
                     ARP(op=1, hwsrc=smac, psrc=src, pdst=dst), iface=iface, timeout=0.5)
            if r is not None:
                break
        if r is None:
            raise SystemExit("no ARP answer from %s" % dst)
        self.dmac = r[ARP].hwsrc
        self.sniffer = AsyncSniffer(iface=iface, store=False, prn=self._rx)
        self.sniffer.start()
        time.sleep(0.5)

    def _rx(self, p):
        S = self.S
        if p.haslayer(S["ARP"]):
            a = p[S["ARP"]]
            if a.op == 1 and a.pdst == self.src:
                self.sock.send(S["Ether"](src=self.smac, dst=a.hwsrc) /
                               S["ARP"](op=2, hwsrc=self.smac, psrc=self.src, hwdst=a.hwsrc,
                                        pdst=a.psrc))
            return
        if not p.haslayer(S["TCP"]) or p[S["IP"]].src != self.dst or p[S["IP"]].dst != self.src:
            return
        ip, t = p[S["IP"]], p[S["TCP"]]
        # the payload as the IP length says (Ethernet padding of short frames cut off)
        n = ip.len - ip.ihl * 4 - t.dataofs * 4
        data = bytes(t.payload)[:max(n, 0)]
        with self.lock:
            self.segs.append((time.time(), int(t.flags), t.seq, t.ack, data, t.sport, t.dport))

    def close(self):
        try:
            self.sniffer.stop()
        except Exception:
            pass
        self.sock.close()

    def frame(self, ip_payload, proto=6, **ipkw):
        S = self.S
        return (S["Ether"](src=self.smac, dst=self.dmac) /
                S["IP"](src=self.src, dst=self.dst, proto=proto, **ipkw) / S["Raw"](ip_payload))

    def send_tcp(self, sport, seq, ack, flags, data=b"", opts=b"", off=None, wnd=65535):
        self.sock.send(self.frame(tcp_raw(self.src, self.dst, sport, self.dport, seq, ack, flags,
                                          opts, data, off, wnd)))

    def mark(self):
        with self.lock:
            return len(self.segs)

    def since(self, m, sport):
        with self.lock:
            return [s for s in self.segs[m:] if s[6] == sport]

    def wait(self, m, sport, pred, timeout=2.0):
        end = time.time() + timeout
        while time.time() < end:
            for s in self.since(m, sport):
                if pred(s):
                    return s
            time.sleep(0.01)
        return None


class Conn:
    """One connection made by hand from sport."""
    def __init__(self, peer, sport):
        self.p, self.sport = peer, sport
        self.seq = random.randrange(1 << 31)
        m = peer.mark()
        peer.send_tcp(sport, self.seq, 0, SYN, opts=b"\x02\x04\x05\xb4")
        sa = peer.wait(m, sport, lambda s: s[1] & (SYN | ACK) == SYN | ACK, 3)
        if sa is None:
            raise SystemExit("no SYN-ACK on port %d" % sport)
        self.seq += 1
        self.rcv = (sa[2] + 1) & 0xffffffff
        self.una = self.rcv     # the server's next sequence number
        peer.send_tcp(sport, self.seq, self.rcv, ACK)

    def send(self, data, ack=None):
        """data with PSH; returns the echo (bytes) seen within 2 s, or None."""
        m = self.p.mark()
        self.p.send_tcp(self.sport, self.seq, self.rcv if ack is None else ack, PSH | ACK, data)
        e = self.p.wait(m, self.sport, lambda s: len(s[4]) > 0, 2.0)
        if e is None:
            return None
        if e[3] == (self.seq + len(data)) & 0xffffffff:
            self.seq = (self.seq + len(data)) & 0xffffffff
        self.rcv = (e[2] + len(e[4])) & 0xffffffff
        self.p.send_tcp(self.sport, self.seq, self.rcv, ACK)
        return e[4]

    def acks_after(self, m):
        return [s for s in self.p.since(m, self.sport) if s[1] & 0x3f == ACK and not s[4]]


def rfc5961(peer):
    r = {}
    c = Conn(peer, random.randrange(20000, 30000))
    r["echo_first"] = (c.send(b"one") or b"").decode()
    time.sleep(0.6)
    # RFC 5961 3.2: RST in the window but not at RCV.NXT: a challenge ACK, nothing reset
    m = peer.mark()
    peer.send_tcp(c.sport, c.seq + 100, 0, RST)
    a = peer.wait(m, c.sport, lambda s: s[1] & 0x3f == ACK, 1.5)
    r["rst_inexact_challenge"] = a is not None and a[3] == c.seq
    time.sleep(0.6)
    # RFC 5961 4.2: SYN on an established connection: a challenge ACK
    m = peer.mark()
    peer.send_tcp(c.sport, random.randrange(1 << 31), 0, SYN, opts=b"\x02\x04\x05\xb4")
    a = peer.wait(m, c.sport, lambda s: s[1] & 0x3f == ACK, 1.5)
    r["syn_challenge"] = a is not None and a[3] == c.seq
    time.sleep(0.6)
    r["echo_after"] = (c.send(b"two") or b"").decode()
    time.sleep(0.6)
    # RFC 5961 5.2: data whose ACK is older than SND.UNA - MAX.SND.WND: not taken, challenged
    m = peer.mark()
    old = (c.rcv - (1 << 24)) & 0xffffffff
    peer.send_tcp(c.sport, c.seq, old, PSH | ACK, b"old")
    time.sleep(1.0)
    got = peer.since(m, c.sport)
    r["old_ack_delivered"] = any(len(s[4]) > 0 for s in got)
    r["old_ack_challenge"] = any(s[1] & 0x3f == ACK and s[3] == c.seq for s in got)
    time.sleep(0.6)
    # data acknowledging what was never sent: not taken (the kernel drops it silently)
    m = peer.mark()
    peer.send_tcp(c.sport, c.seq, (c.rcv + (1 << 20)) & 0xffffffff, PSH | ACK, b"future")
    time.sleep(1.0)
    r["future_ack_delivered"] = any(len(s[4]) > 0 for s in peer.since(m, c.sport))
    time.sleep(0.6)
    # RFC 5961 7: 2000 blind RSTs in a burst draw a handful of challenge ACKs
    S = peer.S
    burst = [peer.frame(tcp_raw(peer.src, peer.dst, c.sport, peer.dport,
                                c.seq + 1 + random.randrange(1, 30000), 0, RST))
             for _ in range(2000)]
    m = peer.mark()
    t0 = time.time()
    for f in burst:
        peer.sock.send(f)
    r["burst_s"] = round(time.time() - t0, 3)
    time.sleep(1.0)
    r["burst_acks"] = len(c.acks_after(m))
    time.sleep(0.6)
    r["echo_after_burst"] = (c.send(b"three") or b"").decode()
    # the exact RST ends it: the server reads ECONNRESET
    peer.send_tcp(c.sport, c.seq, 0, RST)
    time.sleep(0.5)
    return r


def malformed(peer):
    r = {}
    syn_mss = b"\x02\x04\x05\xb4"
    S = peer.S

    def answered(build, sport, timeout=1.0):
        m = peer.mark()
        peer.sock.send(build(sport))
        return peer.wait(m, sport, lambda s: True, timeout) is not None

    def syn(sport, **kw):
        return tcp_raw(peer.src, peer.dst, sport, peer.dport, 1000, 0, SYN, **kw)

    def ip_opts_frame(l4):
        """IPv4 with 4 option bytes (NOP NOP NOP EOL), built by hand."""
        h = struct.pack("!BBHHHBBH4s4s", 0x46, 0, 24 + len(l4), random.randrange(1 << 16), 0,
                        64, 6, 0, socket.inet_aton(peer.src), socket.inet_aton(peer.dst))
        h += b"\x01\x01\x01\x00"
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        return S["Ether"](src=peer.smac, dst=peer.dmac, type=0x0800) / S["Raw"](h + l4)

    base = random.randrange(30000, 40000)
    cases = {
        "doff_4": lambda sp: peer.frame(syn(sp, off=4)),
        "doff_15": lambda sp: peer.frame(syn(sp, opts=syn_mss, off=15)[:24]),
        "optlen_0": lambda sp: peer.frame(syn(sp, opts=syn_mss + b"\x4c\x00\x01\x01")),
        "optlen_1": lambda sp: peer.frame(syn(sp, opts=syn_mss + b"\x4c\x01\x01\x01")),
        "optlen_long": lambda sp: peer.frame(syn(sp, opts=syn_mss + b"\x08\x0a\x00\x00")),
        "truncated": lambda sp: peer.frame(syn(sp, opts=syn_mss), len=120),
        "ihl_4": lambda sp: peer.frame(syn(sp, opts=syn_mss), ihl=4),
        "ip_options": lambda sp: ip_opts_frame(syn(sp, opts=syn_mss)),
        "good": lambda sp: peer.frame(syn(sp, opts=syn_mss)),
    }
    for i, (name, build) in enumerate(cases.items()):
        r[name] = answered(build, base + i)
        if r[name]:     # a SYN-ACK: let the half-open child go
            peer.send_tcp(base + i, 1001, 0, RST)
    # overlapping fragments of one UDP datagram (RFC 5722: the datagram is dropped)
    ident = random.randrange(1 << 16)
    udp = struct.pack("!HHHH", 5555, 5556, 8 + 32, 0) + b"x" * 32
    peer.sock.send(peer.frame(udp[:24], proto=17, id=ident, flags="MF", frag=0))
    peer.sock.send(peer.frame(udp[8:40], proto=17, id=ident, flags=0, frag=1))
    # ICMP errors that match nothing: an unknown 4-tuple, and a sequence number outside
    # SND.UNA..SND.NXT of a live connection (RFC 5927 4.1); neither changes anything
    c = Conn(peer, base + 50)
    r["echo_before_icmp"] = (c.send(b"ping") or b"").decode()

    def icmp_err(code, sport, dport, seq, mtu=0):
        quoted = (struct.pack("!BBHHHBBH4s4s", 0x45, 0, 60, 1, 0x4000, 64, 6, 0,
                              socket.inet_aton(peer.dst), socket.inet_aton(peer.src)) +
                  struct.pack("!HHI", sport, dport, seq & 0xffffffff))
        h = struct.pack("!BBHHH", 3, code, 0, 0, mtu) + quoted
        h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
        peer.sock.send(peer.frame(h, proto=1))

    icmp_err(3, peer.dport, 9, 12345)
    icmp_err(4, peer.dport, c.sport, c.rcv + (1 << 30), mtu=576)
    icmp_err(1, peer.dport, c.sport, c.rcv - (1 << 30))
    time.sleep(0.3)
    r["echo_after_icmp"] = (c.send(b"pong") or b"").decode()
    peer.send_tcp(c.sport, c.seq, 0, RST)
    time.sleep(0.3)
    return r


def main():
    mode = sys.argv[1]
    if mode == "server":
        server(sys.argv[2], int(sys.argv[3]), sys.argv[4],
               int(sys.argv[5]) if len(sys.argv) > 5 else 8)
        return
    if mode == "client":
        client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return
    iface, src, smac, dst, port = sys.argv[2:7]
    peer = Peer(iface, src, smac, dst, int(port))
    try:
        r = rfc5961(peer) if mode == "rfc5961" else malformed(peer)
    finally:
        peer.close()
    print(json.dumps(r, sort_keys=True))


if __name__ == "__main__":
    main()
