/* Fuzz harness 1: raw frames into eth_input.
 *
 * The stack (198.18.0.2/24, gateway .254, the peer 198.18.0.1 in its ARP
 * cache) has a listener on port 80, an established connection made by the
 * peer to it (accepted, one unread byte each way), and a connect to
 * PEER:8080 in SYN-SENT, and a UDP socket on port 53 (echoes a datagram back
 * when ctl bit 5 pokes the sockets). Then the input is a sequence of records:
 *
 *   ctl (1 byte)   bits 0-2: time jump before this frame (fz_jumps)
 *                  bit 3:    PKT_F_CSUM_OK (the device "verified" the L4 checksum)
 *                  bit 4:    fix the IPv4 and TCP/UDP/ICMP checksums up
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

static uint32_t fr_iss;         /* the stack's ISS on the accepted connection */

static void fr_learn(const struct fz_out *o)
{
	if ((o->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && o->dport == FR_CPORT)
		fr_iss = o->seq;
}

/* The fixed part of every run (the corpus generator replays the same). */
static int fr_sockets[4];
static void fr_prologue(void)
{
	struct stack *st = F.st;
	int l = nst_socket(st, NST_SOCK_STREAM);
	if (l < 0 || nst_bind(st, l, 0, FR_PORT) != 0 || nst_listen(st, l, 4, F.now) != 0)
		fz_fail("listener setup");
	/* the peer connects: SYN, SYN-ACK, ACK with one byte */
	struct fz_seg s = { .src = FZ_PEER, .dst = FZ_ME, .sport = FR_CPORT, .dport = FR_PORT,
			    .seq = FR_PISS, .flags = TCP_SYN, .wnd = 65535 };
	fz_inject_tcp(&s);
	fz_poll();
	fz_drain(fr_learn);
	s.seq = FR_PISS + 1;
	s.ack = fr_iss + 1;
	s.flags = TCP_ACK | TCP_PSH;
	s.data = (const uint8_t *)"x";
	s.len = 1;
	fz_inject_tcp(&s);
	fz_poll();
	fz_drain(NULL);
	int c = nst_accept(st, l, NULL, NULL, F.now);
	if (c < 0)
		fz_fail("accept: %d", c);
	if (nst_send(st, c, "y", 1, 0, F.now) != 1)
		fz_fail("send");
	int a = nst_socket(st, NST_SOCK_STREAM);
	if (a < 0 || nst_connect(st, a, FZ_PEER, 8080, F.now) != -EINPROGRESS)
		fz_fail("connect");
	int u = nst_socket(st, NST_SOCK_DGRAM);
	if (u < 0 || nst_bind(st, u, 0, 53) != 0)
		fz_fail("udp socket");
	fz_drain(NULL);
	fr_sockets[0] = l;
	fr_sockets[1] = c;
	fr_sockets[2] = a;
	fr_sockets[3] = u;
}

static void fr_touch_sockets(void)
{
	uint8_t b[512] = { 0 };
	for (int i = 1; i < 3; i++) {
		nst_recv(F.st, fr_sockets[i], b, sizeof(b), 0, F.now);
		nst_send(F.st, fr_sockets[i], b, 100, 0, F.now);
		nst_poll(F.st, fr_sockets[i]);
	}
	nst_accept(F.st, fr_sockets[0], NULL, NULL, F.now);
	uint32_t addr = 0;
	uint16_t port = 0;
	int fl = 0;
	if (nst_recvfrom(F.st, fr_sockets[3], b, 64, 0, &addr, &port, &fl, F.now) >= 0)
		nst_sendto(F.st, fr_sockets[3], b, 64, 0, 1, addr, port, F.now);    /* echo it back */
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
