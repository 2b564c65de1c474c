/* Unit tests of TCP_INFO (nst_tcp_info) and the options tcp_info.c answers:
 * values in our units at exact times, counters after a retransmission, and
 * Linux's values and errnos for TCP_CORK, TCP_QUICKACK, TCP_USER_TIMEOUT,
 * TCP_CONGESTION and SO_RCVLOWAT. The test is the peer (helpers as in
 * tcp_test.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/socket.h>
#include "tests/unit/test.h"
#include "stack/stack_impl.h"
#include "stack/tcp_seq.h"
#include "stack/csum.h"
#include "shim/shim.h"

#define MS 1000ull
#define SEC 1000000ull
#define T0 (1000 * SEC)
#define ME   0xc6120002u        /* 198.18.0.2 */
#define PEER 0xc6120001u        /* 198.18.0.1 */
#define PPORT 40000
static const uint8_t peer_mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 };

static struct netdev *dev, *other;
static struct stack *st;
static uint64_t now;

static void setup(void)
{
	memdev_pair(&dev, &other);
	struct stack_config cfg = { .addr = ME, .prefix_len = 24 };
	st = stack_create(&cfg, dev, T0);
	now = T0;
	arp_update(st, PEER, peer_mac);
}

static void teardown(void)
{
	stack_destroy(st);
	netdev_close(dev);
	netdev_close(other);
	CHECK_EQ(pkt_pool_in_use(), 0);   /* expect_no_leaks */
}

/* Move the clock to t and run the stack (ARP kept fresh: this is a TCP test). */
static void advance(uint64_t t)
{
	now = t;
	st->now_us = t;
	arp_update(st, PEER, peer_mac);
	stack_poll(st, t);
}

struct seg {
	uint32_t seq, ack;
	uint8_t  flags;
	uint16_t wnd;
	uint16_t mss;           /* MSS option, 0 if none */
	uint16_t sport, dport;
	const char *data;
	uint32_t len;
	uint8_t  opt[40];       /* raw options (overrides mss) */
	uint8_t  optlen;
	int      bad_csum;
};

/* Inject one segment from PEER:sport to ME:dport and run the stack. */
static void inject(struct seg s)
{
	struct pkt *p = pkt_alloc();
	REQUIRE(p);
	uint8_t opt[40];
	unsigned olen = 0;
	if (s.optlen) {
		memcpy(opt, s.opt, s.optlen);
		olen = s.optlen;
	} else if (s.mss) {
		opt[0] = 2; opt[1] = 4; opt[2] = (uint8_t)(s.mss >> 8); opt[3] = (uint8_t)s.mss;
		olen = 4;
	}
	unsigned hlen = 20 + olen, tlen = hlen + s.len;
	struct eth_hdr *eh = pkt_put(p, ETH_HDR_LEN);
	memcpy(eh->dst, dev->mac, 6);
	memcpy(eh->src, peer_mac, 6);
	eh->type = htons(ETH_P_IPV4);
	struct ip_hdr *ih = pkt_put(p, IP_HDR_LEN);
	memset(ih, 0, sizeof(*ih));
	ih->ver_ihl = 0x45;
	ih->total_len = htons((uint16_t)(20 + tlen));
	ih->ttl = 64;
	ih->proto = IP_PROTO_TCP;
	ih->src = htonl(PEER);
	ih->dst = htonl(ME);
	ih->csum = htons(csum(ih, 20));
	uint8_t *b = pkt_put(p, tlen);
	struct tcp_hdr *h = (struct tcp_hdr *)b;
	h->sport = htons(s.sport ? s.sport : PPORT);
	h->dport = htons(s.dport ? s.dport : 80);
	h->seq = htonl(s.seq);
	h->ack = htonl(s.ack);
	h->off = (uint8_t)((hlen / 4) << 4);
	h->flags = s.flags;
	h->wnd = htons(s.wnd);
	h->csum = 0;
	h->urp = 0;
	memcpy(b + 20, opt, olen);
	if (s.len)
		memcpy(b + hlen, s.data, s.len);
	uint32_t sum = csum_pseudo(PEER, ME, IP_PROTO_TCP, (uint16_t)tlen);
	h->csum = htons(csum_fold(csum_add(sum, b, tlen)));
	if (s.bad_csum)
		h->csum ^= 0x0101;
	memdev_inject(dev, p);
	stack_poll(st, now);
}

struct out {
	uint32_t seq, ack;
	uint8_t  flags;
	uint16_t wnd, mss, sport, dport;
	uint32_t len;
	uint8_t  data[2048];
};

/* Take the next TCP segment the stack sent (ARP and others skipped). */
static int take(struct out *o)
{
	struct pkt *p;
	while ((p = memdev_take(dev))) {
		const struct eth_hdr *eh = (const struct eth_hdr *)p->data;
		if (ntohs(eh->type) != ETH_P_IPV4) {
			pkt_free(p);
			continue;
		}
		const struct ip_hdr *ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
		if (ih->proto != IP_PROTO_TCP) {
			pkt_free(p);
			continue;
		}
		unsigned tlen = ntohs(ih->total_len) - 20;
		const uint8_t *b = p->data + ETH_HDR_LEN + 20;
		const struct tcp_hdr *h = (const struct tcp_hdr *)b;
		uint32_t sum = csum_pseudo(ntohl(ih->src), ntohl(ih->dst), IP_PROTO_TCP, (uint16_t)tlen);
		CHECK_EQ(csum_fold(csum_add(sum, b, tlen)), 0);
		CHECK_EQ(ntohl(ih->dst), PEER);
		unsigned hlen = (h->off >> 4) * 4u;
		memset(o, 0, sizeof(*o));
		o->seq = ntohl(h->seq);
		o->ack = ntohl(h->ack);
		o->flags = h->flags;
		o->wnd = ntohs(h->wnd);
		o->sport = ntohs(h->sport);
		o->dport = ntohs(h->dport);
		if (hlen >= 24 && b[20] == 2 && b[21] == 4)
			o->mss = (uint16_t)(b[22] << 8 | b[23]);
		o->len = tlen - hlen;
		memcpy(o->data, b + hlen, o->len);
		pkt_free(p);
		return 1;
	}
	return 0;
}

static int none(void)
{
	struct out o;
	if (take(&o)) {
		fprintf(stderr, "  unexpected segment flags %#x seq %u ack %u len %u\n",
			o.flags, o.seq, o.ack, o.len);
		return 0;
	}
	return 1;
}

#define SYN TCP_SYN
#define ACK TCP_ACK
#define FIN TCP_FIN
#define RST TCP_RST
#define PSH TCP_PSH
#define PISS 5000u              /* the peer's ISS */

static struct tcb *tcb_of(int sd) { return &st->tcp.tcb[sd]; }

/* Active open to PEER:80, SYN-ACK after rtt_us. Returns sd; *iss our ISS. */
static int open_active(uint32_t *iss, uint64_t rtt_us, uint16_t peer_wnd)
{
	struct out o;
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK(sd >= 0);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN);
	CHECK_EQ(o.mss, 1460);
	CHECK_EQ(o.dport, 80);
	*iss = o.seq;
	advance(now + rtt_us);
	inject((struct seg){ .flags = SYN | ACK, .seq = PISS, .ack = o.seq + 1, .wnd = peer_wnd,
			     .mss = 1460, .sport = 80, .dport = o.sport });
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.seq, *iss + 1);
	CHECK_EQ(o.ack, PISS + 1);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), 0);
	return sd;
}

static uint16_t lport_of(int sd)
{
	return tcb_of(sd)->lport;
}

/* inject from the peer of an active connection sd */
static struct seg from(int sd, uint8_t flags, uint32_t seq, uint32_t ack, const char *data)
{
	return (struct seg){ .flags = flags, .seq = seq, .ack = ack, .wnd = 65535, .sport = 80,
			     .dport = lport_of(sd), .data = data, .len = data ? (uint32_t)strlen(data) : 0 };
}


TEST(info_established_counts)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct nst_tcp_info ti;
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.state, TCP_ESTABLISHED);
	CHECK_EQ(ti.ca_state, NST_CA_OPEN);
	CHECK_EQ(ti.rtt_us, 10 * MS);           /* RFC 6298 2.2: SRTT <- R */
	CHECK_EQ(ti.rttvar_us, 5 * MS);         /* RTTVAR <- R/2 */
	CHECK_EQ(ti.snd_mss, 1460);
	CHECK_EQ(ti.snd_ssthresh, 0xffffffffu);
	CHECK_EQ(ti.bytes_acked, 1);            /* our SYN, as Linux counts it */
	CHECK_EQ(ti.bytes_received, 0);
	CHECK_EQ(ti.total_retrans, 0);
	CHECK_EQ(ti.segs_out, 2);               /* SYN, ACK */
	CHECK_EQ(ti.segs_in, 1);                /* SYN-ACK */

	/* 5 bytes out, unacked, then lost: one RTO retransmits them */
	CHECK_EQ(nst_send(st, sd, "hello", 5, 0, now), 5);
	struct out o;
	CHECK(take(&o));
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.unacked_segs, 1);
	CHECK_EQ(ti.outq, 5);
	CHECK_EQ(ti.notsent_bytes, 0);
	CHECK_EQ(ti.bytes_sent, 5);
	advance(now + 2 * SEC);
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1);
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.total_retrans, 1);
	CHECK_EQ(ti.retransmits, 1);
	CHECK_EQ(ti.ca_state, NST_CA_LOSS);
	/* the peer acks and sends 3 bytes */
	inject(from(sd, ACK | PSH, PISS + 1, iss + 6, "abc"));
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.bytes_acked, 6);
	CHECK_EQ(ti.bytes_received, 3);
	CHECK_EQ(ti.outq, 0);
	CHECK_EQ(ti.retransmits, 0);
	CHECK_EQ(nst_tcp_info(st, 999, &ti), -EBADF);
	nst_close(st, sd, now);
	while (take(&o))
		;
	teardown();
}

static int getint(int sd, int level, int name, int *v)
{
	unsigned len = sizeof(*v);
	int r = nst_getsockopt(st, sd, level, name, v, &len);
	if (r == 0 && len != sizeof(*v))
		return -1000;
	return r;
}

static int setint(int sd, int level, int name, int v)
{
	return nst_setsockopt(st, sd, level, name, &v, sizeof(v), now);
}

TEST(options_as_linux)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	int v = -1;
	CHECK_EQ(getint(sd, IPPROTO_TCP, TCP_CORK, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(setint(sd, IPPROTO_TCP, TCP_CORK, 5), 0);
	CHECK_EQ(getint(sd, IPPROTO_TCP, TCP_CORK, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(getint(sd, IPPROTO_TCP, TCP_QUICKACK, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(setint(sd, IPPROTO_TCP, TCP_QUICKACK, 0), 0);
	CHECK_EQ(getint(sd, IPPROTO_TCP, TCP_QUICKACK, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(setint(sd, IPPROTO_TCP, TCP_USER_TIMEOUT, -1), -EINVAL);
	CHECK_EQ(setint(sd, IPPROTO_TCP, TCP_USER_TIMEOUT, 3000), 0);
	CHECK_EQ(getint(sd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v), 0);
	CHECK_EQ(v, 3000);
	CHECK_EQ(getint(sd, SOL_SOCKET, SO_RCVLOWAT, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(setint(sd, SOL_SOCKET, SO_RCVLOWAT, -5), 0);
	CHECK_EQ(getint(sd, SOL_SOCKET, SO_RCVLOWAT, &v), 0);
	CHECK_EQ(v, INT_MAX);
	CHECK_EQ(setint(sd, IPPROTO_TCP, TCP_CORK, 1) , 0);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CORK, &v, 2, now), -EINVAL);
	/* TCP_CONGESTION: our NewReno is Linux's "reno" */
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4, now), 0);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5, now), -ENOENT);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "reno", 0, now), -EINVAL);
	char name[32];
	unsigned len = sizeof(name);
	memset(name, 'x', sizeof(name));
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	CHECK_EQ(len, 16);
	CHECK(!strcmp(name, "reno"));
	len = 2;
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	CHECK_EQ(len, 2);
	/* unknown options: the kernel's errno, never a silent success */
	CHECK_EQ(setint(sd, IPPROTO_TCP, 9999, 1), -ENOPROTOOPT);
	CHECK_EQ(getint(sd, IPPROTO_TCP, 9999, &v), -ENOPROTOOPT);
	CHECK_EQ(setint(sd, SOL_SOCKET, 9999, 1), -ENOPROTOOPT);
	CHECK(none());          /* options alone put nothing on the wire */
	nst_close(st, sd, now);
	teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	RUN(info_established_counts);
	RUN(options_as_linux);
	return TEST_SUMMARY();
}
