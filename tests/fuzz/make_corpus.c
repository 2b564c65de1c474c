/* Writes the seed corpus of the fuzz harnesses: `make fuzz-corpus` runs it as
 *   make_corpus DIR        -> DIR/fuzz_frame/seed-*, DIR/fuzz_tcp/seed-*, DIR/fuzz_api/seed-*
 * Each seed is a small, valid scenario in the harness's input format (see the
 * comment at the top of each harness), so the fuzzer starts from inputs that
 * reach deep into the stack and mutates from there. Reproducers of bugs the
 * fuzzers found live beside them as DIR/NAME/crash-* and are not generated.
 *
 * The frame harness's seeds need the stack's own ISS and ports: this program
 * runs the harness's prologue (the same deterministic stack) to learn them.
 * Built with the ordinary compiler, no libFuzzer. */
#include <sys/stat.h>
#define LLVMFuzzerTestOneInput fuzz_frame_one
#include "tests/fuzz/fuzz_frame.c"
#undef LLVMFuzzerTestOneInput

static const char *out_dir;

struct buf {
	uint8_t b[8192];
	size_t n;
};
static void put8(struct buf *b, unsigned v) { b->b[b->n++] = (uint8_t)v; }
static void put16(struct buf *b, unsigned v) { put8(b, v >> 8); put8(b, v & 0xff); }
static void put32(struct buf *b, uint32_t v) { put16(b, v >> 16); put16(b, v & 0xffff); }
static void putn(struct buf *b, const void *p, size_t n) { memcpy(b->b + b->n, p, n); b->n += n; }

static void save(const char *harness, const char *name, const struct buf *b)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", out_dir, harness);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", out_dir, harness, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b->b, 1, b->n, f) != b->n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* ---- fuzz_frame: records of ctl, len, frame ---------------------------- */

static void rec(struct buf *b, uint8_t ctl, const uint8_t *f, size_t n)
{
	put8(b, ctl);
	put16(b, (unsigned)n);
	putn(b, f, n);
}

static size_t eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, fz_peer_mac, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return ETH_HDR_LEN;
}

static size_t arp(uint8_t *f, const uint8_t *dst, unsigned op, uint32_t spa, uint32_t tpa)
{
	size_t n = eth(f, dst, ETH_P_ARP);
	uint8_t a[28] = { 0, 1, 8, 0, 6, 4, 0, (uint8_t)op };
	memcpy(a + 8, fz_peer_mac, 6);
	a[13] = (uint8_t)spa;   /* a distinct MAC per sender */
	uint32_t s = htonl(spa), t = htonl(tpa);
	memcpy(a + 14, &s, 4);
	memcpy(a + 24, &t, 4);
	memcpy(f + n, a, 28);
	return n + 28;
}

/* IPv4 (ihl words of header, options zero) + payload; checksums left to the
 * harness (ctl bit 4) so that the seed stays valid when mutated. */
static size_t ipv4(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst, unsigned ihl, uint16_t frag,
		   const void *l4, size_t l4len)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t n = eth(f, dst == 0xffffffffu ? bcast : F.dev->mac, ETH_P_IPV4);
	uint8_t *ip = f + n;
	memset(ip, 0, ihl * 4);
	ip[0] = (uint8_t)(0x40 | ihl);
	uint16_t tot = (uint16_t)(ihl * 4 + l4len);
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = (uint8_t)(frag >> 8);
	ip[7] = (uint8_t)frag;
	ip[8] = 64;
	ip[9] = proto;
	uint32_t s = htonl(src), d = htonl(dst);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	memcpy(ip + ihl * 4, l4, l4len);
	return n + ihl * 4 + l4len;
}

static size_t tcp(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		  const char *data)
{
	struct fz_seg s = { .src = FZ_PEER, .dst = FZ_ME, .sport = sport, .dport = dport, .seq = seq,
			    .ack = ack, .flags = flags, .wnd = 65535, .data = (const uint8_t *)data,
			    .len = data ? strlen(data) : 0 };
	return fz_build_tcp(f, PKT_MAX_FRAME, &s);
}

static void frame_seeds(void)
{
	fz_setup(0);
	fr_prologue();
	const struct tcb *a = &F.st->tcp.tcb[fr_sockets[2]];
	uint32_t iss = fr_iss, a_iss = a->iss;
	uint16_t a_port = a->lport;
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t f[PKT_MAX_FRAME];
	struct buf b;
	size_t n;

	/* ARP: a request for us from a new neighbour, a reply for the gateway */
	b.n = 0;
	n = arp(f, bcast, 1, 0xc6120007u, FZ_ME);
	rec(&b, 0, f, n);
	n = arp(f, F.dev->mac, 2, FZ_GW, FZ_ME);
	rec(&b, 1, f, n);
	save("fuzz_frame", "arp", &b);

	/* ICMP echo request (checksum fixed by ctl bit 4), and one to broadcast */
	b.n = 0;
	uint8_t echo[64] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1 };
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, FZ_ME, 5, 0, echo, sizeof(echo));
	rec(&b, 0x10, f, n);
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, 0xffffffffu, 5, 0, echo, 8);
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "icmp-echo", &b);

	/* ICMP destination unreachable quoting our SYN to 8080 */
	b.n = 0;
	uint8_t unr[8 + 28] = { 3, 3 };
	uint8_t *q = unr + 8;
	q[0] = 0x45; q[3] = 40; q[8] = 64; q[9] = IP_PROTO_TCP;
	uint32_t me = htonl(FZ_ME), peer = htonl(FZ_PEER), s32 = htonl(a_iss);
	memcpy(q + 12, &me, 4);
	memcpy(q + 16, &peer, 4);
	q[20] = (uint8_t)(a_port >> 8); q[21] = (uint8_t)a_port; q[22] = 8080 >> 8; q[23] = 8080 & 0xff;
	memcpy(q + 24, &s32, 4);
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, FZ_ME, 5, 0, unr, sizeof(unr));
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "icmp-unreach", &b);

	/* the accepted connection: data, ACK of ours, then FIN, then time */
	b.n = 0;
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 2, iss + 2, TCP_ACK | TCP_PSH, "hello");
	rec(&b, 0x20, f, n);
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 7, iss + 2, TCP_ACK | TCP_FIN, NULL);
	rec(&b, 0x23, f, n);
	rec(&b, 0x07, f, 0);
	save("fuzz_frame", "tcp-estab-data-fin", &b);

	/* the same, out of order and with a checksum the device vouches for */
	b.n = 0;
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 7, iss + 2, TCP_ACK | TCP_PSH, "world");
	rec(&b, 0x08, f, n);
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 2, iss + 2, TCP_ACK | TCP_PSH, "hello");
	rec(&b, 0x28, f, n);
	save("fuzz_frame", "tcp-ooo", &b);

	/* RST in the window (challenge ACK) and exact */
	b.n = 0;
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 100, 0, TCP_RST, NULL);
	rec(&b, 0x01, f, n);
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 2, 0, TCP_RST, NULL);
	rec(&b, 0x21, f, n);
	save("fuzz_frame", "tcp-rst", &b);

	/* SYN-ACK for our connect to 8080, then data on it */
	b.n = 0;
	uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
	struct fz_seg s = { .src = FZ_PEER, .dst = FZ_ME, .sport = 8080, .dport = a_port, .seq = 77000,
			    .ack = a_iss + 1, .flags = TCP_SYN | TCP_ACK, .wnd = 65535, .opt = mss, .optlen = 4 };
	n = fz_build_tcp(f, sizeof(f), &s);
	rec(&b, 0x00, f, n);
	n = tcp(f, 8080, a_port, 77001, a_iss + 1, TCP_ACK | TCP_PSH, "abc");
	rec(&b, 0x22, f, n);
	save("fuzz_frame", "tcp-synack", &b);

	/* a new SYN to the listener and a SYN to a closed port (RST) */
	b.n = 0;
	s = (struct fz_seg){ .src = FZ_PEER, .dst = FZ_ME, .sport = 41000, .dport = FR_PORT, .seq = 1,
			     .flags = TCP_SYN, .wnd = 1000, .opt = mss, .optlen = 4 };
	n = fz_build_tcp(f, sizeof(f), &s);
	rec(&b, 0x00, f, n);
	n = tcp(f, 41001, 81, 9, 0, TCP_SYN, NULL);
	rec(&b, 0x04, f, n);
	save("fuzz_frame", "tcp-syn", &b);

	/* IP oddities: options, a fragment, UDP, an unknown protocol */
	b.n = 0;
	uint8_t udp[16] = { 0x30, 0x39, 0x00, 0x35, 0x00, 0x10 };
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, FZ_ME, 6, 0, echo, 16);
	rec(&b, 0x10, f, n);
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, FZ_ME, 5, IP_MF, echo, 16);
	rec(&b, 0x10, f, n);
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, FZ_ME, 5, 2, echo, 16);
	rec(&b, 0x10, f, n);
	n = ipv4(f, IP_PROTO_UDP, FZ_PEER, FZ_ME, 5, 0, udp, sizeof(udp));
	rec(&b, 0x10, f, n);
	n = ipv4(f, 99, FZ_PEER, FZ_ME, 5, 0, udp, sizeof(udp));
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "ip-misc", &b);

	/* nothing but time: every timer fires */
	b.n = 0;
	for (int i = 1; i < 8; i++)
		rec(&b, (uint8_t)(i | 0x20), f, 0);
	save("fuzz_frame", "timers", &b);
	fz_teardown();  /* the frames above used its MAC */
}

/* ---- fuzz_tcp: state byte, then operations ------------------------------ */

/* op 0: a segment; mode 0 = seq at the stack's rcv.nxt, ack at its snd.nxt */
static void t_seg(struct buf *b, uint8_t flags, int16_t dseq, int16_t dack, uint16_t wnd, unsigned data8)
{
	put8(b, 0);
	put8(b, 0);                     /* mode */
	put8(b, flags);
	put16(b, (uint16_t)dseq);
	put16(b, (uint16_t)dack);
	put16(b, wnd);
	put8(b, 0);                     /* no options */
	put8(b, data8);
	for (unsigned i = 0; i < data8 * 8; i++)
		put8(b, 'a' + i % 26);
}

static void tcp_seeds(void)
{
	static const char *const names[9] = { "syn-sent", "syn-rcvd", "estab", "fin-wait-1", "fin-wait-2",
					      "close-wait", "closing", "last-ack", "time-wait" };
	struct buf b;
	char name[64];
	for (int state = 0; state < 9; state++) {
		for (int passive = 0; passive < 2; passive++) {
			if (passive && state == 0)
				continue;
			b.n = 0;
			put8(&b, (uint8_t)(state | (passive ? 0x10 : 0) | 0x20));
			t_seg(&b, TCP_ACK | TCP_PSH, 0, 0, 65535, 4);   /* in-window data, everything acked */
			put8(&b, 7); put8(&b, 100);                     /* send 100 */
			put8(&b, 8); put8(&b, 200);                     /* recv 200 */
			put8(&b, 0x5a);                                 /* +1 s */
			t_seg(&b, TCP_ACK, 0, 0, 0, 0);                 /* zero window */
			put8(&b, 0x36);                                 /* +40 ms */
			t_seg(&b, TCP_FIN | TCP_ACK, 0, 0, 65535, 0);
			put8(&b, 0x66);                                 /* +60 s */
			snprintf(name, sizeof(name), "%s-%s", names[state], passive ? "passive" : "active");
			save("fuzz_tcp", name, &b);
		}
	}
	/* RFC 5961 shapes in ESTABLISHED: RST in window, SYN, old ACK; then close */
	b.n = 0;
	put8(&b, 2);
	t_seg(&b, TCP_RST, 100, 0, 65535, 0);
	t_seg(&b, TCP_SYN, 0, 0, 65535, 0);
	t_seg(&b, TCP_ACK, 0, -20000, 65535, 1);
	t_seg(&b, TCP_RST, 0, 0, 65535, 0);
	put8(&b, 10);
	save("fuzz_tcp", "estab-rfc5961", &b);
	/* out of order data with options, then the hole filled */
	b.n = 0;
	put8(&b, 0x12);
	put8(&b, 0); put8(&b, 0); put8(&b, TCP_ACK); put16(&b, 16); put16(&b, 0); put16(&b, 65535);
	put8(&b, 4); put8(&b, 1); put8(&b, 1); put8(&b, 8); put8(&b, 2);       /* NOP NOP, odd option */
	put8(&b, 1); putn(&b, "87654321", 8);
	t_seg(&b, TCP_ACK | TCP_PSH, 0, 0, 65535, 2);
	put8(&b, 8); put8(&b, 255);
	save("fuzz_tcp", "estab-ooo", &b);
	/* sockopts, shutdown variants, close */
	b.n = 0;
	put8(&b, 2);
	put8(&b, 11); put8(&b, 0x05); put32(&b, 1); put32(&b, 0); put8(&b, 4);  /* TCP_NODELAY */
	put8(&b, 11); put8(&b, 0x11); put32(&b, 0); put32(&b, 0); put8(&b, 8);  /* get SO_LINGER */
	put8(&b, 7); put8(&b, 255);
	put8(&b, 0x15);                                                       /* SHUT_WR */
	put8(&b, 0x72);                                                       /* +130 s */
	put8(&b, 10);
	save("fuzz_tcp", "estab-opts-close", &b);
	/* the pool starved to one free packet: data in, data out, retransmission */
	b.n = 0;
	put8(&b, 0x22 | 0x80);
	put8(&b, 1);
	t_seg(&b, TCP_ACK | TCP_PSH, 0, 0, 65535, 2);
	put8(&b, 7); put8(&b, 200);
	put8(&b, 0x5a);
	put8(&b, 0x5a);
	save("fuzz_tcp", "estab-pool-starved", &b);
}

/* ---- fuzz_api ------------------------------------------------------------ */

static void api_seeds(void)
{
	struct buf b;
	/* L = sd index 0, C = 1, A = 2 */
	static const uint8_t conn[] = {
		0x00,                           /* socket L */
		0x01, 0x00, 0x01, 0x01,         /* bind L 127.0.0.1:80 */
		0x02, 0x00, 0x04,               /* listen L 4 */
		0x00,                           /* socket C */
		0x04, 0x01, 0x01, 0x01,         /* connect C 127.0.0.1:80 */
		0x33, 0x00,                     /* accept L -> A */
		0x05, 0x01, 0x10,               /* send C 16 */
		0x41, 0x01, 0x40,               /* send C 64<<4 */
		0x06, 0x02, 0x40,               /* recv A 64 */
		0x13, 0x01,                     /* shutdown C SHUT_WR */
		0x36, 0x02, 0xff,               /* recv A 255<<3 */
		0x0b, 0x02,                     /* queries on A */
		0x08, 0x02,                     /* close A */
		0x08, 0x01,                     /* close C */
		0x6a,                           /* +60 s */
		0x0b, 0x00,
	};
	b.n = 0;
	putn(&b, conn, sizeof(conn));
	save("fuzz_api", "connect-transfer-close", &b);
	static const uint8_t opts[] = {
		0x00, 0x00,                     /* two sockets */
		0x09, 0x00, 0x09, 0x04, 1, 0, 0, 0,     /* SOL_SOCKET SO_KEEPALIVE = 1 */
		0x15, 0x00, 0x01, 0x04, 1, 0, 0, 0,     /* IPPROTO_TCP TCP_NODELAY = 1 */
		0x45, 0x00, 0x0d, 0x08,                 /* get SO_LINGER */
		0x45, 0x00, 0x07, 0x04,                 /* get SO_SNDBUF */
		0x15, 0x00, 0x02, 0x04, 0x10, 0, 0, 0,  /* TCP_MAXSEG */
		0x01, 0x01, 0x00, 0x00,                 /* bind any:ephemeral */
		0x02, 0x01, 0x80,                       /* listen, negative backlog */
		0x04, 0x00, 0x03, 0x7f, 0x00, 0x00, 0x01, 0x03, 0x1f, 0x90,   /* connect 127.0.0.1:8080 (refused) */
		0x04, 0x00, 0x03, 0x0a, 0x00, 0x00, 0x01, 0x01,               /* connect 10.0.0.1 */
		0x0b, 0x00, 0x0b, 0xff, 0xfb, 0x00,     /* queries, sd -1, close_all */
	};
	b.n = 0;
	putn(&b, opts, sizeof(opts));
	save("fuzz_api", "sockopts-errors", &b);
	/* datagrams: U1 = 0, U2 = 1 */
	static const uint8_t udp[] = {
		0x24,                                   /* socket U1 (DGRAM) */
		0x01, 0x00, 0x01, 0x03, 0x00, 0x35,     /* bind U1 127.0.0.1:53 */
		0x24,                                   /* socket U2 */
		0xa7, 0x01, 0x20, 0x00, 0x01, 0x03, 0x00, 0x35, /* sendto U2 -> :53, 32 bytes */
		0x23, 0x00, 0x10,                       /* recvfrom U1 256 */
		0x04, 0x01, 0x01, 0x03, 0x00, 0x35,     /* connect U2 127.0.0.1:53 */
		0x05, 0x01, 0x10,                       /* send U2 16 */
		0x06, 0x00, 0x08,                       /* recv U1 8 (truncated) */
		0x2f, 0x01,                             /* disconnect U2 */
		0xa7, 0x01, 0x10, 0x00, 0x01, 0x03, 0x00, 0x36, /* sendto :54 (port unreachable) */
		0x0b, 0x01,
		0x08, 0x00, 0x08, 0x01,                 /* close both */
	};
	b.n = 0;
	putn(&b, udp, sizeof(udp));
	save("fuzz_api", "udp", &b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0755);
	frame_seeds();
	tcp_seeds();
	api_seeds();
	return 0;
}
