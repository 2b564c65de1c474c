/* TEMPORARY: the transports' IPv6 entry points until TCP and UDP take
 * IPv6 (tcp_in.c, udp.c). Dropped and counted as an unhandled protocol. */
#include "stack_impl.h"
#include "ip6.h"

void tcp_input6(struct stack *st, struct pkt *p, const struct nst_addr *src,
		const struct nst_addr *dst)
{
	(void)src; (void)dst;
	st->stat.ip_drop_proto++;
	pkt_free(p);
}

void udp_input6(struct stack *st, struct pkt *p, const struct nst_addr *src,
		const struct nst_addr *dst, const uint8_t *ip6, unsigned ip6_len)
{
	(void)p; (void)src; (void)dst; (void)ip6; (void)ip6_len;
	st->stat.ip_drop_proto++;
}

void tcp_icmp6_error(struct stack *st, int type, int code, uint32_t mtu,
		     const struct nst_addr *laddr, uint16_t lport,
		     const struct nst_addr *raddr, uint16_t rport, uint32_t seq)
{
	(void)type; (void)code; (void)mtu; (void)laddr; (void)lport; (void)raddr; (void)rport; (void)seq;
	st->stat.icmp_err_ignored++;
}

void udp_icmp6_error(struct stack *st, int type, int code,
		     const struct nst_addr *laddr, uint16_t lport,
		     const struct nst_addr *raddr, uint16_t rport)
{
	(void)type; (void)code; (void)laddr; (void)lport; (void)raddr; (void)rport;
	st->stat.icmp_err_ignored++;
}
