/* IPv6 (RFC 8200): input validation, the extension-header walk and
 * demultiplexing; output with routing (link-local, on-link prefix, default
 * router, in-process loopback), flow labels (RFC 6437) and the path MTU
 * cache (RFC 8201); our addresses (RFC 4291, RFC 4862) and source address
 * selection (RFC 6724, the one-interface part). Neighbor Discovery is in
 * nd6.c, ICMPv6 in icmp6.c, reassembly in ip6_frag.c. */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"
#include "csum.h"

const struct nst_addr ip6_all_nodes = { .b = { 0xff, 0x02, [15] = 1 } };
const struct nst_addr ip6_all_routers = { .b = { 0xff, 0x02, [15] = 2 } };
static const struct nst_addr ip6_loopback = { .b = { [15] = 1 } };

int ip6_is_mcast(const struct nst_addr *a)
{
	return a->b[0] == 0xff;
}

/* RFC 4291 2.7.1: FF02:0:0:0:0:1:FFXX:XXXX, the low 24 bits of a. */
void ip6_solicited_node(const struct nst_addr *a, struct nst_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->b[0] = 0xff;
	out->b[1] = 0x02;
	out->b[11] = 0x01;
	out->b[12] = 0xff;
	memcpy(&out->b[13], &a->b[13], 3);
}

/* ---- our addresses --------------------------------------------------------- */

static int ifaddr_usable(const struct ip6_ifaddr *ia)
{
	return ia->state == IP6A_OPTIMISTIC || ia->state == IP6A_PREFERRED;
}

int stack_owns6(const struct stack *st, const struct nst_addr *a)
{
	if (st->cfg.no_ipv6)
		return 0;
	if (st->cfg.loopback)
		return nst_addr_eq(a, &ip6_loopback);
	return (ifaddr_usable(&st->ip6.ll) && nst_addr_eq(a, &st->ip6.ll.a)) ||
	       (ifaddr_usable(&st->ip6.gl) && nst_addr_eq(a, &st->ip6.gl.a));
}

void stack_addr6(const struct stack *st, struct nst_addr *linklocal, struct nst_addr *global,
		 uint8_t *prefix_len)
{
	struct nst_addr ll = { 0 }, gl = { 0 };
	uint8_t plen = 0;
	if (st->cfg.no_ipv6) {
		/* none */
	} else if (st->cfg.loopback) {
		gl = ip6_loopback;
		plen = 128;
	} else {
		if (ifaddr_usable(&st->ip6.ll))
			ll = st->ip6.ll.a;
		if (ifaddr_usable(&st->ip6.gl)) {
			gl = st->ip6.gl.a;
			plen = st->cfg.prefix6_len;
		}
	}
	if (linklocal)
		*linklocal = ll;
	if (global)
		*global = gl;
	if (prefix_len)
		*prefix_len = plen;
}

int ipv6_addr_optimistic(const struct stack *st, const struct nst_addr *a)
{
	return (st->ip6.ll.state == IP6A_OPTIMISTIC && nst_addr_eq(a, &st->ip6.ll.a)) ||
	       (st->ip6.gl.state == IP6A_OPTIMISTIC && nst_addr_eq(a, &st->ip6.gl.a));
}

void ipv6_addr_duplicate(struct stack *st, const struct nst_addr *a)
{
	struct ip6_ifaddr *ia[2] = { &st->ip6.ll, &st->ip6.gl };
	for (int i = 0; i < 2; i++)
		if (ia[i]->state != IP6A_NONE && ia[i]->state != IP6A_DUPLICATE &&
		    nst_addr_eq(a, &ia[i]->a)) {
			/* RFC 4862 5.4.5: "the address MUST NOT be assigned to the
			 * interface". */
			ia[i]->state = IP6A_DUPLICATE;
			st->stat.nd6_dad_dup++;
		}
}

/* 1 if a prefix of plen bits of a equals b's. */
static int prefix_eq(const struct nst_addr *a, const struct nst_addr *b, unsigned plen)
{
	unsigned n = plen / 8;
	if (memcmp(a->b, b->b, n) != 0)
		return 0;
	if (plen % 8 == 0)
		return 1;
	uint8_t m = (uint8_t)(0xff << (8 - plen % 8));
	return (a->b[n] & m) == (b->b[n] & m);
}

static int ipv6_on_link(const struct stack *st, const struct nst_addr *a)
{
	if (nst_addr_is_linklocal(a))
		return 1;
	return st->ip6.gl.state != IP6A_NONE && st->cfg.prefix6_len &&
	       prefix_eq(a, &st->cfg.addr6, st->cfg.prefix6_len);
}

/* Addresses no packet of ours may go to: ::, ::1 (off loopback), v4-mapped. */
static int ip6_unroutable(const struct nst_addr *a)
{
	return nst_addr_is_unspec(a) || nst_addr_eq(a, &ip6_loopback) || nst_addr_is_v4(a);
}

int stack_routes6(const struct stack *st, const struct nst_addr *dst)
{
	if (st->cfg.no_ipv6)
		return 0;
	if (st->cfg.loopback)
		return nst_addr_eq(dst, &ip6_loopback);
	if (ip6_unroutable(dst) || ip6_is_mcast(dst) || stack_owns6(st, dst))
		return 0;       /* not implemented: talking to our own address off loopback */
	if (nst_addr_is_linklocal(dst))
		return ifaddr_usable(&st->ip6.ll);
	if (!ifaddr_usable(&st->ip6.gl))
		return 0;
	struct nst_addr r;
	return ipv6_on_link(st, dst) || !nst_addr_is_unspec(&st->cfg.gw6) ||
	       nd6_default_router(st, &r) == 0;
}

/* RFC 6724 for one interface: the link-local address for link-local
 * destinations (and link-scope multicast), else the configured one. */
int ipv6_src_for(const struct stack *st, const struct nst_addr *dst, struct nst_addr *src)
{
	if (st->cfg.no_ipv6)
		return -ENETUNREACH;
	if (st->cfg.loopback) {
		if (!nst_addr_eq(dst, &ip6_loopback))
			return -ENETUNREACH;
		*src = ip6_loopback;
		return 0;
	}
	/* RFC 6724 5 rule 2: prefer the appropriate scope. */
	int link_scope = nst_addr_is_linklocal(dst) ||
			 (ip6_is_mcast(dst) && (dst->b[1] & 0x0f) <= 2);
	if (link_scope) {
		if (!ifaddr_usable(&st->ip6.ll))
			return -ENETUNREACH;
		*src = st->ip6.ll.a;
		return 0;
	}
	if (!ifaddr_usable(&st->ip6.gl))
		return -ENETUNREACH;
	*src = st->ip6.gl.a;
	return 0;
}

int ipv6_mcast_mac_ours(const struct stack *st, const uint8_t mac[6])
{
	if (st->cfg.no_ipv6 || st->cfg.loopback || mac[0] != 0x33 || mac[1] != 0x33)
		return 0;
	/* RFC 2464 7: 33:33 then the low 32 bits of the group. */
	if (memcmp(mac + 2, &ip6_all_nodes.b[12], 4) == 0)
		return 1;
	const struct ip6_ifaddr *ia[2] = { &st->ip6.ll, &st->ip6.gl };
	for (int i = 0; i < 2; i++)
		if (ia[i]->state != IP6A_NONE && mac[2] == 0xff && memcmp(mac + 3, &ia[i]->a.b[13], 3) == 0)
			return 1;
	return 0;
}

/* 1 if we listen to the multicast group a: all-nodes, or the solicited-node
 * group of an address of ours, tentative included (RFC 4862 5.4.2: "the
 * node MUST join ... the solicited-node multicast address of the tentative
 * address"). */
static int ipv6_mcast_ours(const struct stack *st, const struct nst_addr *a)
{
	if (nst_addr_eq(a, &ip6_all_nodes))
		return 1;
	const struct ip6_ifaddr *ia[2] = { &st->ip6.ll, &st->ip6.gl };
	for (int i = 0; i < 2; i++) {
		struct nst_addr sn;
		if (ia[i]->state == IP6A_NONE)
			continue;
		ip6_solicited_node(&ia[i]->a, &sn);
		if (nst_addr_eq(a, &sn))
			return 1;
	}
	return 0;
}

/* ---- path MTU (RFC 8201) ----------------------------------------------------- */

static unsigned ipv6_link_mtu(const struct stack *st)
{
	unsigned m = st->dev->mtu;
	if (st->ip6.link_mtu && st->ip6.link_mtu < m)
		m = st->ip6.link_mtu;
	return m;
}

unsigned ipv6_mtu(const struct stack *st, const struct nst_addr *dst)
{
	unsigned m = ipv6_link_mtu(st);
	for (int i = 0; i < IP6_PMTU_SLOTS; i++) {
		const struct ip6_pmtu *e = &st->ip6.pmtu[i];
		if (e->expires_at > st->now_us && nst_addr_eq(&e->dst, dst) && e->mtu < m)
			return e->mtu;
	}
	return m;
}

void ipv6_pmtu_update(struct stack *st, const struct nst_addr *dst, uint32_t mtu)
{
	/* RFC 8201 4: "A node MUST NOT reduce its estimate of the Path MTU
	 * below the IPv6 minimum link MTU." and "MUST NOT increase its estimate
	 * of the Path MTU in response to the contents of a Packet Too Big". */
	if (mtu < IP6_MIN_MTU)
		mtu = IP6_MIN_MTU;
	if (mtu >= ipv6_mtu(st, dst))
		return;
	struct ip6_pmtu *e = NULL, *old = NULL;
	for (int i = 0; i < IP6_PMTU_SLOTS; i++) {
		struct ip6_pmtu *q = &st->ip6.pmtu[i];
		if (q->expires_at > st->now_us && nst_addr_eq(&q->dst, dst)) {
			e = q;
			break;
		}
		if (!old || q->expires_at < old->expires_at)
			old = q;
	}
	if (!e)
		e = old;        /* a free or expired slot, else the oldest */
	e->dst = *dst;
	e->mtu = mtu;
	/* RFC 8201 4: an increase is tried no sooner than 5 minutes after,
	 * 10 recommended: the entry then expires. */
	e->expires_at = st->now_us + IP6_PMTU_EXPIRE_US;
	st->stat.icmp6_pmtu_update++;
}

/* ---- input ------------------------------------------------------------------- */

/* The options of a Hop-by-Hop or Destination Options header at off (hl
 * bytes). RFC 8200 4.2: the two high-order bits of an unrecognized option's
 * type say what to do. 0: go on; 1: discard; 2: discard and send Parameter
 * Problem code 2 pointing at *ptr; -1: malformed, discard. */
static int ipv6_options(const uint8_t *b, unsigned off, unsigned hl, int mcast, unsigned *ptr)
{
	unsigned end = off + hl;
	for (unsigned i = off + 2; i < end;) {
		uint8_t t = b[i];
		if (t == 0) {           /* Pad1 */
			i++;
			continue;
		}
		if (i + 2 > end || i + 2 + b[i + 1] > end)
			return -1;
		unsigned olen = 2u + b[i + 1];
		if (t != 1) {           /* PadN is skipped like Pad1 */
			switch (t >> 6) {
			case 0:         /* "skip over this option and continue processing the header" */
				break;
			case 1:         /* "discard the packet" */
				return 1;
			case 2:         /* "discard the packet and, regardless of whether or not the
					 * packet's Destination Address was a multicast address, send
					 * an ICMP Parameter Problem, Code 2" */
				*ptr = i;
				return 2;
			case 3:         /* "... only if the packet's Destination Address was not a
					 * multicast address" */
				*ptr = i;
				return mcast ? 1 : 2;
			}
		}
		i += olen;
	}
	return 0;
}

static void ipv6_param_prob(struct stack *st, struct pkt *p, int code, unsigned ptr)
{
	icmp6_send_error(st, p->data, p->len, ICMP6_PARAM_PROB, code, ptr);
	pkt_free(p);
}

/* RFC 8200 4.1: extension headers are processed "strictly in the order
 * they appear in the packet". */
void ipv6_walk(struct stack *st, struct pkt *p, unsigned off, uint8_t nh, unsigned nh_off, int mcast,
	       int reasm)
{
	const uint8_t *b = p->data;
	const struct ip6_hdr *ih = (const struct ip6_hdr *)b;
	for (;;) {
		switch (nh) {
		case IP6_NH_HOPOPTS:
			/* RFC 8200 4.3: "The Hop-by-Hop Options header, when present,
			 * must immediately follow the IPv6 header"; 4: a node that meets
			 * Next Header 0 elsewhere answers with Parameter Problem code 1. */
			if (off != IP6_HDR_LEN || reasm) {
				st->stat.ip6_drop_hbh_order++;
				ipv6_param_prob(st, p, ICMP6_PARAMPROB_NEXTHEADER, nh_off);
				return;
			}
			/* fall through */
		case IP6_NH_DSTOPTS: {
			if (off + 2 > p->len || off + (b[off + 1] + 1u) * 8 > p->len) {
				st->stat.ip6_drop_exthdr++;
				goto drop;
			}
			unsigned hl = (b[off + 1] + 1u) * 8, ptr = 0;
			int v = ipv6_options(b, off, hl, mcast, &ptr);
			if (v < 0) {
				st->stat.ip6_drop_exthdr++;
				goto drop;
			}
			if (v == 1) {
				st->stat.ip6_drop_opt++;
				goto drop;
			}
			if (v == 2) {
				st->stat.ip6_drop_opt_unknown++;
				ipv6_param_prob(st, p, ICMP6_PARAMPROB_OPTION, ptr);
				return;
			}
			nh_off = off;
			nh = b[off];
			off += hl;
			continue;
		}
		case IP6_NH_ROUTING: {
			if (off + 8 > p->len || off + (b[off + 1] + 1u) * 8 > p->len) {
				st->stat.ip6_drop_exthdr++;
				goto drop;
			}
			/* We recognize no Routing Type (type 0 is deprecated, RFC 5095 3:
			 * treated as unrecognized). RFC 8200 4.4: "If Segments Left is
			 * zero, the node must ignore the Routing header and proceed to
			 * process the next header"; "If Segments Left is non-zero, the
			 * node must discard the packet and send an ICMP Parameter
			 * Problem, Code 0, message to the packet's Source Address,
			 * pointing to the unrecognized Routing Type." */
			if (b[off + 3] != 0) {
				st->stat.ip6_drop_routing++;
				ipv6_param_prob(st, p, ICMP6_PARAMPROB_HEADER, off + 2);
				return;
			}
			nh_off = off;
			nh = b[off];
			off += (b[off + 1] + 1u) * 8;
			continue;
		}
		case IP6_NH_FRAGMENT: {
			if (off + 8 > p->len) {
				st->stat.ip6_drop_exthdr++;
				goto drop;
			}
			uint16_t fo = (uint16_t)(b[off + 2] << 8 | b[off + 3]);
			if ((fo & 0xfff9) == 0) {
				/* RFC 6946 4: "A host that receives an IPv6 packet that
				 * includes a Fragment Header with the "Fragment Offset"
				 * equal to 0 and the "M" flag equal to 0 MUST process such
				 * packet in isolation from any other packets/fragments" */
				st->stat.ip6_frag_atomic++;
				nh_off = off;
				nh = b[off];
				off += 8;
				continue;
			}
			if (reasm) {    /* a fragment inside a reassembled packet */
				st->stat.ip6_frag_bad++;
				goto drop;
			}
			ip6_frag_input(st, p, off, mcast);
			return;
		}
		case IP6_NH_NONE:
			/* RFC 8200 4.7: nothing follows. */
			st->stat.ip6_drop_nonext++;
			goto drop;
		case IP6_NH_TCP:
		case IP6_NH_UDP:
		case IP6_NH_ICMPV6: {
			struct nst_addr src, dst;
			memcpy(src.b, ih->src, 16);
			memcpy(dst.b, ih->dst, 16);
			uint8_t hop = ih->hop_limit;
			const uint8_t *ip6 = p->data;
			pkt_pull(p, off);
			if (nh == IP6_NH_ICMPV6) {
				icmp6_input(st, p, &src, &dst, hop);
			} else if (nh == IP6_NH_UDP) {
				udp_input6(st, p, &src, &dst, ip6, off + p->len);
				pkt_free(p);
			} else if (mcast) {
				st->stat.ip6_drop_mcast++;
				pkt_free(p);
			} else {
				tcp_input6(st, p, &src, &dst);
			}
			return;
		}
		default:
			/* RFC 8200 4: "it should discard the packet and send an ICMP
			 * Parameter Problem message to the source of the packet, with
			 * an ICMP Code value of 1 ... and the ICMP Pointer field
			 * containing the offset of the unrecognized value". */
			st->stat.ip6_drop_proto++;
			ipv6_param_prob(st, p, ICMP6_PARAMPROB_NEXTHEADER, nh_off);
			return;
		}
	}
drop:
	pkt_free(p);
}

/* Consumes p; p->data at the IPv6 header. */
void ipv6_input(struct stack *st, struct pkt *p)
{
	st->stat.ip6_rx++;
	if (st->cfg.no_ipv6) {
		st->stat.ip6_drop_disabled++;
		goto drop;
	}
	if (p->len < IP6_HDR_LEN) {
		st->stat.ip6_drop_short++;
		goto drop;
	}
	const struct ip6_hdr *ih = (const struct ip6_hdr *)p->data;
	if ((p->data[0] >> 4) != 6) {
		st->stat.ip6_drop_version++;
		goto drop;
	}
	/* RFC 8200 3: Payload Length is "the rest of the packet following this
	 * IPv6 header"; what follows it in the frame is Ethernet padding. Not
	 * implemented: jumbograms (RFC 2675, payload length 0 with a Jumbo
	 * option; the option's type, 11xxxxxx, is answered as unknown). */
	unsigned plen = ntohs(ih->payload_len);
	if (IP6_HDR_LEN + plen > p->len) {
		st->stat.ip6_drop_len++;
		goto drop;
	}
	pkt_trim(p, IP6_HDR_LEN + plen);
	struct nst_addr src, dst;
	memcpy(src.b, ih->src, 16);
	memcpy(dst.b, ih->dst, 16);
	/* RFC 4291 2.7: "Multicast addresses must not be used as source
	 * addresses in IPv6 packets"; 2.5.3: a packet from the loopback address
	 * "received on an interface MUST be dropped". */
	if (ip6_is_mcast(&src) || (!st->cfg.loopback && nst_addr_eq(&src, &ip6_loopback))) {
		st->stat.ip6_drop_src++;
		goto drop;
	}
	int mcast = ip6_is_mcast(&dst);
	if (!st->cfg.loopback)
		ipv6_start(st);
	if (mcast ? st->cfg.loopback || !ipv6_mcast_ours(st, &dst) : !stack_owns6(st, &dst)) {
		/* An address of ours that DAD found duplicate is no longer ours;
		 * a DAD probe for it (to its solicited-node group) still is. */
		st->stat.ip6_drop_dst++;
		goto drop;
	}
	/* Hop Limit is not checked: a host delivers whatever reaches it
	 * (RFC 8200 3; ND checks its own 255, RFC 4861 7.1). */
	ipv6_walk(st, p, IP6_HDR_LEN, ih->next, 6, mcast, 0);
	return;
drop:
	pkt_free(p);
}

/* ---- output ------------------------------------------------------------------ */

/* RFC 6437 3: a flow label "from a pseudo-random function of the 5-tuple"
 * (here src, dst, protocol and the first 4 bytes of the transport header:
 * the ports) under the stack's secret, 20 bits, never 0. ICMPv6 gets 0
 * ("no flow label"): its first bytes hold the checksum. */
static uint32_t ipv6_flow_label(const struct stack *st, const struct pkt *p, uint8_t proto,
				const struct nst_addr *src, const struct nst_addr *dst)
{
	if (proto == IP6_NH_ICMPV6)
		return 0;
	uint8_t k[16 + 16 + 1 + 4] = { 0 };
	memcpy(k, src->b, 16);
	memcpy(k + 16, dst->b, 16);
	k[32] = proto;
	if (p->len >= 4)
		memcpy(k + 33, p->data, 4);
	uint32_t fl = (uint32_t)siphash24(st->key, k, sizeof(k)) & 0xfffff;
	return fl ? fl : 1;
}

/* The next hop towards dst and whether it is a multicast (no ND): 0, or
 * -ENETUNREACH. */
static int ipv6_route(const struct stack *st, const struct nst_addr *dst, struct nst_addr *nh)
{
	if (ip6_is_mcast(dst)) {
		*nh = *dst;
		return 0;
	}
	if (ip6_unroutable(dst) || stack_owns6(st, dst))
		return -ENETUNREACH;
	if (nst_addr_is_linklocal(dst) || ipv6_on_link(st, dst)) {
		*nh = *dst;
		return 0;
	}
	if (!nst_addr_is_unspec(&st->cfg.gw6)) {
		*nh = st->cfg.gw6;
		return 0;
	}
	return nd6_default_router(st, nh);
}

int ipv6_output_raw(struct stack *st, struct pkt *p, uint8_t next, const struct nst_addr *src,
		    const struct nst_addr *dst, uint32_t flow)
{
	struct nst_addr nh;
	if (st->cfg.no_ipv6 || (st->cfg.loopback ? !nst_addr_eq(dst, &ip6_loopback)
						 : ipv6_route(st, dst, &nh) < 0)) {
		st->stat.ip6_drop_noroute++;
		pkt_free(p);
		return -ENETUNREACH;
	}
	if (!st->cfg.loopback)
		ipv6_start(st);
	uint32_t plen = p->len;
	struct ip6_hdr *ih = pkt_push(p, IP6_HDR_LEN);
	if (!ih) {
		st->stat.tx_nobufs++;
		pkt_free(p);
		return -ENOBUFS;
	}
	ih->ver_tc_flow = htonl(6u << 28 | (uint32_t)p->ip_tos << 20 | (flow & 0xfffff));
	/* A TSO frame's length is the whole frame's; the device fixes it per
	 * segment. */
	ih->payload_len = htons((uint16_t)(plen > 0xffff ? 0xffff : plen));
	ih->next = next;
	ih->hop_limit = p->ip_ttl ? p->ip_ttl
				  : st->ip6.cur_hop_limit ? st->ip6.cur_hop_limit : IP6_DEFAULT_HOPS;
	memcpy(ih->src, src->b, 16);
	memcpy(ih->dst, dst->b, 16);
	st->stat.ip6_tx++;
	if (st->cfg.loopback)
		return eth_output(st, p, st->dev->mac, ETH_P_IPV6);
	if (ip6_is_mcast(dst)) {
		/* RFC 2464 7: 33:33 and the last four octets of the group. */
		uint8_t mac[6] = { 0x33, 0x33, dst->b[12], dst->b[13], dst->b[14], dst->b[15] };
		return eth_output(st, p, mac, ETH_P_IPV6);
	}
	return nd6_output(st, p, &nh);
}

int ipv6_output(struct stack *st, struct pkt *p, uint8_t proto, const struct nst_addr *src,
		const struct nst_addr *dst)
{
	/* RFC 8200 5: no fragmentation by routers; a packet larger than the
	 * path MTU is the sender's to fragment or refuse. A TSO frame is cut
	 * by the device. */
	if (!p->gso_size && p->len + IP6_HDR_LEN > ipv6_mtu(st, dst)) {
		st->stat.ip6_drop_toobig++;
		pkt_free(p);
		return -EMSGSIZE;
	}
	return ipv6_output_raw(st, p, proto, src, dst, ipv6_flow_label(st, p, proto, src, dst));
}

/* RFC 8200 4.5: cut the packet (no extension headers of ours: the
 * fragmentable part is the whole upper-layer packet) into fragments of at
 * most the path MTU, each but the last a multiple of 8 octets, all with one
 * Identification; RFC 7739 3.1: unpredictable, so random. */
int ipv6_output_frag(struct stack *st, struct pkt *p, uint8_t proto, const struct nst_addr *src,
		     const struct nst_addr *dst)
{
	unsigned mtu = ipv6_mtu(st, dst);
	if (p->gso_size || p->len + IP6_HDR_LEN <= mtu)
		return ipv6_output(st, p, proto, src, dst);
	if (p->len + 8 > 0xffff) {
		pkt_free(p);
		return -EMSGSIZE;
	}
	if (p->flags & PKT_F_CSUM_PARTIAL) {
		/* The device completes a checksum per frame; a fragmented
		 * one must be completed here, over the whole packet. */
		unsigned start = p->csum_start - (unsigned)(p->data - p->buf);
		uint16_t c = csum(p->data + start, p->len - start);
		p->data[start + p->csum_off] = (uint8_t)(c >> 8);
		p->data[start + p->csum_off + 1] = (uint8_t)c;
		p->flags &= (uint16_t)~PKT_F_CSUM_PARTIAL;
	}
	uint32_t flow = ipv6_flow_label(st, p, proto, src, dst);
	uint32_t id = (uint32_t)stack_rand(st);
	unsigned max = (mtu - IP6_HDR_LEN - 8) & ~7u;
	int r = 0;
	for (unsigned off = 0; off < p->len;) {
		unsigned n = p->len - off < max ? p->len - off : max;
		int last = off + n >= p->len;
		struct pkt *f = pkt_alloc();
		if (!f) {
			st->stat.tx_nobufs++;
			r = -ENOBUFS;
			break;
		}
		uint8_t *fh = pkt_put(f, 8 + n);
		fh[0] = proto;
		fh[1] = 0;
		uint16_t fo = (uint16_t)(off | (last ? 0 : 1));       /* offset in bytes = 8-octet units << 3 */
		fh[2] = (uint8_t)(fo >> 8);
		fh[3] = (uint8_t)fo;
		uint32_t nid = htonl(id);
		memcpy(fh + 4, &nid, 4);
		memcpy(fh + 8, p->data + off, n);
		f->ip_tos = p->ip_tos;
		f->ip_ttl = p->ip_ttl;
		st->stat.ip6_frag_tx++;
		r = ipv6_output_raw(st, f, IP6_NH_FRAGMENT, src, dst, flow);
		if (r < 0)
			break;
		off += n;
	}
	if (r == 0)
		st->stat.ip6_frag_create_ok++;
	pkt_free(p);
	return r;
}

int ip6_find_l4(const uint8_t *ip6, unsigned len, uint8_t *proto, unsigned *off)
{
	if (len < IP6_HDR_LEN)
		return -1;
	uint8_t nh = ip6[6];
	unsigned o = IP6_HDR_LEN;
	for (int guard = 0; guard < 16; guard++) {
		switch (nh) {
		case IP6_NH_HOPOPTS:
		case IP6_NH_DSTOPTS:
		case IP6_NH_ROUTING:
			if (o + 2 > len)
				return -1;
			nh = ip6[o];
			o += (ip6[o + 1] + 1u) * 8;
			break;
		case IP6_NH_FRAGMENT:
			if (o + 8 > len)
				return -1;
			if ((ip6[o + 2] << 8 | ip6[o + 3]) & 0xfff8)
				return -1;      /* not the first fragment */
			nh = ip6[o];
			o += 8;
			break;
		default:
			if (o > len)
				return -1;
			*proto = nh;
			*off = o;
			return 0;
		}
	}
	return -1;
}

/* ---- life cycle ------------------------------------------------------------- */

int ipv6_init(struct stack *st)
{
	struct ip6_ctx *c = &st->ip6;
	memset(c, 0, sizeof(*c));
	if (ip6_frag_init(st) < 0)
		return -ENOMEM;
	if (st->cfg.no_ipv6 || st->cfg.loopback)
		return 0;
	/* RFC 4291 2.5.6 and Appendix A: fe80::/64 and the modified EUI-64
	 * interface identifier, the MAC with ff:fe inserted in the middle and
	 * the universal/local bit inverted. */
	const uint8_t *m = st->dev->mac;
	uint8_t ll[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0,
			   (uint8_t)(m[0] ^ 0x02), m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5] };
	memcpy(c->ll.a.b, ll, 16);
	c->ll.state = IP6A_OPTIMISTIC;
	if (!nst_addr_is_unspec(&st->cfg.addr6) && !nst_addr_is_v4(&st->cfg.addr6)) {
		c->gl.a = st->cfg.addr6;
		c->gl.state = IP6A_OPTIMISTIC;
	}
	if (c->gl.state != IP6A_NONE || !nst_addr_is_unspec(&st->cfg.gw6))
		ipv6_start(st);
	return 0;
}

void ipv6_start(struct stack *st)
{
	if (st->ip6.started || st->cfg.no_ipv6 || st->cfg.loopback)
		return;
	st->ip6.started = 1;
	nd6_start(st);
}

void ipv6_fini(struct stack *st)
{
	nd6_flush_all(st);
	ip6_frag_fini(st);
}

static uint64_t deadline_min(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

uint64_t ipv6_next_deadline(const struct stack *st)
{
	return deadline_min(nd6_next_deadline(st), ip6_frag_next_deadline(st));
}

void ipv6_timer(struct stack *st)
{
	uint64_t d = nd6_next_deadline(st);
	if (d && d <= st->now_us)
		nd6_timer(st);
	d = ip6_frag_next_deadline(st);
	if (d && d <= st->now_us)
		ip6_frag_timer(st);
}
