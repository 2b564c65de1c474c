/* Ethernet II: demultiplex by ethertype on input, prepend the header on output. */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"

static const uint8_t eth_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Consumes p; p->data at the Ethernet header. */
void eth_input(struct stack *st, struct pkt *p)
{
	st->stat.eth_rx++;
	const struct eth_hdr *eh = pkt_pull(p, ETH_HDR_LEN);
	if (!eh) {
		st->stat.eth_drop_short++;
		pkt_free(p);
		return;
	}
	/* Accept frames to our MAC, broadcast, and the IPv6 multicast groups
	 * we listen to (all-nodes, our solicited-node groups: RFC 4861 7.2.1,
	 * RFC 4862 5.4.2); no other multicast is joined. */
	if (memcmp(eh->dst, st->dev->mac, 6) != 0 && memcmp(eh->dst, eth_bcast, 6) != 0 &&
	    !ipv6_mcast_mac_ours(st, eh->dst)) {
		st->stat.eth_drop_dst++;
		pkt_free(p);
		return;
	}
	switch (ntohs(eh->type)) {
	case ETH_P_IPV4:
		ipv4_input(st, p);
		break;
	case ETH_P_ARP:
		arp_input(st, p);
		break;
	case ETH_P_IPV6:
		ipv6_input(st, p);
		break;
	default:
		st->stat.eth_drop_proto++;
		pkt_free(p);
	}
}

/* Prepend an Ethernet header (source: our MAC) and queue p on the device.
 * Consumes p. Frames below the 60-byte minimum are padded with zeros. */
int eth_output(struct stack *st, struct pkt *p, const uint8_t dst_mac[6], uint16_t type)
{
	struct eth_hdr *eh = pkt_push(p, ETH_HDR_LEN);
	if (!eh) {
		st->stat.tx_nobufs++;
		pkt_free(p);
		return -ENOBUFS;
	}
	memcpy(eh->dst, dst_mac, 6);
	memcpy(eh->src, st->dev->mac, 6);
	eh->type = htons(type);
	if (p->len < 60) {
		size_t pad = 60 - p->len;
		memset(pkt_put(p, pad), 0, pad);
	}
	st->stat.eth_tx++;
	netdev_xmit(st->dev, &p, 1);
	st->tx_pending++;
	return 0;
}
