/* Socket options with an effect on the wire: IP_TOS and IP_TTL set on a TCP
 * or UDP socket appear in the IPv4 header of its packets (TCP keeps its ECN
 * bits out of IP_TOS, as Linux); and the read-back rules of stack/sockopt.c
 * (IP's one-byte answers, TCP_DEFER_ACCEPT in retransmissions, TCP_SYNCNT
 * bounding our SYN retransmissions). */
#include <linux/udp.h>
#include "tests/unit/tcp_harness.h"

/* The IPv4 header of the next IPv4 frame the stack sent (ARP skipped);
 * 0 when there is none. */
static int take_ip(struct ip_hdr *out, uint8_t proto)
{
	struct pkt *p;
	while ((p = memdev_take(dev))) {
		const struct eth_hdr *eh = (const struct eth_hdr *)p->data;
		const struct ip_hdr *ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
		if (ntohs(eh->type) != ETH_P_IPV4 || ih->proto != proto) {
			pkt_free(p);
			continue;
		}
		*out = *ih;
		CHECK_EQ(csum(ih, IP_HDR_LEN), 0);
		pkt_free(p);
		return 1;
	}
	return 0;
}

TEST(tcp_tos_ttl_in_header)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK(sd >= 0);
	/* 0x13: the ECN bits (0x3) are TCP's own, Linux keeps them out */
	CHECK_EQ(set_int(sd, IPPROTO_IP, IP_TOS, 0x13), 0);
	CHECK_EQ(get_int(sd, IPPROTO_IP, IP_TOS), 0x10);
	CHECK_EQ(set_int(sd, IPPROTO_IP, IP_TTL, 33), 0);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	struct ip_hdr ih;
	CHECK(take_ip(&ih, IP_PROTO_TCP));              /* SYN */
	CHECK_EQ(ih.tos, 0x10);
	CHECK_EQ(ih.ttl, 33);
	/* changed on an established connection: the next segment has it */
	struct tcb *t = tcb_of(sd);
	inject((struct seg){ .flags = SYN | ACK, .seq = PISS, .ack = t->iss + 1, .wnd = 65535,
			     .mss = 1460, .sport = 80, .dport = t->lport });
	CHECK(take_ip(&ih, IP_PROTO_TCP));              /* ACK */
	CHECK_EQ(ih.tos, 0x10);
	CHECK_EQ(ih.ttl, 33);
	CHECK_EQ(set_int(sd, IPPROTO_IP, IP_TOS, 0x20), 0);
	CHECK_EQ(set_int(sd, IPPROTO_IP, IP_TTL, -1), 0);    /* back to the default */
	CHECK_EQ(get_int(sd, IPPROTO_IP, IP_TTL), 64);
	CHECK_EQ(nst_send(st, sd, "abc", 3, 0, now), 3);
	CHECK(take_ip(&ih, IP_PROTO_TCP));
	CHECK_EQ(ih.tos, 0x20);
	CHECK_EQ(ih.ttl, IP_DEFAULT_TTL);
	/* IP_TOS sets the priority too (rt_tos2priority: 0x10 interactive) */
	CHECK_EQ(set_int(sd, IPPROTO_IP, IP_TOS, 0x10), 0);
	CHECK_EQ(get_int(sd, SOL_SOCKET, SO_PRIORITY), 6);
	nst_close_all(st, 0);
	while (take_ip(&ih, IP_PROTO_TCP))
		;
	teardown();
}

TEST(tcp_listener_child_inherits_tos)
{
	setup();
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(set_int(l, IPPROTO_IP, IP_TOS, 0x08), 0);
	CHECK_EQ(set_int(l, IPPROTO_IP, IP_TTL, 7), 0);
	CHECK_EQ(nst_bind(st, l, ME, 80), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .mss = 1460,
			     .sport = PPORT, .dport = 80 });
	struct ip_hdr ih;
	CHECK(take_ip(&ih, IP_PROTO_TCP));              /* SYN-ACK */
	CHECK_EQ(ih.tos, 0x08);
	CHECK_EQ(ih.ttl, 7);
	nst_close_all(st, 0);
	while (take_ip(&ih, IP_PROTO_TCP))
		;
	teardown();
}

TEST(udp_tos_ttl_in_header)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_DGRAM);
	CHECK(sd >= 0);
	CHECK_EQ(set_int(sd, IPPROTO_IP, IP_TOS, 0x13), 0);
	CHECK_EQ(get_int(sd, IPPROTO_IP, IP_TOS), 0x13);        /* UDP: all 8 bits */
	CHECK_EQ(set_int(sd, IPPROTO_IP, IP_TTL, 200), 0);
	CHECK_EQ(nst_sendto(st, sd, "x", 1, 0, 1, PEER, 53, now), 1);
	struct ip_hdr ih;
	CHECK(take_ip(&ih, IP_PROTO_UDP));
	CHECK_EQ(ih.tos, 0x13);
	CHECK_EQ(ih.ttl, 200);
	/* a datagram larger than the MTU: every fragment carries them */
	static char big[3000];
	CHECK_EQ(nst_sendto(st, sd, big, sizeof(big), 0, 1, PEER, 53, now), (long)sizeof(big));
	int n = 0;
	while (take_ip(&ih, IP_PROTO_UDP)) {
		CHECK_EQ(ih.tos, 0x13);
		CHECK_EQ(ih.ttl, 200);
		n++;
	}
	CHECK_EQ(n, 3);
	/* the stack's own packets (a port unreachable) keep TOS 0, TTL 64 */
	nst_close_all(st, 0);
	teardown();
}

TEST(read_back_rules)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	/* IP: a one-byte buffer gets one byte (do_ip_getsockopt) */
	CHECK_EQ(set_int(sd, IPPROTO_IP, IP_TTL, 33), 0);
	unsigned char c = 0;
	unsigned len = 2;
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_IP, IP_TTL, &c, &len), 0);
	CHECK_EQ(len, 1);
	CHECK_EQ(c, 33);
	/* ... and takes one byte */
	c = 44;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_IP, IP_TTL, &c, 1, now), 0);
	CHECK_EQ(get_int(sd, IPPROTO_IP, IP_TTL), 44);
	/* other levels want an int */
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_MARK, &c, 1, now), -EINVAL);
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_MARK, NULL, 4, now), -EFAULT);
	/* TCP_DEFER_ACCEPT: seconds become SYN-ACK retransmissions */
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5), 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_DEFER_ACCEPT), 7);
	/* the other transport's level */
	CHECK_EQ(set_int(sd, IPPROTO_UDP, UDP_CORK, 1), -ENOPROTOOPT);
	int v;
	len = sizeof(v);
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_UDP, UDP_CORK, &v, &len), -EOPNOTSUPP);
	/* TCP_CC_INFO: reno and cubic have no report, 0 bytes (as Linux) */
	char cc[64];
	len = sizeof(cc);
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_TCP, TCP_CC_INFO, cc, &len), 0);
	CHECK_EQ(len, 0);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_CC_INFO, 1), -ENOPROTOOPT);
	nst_close(st, sd, now);
	teardown();
}

/* TCP_NOTSENT_LOWAT (Linux tcp_stream_memory_free): a send queues what
 * can leave at once plus whole size_goal chunks (half the peer's largest
 * window, in segments) until the unsent bytes reach the mark; POLLOUT only
 * while twice the unsent bytes are below it. The stack-wide default stands
 * in for the sysctl. */
TEST(notsent_lowat_bounds_unsent_bytes)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	static char buf[100000];
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 4000), 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_NOTSENT_LOWAT), 4000);
	CHECK(nst_poll(st, sd) & NST_POLLOUT);
	/* 10 segments leave (cwnd), then one chunk of 32767 / 1460 * 1460 */
	CHECK_EQ(nst_send(st, sd, buf, sizeof(buf), 0, now), 14600 + 32120);
	CHECK(!(nst_poll(st, sd) & NST_POLLOUT));
	CHECK_EQ(nst_send(st, sd, buf, 1, 0, now), -EAGAIN);
	drain();
	/* ACKs open cwnd; POLLOUT once 2 * unsent < 4000 */
	uint32_t acked = 0;
	while (tcp_snd_end(t) - t->snd_max >= 2000) {
		CHECK(!(nst_poll(st, sd) & NST_POLLOUT));
		advance(now + 10 * MS);
		acked += 2920;
		inject(from(sd, ACK, PISS + 1, iss + 1 + acked, NULL));
		drain();
	}
	CHECK(nst_poll(st, sd) & NST_POLLOUT);
	/* without the option the stack-wide default applies; 0 means none */
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 0), 0);
	nst_set_notsent_lowat(st, 4000);
	CHECK_EQ(nst_send(st, sd, buf, sizeof(buf), 0, now) > 0, 1);
	CHECK_EQ(nst_send(st, sd, buf, 1, 0, now), -EAGAIN);
	CHECK(!(nst_poll(st, sd) & NST_POLLOUT));
	nst_set_notsent_lowat(st, 0);
	CHECK(nst_poll(st, sd) & NST_POLLOUT);
	nst_close(st, sd, now);
	drain();
	teardown();
}

TEST(syncnt_bounds_syn_retries)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_SYNCNT, 1), 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_SYNCNT), 1);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN);
	advance(now + 1 * SEC);                 /* first retransmission */
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN);
	advance(now + 2 * SEC);                 /* no second one: the connect fails */
	CHECK(none());
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -ETIMEDOUT);
	nst_close(st, sd, now);
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(tcp_tos_ttl_in_header);
	RUN(tcp_listener_child_inherits_tos);
	RUN(udp_tos_ttl_in_header);
	RUN(read_back_rules);
	RUN(syncnt_bounds_syn_retries);
	RUN(notsent_lowat_bounds_unsent_bytes);
	return TEST_SUMMARY();
}
