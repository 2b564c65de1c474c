/* IPv4 (RFC 791, RFC 1122 3.2.1): input validation and demultiplexing,
 * output with routing (on-link, default gateway, in-process loopback,
 * broadcast). Fragments go to ip_frag.c in both directions. */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"
#include "csum.h"
#include "ip6.h"

#define IN_LOOPBACK_NET(a) (((a) >> 24) == 127)
#define IN_MULTICAST_NET(a) (((a) >> 28) == 0xe)

static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

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

/* RFC 1122 3.2.1.3: the limited broadcast {-1, -1} and the directed
 * broadcast of our own subnet {<Network-number>, -1}. */
int stack_is_bcast(const struct stack *st, uint32_t addr)
{
	if (st->cfg.loopback)
		return 0;
	if (addr == 0xffffffff)
		return 1;
	return st->netmask && st->netmask != 0xffffffff && ipv4_on_link(st, addr) &&
	       (addr | st->netmask) == 0xffffffff;
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

/* Hand p to its transport. Consumes p; p->data at the L4 header, the IP
 * header (hlen bytes) just in front. Broadcasts go to UDP only. */
void ipv4_demux(struct stack *st, struct pkt *p, unsigned hlen, uint8_t proto,
		uint32_t src, uint32_t dst, int bcast)
{
	if (bcast && proto != IP_PROTO_UDP) {
		/* TCP never takes broadcasts; ICMP echo to a broadcast is ignored
		 * like Linux's icmp_echo_ignore_broadcasts (RFC 1122 3.2.2.6 MAY). */
		st->stat.ip_drop_bcast++;
		pkt_free(p);
		return;
	}
	switch (proto) {
	case IP_PROTO_TCP: {
		struct nst_addr s6 = nst_addr_from_v4(src), d6 = nst_addr_from_v4(dst);
		tcp_input(st, p, &s6, &d6);
		return;
	}
	case IP_PROTO_ICMP:
		icmp_input(st, p, hlen, src, dst);
		return;
	case IP_PROTO_UDP:
		udp_input(st, p->data - hlen, hlen, p->data, p->len, !!(p->flags & PKT_F_CSUM_OK));
		pkt_free(p);
		return;
	default:
		/* not implemented: ICMP protocol unreachable for other protocols */
		st->stat.ip_drop_proto++;
		pkt_free(p);
		return;
	}
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
	int bcast = stack_is_bcast(st, dst);
	if (!stack_owns(st, dst) && !bcast) {
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
	/* Ethernet padding after the datagram is cut off; options (hlen > 20)
	 * are skipped, as Linux accepts them (RFC 1122 3.2.1.8: "silently
	 * ignore" an option we do not implement) and counted. */
	pkt_trim(p, total);
	if (hlen > IP_HDR_LEN)
		st->stat.ip_opts_rx++;
	if (ntohs(ih->frag) & (IP_MF | IP_OFFMASK)) {
		/* RFC 1122 3.3.2: "A host MUST be capable of reassembling" */
		ip_frag_input(st, p);
		return;
	}
	pkt_pull(p, hlen);
	ipv4_demux(st, p, hlen, ih->proto, src, dst, bcast);
	return;
drop:
	pkt_free(p);
}

/* The next hop towards dst; *bcast set for a broadcast (no ARP);
 * -ENETUNREACH when there is no route. */
static int ipv4_route(const struct stack *st, uint32_t dst, uint32_t *nh, int *bcast)
{
	*bcast = 0;
	if (st->cfg.loopback) {
		if (!IN_LOOPBACK_NET(dst))
			return -ENETUNREACH;
		*nh = 0;
		return 0;
	}
	if (stack_is_bcast(st, dst)) {
		*bcast = 1;
		*nh = dst;
		return 0;
	}
	if (dst != st->cfg.addr && ipv4_on_link(st, dst)) {
		*nh = dst;
		return 0;
	}
	if (st->cfg.gw && dst != st->cfg.addr) {
		*nh = st->cfg.gw;
		return 0;
	}
	return -ENETUNREACH;
}

/* Prepend an IP header (given ID and flags/offset) and send p towards dst.
 * Consumes p. */
int ipv4_output_raw(struct stack *st, struct pkt *p, uint8_t proto, uint32_t src, uint32_t dst,
		    uint16_t id, uint16_t frag)
{
	uint32_t nh;
	int bcast;
	if (ipv4_route(st, dst, &nh, &bcast) < 0) {
		st->stat.ip_drop_noroute++;
		pkt_free(p);
		return -ENETUNREACH;
	}
	size_t total = p->len + IP_HDR_LEN;
	struct ip_hdr *ih = pkt_push(p, IP_HDR_LEN);
	if (!ih) {
		st->stat.tx_nobufs++;
		pkt_free(p);
		return -ENOBUFS;
	}
	ih->ver_ihl = 0x45;
	ih->tos = p->ip_tos;            /* the socket's IP_TOS, 0 for the stack's own */
	ih->total_len = htons((uint16_t)total);
	ih->id = htons(id);
	ih->frag = htons(frag);
	ih->ttl = p->ip_ttl ? p->ip_ttl : IP_DEFAULT_TTL;     /* IP_TTL */
	ih->proto = proto;
	ih->csum = 0;
	ih->src = htonl(src);
	ih->dst = htonl(dst);
	ih->csum = htons(csum(ih, IP_HDR_LEN));
	st->stat.ip_tx++;
	if (st->cfg.loopback)
		return eth_output(st, p, st->dev->mac, ETH_P_IPV4);
	if (bcast)
		return eth_output(st, p, mac_bcast, ETH_P_IPV4);
	return arp_output(st, p, nh);
}

/* Prepend the IP header to p (data at the L4 header) and send it towards dst.
 * Consumes p. Larger than the MTU: -EMSGSIZE (callers that may fragment use
 * ip_frag_output). */
int ipv4_output(struct stack *st, struct pkt *p, uint8_t proto, uint32_t src, uint32_t dst)
{
	/* A TSO frame (gso_size) is cut into MTU-sized segments by the device:
	 * never fragmented, its length is the whole frame's. */
	if (p->len + IP_HDR_LEN > st->dev->mtu && !p->gso_size) {
		pkt_free(p);
		return -EMSGSIZE;
	}
	/* TCP segments carry DF (path MTU discovery, RFC 1191), as Linux does;
	 * every segment of a TSO frame gets it from this header. */
	return ipv4_output_raw(st, p, proto, src, dst, st->ip_id++, proto == IP_PROTO_TCP ? IP_DF : 0);
}

int ip_output(struct stack *st, struct pkt *p, uint8_t proto, const struct nst_addr *src,
	      const struct nst_addr *dst)
{
	if (nst_addr_is_v4(dst))
		return ipv4_output(st, p, proto, nst_addr_v4(src), nst_addr_v4(dst));
	return ipv6_output(st, p, proto, src, dst);
}
