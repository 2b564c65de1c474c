/* ICMP (RFC 792, RFC 1122 3.2.2): echo reply, error generation (port
 * unreachable, reassembly time exceeded) under a rate limit, and received
 * errors handed to the transport they concern. */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"
#include "csum.h"

struct icmp_hdr {
	uint8_t  type;
	uint8_t  code;
	uint16_t csum;
	uint32_t rest;
} __attribute__((packed));

#define ICMP_ECHO_REPLY   0
#define ICMP_ECHO_REQUEST 8
/* RFC 1812 4.3.2.3 / Linux: an error quotes as much of the offending datagram
 * as fits in 576 bytes. */
#define ICMP_ERR_MAX_LEN  576

#define IN_MULTICAST_NET(a) (((a) >> 28) == 0xe)
#define IN_LOOPBACK_NET(a) (((a) >> 24) == 127)

/* Per-destination token bucket, Linux inet_peer_xrlim_allow: each message
 * costs ICMP_RL_IV_US of credit, credit grows with time up to a burst of
 * ICMP_RL_BURST messages. The table is small; the least recently used
 * destination gives its place to a new one. */
int icmp_ratelimit_allow(struct stack *st, uint32_t dst)
{
	struct icmp_rl_peer *pe = NULL, *old = NULL;
	for (int i = 0; i < ICMP_RL_PEERS; i++) {
		struct icmp_rl_peer *q = &st->udp.rl[i];
		if (q->addr == dst && q->last_us) {
			pe = q;
			break;
		}
		if (!old || q->last_us < old->last_us)
			old = q;
	}
	const uint64_t max = ICMP_RL_BURST * ICMP_RL_IV_US;
	if (!pe) {
		pe = old;
		pe->addr = dst;
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

/* Send an ICMP error about the datagram at ip (ip_len bytes from its IP
 * header). RFC 1122 3.2.2: "An ICMP error message MUST NOT be sent as the
 * result of receiving: an ICMP error message, or a datagram destined to an
 * IP broadcast or IP multicast address, or a link-layer broadcast, or a
 * non-initial fragment, or a datagram whose source address does not define
 * a single host". */
void icmp_send_error(struct stack *st, const uint8_t *ip, unsigned ip_len, int type, int code)
{
	const struct ip_hdr *ih = (const struct ip_hdr *)ip;
	if (ip_len < IP_HDR_LEN)
		return;
	unsigned hlen = (ih->ver_ihl & 0xf) * 4u;
	uint32_t src = ntohl(ih->src), dst = ntohl(ih->dst);
	if (ntohs(ih->frag) & IP_OFFMASK)
		return;
	if (stack_is_bcast(st, dst) || IN_MULTICAST_NET(dst) || src == 0 ||
	    stack_is_bcast(st, src) || IN_MULTICAST_NET(src) ||
	    (!st->cfg.loopback && IN_LOOPBACK_NET(src)))
		return;
	if (ih->proto == IP_PROTO_ICMP) {
		if (ip_len < hlen + 1)
			return;
		uint8_t t = ip[hlen];
		/* only queries (echo, timestamp, info, address mask) may be answered */
		if (t != ICMP_ECHO_REQUEST && t != ICMP_ECHO_REPLY && t != 13 && t != 14 &&
		    t != 15 && t != 16 && t != 17 && t != 18)
			return;
	}
	if (!icmp_ratelimit_allow(st, src)) {
		st->stat.icmp_ratelimited++;
		return;
	}
	unsigned q = ip_len;
	if (q > ICMP_ERR_MAX_LEN - IP_HDR_LEN - sizeof(struct icmp_hdr))
		q = ICMP_ERR_MAX_LEN - IP_HDR_LEN - sizeof(struct icmp_hdr);
	struct pkt *p = pkt_alloc();
	if (!p) {
		st->stat.tx_nobufs++;
		return;
	}
	struct icmp_hdr *ic = pkt_put(p, sizeof(*ic) + q);
	ic->type = (uint8_t)type;
	ic->code = (uint8_t)code;
	ic->csum = 0;
	ic->rest = 0;
	memcpy(ic + 1, ip, q);
	ic->csum = htons(csum(ic, sizeof(*ic) + q));
	if (type == ICMP_DEST_UNREACH)
		st->stat.icmp_unreach_tx++;
	else if (type == ICMP_TIME_EXCEEDED)
		st->stat.icmp_time_exceeded_tx++;
	/* Our own address as source: the offending datagram was sent to us
	 * (for a broadcast we never get here). */
	ipv4_output(st, p, IP_PROTO_ICMP, st->cfg.loopback ? dst : st->cfg.addr, src);
}

/* An error about a datagram we sent: the quoted IP header must be ours
 * (RFC 5927 4.1 checks begin with the addresses; the transport checks the
 * rest, TCP its sequence number). p->data at the ICMP header. */
static void icmp_error_input(struct stack *st, const struct pkt *p, const struct icmp_hdr *ic,
			     const struct ip_hdr *outer)
{
	const uint8_t *in = p->data + sizeof(*ic);
	unsigned n = p->len - sizeof(*ic);
	const struct ip_hdr *ih = (const struct ip_hdr *)in;
	unsigned hlen;
	if (n < IP_HDR_LEN || (ih->ver_ihl >> 4) != 4 || (hlen = (ih->ver_ihl & 0xf) * 4u) < IP_HDR_LEN ||
	    n < hlen + 8) {
		/* RFC 792: the error quotes the header and 64 bits of data */
		st->stat.icmp_drop_bad++;
		return;
	}
	uint32_t src = ntohl(ih->src), dst = ntohl(ih->dst);
	if (!stack_owns(st, src)) {
		st->stat.icmp_err_ignored++;
		return;
	}
	const uint8_t *l4 = in + hlen;
	uint16_t sport = (uint16_t)(l4[0] << 8 | l4[1]), dport = (uint16_t)(l4[2] << 8 | l4[3]);
	struct nst_addr lsrc = nst_addr_from_v4(src), rdst = nst_addr_from_v4(dst);
	/* for IP_RECVERR: who sent it, and (Fragmentation Needed) the next-hop
	 * MTU of RFC 1191 */
	struct icmp_err_ctx c = {
		.offender = nst_addr_from_v4(ntohl(outer->src)), .hops = outer->ttl,
		.tclass = outer->tos, .info = ntohl(ic->rest) & 0xffff,
	};
	switch (ih->proto) {
	case IP_PROTO_UDP:
		c.quote = l4 + UDP_HDR_LEN;
		c.quote_len = n - hlen - UDP_HDR_LEN;
		udp_icmp_error(st, ic->type, ic->code, &lsrc, sport, &rdst, dport, &c);
		break;
	case IP_PROTO_ICMP:
		c.quote = l4;
		c.quote_len = n - hlen;
		icmp_sock_error(st, ic->type, ic->code, &lsrc, &rdst, l4, n - hlen, &c);
		break;
	case IP_PROTO_TCP: {
		uint32_t seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 | l4[7];
		uint16_t mtu = (uint16_t)ntohl(ic->rest);
		tcp_icmp_error(st, ic->type, ic->code, mtu, &lsrc, sport, &rdst, dport, seq);
		break;
	}
	default:
		st->stat.icmp_err_ignored++;
		break;
	}
}

/* Consumes p; p->data at the ICMP header. */
void icmp_input(struct stack *st, struct pkt *p, unsigned hlen, uint32_t src, uint32_t dst)
{
	st->stat.icmp_rx++;
	struct icmp_hdr *ic = (struct icmp_hdr *)p->data;
	if (p->len < sizeof(*ic)) {
		st->stat.icmp_drop_bad++;
		goto drop;
	}
	if (csum_fold(csum_add(0, p->data, p->len)) != 0) {
		st->stat.icmp_drop_csum++;
		goto drop;
	}
	/* a copy for the ICMP sockets (raw ones, the ping socket of a reply) */
	const struct ip_hdr *ih = (const struct ip_hdr *)(p->data - hlen);
	struct nst_addr s6 = nst_addr_from_v4(src), d6 = nst_addr_from_v4(dst);
	icmp_sock_input(st, &s6, &d6, ih->ttl, ih->tos, p->data, p->len);
	switch (ic->type) {
	case ICMP_ECHO_REQUEST:
		/* RFC 1122 3.2.2.6: "Every host MUST implement an ICMP Echo server
		 * function that receives Echo Requests and sends corresponding Echo
		 * Replies." The reply reuses the request in place: same identifier,
		 * sequence and data. */
		ic->type = ICMP_ECHO_REPLY;
		ic->code = 0;
		ic->csum = 0;
		ic->csum = htons(csum(p->data, p->len));
		st->stat.icmp_echo_tx++;
		ipv4_output(st, p, IP_PROTO_ICMP, dst, src);
		return;
	case ICMP_DEST_UNREACH:
		/* RFC 1122 3.2.2.1: "A Destination Unreachable message that is
		 * received MUST be reported to the transport layer." */
		st->stat.icmp_unreach_rx++;
		icmp_error_input(st, p, ic, ih);
		break;
	case ICMP_TIME_EXCEEDED:
		/* RFC 1122 3.2.2.4: "MUST be passed to the transport layer". A
		 * soft error: TCP ignores it (tcp_icmp_error), a datagram socket
		 * with IP_RECVERR queues it (traceroute's hops). */
		st->stat.icmp_time_exceeded_rx++;
		icmp_error_input(st, p, ic, ih);
		break;
	case ICMP_PARAMETERPROB:
		/* RFC 1122 3.2.2.5: "MUST be passed to the transport layer" */
		icmp_error_input(st, p, ic, ih);
		break;
	default:
		/* not implemented: source quench (RFC 6633: ignored), redirect */
		break;
	}
drop:
	pkt_free(p);
}

/* The errno a Destination Unreachable code means, and whether it is a hard
 * error, as Linux's icmp_err_convert table. */
int icmp_unreach_errno(int code, int *hard)
{
	static const struct { uint8_t err, hard; } tab[] = {
		[ICMP_NET_UNREACH]  = { ENETUNREACH, 0 },
		[ICMP_HOST_UNREACH] = { EHOSTUNREACH, 0 },
		[ICMP_PROT_UNREACH] = { ENOPROTOOPT, 1 },
		[ICMP_PORT_UNREACH] = { ECONNREFUSED, 1 },
		[ICMP_FRAG_NEEDED]  = { EMSGSIZE, 0 },
		[5]  = { EOPNOTSUPP, 0 },       /* source route failed */
		[6]  = { ENETUNREACH, 1 },      /* net unknown */
		[7]  = { EHOSTDOWN, 1 },        /* host unknown */
		[8]  = { ENONET, 1 },           /* host isolated */
		[9]  = { ENETUNREACH, 1 },      /* net administratively prohibited */
		[10] = { EHOSTUNREACH, 1 },     /* host administratively prohibited */
		[11] = { ENETUNREACH, 0 },      /* net unreachable for TOS */
		[12] = { EHOSTUNREACH, 0 },     /* host unreachable for TOS */
		[13] = { EHOSTUNREACH, 1 },     /* communication administratively prohibited */
		[14] = { EHOSTUNREACH, 1 },     /* host precedence violation */
		[15] = { EHOSTUNREACH, 1 },     /* precedence cutoff */
	};
	if (code < 0 || code > 15) {
		*hard = 0;
		return 0;
	}
	*hard = tab[code].hard;
	return tab[code].err;
}
