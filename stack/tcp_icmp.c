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

#define TCP_MIN_PMTU 552        /* Linux ip_rt_min_pmtu */

void tcp_icmp_error(struct stack *st, int type, int code, uint16_t mtu,
		    uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport, uint32_t seq)
{
	struct tcb *t = tcp_lookup(st, laddr, lport, raddr, rport);
	if (!t || t->state == TCP_LISTEN || t->raddr != raddr || t->rport != rport ||
	    t->state == TCP_CLOSED || type != ICMP_DEST_UNREACH) {
		st->stat.icmp_err_ignored++;
		return;
	}
	uint32_t lo = t->state == TCP_SYN_SENT ? t->iss : t->snd.una;
	if (!seq_in(seq, lo, seq_max(t->snd_max, lo + 1))) {
		st->stat.icmp_err_ignored++;
		return;
	}
	if (code == ICMP_FRAG_NEEDED) {
		/* RFC 1191 3: "the host MUST ... reduce its estimate of the PMTU"
		 * and "MUST NOT increase its estimate ... in response to [one]";
		 * an old router sends 0 (RFC 1191 5: plateau search, not done:
		 * Linux too keeps the current value then). */
		if (mtu == 0) {
			st->stat.icmp_err_ignored++;
			return;
		}
		if (mtu < TCP_MIN_PMTU)
			mtu = TCP_MIN_PMTU;
		uint32_t mss = (uint32_t)mtu - IP_HDR_LEN - TCP_HDR_LEN;
		if (mss >= t->mss) {
			st->stat.icmp_err_ignored++;
			return;
		}
		t->mss = (uint16_t)mss;
		st->stat.icmp_pmtu_update++;
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
		return;
	}
	int hard;
	int err = icmp_unreach_errno(code, &hard);
	if (!err) {
		st->stat.icmp_err_ignored++;
		return;
	}
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED) {
		tcp_done(st, t, err);
		return;
	}
	(void)hard;     /* synchronized: soft error, nothing changes */
	st->stat.icmp_err_ignored++;
}
