/* getsockopt(IPPROTO_TCP, TCP_INFO): Linux's struct tcp_info (<linux/tcp.h>,
 * the kernel's layout, which glibc's <netinet/tcp.h> copy lags behind)
 * filled from nst_tcp_info. Own file: <linux/tcp.h> and <netinet/tcp.h>
 * cannot meet in one translation unit.
 *
 * Units as Linux reports them: times in microseconds, snd_cwnd and
 * snd_ssthresh in segments (TCP_INFINITE_SSTHRESH while unset), windows in
 * bytes. tcpi_options, the window scales and tcpi_sacked/tcpi_lost (SACK
 * scoreboard) come from the connection; tcpi_last_data_recv from the time
 * data last came (or the handshake ended). Fields we have nothing for stay
 * 0: fackets, pacing and delivery rates, the other last_* times,
 * busy/limited times, the RTO and ECN counters.
 *
 * The installed <linux/tcp.h> may end earlier than the running kernel's
 * struct: ours has the fields through Linux 6.18 (the accurate-ECN ones),
 * and a program built against the newer header (packetdrill) checks that
 * it got all of them, as the kernel gives.
 */
#include <stddef.h>
#include <string.h>
#include <linux/tcp.h>
#include "preload.h"
#include "stack/tcp_state.h"

#define LINUX_TCP_INFINITE_SSTHRESH 0x7fffffff
#define LINUX_TCP_DELACK_MIN_US     40000
#define LINUX_TCP_REORDERING        3

struct linux_tcp_info {
	struct tcp_info base;           /* through tcpi_snd_wnd */
	uint32_t rcv_wnd;
	uint32_t rehash;
	uint16_t total_rto, total_rto_recoveries;
	uint32_t total_rto_time;
	uint32_t received_ce;
	uint32_t delivered_e1_bytes, delivered_e0_bytes, delivered_ce_bytes;
	uint32_t received_e1_bytes, received_e0_bytes, received_ce_bytes;
	uint32_t ecn_bits;              /* ecn_mode:2, accecn_opt_seen:2, accecn_fail_mode:4, options2:24 */
};
_Static_assert(sizeof(struct tcp_info) <= offsetof(struct linux_tcp_info, rcv_wnd),
	       "<linux/tcp.h> newer than struct linux_tcp_info");

/* Our states (stack/tcp_state.h) as Linux numbers them. */
static const uint8_t linux_state[] = {
	[TCP_CLOSED]       = 7,         /* TCP_CLOSE */
	[TCP_LISTEN]       = 10,
	[TCP_SYN_SENT]     = 2,
	[TCP_SYN_RECEIVED] = 3,         /* TCP_SYN_RECV */
	[TCP_ESTABLISHED]  = 1,
	[TCP_FIN_WAIT_1]   = 4,
	[TCP_FIN_WAIT_2]   = 5,
	[TCP_CLOSE_WAIT]   = 8,
	[TCP_CLOSING]      = 11,
	[TCP_LAST_ACK]     = 9,
	[TCP_TIME_WAIT]    = 6,
};

/* Under the lock. 0 with the value copied (truncated to *lenp, as Linux),
 * or -errno. */
int tcpinfo_get(struct nsock *s, void *val, socklen_t *lenp)
{
	struct nst_tcp_info ni;
	eng_freshen();
	int r = nst_tcp_info(eng.st, s->sd, &ni);
	if (r < 0)
		return r;
	struct linux_tcp_info lti;
	memset(&lti, 0, sizeof(lti));
	struct tcp_info *tp = &lti.base;
#define ti (*tp)
	ti.tcpi_state = ni.state < sizeof(linux_state) ? linux_state[ni.state] : 7;
	ti.tcpi_ca_state = ni.ca_state;
	ti.tcpi_retransmits = ni.retransmits;
	ti.tcpi_options = (ni.options & NST_TCPI_OPT_TS ? TCPI_OPT_TIMESTAMPS : 0) |
			  (ni.options & NST_TCPI_OPT_SACK ? TCPI_OPT_SACK : 0) |
			  (ni.options & NST_TCPI_OPT_WSCALE ? TCPI_OPT_WSCALE : 0);
	if (ni.options & NST_TCPI_OPT_WSCALE) {
		ti.tcpi_snd_wscale = ni.snd_wscale & 0xf;
		ti.tcpi_rcv_wscale = ni.rcv_wscale & 0xf;
	}
	ti.tcpi_sacked = ni.sacked_segs;
	ti.tcpi_lost = ni.lost_segs;
	ti.tcpi_rto = ni.rto_us;
	ti.tcpi_ato = LINUX_TCP_DELACK_MIN_US;
	ti.tcpi_snd_mss = ni.snd_mss;
	ti.tcpi_rcv_mss = ni.rcv_mss;
	ti.tcpi_unacked = ni.unacked_segs;
	ti.tcpi_pmtu = ni.pmtu;
	ti.tcpi_rcv_ssthresh = ni.rcv_wnd;
	ti.tcpi_rtt = ni.rtt_us;
	ti.tcpi_rttvar = ni.rttvar_us;
	uint32_t mss = ni.snd_mss ? ni.snd_mss : 536;
	ti.tcpi_snd_ssthresh = ni.snd_ssthresh == 0xffffffffu ? LINUX_TCP_INFINITE_SSTHRESH
							       : ni.snd_ssthresh / mss;
	ti.tcpi_snd_cwnd = ni.snd_cwnd / mss;
	ti.tcpi_advmss = ni.advmss;
	ti.tcpi_reordering = ni.reordering ? ni.reordering : LINUX_TCP_REORDERING;
	ti.tcpi_rcv_space = ni.rcv_wnd;
	ti.tcpi_total_retrans = ni.total_retrans;
	ti.tcpi_bytes_acked = ni.bytes_acked;
	ti.tcpi_bytes_received = ni.bytes_received;
	ti.tcpi_segs_out = ni.segs_out;
	ti.tcpi_segs_in = ni.segs_in;
	ti.tcpi_notsent_bytes = ni.notsent_bytes;
	ti.tcpi_min_rtt = ni.rtt_us;    /* not tracked separately: the smoothed RTT */
	ti.tcpi_bytes_sent = ni.bytes_sent;
	ti.tcpi_snd_wnd = ni.snd_wnd;
	if (ni.last_data_recv_us) {
		uint64_t now = eng_now_us();
		ti.tcpi_last_data_recv = now > ni.last_data_recv_us ?
					 (uint32_t)((now - ni.last_data_recv_us) / 1000) : 0;
	}
#undef ti
	lti.rcv_wnd = ni.rcv_wnd;
	/* do_tcp_getsockopt: len = min(len, sizeof(info)) */
	size_t n = *lenp < sizeof(lti) ? *lenp : sizeof(lti);
	if (n && !val)
		return -EFAULT;
	memcpy(val, &lti, n);
	*lenp = (socklen_t)n;
	return 0;
}
