/* ICMPv6 (RFC 4443): echo replies, error generation under a rate limit,
 * received errors handed to the transport they concern (Packet Too Big
 * also lowers the path MTU, RFC 8201), and Neighbor Discovery messages
 * handed to nd6.c. */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"
#include "csum.h"

struct icmp6_hdr {
	uint8_t  type;
	uint8_t  code;
	uint16_t csum;
	uint32_t data;          /* MTU, pointer, or echo identifier and sequence */
} __attribute__((packed));

int icmp6_output(struct stack *st, struct pkt *p, const struct nst_addr *src, const struct nst_addr *dst,
		 uint8_t hop_limit)
{
	struct icmp6_hdr *ic = (struct icmp6_hdr *)p->data;
	ic->csum = 0;
	/* RFC 4443 2.3: the checksum covers the message and the pseudo-header
	 * (csum_fold gives the one's complement of the sum). */
	uint16_t c = csum_fold(csum_add(csum_pseudo6(src, dst, IP6_NH_ICMPV6, p->len), p->data, p->len));
	ic->csum = htons(c);
	p->ip_ttl = hop_limit;
	return ipv6_output_frag(st, p, IP6_NH_ICMPV6, src, dst);
}

/* Per-destination token bucket, the shape of the ICMPv4 one (icmp.c, Linux
 * icmpv6_xrlim_allow with net.ipv6.icmp.ratelimit 1000 ms): each error
 * costs ICMP_RL_IV_US of credit, credit grows with time up to a burst of
 * ICMP_RL_BURST. RFC 4443 2.4 (f): "an IPv6 node MUST limit the rate of
 * ICMPv6 error messages it originates". */
static int icmp6_ratelimit_allow(struct stack *st, const struct nst_addr *dst)
{
	struct icmp6_rl_peer *pe = NULL, *old = NULL;
	for (int i = 0; i < ICMP6_RL_PEERS; i++) {
		struct icmp6_rl_peer *q = &st->ip6.rl[i];
		if (q->last_us && nst_addr_eq(&q->addr, dst)) {
			pe = q;
			break;
		}
		if (!old || q->last_us < old->last_us)
			old = q;
	}
	const uint64_t max = ICMP_RL_BURST * ICMP_RL_IV_US;
	if (!pe) {
		pe = old;
		pe->addr = *dst;
		pe->tokens = max;
		pe->last_us = st->now_us ? st->now_us : 1;
	}
	uint64_t tok = pe->tokens + (st->now_us - pe->last_us);
	if (tok > max)
		tok = max;
	pe->last_us = st->now_us ? st->now_us : 1;
	if (tok >= ICMP_RL_IV_US) {
		pe->tokens = tok - ICMP_RL_IV_US;
		return 1;
	}
	pe->tokens = tok;
	return 0;
}

/* RFC 4443 2.4 (e): "An ICMPv6 error message MUST NOT be originated as a
 * result of receiving the following: (e.1) An ICMPv6 error message. (e.2)
 * An ICMPv6 Redirect message. (e.3) A packet destined to an IPv6 multicast
 * address. (There are two exceptions to this rule: (1) the Packet Too Big
 * Message ... and (2) the Parameter Problem Message, Code 2 ...) ... (e.6) A
 * packet whose source address does not uniquely identify a single node".
 * Not implemented: (e.4), (e.5) (link-layer multicast or broadcast of a
 * unicast packet: the frame is gone by now). */
void icmp6_send_error(struct stack *st, const uint8_t *ip6, unsigned len, int type, int code,
		      uint32_t info)
{
	if (len < IP6_HDR_LEN)
		return;
	const struct ip6_hdr *ih = (const struct ip6_hdr *)ip6;
	struct nst_addr src, dst, me;
	memcpy(src.b, ih->src, 16);
	memcpy(dst.b, ih->dst, 16);
	if (nst_addr_is_unspec(&src) || ip6_is_mcast(&src))
		return;
	if (ip6_is_mcast(&dst) && type != ICMP6_PACKET_TOO_BIG &&
	    !(type == ICMP6_PARAM_PROB && code == ICMP6_PARAMPROB_OPTION))
		return;
	uint8_t proto;
	unsigned l4;
	if (ip6_find_l4(ip6, len, &proto, &l4) == 0 && proto == IP6_NH_ICMPV6 && l4 < len &&
	    (ip6[l4] < 128 || ip6[l4] == ND_REDIRECT))
		return;
	/* RFC 4443 2.2: "If the message is a response to a message sent to
	 * one of the node's unicast addresses, the Source Address of the reply
	 * MUST be that same address." */
	if (stack_owns6(st, &dst))
		me = dst;
	else if (ipv6_src_for(st, &src, &me) < 0)
		return;
	if (!icmp6_ratelimit_allow(st, &src)) {
		st->stat.icmp6_ratelimited++;
		return;
	}
	/* RFC 4443 2.4 (c): "as much of invoking packet as possible without the
	 * ICMPv6 packet exceeding the minimum IPv6 MTU". */
	unsigned q = len;
	if (q > IP6_MIN_MTU - IP6_HDR_LEN - sizeof(struct icmp6_hdr))
		q = IP6_MIN_MTU - IP6_HDR_LEN - sizeof(struct icmp6_hdr);
	struct pkt *p = pkt_alloc();
	if (!p) {
		st->stat.tx_nobufs++;
		return;
	}
	struct icmp6_hdr *ic = pkt_put(p, sizeof(*ic) + q);
	ic->type = (uint8_t)type;
	ic->code = (uint8_t)code;
	ic->data = htonl(info);
	memcpy(ic + 1, ip6, q);
	if (type == ICMP6_DST_UNREACH)
		st->stat.icmp6_unreach_tx++;
	else if (type == ICMP6_TIME_EXCEEDED)
		st->stat.icmp6_time_exceeded_tx++;
	else if (type == ICMP6_PARAM_PROB)
		st->stat.icmp6_param_prob_tx++;
	icmp6_output(st, p, &me, &src, 0);
}

/* An error about a packet we sent (RFC 4443 2.4 (d): "the upper-layer
 * protocol type is extracted from the original packet ... and used to
 * select the appropriate upper-layer process"). The quoted source must be
 * ours (RFC 5927 4.1; the transport checks the rest). p->data at the
 * ICMPv6 header. */
static void icmp6_error_input(struct stack *st, const struct pkt *p, const struct icmp6_hdr *ic,
			      const struct nst_addr *from, uint8_t hop_limit)
{
	const uint8_t *in = p->data + sizeof(*ic);
	unsigned n = p->len - sizeof(*ic);
	uint8_t proto;
	unsigned l4;
	if (n < IP6_HDR_LEN || (in[0] >> 4) != 6) {
		st->stat.icmp6_drop_bad++;
		return;
	}
	struct nst_addr src, dst;
	memcpy(src.b, in + 8, 16);
	memcpy(dst.b, in + 24, 16);
	if (!stack_owns6(st, &src)) {
		st->stat.icmp6_err_ignored++;
		return;
	}
	uint32_t info = ntohl(ic->data);
	if (ic->type == ICMP6_PACKET_TOO_BIG)
		ipv6_pmtu_update(st, &dst, info);
	if (ip6_find_l4(in, n, &proto, &l4) < 0 || l4 + 8 > n) {
		st->stat.icmp6_err_ignored++;
		return;
	}
	const uint8_t *t = in + l4;
	uint16_t sport = (uint16_t)(t[0] << 8 | t[1]), dport = (uint16_t)(t[2] << 8 | t[3]);
	/* for IPV6_RECVERR: who sent it and its 32-bit field (MTU, pointer) */
	struct icmp_err_ctx c = { .offender = *from, .hops = hop_limit, .info = info };
	switch (proto) {
	case IP6_NH_TCP: {
		uint32_t seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
		uint32_t mtu = ic->type == ICMP6_PACKET_TOO_BIG ? ipv6_mtu(st, &dst) : 0;
		tcp_icmp6_error(st, ic->type, ic->code, mtu, &src, sport, &dst, dport, seq);
		break;
	}
	case IP6_NH_UDP:
		c.quote = t + UDP_HDR_LEN;
		c.quote_len = n - l4 - UDP_HDR_LEN;
		udp_icmp6_error(st, ic->type, ic->code, &src, sport, &dst, dport, &c);
		break;
	case IP6_NH_ICMPV6:
		c.quote = t;
		c.quote_len = n - l4;
		icmp_sock_error(st, ic->type, ic->code, &src, &dst, t, n - l4, &c);
		break;
	default:
		st->stat.icmp6_err_ignored++;
		break;
	}
}

/* Consumes p; p->data at the ICMPv6 header. */
void icmp6_input(struct stack *st, struct pkt *p, const struct nst_addr *src,
		 const struct nst_addr *dst, uint8_t hop_limit)
{
	st->stat.icmp6_rx++;
	struct icmp6_hdr *ic = (struct icmp6_hdr *)p->data;
	if (p->len < 4) {
		st->stat.icmp6_drop_bad++;
		goto drop;
	}
	/* RFC 4443 2.4 (a), 2.3: a message with a bad checksum is discarded. */
	if (csum_fold(csum_add(csum_pseudo6(src, dst, IP6_NH_ICMPV6, p->len), p->data, p->len)) != 0) {
		st->stat.icmp6_drop_csum++;
		goto drop;
	}
	/* a copy for the ICMP sockets (raw ones, the ping socket of a reply) */
	icmp_sock_input(st, src, dst, hop_limit, 0, p->data, p->len);
	switch (ic->type) {
	case ICMP6_ECHO_REQUEST: {
		if (p->len < sizeof(*ic)) {
			st->stat.icmp6_drop_bad++;
			goto drop;
		}
		/* RFC 4443 4.1: "Every node MUST implement an ICMPv6 Echo
		 * responder function that receives Echo Requests and originates
		 * corresponding Echo Replies." 4.2: the reply's source is the
		 * request's destination if unicast; for a multicast request (Linux
		 * answers those too) the address selection picks it. */
		struct nst_addr me;
		if (ip6_is_mcast(dst)) {
			if (ipv6_src_for(st, src, &me) < 0)
				goto drop;
		} else {
			me = *dst;
		}
		struct nst_addr to = *src;
		ic->type = ICMP6_ECHO_REPLY;
		ic->code = 0;
		p->ip_tos = 0;
		st->stat.icmp6_echo_tx++;
		icmp6_output(st, p, &me, &to, 0);
		return;
	}
	case ICMP6_DST_UNREACH:
	case ICMP6_PACKET_TOO_BIG:
	case ICMP6_TIME_EXCEEDED:
	case ICMP6_PARAM_PROB:
		if (p->len < sizeof(*ic)) {
			st->stat.icmp6_drop_bad++;
			goto drop;
		}
		if (ic->type == ICMP6_DST_UNREACH)
			st->stat.icmp6_unreach_rx++;
		else if (ic->type == ICMP6_PACKET_TOO_BIG)
			st->stat.icmp6_ptb_rx++;
		else if (ic->type == ICMP6_TIME_EXCEEDED)
			st->stat.icmp6_time_exceeded_rx++;
		else
			st->stat.icmp6_param_prob_rx++;
		icmp6_error_input(st, p, ic, src, hop_limit);
		break;
	case ND_ROUTER_SOLICIT:
	case ND_ROUTER_ADVERT:
	case ND_NEIGHBOR_SOLICIT:
	case ND_NEIGHBOR_ADVERT:
	case ND_REDIRECT:
		nd6_input(st, p, src, dst, hop_limit);
		return;
	default:
		/* RFC 4443 2.4 (a), (b): an unknown error type goes to the upper
		 * layer, an unknown informational one is discarded. Not
		 * implemented: errors of unknown types (no transport takes
		 * them); MLD queries (RFC 3810: we send no reports). */
		st->stat.icmp6_other_rx++;
		break;
	}
drop:
	pkt_free(p);
}
