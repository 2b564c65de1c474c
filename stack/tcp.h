/* TCP (RFC 9293): connection state, the socket table and the entry points the
 * rest of stack/ calls. (Owned by the TCP module; see tcp_in.c, tcp_out.c,
 * tcp_timer.c, tcp_iss.c, tcp_sack.c (SACK, RFC 6675 loss recovery), tcp_rack.c
 * (RACK loss detection, PRR, undo), tcp_cc.c
 * (congestion control: CUBIC, Reno), tcp_table.c (the TCB table), ring.c
 * (the byte rings), tcp_usr.c (the user calls), sockopt.c (options).)
 *
 * One table of TCBs, allocated once at tcp_init. A socket descriptor (sd) is
 * an index into that table. The table holds twice cfg.max_sockets entries:
 * at most max_sockets are owned by the application (live sockets); the rest
 * of the room is for connections nobody owns any more (orphans after
 * nst_close: FIN handshake, TIME-WAIT) and for children of listeners that are
 * not accepted yet.
 *
 * TCP keeps no packets to send. Unacknowledged and unsent bytes stay in a
 * byte ring (the send ring); retransmission rebuilds segments from it.
 * Received bytes, in order and out of order, go into the receive ring; a
 * short list of ranges says which bytes beyond rcv.nxt are present
 * (reassembly). The one exception: a large in-order segment (a GRO frame)
 * that finds nothing unread in the ring is kept in the packet it came in
 * (the held queue, ring.c), so that recv copies its bytes once, packet to
 * user; held bytes always come before the ring's.
 *
 * Memory (ring.c): a ring holds no memory until bytes are
 * queued into it, grows by powers of two (TCP_RING_MIN up) as they are, and
 * is freed when it empties (the receive ring after a read, the send ring when
 * everything is acknowledged; a ring larger than TCP_RING_MIN once it has
 * stayed empty TCP_RING_IDLE_US, so a stream does not reallocate its ring at
 * every read), so an idle connection costs its TCB only.
 * What a ring may hold is its budget (rcv_budget, snd_budget), not its size:
 * the window we advertise comes from the receive budget, which grows with
 * the reader (dynamic right-sizing, like Linux tcp_rcv_space_adjust); the
 * send budget grows with cwnd (Linux tcp_sndbuf_expand). SO_RCVBUF/SO_SNDBUF
 * fix them (Linux's SOCK_RCVBUF_LOCK/SOCK_SNDBUF_LOCK). Every byte of ring
 * memory is charged to a stack-wide cap (cfg.mem_max).
 */
#ifndef NSTACK_TCP_H
#define NSTACK_TCP_H

#include <stdint.h>
#include <sys/types.h>
#include "pkt.h"
#include "ring.h"
#include "stack.h"      /* struct nst_addr */
#include "sockopt.h"
#include "tcp_state.h"    /* enum tcp_state, tcp_synced */

struct stack;

/* Timers: absolute deadlines in microseconds, 0 = off. */
enum tcp_timer_id {
	TCP_T_REXMT = 0,        /* retransmission, also SYN and SYN-ACK retries */
	TCP_T_PERSIST,          /* zero-window probe */
	TCP_T_KEEP,             /* keepalive */
	TCP_T_2MSL,             /* TIME-WAIT, and the FIN-WAIT-2 orphan timeout */
	TCP_T_DELACK,           /* delayed ACK */
	TCP_T_CORK,             /* TCP_CORK ceiling: corked partial data goes out */
	TCP_T_MEM,              /* an emptied ring stayed empty: free it (ring.c) */
	TCP_T_PTO,              /* tail loss probe (RFC 8985 7, tcp_sack.c) */
	TCP_T_REO,              /* RACK reordering timer (RFC 8985 6.3, tcp_rack.c) */
	TCP_T_MAX
};

/* Segment flags (TCP header byte 13). */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

#define TCP_HDR_LEN 20

/* Constants; each says where it comes from. */
#define TCP_MSS_DEF   536           /* RFC 9293 3.7.1 / RFC 1122 4.2.2.6 */
#define TCP_RTO_INIT_US   1000000ull    /* RFC 6298 2.1: 1 s */
#define TCP_RTO_MIN_US    200000ull     /* RFC 6298 2.3 G: RTO >= SRTT + 200 ms (Linux TCP_RTO_MIN) */
#define TCP_RTO_MAX_US    120000000ull  /* Linux TCP_RTO_MAX, 120 s */
#define TCP_SYN_RETRIES   6             /* Linux tcp_syn_retries: ~127 s in all */
#define TCP_SYNACK_RETRIES 5            /* Linux tcp_synack_retries */
#define TCP_RETRIES2      15            /* Linux tcp_retries2 */
#define TCP_MSL_US        30000000ull   /* 2MSL = 60 s = Linux TCP_TIMEWAIT_LEN */
#define TCP_TIMEWAIT_US   (2 * TCP_MSL_US)
#define TCP_FIN_TIMEOUT_US 60000000ull  /* Linux tcp_fin_timeout: FIN-WAIT-2 orphans */
/* The FIN-WAIT-2 timeout: a positive TCP_LINGER2 (seconds), else the default
 * (-1, Linux's "no FIN-WAIT-2 state", is not implemented: the default). */
#define tcp_fin_timeout_us(t) \
	((t)->so.linger2 > 0 ? (uint64_t)(t)->so.linger2 * 1000000ull : TCP_FIN_TIMEOUT_US)
#define TCP_TW_EVICT_BATCH 64           /* TIME-WAITs one scan of a full table finds */
#define TCP_DELACK_US     40000ull      /* Linux TCP_DELACK_MIN; RFC 1122: <= 500 ms */
#define TCP_QUICKACKS     16            /* Linux TCP_MAX_QUICKACKS: ACKs sent at once after the start */
#define TCP_COMP_SACK_NR  44            /* Linux tcp_comp_sack_nr: SACK-only ACKs held back at most */
#define TCP_COMP_SACK_US  1000ull       /* Linux tcp_comp_sack_delay_ns: their delay at most (1 ms) */
#define TCP_CORK_US       200000ull     /* Linux: "a 200 millisecond ceiling" on TCP_CORK */
#define TCP_KEEPIDLE_DEF_S    7200          /* Linux defaults for keepalive */
#define TCP_KEEPINTVL_DEF_S   75
#define TCP_KEEPCNT_DEF   9
#define TCP_IW_SEGS       10            /* RFC 6928 initial window, as Linux */
#define TCP_MARKS_MAX     32            /* PSH ends and record ends (MSG_EOR) kept per
					 * connection (tcp_out.c); beyond, the oldest go */
#define TCP_OOO_MAX       64            /* out-of-order ranges kept (holes the SACK
					 * blocks describe: 16 overflowed at 1% loss) */
#define TCP_RING_MIN      4096u         /* smallest ring allocated */
#define TCP_HOLD_MIN      8192u         /* smallest payload kept in its packet (ring.c, held
					 * queue): GRO frames; a smaller one is cheaper to copy
					 * than to hold a 64 KB buffer for */
#define TCP_RMEM_DEF      131072u       /* initial receive budget: Linux tcp_rmem[1] */
#define TCP_RMEM_MAX      (6u << 20)    /* autotuned receive budget limit: Linux tcp_rmem[2] */
#define TCP_SKB_TRUESIZE  4352u        /* Linux's memory per MSS-sized segment (tcp_sndbuf_expand:
					 * roundup_pow_of_two(mss + headers + shinfo) + sk_buff) */
#define TCP_WMEM_DEF      (2u * TCP_IW_SEGS * TCP_SKB_TRUESIZE)  /* 87040: Linux's sndbuf of a
					 * new connection, 2 x IW10 x TCP_SKB_TRUESIZE */
#define TCP_WMEM_MAX      (4u << 20)    /* autotuned send budget limit: Linux tcp_wmem[2] */
#define TCP_SKB_OVERHEAD  832u          /* Linux's truesize of an skb of the write queue before
					 * payload (tcp_stream_alloc_skb: SKB_TRUESIZE of a
					 * MAX_TCP_HEADER head from skb_small_head_cache, x86_64;
					 * measured on 6.18: blocking-write wakes at ACK 34497,
					 * not 34496, with 3 skbs queued) */
#define TCP_GSO_MAX_SIZE  65279u        /* Linux sk_gso_max_size: 64 KB less MAX_TCP_HEADER + 1 */
#define TCP_VSKB_MAX      64            /* virtual skb ends kept (SO_SNDBUF sockets); beyond,
					 * the two oldest merge */
#define TCP_MEM_MAX_DEF   (1ull << 30)  /* stack-wide ring memory cap when cfg.mem_max is 0 */
#define TCP_NOBUFS_RETRY_US 10000ull    /* output retry after the packet pool ran dry */
#define TCP_RING_IDLE_US  200000ull     /* an emptied ring larger than TCP_RING_MIN is freed
					 * after this long still empty (a stream keeps its) */
#define TCP_MAX_WND       65535u        /* the 16-bit window field (unscaled, and on SYNs) */
#define TCP_WSCALE_MAX    14            /* RFC 7323 2.3 */
#define TCP_TS_OPT_LEN    12            /* NOP, NOP, kind 8, len 10, TSval, TSecr */
#define TCP_PAWS_IDLE_US  (24ull * 86400 * 1000000)  /* RFC 7323 5.5: 24 days */
#define TCP_PAWS_WINDOW   1     /* ticks of the peer's clock a TSval may lag (Linux) */
#define TCP_TW_REUSE_US   1000000ull    /* connect takes over a TIME-WAIT this quiet (Linux) */
#define TCP_SACK_SB_MAX   32            /* SACKed ranges the sender keeps (scoreboard) */
#define TCP_SACK_RCV_MAX  4             /* SACK blocks in one ACK: 40 option bytes (RFC 2018 3) */
#define TCP_DUPTHRESH     3             /* RFC 5681 / RFC 6675 DupThresh */
#define TCP_REORDERING_MAX 300          /* Linux's tcp_max_reordering */
#define TCP_WCDELACK_US   200000ull     /* RFC 8985 7.2 WCDelAckT: worst-case delayed ACK */
#define TCP_PTO_MIN_US    2000ull       /* slack added to 2*SRTT in the PTO (Linux: TCP_TIMEOUT_MIN, 2 jiffies) */
#define TCP_PTO_INIT_US   1000000ull    /* RFC 8985 7.2: PTO without an SRTT */
#define TCP_XLOG_MAX      32            /* transmit-time records per connection (RACK) */
#define TCP_RACK_PERSIST  16            /* RFC 8985 6.2 step 4: RACK.reo_wnd_persist */
#define TCP_MINRTT_WIN_US (300ull * 1000000)  /* RACK.min_RTT window (Linux tcp_min_rtt_wlen) */
#define TCP_SOMAXCONN     4096
#define TCP_CHALLENGE_ACK_LIMIT 1000    /* Linux tcp_challenge_ack_limit (RFC 5961 7), per second */
#define TCP_INVALID_RATELIMIT_US 500000ull  /* Linux tcp_invalid_ratelimit: ACKs to invalid segments */

/* An out-of-order range [start, end) of sequence space held in the receive
 * ring beyond rcv.nxt. */
struct tcp_range {
	uint32_t start, end;
};

/* Received packets kept whole (ring.c, "held packets"), linked through
 * pkt->next, first unread first; each one's data and len are its unread
 * payload. */
struct tcp_held {
	struct pkt *head, *tail;
	uint32_t    len;        /* unread bytes in them */
	uint32_t    n;          /* packets */
};

/* A run of sequence space [start, end) (re)transmitted at one time,
 * xmit_us (the low 32 bits of st->now_us): RACK's per-segment transmit
 * time (RFC 8985 6.1), kept per burst, since one poll sends every segment
 * of a burst at the same now_us. */
struct tcp_xrec {
	uint32_t start, end;
	uint32_t xmit_us;
	uint8_t  flags;         /* TCP_XR_* */
};
#define TCP_XR_RETRANS 0x01     /* retransmitted at least once */
#define TCP_XR_LOST    0x02     /* marked lost, not resent since */
#define TCP_XR_MARKED  0x04     /* marked lost, resent or not (Linux TCPCB_LOST: tcpi_lost) */

/* CUBIC's per-connection state (tcp_cc.c). The window arithmetic is
 * Linux's (tcp_cubic.c, struct bictcp): windows in whole segments, times
 * in jiffies of CUBIC_JIFFY_US and, for W_cubic's t and K, 1/1024 s. */
struct tcp_cubic {
	uint32_t cnt;           /* cwnd grows one segment per cnt segments acked */
	uint32_t cwnd_cnt;      /* segments acked towards that (Linux snd_cwnd_cnt) */
	uint32_t acked_part;    /* acked bytes short of a whole segment */
	uint32_t last_max_cwnd; /* W_max, segments; 0: none (after a timeout) */
	uint32_t last_cwnd;     /* cwnd when cnt was last computed */
	uint64_t last_time;     /* jiffy cnt was last computed */
	uint32_t origin;        /* the plateau W_cubic climbs to (W_max, or cwnd_epoch) */
	uint32_t k;             /* K, 1/1024 s */
	uint64_t epoch_start;   /* jiffy the congestion-avoidance stage began */
	uint8_t  epoch_on;      /* a stage is running (epoch_start valid) */
	uint32_t ack_cnt;       /* segments acked since tcp_cwnd last stepped */
	uint32_t tcp_cwnd;      /* W_est, the Reno-friendly window, segments */
	uint64_t delay_min_us;  /* the least RTT seen, 0: none */
	/* HyStart++ (RFC 9406) in the initial slow start: per-round minimum
	 * RTTs, and Conservative Slow Start (CSS) */
	uint8_t  hs_css;        /* in CSS */
	uint8_t  hs_css_rounds;
	uint8_t  hs_done;       /* no more HyStart++ on this connection */
	uint32_t hs_round_end;  /* the round ends when snd.una reaches this */
	uint32_t hs_samples;    /* RTT samples in this round */
	uint64_t hs_last_min_us, hs_cur_min_us, hs_css_base_us;   /* 0 = none */
};

struct tcb {
	/* table bookkeeping */
	uint8_t  in_use;
	uint8_t  owned;         /* an sd the application holds (not orphan, not pending child) */
	uint8_t  state;         /* enum tcp_state */
	uint8_t  bound;         /* local port chosen (bind, connect or listen) */
	int      hnext;         /* 4-tuple hash chain, -1 ends */
	int      hashed;
	int      pnext, pprev;  /* chain of the bound TCBs of a port bucket (on_pchain) */
	uint8_t  on_pchain;
	uint16_t pport;         /* the port whose chain it is on */
	int      hpos;          /* index in the timer heap, -1 when out of it */
	uint64_t hkey;          /* its key there: the earliest armed timer */
	int      free_next;

	/* addresses: IPv4 as v4-mapped (stack.h struct nst_addr); ports host order */
	struct nst_addr laddr, raddr;
	uint16_t lport, rport;
	uint8_t  af;            /* the socket's family, NST_AF_INET or NST_AF_INET6 */
	uint8_t  v6only;        /* IPV6_V6ONLY: an AF_INET6 socket that takes no IPv4 */

	/* RFC 9293 3.3.1 send sequence variables */
	struct {
		uint32_t una, nxt, wnd, wl1, wl2;
	} snd;
	uint32_t iss;
	uint32_t snd_max;       /* highest sequence sent + 1 (snd.nxt goes back on RTO) */
	uint32_t max_snd_wnd;   /* largest window the peer offered (RFC 5961 5.2, SWS) */
	/* receive sequence variables */
	struct {
		uint32_t nxt, wnd;
	} rcv;
	uint32_t irs;
	uint32_t rcv_adv;       /* right edge of the window last advertised */
	uint32_t rcv_acked;     /* rcv.nxt as of the last ACK sent */

	uint16_t mss;           /* effective send MSS */
	uint16_t rcv_mss;       /* largest segment seen from the peer (delayed ACK) */
	uint16_t user_mss;      /* TCP_MAXSEG, 0 = none */

	/* RFC 7323: window scaling and timestamps, negotiated on the SYNs */
	uint8_t  ws_ok;         /* both SYNs carried Window Scale */
	uint8_t  snd_wscale;    /* the peer's shift: applied to SEG.WND we receive */
	uint8_t  rcv_wscale;    /* our shift: applied to the window we send */
	uint8_t  ts_ok;         /* both SYNs carried Timestamps: every segment carries them */
	uint8_t  ts_recent_ok;  /* TS.Recent holds a value (PAWS has something to compare) */
	uint32_t ts_recent;     /* TS.Recent (RFC 7323 4.3) */
	uint64_t ts_recent_us;  /* when TS.Recent was set (PAWS 24-day validity) */
	uint32_t ts_off;        /* offset of our TSval clock, per address pair (tcp_ts_offset) */
	uint8_t  sack_ok;       /* RFC 2018: both SYNs carried SACK-permitted */
	/* SACK receiver (RFC 2018 4): sequence numbers of the latest
	 * out-of-order arrivals, most recent first (their ooo[] ranges are the
	 * blocks we report, in this order); a D-SACK (RFC 2883) to report once */
	uint32_t sack_recent[TCP_SACK_RCV_MAX];
	uint8_t  n_sack_recent;
	uint8_t  dsack;
	uint32_t dsack_start, dsack_end;
	/* SACK sender: the scoreboard, sorted disjoint ranges in (snd.una,
	 * snd_max] */
	struct tcp_range sacked[TCP_SACK_SB_MAX];
	uint8_t  n_sacked;
	uint32_t sacked_bytes;
	/* RACK (RFC 8985 6, tcp_rack.c): transmit times of [snd.una, snd_max)
	 * (sorted, disjoint), and the RACK variables */
	struct tcp_xrec xlog[TCP_XLOG_MAX];
	uint8_t  n_xlog;
	uint8_t  rack_ok;           /* RACK.xmit_ts / RACK.end_seq are set */
	uint8_t  rack_reord;        /* RACK.reordering_seen */
	uint16_t reordering;        /* reordering distance seen, segments (Linux tp->reordering; 0: none) */
	uint8_t  rack_reo_mult;     /* RACK.reo_wnd_mult */
	uint8_t  rack_reo_persist;  /* RACK.reo_wnd_persist */
	uint8_t  rack_dsack_on;     /* RACK.dsack_round is set */
	uint32_t rack_dsack_round;
	uint32_t rack_xmit_us;      /* RACK.xmit_ts (low 32 bits of the clock) */
	uint32_t rack_end_seq;      /* RACK.end_seq */
	uint32_t rack_fack;         /* RACK.fack: highest sequence delivered */
	uint8_t  rack_fack_on;
	uint64_t rack_rtt;          /* RACK.rtt */
	uint64_t min_rtt, min_rtt_at;   /* RACK.min_RTT (windowed) and when it was taken */
	/* PRR (RFC 6937) in loss recovery, bytes */
	uint32_t prr_delivered, prr_out, prr_recover_fs;
	/* undo (Linux tcp_try_undo_*): the window before the episode, its
	 * retransmissions not yet D-SACKed, TSval of its first retransmission */
	uint8_t  undo_on;
	uint8_t  undo_ts_on;
	uint32_t undo_cwnd, undo_ssthresh;
	uint32_t undo_marker;       /* snd.una when the episode began */
	int32_t  undo_retrans;
	uint32_t undo_tsval;

	/* rings: allocated lazily, grown and freed as bytes come and go (ring.c) */
	struct tcp_ring sndbuf;       /* bytes from sndbuf_seq on: unacked, then unsent */
	uint32_t        sndbuf_seq;
	struct tcp_held rcv_held;     /* unread in-order bytes kept in their packets,
				       * before the ring's (ring.c) */
	struct tcp_ring rcvbuf;       /* head: first unread byte after the held ones;
				       * len: in-order bytes */
	uint32_t        rcv_budget;   /* bytes the receive side may hold: the window's base */
	uint32_t        snd_budget;   /* bytes the send ring may hold */
	uint8_t         rcv_locked;   /* SO_RCVBUF set: no autotuning (Linux SOCK_RCVBUF_LOCK) */
	uint8_t         snd_locked;   /* SO_SNDBUF set (SOCK_SNDBUF_LOCK) */
	uint8_t         xmit_nobufs;  /* output stopped: packet pool exhausted (retry timer) */
	uint32_t        drs_seq;      /* dynamic right-sizing: bytes read up to here ... */
	uint64_t        drs_time;     /* ... at this time (0: not started) */
	uint32_t        drs_space;    /* most bytes read in one RTT so far */
	uint64_t        rcv_rtt;      /* the receiver's RTT estimate (Linux rcv_rtt_est): echoed
				       * timestamps of full-sized data; 0 = none */
	struct tcp_range ooo[TCP_OOO_MAX];
	unsigned        n_ooo;
	uint32_t        fin_ooo_seq;  /* sequence of a FIN seen beyond a hole */
	uint8_t         fin_ooo;

	/* closing */
	uint8_t  fin_queued;    /* we will send FIN after the send ring (SHUT_WR / close) */
	uint8_t  shut_rd;       /* application: SHUT_RD */
	uint8_t  fin_rcvd;      /* peer's FIN processed */
	uint8_t  done;          /* connection over (RST, timeout, refusal, normal end): both directions shut */
	uint8_t  orphan;        /* the application closed it; it finishes on its own */
	uint8_t  in_synq, in_acq;  /* child counted in its listener's syn_n / accept queue */
	uint8_t  connecting;    /* nst_connect started (SS_CONNECTING) */
	uint8_t  connected;     /* nst_connect reported success (SS_CONNECTED) */
	uint8_t  passive;       /* child of a listener */
	uint8_t  ack_now;       /* an ACK must go out before input returns */
	uint8_t  rtt_on;        /* timing one segment (RFC 6298, Karn) */
	uint8_t  zwp_unanswered;/* zero-window probes with no ACK back */
	int      err;           /* pending SO_ERROR, positive errno */

	/* retransmission (RFC 6298); times in microseconds */
	uint64_t timer[TCP_T_MAX];
	uint64_t srtt, rttvar, rto;
	uint64_t rtt_start;     /* when the timed segment left (valid while rtt_on) */
	uint32_t rtt_seq;       /* ACK covering this ends the measurement */
	unsigned retries;       /* consecutive RTO expiries */
	uint64_t persist_iv;    /* current persist interval */
	unsigned keep_probes;   /* keepalive probes without answer */

	/* congestion control (RFC 5681, RFC 6582 / RFC 6675 loss recovery,
	 * the algorithm's hooks in tcp_cc.c) */
	uint8_t  cc_id;         /* the algorithm: index in tcp_cc_all (0: CUBIC, the
	                         * default). An index, not a pointer: processes that
	                         * share the stack map the library at other addresses */
	union tcp_cc_priv {
		struct tcp_cubic cubic;
	} cc, undo_cc;              /* undo_cc: the algorithm's state before the episode */
	uint32_t cwnd, ssthresh;
	uint64_t lsnd_us;       /* when data (or a FIN) was last sent (tcp_xmit) */
	uint32_t ca_acked;      /* bytes acked in congestion avoidance */
	/* congestion window validation (tcp_cwnd_validate, as Linux's
	 * is_cwnd_limited / max_packets_out): over the window of data sent
	 * up to cwnd_usage_seq, whether cwnd was full and the most segments
	 * that were out */
	uint8_t  cwnd_limited;
	uint32_t max_out_segs;
	uint32_t cwnd_usage_seq;
	uint32_t recover;
	unsigned dupacks;
	uint8_t  in_recovery;
	/* tail loss probe (RFC 8985 7): a probe is out until an ACK reaches
	 * tlp_high (TLPHighRxt, SND.NXT when it left); tlp_rxt: it was a
	 * retransmission (TLPRxtOut), whose ACK may say the tail was lost */
	uint8_t  tlp_out, tlp_rxt;
	uint8_t  tlp_restart;   /* new data sent or acknowledged: restart the PTO */
	uint8_t  tlp_rtt_wait;  /* no RTT sample since the last probe (RFC 8985 7.3) */
	uint32_t tlp_high;

	/* listener */
	int      parent;        /* listener of a child, -1 */
	int      backlog;
	int      acc_head, acc_tail, acc_next;  /* accept queue (children, ESTABLISHED) */
	unsigned acc_n;         /* accept queue length */
	unsigned syn_n;         /* children in SYN-RECEIVED */
	uint64_t synq_overflow_us;  /* last SYN answered with a cookie (tcp_syncookie.c), 0 never */
	uint64_t last_oow_ack_us;   /* last ACK to an invalid segment (RFC 5961 7), 0 never */
	uint64_t lrcv_us;           /* data last received, or the handshake done (Linux lrcvtime) */

	/* socket options */
	uint8_t  opt_keepalive, opt_reuseaddr, opt_nodelay, opt_linger_on;
	uint8_t  opt_reuseport;      /* SO_REUSEPORT: stored; load balancing is a later issue */
	int      opt_linger_s;
	int      opt_rcvbuf, opt_sndbuf;     /* stored, reported doubled like Linux */
	int      keepidle_s, keepintvl_s, keepcnt;
	/* stored for getsockopt, not acted on yet (sockopt.c) */
	uint8_t  opt_cork;           /* TCP_CORK: hold partial segments (tcp_output) */
	uint8_t  cork_push;          /* the cork ceiling expired: send what is held */
	uint8_t  more_now;           /* output from a send with MSG_MORE: hold like TCP_CORK */
	uint8_t  snd_more;           /* the queue ends with MSG_MORE data: no PSH on it */
	uint32_t snd_sml;            /* end of the last partial segment sent (Minshall's Nagle) */
	uint16_t unit_goal;          /* segments per transmission unit, decided by the last send
	                              * (Linux's size_goal: skbs are sized when written); 0: none yet */
	/* boundaries in the send sequence space (tcp_out.c), ascending, those
	 * at or below snd.una stale: ends of segments sent with PSH (the ends
	 * of transmission units, which a retransmission of the whole unit
	 * repeats: tcp_xmit), and
	 * record ends (a send with MSG_EOR: no segment crosses one) */
	uint32_t psh_end[TCP_MARKS_MAX];
	uint32_t eor_end[TCP_MARKS_MAX];
	uint32_t push_end[TCP_MARKS_MAX];   /* ends of pushed data: a send's or a record's */
	/* Linux's write queue, for a socket with SO_SNDBUF (snd_locked; tcp_out.c
	 * "virtual skbs"): the ends of its skbs in the send sequence space,
	 * ascending, those at or below snd.una stale; the last is the end of
	 * what is queued. Linux's tp->pushed_seq (tcp_mark_push). */
	uint32_t vskb_end[TCP_VSKB_MAX];
	uint8_t  n_vskb;
	uint8_t  push_one;           /* tcp_output sends one transmission unit (tcp_push_one) */
	uint8_t  snd_nospace;        /* a write found the send memory used up (SOCK_NOSPACE): the
				      * next goes on once writeable (sk_stream_write_space) */
	uint32_t pushed_seq;
	uint8_t  n_psh, n_eor, n_push;
	/* the run of retransmissions of one output pass (tcp_xmit): where it
	 * ends and its segments since the last unit end; cleared by tcp_output */
	uint32_t rxt_run_end;
	uint32_t rxt_run_segs;
	uint8_t  opt_quickack_off;   /* TCP_QUICKACK 0 (Linux pingpong mode); 0 reads back 1 */
	uint8_t  quickacks;          /* in-order data segments still ACKed at once (quick-ack mode) */
	/* SACK compression (tcp_in.c tcp_ooo_ack): duplicate ACKs sent at once
	 * for rcv.nxt == comp_rcv_nxt, and ACKs held back since the last sent */
	uint32_t comp_rcv_nxt;
	uint8_t  comp_dupacks;
	uint8_t  comp_held;
	int      user_timeout_ms;    /* TCP_USER_TIMEOUT: stored; RTO give-up is tcp_retries2 */
	int      rcvlowat;           /* SO_RCVLOWAT, 0 = default 1; stored, recv/poll ignore it */
	struct sock_opts so;         /* IP_TOS, IP_TTL, TCP_SYNCNT, TCP_LINGER2, stored-only options */
	/* per-connection counters for TCP_INFO */
	uint32_t total_retrans;      /* segments retransmitted */
	uint32_t dsack_dups;         /* segments D-SACKed, all told (tcp_sack_input) */
	/* delivery rate (ss -i): bytes newly acknowledged over the last sample
	 * interval of at least one SRTT */
	uint64_t delivered;          /* bytes acknowledged over the connection's life */
	uint64_t dr_start_us, dr_start_delivered;
	uint64_t delivery_rate_bps;  /* bytes per second, 0 before the first sample */
	uint32_t segs_out, segs_in;
};

struct tcp_ctx {
	struct tcb *tcb;        /* cap entries */
	unsigned cap;
	unsigned max_sockets;
	unsigned n_owned;       /* live sockets held by the application */
	int      free_head;
	int     *hash;          /* 4-tuple hash buckets of TCB indices */
	unsigned hash_mask;
	int     *phash;         /* bound TCBs by local port (lport & hash_mask) */
	/* the oldest TIME-WAIT orphans, oldest first, from the last scan of a
	 * full table (tcp_tcb_alloc); an entry is stale unless its TCB is still
	 * such an orphan with that 2MSL deadline */
	int      twc[TCP_TW_EVICT_BATCH];
	uint64_t twc_at[TCP_TW_EVICT_BATCH];
	unsigned twc_n, twc_i;
	int     *theap;         /* binary min-heap (by hkey) of the TCBs with a timer armed */
	unsigned theap_n;
	uint32_t next_ephemeral;/* RFC 6056 Algorithm 3 */
	unsigned hiwat;         /* entries [hiwat, cap) never used yet (not on the free list) */
	uint64_t mem_used;      /* bytes of ring memory allocated (every ring's size),
				 * and the buffers of held packets (their size) */
	unsigned held_pkts;     /* packets held by receive queues (ring.c), stack-wide */
	uint64_t mem_max;       /* cap on mem_used (cfg.mem_max) */
	uint8_t  mem_pressure;  /* a send found the cap reached: wake writers when memory frees */
	unsigned rmem_max, wmem_max;   /* SO_RCVBUF/SO_SNDBUF clamp (net.core.rmem_max/wmem_max) */
	uint32_t notsent_lowat; /* TCP_NOTSENT_LOWAT when unset (net.ipv4.tcp_notsent_lowat); 0 none */
	uint32_t min_tso_segs;  /* fewest segments in a unit (net.ipv4.tcp_min_tso_segs); 0: 2 */
	uint8_t  ss_after_idle; /* net.ipv4.tcp_slow_start_after_idle (tcp_cwnd_restart); 0: off */
	uint8_t  ts_off;        /* net.ipv4.tcp_timestamps 0: no RFC 7323 timestamps offered or accepted */
	uint64_t chack_sec;     /* RFC 5961 7: second (+1) of the challenge-ACK budget, 0 none */
	uint32_t chack_left;    /* challenge ACKs left in that second */
};

int      tcp_init(struct stack *st);            /* at stack_create: allocate tables */
void     tcp_fini(struct stack *st);
/* p->data at the TCP header, p->len == TCP segment length. Consumes p. */
void     tcp_input(struct stack *st, struct pkt *p, const struct nst_addr *src,
		   const struct nst_addr *dst);
void     tcp_timer(struct stack *st);           /* run timers due at st->now_us */
uint64_t tcp_next_deadline(const struct stack *st);

/* ---- internal to the TCP module (tcp_*.c, ring.c, sockopt.c) ----------- */

/* The TCP header on the wire (RFC 9293 3.1), network order. */
struct tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t  off;           /* data offset in 32-bit words, high nibble */
	uint8_t  flags;
	uint16_t wnd, csum, urp;
} __attribute__((packed));

#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2
#define TCP_OPT_WS  3
#define TCP_OPT_SACK_PERM 4     /* RFC 2018 */
#define TCP_OPT_SACK      5
#define TCP_OPT_TS  8

/* A received segment, parsed once, host order. */
struct tcp_seg {
	struct nst_addr src, dst;      /* IP addresses (IPv4 v4-mapped) */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint32_t wnd;
	uint8_t  flags;
	uint16_t mss;           /* MSS option, 0 if absent */
	uint8_t  has_ws, ws;    /* Window Scale option (SYN only) and its shift.cnt */
	uint8_t  sack_perm;     /* SACK-permitted option (SYN only) */
	uint8_t  nsack;         /* SACK blocks (RFC 2018 3), as on the wire */
	struct tcp_range sack[TCP_SACK_RCV_MAX];
	uint8_t  has_ts;        /* Timestamps option */
	uint32_t tsval, tsecr;
	const uint8_t *data;
	uint32_t len;           /* data bytes */
	struct pkt *pkt;        /* the packet data is in; NULL once a receive queue
				 * holds it (tcp_data_in), or none */
};

/* SEG.LEN of RFC 9293: data plus SYN and FIN. */
/* The IP header under t's segments: 20 bytes for IPv4, 40 for IPv6 (no
 * extension headers); t NULL: IPv4. */
static inline unsigned tcp_ip_hlen(const struct tcb *t)
{
	return !t || nst_addr_is_v4(&t->raddr) ? 20 : 40;
}

static inline uint32_t tcp_seg_len(const struct tcp_seg *s)
{
	return s->len + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);
}

/* Verdicts of the input steps, acted on at the single exit of tcp_input. */
enum tcp_verdict {
	TCP_OK = 0,
	TCP_DROP,
	TCP_DROP_ACK,           /* answer the invalid segment with an ACK (rate-limited) */
	TCP_DROP_RST,
	TCP_DROP_CHALLENGE,     /* RFC 5961 challenge ACK (rate-limited per connection and globally) */
};

/* a connection's rings and budgets (ring.c; the ring itself: ring.h) */
void     tcp_rings_free(struct stack *st, struct tcb *t);
void     tcp_ring_emptied(struct stack *st, struct tcb *t, struct tcp_ring *r);
void     tcp_mem_timer(struct stack *st, struct tcb *t);
void     tcp_snd_budget_update(struct tcb *t);
uint32_t tcp_snd_room(const struct stack *st, const struct tcb *t);
int      tcp_notsent_ok(const struct stack *st, const struct tcb *t, int wake);  /* tcp_usr.c */

/* held packets of a receive queue (ring.c) */
int      tcp_rcv_hold(struct stack *st, struct tcb *t, struct pkt *p, const uint8_t *data,
		      uint32_t len);
int      tcp_rcv_append(struct tcb *t, const uint8_t *data, uint32_t len);
void     tcp_rcv_copy_out(const struct tcb *t, void *dst, uint32_t n);
void     tcp_rcv_consume(struct stack *st, struct tcb *t, uint32_t n);
void     tcp_rcv_held_free(struct stack *st, struct tcb *t);

/* Bytes the application has not read: the held packets' and the ring's. */
static inline uint32_t tcp_rcv_unread(const struct tcb *t)
{
	return t->rcv_held.len + t->rcvbuf.len;
}

/* Room left under the receive budget: what the window may offer. */
static inline uint32_t tcp_rcv_space(const struct tcb *t)
{
	uint32_t unread = tcp_rcv_unread(t);
	return t->rcv_budget > unread ? t->rcv_budget - unread : 0;
}

/* Debug builds (NST_INVARIANTS): check a TCB, or the whole table and the
 * memory accounting, after input, output and timers; abort on a violation. */
#ifdef NST_INVARIANTS
void     tcp_check(const struct stack *st, const struct tcb *t);
void     tcp_check_all(const struct stack *st);
#define  TCP_CHECK(st, t)   tcp_check(st, t)
#define  TCP_CHECK_ALL(st)  tcp_check_all(st)
#else
#define  TCP_CHECK(st, t)   ((void)0)
#define  TCP_CHECK_ALL(st)  ((void)0)
#endif

/* table (tcp_table.c) */
struct tcb *tcp_tcb_alloc(struct stack *st);
int      tcp_tcb_index(const struct stack *st, const struct tcb *t);   /* its sd when owned */
void     tcp_tcb_recycle(struct stack *st, struct tcb *t);     /* fresh for a new connect() */
void     tcp_child_unlink(struct stack *st, struct tcb *t);
void     tcp_tcb_free(struct stack *st, struct tcb *t);
void     tcp_hash_insert(struct stack *st, struct tcb *t);
void     tcp_hash_remove(struct stack *st, struct tcb *t);
/* ra NULL: a listener on la:lp */
struct tcb *tcp_hash_find(struct stack *st, const struct nst_addr *la, uint16_t lp,
			  const struct nst_addr *ra, uint16_t rp);
void     tcp_port_link(struct stack *st, struct tcb *t);
struct tcb *tcp_lookup(struct stack *st, const struct nst_addr *laddr, uint16_t lport,
		       const struct nst_addr *raddr, uint16_t rport);
struct tcb *tcp_lookup_listener(struct stack *st, const struct nst_addr *laddr, uint16_t lport);
int      tcp_port_conflict(struct stack *st, const struct tcb *me, const struct nst_addr *addr,
			   uint16_t port);
int      tcp_listen_conflict(struct stack *st, const struct tcb *t);
int      tcp_tw_recyclable(const struct stack *st, const struct tcb *u);
/* raddr NULL: a port for bind(0)/listen */
uint16_t tcp_ephemeral(struct stack *st, const struct nst_addr *laddr, const struct nst_addr *raddr,
		       uint16_t rport, struct tcb **tw);
void     tcp_set_state(struct stack *st, struct tcb *t, int state);
void     tcp_done(struct stack *st, struct tcb *t, int err);
void     tcp_child_established(struct stack *st, struct tcb *t);
void     tcp_notify(struct stack *st, struct tcb *t);
void     tcp_state_event(struct stack *st, const struct tcb *t, int to);  /* sock_info.c: the state hook */

/* the user calls of a TCP socket (tcp_usr.c), the nst_* calls of sock.c
 * for stream sockets; st->now_us is the time of the call */
int      tcp_usr_socket(struct stack *st, int af);     /* af: NST_AF_INET or NST_AF_INET6 */
int      tcp_usr_valid(struct stack *st, int sd);
int      tcp_usr_family(struct stack *st, int sd);
int      tcp_usr_bind(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port);
int      tcp_usr_listen(struct stack *st, int sd, int backlog);
int      tcp_usr_accept(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
int      tcp_usr_connect(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port);
int      tcp_usr_disconnect(struct stack *st, int sd);
ssize_t  tcp_usr_send(struct stack *st, int sd, const void *buf, size_t len, int flags,
		      int to_set, const struct nst_addr *addr, uint16_t port);
ssize_t  tcp_usr_recv(struct stack *st, int sd, void *buf, size_t len, int flags,
		      struct nst_addr *addr, uint16_t *port, int *out_flags);
int      tcp_usr_shutdown(struct stack *st, int sd, int how);
int      tcp_usr_close(struct stack *st, int sd);
void     tcp_usr_close_all(struct stack *st);
int      tcp_usr_getsockname(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
int      tcp_usr_getpeername(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
uint32_t tcp_usr_poll(struct stack *st, int sd);
int      tcp_usr_error(struct stack *st, int sd);
size_t   tcp_usr_rx_avail(struct stack *st, int sd);
struct tcb *tcp_usr_tcb(struct stack *st, int sd);   /* the TCB an owned sd names, or NULL */
/* socket options of a TCP socket (sockopt.c) */
int      tcp_setsockopt(struct stack *st, int sd, int level, int name, const void *val, unsigned len);
int      tcp_getsockopt(struct stack *st, int sd, int level, int name, void *val, unsigned *len);

/* children of a listener (tcp_in.c): a new TCB for seg's 4-tuple with the
 * listener's options and rings, not hashed; NULL if none is free. */
struct tcb *tcp_child_new(struct stack *st, struct tcb *l, const struct tcp_seg *seg);
void     tcp_set_mss(struct stack *st, struct tcb *t, uint16_t peer_mss);

/* SYN cookies (tcp_syncookie.c), RFC 4987 3.6. */
#define TCP_SYNCOOKIE_VALID_US (120ull * 1000000)  /* Linux TCP_SYNCOOKIE_VALID: 2 minutes */
/* Answer seg (a SYN to listener l whose queue is full) with a cookie SYN-ACK. */
void     tcp_syncookie_send(struct stack *st, struct tcb *l, const struct tcp_seg *seg);
/* A bare ACK to listener l: 0 if it is no cookie answer (go on as LISTEN:
 * reset), 1 with *child set (a SYN-RECEIVED child that seg completes),
 * -1 to drop it. seg's window gets the child's scaling. */
int      tcp_syncookie_ack(struct stack *st, struct tcb *l, struct tcp_seg *seg, struct tcb **child);
/* The cookie (ISS) for seg at st->now_us, and its check (ack is the peer's
 * SEG.ACK - 1, seq its SEG.SEQ - 1): the MSS index or -1. Exposed for tests. */
uint32_t tcp_syncookie_make(const struct stack *st, const struct tcp_seg *seg, unsigned mssind);
int      tcp_syncookie_check(const struct stack *st, const struct tcp_seg *seg, uint32_t cookie,
			     uint32_t sseq);

/* ICMP errors about a segment we sent (tcp_icmp.c): PMTU (RFC 1191) and
 * unreachable, with RFC 5927's checks. Addresses/ports of the quoted header. */
void     tcp_icmp_error(struct stack *st, int type, int code, uint16_t mtu,
			const struct nst_addr *laddr, uint16_t lport, const struct nst_addr *raddr,
			uint16_t rport, uint32_t seq);


/* output (tcp_out.c) */
int      tcp_output(struct stack *st, struct tcb *t);
int      tcp_xmit(struct stack *st, struct tcb *t, uint32_t seq, uint32_t len, uint8_t flags);
void     tcp_send_syn(struct stack *st, struct tcb *t);
void     tcp_send_ack(struct stack *st, struct tcb *t);
void     tcp_send_rst(struct stack *st, struct tcb *t);
void     tcp_send_rst_reply(struct stack *st, const struct tcp_seg *seg);
void     tcp_send_probe(struct stack *st, struct tcb *t);
uint32_t tcp_rcv_wnd(const struct tcb *t);
uint32_t tcp_wnd_to_adv(const struct stack *st, const struct tcb *t);
void     tcp_window_update(struct stack *st, struct tcb *t);
void     tcp_push(struct stack *st, struct tcb *t, int force);  /* after TCP_CORK 0 / TCP_NODELAY 1 */
uint16_t tcp_adv_mss(const struct stack *st, const struct tcb *t);
uint16_t tcp_syn_mss(const struct stack *st, const struct tcb *t);
uint8_t  tcp_wscale_ours(const struct tcb *t);
uint32_t tcp_ts_now(const struct stack *st, const struct tcb *t);
static inline uint32_t tcp_snd_end(const struct tcb *t) { return t->sndbuf_seq + t->sndbuf.len; }

/* SACK (tcp_sack.c): RFC 2018 blocks we send, RFC 6675 loss recovery */
unsigned tcp_sack_blocks(struct tcb *t, struct tcp_range *out, unsigned max);
void     tcp_sack_rcv_note(struct tcb *t, uint32_t seq);
void     tcp_sack_input(struct stack *st, struct tcb *t, const struct tcp_seg *seg, uint32_t acked,
			int dup5681);
void     tcp_sack_recovery_end(struct stack *st, struct tcb *t);
unsigned tcp_dupthresh(const struct tcb *t);            /* with Early Retransmit (RFC 5827) */
void     tcp_tlp_update(struct stack *st, struct tcb *t);   /* arm/stop the PTO */
void     tcp_tlp_fire(struct stack *st, struct tcb *t);
void     tcp_sack_clear(struct tcb *t);
uint32_t tcp_sack_marked_bytes(const struct tcb *t);
uint32_t tcp_sack_pipe(const struct tcb *t);
uint32_t tcp_sack_lost_bytes(const struct tcb *t);
uint32_t tcp_send_limit(struct stack *st, struct tcb *t);
/* Bytes of a retransmission from seq, at most len, that stop at a record end (tcp_out.c). */
uint32_t tcp_rexmit_len(const struct tcb *t, uint32_t seq, uint32_t len);
/* Record a record end (MSG_EOR) at seq (tcp_out.c). */
void     tcp_eor_mark(struct tcb *t, uint32_t seq);
int tcp_cwnd_may_grow(const struct tcb *t);
void tcp_cwnd_restart(struct stack *st, struct tcb *t);
void tcp_cc_grow(struct stack *st, struct tcb *t, uint32_t delivered);
void tcp_unit_goal_update(const struct stack *st, struct tcb *t);
/* Linux's send memory for SO_SNDBUF sockets (tcp_out.c, virtual skbs) */
uint64_t tcp_wmem_queued(struct tcb *t);
int      tcp_snd_writeable(struct tcb *t);
ssize_t  tcp_vskb_send(struct stack *st, struct tcb *t, const void *buf, uint32_t len,
		       int *blocked);
void     tcp_vskb_push(struct tcb *t, int more);
uint64_t tcp_rack_ack_rtt(const struct stack *st, const struct tcb *t, uint32_t una, uint32_t ack);
uint32_t tcp_sb_unsacked_from(const struct tcb *t, uint32_t s, uint32_t *hole_end);

/* RACK-TLP loss detection (RFC 8985 6), PRR (RFC 6937) and undo (tcp_rack.c) */
struct tcp_rack_ack {           /* what one ACK delivered (RFC 8985 6.2 steps 2-3) */
	uint32_t delivered;     /* bytes newly ACKed or SACKed (RFC 6937 DeliveredData) */
	uint8_t  have_best, best_orig, have_fack, have_orig;
	uint32_t best_us, best_end;     /* the most recently sent delivered segment */
	uint64_t best_rtt;
	uint8_t  have_last, last_cum;   /* the last sample in Linux's order (RACK.rtt) */
	uint32_t last_end;
	uint64_t last_rtt;
	uint32_t fack;          /* highest delivered sequence */
	uint32_t orig_end;      /* lowest end of a delivered never-retransmitted segment */
	uint32_t orig_start;    /* lowest start of one (the reordering distance) */
};
void     tcp_rack_sent(struct stack *st, struct tcb *t, uint32_t seq, uint32_t len, uint8_t flags);
void     tcp_rack_deliver(struct stack *st, struct tcb *t, const struct tcp_seg *seg,
			  struct tcp_rack_ack *ra, uint32_t s, uint32_t e);
void     tcp_rack_ack_done(struct stack *st, struct tcb *t, struct tcp_rack_ack *ra);
void     tcp_rack_xlog_prune(struct tcb *t);
int      tcp_rack_sack_whole(const struct tcb *t, uint32_t *s, uint32_t *e);
uint32_t tcp_rack_detect(struct stack *st, struct tcb *t, int dsack);
void     tcp_rack_fire(struct stack *st, struct tcb *t);
void     tcp_rack_rto(struct stack *st, struct tcb *t);
void     tcp_rack_recovery_exit(struct tcb *t);
uint32_t tcp_rack_lost_next(const struct tcb *t, uint32_t *len);
void     tcp_rack_min_rtt(struct stack *st, struct tcb *t, uint64_t rtt_us);
void     tcp_sack_recovery_start(struct stack *st, struct tcb *t);
void     tcp_prr_start(struct tcb *t);
void     tcp_prr_ack(struct tcb *t, uint32_t delivered, int safe);
void     tcp_undo_start(struct stack *st, struct tcb *t);
void     tcp_undo_dsack(struct tcb *t, uint32_t s, uint32_t e);
int      tcp_undo_try(struct stack *st, struct tcb *t, const struct tcp_seg *seg, int dsack, int at_end,
		      int una_moved);

/* congestion control (tcp_cc.c): one ops table per algorithm */
struct tcp_cc_ops {
	const char *name;       /* TCP_CONGESTION name, as Linux's */
	uint8_t     id;         /* its index in tcp_cc_all */
	/* fresh private state (connection start, algorithm switched) */
	void     (*init)(struct tcb *t);
	/* an ACK acknowledged `acked` new bytes outside loss recovery, and
	 * cwnd is what limits the sender: slow start or congestion avoidance */
	void     (*cong_avoid)(struct stack *st, struct tcb *t, uint32_t acked);
	/* a loss was detected (fast retransmit, or the first timeout): the
	 * new ssthresh */
	uint32_t (*ssthresh)(struct stack *st, struct tcb *t);
	/* a retransmission timeout; cwnd is already the loss window */
	void     (*on_rto)(struct stack *st, struct tcb *t);
	/* an RTT sample (optional, NULL: none) */
	void     (*rtt_sample)(struct stack *st, struct tcb *t, uint64_t rtt_us);
};
extern const struct tcp_cc_ops tcp_cc_reno, tcp_cc_cubic;
extern const struct tcp_cc_ops *const tcp_cc_all[2];
const struct tcp_cc_ops *tcp_cc_find(const char *name);
static inline const struct tcp_cc_ops *tcp_cc(const struct tcb *t)
{
	return tcp_cc_all[t->cc_id];
}
void     tcp_cc_set(struct tcb *t, const struct tcp_cc_ops *ops);
uint32_t tcp_cc_loss_ssthresh(struct stack *st, struct tcb *t);
double   tcp_cubic_root(double x);

/* timers (tcp_timer.c) */
void     tcp_timer_set(struct stack *st, struct tcb *t, int id, uint64_t at);
void     tcp_timers_clear(struct stack *st, struct tcb *t);
void     tcp_timers_update(struct stack *st, struct tcb *t);
void     tcp_rtt_sample(struct tcb *t, uint64_t r_us);
void     tcp_rto_calc(struct tcb *t);
void     tcp_keep_reset(struct stack *st, struct tcb *t);

/* ISS for a 4-tuple at st->now_us (RFC 6528). Exposed for tests. */
uint32_t tcp_iss(const struct stack *st, const struct nst_addr *laddr, uint16_t lport,
		 const struct nst_addr *raddr, uint16_t rport);
uint32_t tcp_port_offset(const struct stack *st, const struct nst_addr *laddr,
			 const struct nst_addr *raddr, uint16_t rport);
uint32_t tcp_ts_offset(const struct stack *st, const struct nst_addr *laddr,
		       const struct nst_addr *raddr);

#endif

