/* Keyed choices an off-path attacker must not guess: the initial sequence
 * number (RFC 6528) and the ephemeral port offset (RFC 6056). Both hash the
 * connection identifiers with the stack's secret st->key (SipHash-2-4). */
#include <string.h>
#include "stack_impl.h"

/* RFC 6528 3: "ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 * where M is the 4 microsecond timer, and F() is a pseudorandom function (PRF)
 * of the connection-id." M comes from st->now_us; F is SipHash-2-4 under
 * st->key, which stack_create draws from the injected randomness. */
/* An address into a hash input: IPv4 as the four bytes of its host-order
 * value (what the IPv4-only stack hashed, so its ISNs and offsets did not
 * change), IPv6 as its sixteen. Returns the bytes written. */
static size_t id_addr(uint8_t *id, const struct nst_addr *a)
{
	if (nst_addr_is_v4(a)) {
		uint32_t v = nst_addr_v4(a);
		memcpy(id, &v, 4);
		return 4;
	}
	memcpy(id, a->b, 16);
	return 16;
}

uint32_t tcp_iss(const struct stack *st, const struct nst_addr *laddr, uint16_t lport,
		 const struct nst_addr *raddr, uint16_t rport)
{
	uint8_t id[36];
	size_t n = id_addr(id, laddr);
	n += id_addr(id + n, raddr);
	memcpy(id + n, &lport, 2);
	memcpy(id + n + 2, &rport, 2);
	uint32_t m = (uint32_t)(st->now_us / 4);
	return m + (uint32_t)siphash24(st->key, id, n + 4);
}

/* RFC 6056 3.3.3 (Algorithm 3): "offset = F(local_IP, remote_IP,
 * remote_port, secret_key)". The key differs from the ISS one only by a
 * domain byte, so the two outputs are independent. raddr NULL: bind(0). */
uint32_t tcp_port_offset(const struct stack *st, const struct nst_addr *laddr,
			 const struct nst_addr *raddr, uint16_t rport)
{
	static const struct nst_addr none4 = { .b = { [10] = 0xff, [11] = 0xff } };
	uint8_t id[35];
	size_t n = id_addr(id, laddr);
	n += id_addr(id + n, raddr ? raddr : &none4);
	memcpy(id + n, &rport, 2);
	id[n + 2] = 'P';
	return (uint32_t)siphash24(st->key, id, n + 3);
}

/* The offset of our TSval clock (tcp_ts_now) towards one peer address, as
 * Linux's tcp_ts_off: a keyed hash of (local, remote address) under its own
 * secret st->ts_key (and domain byte). RFC 7323 5.4 allows a random offset
 * per connection, but a peer holding an earlier connection of the pair in
 * TIME-WAIT takes a SYN reusing its 4-tuple only when the SYN's TSval is
 * newer (RFC 6191 2, Linux tcp_timewait_state_process): TSvals must grow
 * across the connections of an address pair, also across the processes
 * of a host when the embedder gives them all the same ts_key (the clock is
 * the host's monotonic one). The offset still hides that clock from the
 * peer. */
uint32_t tcp_ts_offset(const struct stack *st, const struct nst_addr *laddr,
		       const struct nst_addr *raddr)
{
	uint8_t id[33];
	size_t n = id_addr(id, laddr);
	n += id_addr(id + n, raddr);
	id[n] = 'T';
	return (uint32_t)siphash24(st->ts_key, id, n + 1);
}
