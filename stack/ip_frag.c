/* IPv4 fragmentation and reassembly (RFC 791 3.2, RFC 815, RFC 1122 3.3.2),
 * overlaps handled as RFC 5722 (errata 3089) and Linux do. See ip_frag.h for
 * the memory model. */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"
#include "csum.h"

int ip_frag_init(struct stack *st)
{
	struct ip_frag_ctx *f = &st->frag;
	f->slot = nst_zalloc(st, IP_FRAG_SLOTS * sizeof(*f->slot));
	if (!f->slot)
		return -ENOMEM;
	f->mem_max = IP_FRAG_MEM_MAX;
	f->src_mem_max = IP_FRAG_SRC_MEM_MAX;
	f->timeout_us = IP_FRAG_TIMEOUT_US;
	return 0;
}

void ip_frag_fini(struct stack *st)
{
	struct ip_frag_ctx *f = &st->frag;
	if (!f->slot)
		return;
	for (unsigned i = 0; i < IP_FRAG_SLOTS; i++)
		nst_free(st, f->slot[i].buf, IP_FRAG_BUF_SIZE);
	nst_free(st, f->slot, IP_FRAG_SLOTS * sizeof(*f->slot));
	f->slot = NULL;
}

/* Forget a datagram under reassembly (its buffer is kept for reuse). */
static void frag_slot_free(struct stack *st, struct ip_frag_slot *s)
{
	st->frag.mem -= s->charge;
	uint8_t *buf = s->buf;
	memset(s, 0, sizeof(*s));
	s->buf = buf;
}

static void frag_deadline_update(struct stack *st)
{
	uint64_t d = 0;
	for (unsigned i = 0; i < IP_FRAG_SLOTS; i++) {
		const struct ip_frag_slot *s = &st->frag.slot[i];
		if (s->in_use && (!d || s->expires_at < d))
			d = s->expires_at;
	}
	st->frag.next_deadline = d;
}

uint64_t ip_frag_next_deadline(const struct stack *st)
{
	return st->frag.next_deadline;
}

/* Reassembly timer (RFC 791: "If the timer runs out, the all reassembly
 * resources for this buffer identifier are released"). RFC 1122 3.3.2: a
 * host SHOULD send Time Exceeded (code 1) when fragment zero arrived. */
void ip_frag_timer(struct stack *st)
{
	for (unsigned i = 0; i < IP_FRAG_SLOTS; i++) {
		struct ip_frag_slot *s = &st->frag.slot[i];
		if (!s->in_use || s->expires_at > st->now_us)
			continue;
		st->stat.ip_frag_timeout++;
		if (s->have_first) {
			unsigned have = s->r[0].start == 0 ? s->r[0].end : 0;
			icmp_send_error(st, s->buf + IP_FRAG_HDR_ROOM - s->hlen, s->hlen + have,
					ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME);
		}
		frag_slot_free(st, s);
	}
	frag_deadline_update(st);
}

/* Bytes charged to one source across its datagrams. */
static uint32_t frag_src_mem(const struct stack *st, uint32_t src)
{
	uint32_t m = 0;
	for (unsigned i = 0; i < IP_FRAG_SLOTS; i++)
		if (st->frag.slot[i].in_use && st->frag.slot[i].src == src)
			m += st->frag.slot[i].charge;
	return m;
}

/* The slot of (src, dst, id, proto) (RFC 791: "the buffer identifier"), a
 * new one, or NULL when every slot is taken. */
static struct ip_frag_slot *frag_find(struct stack *st, uint32_t src, uint32_t dst, uint16_t id,
				      uint8_t proto)
{
	struct ip_frag_slot *free_s = NULL;
	for (unsigned i = 0; i < IP_FRAG_SLOTS; i++) {
		struct ip_frag_slot *s = &st->frag.slot[i];
		if (!s->in_use) {
			if (!free_s)
				free_s = s;
			continue;
		}
		if (s->src == src && s->dst == dst && s->id == id && s->proto == proto)
			return s;
	}
	if (!free_s)
		return NULL;
	if (!free_s->buf) {
		free_s->buf = nst_zalloc(st, IP_FRAG_BUF_SIZE);
		if (!free_s->buf)
			return NULL;
	}
	free_s->in_use = 1;
	free_s->src = src;
	free_s->dst = dst;
	free_s->id = id;
	free_s->proto = proto;
	free_s->expires_at = st->now_us + st->frag.timeout_us;
	if (!st->frag.next_deadline || free_s->expires_at < st->frag.next_deadline)
		st->frag.next_deadline = free_s->expires_at;
	return free_s;
}

/* Complete: hand the datagram up. UDP reads it from the slot's buffer;
 * TCP and ICMP get a packet when it fits one (else it is counted and
 * dropped: nothing of ours sends them that large). */
static void frag_deliver(struct stack *st, struct ip_frag_slot *s)
{
	uint8_t *iph = s->buf + IP_FRAG_HDR_ROOM - s->hlen;
	struct ip_hdr *ih = (struct ip_hdr *)iph;
	unsigned total = s->hlen + s->total;
	ih->total_len = htons((uint16_t)total);
	ih->frag = 0;
	st->stat.ip_frag_reasm_ok++;
	int bcast = stack_is_bcast(st, s->dst);
	if (s->proto == IP_PROTO_UDP) {
		udp_input(st, iph, s->hlen, iph + s->hlen, s->total, 0);
		return;
	}
	struct pkt *p = total + ETH_HDR_LEN <= PKT_MAX_FRAME ? pkt_alloc() : NULL;
	if (!p) {
		st->stat.ip_frag_big++;
		return;
	}
	memcpy(pkt_put(p, total), iph, total);
	pkt_pull(p, s->hlen);
	ipv4_demux(st, p, s->hlen, s->proto, s->src, s->dst, bcast);
}

/* Consumes p; p->data at the IP header (validated, trimmed). */
void ip_frag_input(struct stack *st, struct pkt *p)
{
	st->stat.ip_frag_rx++;
	const struct ip_hdr *ih = (const struct ip_hdr *)p->data;
	unsigned hlen = (ih->ver_ihl & 0xf) * 4u;
	unsigned len = p->len - hlen;
	uint16_t fl = ntohs(ih->frag);
	unsigned off = (fl & IP_OFFMASK) * 8u;
	int mf = !!(fl & IP_MF);
	uint32_t src = ntohl(ih->src), dst = ntohl(ih->dst);
	/* RFC 791: every fragment but the last carries a multiple of 8 octets;
	 * none may reach beyond the 65535-octet datagram (the "ping of death"). */
	if ((mf && (len == 0 || len % 8)) || off + len + hlen > IP_MAX_DGRAM) {
		st->stat.ip_drop_frag++;
		pkt_free(p);
		return;
	}
	struct ip_frag_slot *s = frag_find(st, src, dst, ntohs(ih->id), ih->proto);
	if (!s) {
		st->stat.ip_frag_mem++;
		pkt_free(p);
		return;
	}
	unsigned end = off + len;
	/* The last fragment fixes the size; a second, different one, or data
	 * beyond it, is an inconsistency: the whole datagram goes. */
	if (!mf) {
		if ((s->have_last && s->total != end) || (s->n_ranges && s->r[s->n_ranges - 1].end > end))
			goto overlap;
	} else if (s->have_last && end > s->total) {
		goto overlap;
	}
	/* Find the place among the held ranges; exact duplicate, overlap or gap. */
	unsigned i = 0;
	while (i < s->n_ranges && s->r[i].start < off)
		i++;
	if (i < s->n_ranges && s->r[i].start == off && s->r[i].end == end) {
		/* RFC 5722 errata 3089: "Duplicates, however, should be ignored" */
		st->stat.ip_frag_dup++;
		if (!mf)
			s->have_last = 1;
		pkt_free(p);
		return;
	}
	if ((i > 0 && s->r[i - 1].end > off) || (i < s->n_ranges && s->r[i].start < end))
		goto overlap;
	if (s->n_ranges == IP_FRAG_RANGES) {
		st->stat.ip_frag_toomany++;
		frag_slot_free(st, s);
		frag_deadline_update(st);
		pkt_free(p);
		return;
	}
	uint32_t charge = len + IP_FRAG_OVERHEAD;
	if (st->frag.mem + charge > st->frag.mem_max ||
	    frag_src_mem(st, src) + charge > st->frag.src_mem_max) {
		/* Over a limit: this fragment is dropped; a datagram that cannot
		 * complete ends at its timeout (Linux evicts old queues instead;
		 * a fixed table keeps the accounting simple). */
		st->stat.ip_frag_mem++;
		if (s->n_ranges == 0) {
			frag_slot_free(st, s);
			frag_deadline_update(st);
		}
		pkt_free(p);
		return;
	}
	memmove(&s->r[i + 1], &s->r[i], (s->n_ranges - i) * sizeof(s->r[0]));
	s->r[i].start = (uint16_t)off;
	s->r[i].end = (uint16_t)end;
	s->n_ranges++;
	s->held += len;
	s->charge += charge;
	st->frag.mem += charge;
	memcpy(s->buf + IP_FRAG_HDR_ROOM + off, p->data + hlen, len);
	if (off == 0) {
		/* RFC 791: the reassembled header is the first fragment's. */
		s->have_first = 1;
		s->hlen = (uint8_t)hlen;
		memcpy(s->buf + IP_FRAG_HDR_ROOM - hlen, p->data, hlen);
	}
	if (!mf) {
		s->have_last = 1;
		s->total = end;
	}
	pkt_free(p);
	if (s->have_first && s->have_last && s->held == s->total) {
		frag_deliver(st, s);
		frag_slot_free(st, s);
		frag_deadline_update(st);
	}
	return;
overlap:
	st->stat.ip_frag_overlap++;
	frag_slot_free(st, s);
	frag_deadline_update(st);
	pkt_free(p);
}

/* RFC 791 3.2 "Fragmentation": cut the datagram (hdr + data) into pieces of
 * at most MTU - 20 bytes, each a multiple of 8 but the last, all with one
 * identification; MF on all but the last. */
int ip_frag_output(struct stack *st, uint8_t proto, uint8_t tos, uint8_t ttl, uint32_t src, uint32_t dst,
		   const void *hdr, unsigned hlen, const void *data, unsigned len)
{
	unsigned total = hlen + len;
	if (total + IP_HDR_LEN > IP_MAX_DGRAM)
		return -EMSGSIZE;
	unsigned max = ((unsigned)st->dev->mtu - IP_HDR_LEN) & ~7u;
	uint16_t id = st->ip_id++;
	int frags = total + IP_HDR_LEN > st->dev->mtu;
	for (unsigned off = 0; off < total || off == 0;) {
		unsigned n = total - off < max ? total - off : max;
		struct pkt *p = pkt_alloc();
		if (!p) {
			st->stat.tx_nobufs++;
			return -ENOBUFS;
		}
		uint8_t *b = pkt_put(p, n);
		p->ip_tos = tos;
		p->ip_ttl = ttl;
		unsigned copied = 0;
		if (off < hlen) {
			copied = hlen - off < n ? hlen - off : n;
			memcpy(b, (const uint8_t *)hdr + off, copied);
		}
		if (n > copied)
			memcpy(b + copied, (const uint8_t *)data + (off + copied - hlen), n - copied);
		int last = off + n >= total;
		uint16_t fl = (uint16_t)((off / 8) | (last ? 0 : IP_MF));
		if (frags)
			st->stat.ip_frag_tx++;
		int r = ipv4_output_raw(st, p, proto, src, dst, id, fl);
		if (r < 0)
			return r;
		off += n;
		if (n == 0)
			break;
	}
	if (frags)
		st->stat.ip_frag_create_ok++;
	return 0;
}
