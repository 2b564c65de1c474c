/* IPv4 (RFC 791, RFC 1122 3.2.1): input validation and demultiplexing,
 * output with routing (on-link, default gateway, in-process loopback). */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"
#include "csum.h"

#define IN_LOOPBACK_NET(a) (((a) >> 24) == 127)
#define IN_MULTICAST_NET(a) (((a) >> 28) == 0xe)

static int ipv4_on_link(const struct stack *st, uint32_t a)
{
	return (a & st->netmask) == (st->cfg.addr & st->netmask);
}

int stack_owns(const struct stack *st, uint32_t addr)
{
	if (st->cfg.loopback)
		return IN_LOOPBACK_NET(addr);
	return addr == st->cfg.addr;
}

int stack_routes(const struct stack *st, uint32_t dst)
{
	if (st->cfg.loopback)
		return IN_LOOPBACK_NET(dst);
	if (dst == 0 || dst == 0xffffffff || IN_LOOPBACK_NET(dst) || IN_MULTICAST_NET(dst))
		return 0;
	if (dst == st->cfg.addr)
		return 0;       /* not implemented: talking to our own address off loopback */
	return ipv4_on_link(st, dst) || st->cfg.gw != 0;
}

uint32_t ipv4_src_for(const struct stack *st, uint32_t dst)
{
	(void)dst;
	return st->cfg.addr;
}

/* Consumes p; p->data at the IP header. */
void ipv4_input(struct stack *st, struct pkt *p)
{
	st->stat.ip_rx++;
	const struct ip_hdr *ih = (const struct ip_hdr *)p->data;
	if (p->len < IP_HDR_LEN) {
		st->stat.ip_drop_short++;
		goto drop;
	}
	/* RFC 1122 3.2.1.1: "A datagram whose version number is not 4 MUST be
	 * silently discarded." */
	if ((ih->ver_ihl >> 4) != 4) {
		st->stat.ip_drop_version++;
		goto drop;
	}
	unsigned hlen = (ih->ver_ihl & 0xf) * 4u;
	if (hlen < IP_HDR_LEN || hlen > p->len) {
		st->stat.ip_drop_hdrlen++;
		goto drop;
	}
	unsigned total = ntohs(ih->total_len);
	if (total < hlen || total > p->len) {
		st->stat.ip_drop_len++;
		goto drop;
	}
	/* RFC 1122 3.2.1.2: "A host MUST verify the IP header checksum on every
	 * received datagram and silently discard every datagram that has a bad
	 * checksum." */
	if (csum_fold(csum_add(0, ih, hlen)) != 0) {
		st->stat.ip_drop_csum++;
		goto drop;
	}
	if (ih->ttl == 0) {
		st->stat.ip_drop_ttl++;
		goto drop;
	}
	uint32_t src = ntohl(ih->src), dst = ntohl(ih->dst);
	if (!stack_owns(st, dst)) {
		st->stat.ip_drop_dst++;
		goto drop;
	}
	/* RFC 1122 3.2.1.3: a host MUST silently discard a datagram whose source
	 * is a broadcast, multicast, "this host" or (off loopback) loopback address. */
	if (src == 0 || src == 0xffffffff || IN_MULTICAST_NET(src) ||
	    (!st->cfg.loopback && IN_LOOPBACK_NET(src)) ||
	    (st->netmask && st->netmask != 0xffffffff && ipv4_on_link(st, src) &&
	     (src | st->netmask) == 0xffffffff)) {
		st->stat.ip_drop_src++;
		goto drop;
	}
	/* not implemented: reassembly (RFC 815); fragments are counted and dropped. */
	if (ntohs(ih->frag) & (IP_MF | IP_OFFMASK)) {
		st->stat.ip_drop_frag++;
		goto drop;
	}
	uint8_t proto = ih->proto;
	/* Options (hlen > 20) are skipped; the frame is cut to the IP total length
	 * (Ethernet padding removed). */
	pkt_trim(p, total);
	pkt_pull(p, hlen);
	switch (proto) {
	case IP_PROTO_TCP:
		tcp_input(st, p, src, dst);
		return;
	case IP_PROTO_ICMP:
		icmp_input(st, p, src, dst);
		return;
	default:
		/* not implemented: UDP and ICMP protocol/port unreachable (a later issue) */
		st->stat.ip_drop_proto++;
		goto drop;
	}
drop:
	pkt_free(p);
}

/* Prepend the IP header to p (data at the L4 header) and send it towards dst.
 * Consumes p. */
int ipv4_output(struct stack *st, struct pkt *p, uint8_t proto, uint32_t src, uint32_t dst)
{
	size_t total = p->len + IP_HDR_LEN;
	if (total > st->dev->mtu) {
		pkt_free(p);
		return -EMSGSIZE;       /* not implemented: fragmentation on output */
	}
	uint32_t nh;
	if (st->cfg.loopback) {
		if (!IN_LOOPBACK_NET(dst))
			goto unreach;
		nh = 0;
	} else if (dst != st->cfg.addr && ipv4_on_link(st, dst)) {
		nh = dst;
	} else if (st->cfg.gw && dst != st->cfg.addr) {
		nh = st->cfg.gw;
	} else {
		goto unreach;
	}
	struct ip_hdr *ih = pkt_push(p, IP_HDR_LEN);
	if (!ih) {
		st->stat.tx_nobufs++;
		pkt_free(p);
		return -ENOBUFS;
	}
	ih->ver_ihl = 0x45;
	ih->tos = 0;
	ih->total_len = htons((uint16_t)total);
	ih->id = htons(st->ip_id++);
	/* TCP segments carry DF (path MTU discovery, RFC 1191), as Linux does. */
	ih->frag = htons(proto == IP_PROTO_TCP ? IP_DF : 0);
	ih->ttl = IP_DEFAULT_TTL;
	ih->proto = proto;
	ih->csum = 0;
	ih->src = htonl(src);
	ih->dst = htonl(dst);
	ih->csum = htons(csum(ih, IP_HDR_LEN));
	st->stat.ip_tx++;
	if (st->cfg.loopback)
		return eth_output(st, p, st->dev->mac, ETH_P_IPV4);
	return arp_output(st, p, nh);
unreach:
	st->stat.ip_drop_noroute++;
	pkt_free(p);
	return -ENETUNREACH;
}
