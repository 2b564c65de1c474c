/* The receive path's held packets (ring.c): a large in-order segment (a GRO
 * frame) is kept in its packet and copied once, packet to user, by recv.
 * Reads in pieces across held packets and the ring, MSG_PEEK, out-of-order
 * data behind held bytes, the window (the same as the copy path's),
 * FIONREAD, Recv-Q and SO_MEMINFO, close with unread held data (RST), the
 * memory cap, the connection's and the pool's share (copied instead), the
 * accounting. Exact clock, the test as peer; every byte checked against a
 * pattern. */
#include "tests/unit/tcp_harness.h"

#define GRO 1448                /* gso_size of the frames the "device" merged */
#define PAT_LEN (1u << 20)
static uint8_t pat[PAT_LEN];    /* the peer's byte stream: pat[i] is byte i after its SYN */

static void pat_init(void)
{
	uint32_t x = 0x9e3779b9u;
	for (uint32_t i = 0; i < PAT_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pat[i] = (uint8_t)x;
	}
}

/* setup() with a memory cap (0: the default) */
static void setup_mem(uint64_t mem_max)
{
	memdev_pair(&dev, &other);
	struct stack_config cfg = { .addr = ME, .prefix_len = 24, .mem_max = mem_max,
				    .quickacks = -1u };
	st = stack_create(&cfg, dev, T0);
	now = T0;
	arp_update(st, PEER, peer_mac);
}

/* The accounting, in every build (the invariant builds check it after
 * each call as well): ring sizes and held buffers add up to mem_used. */
static void check_accounting(void)
{
	uint64_t mem = 0;
	unsigned held = 0;
	for (unsigned i = 0; i < st->tcp.hiwat; i++) {
		const struct tcb *u = &st->tcp.tcb[i];
		if (!u->in_use)
			continue;
		mem += u->sndbuf.size + u->rcvbuf.size + (uint64_t)u->rcv_held.n * PKT_LARGE_SIZE;
		held += u->rcv_held.n;
	}
	CHECK_EQ(mem, nst_mem_used(st));
	CHECK_EQ(held, st->tcp.held_pkts);
	CHECK(held <= pkt_pool_large_in_use());
#ifdef NST_INVARIANTS
	tcp_check_all(st);
#endif
}

/* Active open to PEER:80 with Window Scale 7 both ways: our window is the
 * 128 KB budget. sport: the peer's port (80 + k for several). */
static int open_ws(uint32_t *iss, uint16_t sport)
{
	drain();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK(sd >= 0);
	CHECK_EQ(nst_connect(st, sd, PEER, sport, now), -EINPROGRESS);
	struct out syn, o;
	if (!take(&syn)) {
		CHECK(!"no SYN");
		return sd;
	}
	*iss = syn.seq;
	advance(now + 10 * MS);
	struct seg s = { .flags = SYN | ACK, .seq = PISS, .ack = syn.seq + 1, .wnd = 65535,
			 .sport = sport, .dport = syn.sport };
	opt_mss(&s, 1460);
	opt_ws(&s, 7);
	inject(s);
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(nst_connect(st, sd, PEER, sport, now), 0);
	CHECK_EQ(tcb_of(sd)->rcv_wscale, 7);
	return sd;
}

/* The peer's bytes [off, off + len) of the stream (off from PISS + 1), on
 * sd: one GRO frame (a large packet) when gro, else wire segments of at
 * most GRO bytes (small packets). */
static void peer_data(int sd, uint32_t iss, uint32_t off, uint32_t len, int gro)
{
	struct tcb *t = tcb_of(sd);
	do {
		uint32_t k = gro || len < GRO ? len : GRO;
		struct seg s = { .flags = ACK, .seq = PISS + 1 + off, .ack = iss + 1, .wnd = 65535,
				 .sport = t->rport, .dport = t->lport,
				 .data = (const char *)pat + off, .len = k, .gro = gro ? GRO : 0 };
		inject(s);
		off += k;
		len -= k;
	} while (len);
}

/* recv n bytes (flags), which must all come, and must be the stream's from
 * *off on; *off advances unless MSG_PEEK. */
static void read_exact(int sd, uint32_t *off, uint32_t n, int flags)
{
	static uint8_t buf[PAT_LEN];
	memset(buf, 0xee, n);
	ssize_t r = nst_recv(st, sd, buf, n, flags, now);
	CHECK_EQ(r, n);
	if (r != (ssize_t)n)
		return;
	CHECK(memcmp(buf, pat + *off, n) == 0);
	if (!(flags & NST_MSG_PEEK))
		*off += n;
}

/* The window of the last segment sent (bytes), every segment drained. */
static uint32_t last_wnd(const struct tcb *t)
{
	struct out o;
	uint32_t w = 0;
	while (take(&o))
		w = (uint32_t)o.wnd << t->rcv_wscale;
	return w;
}

/* A GRO frame is held, not copied: the ring stays empty; a small segment
 * after it goes into the held packet's tailroom, and the next frame is
 * held too; reads in pieces cross packets, MSG_PEEK too; consumed packets
 * go back to the pool. With nothing held, a small segment goes into the
 * ring, and a frame behind it is copied there as well. */
TEST(held_then_read_in_pieces)
{
	setup_mem(0);
	uint32_t iss, rd = 0;
	int sd = open_ws(&iss, 80);
	struct tcb *t = tcb_of(sd);
	unsigned large0 = pkt_pool_large_in_use();
	peer_data(sd, iss, 0, 20000, 1);
	CHECK_EQ(st->stat.tcp_rx_held, 1);
	CHECK_EQ(t->rcv_held.n, 1);
	CHECK_EQ(t->rcv_held.len, 20000);
	CHECK_EQ(t->rcvbuf.len, 0);
	CHECK(t->rcvbuf.buf == NULL);                   /* no ring at all */
	CHECK_EQ(t->rcv.nxt, PISS + 1 + 20000);
	CHECK_EQ(pkt_pool_large_in_use(), large0 + 1);
	CHECK_EQ(nst_mem_used(st), PKT_LARGE_SIZE);
	CHECK(nst_poll(st, sd) & NST_POLLIN);
	check_accounting();
	/* a small segment in order: behind the held bytes, in the packet */
	peer_data(sd, iss, 20000, 1000, 0);
	CHECK_EQ(t->rcv_held.n, 1);
	CHECK_EQ(t->rcv_held.len, 21000);
	CHECK(t->rcvbuf.buf == NULL);
	CHECK_EQ(nst_rx_avail(st, sd), 21000);
	/* a large one: held as well */
	peer_data(sd, iss, 21000, 9000, 1);
	CHECK_EQ(st->stat.tcp_rx_held, 2);
	CHECK_EQ(t->rcv_held.n, 2);
	CHECK_EQ(nst_rx_avail(st, sd), 30000);
	CHECK_EQ(nst_mem_used(st), 2ull * PKT_LARGE_SIZE);
	check_accounting();
	/* recv of nothing; peeks from the start, across packets */
	char z;
	CHECK_EQ(nst_recv(st, sd, &z, 0, 0, now), 0);
	read_exact(sd, &rd, 100, NST_MSG_PEEK);
	read_exact(sd, &rd, 25000, NST_MSG_PEEK);
	read_exact(sd, &rd, 30000, NST_MSG_PEEK);
	static uint8_t big[40000];
	CHECK_EQ(nst_recv(st, sd, big, sizeof(big), NST_MSG_PEEK, now), 30000);
	CHECK(memcmp(big, pat, 30000) == 0);
	CHECK_EQ(nst_rx_avail(st, sd), 30000);
	/* reads in pieces: inside the packet, up to its end, across */
	read_exact(sd, &rd, 1, 0);
	read_exact(sd, &rd, 7776, 0);
	CHECK_EQ(t->rcv_held.len, 30000 - 7777);
	CHECK_EQ(pkt_pool_large_in_use(), large0 + 2);
	read_exact(sd, &rd, 13223, 0);                  /* the first packet's last byte */
	CHECK_EQ(t->rcv_held.n, 1);
	CHECK_EQ(pkt_pool_large_in_use(), large0 + 1); /* back in the pool */
	read_exact(sd, &rd, 10, NST_MSG_PEEK);
	read_exact(sd, &rd, 3000, 0);
	read_exact(sd, &rd, 6000, 0);
	CHECK_EQ(t->rcv_held.n, 0);
	CHECK_EQ(pkt_pool_large_in_use(), large0);
	check_accounting();
	/* nothing held: a small segment goes into the ring, and a frame
	 * behind it is copied after it */
	peer_data(sd, iss, 30000, 1000, 0);
	CHECK_EQ(t->rcvbuf.len, 1000);
	peer_data(sd, iss, 31000, 10000, 1);
	CHECK_EQ(t->rcv_held.n, 0);
	CHECK_EQ(t->rcvbuf.len, 11000);
	read_exact(sd, &rd, 500, 0);
	read_exact(sd, &rd, 10500, 0);
	CHECK_EQ(t->rcvbuf.len, 0);
	/* the ring emptied by the read: the next frames are held again */
	peer_data(sd, iss, 41000, 30000, 1);
	peer_data(sd, iss, 71000, 30000, 1);
	CHECK_EQ(t->rcv_held.n, 2);
	CHECK_EQ(st->stat.tcp_rx_held, 4);
	CHECK_EQ(nst_mem_used(st), 2ull * PKT_LARGE_SIZE + t->rcvbuf.size);
	check_accounting();
	/* across two held packets in one read */
	read_exact(sd, &rd, 45000, 0);
	CHECK_EQ(t->rcv_held.n, 1);
	read_exact(sd, &rd, 15000, 0);
	CHECK_EQ(rd, 101000);
	CHECK_EQ(t->rcv_held.n, 0);
	CHECK_EQ(nst_recv(st, sd, big, sizeof(big), 0, now), -EAGAIN);
	CHECK(!(nst_poll(st, sd) & NST_POLLIN));
	CHECK_EQ(pkt_pool_large_in_use(), large0);
	check_accounting();
	nst_close(st, sd, now);
	teardown();
	CHECK_EQ(pkt_pool_large_in_use(), 0);
}

/* Held bytes, then an out-of-order frame (into the ring, at its offset),
 * then the frame that fills the hole (copied: out-of-order bytes wait),
 * then one more (copied: the ring has bytes). The stream reads back
 * exact, in odd pieces. */
TEST(held_then_out_of_order_then_fill)
{
	setup_mem(0);
	uint32_t iss, rd = 0;
	int sd = open_ws(&iss, 80);
	struct tcb *t = tcb_of(sd);
	struct out o;
	peer_data(sd, iss, 0, 10000, 1);
	CHECK_EQ(t->rcv_held.n, 1);
	drain();
	peer_data(sd, iss, 19000, 9000, 1);             /* a hole of 9000 */
	CHECK_EQ(t->n_ooo, 1);
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 1 + 10000);              /* duplicate ACK at once */
	CHECK_EQ(o.nsack, 0);                           /* SACK not negotiated */
	CHECK_EQ(t->rcvbuf.len, 0);
	CHECK_EQ(nst_rx_avail(st, sd), 10000);
	check_accounting();
	/* in order, large, but out-of-order bytes wait in the ring: copied */
	peer_data(sd, iss, 10000, 9000, 1);
	CHECK_EQ(t->n_ooo, 0);
	CHECK_EQ(t->rcv_held.n, 1);
	CHECK_EQ(t->rcvbuf.len, 18000);
	CHECK_EQ(t->rcv.nxt, PISS + 1 + 28000);
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 1 + 28000);
	peer_data(sd, iss, 28000, 12000, 1);
	CHECK_EQ(t->rcv_held.n, 1);
	CHECK_EQ(t->rcvbuf.len, 30000);
	CHECK_EQ(nst_rx_avail(st, sd), 40000);
	check_accounting();
	read_exact(sd, &rd, 7777, 0);
	read_exact(sd, &rd, 7777, NST_MSG_PEEK);
	read_exact(sd, &rd, 7777, 0);
	read_exact(sd, &rd, 7777, 0);
	read_exact(sd, &rd, 40000 - 3 * 7777, 0);
	CHECK_EQ(rd, 40000);
	CHECK_EQ(nst_rx_avail(st, sd), 0);
	/* out of order behind held bytes again, read before the hole fills */
	peer_data(sd, iss, 40000, 10000, 1);
	peer_data(sd, iss, 52000, 8192, 1);
	CHECK_EQ(t->rcv_held.n, 1);
	CHECK_EQ(t->n_ooo, 1);
	read_exact(sd, &rd, 10000, 0);                  /* the held bytes only */
	CHECK_EQ(nst_recv(st, sd, &o, 1, 0, now), -EAGAIN);
	CHECK(t->rcvbuf.buf != NULL);                   /* out-of-order bytes keep the ring */
	peer_data(sd, iss, 50000, 2000, 0);
	CHECK_EQ(t->n_ooo, 0);
	read_exact(sd, &rd, 10192, 0);
	CHECK_EQ(rd, 60192);
	check_accounting();
	nst_close(st, sd, now);
	teardown();
	CHECK_EQ(pkt_pool_large_in_use(), 0);
}

/* What the application sees of the unread bytes, held or in the ring:
 * FIONREAD (nst_rx_avail), POLLIN, Recv-Q (nst_sock_list), SO_MEMINFO's
 * rmem_alloc, and the receive window. */
TEST(unread_counts_held_bytes)
{
	setup_mem(0);
	uint32_t iss, rd = 0;
	int sd = open_ws(&iss, 80);
	struct tcb *t = tcb_of(sd);
	drain();
	uint32_t w0 = tcp_rcv_wnd(t);
	CHECK_EQ(w0, TCP_RMEM_DEF);
	peer_data(sd, iss, 0, 30000, 1);
	CHECK_EQ(t->rcv_held.n, 1);
	CHECK_EQ(nst_rx_avail(st, sd), 30000);
	CHECK(nst_poll(st, sd) & NST_POLLIN);
	struct nst_sock_info si[4];
	int n = nst_sock_list(st, si, 4);
	CHECK_EQ(n, 1);
	CHECK_EQ(si[0].recv_q, 30000);
	uint32_t mi[9];
	unsigned ml = sizeof(mi);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_MEMINFO, mi, &ml), 0);
	CHECK_EQ(mi[0], 30000);
	/* the window is the budget less the unread bytes, held ones
	 * included (rounded up to the scale's unit) */
	CHECK_EQ(tcp_rcv_space(t), TCP_RMEM_DEF - 30000);
	uint32_t w = last_wnd(t);
	CHECK(w >= TCP_RMEM_DEF - 30000 && w < TCP_RMEM_DEF - 30000 + 128);
	CHECK_EQ(w, tcp_rcv_wnd(t));
	read_exact(sd, &rd, 30000, 0);
	CHECK_EQ(nst_rx_avail(st, sd), 0);
	CHECK(!(nst_poll(st, sd) & NST_POLLIN));
	CHECK_EQ(tcp_rcv_space(t), TCP_RMEM_DEF);
	nst_close(st, sd, now);
	teardown();
}

/* The same frames and reads, held and copied (a second connection takes
 * the stack's share of held packets first, so this one copies): the
 * windows advertised, FIONREAD and the bytes are the same. */
#define WSTEPS 12
static void window_run(int copy, uint32_t *wnd, uint32_t *avail)
{
	setup_mem(0);
	uint32_t iss, iss2, rd = 0, rd2 = 0;
	int sd2 = -1;
	if (copy) {
		/* sd2 holds the share: large pool / 4 packets */
		sd2 = open_ws(&iss2, 81);
		CHECK_EQ(set_int(sd2, SOL_SOCKET, SO_RCVBUF, 212992), 0);  /* room for the share */
		unsigned share = pkt_pool_large_size() / 4;
		for (unsigned i = 0; i < share; i++)
			peer_data(sd2, iss2, 9000 * i, 9000, 1);
		CHECK_EQ(tcb_of(sd2)->rcv_held.n, share);
		drain();
	}
	int sd = open_ws(&iss, 80);
	struct tcb *t = tcb_of(sd);
	drain();
	uint64_t limit0 = st->stat.tcp_rx_hold_limit;
	unsigned k = 0;
	static const uint32_t frame[] = { 20000, 30000, 25000 };
	uint32_t off = 0;
	for (unsigned i = 0; i < 3; i++) {
		peer_data(sd, iss, off, frame[i], 1);
		off += frame[i];
		wnd[k] = last_wnd(t);
		avail[k++] = (uint32_t)nst_rx_avail(st, sd);
	}
	CHECK_EQ(t->rcv_held.n, copy ? 0 : 3);
	/* copied: the first at the limit, the others behind ring bytes */
	CHECK_EQ(st->stat.tcp_rx_hold_limit - limit0, copy ? 1 : 0);
	static const uint32_t reads[] = { 5000, 30000, 2, 14998, 25000 };
	for (unsigned i = 0; i < 5; i++) {
		read_exact(sd, &rd, reads[i], 0);
		wnd[k] = last_wnd(t);
		avail[k++] = (uint32_t)nst_rx_avail(st, sd);
	}
	CHECK_EQ(rd, 75000);
	peer_data(sd, iss, off, 64000, 1);
	wnd[k] = last_wnd(t);
	avail[k++] = (uint32_t)nst_rx_avail(st, sd);
	read_exact(sd, &rd, 64000, 0);
	wnd[k] = last_wnd(t);
	avail[k++] = (uint32_t)nst_rx_avail(st, sd);
	CHECK(k <= WSTEPS);
	check_accounting();
	if (copy) {
		read_exact(sd2, &rd2, 9000 * (pkt_pool_large_size() / 4), 0);
		nst_close(st, sd2, now);
	}
	nst_close(st, sd, now);
	teardown();
	CHECK_EQ(pkt_pool_large_in_use(), 0);
}

TEST(window_same_as_the_copy_path)
{
	uint32_t wh[WSTEPS] = { 0 }, ah[WSTEPS] = { 0 }, wc[WSTEPS] = { 0 }, ac[WSTEPS] = { 0 };
	window_run(0, wh, ah);
	window_run(1, wc, ac);
	for (unsigned i = 0; i < WSTEPS; i++) {
		CHECK_EQ(wh[i], wc[i]);
		CHECK_EQ(ah[i], ac[i]);
	}
	CHECK(wh[2] < TCP_RMEM_DEF);                    /* the window did close some */
}

/* close() with unread bytes, held ones alone: a RST, as on Linux
 * (tcp_usr_close), the packets back in the pool, the memory given back. */
TEST(close_with_held_unread_data_resets)
{
	setup_mem(0);
	uint32_t iss;
	int sd = open_ws(&iss, 80);
	struct tcb *t = tcb_of(sd);
	peer_data(sd, iss, 0, 16384, 1);
	peer_data(sd, iss, 16384, 16384, 1);
	CHECK_EQ(t->rcv_held.n, 2);
	CHECK_EQ(t->rcvbuf.len, 0);
	drain();
	CHECK_EQ(nst_close(st, sd, now), 0);
	struct out o;
	CHECK(take(&o));
	CHECK(o.flags & RST);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(pkt_pool_large_in_use(), 0);
	CHECK_EQ(nst_mem_used(st), 0);
	CHECK_EQ(st->tcp.held_pkts, 0);
	check_accounting();
	/* a held packet left by a reset connection goes with the socket */
	sd = open_ws(&iss, 82);
	peer_data(sd, iss, 0, 16384, 1);
	CHECK_EQ(tcb_of(sd)->rcv_held.n, 1);
	struct seg r = { .flags = RST, .seq = PISS + 1 + 16384, .sport = 82,
			 .dport = tcb_of(sd)->lport };
	inject(r);
	CHECK(tcb_of(sd)->done);
	uint32_t rd = 0;
	read_exact(sd, &rd, 100, 0);                    /* still readable, as Linux */
	CHECK_EQ(pkt_pool_large_in_use(), 1);
	nst_close(st, sd, now);
	CHECK_EQ(pkt_pool_large_in_use(), 0);
	CHECK_EQ(nst_mem_used(st), 0);
	teardown();
}

/* Under a memory cap a held packet's buffer (PKT_LARGE_SIZE, not its
 * payload) does not fit: the frame is copied into the ring (counted). */
TEST(memory_cap_copies_instead)
{
	setup_mem(PKT_LARGE_SIZE + 30000);
	uint32_t iss, rd = 0;
	int sd = open_ws(&iss, 80);
	struct tcb *t = tcb_of(sd);
	peer_data(sd, iss, 0, 10000, 1);                /* fits: held */
	CHECK_EQ(t->rcv_held.n, 1);
	CHECK_EQ(nst_mem_used(st), PKT_LARGE_SIZE);
	read_exact(sd, &rd, 10000, 0);
	CHECK_EQ(nst_mem_used(st), 0);
	/* a second connection's unread 20000 take a 32 KB ring */
	uint32_t iss2, rd2 = 0;
	int sd2 = open_ws(&iss2, 81);
	peer_data(sd2, iss2, 0, 20000, 0);
	CHECK_EQ(nst_mem_used(st), 32768);
	/* the buffer would pass the cap now: copied, 16 KB of ring */
	peer_data(sd, iss, 10000, 9000, 1);
	CHECK_EQ(t->rcv_held.n, 0);
	CHECK_EQ(t->rcvbuf.len, 9000);
	CHECK_EQ(st->stat.tcp_rx_hold_limit, 1);
	CHECK_EQ(st->stat.tcp_drop_rcvmem, 0);
	check_accounting();
	read_exact(sd, &rd, 9000, 0);
	read_exact(sd2, &rd2, 20000, 0);
	check_accounting();
	nst_close(st, sd, now);
	nst_close(st, sd2, now);
	teardown();
}

/* The receive queues of the stack hold at most a quarter of the large
 * pool: past it frames are copied (counted); a read that frees a held
 * packet lets the next one be held. */
TEST(pool_share_copies_instead)
{
	setup_mem(0);
	unsigned share = pkt_pool_large_size() / 4;
	uint32_t iss1, iss2, rd1 = 0, rd2 = 0;
	int a = open_ws(&iss1, 80), b = open_ws(&iss2, 81);
	CHECK_EQ(set_int(a, SOL_SOCKET, SO_RCVBUF, 212992), 0);   /* room for the share */
	for (unsigned i = 0; i < share; i++)
		peer_data(a, iss1, 10000 * i, 10000, 1);
	CHECK_EQ(tcb_of(a)->rcv_held.n, share);
	CHECK_EQ(st->tcp.held_pkts, share);
	check_accounting();
	peer_data(b, iss2, 0, 12000, 1);
	CHECK_EQ(tcb_of(b)->rcv_held.n, 0);
	CHECK_EQ(tcb_of(b)->rcvbuf.len, 12000);
	CHECK_EQ(st->stat.tcp_rx_hold_limit, 1);
	read_exact(b, &rd2, 12000, 0);
	read_exact(a, &rd1, 10000, 0);                  /* one packet back */
	CHECK_EQ(st->tcp.held_pkts, share - 1);
	peer_data(b, iss2, 12000, 12000, 1);
	CHECK_EQ(tcb_of(b)->rcv_held.n, 1);
	CHECK_EQ(st->tcp.held_pkts, share);
	check_accounting();
	read_exact(a, &rd1, 10000 * (share - 1), 0);
	read_exact(b, &rd2, 12000, 0);
	CHECK_EQ(st->tcp.held_pkts, 0);
	CHECK_EQ(nst_mem_used(st), tcb_of(b)->rcvbuf.size);   /* b's ring, kept a while */
	advance(now + TCP_RING_IDLE_US);
	CHECK_EQ(nst_mem_used(st), 0);
	nst_close(st, a, now);
	nst_close(st, b, now);
	teardown();
	CHECK_EQ(pkt_pool_large_in_use(), 0);
}

/* A connection's held buffers stay within twice its receive budget: with
 * the first 128 KB, three packets. A fourth frame goes into the last
 * packet's tailroom when it fits there (no new memory), else into the ring
 * (counted either way); the stream stays whole. */
TEST(connection_share_copies_instead)
{
	setup_mem(0);
	uint32_t iss, rd = 0;
	int sd = open_ws(&iss, 80);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(t->rcv_budget, TCP_RMEM_DEF);
	peer_data(sd, iss, 0, 9000, 1);
	peer_data(sd, iss, 9000, 9000, 1);
	peer_data(sd, iss, 18000, 9000, 1);
	CHECK_EQ(t->rcv_held.n, 3);
	peer_data(sd, iss, 27000, 9000, 1);             /* fits the third one's tailroom */
	CHECK_EQ(t->rcv_held.n, 3);
	CHECK_EQ(t->rcv_held.len, 36000);
	CHECK_EQ(t->rcvbuf.len, 0);
	CHECK_EQ(st->stat.tcp_rx_hold_limit, 1);
	read_exact(sd, &rd, 36000, 0);
	/* the third packet nearly full: the fourth frame goes into the ring */
	peer_data(sd, iss, 36000, 9000, 1);
	peer_data(sd, iss, 45000, 9000, 1);
	peer_data(sd, iss, 54000, 60000, 1);
	CHECK_EQ(t->rcv_held.n, 3);
	peer_data(sd, iss, 114000, 10000, 1);
	CHECK_EQ(t->rcv_held.n, 3);
	CHECK_EQ(t->rcvbuf.len, 10000);
	CHECK_EQ(st->stat.tcp_rx_hold_limit, 2);
	CHECK_EQ(nst_rx_avail(st, sd), 88000);
	check_accounting();
	read_exact(sd, &rd, 20000, 0);
	read_exact(sd, &rd, 68000, 0);
	peer_data(sd, iss, 124000, 9000, 1);            /* all read: held again */
	CHECK_EQ(t->rcv_held.n, 1);
	read_exact(sd, &rd, 9000, 0);
	nst_close(st, sd, now);
	teardown();
	CHECK_EQ(pkt_pool_large_in_use(), 0);
}

/* A frame below TCP_HOLD_MIN, or in a small packet, is copied as before. */
TEST(small_frames_are_copied)
{
	setup_mem(0);
	uint32_t iss, rd = 0;
	int sd = open_ws(&iss, 80);
	struct tcb *t = tcb_of(sd);
	peer_data(sd, iss, 0, TCP_HOLD_MIN - 1, 1);
	CHECK_EQ(t->rcv_held.n, 0);
	CHECK_EQ(t->rcvbuf.len, TCP_HOLD_MIN - 1);
	read_exact(sd, &rd, TCP_HOLD_MIN - 1, 0);
	peer_data(sd, iss, rd, 1448, 0);
	CHECK_EQ(t->rcv_held.n, 0);
	read_exact(sd, &rd, 1448, 0);
	peer_data(sd, iss, rd, TCP_HOLD_MIN, 1);
	CHECK_EQ(t->rcv_held.n, 1);
	read_exact(sd, &rd, TCP_HOLD_MIN, 0);
	CHECK_EQ(st->stat.tcp_rx_held, 1);
	CHECK_EQ(st->stat.tcp_rx_hold_limit, 0);
	nst_close(st, sd, now);
	teardown();
}

/* A retransmitted frame that partly overlaps what arrived: the acceptance
 * test trims it and the new bytes (still large) are held from inside the
 * packet, the old ones never delivered twice. Then a FIN after held bytes:
 * the data first, then end of file. */
TEST(trimmed_frame_and_fin_behind_held_bytes)
{
	setup_mem(0);
	uint32_t iss, rd = 0;
	int sd = open_ws(&iss, 80);
	struct tcb *t = tcb_of(sd);
	peer_data(sd, iss, 0, 1000, 0);
	peer_data(sd, iss, 0, 20000, 1);                /* 1000 old, 19000 new */
	CHECK_EQ(t->rcv.nxt, PISS + 1 + 20000);
	CHECK_EQ(t->rcv_held.n, 0);                     /* the ring had bytes: copied */
	read_exact(sd, &rd, 20000, 0);
	peer_data(sd, iss, 19000, 12000, 1);            /* 1000 old, 11000 new: held */
	CHECK_EQ(t->rcv_held.n, 1);
	CHECK_EQ(t->rcv_held.len, 11000);
	struct seg f = { .flags = ACK | FIN, .seq = PISS + 1 + 31000, .ack = iss + 1,
			 .wnd = 65535, .sport = 80, .dport = t->lport };
	inject(f);
	CHECK(t->fin_rcvd);
	read_exact(sd, &rd, 5000, 0);
	read_exact(sd, &rd, 6000, 0);
	CHECK_EQ(rd, 31000);
	char c;
	CHECK_EQ(nst_recv(st, sd, &c, 1, 0, now), 0);  /* EOF after the data */
	check_accounting();
	nst_close(st, sd, now);
	teardown();
	CHECK_EQ(pkt_pool_large_in_use(), 0);
}

int main(void)
{
	pkt_pool_init(4096);
	pkt_pool_init_large(16);        /* a share of 4 held packets */
	pat_init();
	RUN(held_then_read_in_pieces);
	RUN(held_then_out_of_order_then_fill);
	RUN(unread_counts_held_bytes);
	RUN(window_same_as_the_copy_path);
	RUN(close_with_held_unread_data_resets);
	RUN(memory_cap_copies_instead);
	RUN(pool_share_copies_instead);
	RUN(connection_share_copies_instead);
	RUN(small_frames_are_copied);
	RUN(trimmed_frame_and_fin_behind_held_bytes);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
