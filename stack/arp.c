/* ARP (RFC 826) over Ethernet for IPv4: a small cache, requests and replies,
 * and a pending queue per unresolved entry so that packets wait for the
 * resolution instead of being dropped. */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"

struct arp_pkt {
	uint16_t htype, ptype;
	uint8_t  hlen, plen;
	uint16_t oper;
	uint8_t  sha[6];
	uint32_t spa;
	uint8_t  tha[6];
	uint32_t tpa;
} __attribute__((packed));

#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2

static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_zero[6];

static struct arp_entry *arp_find(struct stack *st, uint32_t ip)
{
	struct arp_entry *h = &st->arp.e[st->arp.hint];
	if (h->state != ARP_FREE && h->ip == ip)
		return h;
	for (unsigned i = 0; i < ARP_CACHE_SIZE; i++)
		if (st->arp.e[i].state != ARP_FREE && st->arp.e[i].ip == ip) {
			st->arp.hint = i;
			return &st->arp.e[i];
		}
	return NULL;
}

/* Set e's next event, keeping the table's earliest deadline. */
static void arp_expire_at(struct stack *st, struct arp_entry *e, uint64_t at)
{
	e->expires_at = at;
	if (st->arp.deadline == 0 || at < st->arp.deadline)
		st->arp.deadline = at;
}

const struct arp_entry *arp_lookup(const struct stack *st, uint32_t ip)
{
	return arp_find((struct stack *)st, ip);
}

/* Drop every packet waiting on e, counting them, and free the slot. */
static void arp_entry_clear(struct stack *st, struct arp_entry *e, int count_drops)
{
	struct pkt *p = e->pend_head;
	while (p) {
		struct pkt *next = p->next;
		if (count_drops)
			st->stat.arp_drop_unresolved++;
		pkt_free(p);
		p = next;
	}
	st->arp.pend_total -= e->pend_n;
	memset(e, 0, sizeof(*e));
}

/* A free slot, or the reachable entry closest to expiry (never an entry that
 * is still resolving: its queue would be lost). NULL if every slot resolves. */
static struct arp_entry *arp_alloc(struct stack *st)
{
	struct arp_entry *victim = NULL;
	for (int i = 0; i < ARP_CACHE_SIZE; i++) {
		struct arp_entry *e = &st->arp.e[i];
		if (e->state == ARP_FREE)
			return e;
		if (e->state == ARP_REACHABLE && (!victim || e->expires_at < victim->expires_at))
			victim = e;
	}
	if (victim)
		arp_entry_clear(st, victim, 0);
	return victim;
}

static void arp_send(struct stack *st, uint16_t op, const uint8_t *dst_mac, const uint8_t *tha, uint32_t tpa)
{
	struct pkt *p = pkt_alloc();
	if (!p) {
		st->stat.tx_nobufs++;
		return;
	}
	struct arp_pkt *a = pkt_put(p, sizeof(*a));
	a->htype = htons(1);
	a->ptype = htons(ETH_P_IPV4);
	a->hlen = 6;
	a->plen = 4;
	a->oper = htons(op);
	memcpy(a->sha, st->dev->mac, 6);
	a->spa = htonl(st->cfg.addr);
	memcpy(a->tha, tha, 6);
	a->tpa = htonl(tpa);
	if (op == ARP_OP_REQUEST)
		st->stat.arp_req_tx++;
	else
		st->stat.arp_reply_tx++;
	eth_output(st, p, dst_mac, ETH_P_ARP);
}

void arp_update(struct stack *st, uint32_t ip, const uint8_t mac[6])
{
	struct arp_entry *e = arp_find(st, ip);
	if (!e) {
		e = arp_alloc(st);
		if (!e)
			return;
		e->ip = ip;
	}
	memcpy(e->mac, mac, 6);
	e->state = ARP_REACHABLE;
	e->tries = 0;
	arp_expire_at(st, e, st->now_us + ARP_REACHABLE_US);
	/* Send what waited, in order. */
	struct pkt *p = e->pend_head;
	e->pend_head = e->pend_tail = NULL;
	st->arp.pend_total -= e->pend_n;
	e->pend_n = 0;
	while (p) {
		struct pkt *next = p->next;
		p->next = NULL;
		eth_output(st, p, e->mac, ETH_P_IPV4);
		p = next;
	}
}

/* Consumes p; p->data at the ARP header. RFC 826 "Packet Reception". */
void arp_input(struct stack *st, struct pkt *p)
{
	st->stat.arp_rx++;
	const struct arp_pkt *a = (const struct arp_pkt *)p->data;
	if (p->len < sizeof(*a) || ntohs(a->htype) != 1 || ntohs(a->ptype) != ETH_P_IPV4 ||
	    a->hlen != 6 || a->plen != 4) {
		st->stat.arp_drop_bad++;
		pkt_free(p);
		return;
	}
	uint32_t spa = ntohl(a->spa), tpa = ntohl(a->tpa);
	uint16_t op = ntohs(a->oper);
	uint8_t sha[6];
	memcpy(sha, a->sha, 6);
	pkt_free(p);
	/* A sender claiming a broadcast/multicast MAC or no address is not learned. */
	if ((sha[0] & 1) || spa == 0) {
		st->stat.arp_drop_bad++;
		return;
	}
	/* RFC 826: "If the pair <protocol type, sender protocol address> is
	 * already in my translation table, update the sender hardware address
	 * field of the entry with the new information in the packet and set
	 * Merge_flag to true." */
	int merged = 0;
	if (arp_find(st, spa)) {
		arp_update(st, spa, sha);
		merged = 1;
	}
	/* "Am I the target protocol address?" */
	if (tpa != st->cfg.addr)
		return;
	if (!merged)
		arp_update(st, spa, sha);
	if (op == ARP_OP_REQUEST)
		arp_send(st, ARP_OP_REPLY, sha, sha, spa);
}

/* Send p (data at the IP header) to next hop nh. Consumes p. */
int arp_output(struct stack *st, struct pkt *p, uint32_t nh)
{
	struct arp_entry *e = arp_find(st, nh);
	if (e && e->state == ARP_REACHABLE)
		return eth_output(st, p, e->mac, ETH_P_IPV4);
	if (!e) {
		e = arp_alloc(st);
		if (!e) {
			st->stat.arp_drop_queue++;
			pkt_free(p);
			return -ENOBUFS;
		}
		e->ip = nh;
		e->state = ARP_INCOMPLETE;
		e->tries = 1;
		arp_expire_at(st, e, st->now_us + ARP_RETRY_FIRST_US);
		arp_send(st, ARP_OP_REQUEST, mac_bcast, mac_zero, nh);
	}
	if (e->pend_n >= ARP_PENDING_MAX || st->arp.pend_total >= ARP_PENDING_TOTAL) {
		st->stat.arp_drop_queue++;
		pkt_free(p);
		return 0;       /* like a loss on the wire: the transport retransmits */
	}
	p->next = NULL;
	if (e->pend_tail)
		e->pend_tail->next = p;
	else
		e->pend_head = p;
	e->pend_tail = p;
	e->pend_n++;
	st->arp.pend_total++;
	st->stat.arp_queued++;
	return 0;
}

/* Retry requests of resolving entries; expire reachable ones. */
void arp_timer(struct stack *st)
{
	st->arp.deadline = 0;
	for (int i = 0; i < ARP_CACHE_SIZE; i++) {
		struct arp_entry *e = &st->arp.e[i];
		if (e->state == ARP_FREE)
			continue;
		if (e->expires_at > st->now_us) {
			arp_expire_at(st, e, e->expires_at);
			continue;
		}
		if (e->state == ARP_REACHABLE) {
			arp_entry_clear(st, e, 0);
		} else if (e->tries >= ARP_MAX_TRIES) {
			arp_entry_clear(st, e, 1);
		} else {
			e->tries++;
			arp_expire_at(st, e, st->now_us + ARP_RETRY_US);
			arp_send(st, ARP_OP_REQUEST, mac_bcast, mac_zero, e->ip);
		}
	}
}

uint64_t arp_next_deadline(const struct stack *st)
{
	return st->arp.deadline;
}

size_t arp_pending_bytes(const struct stack *st)
{
	size_t n = 0;
	for (int i = 0; i < ARP_CACHE_SIZE; i++)
		for (const struct pkt *p = st->arp.e[i].pend_head; p; p = p->next)
			n += p->len;
	return n;
}

void arp_flush_all(struct stack *st)
{
	for (int i = 0; i < ARP_CACHE_SIZE; i++)
		if (st->arp.e[i].state != ARP_FREE)
			arp_entry_clear(st, &st->arp.e[i], 0);
}
