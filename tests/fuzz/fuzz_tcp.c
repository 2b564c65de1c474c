/* Fuzz harness 2: TCP from every state.
 *
 * Byte 0 picks the family, byte 1 a TCP state and how to reach it; the
 * harness drives one connection there against a scripted peer (and checks it
 * got there: a failed drive is a crash too, so the harness cannot silently
 * fuzz the wrong state):
 *
 *   byte 0, modulo 3: 0 IPv4 (an AF_INET socket, 198.18.0.2 <-> .1),
 *                     1 IPv6 (AF_INET6, 2001:db8::2 <-> ::1),
 *                     2 IPv4 on an AF_INET6 socket (the peer ::ffff:198.18.0.1;
 *                       the listener is a dual-stack one bound to ::)
 *   byte 1, bits 0-3: state, modulo 9: SYN-SENT, SYN-RECEIVED, ESTABLISHED,
 *                     FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT
 *           bit 4:    passive open (listener + nst_accept) instead of active
 *           bit 5:    bytes in flight both ways (5 unacked from us, 5 unread from the peer)
 *           bit 6:    close instead of shutdown for the FIN states (the connection is an orphan)
 *           bit 7:    then starve the stack: the harness holds all but (byte 2 % 4)
 *                     packets of the pool (allocation failures on every path)
 *
 * Then a sequence of operations, one byte each plus arguments:
 *
 *   0-5  a segment from the peer: flags, seq and ack each as a base (the
 *        stack's rcv.nxt/snd.nxt as last seen on the wire, its ISS, or a raw
 *        32-bit value) plus a signed 16-bit offset, window, urgent pointer,
 *        options (length + bytes, padded), payload (length/8 + bytes;
 *        with the fill bit, 'z' bytes, lengths past 1460 up to 17812 in
 *        one large packet, as a GRO device hands a merged frame up),
 *        sometimes a wrong port or a broken data offset; IP and TCP
 *        checksums are always valid so the segment reaches the TCP logic
 *        (the IP header of the connection's family)
 *   6    time jump (fz_jumps)
 *   7    nst_send of n bytes        8  nst_recv (PEEK/WAITALL from the byte)
 *   9    nst_shutdown(how)         10  nst_close
 *   11   nst_accept on the listener, setsockopt, getsockopt (SOL_SOCKET,
 *        IPPROTO_TCP, IPPROTO_IPV6), poll, SO_ERROR, connect again
 */
#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/socket.h>
#include "tests/fuzz/fuzz.h"

#define TS_PORT  80             /* the peer's port (active) / our listener (passive) */
#define TS_PPORT 40000          /* the peer's port when it connects to us */
#define TS_PISS  5000u

enum { S_SYN_SENT, S_SYN_RCVD, S_ESTAB, S_FW1, S_FW2, S_CLOSE_WAIT, S_CLOSING, S_LAST_ACK,
       S_TIME_WAIT, S_N };
static const uint8_t ts_want[S_N] = {
	TCP_SYN_SENT, TCP_SYN_RECEIVED, TCP_ESTABLISHED, TCP_FIN_WAIT_1, TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK, TCP_TIME_WAIT,
};

/* The scripted peer's view of the connection. */
static struct {
	uint16_t lport, rport;  /* ours (the stack's) and the peer's */
	int      have_iss;
	uint32_t iss;           /* the stack's ISS */
	uint32_t snd_nxt;       /* highest sequence the stack sent + 1 */
	uint32_t rcv_nxt;       /* the stack's last ACK: what it expects from the peer */
	uint32_t piss;          /* the peer's ISS */
	int      sd, lsd;       /* the application's socket and listener, -1 if none */
	int      fam;           /* byte 0 % 3 */
	struct nst_addr me, raddr;      /* the stack's and the peer's address */
} P;

static void ts_learn(const struct fz_out *o)
{
	if (o->dport != P.rport || !nst_addr_eq(&o->dst, &P.raddr))
		return;
	uint32_t end = o->seq + o->len + !!(o->flags & TCP_SYN) + !!(o->flags & TCP_FIN);
	if (o->flags & TCP_SYN) {
		P.iss = o->seq;
		P.have_iss = 1;
		P.lport = o->sport;
		P.snd_nxt = end;
	}
	if ((int32_t)(end - P.snd_nxt) > 0)
		P.snd_nxt = end;
	if (o->flags & TCP_ACK)
		P.rcv_nxt = o->ack;
}

static void ts_seg(uint8_t flags, uint32_t seq, uint32_t ack, const char *data)
{
	struct fz_seg s = { .src = P.raddr, .dst = P.me, .sport = P.rport, .dport = P.lport,
			    .seq = seq, .ack = ack, .flags = flags, .wnd = 65535,
			    .data = (const uint8_t *)data, .len = data ? strlen(data) : 0 };
	static const uint8_t mss[4] = { TCP_OPT_MSS, 4, 0x05, 0xb4 };
	if (flags & TCP_SYN) {
		s.opt = mss;
		s.optlen = sizeof(mss);
	}
	fz_inject_tcp(&s);
	fz_poll();
	fz_drain(ts_learn);
}

/* The state of our connection (found by the peer's port: it may be an
 * orphan or an unaccepted child with no sd). */
static int ts_state(void)
{
	for (unsigned i = 0; i < F.st->tcp.cap; i++) {
		const struct tcb *t = &F.st->tcp.tcb[i];
		if (t->in_use && t->rport == P.rport && nst_addr_eq(&t->raddr, &P.raddr) && t->state != TCP_LISTEN)
			return t->state;
	}
	return TCP_CLOSED;
}

static const char *ts_name(int s)
{
	static const char *const n[] = { "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED",
		"FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT" };
	return s >= 0 && s <= TCP_TIME_WAIT ? n[s] : "?";
}

/* A stream socket of the connection's family. */
static int ts_socket(void)
{
	return P.fam ? nst_socket6(F.st, NST_SOCK_STREAM) : nst_socket(F.st, NST_SOCK_STREAM);
}

/* Drive the connection into state `which`. */
static void ts_drive(uint8_t sel)
{
	int which = (sel & 0xf) % S_N;
	int passive = (sel & 0x10) && which != S_SYN_SENT;
	int data = sel & 0x20;
	int orphan = sel & 0x40;
	struct stack *st = F.st;
	P.sd = P.lsd = -1;
	P.piss = TS_PISS;
	if (passive) {
		P.rport = TS_PPORT;
		P.lport = TS_PORT;
		const struct nst_addr any = P.fam ? (struct nst_addr){ 0 } : FZ_A4(0);
		P.lsd = ts_socket();
		if (P.lsd < 0 || nst_bind_addr(st, P.lsd, &any, TS_PORT) || nst_listen(st, P.lsd, 4, F.now))
			fz_fail("listener");
		ts_seg(TCP_SYN, P.piss, 0, NULL);
		if (!P.have_iss)
			fz_fail("no SYN-ACK");
		if (which == S_SYN_RCVD)
			goto check;
		ts_seg(TCP_ACK, P.piss + 1, P.iss + 1, NULL);
		P.sd = nst_accept(st, P.lsd, NULL, NULL, F.now);
		if (P.sd < 0)
			fz_fail("accept: %d", P.sd);
	} else {
		P.rport = TS_PORT;
		P.sd = ts_socket();
		if (P.sd < 0 || nst_connect_addr(st, P.sd, &P.raddr, TS_PORT, F.now) != -EINPROGRESS)
			fz_fail("connect");
		fz_drain(ts_learn);
		if (!P.have_iss)
			fz_fail("no SYN");
		if (which == S_SYN_SENT)
			goto check;
		if (which == S_SYN_RCVD) {      /* simultaneous open (RFC 9293 3.5, figure 8) */
			ts_seg(TCP_SYN, P.piss, 0, NULL);
			goto check;
		}
		ts_seg(TCP_SYN | TCP_ACK, P.piss, P.iss + 1, NULL);
	}
	uint32_t pnxt = P.piss + 1;
	if (data) {
		if (nst_send(st, P.sd, "hello", 5, 0, F.now) != 5)
			fz_fail("send");
		fz_drain(ts_learn);
		ts_seg(TCP_ACK | TCP_PSH, pnxt, P.iss + 1, "world");
		pnxt += 5;
	}
	if (which == S_ESTAB)
		goto check;
	if (which == S_CLOSE_WAIT || which == S_LAST_ACK) {
		ts_seg(TCP_FIN | TCP_ACK, pnxt, P.iss + 1, NULL);
		pnxt++;
		if (which == S_CLOSE_WAIT)
			goto check;
	}
	/* our FIN: shutdown keeps the socket, close makes an orphan (unread
	 * data would turn close into a RST: read it first) */
	if (orphan) {
		uint8_t b[16];
		nst_recv(st, P.sd, b, sizeof(b), 0, F.now);
		nst_close(st, P.sd, F.now);
		P.sd = -1;
	} else {
		nst_shutdown(st, P.sd, NST_SHUT_WR, F.now);
	}
	fz_drain(ts_learn);
	if (which == S_FW1 || which == S_LAST_ACK)
		goto check;
	if (which == S_CLOSING) {       /* their FIN crosses ours */
		ts_seg(TCP_FIN | TCP_ACK, pnxt, P.iss + 1, NULL);
		goto check;
	}
	ts_seg(TCP_ACK, pnxt, P.snd_nxt, NULL);         /* our FIN acked */
	if (which == S_TIME_WAIT)
		ts_seg(TCP_FIN | TCP_ACK, pnxt, P.snd_nxt, NULL);
check:
	if (ts_state() != ts_want[which])
		fz_fail("drive to %s ended in %s", ts_name(ts_want[which]), ts_name(ts_state()));
}

static uint32_t ts_base(struct fz_in *in, uint8_t mode, uint32_t usual)
{
	switch (mode & 3) {
	case 0: return usual;
	case 1: return P.iss;
	case 2: return P.piss;
	default: return fz_u32(in);
	}
}

static void ts_fuzz_segment(struct fz_in *in)
{
	uint8_t mode = fz_u8(in);
	struct fz_seg s = { .src = P.raddr, .dst = P.me, .sport = P.rport, .dport = P.lport };
	s.flags = fz_u8(in);
	/* one read per statement: the order of reads must not depend on the compiler */
	s.seq = ts_base(in, mode, P.rcv_nxt);
	s.seq += (uint32_t)(int16_t)fz_u16(in);
	s.ack = ts_base(in, mode >> 2, P.snd_nxt);
	s.ack += (uint32_t)(int16_t)fz_u16(in);
	s.wnd = fz_u16(in);
	if (mode & 0x10)
		s.urp = fz_u16(in);
	if (mode & 0x20)
		s.sport ^= (uint16_t)(1 + fz_u8(in));   /* another connection */
	if (mode & 0x40) {
		s.bad_off = 1;
		s.off_val = fz_u8(in);
	}
	static uint8_t payload[1460 + 73 * 224];
	uint8_t opt[40];
	uint8_t ol = fz_u8(in);
	s.optlen = fz_bytes(in, opt, ol % 41);
	s.opt = opt;
	uint8_t lb = fz_u8(in);
	size_t dl = (size_t)lb * 8;
	if (dl > 1460)
		dl = 1460;
	if (mode & 0x80) {
		/* big segments without big inputs; past 1460 bytes a merged
		 * frame (large packet): the receive queue may hold it */
		if (lb > 182)
			dl = 1460 + (size_t)(lb - 182) * 224;
		memset(payload, 'z', dl);
	} else {
		dl = fz_bytes(in, payload, dl);
	}
	s.data = payload;
	s.len = dl;
	fz_inject_tcp(&s);
	fz_poll();
}

static void ts_sockopt(struct fz_in *in)
{
	static const struct { int level, name; } opts[] = {
		{ SOL_SOCKET, SO_KEEPALIVE }, { SOL_SOCKET, SO_LINGER }, { SOL_SOCKET, SO_RCVBUF },
		{ SOL_SOCKET, SO_SNDBUF }, { SOL_SOCKET, SO_REUSEADDR }, { IPPROTO_TCP, TCP_NODELAY },
		{ IPPROTO_TCP, TCP_MAXSEG }, { IPPROTO_TCP, TCP_KEEPIDLE }, { IPPROTO_TCP, TCP_KEEPINTVL },
		{ IPPROTO_TCP, TCP_KEEPCNT }, { IPPROTO_TCP, TCP_CORK }, { IPPROTO_TCP, TCP_INFO },
		{ IPPROTO_IPV6, IPV6_TCLASS }, { IPPROTO_IPV6, IPV6_UNICAST_HOPS },
	};
	uint8_t b = fz_u8(in);
	int sd = (b & 0x80) ? P.lsd : P.sd;
	int which = (b & 0x0f) % (int)(sizeof(opts) / sizeof(opts[0]));
	uint32_t val[64] = { 0 };
	val[0] = fz_u32(in);
	val[1] = fz_u32(in);
	unsigned len = fz_u8(in) % 12;
	switch ((b >> 4) & 7) {
	case 0:
		nst_setsockopt(F.st, sd, opts[which].level, opts[which].name, val, len, F.now);
		break;
	case 1: {
		unsigned l = (b & 0x40) ? sizeof(val) : len;
		nst_getsockopt(F.st, sd, opts[which].level, opts[which].name, val, &l);
		break;
	}
	case 2: {
		int c = nst_accept(F.st, P.lsd, NULL, NULL, F.now);
		if (c >= 0 && P.sd < 0)
			P.sd = c;
		else if (c >= 0)
			nst_close(F.st, c, F.now);
		break;
	}
	case 3:
		nst_sock_error(F.st, sd);
		nst_poll(F.st, sd);
		nst_rx_avail(F.st, sd);
		break;
	default:
		nst_connect_addr(F.st, sd, &P.raddr, TS_PORT, F.now);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	if (!size)
		return 0;
	fz_setup(0);
	memset(&P, 0, sizeof(P));
	P.fam = fz_u8(&in) % 3;
	P.me = P.fam == 1 ? fz_me6 : FZ_A4(FZ_ME);
	P.raddr = P.fam == 1 ? fz_peer6 : FZ_A4(FZ_PEER);
	uint8_t sel = fz_u8(&in);
	ts_drive(sel);
	if (sel & 0x80)
		fz_hold(fz_u8(&in) % 4);        /* the pool nearly empty from here on */
	uint8_t buf[4096];
	memset(buf, 'q', sizeof(buf));
	while (fz_more(&in)) {
		uint8_t op = fz_u8(&in);
		switch (op % 12) {
		case 0: case 1: case 2: case 3: case 4: case 5:
			ts_fuzz_segment(&in);
			break;
		case 6:
			F.now += fz_jumps[(op >> 4) & 7] + (op >> 7);
			fz_poll();
			break;
		case 7: {
			size_t n = (size_t)fz_u8(&in) << (op >> 5);
			nst_send(F.st, P.sd, buf, n < sizeof(buf) ? n : sizeof(buf),
				 (op & 0x10) ? NST_MSG_DONTWAIT : 0, F.now);
			break;
		}
		case 8: {
			static const int rflags[4] = { 0, NST_MSG_PEEK, NST_MSG_WAITALL, NST_MSG_PEEK | NST_MSG_WAITALL };
			size_t n = (size_t)fz_u8(&in) << (op >> 5);
			nst_recv(F.st, P.sd, buf, n < sizeof(buf) ? n : sizeof(buf), rflags[(op >> 4) & 3], F.now);
			break;
		}
		case 9:
			nst_shutdown(F.st, P.sd, (op >> 4) % 4, F.now);  /* 3: invalid */
			break;
		case 10:
			if (op & 0x10) {
				nst_close(F.st, P.lsd, F.now);
				P.lsd = -1;
			} else {
				nst_close(F.st, P.sd, F.now);
				P.sd = -1;
			}
			break;
		default:
			ts_sockopt(&in);
			break;
		}
		fz_drain(ts_learn);
		fz_check_tcbs();
	}
	/* every timer to its end: TIME-WAIT, orphans, retransmission give-up */
	for (int i = 0; i < 20; i++) {
		F.now += 130 * FZ_SEC;
		fz_poll();
		fz_drain(ts_learn);
	}
	nst_close_all(F.st, F.now);
	fz_drain(NULL);
	fz_teardown();
	return 0;
}
