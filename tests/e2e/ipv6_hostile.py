#!/usr/bin/env python3
"""ipv6_hostile.py: the programs of tests/e2e/ipv6_rel.bats: a hostile IPv6 peer made of crafted
frames (scapy), forged Neighbor Discovery messages, and the small programs they are aimed at.

  ipv6_hostile.py server ADDR6 PORT LOG
      TCP echo server on [ADDR6]:PORT (runs under nstack or on the kernel); one log line per
      event: "accept", "data <text>", "eof", "error <ERRNO-NAME>".
  ipv6_hostile.py udpecho ADDR6 PORT
      UDP echo server (the kernel side of the Neighbor Discovery test).
  ipv6_hostile.py driver DIR
      Runs under nstack and keeps its stack alive while the test acts on it: executes the
      command files DIR/cmd.N in order, answering each in DIR/res.N:
        udp HOST PORT   one datagram to a UDP echo server: "ok" or "timeout" (0.7 s)
        tcp HOST PORT   connect (3 s): "local <address the connection got>" or "error <E>"
        quit
  ipv6_hostile.py sink ADDR6 PORT
      Accepts connections one after the other; prints "<peer> <bytes> <sha256>" for each.
  ipv6_hostile.py upload ADDR6 PORT FILE HOLD
      Sends FILE, prints "sent maxseg=<TCP_MAXSEG>", holds the connection HOLD seconds (for
      `nstack ss -i`), shuts it down, waits for the server's EOF, prints "done".
  /usr/bin/python3 ipv6_hostile.py rfc5961 IFACE SRC6 SRCMAC DST6 PORT
      RFC 5961 cases and malformed IPv6 frames on one connection made by hand from SRC6 (an
      address nobody else owns on the link: we answer Neighbor Solicitations for it) to
      [DST6]:PORT. Prints one JSON object of observations.
  /usr/bin/python3 ipv6_hostile.py na IFACE ETHDST IPDST TARGET TLLA HOPLIMIT FLAGS
      One Neighbor Advertisement (FLAGS: letters of R, S, O) from fe80::66.
  /usr/bin/python3 ipv6_hostile.py ra IFACE SRC6 SRCMAC HOPLIMIT LIFETIME
      One Router Advertisement to ff02::1 with a Source Link-Layer Address option.

The frames go out on IFACE (an AF_PACKET socket) and the answers are sniffed there
(promiscuous); the kernel of the namespace ignores the answers (addressed to SRCMAC, not to it).
Every wait is bounded."""
import errno, hashlib, ipaddress, json, os, random, socket, struct, sys, threading, time


def norm(a):
    return str(ipaddress.ip_address(a))


# ---- the programs under test ------------------------------------------------------------

def server(addr, port, log):
    """tests/helpers/hostile.py's echo server (it takes either family)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
    import hostile
    hostile.server(addr, port, log)


def udpecho(addr, port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("bound", flush=True)
    while True:
        b, frm = s.recvfrom(2048)
        s.sendto(b, frm)


def driver(d):
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)   # starts the stack
    u.settimeout(0.7)
    print("ready", flush=True)
    n = 0
    end = time.time() + 600
    while time.time() < end:
        f = os.path.join(d, "cmd.%d" % n)
        if not os.path.exists(f):
            time.sleep(0.02)
            continue
        cmd = open(f).read().split()
        res = "?"
        if cmd[0] == "udp":
            u.sendto(b"ping %d" % n, (cmd[1], int(cmd[2])))
            res = "timeout"
            t = time.time() + 0.7
            while time.time() < t:
                try:
                    b, _ = u.recvfrom(2048)
                except socket.timeout:
                    break
                if b == b"ping %d" % n:
                    res = "ok"
                    break
        elif cmd[0] == "tcp":
            try:
                with socket.create_connection((cmd[1], int(cmd[2])), timeout=3) as c:
                    res = "local %s" % norm(c.getsockname()[0])
            except OSError as e:
                res = "error %s" % (errno.errorcode.get(e.errno, type(e).__name__) if e.errno else type(e).__name__)
        elif cmd[0] == "quit":
            res = "bye"
        tmp = os.path.join(d, "res.%d.tmp" % n)
        with open(tmp, "w") as o:
            o.write(res + "\n")
        os.rename(tmp, os.path.join(d, "res.%d" % n))
        n += 1
        if cmd[0] == "quit":
            return


def sink(addr, port):
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(4)
    print("listening", flush=True)
    while True:
        c, peer = ls.accept()
        h, n = hashlib.sha256(), 0
        c.settimeout(120)
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            h.update(b)
            n += len(b)
        c.close()
        print("%s %d %s" % (norm(peer[0]), n, h.hexdigest()), flush=True)


def upload(addr, port, path, hold):
    data = open(path, "rb").read()
    c = socket.create_connection((addr, port), timeout=60)
    c.sendall(data)
    print("sent maxseg=%d" % c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), flush=True)
    time.sleep(hold)
    c.shutdown(socket.SHUT_WR)
    while c.recv(100):
        pass
    c.close()
    print("done", flush=True)


# ---- the crafted peer (scapy) -----------------------------------------------------------

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tcp6_raw(src, dst, sport, dport, seq, ack, flags, opts=b"", data=b"", wnd=65535, bad_csum=False):
    """A TCP header and data as bytes, checksummed over the IPv6 pseudo-header (RFC 8200 8.1)."""
    opts += b"\1" * (-len(opts) % 4)
    off = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                    off << 4, flags, wnd, 0, 0) + opts + data
    ph = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
          struct.pack("!IxxxB", len(h), 6))
    c = csum(ph + h)
    if bad_csum:
        c ^= 0x5a5a
    return h[:16] + struct.pack("!H", c) + h[18:]


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def scapy_names():
    # the modules needed, not scapy.all (a second less at each start)
    from scapy.config import conf
    from scapy.layers.l2 import Ether
    from scapy.layers.inet import TCP
    from scapy.layers.inet6 import (IPv6, ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6ND_RA,
                                    ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr)
    from scapy.packet import Raw
    from scapy.sendrecv import AsyncSniffer
    conf.verb = 0
    return dict(conf=conf, Ether=Ether, IPv6=IPv6, Raw=Raw, AsyncSniffer=AsyncSniffer,
                NS=ICMPv6ND_NS, NA=ICMPv6ND_NA, RA=ICMPv6ND_RA, SLLA=ICMPv6NDOptSrcLLAddr,
                TLLA=ICMPv6NDOptDstLLAddr, TCP=TCP)


def solicited_node(a):
    b = socket.inet_pton(socket.AF_INET6, a)
    g = "ff02::1:ff%02x:%02x%02x" % (b[13], b[14], b[15])
    mac = "33:33:ff:%02x:%02x:%02x" % (b[13], b[14], b[15])
    return g, mac


class Peer6:
    def __init__(self, iface, src, smac, dst, dport):
        self.S = S = scapy_names()
        self.iface, self.src, self.smac, self.dst, self.dport = iface, norm(src), smac, norm(dst), dport
        self.lock = threading.Lock()
        self.segs = []          # (time, flags, seq, ack, payload, sport, dport)
        self.dmac = None
        self.sock = S["conf"].L2socket(iface=iface)
        self.sniffer = S["AsyncSniffer"](iface=iface, store=False, prn=self._rx)
        self.sniffer.start()
        time.sleep(0.5)
        g, gmac = solicited_node(self.dst)
        for _ in range(20):
            self.sock.send(S["Ether"](src=smac, dst=gmac) /
                           S["IPv6"](src=self.src, dst=g, hlim=255) / S["NS"](tgt=self.dst) /
                           S["SLLA"](lladdr=smac))
            t = time.time() + 0.5
            while self.dmac is None and time.time() < t:
                time.sleep(0.02)
            if self.dmac:
                break
        if self.dmac is None:
            raise SystemExit("no Neighbor Advertisement from %s" % self.dst)

    def _rx(self, p):
        S = self.S
        if not p.haslayer(S["IPv6"]):
            return
        ip = p[S["IPv6"]]
        if p.haslayer(S["NS"]):
            ns = p[S["NS"]]
            if norm(ns.tgt) == self.src and norm(ip.src) != "::":
                self.sock.send(S["Ether"](src=self.smac, dst=p[S["Ether"]].src) /
                               S["IPv6"](src=self.src, dst=ip.src, hlim=255) /
                               S["NA"](tgt=self.src, R=0, S=1, O=1) / S["TLLA"](lladdr=self.smac))
            return
        if p.haslayer(S["NA"]):
            if norm(p[S["NA"]].tgt) == self.dst and norm(ip.src) == self.dst and self.dmac is None:
                self.dmac = p[S["Ether"]].src
            return
        if ip.nh != 6 or norm(ip.src) != self.dst or norm(ip.dst) != self.src:
            return
        t = p[S["TCP"]]
        n = ip.plen - t.dataofs * 4
        data = bytes(t.payload)[:max(n, 0)]
        with self.lock:
            self.segs.append((time.time(), int(t.flags), t.seq, t.ack, data, t.sport, t.dport))

    def close(self):
        try:
            self.sniffer.stop()
        except Exception:
            pass
        self.sock.close()

    def frame(self, payload, nh=6, **ipkw):
        S = self.S
        return (S["Ether"](src=self.smac, dst=self.dmac) /
                S["IPv6"](src=self.src, dst=self.dst, nh=nh, hlim=64, **ipkw) / S["Raw"](payload))

    def tcp(self, sport, seq, ack, flags, data=b"", opts=b"", bad_csum=False):
        return tcp6_raw(self.src, self.dst, sport, self.dport, seq, ack, flags, opts, data,
                        bad_csum=bad_csum)

    def send_tcp(self, sport, seq, ack, flags, data=b"", opts=b""):
        self.sock.send(self.frame(self.tcp(sport, seq, ack, flags, data, opts)))

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
        peer.send_tcp(sport, self.seq, 0, SYN, opts=b"\x02\x04\x05\xa0")   # MSS 1440
        sa = peer.wait(m, sport, lambda s: s[1] & (SYN | ACK) == SYN | ACK, 3)
        if sa is None:
            raise SystemExit("no SYN-ACK on port %d" % sport)
        self.seq += 1
        self.rcv = (sa[2] + 1) & 0xffffffff
        peer.send_tcp(sport, self.seq, self.rcv, ACK)

    def send(self, data, frame=None):
        """data with PSH (or the frame given); returns the echo seen within 2 s, or None."""
        m = self.p.mark()
        self.p.sock.send(frame if frame is not None else
                         self.p.frame(self.p.tcp(self.sport, self.seq, self.rcv, PSH | ACK, data)))
        e = self.p.wait(m, self.sport, lambda s: len(s[4]) > 0, 2.0)
        if e is None:
            return None
        if e[3] == (self.seq + len(data)) & 0xffffffff:
            self.seq = (self.seq + len(data)) & 0xffffffff
        self.rcv = (e[2] + len(e[4])) & 0xffffffff
        self.p.send_tcp(self.sport, self.seq, self.rcv, ACK)
        return e[4]

    def quiet(self, frame, secs=1.0):
        """Send a frame; what came back on this connection within secs."""
        m = self.p.mark()
        self.p.sock.send(frame)
        time.sleep(secs)
        return self.p.since(m, self.sport)


def is_ack_of(seq):
    return lambda s: s[1] & 0x3f == ACK and not s[4] and s[3] == seq


def rfc5961(peer):
    r = {}
    P = peer
    c = Conn(P, random.randrange(20000, 30000))
    r["echo_first"] = (c.send(b"one") or b"").decode()
    gap = 0.6   # > the 500 ms per-connection limit on ACKs to invalid segments (both stacks)
    time.sleep(gap)
    # RFC 5961 3.2: an RST in the window but not at RCV.NXT: a challenge ACK, nothing reset
    got = c.quiet(P.frame(P.tcp(c.sport, c.seq + 100, 0, RST)))
    r["rst_inexact_challenge"] = any(is_ack_of(c.seq)(s) for s in got)
    time.sleep(gap)
    # RFC 9293 3.10.7.4: an RST outside the window: ignored, no answer
    got = c.quiet(P.frame(P.tcp(c.sport, c.seq + (1 << 30), 0, RST)))
    r["rst_oow_answered"] = len(got) > 0
    time.sleep(gap)
    # RFC 5961 4.2: a SYN on an established connection: a challenge ACK
    got = c.quiet(P.frame(P.tcp(c.sport, random.randrange(1 << 31), 0, SYN,
                                opts=b"\x02\x04\x05\xa0")))
    r["syn_challenge"] = any(is_ack_of(c.seq)(s) for s in got)
    time.sleep(gap)
    r["echo_after_rst_syn"] = (c.send(b"two") or b"").decode()
    time.sleep(gap)
    # RFC 5961 5.2: data whose ACK is older than SND.UNA - MAX.SND.WND: not taken, challenged
    got = c.quiet(P.frame(P.tcp(c.sport, c.seq, c.rcv - (1 << 24), PSH | ACK, b"old")))
    r["old_ack_delivered"] = any(len(s[4]) > 0 for s in got)
    r["old_ack_challenge"] = any(is_ack_of(c.seq)(s) for s in got)
    time.sleep(gap)
    # data acknowledging what was never sent (SEG.ACK > SND.NXT): not taken
    got = c.quiet(P.frame(P.tcp(c.sport, c.seq, c.rcv + (1 << 20), PSH | ACK, b"future")))
    r["future_ack_delivered"] = any(len(s[4]) > 0 for s in got)
    r["future_ack_answered"] = any(is_ack_of(c.seq)(s) for s in got)
    time.sleep(gap)
    r["echo_after_acks"] = (c.send(b"three") or b"").decode()
    # malformed IPv6 frames carrying in-window data: a stack that took them would echo
    seg = P.tcp(c.sport, c.seq, c.rcv, PSH | ACK, b"bad")
    # payload length beyond the frame (RFC 8200 3: the frame holds fewer bytes than it says)
    got = c.quiet(P.frame(seg, plen=len(seg) + 64))
    r["plen_long_delivered"] = any(len(s[4]) > 0 for s in got)
    # a TCP checksum error
    got = c.quiet(P.frame(P.tcp(c.sport, c.seq, c.rcv, PSH | ACK, b"bad", bad_csum=True)))
    r["bad_csum_delivered"] = any(len(s[4]) > 0 for s in got)
    # a Destination Options header whose length (6: 56 bytes) runs past the packet's end
    trunc = bytes([6, 6]) + b"\x01\x04\0\0\0\0" + seg
    got = c.quiet(P.frame(trunc, nh=60))
    r["exthdr_trunc_delivered"] = any(len(s[4]) > 0 for s in got)
    # a Hop-by-Hop header cut short: 4 bytes of payload
    got = c.quiet(P.frame(bytes([6, 0, 1, 0]), nh=0), 0.3)
    r["hbh_short_answered"] = len(got) > 0
    # the control: the same data behind a well-formed Destination Options header is taken
    ok = bytes([6, 0]) + b"\x01\x04\0\0\0\0" + P.tcp(c.sport, c.seq, c.rcv, PSH | ACK, b"dst")
    r["dstopts_echo"] = (c.send(b"dst", frame=P.frame(ok, nh=60)) or b"").decode()
    time.sleep(0.2)
    r["echo_after_malformed"] = (c.send(b"four") or b"").decode()
    # the exact RST ends it: the server reads ECONNRESET
    P.send_tcp(c.sport, c.seq, 0, RST)
    time.sleep(0.5)
    return r


# ---- forged Neighbor Discovery ----------------------------------------------------------

def send_na(iface, ethdst, ipdst, target, tlla, hlim, flags):
    S = scapy_names()
    f = (S["Ether"](src="02:00:5e:00:00:66", dst=ethdst) /
         S["IPv6"](src="fe80::66", dst=ipdst, hlim=int(hlim)) /
         S["NA"](tgt=target, R=int("R" in flags), S=int("S" in flags), O=int("O" in flags)) /
         S["TLLA"](lladdr=tlla))
    s = S["conf"].L2socket(iface=iface)
    s.send(f)
    s.close()


def send_ra(iface, src, smac, hlim, lifetime):
    S = scapy_names()
    f = (S["Ether"](src=smac, dst="33:33:00:00:00:01") /
         S["IPv6"](src=src, dst="ff02::1", hlim=int(hlim)) /
         S["RA"](chlim=64, routerlifetime=int(lifetime)) / S["SLLA"](lladdr=smac))
    s = S["conf"].L2socket(iface=iface)
    s.send(f)
    s.close()


def main():
    mode, a = sys.argv[1], sys.argv[2:]
    if mode == "server":
        server(a[0], int(a[1]), a[2])
    elif mode == "udpecho":
        udpecho(a[0], int(a[1]))
    elif mode == "driver":
        driver(a[0])
    elif mode == "sink":
        sink(a[0], int(a[1]))
    elif mode == "upload":
        upload(a[0], int(a[1]), a[2], float(a[3]))
    elif mode == "na":
        send_na(*a)
    elif mode == "ra":
        send_ra(*a)
    elif mode == "rfc5961":
        peer = Peer6(a[0], a[1], a[2], a[3], int(a[4]))
        try:
            r = rfc5961(peer)
        finally:
            peer.close()
        print(json.dumps(r, sort_keys=True))
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
