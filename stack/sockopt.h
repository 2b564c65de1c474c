/* Socket options shared by TCP and UDP sockets: the argument rules of each
 * level, and the options the stack keeps for the application without a
 * protocol of its own behind them (stored-only, read back as Linux does).
 *
 * tcp_setsockopt / tcp_getsockopt (sockopt.c) and udp_setsockopt /
 * udp_getsockopt (udp.c) ask sockopt_set / sockopt_get first; SOCKOPT_PASS
 * means "the protocol's own code answers this one"
 * (SO_RCVBUF, TCP_NODELAY, IP_RECVERR on UDP ...). IP_TOS and IP_TTL are not
 * stored-only: tcp_out.c and udp.c put them in the IPv4 header of the
 * socket's packets (sockopt_tos / sockopt_ttl).
 */
#ifndef NSTACK_SOCKOPT_H
#define NSTACK_SOCKOPT_H

#include <stdint.h>

#define SOCKOPT_PASS 1          /* not answered here: the protocol's code does */

struct sock_opts {
	uint64_t flags;         /* SOCKOPT_F_* booleans */
	int32_t  priority, mark, peek_off, busy_poll, incoming_cpu, txrehash;
	int32_t  rcvlowat;      /* UDP (TCP keeps its own) */
	int32_t  linger_s;      /* UDP SO_LINGER (TCP keeps its own) */
	uint32_t tstamping;     /* SO_TIMESTAMPING flags */
	uint64_t max_pacing_rate;
	int32_t  ifindex;       /* SO_BINDTODEVICE / SO_BINDTOIFINDEX, 0 = none */
	uint8_t  tos;           /* IP_TOS */
	int16_t  ttl;           /* IP_TTL, -1 = default */
	uint8_t  pmtudisc, minttl, mc_ttl, buf_lock, save_syn;
	uint16_t port_lo, port_hi;      /* IP_LOCAL_PORT_RANGE */
	uint8_t  tclass;        /* IPV6_TCLASS */
	int16_t  hops;          /* IPV6_UNICAST_HOPS, -1 = default */
	int16_t  mc_hops;       /* IPV6_MULTICAST_HOPS, -1 = default (1) */
	uint8_t  pmtudisc6;     /* IPV6_MTU_DISCOVER */
	uint16_t v6flags;       /* SOCKOPT_V6_*: stored IPv6 booleans */
	/* TCP */
	int32_t  syncnt;        /* 0 = default */
	int32_t  linger2;       /* seconds; 0 = default, -1 = no FIN-WAIT-2 timeout */
	int32_t  defer_accept;  /* in SYN-ACK retransmissions, as Linux keeps it */
	int32_t  window_clamp, notsent_lowat, fastopen_qlen, tx_delay_us;
	/* UDP */
	int32_t  udp_segment;
};

/* sock_opts.v6flags */
#define SOCKOPT_V6_RECVPKTINFO  0x01
#define SOCKOPT_V6_RECVTCLASS   0x02
#define SOCKOPT_V6_RECVHOPLIMIT 0x04
#define SOCKOPT_V6_RECVERR      0x08
#define SOCKOPT_V6_MC_LOOP      0x10    /* default on */
#define SOCKOPT_V6_NO_AUTOFLOW  0x20    /* IPV6_AUTOFLOWLABEL off */
#define SOCKOPT_V6_DONTFRAG     0x40
#define SOCKOPT_V6_RECVPATHMTU  0x80
#define SOCKOPT_V6_2292HOPLIMIT 0x100   /* IPV6_2292HOPLIMIT */

/* What the caller knows about the socket. */
struct sockopt_sock {
	uint8_t  stream;        /* SOCK_STREAM (TCP), else UDP */
	uint8_t  closed;        /* TCP: CLOSE state (never connected, not listening) */
	uint8_t  listening;
	uint8_t  connected;
	uint16_t lport;
	unsigned mtu;           /* path MTU once connected */
	uint8_t  af;            /* NST_AF_INET or NST_AF_INET6 */
	uint8_t  bound;         /* a local port is chosen (IPV6_V6ONLY is fixed from then on) */
	uint8_t *v6only;        /* the socket's IPV6_V6ONLY, NULL for AF_INET */
};

void sockopt_init(struct sock_opts *o);
int  sockopt_set(struct sock_opts *o, const struct sockopt_sock *k, int level, int name,
		 const void *val, unsigned len);
int  sockopt_get(const struct sock_opts *o, const struct sockopt_sock *k, int level, int name,
		 void *val, unsigned *len);
/* The int argument of an option at this level, Linux's rules: IP options
 * take one byte when optlen is 1..3; other levels want a whole int. */
int  sockopt_arg_int(int level, int name, const void *val, unsigned len, int *v);
/* Copy out an int at this level, as Linux truncates it (IP: one byte when
 * optlen < 4 and the value fits; others: min(optlen, 4) bytes). */
int  sockopt_put_int(int level, int v, void *val, unsigned *len);

/* The receive control messages asked for: NST_RCTL_* (stack.h). */
unsigned sockopt_recv_ctl(const struct sock_opts *o);

/* The IPv4 header fields of the socket's packets. */
static inline uint8_t sockopt_tos(const struct sock_opts *o) { return o->tos; }
static inline uint8_t sockopt_ttl(const struct sock_opts *o) { return o->ttl > 0 ? (uint8_t)o->ttl : 0; }
static inline uint8_t sockopt_tclass(const struct sock_opts *o) { return o->tclass; }
static inline uint8_t sockopt_hops(const struct sock_opts *o) { return o->hops > 0 ? (uint8_t)o->hops : 0; }

#endif
