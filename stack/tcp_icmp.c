/* ICMP errors about TCP segments we sent (RFC 1122 4.2.3.9, RFC 1191,
 * RFC 5927), as Linux's tcp_v4_err handles them:
 *  - every message is first checked against a connection: the quoted
 *    4-tuple must name one, and the quoted sequence number must lie in
 *    [SND.UNA, SND.MAX) (RFC 5927 4.1: "TCP SHOULD check that the TCP
 *    sequence number contained in the payload of the ICMP error message is
 *    within the range SND.UNA =< SEG.SEQ < SND.NXT"), else it is ignored;
 *  - Fragmentation Needed lowers the path MTU (never raises it, never below
 *    Linux's min_pmtu 552) and resends what is outstanding at the new size;
 *  - any other Destination Unreachable ends a connection still in SYN-SENT
 *    or SYN-RECEIVED with the error's errno (RFC 1122 4.2.3.9 allows aborting
 *    on hard errors; Linux aborts on all codes during the handshake); on a
 *    synchronized connection it is a soft error and changes nothing (Linux
 *    keeps it in sk_err_soft for IP_RECVERR users only). */
#include "stack_impl.h"
#include "tcp_seq.h"
#include "ip6.h"

#define TCP_MIN_PMTU 552        /* Linux ip_rt_min_pmtu */

/* The counter of an ICMP error ignored, of the error's family. */
static void icmp_ignored(struct stack *st, const struct nst_addr *raddr)
{
	if (nst_addr_is_v4(raddr))
		st->stat.icmp_err_ignored++;
	else
		st->stat.icmp6_err_ignored++;
}

/* The connection an error quotes, if the quote names one and its sequence
 * number is in flight (RFC 5927 4.1); else NULL, counted. */
static struct tcb *tcp_icmp_tcb(struct stack *st, const struct nst_addr *laddr, uint16_t lport,
				const struct nst_addr *raddr, uint16_t rport, uint32_t seq)
{
	struct tcb *t = tcp_lookup(st, laddr, lport, raddr, rport);
	if (!t || t->state == TCP_LISTEN || !nst_addr_eq(&t->raddr, raddr) || t->rport != rport ||
	    t->state == TCP_CLOSED) {
		icmp_ignored(st, raddr);
		return NULL;
	}
	uint32_t lo = t->state == TCP_SYN_SENT ? t->iss : t->snd.una;
	if (!seq_in(seq, lo, seq_max(t->snd_max, lo + 1))) {
		icmp_ignored(st, raddr);
		return NULL;
	}
	return t;
}

/* A smaller path MTU for t. RFC 1191 3: "the host MUST ... reduce its
 * estimate of the PMTU" and "MUST NOT increase its estimate ... in response
 * to [one]"; RFC 8201 4 says the same of IPv6's Packet Too Big. */
static void tcp_pmtu_lower(struct stack *st, struct tcb *t, uint32_t mtu)
{
	/* t->mss is net of the timestamps every segment carries (tcp_set_mss):
	 * so is the new one (Linux tcp_mtu_to_mss less tcp_header_len) */
	uint32_t mss = mtu - tcp_ip_hlen(t) - TCP_HDR_LEN - (t->ts_ok ? TCP_TS_OPT_LEN : 0);
	if (mss >= t->mss) {
		icmp_ignored(st, &t->raddr);
		return;
	}
	t->mss = (uint16_t)mss;
	if (nst_addr_is_v4(&t->raddr))
		st->stat.icmp_pmtu_update++;    /* IPv6's is counted with its path MTU cache */
	if (tcp_synced(t->state) && t->snd.una != t->snd_max) {
		/* Linux tcp_simple_retransmit: what is in flight was too big
		 * and is lost; send it again now at the new size, with no
		 * congestion response (it was not congestion) and no RTT
		 * sample from the resent data (Karn). */
		t->rtt_on = 0;
		t->snd.nxt = t->snd.una;
		tcp_output(st, t);
		tcp_timers_update(st, t);
	}
}

/* An error with errno err: ends a handshake, else a soft error. */
static void tcp_icmp_unreach(struct stack *st, struct tcb *t, int err)
{
	if (err && (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED)) {
		tcp_done(st, t, err);
		return;
	}
	icmp_ignored(st, &t->raddr);     /* synchronized: soft error, nothing changes */
}

void tcp_icmp_error(struct stack *st, int type, int code, uint16_t mtu,
		    const struct nst_addr *laddr, uint16_t lport, const struct nst_addr *raddr,
		    uint16_t rport, uint32_t seq)
{
	if (type != ICMP_DEST_UNREACH) {
		st->stat.icmp_err_ignored++;
		return;
	}
	struct tcb *t = tcp_icmp_tcb(st, laddr, lport, raddr, rport, seq);
	if (!t)
		return;
	if (code == ICMP_FRAG_NEEDED) {
		/* an old router sends 0 (RFC 1191 5: plateau search, not done:
		 * Linux too keeps the current value then) */
		if (mtu == 0) {
			st->stat.icmp_err_ignored++;
			return;
		}
		tcp_pmtu_lower(st, t, mtu < TCP_MIN_PMTU ? TCP_MIN_PMTU : mtu);
		return;
	}
	int hard;
	tcp_icmp_unreach(st, t, icmp_unreach_errno(code, &hard));
}

/* ICMPv6 (RFC 4443) as Linux's tcp_v6_err and icmpv6_err_convert: Packet
 * Too Big lowers the path MTU (never below IPv6's 1280, RFC 8200 5);
 * Destination Unreachable, Parameter Problem and Time Exceeded end a
 * handshake with their errno. */
void tcp_icmp6_error(struct stack *st, int type, int code, uint32_t mtu,
		     const struct nst_addr *laddr, uint16_t lport,
		     const struct nst_addr *raddr, uint16_t rport, uint32_t seq)
{
	struct tcb *t = tcp_icmp_tcb(st, laddr, lport, raddr, rport, seq);
	if (!t)
		return;
	int err = 0;
	switch (type) {
	case ICMP6_PACKET_TOO_BIG:
		tcp_pmtu_lower(st, t, mtu < IP6_MIN_MTU ? IP6_MIN_MTU : mtu);
		return;
	case ICMP6_DST_UNREACH:
		err = code == ICMP6_DST_UNREACH_NOPORT ? ECONNREFUSED
		    : code == ICMP6_DST_UNREACH_NOROUTE ? ENETUNREACH
		    : code == ICMP6_DST_UNREACH_ADMIN || code == 5 || code == 6 ? EACCES
		    : EHOSTUNREACH;
		break;
	case ICMP6_PARAM_PROB:
		err = EPROTO;
		break;
	case ICMP6_TIME_EXCEEDED:
		err = EHOSTUNREACH;
		break;
	}
	tcp_icmp_unreach(st, t, err);
}
