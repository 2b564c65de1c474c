/* The configuration: the NSTACK_* environment read and checked in one pass
 * (nst_config_from_env, the library's) and the parsers the launcher checks
 * its options with. Every misconfiguration is one line through log() and a
 * -errno; the order of the checks decides which line a program with several
 * mistakes sees, so it stays the order the library has always checked in. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "config/config.h"

int nst_cfg_log_level(const char *s)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

int nst_cfg_dev_kind(const char *s)
{
	if (!strcmp(s, "tap"))
		return SHIM_DEV_TAP;
	if (!strcmp(s, "packet"))
		return SHIM_DEV_PACKET;
	if (!strcmp(s, "auto"))
		return SHIM_DEV_AUTO;
	return -1;
}

int nst_cfg_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

int nst_cfg_cidr(const char *s, uint32_t *addr, uint8_t *plen)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = 0;
	char *end;
	long n = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || n < 0 || n > 32 || nst_cfg_ipv4(buf, addr) < 0 || !*addr)
		return -EINVAL;
	*plen = (uint8_t)n;
	return 0;
}

int nst_cfg_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)         /* multicast bit: not a station address */
		return -EINVAL;
	return 0;
}

int nst_cfg_ipv6(const char *s, uint8_t out[16])
{
	struct in6_addr a;
	if (inet_pton(AF_INET6, s, &a) != 1)
		return -EINVAL;
	memcpy(out, a.s6_addr, 16);
	return 0;
}

/* RFC 4291 2.4: the address types by prefix. A stack's own address must be
 * one it can be reached at from off the link: global or unique-local
 * unicast (the link-local one it derives from its MAC). A gateway may be
 * link-local: routers are normally known by that one (RFC 4861 4.2). */
const char *nst_cfg_ipv6_unusable(const uint8_t a[16], bool linklocal_ok)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	bool zero120 = true;            /* ::/120, where :: and ::1 are */
	for (int i = 0; i < 15; i++)
		if (a[i]) {
			zero120 = false;
			break;
		}
	if (a[0] == 0xff)
		return "a multicast address";
	if (zero120 && a[15] == 0)
		return "the unspecified address ::";
	if (zero120 && a[15] == 1)
		return "the loopback address ::1 (served with NSTACK_IF=lo)";
	if (!memcmp(a, v4mapped, sizeof(v4mapped)))
		return "a v4-mapped address (IPv4: NSTACK_ADDR)";
	if (!linklocal_ok && nst_cfg_ipv6_linklocal(a))
		return "a link-local address (the stack has its own, from its MAC)";
	return NULL;
}

int nst_cfg_cidr6(const char *s, uint8_t addr[16], uint8_t *plen, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/'), *w;
	if (why)
		*why = "expected an IPv6 address and prefix, ADDR/N with N 1 to 128";
	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = 0;
	char *end;
	long n = strtol(slash + 1, &end, 10);
	if (slash[1] < '0' || slash[1] > '9' || *end || n < 1 || n > 128 || nst_cfg_ipv6(buf, addr) < 0)
		return -EINVAL;
	if ((w = nst_cfg_ipv6_unusable(addr, false))) {
		if (why)
			*why = w;
		return -EINVAL;
	}
	*plen = (uint8_t)n;
	return 0;
}

int nst_cfg_gw6(const char *s, uint8_t gw[16], const char **why)
{
	const char *w;
	if (why)
		*why = "not an IPv6 address";
	if (nst_cfg_ipv6(s, gw) < 0)
		return -EINVAL;
	if ((w = nst_cfg_ipv6_unusable(gw, true))) {
		if (why)
			*why = w;
		return -EINVAL;
	}
	return 0;
}

int nst_cfg_bytes(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || *s == '-')
		return -EINVAL;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v > (~0ull >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int nst_cfg_if_is_tap(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	int fd = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	long r = syscall(SYS_ioctl, fd, SIOCETHTOOL, &ifr);
	syscall(SYS_close, fd);
	return r != 0 ? -1 : !strcmp(info.driver, "tun");
}

/* The variable is set and not "0". */
static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

int nst_config_log(int *level)
{
	const char *l = getenv("NSTACK_LOG");
	if (!l || !*l)
		return 0;
	int n = nst_cfg_log_level(l);
	if (n < 0)
		return -EINVAL;
	*level = n;
	return 0;
}

/* Resource limits (ARCHITECTURE.md "Memory"):
 * NSTACK_MEM_MAX: the cap on TCP ring memory (default a quarter of the
 * RAM, between 64 MB and 1 GB: the kernel's tcp_mem is a fraction of RAM
 * too); NSTACK_MAX_SOCKETS: the socket table (default the soft
 * RLIMIT_NOFILE, since every nstack socket also holds an fd, within
 * [1024, max]; the table costs memory only for entries used). */
static int config_limits(struct nst_config *c, unsigned max,
			 void (*log)(int level, const char *fmt, ...))
{
	const char *v = getenv("NSTACK_MEM_MAX");
	if (v && *v) {
		if (nst_cfg_bytes(v, &c->mem_max) < 0 || c->mem_max < (1u << 20)) {
			log(NST_CFG_LOG_ERROR, "NSTACK_MEM_MAX=%s: expected bytes (K, M, G suffixes), at least 1M", v);
			return -EINVAL;
		}
	} else {
		long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
		uint64_t ram = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
		uint64_t m = ram / 4;
		if (m < (64ull << 20))
			m = 64ull << 20;
		if (m > (1ull << 30))
			m = 1ull << 30;
		c->mem_max = m;
	}
	v = getenv("NSTACK_MAX_SOCKETS");
	if (v && *v) {
		char *end;
		long n = strtol(v, &end, 10);
		if (*end || n < 1 || n > (long)max) {
			log(NST_CFG_LOG_ERROR, "NSTACK_MAX_SOCKETS=%s: expected 1 to %u", v, max);
			return -EINVAL;
		}
		c->max_sockets = (unsigned)n;
	} else {
		struct rlimit rl;
		rlim_t n = 1024;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > n)
			n = rl.rlim_cur;
		c->max_sockets = n > max ? max : (unsigned)n;
	}
	return 0;
}

/* IPv6: NSTACK_IPV6=0 turns it off (NSTACK_ADDR6 and NSTACK_GW6 are then
 * not read; a warning says so). Otherwise the stack always has its
 * link-local address (from the MAC); NSTACK_ADDR6=ADDR/N adds a global or
 * unique-local one and its on-link prefix; NSTACK_GW6 is the default router,
 * link-local (usual) or global, which then needs NSTACK_ADDR6: without an
 * address beyond the link, nothing could be sent through a global router.
 * On lo nothing is read: the stack serves ::1 itself. */
static int config_ipv6(struct nst_config *c, void (*log)(int level, const char *fmt, ...))
{
	const char *v = getenv("NSTACK_IPV6"), *why;
	if (v && *v && strcmp(v, "0") && strcmp(v, "1")) {
		log(NST_CFG_LOG_ERROR, "NSTACK_IPV6=%s: expected 0 or 1", v);
		return -EINVAL;
	}
	c->no_ipv6 = v && !strcmp(v, "0");
	if (c->loopback)
		return 0;
	const char *a6 = getenv("NSTACK_ADDR6"), *g6 = getenv("NSTACK_GW6");
	if (c->no_ipv6) {
		if ((a6 && *a6) || (g6 && *g6))
			log(NST_CFG_LOG_WARN, "NSTACK_IPV6=0: NSTACK_ADDR6 and NSTACK_GW6 ignored");
		return 0;
	}
	if (a6 && *a6 && nst_cfg_cidr6(a6, c->addr6, &c->prefix6_len, &why) < 0) {
		log(NST_CFG_LOG_ERROR, "NSTACK_ADDR6=%s: %s", a6, why);
		return -EINVAL;
	}
	if (g6 && *g6) {
		if (nst_cfg_gw6(g6, c->gw6, &why) < 0) {
			log(NST_CFG_LOG_ERROR, "NSTACK_GW6=%s: %s", g6, why);
			return -EINVAL;
		}
		if (!nst_cfg_ipv6_linklocal(c->gw6) && !c->prefix6_len) {
			log(NST_CFG_LOG_ERROR, "NSTACK_GW6=%s: a global gateway needs NSTACK_ADDR6 "
			    "(without it only a link-local one, fe80::/10)", g6);
			return -EINVAL;
		}
		if (c->prefix6_len && !memcmp(c->gw6, c->addr6, 16)) {
			log(NST_CFG_LOG_ERROR, "NSTACK_GW6=%s: the stack's own address (NSTACK_ADDR6)", g6);
			return -EINVAL;
		}
	}
	return 0;
}

/* The interface, the addresses and the device: everything shim_dev_open
 * needs, in c->dev. */
static int config_device(struct nst_config *c, void (*log)(int level, const char *fmt, ...))
{
	struct shim_dev_spec *d = &c->dev;
	const char *ifname = c->ifname, *v;
	int err;

	if (strlen(ifname) >= IF_NAMESIZE) {
		log(NST_CFG_LOG_ERROR, "interface %s: name too long", ifname);
		return -EINVAL;
	}
	d->ifname = ifname;
	if (c->loopback) {
		c->addr = INADDR_LOOPBACK;
		c->prefix_len = 8;
	} else {
		v = getenv("NSTACK_ADDR");
		if (!v || !*v) {
			log(NST_CFG_LOG_ERROR, "NSTACK_ADDR is required with NSTACK_IF=%s (e.g. 198.18.0.2/24)", ifname);
			return -EINVAL;
		}
		if (nst_cfg_cidr(v, &c->addr, &c->prefix_len) < 0) {
			log(NST_CFG_LOG_ERROR, "NSTACK_ADDR=%s: expected an IPv4 address and prefix, A.B.C.D/N", v);
			return -EINVAL;
		}
		v = getenv("NSTACK_GW");
		if (v && *v && nst_cfg_ipv4(v, &c->gw) < 0) {
			log(NST_CFG_LOG_ERROR, "NSTACK_GW=%s: not an IPv4 address", v);
			return -EINVAL;
		}
	}
	if ((err = config_ipv6(c, log)) < 0)
		return err;
	v = getenv("NSTACK_MAC");
	if (v && *v) {
		if (nst_cfg_mac(v, d->mac) < 0) {
			log(NST_CFG_LOG_ERROR, "NSTACK_MAC=%s: expected a unicast MAC, aa:bb:cc:dd:ee:ff", v);
			return -EINVAL;
		}
		d->have_mac = true;
	}
	const char *kind = getenv("NSTACK_DEV");
	if (!kind || !*kind)
		kind = "auto";
	d->kind = nst_cfg_dev_kind(kind);
	if (d->kind < 0) {
		log(NST_CFG_LOG_ERROR, "NSTACK_DEV=%s: expected tap, packet or auto", kind);
		return -EINVAL;
	}
	if (c->loopback) {
		d->kind = SHIM_DEV_LOOP;
	} else {
		if (if_nametoindex(ifname) == 0) {
			err = errno == ENXIO ? ENODEV : errno;
			log(NST_CFG_LOG_ERROR, "interface %s: %s", ifname, strerror(err));
			return -err;
		}
		/* ethtool cannot tell: /sys, which shows the netns it was mounted in */
		int tap = nst_cfg_if_is_tap(ifname);
		if (tap < 0) {
			char path[64];
			snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", ifname);
			tap = access(path, F_OK) == 0;
		}
		if (d->kind == SHIM_DEV_TAP && !tap) {
			log(NST_CFG_LOG_ERROR, "interface %s: not a TAP device (NSTACK_DEV=packet or auto for AF_PACKET)", ifname);
			return -EOPNOTSUPP;
		}
		if (d->kind == SHIM_DEV_AUTO)
			d->kind = tap ? SHIM_DEV_TAP : SHIM_DEV_PACKET;
	}
	/* NSTACK_OFFLOAD=0: no checksum/TSO/GRO offloads. The impairment
	 * middleware needs them off (it must see, and may corrupt, the frames
	 * as they are on the wire). */
	v = getenv("NSTACK_OFFLOAD");
	if (v && *v && strcmp(v, "0") && strcmp(v, "1")) {
		log(NST_CFG_LOG_ERROR, "NSTACK_OFFLOAD=%s: expected 0 or 1", v);
		return -EINVAL;
	}
	d->opts.offloads = (v && !strcmp(v, "0")) ? 0 :
		NETDEV_F_TX_CSUM | NETDEV_F_TSO | NETDEV_F_RX_CSUM | NETDEV_F_GRO;
	v = getenv("NSTACK_IMPAIR");
	if (v && *v) {
		if (d->opts.offloads) {
			log(NST_CFG_LOG_INFO, "NSTACK_IMPAIR: device offloads off");
			d->opts.offloads = 0;
		}
		char bad[64];
		if (impair_parse_dirs(v, &d->impair_tx, &d->impair_rx, bad, sizeof(bad)) < 0) {
			log(NST_CFG_LOG_ERROR, "NSTACK_IMPAIR: bad item '%s' (expected loss=P,dup=P,reorder=P,corrupt=P,"
			    "delay_us=N,jitter_us=N,rate_mbit=R,seed=N,dir=both|tx|rx, parts separated by ';')",
			    bad);
			return -EINVAL;
		}
		d->impair = true;
		c->impair = v;
	}
	v = getenv("NSTACK_PCAP");
	d->pcap = v && *v ? v : NULL;
	d->opts.log = c->log_level >= NST_CFG_LOG_INFO;
	d->opts.uring_disable = env_set("NSTACK_URING_DISABLE");
	d->opts.uring_no_multishot = env_set("NSTACK_URING_NO_MULTISHOT");
	d->opts.reads_claimed = true;   /* by the engine thread (eng_main) */
	return 0;
}

int nst_config_from_env(struct nst_config *c, unsigned max_sockets,
			void (*log)(int level, const char *fmt, ...))
{
	int err;

	memset(c, 0, sizeof(*c));
	c->ifname = getenv("NSTACK_IF");
	if (!c->ifname || !*c->ifname)
		return 0;
	c->loopback = !strcmp(c->ifname, "lo");

	if (nst_config_log(&c->log_level) < 0)
		log(NST_CFG_LOG_ERROR, "NSTACK_LOG=%s: expected error, warn, info or debug; using error",
		    getenv("NSTACK_LOG"));
	if ((err = config_limits(c, max_sockets, log)) < 0)
		return err;

	const char *v = getenv("NSTACK_BUSY_POLL_US");
	if (v && *v) {
		char *end;
		long long us = strtoll(v, &end, 10);
		if (*end || us < 0 || us > NST_CFG_BUSY_POLL_MAX_US) {
			log(NST_CFG_LOG_ERROR, "NSTACK_BUSY_POLL_US=%s: expected microseconds, 0 to %d", v,
			    NST_CFG_BUSY_POLL_MAX_US);
			return -EINVAL;
		}
		c->busy_poll_us = us;
		if (us)
			log(NST_CFG_LOG_INFO, "busy polling: %lld us before a thread sleeps", us);
	}
	if ((err = config_device(c, log)) < 0)
		return err;
	return 1;
}
