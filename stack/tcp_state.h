/* The TCP states (RFC 9293 3.3.2), in RFC order, so that tcp_synced(s) is
 * s >= TCP_ESTABLISHED. Own header: struct nst_tcp_info and struct
 * nst_sock_info carry these numbers, and preload/ maps them to Linux's
 * (preload/tcpinfo.c). The names clash with <netinet/tcp.h>'s: include it
 * where that header is not (<linux/tcp.h> is fine). */
#ifndef NSTACK_TCP_STATE_H
#define NSTACK_TCP_STATE_H

enum tcp_state {
	TCP_CLOSED = 0,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RECEIVED,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

static inline int tcp_synced(int s) { return s >= TCP_ESTABLISHED; }

#endif
