/* ICMP sockets, for ping and the like: echo ("ping") sockets, SOCK_DGRAM
 * with IPPROTO_ICMP or IPPROTO_ICMPV6 (Linux net/ipv4/ping.c), and raw ICMP
 * sockets, SOCK_RAW (Linux raw.c, raw.c of IPv6). Both live in the datagram
 * table of udp.c (udp_sock.kind), with its queue, receive and poll:
 *  - a ping socket sends Echo Requests only (type 8 or 128, code 0, else
 *    EINVAL); its identifier is its port, written into each request; it
 *    receives the Echo Replies with that identifier, ICMP header first;
 *  - a raw socket sends what it is given (an IPv4 ICMP message goes with
 *    the application's checksum; an ICMPv6 one gets its checksum computed,
 *    RFC 4443 2.3 and Linux's forced IPV6_CHECKSUM offset 2) and receives a
 *    copy of every ICMP message its filter (ICMP_FILTER, ICMP6_FILTER) lets
 *    through; an IPv4 copy is preceded by its IP header on recv (preload/
 *    rebuilds it from what the queue keeps), an ICMPv6 one is not.
 * What the stack itself does with the message (echo replies, errors to the
 * transports) goes on regardless. An ICMP error about an ICMP message we
 * sent goes to the error queues (IP_RECVERR, IPV6_RECVERR) of the raw
 * sockets and of the ping socket of its identifier (icmp_sock_error).
 * Not implemented: IP_HDRINCL, raw sockets of other protocols. */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"
#include "ip6.h"
#include "csum.h"

#define ICMP_ECHOREPLY 0
#define ICMP_ECHO      8

/* Does s (raw) let a message of this type through? */
static int raw_passes(const struct udp_sock *s, uint8_t type)
{
	if (s->af == NST_AF_INET)
		return type >= 32 || !(s->icmp_filter & (1u << type));
	return !(s->icmp6_filter[type >> 5] & (1u << (type & 31)));
}

/* Does s, an ICMP socket, take a message of its kind and family between
 * local (our address) and remote: its bound address and its peer, if
 * connected, match (Linux raw_v4_match, ping_lookup)? */
static int icmp_sock_match(const struct udp_sock *s, int kind, int af,
			   const struct nst_addr *local, const struct nst_addr *remote)
{
	return s->kind == kind && s->af == af &&
	       (nst_addr_is_any(&s->laddr) || nst_addr_eq(&s->laddr, local)) &&
	       (!s->connected || nst_addr_eq(&s->raddr, remote));
}

/* The ping socket of an echo identifier (its port), or NULL. */
static struct udp_sock *ping_lookup(struct stack *st, int af, uint16_t ident,
				    const struct nst_addr *local, const struct nst_addr *remote)
{
	for (int i = st->udp.hash[ident % UDP_HASH_SIZE]; i >= 0; i = st->udp.s[i].hnext) {
		struct udp_sock *s = &st->udp.s[i];
		if (s->lport == ident && icmp_sock_match(s, UDP_K_PING, af, local, remote))
			return s;
	}
	return NULL;
}

void icmp_sock_input(struct stack *st, const struct nst_addr *src, const struct nst_addr *dst,
		     uint8_t hops, uint8_t tclass, const uint8_t *msg, unsigned len)
{
	int v4 = nst_addr_is_v4(src);
	int af = v4 ? NST_AF_INET : NST_AF_INET6;
	struct nst_dgram_info di = { .dst = *dst, .hops = hops, .tclass = tclass };
	if (len < 4)
		return;
	/* raw sockets: unbound ones sit on chain 0 of the port hash */
	for (int i = st->udp.hash[0]; i >= 0; i = st->udp.s[i].hnext) {
		struct udp_sock *s = &st->udp.s[i];
		if (icmp_sock_match(s, UDP_K_RAW, af, dst, src) && raw_passes(s, msg[0]))
			udp_deliver(st, s, src, 0, msg, len, &di);
	}
	/* the ping socket of an Echo Reply's identifier */
	if (len < 8 || msg[0] != (v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY) || msg[1] != 0)
		return;
	struct udp_sock *s = ping_lookup(st, af, (uint16_t)(msg[4] << 8 | msg[5]), dst, src);
	if (s)
		udp_deliver(st, s, src, 0, msg, len, &di);
}

/* The errno of an ICMPv4 error for an ICMP socket, *hard for the fatal
 * ones (Linux ping_err and raw_err: unknown types are EHOSTUNREACH). 0: no
 * error to report (Fragmentation Needed with IP_PMTUDISC_DONT, where the
 * kernel only updates the path MTU). */
static int icmp4_sock_errno(const struct udp_sock *s, int type, int code, int *hard)
{
	*hard = 0;
	switch (type) {
	case ICMP_PARAMETERPROB:
		*hard = 1;
		return EPROTO;
	case ICMP_DEST_UNREACH:
		if (code == ICMP_FRAG_NEEDED) {
			if (s->kind == UDP_K_RAW || s->so.pmtudisc == IP_PMTUDISC_DONT)
				return 0;       /* raw_err: the path MTU only */
			*hard = 1;
			return EMSGSIZE;
		}
		if (code <= 15)
			return icmp_unreach_errno(code, hard);
		return EHOSTUNREACH;
	}
	return EHOSTUNREACH;
}

/* One ICMP socket's share of an error: Linux ping_err / raw_err / rawv6_err.
 * The queued error quotes the ICMP message from its header, port 0. */
static void icmp_sock_err_one(struct stack *st, struct udp_sock *s, int v4, int type, int code,
			      const struct nst_addr *dst, const struct icmp_err_ctx *c)
{
	int hard, err;
	struct icmp_err_ctx cc = *c;
	if (v4) {
		err = icmp4_sock_errno(s, type, code, &hard);
		if (!(type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED))
			cc.info = 0;
	} else {
		err = icmp6_err_convert(type, code, &hard);
		if (type == ICMP6_PACKET_TOO_BIG)
			hard = s->kind == UDP_K_RAW ? s->so.pmtudisc6 == IPV6_PMTUDISC_DO
						    : s->so.pmtudisc6 != IPV6_PMTUDISC_DONT;
	}
	if (!err)
		return;
	uint64_t ignored = 0;
	udp_take_error(st, s, v4, type, code, err, hard, dst, 0, &cc, &ignored);
}

void icmp_sock_error(struct stack *st, int type, int code, const struct nst_addr *src,
		     const struct nst_addr *dst, const uint8_t *inner, unsigned n,
		     const struct icmp_err_ctx *c)
{
	int v4 = nst_addr_is_v4(src);
	int af = v4 ? NST_AF_INET : NST_AF_INET6;
	int hit = 0;
	/* raw sockets (raw_icmp_error: every one of the protocol whose bound
	 * and connected addresses match the quoted header) */
	for (int i = st->udp.hash[0]; i >= 0; i = st->udp.s[i].hnext) {
		struct udp_sock *s = &st->udp.s[i];
		if (icmp_sock_match(s, UDP_K_RAW, af, src, dst)) {
			icmp_sock_err_one(st, s, v4, type, code, dst, c);
			hit = 1;
		}
	}
	/* the ping socket of a quoted Echo Request's identifier (ping_err) */
	if (n >= 8 && inner[0] == (v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST) && inner[1] == 0) {
		struct udp_sock *s = ping_lookup(st, af, (uint16_t)(inner[4] << 8 | inner[5]), src, dst);
		if (s) {
			icmp_sock_err_one(st, s, v4, type, code, dst, c);
			hit = 1;
		}
	}
	if (!hit) {
		if (v4)
			st->stat.icmp_err_ignored++;
		else
			st->stat.icmp6_err_ignored++;
	}
}

ssize_t icmp_sock_send(struct stack *st, struct udp_sock *s, const struct nst_addr *dst,
		       const void *buf, size_t len, const struct nst_send_info *si)
{
	int v4 = nst_addr_is_v4(dst);
	if (v4 != (s->af == NST_AF_INET))
		return -EAFNOSUPPORT;   /* no v4-mapped destinations for ICMP sockets */
	const uint8_t *m = buf;
	if (s->kind == UDP_K_PING) {
		/* Linux ping_common_sendmsg: "if (len < icmph_len) return -EINVAL",
		 * and only an echo request with code 0 */
		if (len < 8)
			return -EINVAL;
		if (m[0] != (v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST) || m[1] != 0)
			return -EINVAL;
	} else if (!v4 && len < 4) {
		return -EINVAL;         /* no room for the ICMPv6 checksum */
	}
	struct nst_addr src;
	if (sock_src_for(st, &s->laddr, dst, &src) < 0)
		return -ENETUNREACH;
	unsigned hlen = v4 ? IP_HDR_LEN : IP6_HDR_LEN;
	if (len + hlen > (v4 ? st->dev->mtu : ipv6_mtu(st, dst)))
		return -EMSGSIZE;       /* not implemented: fragmented ICMP messages */
	struct pkt *p = pkt_alloc();
	if (!p) {
		st->stat.tx_nobufs++;
		return -ENOBUFS;
	}
	uint8_t *b = pkt_put(p, (unsigned)len);
	if (!b) {
		pkt_free(p);
		return -EMSGSIZE;
	}
	memcpy(b, buf, len);
	if (s->kind == UDP_K_PING) {
		b[4] = (uint8_t)(s->lport >> 8);        /* the identifier is the socket's */
		b[5] = (uint8_t)s->lport;
	}
	if (!v4 || s->kind == UDP_K_PING) {
		b[2] = b[3] = 0;
		uint32_t sum = v4 ? 0 : csum_pseudo6(&src, dst, IP6_NH_ICMPV6, (uint32_t)len);
		uint16_t c = csum_fold(csum_add(sum, b, len));
		b[2] = (uint8_t)(c >> 8);
		b[3] = (uint8_t)c;
	}
	if (v4) {
		p->ip_tos = si && si->tclass >= 0 ? (uint8_t)si->tclass : sockopt_tos(&s->so);
		p->ip_ttl = si && si->hops >= 0 ? (uint8_t)si->hops : sockopt_ttl(&s->so);
	} else {
		p->ip_tos = si && si->tclass >= 0 ? (uint8_t)si->tclass : sockopt_tclass(&s->so);
		p->ip_ttl = si && si->hops >= 0 ? (uint8_t)si->hops : sockopt_hops(&s->so);
	}
	int r = ip_output(st, p, v4 ? IP_PROTO_ICMP : IP6_NH_ICMPV6, &src, dst);
	return r < 0 ? r : (ssize_t)len;
}
