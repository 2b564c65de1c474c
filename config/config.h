/* The configuration of nstack, in one place for the launcher (cli/nstack.c,
 * which checks its options with the parsers below before it sets NSTACK_*)
 * and the library (preload/engine.c, which reads the environment with
 * nst_config_from_env when the first AF_INET socket is created). Neither the
 * library's stack nor its devices read the environment: what they need comes
 * from here, in struct stack_config and struct shim_dev_spec.
 *
 * No libc socket calls: inside libnstack.so those are the interposed ones,
 * so the interface queries go through syscall(2).
 */
#ifndef NSTACK_CONFIG_H
#define NSTACK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "shim/shim.h"

#define NST_CFG_LOG_ERROR 0
#define NST_CFG_LOG_WARN  1
#define NST_CFG_LOG_INFO  2
#define NST_CFG_LOG_DEBUG 3

#define NST_CFG_BUSY_POLL_MAX_US 1000000        /* NSTACK_BUSY_POLL_US bound: 1 s */

/* The parsers the launcher and the library share. Each returns 0 (or the
 * value), or -EINVAL / -1 for a string it does not take. */
int  nst_cfg_log_level(const char *s);  /* error, warn, info, debug: 0..3; -1 */
int  nst_cfg_dev_kind(const char *s);   /* tap, packet, auto: SHIM_DEV_TAP, _PACKET, _AUTO; -1 */
int  nst_cfg_ipv4(const char *s, uint32_t *out);                  /* host order */
int  nst_cfg_cidr(const char *s, uint32_t *addr, uint8_t *plen);  /* A.B.C.D/N, A not 0 */
int  nst_cfg_mac(const char *s, uint8_t mac[6]);                  /* unicast only */
/* IPv6 addresses are 16 bytes in network order (struct nst_addr's b[] in
 * stack/stack.h, which config/ does not include). */
int  nst_cfg_ipv6(const char *s, uint8_t out[16]);                /* any inet_pton form */
static inline bool nst_cfg_ipv6_linklocal(const uint8_t a[16])   /* fe80::/10 */
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}
/* Why an IPv6 address cannot be one of the stack's own or its gateway:
 * a multicast address, the unspecified address ::, the loopback address ::1,
 * a v4-mapped address or, unless linklocal_ok, a link-local address (a
 * phrase saying which, for an error line); NULL if it can. */
const char *nst_cfg_ipv6_unusable(const uint8_t a[16], bool linklocal_ok);
/* NSTACK_ADDR6 / --addr6: ADDR/N, N 1..128, ADDR global or unique-local
 * unicast (nst_cfg_ipv6_unusable(ADDR, false) NULL). *why (may be NULL) gets
 * the reason of a -EINVAL, for the one error line. */
int  nst_cfg_cidr6(const char *s, uint8_t addr[16], uint8_t *plen, const char **why);
/* NSTACK_GW6 / --gw6: a unicast address, link-local allowed; *why as above. */
int  nst_cfg_gw6(const char *s, uint8_t gw[16], const char **why);
int  nst_cfg_bytes(const char *s, uint64_t *out);                 /* N[K|M|G], powers of 1024 */
/* Is ifname a TAP (its driver is "tun", asked through ethtool, which works in
 * any netns)? 1 yes, 0 no, -1 cannot tell. */
int  nst_cfg_if_is_tap(const char *ifname);

/* NSTACK_LOG into *level: 0 (unset or empty: *level untouched), or -EINVAL
 * for a name it does not know. */
int  nst_config_log(int *level);

struct nst_config {
	const char *ifname;             /* NSTACK_IF */
	bool        loopback;           /* NSTACK_IF=lo */
	uint32_t    addr;               /* NSTACK_ADDR, host order (127.0.0.1/8 on lo) */
	uint8_t     prefix_len;
	uint32_t    gw;                 /* NSTACK_GW; 0: none */
	uint8_t     addr6[16];          /* NSTACK_ADDR6, network order; all zero (::): none.
	                                 * Always none on lo (the stack serves ::1 itself) */
	uint8_t     prefix6_len;        /* its prefix length, 1..128; 0 with no addr6 */
	uint8_t     gw6[16];            /* NSTACK_GW6, network order; ::: none */
	bool        no_ipv6;            /* NSTACK_IPV6=0: IPv6 off (addr6, gw6 left ::) */
	uint64_t    mem_max;            /* NSTACK_MEM_MAX, or a quarter of the RAM in [64 MB, 1 GB] */
	unsigned    max_sockets;        /* NSTACK_MAX_SOCKETS, or the soft RLIMIT_NOFILE, bounded */
	int64_t     busy_poll_us;       /* NSTACK_BUSY_POLL_US; 0: off */
	int         log_level;          /* NSTACK_LOG (NST_CFG_LOG_*), error if unset or unknown */
	const char *impair;             /* NSTACK_IMPAIR, or NULL */
	struct shim_dev_spec dev;       /* what shim_dev_open assembles */
};

/* Read and check the whole environment, in the order the library always
 * has, so the first problem is the one reported. log(level, fmt, ...) says
 * what the reading decided on the way (warnings, info lines) and the one
 * error line of a misconfiguration; max_sockets bounds NSTACK_MAX_SOCKETS.
 * Returns 1 with *c filled, 0 if NSTACK_IF is unset (nstack stays off), or
 * -errno after one error line. */
int  nst_config_from_env(struct nst_config *c, unsigned max_sockets,
			 void (*log)(int level, const char *fmt, ...));

#endif
