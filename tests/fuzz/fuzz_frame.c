/* Fuzz harness 1: raw frames into eth_input.
 *
 * The stack (198.18.0.2/24, gateway .254, the peer 198.18.0.1 in its ARP
 * cache; 2001:db8::2/64 and its link-local address, the peer 2001:db8::1 and
 * fe80::aa:bbff:fecc:dd01 in its neighbour cache) has
 *   - IPv4: a listener on port 80, an established connection made by the
 *     peer to it (accepted, one unread byte each way), a connect to
 *     PEER:8080 in SYN-SENT, and a UDP socket on port 53;
 *   - IPv6: a dual-stack AF_INET6 listener on [::]:8081 with an established
 *     connection from [2001:db8::1]:40001 (accepted, one unread byte each
 *     way), and an AF_INET6 UDP socket on [::]:54 (IPv4 datagrams too);
 * the UDP sockets echo a datagram back when ctl bit 5 pokes the sockets.
 * Then the input is a sequence of records:
 *
 *   ctl (1 byte)   bits 0-2: time jump before this frame (fz_jumps)
 *                  bit 3:    PKT_F_CSUM_OK (the device "verified" the L4 checksum)
 *                  bit 4:    fix the IPv4 and TCP/UDP/ICMP checksums up (IPv6: the
 *                            TCP/UDP/ICMPv6 one, when not a fragment)
 *                  bit 5:    call nst_recv/nst_send on the sockets after it
 *   len (2 bytes, big endian), then len bytes of frame (Ethernet II)
 *
 * Each frame is injected with memdev_inject and the stack polled at the new
 * time; what it sends is checked (fuzz.h) and thrown away. At the end the
 * stack is destroyed and every packet must be back in the pool.
 */
#include "tests/fuzz/fuzz.h"

#define FR_PORT 80
#define FR_CPORT 40000
#define FR_PISS 5000u
#define FR_PORT6 8081
#define FR_CPORT6 40001
#define FR_UPORT6 54

static uint32_t fr_iss, fr_iss6;        /* the stack's ISS on the accepted connections */

static void fr_learn(const struct fz_out *o)
{
	if ((o->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && o->dport == FR_CPORT)
		fr_iss = o->seq;
	if ((o->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && o->dport == FR_CPORT6)
		fr_iss6 = o->seq;
}

/* The fixed part of every run (the corpus generator replays the same). */
enum { FR_L, FR_C, FR_A, FR_U, FR_L6, FR_C6, FR_U6, FR_NSOCK };
static int fr_sockets[FR_NSOCK];

/* The peer opens a connection to our port lport from its port cport and
 * sends one byte; we accept it and send one. Returns the accepted sd. */
static int fr_peer_connects(int l, struct nst_addr src, struct nst_addr dst, uint16_t cport, uint16_t lport,
			    const uint32_t *iss)
{
	struct fz_seg s = { .src = src, .dst = dst, .sport = cport, .dport = lport,
			    .seq = FR_PISS, .flags = TCP_SYN, .wnd = 65535 };
	fz_inject_tcp(&s);
	fz_poll();
	fz_drain(fr_learn);
	s.seq = FR_PISS + 1;
	s.ack = *iss + 1;
	s.flags = TCP_ACK | TCP_PSH;
	s.data = (const uint8_t *)"x";
	s.len = 1;
	fz_inject_tcp(&s);
	fz_poll();
	fz_drain(NULL);
	int c = nst_accept(F.st, l, NULL, NULL, F.now);
	if (c < 0)
		fz_fail("accept on port %u: %d", lport, c);
	if (nst_send(F.st, c, "y", 1, 0, F.now) != 1)
		fz_fail("send");
	return c;
}

static void fr_prologue(void)
{
	struct stack *st = F.st;
	int l = nst_socket(st, NST_SOCK_STREAM);
	if (l < 0 || nst_bind(st, l, 0, FR_PORT) != 0 || nst_listen(st, l, 4, F.now) != 0)
		fz_fail("listener setup");
	/* the peer connects: SYN, SYN-ACK, ACK with one byte */
	int c = fr_peer_connects(l, FZ_A4(FZ_PEER), FZ_A4(FZ_ME), FR_CPORT, FR_PORT, &fr_iss);
	int a = nst_socket(st, NST_SOCK_STREAM);
	if (a < 0 || nst_connect(st, a, FZ_PEER, 8080, F.now) != -EINPROGRESS)
		fz_fail("connect");
	int u = nst_socket(st, NST_SOCK_DGRAM);
	if (u < 0 || nst_bind(st, u, 0, 53) != 0)
		fz_fail("udp socket");
	fz_drain(NULL);
	/* IPv6: a dual-stack listener and a connection to it, a UDP socket */
	const struct nst_addr any6 = { 0 };
	int l6 = nst_socket6(st, NST_SOCK_STREAM);
	if (l6 < 0 || nst_bind_addr(st, l6, &any6, FR_PORT6) != 0 || nst_listen(st, l6, 4, F.now) != 0)
		fz_fail("IPv6 listener setup");
	int c6 = fr_peer_connects(l6, fz_peer6, fz_me6, FR_CPORT6, FR_PORT6, &fr_iss6);
	int u6 = nst_socket6(st, NST_SOCK_DGRAM);
	if (u6 < 0 || nst_bind_addr(st, u6, &any6, FR_UPORT6) != 0)
		fz_fail("IPv6 udp socket");
	fz_drain(NULL);
	fr_sockets[FR_L] = l;
	fr_sockets[FR_C] = c;
	fr_sockets[FR_A] = a;
	fr_sockets[FR_U] = u;
	fr_sockets[FR_L6] = l6;
	fr_sockets[FR_C6] = c6;
	fr_sockets[FR_U6] = u6;
}

static void fr_touch_sockets(void)
{
	uint8_t b[512] = { 0 };
	static const int streams[] = { FR_C, FR_A, FR_C6 };
	for (int i = 0; i < 3; i++) {
		int sd = fr_sockets[streams[i]];
		nst_recv(F.st, sd, b, sizeof(b), 0, F.now);
		nst_send(F.st, sd, b, 100, 0, F.now);
		nst_poll(F.st, sd);
	}
	/* accepted connections are closed at once (the socket table is small) */
	int c = nst_accept(F.st, fr_sockets[FR_L], NULL, NULL, F.now);
	if (c >= 0)
		nst_close(F.st, c, F.now);
	struct nst_addr a6;
	uint16_t port = 0;
	c = nst_accept_addr(F.st, fr_sockets[FR_L6], &a6, &port, F.now);
	if (c >= 0)
		nst_close(F.st, c, F.now);
	uint32_t addr = 0;
	int fl = 0;
	if (nst_recvfrom(F.st, fr_sockets[FR_U], b, 64, 0, &addr, &port, &fl, F.now) >= 0)
		nst_sendto(F.st, fr_sockets[FR_U], b, 64, 0, 1, addr, port, F.now);    /* echo it back */
	struct nst_dgram_info info;
	ssize_t n = nst_recvmsg_addr(F.st, fr_sockets[FR_U6], b, 64, 0, &a6, &port, &fl, &info, F.now);
	if (n >= 0)
		nst_sendto_addr(F.st, fr_sockets[FR_U6], b, (size_t)n, 0, 1, &a6, port, F.now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	fz_setup(0);
	fr_prologue();
	uint8_t frame[PKT_MAX_FRAME];
	while (fz_more(&in)) {
		uint8_t ctl = fz_u8(&in);
		size_t want = fz_u16(&in);
		if (want > sizeof(frame))
			want = sizeof(frame);
		size_t n = fz_bytes(&in, frame, want);
		F.now += fz_jumps[ctl & 7];
		if (ctl & 0x10)
			fz_fix_checksums(frame, n);
		fz_inject_raw(frame, n, (ctl & 0x08) ? PKT_F_CSUM_OK : 0);
		fz_poll();
		if (ctl & 0x20)
			fr_touch_sockets();
		fz_drain(NULL);
		fz_check_tcbs();
	}
	/* let every timer run out, then tear down */
	for (int i = 0; i < 4; i++) {
		F.now += 130 * FZ_SEC;
		fz_poll();
		fz_drain(NULL);
	}
	nst_close_all(F.st, F.now);
	fz_drain(NULL);
	fz_teardown();
	return 0;
}
