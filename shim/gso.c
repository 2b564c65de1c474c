/* Software checksum completion and TCP segmentation: what a NIC (or the
 * kernel behind a TAP) does with PKT_F_CSUM_PARTIAL and gso_size, for the
 * devices of shim/ (declared in shim.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "shim/shim.h"
#include "stack/csum.h"
#include "stack/ip.h"
#include "stack/ip6.h"
#include "stack/tcp.h"

int gso_csum_complete(struct pkt *p, unsigned start, unsigned off)
{
	uint16_t c;

	if (start >= p->len || (size_t)start + off + 2 > p->len)
		return -1;
	/* the field holds the pseudo-header sum, so it is summed with the rest */
	c = csum(p->data + start, p->len - start);
	p->data[start + off] = (uint8_t)(c >> 8);
	p->data[start + off + 1] = (uint8_t)c;
	return 0;
}

int gso_csum_complete_pkt(struct pkt *p)
{
	if (!(p->flags & PKT_F_CSUM_PARTIAL))
		return 0;
	p->flags &= (uint16_t)~PKT_F_CSUM_PARTIAL;
	return gso_csum_complete(p, p->csum_start - (unsigned)(p->data - p->buf), p->csum_off);
}

/* One wire segment i of the TSO frame p: headers (hdr bytes) and n payload
 * bytes from payload offset off. NULL if the pool is empty. */
static struct pkt *gso_one(const struct pkt *p, unsigned ihl, unsigned hdr, uint32_t off,
			   uint32_t n, unsigned i, int last)
{
	struct pkt *q = hdr + n <= PKT_MAX_FRAME ? pkt_alloc() : pkt_alloc_large();
	uint8_t *b;

	if (!q || !(b = pkt_put(q, hdr + n))) {
		pkt_free(q);
		return NULL;
	}
	memcpy(b, p->data, hdr);
	memcpy(b + hdr, p->data + hdr + off, n);

	struct tcp_hdr *th = (struct tcp_hdr *)(b + ETH_HDR_LEN + ihl);
	unsigned tlen = hdr - ETH_HDR_LEN - ihl + n;
	uint32_t sum;
	if (ihl == IP6_HDR_LEN && (b[ETH_HDR_LEN] >> 4) == 6) {
		/* IPv6: the payload length; no identification, no header checksum */
		struct ip6_hdr *ih6 = (struct ip6_hdr *)(b + ETH_HDR_LEN);
		struct nst_addr src, dst;
		ih6->payload_len = htons((uint16_t)tlen);
		memcpy(src.b, ih6->src, 16);
		memcpy(dst.b, ih6->dst, 16);
		sum = csum_pseudo6(&src, &dst, IP_PROTO_TCP, tlen);
	} else {
		struct ip_hdr *ih = (struct ip_hdr *)(b + ETH_HDR_LEN);
		ih->total_len = htons((uint16_t)(hdr - ETH_HDR_LEN + n));
		ih->id = htons((uint16_t)(ntohs(ih->id) + i));
		ih->csum = 0;
		ih->csum = htons(csum(ih, ihl));
		sum = csum_pseudo(ntohl(ih->src), ntohl(ih->dst), IP_PROTO_TCP, (uint16_t)tlen);
	}
	th->seq = htonl(ntohl(th->seq) + off);
	if (!last)
		th->flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
	th->csum = 0;
	th->csum = htons(csum_fold(csum_add(sum, th, tlen)));
	return q;
}

int gso_segment(struct pkt *p, struct pkt_queue *out)
{
	struct pkt_queue segs = { 0 };
	const struct ip_hdr *ih;
	const struct tcp_hdr *th;
	unsigned ihl, hdr, i = 0;
	uint32_t payload, off;

	if (!p->gso_size) {
		if (gso_csum_complete_pkt(p) < 0)
			goto bad;
		pkt_queue_push(out, p);
		return 1;
	}
	if (p->len < ETH_HDR_LEN + IP_HDR_LEN + TCP_HDR_LEN)
		goto bad;
	ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
	if ((ih->ver_ihl >> 4) == 6) {
		/* IPv6 without extension headers (what TSO6 frames carry) */
		const struct ip6_hdr *ih6 = (const struct ip6_hdr *)ih;
		ihl = IP6_HDR_LEN;
		if (ih6->next != IP6_NH_TCP || p->len < ETH_HDR_LEN + ihl + TCP_HDR_LEN)
			goto bad;
	} else {
		ihl = (ih->ver_ihl & 0xf) * 4u;
		if (ih->proto != IP_PROTO_TCP || ihl < IP_HDR_LEN ||
		    p->len < ETH_HDR_LEN + ihl + TCP_HDR_LEN)
			goto bad;
	}
	th = (const struct tcp_hdr *)(p->data + ETH_HDR_LEN + ihl);
	hdr = ETH_HDR_LEN + ihl + (th->off >> 4) * 4u;
	if (hdr > p->len)
		goto bad;
	payload = p->len - hdr;
	for (off = 0; off < payload || (payload == 0 && i == 0); off += p->gso_size, i++) {
		uint32_t n = payload - off < p->gso_size ? payload - off : p->gso_size;
		struct pkt *q = gso_one(p, ihl, hdr, off, n, i, off + n >= payload);

		if (!q) {
			pkt_queue_purge(&segs);
			pkt_free(p);
			return -ENOBUFS;
		}
		pkt_queue_push(&segs, q);
		if (payload == 0)
			break;
	}
	pkt_free(p);
	while ((p = pkt_queue_pop(&segs)))
		pkt_queue_push(out, p);
	return (int)i + (payload == 0);
bad:
	pkt_free(p);
	return -EINVAL;
}
