/* TCP memory: lazy, growable rings; the window from the receive budget;
 * receive autotuning (dynamic right-sizing) and SO_RCVBUF locking; the
 * stack-wide memory cap; zero-window peers and readers that do not read;
 * packet pool exhaustion; the socket limit. Exact clock, the test as peer. */
#include "tests/unit/tcp_harness.h"

/* setup() with our own limits (0: the defaults) */
static void setup_cfg(uint64_t mem_max, unsigned max_sockets)
{
	memdev_pair(&dev, &other);
	struct stack_config cfg = { .addr = ME, .prefix_len = 24, .mem_max = mem_max,
				    .max_sockets = max_sockets };
	st = stack_create(&cfg, dev, T0);
	REQUIRE(st);
	now = T0;
	arp_update(st, PEER, peer_mac);
}

/* Active open to PEER:80 whose SYN-ACK (after rtt_us) carries MSS 1460 and
 * Window Scale 7, window 65535. *syn gets our SYN. */
static int open_ws(struct out *syn, uint64_t rtt_us)
{
	int sd = syn_sent(syn);
	struct seg s = { .wnd = 65535 };
	opt_mss(&s, 1460);
	opt_ws(&s, 7);
	syn_ack_in(sd, syn, rtt_us, s);
	return sd;
}

/* The peer sends n bytes of pattern from seq on (1460-byte segments);
 * returns the sequence after them. */
static uint32_t peer_send(int sd, uint32_t seq, uint32_t ack, uint32_t n)
{
	static char data[1460];
	while (n) {
		uint32_t k = n < sizeof(data) ? n : (uint32_t)sizeof(data);
		for (uint32_t i = 0; i < k; i++)
			data[i] = (char)('a' + (seq + i) % 26);
		struct seg s = from(sd, ACK, seq, ack, NULL);
		s.data = data;
		s.len = k;
		inject(s);
		seq += k;
		n -= k;
	}
	return seq;
}

/* Read everything readable, checking the pattern from *seq on. */
static uint32_t app_read_all(int sd, uint32_t *seq)
{
	static char buf[65536];
	uint32_t total = 0;
	ssize_t r;
	while ((r = nst_recv(st, sd, buf, sizeof(buf), 0, now)) > 0) {
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != (char)('a' + (*seq + (uint32_t)i) % 26)) {
				CHECK(!"data corrupted");
				break;
			}
		*seq += (uint32_t)r;
		total += (uint32_t)r;
	}
	return total;
}

/* The window of the last segment we sent, in bytes, and its edge. */
static uint32_t drain_wnd(struct tcb *t, uint32_t *edge)
{
	struct out o;
	uint32_t w = 0;
	int any = 0;
	while (take(&o)) {
		w = (uint32_t)o.wnd << (t->ws_ok ? t->rcv_wscale : 0);
		if (edge)
			*edge = o.ack + w;
		any = 1;
	}
	return any ? w : tcp_rcv_wnd(t);
}

/* An idle established connection, active or accepted, holds no ring. */
TEST(idle_connection_holds_no_ring_memory)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	CHECK(t->sndbuf.buf == NULL && t->sndbuf.size == 0);
	CHECK(t->rcvbuf.buf == NULL && t->rcvbuf.size == 0);
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, l, 0, 81), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .mss = 1460, .sport = 41000,
			     .dport = 81 });
	struct out o;
	CHECK(take(&o));
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 65535,
			     .sport = 41000, .dport = 81 });
	int c = nst_accept(st, l, NULL, NULL, now);
	CHECK(c >= 0);
	CHECK(tcb_of(c)->sndbuf.buf == NULL && tcb_of(c)->rcvbuf.buf == NULL);
	CHECK_EQ(nst_mem_used(st), 0);
	/* the window offered is the budget's, with no ring behind it */
	CHECK(tcp_rcv_wnd(tcb_of(c)) > 0);
	CHECK(nst_poll(st, sd) & NST_POLLOUT);
	teardown();
}

/* A ring appears with the first bytes, grows by powers of two while they
 * pile up (content kept) and is freed once they are read or acknowledged:
 * a small one at once, a larger one when it stayed empty TCP_RING_IDLE_US
 * (a stream keeps its ring). */
TEST(rings_grow_with_data_and_free_after)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	uint32_t pseq = PISS + 1, rseq = PISS + 1;
	pseq = peer_send(sd, pseq, iss + 1, 1000);
	CHECK_EQ(t->rcvbuf.size, TCP_RING_MIN);
	CHECK_EQ(nst_mem_used(st), TCP_RING_MIN);
	pseq = peer_send(sd, pseq, iss + 1, 20000);     /* 21000 held: a 32 KB ring */
	CHECK_EQ(t->rcvbuf.size, 32768);
	CHECK_EQ(t->rcvbuf.len, 21000);
	CHECK_EQ(nst_mem_used(st), 32768);
	CHECK_EQ(app_read_all(sd, &rseq), 21000);
	CHECK_EQ(t->rcvbuf.size, 32768);                /* kept a while: data may follow */
	CHECK(t->timer[TCP_T_MEM] != 0);
	advance(now + TCP_RING_IDLE_US / 2);
	pseq = peer_send(sd, pseq, iss + 1, 100);       /* it does: same ring, no regrowth */
	CHECK_EQ(t->rcvbuf.size, 32768);
	CHECK_EQ(app_read_all(sd, &rseq), 100);
	advance(now + TCP_RING_IDLE_US);
	CHECK(t->rcvbuf.buf == NULL);
	CHECK_EQ(nst_mem_used(st), 0);
	/* a small ring goes at once */
	pseq = peer_send(sd, pseq, iss + 1, 10);
	CHECK_EQ(t->rcvbuf.size, TCP_RING_MIN);
	CHECK_EQ(app_read_all(sd, &rseq), 10);
	CHECK(t->rcvbuf.buf == NULL);
	/* out of order bytes need the ring too, and keep it after a read
	 * that empties the in-order part */
	advance(now + 100 * MS);
	while (take(&(struct out){ 0 }))
		;
	uint32_t hole = pseq;
	peer_send(sd, hole + 1460, iss + 1, 1460);
	CHECK(t->rcvbuf.buf != NULL);
	CHECK_EQ(t->n_ooo, 1);
	pseq = peer_send(sd, hole, iss + 1, 1460) + 1460;
	CHECK_EQ(app_read_all(sd, &rseq), 2920);
	CHECK(t->rcvbuf.buf == NULL);                   /* a 4 KB ring: at once */
	/* the send ring: 5000 bytes, acknowledged, gone */
	static char big[5000];
	memset(big, 's', sizeof(big));
	CHECK_EQ(nst_send(st, sd, big, sizeof(big), 0, now), 5000);
	CHECK_EQ(t->sndbuf.size, 8192);
	CHECK_EQ(nst_mem_used(st), 8192);
	advance(now + 10 * MS);
	inject(from(sd, ACK, pseq, iss + 1 + 2920, NULL));
	CHECK(t->sndbuf.buf != NULL);                   /* 2080 still unacknowledged */
	inject(from(sd, ACK, pseq, iss + 1 + 5000, NULL));
	CHECK_EQ(t->sndbuf.len, 0);
	advance(now + TCP_RING_IDLE_US);
	CHECK(t->sndbuf.buf == NULL);
	CHECK_EQ(nst_mem_used(st), 0);
	teardown();
}

/* With window scaling, the window we offer is the receive budget (128 KB at
 * first, Linux's tcp_rmem[1]), not the ring (there is none yet); our shift
 * is 7, chosen for the 6 MB the budget may reach. */
TEST(window_follows_the_budget)
{
	setup();
	struct out syn;
	int sd = open_ws(&syn, 10 * MS);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(syn.ws, 7);
	CHECK(t->ws_ok);
	CHECK_EQ(t->rcv_budget, TCP_RMEM_DEF);
	CHECK_EQ(tcp_rcv_wnd(t), TCP_RMEM_DEF);
	CHECK(t->rcvbuf.buf == NULL);
	/* a full window is taken: the ring grows to hold it */
	uint32_t pseq = peer_send(sd, PISS + 1, syn.seq + 1, TCP_RMEM_DEF);
	CHECK_EQ(t->rcvbuf.len, TCP_RMEM_DEF);
	CHECK(t->rcvbuf.size <= TCP_RMEM_DEF);
	/* the peer goes on filling whatever we offer while nobody reads: the
	 * window closes; the edge rounded up to the scale unit (never left)
	 * lets in a little more than the budget, less than 1/16 */
	for (int i = 0; i < 200; i++) {
		advance(now + TCP_DELACK_US);
		drain_wnd(t, NULL);
		uint32_t w = tcp_rcv_wnd(t);
		if (w == 0)
			break;
		pseq = peer_send(sd, pseq, syn.seq + 1, w);
	}
	CHECK_EQ(tcp_rcv_wnd(t), 0);
	CHECK(t->rcvbuf.len >= TCP_RMEM_DEF);
	CHECK(t->rcvbuf.len <= TCP_RMEM_DEF + TCP_RMEM_DEF / 16);
	CHECK_EQ(nst_mem_used(st), t->rcvbuf.size);
	teardown();
}

/* Dynamic right-sizing: a reader that takes everything each RTT makes the
 * budget (and the window) grow, RTT after RTT, never past TCP_RMEM_MAX; the
 * bytes arrive intact. */
TEST(autotuning_grows_when_the_reader_keeps_up)
{
	setup();
	struct out syn;
	int sd = open_ws(&syn, 10 * MS);
	struct tcb *t = tcb_of(sd);
	uint32_t pseq = PISS + 1, rseq = PISS + 1, edge = PISS + 1 + tcp_rcv_wnd(t);
	uint32_t last_budget = t->rcv_budget;
	int grew = 0;
	for (int rtt = 0; rtt < 30; rtt++) {
		/* the sender fills the window offered, the reader takes it all */
		uint32_t n = edge - pseq;
		if (n > 8u << 20)
			n = 8u << 20;
		pseq = peer_send(sd, pseq, syn.seq + 1, n);
		app_read_all(sd, &rseq);
		advance(now + 10 * MS);
		drain_wnd(t, &edge);
		CHECK(t->rcv_budget >= last_budget);
		grew += t->rcv_budget > last_budget;
		last_budget = t->rcv_budget;
		CHECK(t->rcv_budget <= TCP_RMEM_MAX);
	}
	CHECK(grew >= 3);     /* faster with the slow-start allowance (autotuning_follows_slow_start) */
	CHECK_EQ(t->rcv_budget, TCP_RMEM_MAX);
	CHECK(st->stat.tcp_rcvbuf_grow >= 3);
	CHECK(edge - pseq > TCP_RMEM_DEF);              /* the window offered grew too */
	CHECK_EQ(rseq, pseq);
	advance(now + TCP_RING_IDLE_US);
	CHECK(t->rcvbuf.buf == NULL);                   /* all read, then idle: no memory held */
	teardown();
}

/* Dynamic right-sizing in slow start (Linux tcp_rcv_space_adjust): the
 * reader took 20 segments in one RTT, then 40 in the next; the budget is
 * twice the last RTT's bytes plus 16 segments, plus twice that times the
 * relative growth (here 100%): the window keeps ahead of a sender whose
 * rate doubles each RTT. */
TEST(autotuning_follows_slow_start)
{
	setup();
	struct out syn;
	int sd = open_ws(&syn, 10 * MS);       /* SRTT 10 ms */
	struct tcb *t = tcb_of(sd);
	uint32_t pseq = PISS + 1, rseq = PISS + 1;
	pseq = peer_send(sd, pseq, syn.seq + 1, 10 * 1460);
	CHECK_EQ(app_read_all(sd, &rseq), 10 * 1460);   /* the measurement starts */
	advance(now + 10 * MS);
	pseq = peer_send(sd, pseq, syn.seq + 1, 20 * 1460);
	CHECK_EQ(app_read_all(sd, &rseq), 20 * 1460);
	/* 2 * 29200 + 16 * 1460 = 81760: below the initial budget */
	CHECK_EQ(t->rcv_budget, TCP_RMEM_DEF);
	advance(now + 10 * MS);
	pseq = peer_send(sd, pseq, syn.seq + 1, 40 * 1460);
	CHECK_EQ(app_read_all(sd, &rseq), 40 * 1460);
	/* 2 * 58400 + 16 * 1460 = 140160, grown by 2 * 100%: 420480 */
	CHECK_EQ(t->rcv_budget, 420480u);
	/* the same again: no growth, the budget stays */
	advance(now + 10 * MS);
	pseq = peer_send(sd, pseq, syn.seq + 1, 40 * 1460);
	CHECK_EQ(app_read_all(sd, &rseq), 40 * 1460);
	CHECK_EQ(t->rcv_budget, 420480u);
	CHECK_EQ(rseq, pseq);
	teardown();
}

/* Our SYN was lost: the handshake gives no RTT sample (Karn) and a
 * connection that only receives never times anything it sends, so SRTT
 * stays unknown. Autotuning then runs on the receiver's own RTT estimate
 * (as Linux's rcv_rtt_est): full-sized segments echo the TSval of the ACK
 * that let them go. Before, the budget stayed at its initial 128 KB for
 * the whole connection. */
TEST(autotuning_after_a_lost_syn)
{
	setup();
	struct out syn, o;
	int sd = syn_sent(&syn);
	advance(now + 1 * SEC);                 /* lost: sent again */
	CHECK(take(&syn));
	advance(now + 10 * MS);
	struct seg sa = syn_with_opts((struct seg){ .flags = SYN | ACK, .seq = PISS, .ack = syn.seq + 1,
						    .wnd = 65535, .sport = 80, .dport = syn.sport },
				      1, 1, 100, syn.tsval);
	static const uint8_t ws[4] = { 1, 3, 3, 7 };  /* NOP, window scale 7 */
	memcpy(sa.opt + sa.optlen, ws, 4);
	sa.optlen += 4;
	inject(sa);
	CHECK(take(&o));
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), 0);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(t->srtt, 0);
	CHECK(t->ws_ok);
	uint32_t pseq = PISS + 1, rseq = PISS + 1, tsval = 101, echo = o.tsval;
	uint32_t m = 1448;                      /* 1460 less the timestamps */
	static char data[1448];
	for (int rtt = 0; rtt < 20; rtt++) {
		/* the peer sends a window's worth, 10 ms after our last ACK */
		uint32_t edge = t->rcv_adv;
		while (seq_lt(pseq, edge)) {
			uint32_t k = edge - pseq < m ? edge - pseq : m;
			for (uint32_t i = 0; i < k; i++)
				data[i] = (char)('a' + (pseq + i) % 26);
			struct seg d = from(sd, ACK, pseq, syn.seq + 1, NULL);
			d.data = data;
			d.len = k;
			uint8_t ts[12] = { 1, 1, 8, 10 };
			uint32_t v = htonl(tsval), e = htonl(echo);
			memcpy(ts + 4, &v, 4);
			memcpy(ts + 8, &e, 4);
			memcpy(d.opt, ts, 12);
			d.optlen = 12;
			inject(d);
			pseq += k;
		}
		app_read_all(sd, &rseq);
		while (take(&o))
			echo = o.tsval;
		advance(now + 10 * MS);
		tsval += 10;
	}
	CHECK_EQ(rseq, pseq);
	CHECK(t->rcv_rtt >= 9 * MS && t->rcv_rtt <= 11 * MS);
	CHECK(st->stat.tcp_rcvbuf_grow >= 3);
	CHECK(t->rcv_budget > 4 * TCP_RMEM_DEF);
	teardown();
}

/* A reader that does not keep up (nothing, or a little per RTT) does not
 * grow its budget: the window closes instead. */
TEST(autotuning_stays_when_the_reader_lags)
{
	setup();
	struct out syn;
	int sd = open_ws(&syn, 10 * MS);
	struct tcb *t = tcb_of(sd);
	uint32_t pseq = PISS + 1, rseq = PISS + 1, edge = PISS + 1 + tcp_rcv_wnd(t);
	static char buf[8192];
	for (int rtt = 0; rtt < 10; rtt++) {
		pseq = peer_send(sd, pseq, syn.seq + 1, edge - pseq);
		/* 8 KB per RTT */
		ssize_t r = nst_recv(st, sd, buf, sizeof(buf), 0, now);
		CHECK(r > 0);
		rseq += (uint32_t)r;
		advance(now + 10 * MS);
		drain_wnd(t, &edge);
	}
	CHECK_EQ(rseq - (PISS + 1), 10 * sizeof(buf));
	CHECK_EQ(t->rcv_budget, TCP_RMEM_DEF);
	CHECK_EQ(st->stat.tcp_rcvbuf_grow, 0);
	/* what is held stays within the budget (and the scale unit's rounding) */
	CHECK(t->rcvbuf.len <= TCP_RMEM_DEF + TCP_RMEM_DEF / 16);
	CHECK(t->rcvbuf.size <= TCP_RMEM_DEF + TCP_RMEM_DEF / 16);
	teardown();
}

/* SO_RCVBUF fixes the budget (Linux SOCK_RCVBUF_LOCK): the shift is chosen
 * for it, the window never passes it, a fast reader does not grow it, and
 * getsockopt still reports the doubled value. */
TEST(so_rcvbuf_locks_the_budget)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	int v = 16384;
	unsigned l = sizeof(v);
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, &l), 0);
	CHECK_EQ(v, 32768);
	struct tcb *t = tcb_of(sd);
	CHECK(t->rcv_locked);
	CHECK_EQ(t->rcv_budget, 16384);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	struct out syn, o;
	CHECK(take(&syn));
	CHECK_EQ(syn.ws, 0);                    /* 16 KB fits the 16-bit field */
	CHECK_EQ(syn.wnd, 16384);
	advance(now + 10 * MS);
	struct seg s = { .flags = SYN | ACK, .seq = PISS, .ack = syn.seq + 1, .wnd = 65535,
			 .sport = 80, .dport = syn.sport };
	uint8_t opt[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	memcpy(s.opt, opt, sizeof(opt));
	s.optlen = sizeof(opt);
	inject(s);
	CHECK(take(&o));
	uint32_t pseq = PISS + 1, rseq = PISS + 1, edge = PISS + 1 + tcp_rcv_wnd(t);
	for (int rtt = 0; rtt < 8; rtt++) {
		CHECK(edge - pseq <= 16384);
		pseq = peer_send(sd, pseq, syn.seq + 1, edge - pseq);
		app_read_all(sd, &rseq);
		advance(now + 10 * MS);
		drain_wnd(t, &edge);
	}
	CHECK_EQ(t->rcv_budget, 16384);
	CHECK(rseq - (PISS + 1) > 8 * 8192);
	teardown();
}

/* The stack-wide cap: a segment that would need ring memory beyond it is
 * dropped and counted (never taken silently), the window is not shrunk,
 * and the retransmission is taken once memory comes back. A send over the
 * cap is refused with EAGAIN (counted), POLLOUT goes, and the writer is
 * woken when memory frees. */
static int notified[8];
static void note(void *ctx, int sd)
{
	(void)ctx;
	if (sd >= 0 && sd < 8)
		notified[sd]++;
}

TEST(memory_cap_drops_counted_and_recovers)
{
	setup_cfg(16384, 0);
	uint32_t iss1, iss2;
	int a = open_active(&iss1, 10 * MS, 65535);
	int b = open_active(&iss2, 10 * MS, 65535);
	CHECK_EQ(nst_mem_max(st), 16384);
	/* a takes all the memory with 9000 unread bytes (a 16 KB ring) */
	uint32_t pa = peer_send(a, PISS + 1, iss1 + 1, 9000);
	CHECK_EQ(nst_mem_used(st), 16384);
	advance(now + 50 * MS);
	while (take(&(struct out){ 0 }))
		;
	uint32_t wnd_before = tcp_rcv_wnd(tcb_of(b));
	/* b's segment is within its window but no memory: dropped, counted,
	 * answered with an ACK that does not take it */
	struct seg s = from(b, ACK, PISS + 1, iss2 + 1, "hello");
	s.dport = lport_of(b);
	inject(s);
	CHECK_EQ(st->stat.tcp_drop_rcvmem, 1);
	CHECK_EQ(tcb_of(b)->rcv.nxt, PISS + 1);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 1);
	CHECK(tcp_rcv_wnd(tcb_of(b)) >= wnd_before);   /* no shrinking */
	/* b's send is refused while memory is short */
	CHECK_EQ(nst_send(st, b, "x", 1, 0, now), -EAGAIN);
	CHECK_EQ(st->stat.tcp_snd_nomem, 1);
	CHECK(!(nst_poll(st, b) & NST_POLLOUT));
	/* a reads: memory back, b's writer is told, the retransmission fits */
	memset(notified, 0, sizeof(notified));
	stack_set_notify(st, note, NULL);
	uint32_t ra = PISS + 1;
	CHECK_EQ(app_read_all(a, &ra), 9000);
	CHECK_EQ(nst_mem_used(st), 0);
	CHECK(notified[b] > 0);
	CHECK(nst_poll(st, b) & NST_POLLOUT);
	inject(s);
	CHECK_EQ(tcb_of(b)->rcv.nxt, PISS + 6);
	CHECK_EQ(nst_send(st, b, "x", 1, 0, now), 1);
	(void)pa;
	stack_set_notify(st, NULL, NULL);
	teardown();
}

/* A peer that never opens its window: what we queue stays within the send
 * budget (and its ring within it), send() says EAGAIN, POLLOUT goes. */
TEST(zero_window_peer_bounds_the_send_ring)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	struct seg z = from(sd, ACK, PISS + 1, iss + 1, NULL);
	z.wnd = 0;
	inject(z);
	static char big[64 * 1024];
	memset(big, 'z', sizeof(big));
	uint64_t total = 0;
	for (int i = 0; i < 100; i++) {
		ssize_t r = nst_send(st, sd, big, sizeof(big), 0, now);
		if (r == -EAGAIN)
			break;
		CHECK(r > 0);
		total += (uint64_t)r;
	}
	CHECK_EQ(total, t->snd_budget);
	CHECK_EQ(t->snd_budget, TCP_WMEM_DEF);
	CHECK(t->sndbuf.size <= t->snd_budget);
	CHECK_EQ(nst_send(st, sd, big, 1, 0, now), -EAGAIN);
	CHECK(!(nst_poll(st, sd) & NST_POLLOUT));
	/* probes go out for minutes; nothing grows */
	for (int i = 0; i < 10; i++) {
		advance(now + 2 * SEC);
		while (take(&(struct out){ 0 }))
			;
		inject(z);
	}
	CHECK(t->sndbuf.size <= t->snd_budget);
	CHECK_EQ(nst_mem_used(st), t->sndbuf.size);
	teardown();
}

/* The packet pool runs dry while we send: nothing crashes, the data stays
 * queued (counted as tx_nobufs), and output resumes from a retry timer
 * (no backoff, no loss response) once packets are back. */
TEST(pool_exhaustion_during_output_recovers)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	unsigned n = pkt_pool_size() + pkt_pool_large_size();
	struct pkt **held = calloc(n + 1, sizeof(*held));
	REQUIRE(held);
	unsigned k = 0;
	struct pkt *p;
	while ((p = pkt_alloc()))
		held[k++] = p;
	while ((p = pkt_alloc_large()))
		held[k++] = p;
	uint64_t nobufs = st->stat.tx_nobufs;
	static char data[3000];
	memset(data, 'p', sizeof(data));
	CHECK_EQ(nst_send(st, sd, data, sizeof(data), 0, now), 3000);
	CHECK(st->stat.tx_nobufs > nobufs);
	CHECK_EQ(t->snd_max, iss + 1);                  /* nothing went out */
	CHECK(t->timer[TCP_T_REXMT] != 0);
	uint64_t rto = t->rto;
	/* still dry at the first retry: it is armed again */
	advance(now + TCP_NOBUFS_RETRY_US);
	CHECK(t->timer[TCP_T_REXMT] != 0);
	CHECK_EQ(t->retries, 0);
	while (k)
		pkt_free(held[--k]);
	free(held);
	advance(now + TCP_NOBUFS_RETRY_US);
	struct out o;
	uint32_t got = 0;
	while (take(&o))
		got += o.len;
	CHECK_EQ(got, 3000);
	CHECK_EQ(t->retries, 0);
	CHECK_EQ(t->rto, rto);
	CHECK_EQ(st->stat.tcp_rto, 0);
	teardown();
}

/* The socket table's limit is the process's (EMFILE, like RLIMIT_NOFILE);
 * accept beyond it says EMFILE too, and closing one makes room. */
TEST(socket_beyond_the_limit_is_emfile)
{
	setup_cfg(0, 4);
	int sd[4];
	for (int i = 0; i < 4; i++) {
		sd[i] = nst_socket(st, NST_SOCK_STREAM);
		CHECK(sd[i] >= 0);
	}
	CHECK_EQ(nst_socket(st, NST_SOCK_STREAM), -EMFILE);
	CHECK_EQ(nst_close(st, sd[3], now), 0);
	/* a listener with a connection waiting, and no sd left for it */
	CHECK_EQ(nst_bind(st, sd[0], 0, 80), 0);
	CHECK_EQ(nst_listen(st, sd[0], 8, now), 0);
	sd[3] = nst_socket(st, NST_SOCK_STREAM);
	CHECK(sd[3] >= 0);
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .mss = 1460, .sport = 41000 });
	struct out o;
	CHECK(take(&o));
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 65535,
			     .sport = 41000 });
	CHECK_EQ(nst_accept(st, sd[0], NULL, NULL, now), -EMFILE);
	CHECK_EQ(nst_close(st, sd[1], now), 0);
	CHECK(nst_accept(st, sd[0], NULL, NULL, now) >= 0);
	teardown();
}

/* Out-of-order data cannot pass the window: a segment beyond the right
 * edge is not kept and costs no memory. */
TEST(out_of_order_bounded_by_the_window)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	uint32_t wnd = tcp_rcv_wnd(t);
	peer_send(sd, PISS + 1 + wnd + 1000, iss + 1, 1000);
	CHECK_EQ(t->n_ooo, 0);
	CHECK(t->rcvbuf.buf == NULL);
	CHECK_EQ(nst_mem_used(st), 0);
	/* just inside: kept, ring no larger than the budget */
	peer_send(sd, PISS + 1 + wnd - 1000, iss + 1, 1000);
	CHECK_EQ(t->n_ooo, 1);
	CHECK(t->rcvbuf.size <= t->rcv_budget);
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(idle_connection_holds_no_ring_memory);
	RUN(rings_grow_with_data_and_free_after);
	RUN(window_follows_the_budget);
	RUN(autotuning_grows_when_the_reader_keeps_up);
	RUN(autotuning_follows_slow_start);
	RUN(autotuning_after_a_lost_syn);
	RUN(autotuning_stays_when_the_reader_lags);
	RUN(so_rcvbuf_locks_the_budget);
	RUN(memory_cap_drops_counted_and_recovers);
	RUN(zero_window_peer_bounds_the_send_ring);
	RUN(pool_exhaustion_during_output_recovers);
	RUN(socket_beyond_the_limit_is_emfile);
	RUN(out_of_order_bounded_by_the_window);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
