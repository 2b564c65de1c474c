/* IPv6 reassembly (RFC 8200 4.5), overlaps as RFC 5722, the memory model of
 * ip_frag.c (fixed slots; each slot's 64 KB buffer allocated at its first
 * use and kept; fragments copied in, no packet held). Fragmentation on
 * output is ipv6_output_frag (ipv6.c). */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"

int ip6_frag_init(struct stack *st)
{
	struct ip6_frag_ctx *f = &st->frag6;
	f->slot = nst_zalloc(st, IP6_FRAG_SLOTS * sizeof(*f->slot));
	if (!f->slot)
		return -ENOMEM;
	f->mem_max = IP6_FRAG_MEM_MAX;
	f->timeout_us = IP6_FRAG_TIMEOUT_US;
	return 0;
}

void ip6_frag_fini(struct stack *st)
{
	struct ip6_frag_ctx *f = &st->frag6;
	if (!f->slot)
		return;
	for (unsigned i = 0; i < IP6_FRAG_SLOTS; i++)
		nst_free(st, f->slot[i].buf, IP6_FRAG_BUF_SIZE);
	nst_free(st, f->slot, IP6_FRAG_SLOTS * sizeof(*f->slot));
	f->slot = NULL;
}

static void frag6_slot_free(struct stack *st, struct ip6_frag_slot *s)
{
	st->frag6.mem -= s->charge;
	uint8_t *buf = s->buf;
	memset(s, 0, sizeof(*s));
	s->buf = buf;
}

static void frag6_deadline_update(struct stack *st)
{
	uint64_t d = 0;
	for (unsigned i = 0; i < IP6_FRAG_SLOTS; i++) {
		const struct ip6_frag_slot *s = &st->frag6.slot[i];
		if (s->in_use && (!d || s->expires_at < d))
			d = s->expires_at;
	}
	st->frag6.next_deadline = d;
}

uint64_t ip6_frag_next_deadline(const struct stack *st)
{
	return st->frag6.next_deadline;
}

/* RFC 8200 4.5: "If insufficient fragments are received to complete
 * reassembly of a packet within 60 seconds of the reception of the
 * first-arriving fragment of that packet, reassembly of that packet must be
 * abandoned ... If the first fragment (i.e., the one with a Fragment Offset
 * of zero) has been received, an ICMP Time Exceeded -- Fragment Reassembly
 * Time Exceeded message should be sent to the source of that fragment." */
void ip6_frag_timer(struct stack *st)
{
	for (unsigned i = 0; i < IP6_FRAG_SLOTS; i++) {
		struct ip6_frag_slot *s = &st->frag6.slot[i];
		if (!s->in_use || s->expires_at > st->now_us)
			continue;
		st->stat.ip6_frag_timeout++;
		if (s->have_first) {
			unsigned have = s->r[0].start == 0 ? s->r[0].end : 0;
			icmp6_send_error(st, s->buf + IP6_FRAG_HDR_ROOM - s->hlen, s->hlen + have,
					 ICMP6_TIME_EXCEEDED, 1, 0);
		}
		frag6_slot_free(st, s);
	}
	frag6_deadline_update(st);
}

/* The slot of (source, destination, identification) (RFC 8200 4.5), a new
 * one, or NULL. */
static struct ip6_frag_slot *frag6_find(struct stack *st, const struct nst_addr *src,
					const struct nst_addr *dst, uint32_t id)
{
	struct ip6_frag_slot *free_s = NULL;
	for (unsigned i = 0; i < IP6_FRAG_SLOTS; i++) {
		struct ip6_frag_slot *s = &st->frag6.slot[i];
		if (!s->in_use) {
			if (!free_s)
				free_s = s;
			continue;
		}
		if (s->id == id && nst_addr_eq(&s->src, src) && nst_addr_eq(&s->dst, dst))
			return s;
	}
	if (!free_s)
		return NULL;
	if (!free_s->buf && !(free_s->buf = nst_zalloc(st, IP6_FRAG_BUF_SIZE)))
		return NULL;
	free_s->in_use = 1;
	free_s->src = *src;
	free_s->dst = *dst;
	free_s->id = id;
	free_s->expires_at = st->now_us + st->frag6.timeout_us;
	if (!st->frag6.next_deadline || free_s->expires_at < st->frag6.next_deadline)
		st->frag6.next_deadline = free_s->expires_at;
	return free_s;
}

/* Complete: a packet of the first fragment's IPv6 header (Next Header from
 * its Fragment header, RFC 8200 4.5) and the fragmentable part, walked on
 * from there. The unfragmentable headers were processed with each fragment
 * and are not repeated. */
static void frag6_deliver(struct stack *st, struct ip6_frag_slot *s, int mcast)
{
	unsigned total = IP6_HDR_LEN + s->total;
	st->stat.ip6_frag_reasm_ok++;
	struct pkt *p = total + ETH_HDR_LEN <= PKT_MAX_FRAME ? pkt_alloc() : pkt_alloc_large();
	if (!p || pkt_tailroom(p) < total) {
		st->stat.ip6_frag_big++;
		pkt_free(p);
		return;
	}
	uint8_t *b = pkt_put(p, total);
	memcpy(b, s->buf + IP6_FRAG_HDR_ROOM - s->hlen, IP6_HDR_LEN);
	struct ip6_hdr *ih = (struct ip6_hdr *)b;
	ih->payload_len = htons((uint16_t)s->total);
	ih->next = s->next;
	memcpy(b + IP6_HDR_LEN, s->buf + IP6_FRAG_HDR_ROOM, s->total);
	ipv6_walk(st, p, IP6_HDR_LEN, s->next, 6, mcast, 1);
}

/* Consumes p; p->data at the IPv6 header (validated, trimmed), the Fragment
 * header at off. */
void ip6_frag_input(struct stack *st, struct pkt *p, unsigned off, int mcast)
{
	st->stat.ip6_frag_rx++;
	const uint8_t *fh = p->data + off;
	uint16_t fo = (uint16_t)(fh[2] << 8 | fh[3]);
	unsigned foff = fo & 0xfff8u;
	int more = fo & 1;
	uint32_t id;
	memcpy(&id, fh + 4, 4);
	id = ntohl(id);
	unsigned hlen = off + 8;        /* headers up to and with the Fragment header */
	unsigned len = p->len - hlen;
	/* RFC 8200 4.5: "If the length of a fragment ... is not a multiple of 8
	 * octets and the M flag of that fragment is 1, then that fragment must
	 * be discarded and an ICMP Parameter Problem, Code 0, message should be
	 * sent to the source of the fragment, pointing to the Payload Length
	 * field"; "If the length and offset of a fragment are such that the
	 * Payload Length of the packet reassembled from that fragment would
	 * exceed 65,535 octets, then that fragment must be discarded and an
	 * ICMP Parameter Problem, Code 0, message should be sent ... pointing to
	 * the Fragment Offset field". */
	if (more && (len == 0 || len % 8)) {
		st->stat.ip6_frag_bad++;
		icmp6_send_error(st, p->data, p->len, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, 4);
		goto free;
	}
	if (hlen - IP6_HDR_LEN - 8 + foff + len > 65535) {
		st->stat.ip6_frag_bad++;
		icmp6_send_error(st, p->data, p->len, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, off + 2);
		goto free;
	}
	if (hlen > IP6_FRAG_HDR_ROOM) {
		st->stat.ip6_frag_mem++;        /* a header chain we keep no room for */
		goto free;
	}
	struct nst_addr src, dst;
	memcpy(src.b, p->data + 8, 16);
	memcpy(dst.b, p->data + 24, 16);
	struct ip6_frag_slot *s = frag6_find(st, &src, &dst, id);
	if (!s) {
		st->stat.ip6_frag_mem++;
		goto free;
	}
	unsigned end = foff + len;
	/* The last fragment fixes the size; a second, different one or data
	 * beyond it is an inconsistency (RFC 8200 4.5: the packet is dropped). */
	if (!more) {
		if ((s->have_last && s->total != end) || (s->n_ranges && s->r[s->n_ranges - 1].end > end))
			goto overlap;
	} else if (s->have_last && end > s->total) {
		goto overlap;
	}
	unsigned i = 0;
	while (i < s->n_ranges && s->r[i].start < foff)
		i++;
	if (i < s->n_ranges && s->r[i].start == foff && s->r[i].end == end) {
		/* RFC 5722 errata 3089: exact duplicates are ignored. */
		st->stat.ip6_frag_dup++;
		goto free;
	}
	/* RFC 5722 4: "When reassembling an IPv6 datagram, if one or more of
	 * its constituent fragments is determined to be an overlapping
	 * fragment, the entire datagram (and any constituent fragments) MUST be
	 * silently discarded." */
	if ((i > 0 && s->r[i - 1].end > foff) || (i < s->n_ranges && s->r[i].start < end))
		goto overlap;
	if (s->n_ranges == IP6_FRAG_RANGES) {
		st->stat.ip6_frag_toomany++;
		frag6_slot_free(st, s);
		frag6_deadline_update(st);
		goto free;
	}
	uint32_t charge = len + IP6_FRAG_OVERHEAD;
	if (st->frag6.mem + charge > st->frag6.mem_max) {
		st->stat.ip6_frag_mem++;
		if (s->n_ranges == 0) {
			frag6_slot_free(st, s);
			frag6_deadline_update(st);
		}
		goto free;
	}
	memmove(&s->r[i + 1], &s->r[i], (s->n_ranges - i) * sizeof(s->r[0]));
	s->r[i].start = (uint16_t)foff;
	s->r[i].end = (uint16_t)end;
	s->n_ranges++;
	s->held += len;
	s->charge += charge;
	st->frag6.mem += charge;
	memcpy(s->buf + IP6_FRAG_HDR_ROOM + foff, p->data + hlen, len);
	if (foff == 0) {
		/* RFC 8200 4.5: the reassembled packet's headers come from the
		 * first fragment; kept whole for a Time Exceeded quote. Not
		 * implemented: RFC 7112's check that the first fragment holds the
		 * whole header chain. */
		s->have_first = 1;
		s->hlen = (uint16_t)hlen;
		s->next = fh[0];
		memcpy(s->buf + IP6_FRAG_HDR_ROOM - hlen, p->data, hlen);
	}
	if (!more) {
		s->have_last = 1;
		s->total = end;
	}
	pkt_free(p);
	if (s->have_first && s->have_last && s->held == s->total) {
		frag6_deliver(st, s, mcast);
		frag6_slot_free(st, s);
		frag6_deadline_update(st);
	}
	return;
overlap:
	st->stat.ip6_frag_overlap++;
	frag6_slot_free(st, s);
	frag6_deadline_update(st);
free:
	pkt_free(p);
}
