/* Neighbor Discovery (RFC 4861) for a host: message validation (7.1, 6.1.2),
 * the neighbor cache and its reachability states (7.3.2) with a pending
 * queue per unresolved entry (the shape of arp.c), solicitations and
 * advertisements, the default router list from Router Advertisements, and
 * Duplicate Address Detection (RFC 4862 5.4) with optimistic addresses
 * (RFC 4429). */
#include <arpa/inet.h>
#include <string.h>
#include "stack_impl.h"

/* ND message bodies after the 4-byte ICMPv6 header. */
#define ND_NS_LEN   24          /* type, code, csum, reserved, target */
#define ND_NA_LEN   24          /* type, code, csum, R|S|O flags, target */
#define ND_RA_LEN   16          /* ..., hop limit, flags, lifetime, reachable, retrans */
#define ND_RS_LEN   8
#define ND_NA_R     0x80
#define ND_NA_S     0x40
#define ND_NA_O     0x20
/* Option types (RFC 4861 4.6) */
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define ND_OPT_MTU  5

/* ---- the cache --------------------------------------------------------------- */

static struct nd6_entry *nd6_find(struct stack *st, const struct nst_addr *ip)
{
	struct nd6_entry *h = &st->nd6.e[st->nd6.hint];
	if (h->state != ND6_FREE && nst_addr_eq(&h->ip, ip))
		return h;
	for (unsigned i = 0; i < ND6_CACHE_SIZE; i++)
		if (st->nd6.e[i].state != ND6_FREE && nst_addr_eq(&st->nd6.e[i].ip, ip)) {
			st->nd6.hint = i;
			return &st->nd6.e[i];
		}
	return NULL;
}

const struct nd6_entry *nd6_lookup(const struct stack *st, const struct nst_addr *nh)
{
	return nd6_find((struct stack *)st, nh);
}

/* Set e's next event, keeping the table's earliest deadline (0: none). */
static void nd6_expire_at(struct stack *st, struct nd6_entry *e, uint64_t at)
{
	e->expires_at = at;
	if (at && (st->nd6.deadline == 0 || at < st->nd6.deadline))
		st->nd6.deadline = at;
}

/* Drop every packet waiting on e (counted if count_drops) and free the slot. */
static void nd6_entry_clear(struct stack *st, struct nd6_entry *e, int count_drops)
{
	struct pkt *p = e->pend_head;
	while (p) {
		struct pkt *next = p->next;
		if (count_drops)
			st->stat.nd6_drop_unresolved++;
		pkt_free(p);
		p = next;
	}
	st->nd6.pend_total -= e->pend_n;
	memset(e, 0, sizeof(*e));
}

/* A free slot, or the least recently used resolved entry (never one still
 * resolving: its queue would be lost). NULL if every slot resolves. */
static struct nd6_entry *nd6_alloc(struct stack *st, const struct nst_addr *ip)
{
	struct nd6_entry *victim = NULL;
	for (int i = 0; i < ND6_CACHE_SIZE; i++) {
		struct nd6_entry *e = &st->nd6.e[i];
		if (e->state == ND6_FREE) {
			victim = e;
			break;
		}
		if (e->state != ND6_INCOMPLETE && (!victim || e->used_at < victim->used_at))
			victim = e;
	}
	if (!victim)
		return NULL;
	nd6_entry_clear(st, victim, 0);
	victim->ip = *ip;
	victim->used_at = st->now_us;
	return victim;
}

/* Send what waited on e, in order (its link-layer address now known). */
static void nd6_send_pending(struct stack *st, struct nd6_entry *e)
{
	struct pkt *p = e->pend_head;
	e->pend_head = e->pend_tail = NULL;
	st->nd6.pend_total -= e->pend_n;
	e->pend_n = 0;
	while (p) {
		struct pkt *next = p->next;
		p->next = NULL;
		eth_output(st, p, e->mac, ETH_P_IPV6);
		p = next;
	}
}

static void nd6_set_state(struct stack *st, struct nd6_entry *e, uint8_t state)
{
	e->state = state;
	e->tries = 0;
	e->used_at = st->now_us;
	switch (state) {
	case ND6_REACHABLE:
		/* Not implemented: the randomized ReachableTime (6.3.2, 0.5 to 1.5
		 * times BaseReachableTime): the base value, for exact tests. */
		nd6_expire_at(st, e, st->now_us + ND6_REACHABLE_TIME_US);
		break;
	case ND6_DELAY:
		nd6_expire_at(st, e, st->now_us + ND6_DELAY_FIRST_PROBE_US);
		break;
	default:                /* STALE: no timer until the entry is used */
		e->expires_at = 0;
		break;
	}
}

void nd6_update(struct stack *st, const struct nst_addr *nh, const uint8_t mac[6])
{
	struct nd6_entry *e = nd6_find(st, nh);
	if (!e && !(e = nd6_alloc(st, nh)))
		return;
	memcpy(e->mac, mac, 6);
	nd6_set_state(st, e, ND6_REACHABLE);
	nd6_send_pending(st, e);
}

/* RFC 7.2.3, 7.2.5, 6.3.4: a link-layer address learnt from a solicitation or
 * advertisement we did not ask for. An INCOMPLETE entry sends its queue; a
 * new entry, or a changed address, is STALE. create: make an entry if none. */
static struct nd6_entry *nd6_learn_stale(struct stack *st, const struct nst_addr *ip, const uint8_t *mac,
					 int create)
{
	struct nd6_entry *e = nd6_find(st, ip);
	if (!e) {
		if (!create || !(e = nd6_alloc(st, ip)))
			return NULL;
		memcpy(e->mac, mac, 6);
		nd6_set_state(st, e, ND6_STALE);
		return e;
	}
	if (e->state == ND6_INCOMPLETE) {
		memcpy(e->mac, mac, 6);
		nd6_set_state(st, e, ND6_STALE);
		nd6_send_pending(st, e);
	} else if (memcmp(e->mac, mac, 6) != 0) {
		memcpy(e->mac, mac, 6);
		nd6_set_state(st, e, ND6_STALE);
	}
	return e;
}

/* ---- sending ------------------------------------------------------------------ */

/* An ND message of len bytes; the caller fills it after the zeroed header. */
static struct pkt *nd6_msg(struct stack *st, uint8_t type, unsigned len)
{
	struct pkt *p = pkt_alloc();
	if (!p) {
		st->stat.tx_nobufs++;
		return NULL;
	}
	uint8_t *b = pkt_put(p, len);
	memset(b, 0, len);
	b[0] = type;
	return p;
}

static void nd6_put_lla(struct stack *st, uint8_t *o, uint8_t type)
{
	o[0] = type;
	o[1] = 1;               /* 8 octets */
	memcpy(o + 2, st->dev->mac, 6);
}

/* A solicitation for target from src (:: for DAD) to dst. RFC 4861 7.2.2:
 * the source link-layer option MUST be there for a multicast solicitation
 * from a unicast source; RFC 4862 5.4.2: never from :: (DAD).
 * RFC 4429 2.2 would leave it out from an optimistic address too, so that
 * the neighbor resolves us in turn; but Linux does not (ndisc_recv_ns
 * answers a multicast solicitation without the option only from a
 * neighbor it already knows), and a program's first connection would wait
 * out the whole DAD second (1 s per curl -6). The address is the one the
 * user configured: it goes with the option, as from a preferred address;
 * a duplicate is still found by DAD and stops being used. */
static void nd6_send_ns(struct stack *st, const struct nst_addr *target, const struct nst_addr *src,
			const struct nst_addr *dst)
{
	int lla = !nst_addr_is_unspec(src);
	struct pkt *p = nd6_msg(st, ND_NEIGHBOR_SOLICIT, ND_NS_LEN + (lla ? 8 : 0));
	if (!p)
		return;
	memcpy(p->data + 8, target->b, 16);
	if (lla)
		nd6_put_lla(st, p->data + ND_NS_LEN, ND_OPT_SLLA);
	st->stat.nd6_ns_tx++;
	if (nst_addr_is_unspec(src))
		st->stat.nd6_dad_ns_tx++;
	/* RFC 4861 7.1.1: the hop limit of every ND message is 255. */
	icmp6_output(st, p, src, dst, 255);
}

/* A multicast solicitation for target (address resolution, 7.2.2). */
static void nd6_solicit(struct stack *st, const struct nst_addr *target, const struct nst_addr *src)
{
	struct nst_addr sn;
	ip6_solicited_node(target, &sn);
	nd6_send_ns(st, target, src, &sn);
}

/* An advertisement for target (ours) to dst; flags ND_NA_*. RFC 4861 7.2.4:
 * the target link-layer option is included. */
static void nd6_send_na(struct stack *st, const struct nst_addr *target, const struct nst_addr *dst,
			uint8_t flags)
{
	struct pkt *p = nd6_msg(st, ND_NEIGHBOR_ADVERT, ND_NA_LEN + 8);
	if (!p)
		return;
	p->data[4] = flags;
	memcpy(p->data + 8, target->b, 16);
	nd6_put_lla(st, p->data + ND_NA_LEN, ND_OPT_TLLA);
	st->stat.nd6_na_tx++;
	/* The advertisement's source is the target (7.2.4: "the Target Address
	 * of the solicitation" is ours and sent from it). */
	icmp6_output(st, p, target, dst, 255);
}

static void nd6_send_rs(struct stack *st)
{
	if (st->ip6.ll.state != IP6A_OPTIMISTIC && st->ip6.ll.state != IP6A_PREFERRED)
		return;
	/* RFC 4429 2.2: no source link-layer option from an optimistic address. */
	int lla = st->ip6.ll.state == IP6A_PREFERRED;
	struct pkt *p = nd6_msg(st, ND_ROUTER_SOLICIT, ND_RS_LEN + (lla ? 8 : 0));
	if (!p)
		return;
	if (lla)
		nd6_put_lla(st, p->data + ND_RS_LEN, ND_OPT_SLLA);
	st->stat.nd6_rs_tx++;
	icmp6_output(st, p, &st->ip6.ll.a, &ip6_all_routers, 255);
}

void nd6_start(struct stack *st)
{
	struct ip6_ifaddr *ia[2] = { &st->ip6.ll, &st->ip6.gl };
	static const struct nst_addr unspec;
	/* RFC 4862 5.4.2: a solicitation from the unspecified address to the
	 * solicited-node group of each tentative address. Not implemented: the
	 * random delay before it (5.4.2 SHOULD; one host joining a link, not a
	 * link-wide restart) and MLD reports for the groups (RFC 3810). */
	for (int i = 0; i < 2; i++)
		if (ia[i]->state == IP6A_OPTIMISTIC)
			nd6_solicit(st, &ia[i]->a, &unspec);
	st->ip6.dad_until = st->now_us + ND6_DAD_US;
	/* RFC 4861 6.3.7: solicit routers when none is configured. */
	if (nst_addr_is_unspec(&st->cfg.gw6)) {
		nd6_send_rs(st);
		st->ip6.rs_sent = 1;
		st->ip6.rs_next = st->now_us + ND6_RTR_SOLICIT_INTERVAL_US;
	}
}

/* ---- output ------------------------------------------------------------------- */

int nd6_output(struct stack *st, struct pkt *p, const struct nst_addr *nh)
{
	struct nd6_entry *e = nd6_find(st, nh);
	if (e && e->state != ND6_INCOMPLETE) {
		/* RFC 4861 7.3.3: "The first time a node sends a packet to a
		 * neighbor whose entry is STALE, the sender changes the state to
		 * DELAY and sets a timer to expire in DELAY_FIRST_PROBE_TIME". */
		if (e->state == ND6_STALE)
			nd6_set_state(st, e, ND6_DELAY);
		e->used_at = st->now_us;
		return eth_output(st, p, e->mac, ETH_P_IPV6);
	}
	if (!e) {
		e = nd6_alloc(st, nh);
		if (!e) {
			st->stat.nd6_drop_queue++;
			pkt_free(p);
			return -ENOBUFS;
		}
		/* RFC 4861 7.2.2: the solicitation's source is the prompting
		 * packet's when that is ours. */
		struct nst_addr src;
		memcpy(src.b, ((const struct ip6_hdr *)p->data)->src, 16);
		if (!stack_owns6(st, &src) && ipv6_src_for(st, nh, &src) < 0)
			src = st->ip6.ll.a;
		e->ns_src = src;
		e->state = ND6_INCOMPLETE;
		e->tries = 1;
		nd6_expire_at(st, e, st->now_us + ND6_RETRANS_TIMER_US);
		nd6_solicit(st, nh, &e->ns_src);
	}
	if (e->pend_n >= ND6_PENDING_MAX || st->nd6.pend_total >= ND6_PENDING_TOTAL) {
		st->stat.nd6_drop_queue++;
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
	st->nd6.pend_total++;
	st->stat.nd6_queued++;
	return 0;
}

/* ---- routers ------------------------------------------------------------------ */

static struct nd6_router *nd6_router_find(struct stack *st, const struct nst_addr *ip)
{
	for (int i = 0; i < ND6_ROUTERS; i++)
		if (st->nd6.rtr[i].expires_at > st->now_us && nst_addr_eq(&st->nd6.rtr[i].ip, ip))
			return &st->nd6.rtr[i];
	return NULL;
}

/* RFC 4861 6.3.6: "routers that are reachable or probably reachable (i.e.,
 * in any state other than INCOMPLETE) SHOULD be preferred over routers whose
 * reachability is unknown or suspect". */
int nd6_default_router(const struct stack *st, struct nst_addr *out)
{
	const struct nd6_router *any = NULL;
	for (int i = 0; i < ND6_ROUTERS; i++) {
		const struct nd6_router *r = &st->nd6.rtr[i];
		if (r->expires_at <= st->now_us)
			continue;
		const struct nd6_entry *e = nd6_lookup(st, &r->ip);
		if (e && e->state != ND6_INCOMPLETE) {
			*out = r->ip;
			return 0;
		}
		if (!any)
			any = r;
	}
	if (!any)
		return -ENETUNREACH;
	*out = any->ip;
	return 0;
}

static void nd6_router_remove(struct stack *st, const struct nst_addr *ip)
{
	struct nd6_router *r = nd6_router_find(st, ip);
	if (r)
		memset(r, 0, sizeof(*r));
}

/* ---- input -------------------------------------------------------------------- */

/* The options after the fixed part (RFC 4861 4.6): -1 if one has length 0
 * or runs past the end (7.1: "All included options have a length that is
 * greater than zero"). */
static int nd6_options(const uint8_t *o, unsigned len, const uint8_t **slla, const uint8_t **tlla,
		       uint32_t *mtu)
{
	*slla = *tlla = NULL;
	if (mtu)
		*mtu = 0;
	for (unsigned i = 0; i < len;) {
		if (i + 2 > len || o[i + 1] == 0 || i + o[i + 1] * 8u > len)
			return -1;
		unsigned ol = o[i + 1] * 8u;
		if (o[i] == ND_OPT_SLLA && ol >= 8)
			*slla = o + i + 2;
		else if (o[i] == ND_OPT_TLLA && ol >= 8)
			*tlla = o + i + 2;
		else if (o[i] == ND_OPT_MTU && ol == 8 && mtu)
			*mtu = (uint32_t)o[i + 4] << 24 | (uint32_t)o[i + 5] << 16 | (uint32_t)o[i + 6] << 8 | o[i + 7];
		i += ol;
	}
	return 0;
}

static int is_solicited_node(const struct nst_addr *a)
{
	static const uint8_t pfx[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff };
	return memcmp(a->b, pfx, 13) == 0;
}

/* RFC 4861 7.2.3, RFC 4862 5.4.3. */
static void nd6_ns_input(struct stack *st, const uint8_t *m, unsigned len, const struct nst_addr *src,
			 const struct nst_addr *dst)
{
	st->stat.nd6_ns_rx++;
	struct nst_addr target;
	memcpy(target.b, m + 8, 16);
	const uint8_t *slla, *tlla;
	if (nd6_options(m + ND_NS_LEN, len - ND_NS_LEN, &slla, &tlla, NULL) < 0) {
		st->stat.nd6_drop_bad++;
		return;
	}
	int dad = nst_addr_is_unspec(src);
	/* RFC 4861 7.1.1: "If the IP source address is the unspecified address,
	 * the IP destination address is a solicited-node multicast address"
	 * and "there is no source link-layer address option in the message". */
	if (dad && (!is_solicited_node(dst) || slla)) {
		st->stat.nd6_drop_dad_bad++;
		return;
	}
	/* 7.2.3: "If the Target Address is not a valid "unicast" or anycast
	 * address assigned to the receiving interface ... the solicitation
	 * MUST be silently discarded." A duplicate address is not assigned. */
	const struct ip6_ifaddr *ia[2] = { &st->ip6.ll, &st->ip6.gl };
	const struct ip6_ifaddr *mine = NULL;
	for (int i = 0; i < 2; i++)
		if ((ia[i]->state == IP6A_OPTIMISTIC || ia[i]->state == IP6A_PREFERRED) &&
		    nst_addr_eq(&target, &ia[i]->a))
			mine = ia[i];
	if (!mine) {
		st->stat.nd6_ns_not_ours++;
		return;
	}
	if (dad) {
		/* RFC 4862 5.4.3: a DAD probe for our tentative address: "the
		 * tentative address is a duplicate and should not be used". */
		if (mine->state == IP6A_OPTIMISTIC) {
			ipv6_addr_duplicate(st, &target);
			return;
		}
		/* RFC 4861 7.2.4: "If the source of the solicitation is the
		 * unspecified address, the node MUST set the Solicited flag to
		 * zero and multicast the advertisement to the all-nodes address." */
		nd6_send_na(st, &target, &ip6_all_nodes, ND_NA_O);
		return;
	}
	/* 7.2.3: the sender's link-layer address creates or updates its entry
	 * (STALE). */
	if (slla)
		nd6_learn_stale(st, src, slla, 1);
	/* 7.2.4: "the Solicited flag MUST be set to one", Override set (we are
	 * no proxy or anycast); RFC 4429 2.2: clear for an optimistic target. */
	uint8_t flags = ND_NA_S | (mine->state == IP6A_OPTIMISTIC ? 0 : ND_NA_O);
	nd6_send_na(st, &target, src, flags);
}

/* RFC 4861 7.2.5, RFC 4862 5.4.4. */
static void nd6_na_input(struct stack *st, const uint8_t *m, unsigned len, const struct nst_addr *dst)
{
	st->stat.nd6_na_rx++;
	uint8_t flags = m[4];
	struct nst_addr target;
	memcpy(target.b, m + 8, 16);
	const uint8_t *slla, *tlla;
	if (nd6_options(m + ND_NA_LEN, len - ND_NA_LEN, &slla, &tlla, NULL) < 0) {
		st->stat.nd6_drop_bad++;
		return;
	}
	/* RFC 4861 7.1.2: "If the IP Destination Address is a multicast
	 * address the Solicited flag is zero." */
	if (ip6_is_mcast(dst) && (flags & ND_NA_S)) {
		st->stat.nd6_drop_na_solicited_mcast++;
		return;
	}
	/* RFC 4862 5.4.4: "If the target address is tentative, the tentative
	 * address is not unique." After DAD: logged (5.4.4: "should log a
	 * system management error") and kept. */
	if (ipv6_addr_optimistic(st, &target)) {
		ipv6_addr_duplicate(st, &target);
		return;
	}
	if (stack_owns6(st, &target)) {
		st->stat.nd6_dad_conflict++;
		return;
	}
	struct nd6_entry *e = nd6_find(st, &target);
	if (!e) {
		/* 7.2.5: "If no entry exists, the advertisement SHOULD be silently
		 * discarded." */
		st->stat.nd6_na_ignored++;
		return;
	}
	int was_router = e->is_router;
	if (e->state == ND6_INCOMPLETE) {
		/* "If the advertisement's Solicited flag is set, the state of the
		 * entry is set to REACHABLE; otherwise, it is set to STALE." */
		if (!tlla) {
			st->stat.nd6_na_ignored++;
			return;
		}
		memcpy(e->mac, tlla, 6);
		e->is_router = !!(flags & ND_NA_R);
		nd6_set_state(st, e, (flags & ND_NA_S) ? ND6_REACHABLE : ND6_STALE);
		nd6_send_pending(st, e);
	} else {
		int differs = tlla && memcmp(e->mac, tlla, 6) != 0;
		if (!(flags & ND_NA_O) && differs) {
			/* "If the Override flag is clear and the supplied link-layer
			 * address differs from that in the cache ... a. If the state of
			 * the entry is REACHABLE, set it to STALE ... b. Otherwise, the
			 * received advertisement should be ignored". */
			if (e->state == ND6_REACHABLE)
				nd6_set_state(st, e, ND6_STALE);
			return;
		}
		if (differs)
			memcpy(e->mac, tlla, 6);
		if (flags & ND_NA_S)
			nd6_set_state(st, e, ND6_REACHABLE);
		else if (differs)
			nd6_set_state(st, e, ND6_STALE);
		e->is_router = !!(flags & ND_NA_R);
	}
	/* "In those cases where the IsRouter flag changes from TRUE to FALSE as
	 * a result of this update, the node MUST remove that router from the
	 * Default Router List". */
	if (was_router && !e->is_router)
		nd6_router_remove(st, &target);
}

/* RFC 4861 6.3.4. */
static void nd6_ra_input(struct stack *st, const uint8_t *m, unsigned len, const struct nst_addr *src)
{
	const uint8_t *slla, *tlla;
	uint32_t mtu;
	if (nd6_options(m + ND_RA_LEN, len - ND_RA_LEN, &slla, &tlla, &mtu) < 0) {
		st->stat.nd6_drop_bad++;
		return;
	}
	st->stat.nd6_ra_rx++;
	/* "If the received Cur Hop Limit value is non-zero, the host SHOULD set
	 * its CurHopLimit variable to the received value." */
	if (m[4])
		st->ip6.cur_hop_limit = m[4];
	uint16_t lifetime = (uint16_t)(m[6] << 8 | m[7]);
	struct nd6_router *r = nd6_router_find(st, src);
	if (lifetime == 0) {
		/* "If the address is already present in the host's Default Router
		 * List and the received Router Lifetime value is zero, immediately
		 * time-out the entry" */
		if (r)
			memset(r, 0, sizeof(*r));
	} else {
		if (!r)
			for (int i = 0; i < ND6_ROUTERS && !r; i++)
				if (st->nd6.rtr[i].expires_at <= st->now_us)
					r = &st->nd6.rtr[i];
		if (r) {
			r->ip = *src;
			r->expires_at = st->now_us + lifetime * 1000000ull;
		}
		/* 6.3.7: "Once the host sends a Router Solicitation, and receives
		 * a valid Router Advertisement with a non-zero Router Lifetime,
		 * the host MUST desist from sending additional solicitations". */
		st->ip6.rs_next = 0;
	}
	/* "If the advertisement contains a Source Link-Layer Address option,
	 * the link-layer address SHOULD be recorded in the Neighbor Cache entry
	 * for the router (creating an entry if necessary) and the IsRouter flag
	 * in the Neighbor Cache entry MUST be set to TRUE." */
	if (slla) {
		struct nd6_entry *e = nd6_learn_stale(st, src, slla, 1);
		if (e)
			e->is_router = 1;
	}
	/* "If the MTU option is present, hosts SHOULD copy the option's value
	 * into LinkMTU so long as the value is greater than or equal to the
	 * minimum link MTU [IPv6] and does not exceed the maximum LinkMTU". */
	if (mtu >= IP6_MIN_MTU) {
		unsigned old = st->ip6.link_mtu ? st->ip6.link_mtu : st->dev->mtu;
		st->ip6.link_mtu = mtu < st->dev->mtu ? (uint16_t)mtu : 0;
		if (mtu < old)
			st->stat.nd6_mtu_update++;
	}
	/* Not implemented: Prefix Information (on-link prefixes, SLAAC,
	 * RFC 4862 5.5), Reachable Time and Retrans Timer (the constants). */
}

/* Consumes p; p->data at the ICMPv6 header (checksum verified). */
void nd6_input(struct stack *st, struct pkt *p, const struct nst_addr *src, const struct nst_addr *dst,
	       uint8_t hop_limit)
{
	const uint8_t *m = p->data;
	unsigned len = p->len;
	uint8_t type = m[0];
	if (type == ND_REDIRECT) {
		/* not implemented: Redirect (RFC 4861 8); ignored */
		st->stat.nd6_redirect_ignored++;
		goto out;
	}
	if (type == ND_ROUTER_SOLICIT) {
		/* RFC 4861 6.2.6: "A host MUST silently discard any received
		 * Router Solicitation messages." */
		st->stat.nd6_rs_ignored++;
		goto out;
	}
	/* RFC 4861 7.1.1, 7.1.2, 6.1.2: "The IP Hop Limit field has a value of
	 * 255, i.e., the packet could not possibly have been forwarded by a
	 * router", "ICMP Code is 0", "ICMP length (derived from the IP length)
	 * is 24 or more octets" (16 for an RA), "Target Address is not a
	 * multicast address". */
	if (hop_limit != 255) {
		st->stat.nd6_drop_hoplimit++;
		goto out;
	}
	unsigned min = type == ND_ROUTER_ADVERT ? ND_RA_LEN : ND_NS_LEN;
	if (m[1] != 0 || len < min) {
		st->stat.nd6_drop_bad++;
		goto out;
	}
	if (type != ND_ROUTER_ADVERT && m[8] == 0xff) {
		st->stat.nd6_drop_target++;
		goto out;
	}
	switch (type) {
	case ND_NEIGHBOR_SOLICIT:
		nd6_ns_input(st, m, len, src, dst);
		break;
	case ND_NEIGHBOR_ADVERT:
		nd6_na_input(st, m, len, dst);
		break;
	case ND_ROUTER_ADVERT:
		/* 6.1.2: "IP Source Address is a link-local address. Routers must
		 * use their link-local address as the source for Router
		 * Advertisement messages". */
		if (!nst_addr_is_linklocal(src)) {
			st->stat.nd6_drop_ra_src++;
			break;
		}
		nd6_ra_input(st, m, len, src);
		break;
	}
out:
	pkt_free(p);
}

/* ---- timers -------------------------------------------------------------------- */

void nd6_timer(struct stack *st)
{
	st->nd6.deadline = 0;
	for (int i = 0; i < ND6_CACHE_SIZE; i++) {
		struct nd6_entry *e = &st->nd6.e[i];
		if (e->state == ND6_FREE || !e->expires_at)
			continue;
		if (e->expires_at > st->now_us) {
			nd6_expire_at(st, e, e->expires_at);
			continue;
		}
		switch (e->state) {
		case ND6_INCOMPLETE:
			/* RFC 4861 7.3.3: retransmit every RetransTimer; "If no
			 * Neighbor Advertisement is received after MAX_MULTICAST_SOLICIT
			 * solicitations, address resolution has failed" and the
			 * queued packets go (7.2.2: an ICMP Destination Unreachable
			 * would be to ourselves). */
			if (e->tries >= ND6_MAX_MULTICAST_SOLICIT) {
				nd6_entry_clear(st, e, 1);
				break;
			}
			e->tries++;
			nd6_expire_at(st, e, st->now_us + ND6_RETRANS_TIMER_US);
			nd6_solicit(st, &e->ip, &e->ns_src);
			break;
		case ND6_REACHABLE:
			/* 7.3.3: "When ReachableTime milliseconds have passed since
			 * receipt of the last reachability confirmation for a
			 * neighbor, the Neighbor Cache entry's state changes from
			 * REACHABLE to STALE." */
			nd6_set_state(st, e, ND6_STALE);
			break;
		case ND6_DELAY: {
			/* 7.3.3: "If the entry is still in the DELAY state when the
			 * timer expires, the entry's state changes to PROBE" and a
			 * unicast solicitation goes. Not implemented: upper-layer
			 * reachability confirmation (7.3.1), which would end DELAY
			 * early. */
			e->state = ND6_PROBE;
			e->tries = 1;
			nd6_expire_at(st, e, st->now_us + ND6_RETRANS_TIMER_US);
			struct nst_addr src, ip = e->ip;
			if (ipv6_src_for(st, &ip, &src) == 0)
				nd6_send_ns(st, &ip, &src, &ip);
			break;
		}
		case ND6_PROBE: {
			/* 7.3.3: "If no response is received after waiting
			 * RetransTimer milliseconds after sending the
			 * MAX_UNICAST_SOLICIT solicitations, retransmissions cease and
			 * the entry SHOULD be deleted." */
			if (e->tries >= ND6_MAX_UNICAST_SOLICIT) {
				nd6_entry_clear(st, e, 1);
				break;
			}
			e->tries++;
			nd6_expire_at(st, e, st->now_us + ND6_RETRANS_TIMER_US);
			struct nst_addr src, ip = e->ip;
			if (ipv6_src_for(st, &ip, &src) == 0)
				nd6_send_ns(st, &ip, &src, &ip);
			break;
		}
		default:
			e->expires_at = 0;
			break;
		}
	}
	if (st->ip6.dad_until && st->ip6.dad_until <= st->now_us) {
		/* RFC 4862 5.4: no conflict in DupAddrDetectTransmits *
		 * RetransTimer: the addresses are ours. RFC 4861 7.2.6: an
		 * unsolicited advertisement (Override set) to all-nodes tells the
		 * neighbors at once. */
		st->ip6.dad_until = 0;
		struct ip6_ifaddr *ia[2] = { &st->ip6.ll, &st->ip6.gl };
		for (int i = 0; i < 2; i++)
			if (ia[i]->state == IP6A_OPTIMISTIC) {
				ia[i]->state = IP6A_PREFERRED;
				nd6_send_na(st, &ia[i]->a, &ip6_all_nodes, ND_NA_O);
			}
	}
	if (st->ip6.rs_next && st->ip6.rs_next <= st->now_us) {
		/* RFC 4861 6.3.7: up to MAX_RTR_SOLICITATIONS, each
		 * RTR_SOLICITATION_INTERVAL apart. */
		nd6_send_rs(st);
		st->ip6.rs_sent++;
		st->ip6.rs_next = st->ip6.rs_sent < ND6_MAX_RTR_SOLICIT
				  ? st->now_us + ND6_RTR_SOLICIT_INTERVAL_US : 0;
	}
}

uint64_t nd6_next_deadline(const struct stack *st)
{
	uint64_t d = st->nd6.deadline;
	const uint64_t more[2] = { st->ip6.dad_until, st->ip6.rs_next };
	for (int i = 0; i < 2; i++)
		if (more[i] && (!d || more[i] < d))
			d = more[i];
	return d;
}

size_t nd6_pending_bytes(const struct stack *st)
{
	size_t n = 0;
	for (int i = 0; i < ND6_CACHE_SIZE; i++)
		for (const struct pkt *p = st->nd6.e[i].pend_head; p; p = p->next)
			n += p->len;
	return n;
}

void nd6_flush_all(struct stack *st)
{
	for (int i = 0; i < ND6_CACHE_SIZE; i++)
		if (st->nd6.e[i].state != ND6_FREE)
			nd6_entry_clear(st, &st->nd6.e[i], 0);
}
