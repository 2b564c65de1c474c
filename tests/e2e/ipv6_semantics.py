#!/usr/bin/env python3
"""AF_INET6 socket semantics, the same program on the kernel and under nstack (ipv6.bats).

  ipv6_semantics.py LOCAL4 LOCAL6 PEER4 PEER6 PEER-PREFIX...

The stack under test owns LOCAL4 / LOCAL6 (its only addresses besides loopback). The other end
of every scenario is a kernel "peer", this same file run as `PEER-PREFIX... python3 THIS peer`
(e.g. `ip netns exec NS`) without LD_PRELOAD or NSTACK_* in its environment, bound to
PEER4 / PEER6 and driven line by line over a pipe (JSON). Every line printed is
"what: result", with the addresses replaced by L4 L6 P4 P6, ports that are not fixed by the
script by "eph" (or "eph=same" when it is the port the other end reported or saw) and
errors by their errno names, so the kernel's output and nstack's can be compared as text.
"""
import ctypes
import errno
import json
import os
import socket
import struct
import subprocess
import sys

IPPROTO_IPV6 = socket.IPPROTO_IPV6
V6ONLY = socket.IPV6_V6ONLY
FIXED = set(range(9400, 9460))


def ename(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    return errno.errorcode.get(e.errno, str(e.errno))


# ---- the peer (a kernel process on the other side) -----------------------------------------

def peer():
    socks = []
    state = {}

    def fam(f):
        return socket.AF_INET6 if f == 6 else socket.AF_INET

    def connect(f, src, dst, port):
        s = socket.socket(fam(f), socket.SOCK_STREAM)
        socks.append(s)
        s.bind((src, 0))
        s.settimeout(3)
        s.connect((dst, port))
        state["conn"] = s
        return {"port": s.getsockname()[1], "peer": list(s.getpeername()[:2])}

    def listen(f, addr, port):
        s = socket.socket(fam(f), socket.SOCK_STREAM)
        socks.append(s)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(8)
        state["lsn"] = s
        return {}

    def accept():
        state["lsn"].settimeout(3)
        c, a = state["lsn"].accept()
        socks.append(c)
        state["conn"] = c
        return {"from": list(a[:2])}

    def echo(n):
        """Read n bytes from the last connection, send them back."""
        c = state["conn"]
        c.settimeout(3)
        buf = b""
        while len(buf) < n:
            d = c.recv(n - len(buf))
            if not d:
                break
            buf += d
        c.sendall(buf)
        return {"n": len(buf)}

    def udp_bind(f, addr, port):
        s = socket.socket(fam(f), socket.SOCK_DGRAM)
        socks.append(s)
        if f == 6:
            s.setsockopt(IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            s.setsockopt(IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
        s.bind((addr, port))
        state["udp"] = s
        return {"port": s.getsockname()[1]}

    def udp_recv():
        s = state["udp"]
        s.settimeout(3)
        data, anc, _, a = s.recvmsg(65536, 256)
        r = {"data": data.decode(), "from": list(a[:2])}
        for lvl, typ, val in anc:
            if lvl == IPPROTO_IPV6 and typ == socket.IPV6_HOPLIMIT:
                r["hops"] = struct.unpack("=i", val[:4])[0]
            if lvl == IPPROTO_IPV6 and typ == socket.IPV6_TCLASS:
                r["tclass"] = struct.unpack("=i", val[:4])[0]
        return r

    def udp_send(f, src, dst, port, data):
        s = socket.socket(fam(f), socket.SOCK_DGRAM)
        socks.append(s)
        s.bind((src, 0))
        s.sendto(data.encode(), (dst, port))
        return {"port": s.getsockname()[1]}

    def close():
        for s in socks:
            s.close()
        socks.clear()
        state.clear()
        return {}

    cmds = {"connect": connect, "listen": listen, "accept": accept, "echo": echo,
            "udp_bind": udp_bind, "udp_recv": udp_recv, "udp_send": udp_send, "close": close}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            r = cmds[req[0]](*req[1:])
        except (OSError, socket.timeout) as e:
            r = {"err": ename(e)}
        print(json.dumps(r), flush=True)


# ---- the stack under test ------------------------------------------------------------------

class Peer:
    def __init__(self, prefix):
        env = {k: v for k, v in os.environ.items()
               if k != "LD_PRELOAD" and not k.startswith("NSTACK_")}
        self.p = subprocess.Popen(prefix + [sys.executable, os.path.abspath(__file__), "peer"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                  text=True)

    def __call__(self, *req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit("the peer exited")
        return json.loads(line)

    def end(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def main():
    L4, L6, P4, P6 = sys.argv[1:5]
    peer_cmd = Peer(sys.argv[5:])
    names = {L4: "L4", L6: "L6", P4: "P4", P6: "P6",
             "::ffff:" + L4: "::ffff:L4", "::ffff:" + P4: "::ffff:P4"}
    last_peer_port = [None]

    def A(a):
        return names.get(a, a)

    def port(p):
        if p == 0 or p in FIXED:
            return str(p)
        return "eph=same" if p == last_peer_port[0] else "eph"

    def S(t):
        return "(" + ", ".join([A(t[0]), port(t[1])] + [str(x) for x in t[2:]]) + ")"

    def out(what, fn):
        try:
            r = fn()
        except (OSError, socket.timeout) as e:
            r = ename(e)
        print(f"{what}: {r}", flush=True)

    def P(*req):
        """A peer request; its result as text (addresses and ports normalised)."""
        r = peer_cmd(*req)
        if "port" in r:
            last_peer_port[0] = r["port"]
        if "err" in r:
            return r["err"]
        parts = []
        for k in sorted(r):
            v = r[k]
            if k == "port":
                continue
            if isinstance(v, list):
                v = S(v)
            parts.append(f"{k}={v}")
        return " ".join(parts) or "ok"

    def sock6(t=socket.SOCK_STREAM, v6only=None):
        s = socket.socket(socket.AF_INET6, t)
        if v6only is not None:
            s.setsockopt(IPPROTO_IPV6, V6ONLY, v6only)
        return s

    def gso(s, opt, level=IPPROTO_IPV6):
        return s.getsockopt(level, opt)

    libc = ctypes.CDLL(None, use_errno=True)

    def sin(addr, p):
        return struct.pack("=H", socket.AF_INET) + struct.pack("!H", p) + socket.inet_aton(addr) + bytes(8)

    def ccall(fn, s, sa):
        """bind or connect with a raw sockaddr (one Python cannot pass to this family)."""
        b = ctypes.create_string_buffer(sa, len(sa))
        r = fn(s.fileno(), b, len(sa))
        if r < 0:
            return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
        return f"ok {r}"

    # -- identity, defaults, options --------------------------------------------------------
    t6, u6 = sock6(), sock6(socket.SOCK_DGRAM)
    for name, s in (("tcp6", t6), ("udp6", u6)):
        out(f"{name} SO_DOMAIN SO_TYPE SO_PROTOCOL", lambda: (
            gso(s, socket.SO_DOMAIN, socket.SOL_SOCKET), gso(s, socket.SO_TYPE, socket.SOL_SOCKET),
            gso(s, socket.SO_PROTOCOL, socket.SOL_SOCKET)))
        out(f"{name} IPV6_V6ONLY default", lambda: gso(s, V6ONLY))
        out(f"{name} getsockname unbound", lambda: S(s.getsockname()))
        out(f"{name} IPV6_UNICAST_HOPS default", lambda: gso(s, socket.IPV6_UNICAST_HOPS))
        out(f"{name} IPV6_UNICAST_HOPS set 7", lambda: (
            s.setsockopt(IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 7), gso(s, socket.IPV6_UNICAST_HOPS))[1])
        out(f"{name} IPV6_UNICAST_HOPS set -1", lambda: (
            s.setsockopt(IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, -1), gso(s, socket.IPV6_UNICAST_HOPS))[1])
        out(f"{name} IPV6_UNICAST_HOPS set 256", lambda: s.setsockopt(IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 256))
        out(f"{name} IPV6_TCLASS default", lambda: gso(s, socket.IPV6_TCLASS))
        out(f"{name} IPV6_TCLASS set 0x20", lambda: (
            s.setsockopt(IPPROTO_IPV6, socket.IPV6_TCLASS, 0x20), gso(s, socket.IPV6_TCLASS))[1])
        out(f"{name} IPV6_V6ONLY set 1 before bind", lambda: (
            s.setsockopt(IPPROTO_IPV6, V6ONLY, 1), gso(s, V6ONLY))[1])
        out(f"{name} IPV6_V6ONLY set 0 before bind", lambda: (
            s.setsockopt(IPPROTO_IPV6, V6ONLY, 0), gso(s, V6ONLY))[1])
        out(f"{name} bind (::, 0) getsockname", lambda: (s.bind(("::", 0)), S(s.getsockname()))[1])
        out(f"{name} IPV6_V6ONLY set after bind", lambda: s.setsockopt(IPPROTO_IPV6, V6ONLY, 1))
        out(f"{name} IPV6_V6ONLY after the failed set", lambda: gso(s, V6ONLY))
        s.close()
    t4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    out("tcp4 IPV6_V6ONLY get", lambda: gso(t4, V6ONLY))
    out("tcp4 IPV6_V6ONLY set", lambda: t4.setsockopt(IPPROTO_IPV6, V6ONLY, 1))
    t4.close()

    # -- bind --------------------------------------------------------------------------------
    for name, ty in (("tcp6", socket.SOCK_STREAM), ("udp6", socket.SOCK_DGRAM)):
        s = sock6(ty, 1)
        out(f"{name} V6ONLY=1 bind ::ffff:L4", lambda: s.bind(("::ffff:" + L4, 9400)))
        s.close()
        s = sock6(ty, 0)
        out(f"{name} V6ONLY=0 bind ::ffff:L4 getsockname",
            lambda: (s.bind(("::ffff:" + L4, 9401)), S(s.getsockname()))[1])
        s.close()
        s = sock6(ty)
        out(f"{name} bind L6 getsockname", lambda: (s.bind((L6, 9402)), S(s.getsockname()))[1])
        s.close()
        s = sock6(ty)
        out(f"{name} bind an address not ours", lambda: s.bind(("fd00:198:18::77", 9403)))
        s.close()
        s = sock6(ty)
        out(f"{name} bind a struct sockaddr_in (libc)", lambda: ccall(libc.bind, s, sin(L4, 9404)))
        s.close()

    # -- the port space shared by AF_INET and dual-stack AF_INET6 ----------------------------
    for name, ty in (("udp", socket.SOCK_DGRAM), ("tcp", socket.SOCK_STREAM)):
        base = 9410 if name == "udp" else 9415
        a, b = sock6(ty, 0), socket.socket(socket.AF_INET, ty)
        a.bind(("::", base))
        out(f"{name}: [::]:P V6ONLY=0 then 0.0.0.0:P", lambda: b.bind(("0.0.0.0", base)))
        a.close(), b.close()
        a, b = socket.socket(socket.AF_INET, ty), sock6(ty, 0)
        a.bind(("0.0.0.0", base + 1))
        out(f"{name}: 0.0.0.0:P then [::]:P V6ONLY=0", lambda: b.bind(("::", base + 1)))
        a.close(), b.close()
        a, b = sock6(ty, 1), socket.socket(socket.AF_INET, ty)
        a.bind(("::", base + 2))
        out(f"{name}: [::]:P V6ONLY=1 then 0.0.0.0:P", lambda: b.bind(("0.0.0.0", base + 2)))
        a.close(), b.close()
        a, b = socket.socket(socket.AF_INET, ty), sock6(ty, 1)
        a.bind(("0.0.0.0", base + 3))
        out(f"{name}: 0.0.0.0:P then [::]:P V6ONLY=1", lambda: b.bind(("::", base + 3)))
        a.close(), b.close()
        a, b = sock6(ty, 0), sock6(ty, 0)
        a.bind(("::", base + 4))
        out(f"{name}: [::]:P twice", lambda: b.bind(("::", base + 4)))
        a.close(), b.close()

    # -- TCP, passive: dual-stack and IPv6-only listeners on :: ------------------------------
    for v6only in (1, 0):
        lp = 9420 + v6only
        ls = sock6(socket.SOCK_STREAM, v6only)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("::", lp))
        ls.listen(8)
        ls.settimeout(3)
        tag = f"tcp listener [::]:{lp} V6ONLY={v6only}"
        for fam, src, dst in ((4, P4, L4), (6, P6, L6)):
            r = P("connect", fam, src, dst, lp)
            print(f"{tag}: peer IPv{fam} connect: {r}", flush=True)
            if r.startswith("peer="):
                def acc():
                    c, a = ls.accept()
                    try:
                        c.settimeout(3)
                        c.sendall(b"x" * 1000)
                        e = P("echo", 1000)
                        got = b""
                        while len(got) < 1000:
                            d = c.recv(1000 - len(got))
                            if not d:
                                break
                            got += d
                        return (f"from {S(a)} getpeername {S(c.getpeername())} "
                                f"getsockname {S(c.getsockname())} echo {e} {len(got)}")
                    finally:
                        c.close()
                out(f"{tag}: accept IPv{fam}", acc)
            P("close")
        ls.close()

    # -- TCP, active: AF_INET6 connects to IPv4 (v4-mapped) and IPv6 peers -------------------
    for fam, lsn, dst, v6only, lp in ((4, P4, "::ffff:" + P4, 0, 9430), (4, P4, "::ffff:" + P4, 1, 9431),
                                      (6, P6, P6, 0, 9432)):
        tag = f"tcp6 V6ONLY={v6only} connect [{A(dst)}]:{lp}"
        P("listen", fam, lsn, lp)
        s = sock6(socket.SOCK_STREAM, v6only)
        s.settimeout(3)
        r = None
        try:
            s.connect((dst, lp))
            r = f"getsockname {S(s.getsockname())} getpeername {S(s.getpeername())}"
            last_peer_port[0] = s.getsockname()[1]  # the port the peer must see: eph=same
            r += f" peer accept {P('accept')}"
        except (OSError, socket.timeout) as e:
            r = ename(e)
        print(f"{tag}: {r}", flush=True)
        s.close()
        P("close")
    s = sock6()
    s.settimeout(3)
    out("tcp6 connect [P6]:9433 (closed)", lambda: s.connect((P6, 9433)))
    s.close()
    s = sock6()
    s.settimeout(3)
    out("tcp6 connect [::ffff:P4]:9433 (closed)", lambda: s.connect(("::ffff:" + P4, 9433)))
    s.close()
    s = sock6()
    out("tcp6 connect a struct sockaddr_in (libc)", lambda: ccall(libc.connect, s, sin(P4, 9433)))
    s.close()

    # -- UDP: one dual-stack socket, both families -------------------------------------------
    u = sock6(socket.SOCK_DGRAM, 0)
    u.bind(("::", 9440))
    u.settimeout(3)

    def rx():
        d, a = u.recvfrom(65536)
        return f"{d.decode()} from {S(a)}"

    P("udp_send", 4, P4, L4, 9440, "v4 hello")
    out("udp6 [::]:9440 recvfrom an IPv4 peer", rx)
    P("udp_send", 6, P6, L6, 9440, "v6 hello")
    out("udp6 [::]:9440 recvfrom an IPv6 peer", rx)
    P("udp_bind", 4, P4, 9441)
    out("udp6 sendto [::ffff:P4]:9441", lambda: u.sendto(b"to v4", ("::ffff:" + P4, 9441)))
    print(f"udp6 sendto [::ffff:P4]:9441: peer got {P('udp_recv')}", flush=True)
    out("udp6 sendto a struct sockaddr_in (libc)", lambda: ccall_sendto(libc, u, sin(P4, 9441), b"raw sin"))
    print(f"udp6 sendto a struct sockaddr_in: peer got {P('udp_recv')}", flush=True)
    P("close")
    P("udp_bind", 6, P6, 9442)
    out("udp6 sendto [P6]:9442", lambda: u.sendto(b"to v6", (P6, 9442)))
    print(f"udp6 sendto [P6]:9442: peer got {P('udp_recv')}", flush=True)
    u.setsockopt(IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 7)
    u.setsockopt(IPPROTO_IPV6, socket.IPV6_TCLASS, 0x20)
    out("udp6 sendto [P6]:9442 hops 7 tclass 0x20", lambda: u.sendto(b"marked", (P6, 9442)))
    print(f"udp6 sendto [P6]:9442 hops 7 tclass 0x20: peer got {P('udp_recv')}", flush=True)
    P("close")
    u.close()
    u = sock6(socket.SOCK_DGRAM, 1)
    out("udp6 V6ONLY=1 sendto [::ffff:P4]:9441", lambda: u.sendto(b"x", ("::ffff:" + P4, 9441)))
    u.close()
    u = sock6(socket.SOCK_DGRAM, 0)
    out("udp6 connect [::ffff:P4]:9443 getsockname getpeername", lambda: (
        u.connect(("::ffff:" + P4, 9443)), f"{S(u.getsockname())} {S(u.getpeername())}")[1])
    u.close()
    u = sock6(socket.SOCK_DGRAM)
    out("udp6 connect [P6]:9443 getsockname getpeername", lambda: (
        u.connect((P6, 9443)), f"{S(u.getsockname())} {S(u.getpeername())}")[1])
    u.close()
    peer_cmd.end()


def ccall_sendto(libc, s, sa, data):
    """sendto with a raw sockaddr."""
    b = ctypes.create_string_buffer(sa, len(sa))
    r = libc.sendto(s.fileno(), data, len(data), 0, b, len(sa))
    if r < 0:
        e = ctypes.get_errno()
        return errno.errorcode.get(e, str(e))
    return f"ok {r}"


if __name__ == "__main__":
    if sys.argv[1] == "peer":
        peer()
    else:
        main()
