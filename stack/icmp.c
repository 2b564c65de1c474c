/* ICMP (RFC 792, RFC 1122 3.2.2): echo reply. Errors come in a later issue. */
#include <arpa/inet.h>
#include "stack_impl.h"
#include "csum.h"

struct icmp_hdr {
	uint8_t  type;
	uint8_t  code;
	uint16_t csum;
	uint32_t rest;
} __attribute__((packed));

#define ICMP_ECHO_REPLY   0
#define ICMP_ECHO_REQUEST 8

/* Consumes p; p->data at the ICMP header. */
void icmp_input(struct stack *st, struct pkt *p, uint32_t src, uint32_t dst)
{
	st->stat.icmp_rx++;
	struct icmp_hdr *ic = (struct icmp_hdr *)p->data;
	if (p->len < sizeof(*ic)) {
		st->stat.icmp_drop_bad++;
		goto drop;
	}
	if (csum_fold(csum_add(0, p->data, p->len)) != 0) {
		st->stat.icmp_drop_csum++;
		goto drop;
	}
	switch (ic->type) {
	case ICMP_ECHO_REQUEST:
		/* RFC 1122 3.2.2.6: "Every host MUST implement an ICMP Echo server
		 * function that receives Echo Requests and sends corresponding Echo
		 * Replies." The reply reuses the request in place: same identifier,
		 * sequence and data. */
		ic->type = ICMP_ECHO_REPLY;
		ic->code = 0;
		ic->csum = 0;
		ic->csum = htons(csum(p->data, p->len));
		st->stat.icmp_echo_tx++;
		ipv4_output(st, p, IP_PROTO_ICMP, dst, src);
		return;
	default:
		/* not implemented: destination unreachable and other errors (a later issue) */
		break;
	}
drop:
	pkt_free(p);
}
