/* getaddrinfo over nstack UDP.
 *
 * glibc's stub resolver lives inside libc.so and reaches socket, connect,
 * sendmmsg and recvfrom through libc-internal aliases that no LD_PRELOAD can
 * interpose, so its queries would always leave through the kernel. When the
 * first name server of /etc/resolv.conf is one the stack serves (DESIGN.md
 * "Routing"), getaddrinfo is answered here instead: an A query over an
 * nstack UDP socket (our own socket/connect/send/poll/recv), results built
 * the way glibc builds them (one malloc per addrinfo with its sockaddr after
 * it, so the real freeaddrinfo frees them). AF_INET asks A, AF_INET6 AAAA,
 * AF_UNSPEC both, sorted as glibc sorts them (RFC 6724 6: usable
 * destinations first, then by the precedence of glibc's default policy
 * table, RFC 3484's: an IPv6 address we have a source for comes first).
 * The name server may be IPv4 or IPv6. Everything else —
 * numeric hosts, names in /etc/hosts, name servers the kernel serves,
 * nstack not configured — goes to the real getaddrinfo.
 *
 * not implemented: search domains and ndots, TCP fallback for truncated
 * answers, gethostbyname and friends, nsswitch orders other than "files
 * dns". AI_ADDRCONFIG and AI_V4MAPPED (with AI_ALL) are glibc's, with the
 * stack as the host whose addresses count: it always has IPv4, and IPv6
 * unless NSTACK_IPV6=0 (a link-local address counts, as in glibc's
 * __check_pf).
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "preload.h"

static int (*real_getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

static int call_real(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	if (!real_getaddrinfo)
		real_getaddrinfo = (int (*)(const char *, const char *, const struct addrinfo *,
					    struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");
	return real_getaddrinfo(node, service, hints, res);
}

/* The first name server of /etc/resolv.conf and its timeout/attempts. */
static int resolv_conf(struct nst_addr *ns, int *timeout_s, int *attempts)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	if (!f)
		return -1;
	char line[256];
	int found = 0;
	*timeout_s = 5;         /* glibc RES_TIMEOUT */
	*attempts = 2;          /* glibc RES_DFLRETRY */
	while (fgets(line, sizeof(line), f)) {
		char a[64];
		if (!found && sscanf(line, "nameserver %63s", a) == 1) {
			struct in_addr in;
			if (inet_pton(AF_INET, a, &in) == 1) {
				*ns = nst_addr_from_v4(ntohl(in.s_addr));
				found = 1;
			} else if (!strchr(a, '%') && inet_pton(AF_INET6, a, ns->b) == 1) {
				found = 1;
			}
		} else if (strncmp(line, "options", 7) == 0) {
			char *p;
			if ((p = strstr(line, "timeout:")))
				*timeout_s = atoi(p + 8) > 0 ? atoi(p + 8) : 1;
			if ((p = strstr(line, "attempts:")))
				*attempts = atoi(p + 9) > 0 ? atoi(p + 9) : 1;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

/* 1 if name has an entry in /etc/hosts (then the real resolver answers it). */
static int in_hosts(const char *name)
{
	FILE *f = fopen("/etc/hosts", "re");
	if (!f)
		return 0;
	char line[512];
	int hit = 0;
	while (!hit && fgets(line, sizeof(line), f)) {
		char *save, *tok = strtok_r(line, " \t\r\n", &save);
		if (!tok || tok[0] == '#')
			continue;
		while (!hit && (tok = strtok_r(NULL, " \t\r\n", &save)) && tok[0] != '#')
			hit = strcasecmp(tok, name) == 0;
	}
	fclose(f);
	return hit;
}

#define DNS_A    1
#define DNS_AAAA 28             /* RFC 3596 */

/* A query of qtype for name (RFC 1035 4.1), RD set. Length or -1. */
static int dns_query(uint8_t *q, size_t cap, const char *name, uint16_t id, int qtype)
{
	size_t n = 12;
	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 0x01;            /* RD */
	q[5] = 1;               /* QDCOUNT */
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || n + l + 6 > cap)
			return l == 0 && !dot[1] ? (int)n : -1;
		q[n++] = (uint8_t)l;
		memcpy(q + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(qtype >> 8);
	q[n++] = (uint8_t)qtype; /* QTYPE */
	q[n++] = 0;
	q[n++] = 1;             /* QCLASS IN */
	return (int)n;
}

/* Skip a (possibly compressed) name; offset after it or -1. */
static int dns_skip_name(const uint8_t *m, int len, int off)
{
	while (off < len) {
		uint8_t l = m[off];
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : -1;
		off += 1 + l;
		if (l == 0)
			return off <= len ? off : -1;
	}
	return -1;
}

/* The A (or AAAA) records of a response to a qtype query: count (up to
 * max, IPv4 v4-mapped), or an EAI_* code: glibc's are negative */
_Static_assert(EAI_NONAME < 0 && EAI_AGAIN < 0 && EAI_FAIL < 0 && EAI_SYSTEM < 0,
	       "a count and an EAI_* code share dns_parse's result");

static int dns_parse(const uint8_t *m, int len, uint16_t id, int qtype, struct nst_addr *out, int max)
{
	if (len < 12 || ((m[0] << 8) | m[1]) != id || !(m[2] & 0x80))
		return EAI_AGAIN;
	int rcode = m[3] & 0xf;
	if (rcode == 3)
		return EAI_NONAME;
	if (rcode != 0)
		return EAI_FAIL;
	int qd = (m[4] << 8) | m[5], an = (m[6] << 8) | m[7];
	int off = 12;
	for (int i = 0; i < qd && off >= 0; i++) {
		off = dns_skip_name(m, len, off);
		if (off >= 0)
			off += 4;
	}
	int n = 0;
	for (int i = 0; i < an && off >= 0 && off < len; i++) {
		off = dns_skip_name(m, len, off);
		if (off < 0 || off + 10 > len)
			break;
		int type = (m[off] << 8) | m[off + 1], cls = (m[off + 2] << 8) | m[off + 3];
		int rdlen = (m[off + 8] << 8) | m[off + 9];
		off += 10;
		if (off + rdlen > len)
			break;
		if (type == DNS_A && qtype == DNS_A && cls == 1 && rdlen == 4 && n < max)
			out[n++] = nst_addr_from_v4((uint32_t)m[off] << 24 | (uint32_t)m[off + 1] << 16 |
						    (uint32_t)m[off + 2] << 8 | m[off + 3]);
		else if (type == DNS_AAAA && qtype == DNS_AAAA && cls == 1 && rdlen == 16 && n < max)
			memcpy(out[n++].b, m + off, 16);
		off += rdlen;
	}
	return n ? n : EAI_NONAME;
}

/* Ask ns for qtype records over an nstack UDP socket (socket() is ours:
 * datagram sockets are nstack sockets, and ns is routed by the stack). */
static int dns_ask(const struct nst_addr *ns, const char *name, int qtype, int timeout_s,
		   int attempts, struct nst_addr *out, int max)
{
	uint8_t q[300], r[1500];
	uint16_t id = (uint16_t)(eng_now_us() ^ (uint64_t)getpid() ^ (unsigned)qtype);
	int qlen = dns_query(q, sizeof(q), name, id, qtype);
	if (qlen < 0)
		return EAI_NONAME;
	int v4 = nst_addr_is_v4(ns);
	int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return EAI_SYSTEM;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53),
				   .sin_addr.s_addr = htonl(nst_addr_v4(ns)) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(53) };
	memcpy(&sin6.sin6_addr, ns->b, 16);
	int ret = EAI_AGAIN;
	if (v4 ? connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0
	       : connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0)
		goto out;
	for (int a = 0; a < attempts && ret == EAI_AGAIN; a++) {
		if (send(fd, q, (size_t)qlen, 0) < 0)
			break;
		int64_t end = (int64_t)eng_now_us() + (int64_t)timeout_s * 1000000;
		for (;;) {
			int64_t left = end - (int64_t)eng_now_us();
			if (left <= 0)
				break;
			struct pollfd p = { fd, POLLIN, 0 };
			if (poll(&p, 1, (int)(left / 1000) + 1) <= 0)
				break;
			ssize_t n = recv(fd, r, sizeof(r), MSG_DONTWAIT);
			if (n < 0)
				break;
			ret = dns_parse(r, (int)n, id, qtype, out, max);
			if (ret != EAI_AGAIN)
				break;  /* else: not our answer, keep waiting */
		}
	}
out:
	close(fd);
	return ret;
}

static int service_port(const char *service, const struct addrinfo *hints, uint16_t *port)
{
	*port = 0;
	if (!service)
		return 0;
	char *end;
	long v = strtol(service, &end, 10);
	if (*service && !*end && v >= 0 && v <= 65535) {
		*port = (uint16_t)v;
		return 0;
	}
	if (hints && (hints->ai_flags & AI_NUMERICSERV))
		return EAI_NONAME;
	struct servent se, *sp = NULL;
	char buf[1024];
	const char *proto = hints && hints->ai_socktype == SOCK_DGRAM ? "udp" : "tcp";
	if (getservbyname_r(service, proto, &se, buf, sizeof(buf), &sp) != 0 || !sp)
		return EAI_SERVICE;
	*port = ntohs((uint16_t)sp->s_port);
	return 0;
}

/* The precedence of a destination, as glibc's getaddrinfo ranks it: its
 * built-in policy table is still RFC 3484's (2.1), not RFC 6724's (which
 * ranks IPv4 above unique-local and Teredo addresses); /etc/gai.conf can
 * change it (not read here). */
static int rfc6724_precedence(const struct nst_addr *a)
{
	static const struct nst_addr loop6 = { .b = { [15] = 1 } };
	if (nst_addr_eq(a, &loop6))
		return 50;                              /* ::1/128 */
	if (nst_addr_is_v4(a))
		return 10;                              /* ::ffff:0:0/96 */
	if (a->b[0] == 0x20 && a->b[1] == 0x02)
		return 30;                              /* 2002::/16 (6to4) */
	if (a->q[0] == 0 && a->w[2] == 0)
		return 20;                              /* ::/96 */
	return 40;                                      /* ::/0 */
}

/* RFC 6724 6, the rules that tell our answers apart: rule 1 (a destination
 * we have no source address for goes last) and rule 6 (higher precedence
 * first); stable otherwise (the name server's order). */
static void rfc6724_sort(struct nst_addr *a, int n, int have6)
{
	for (int i = 1; i < n; i++) {
		struct nst_addr x = a[i];
		int ux = nst_addr_is_v4(&x) || have6 || nst_addr_is_linklocal(&x);
		int px = rfc6724_precedence(&x);
		int j = i;
		while (j > 0) {
			const struct nst_addr *y = &a[j - 1];
			int uy = nst_addr_is_v4(y) || have6 || nst_addr_is_linklocal(y);
			if (uy > ux || (uy == ux && rfc6724_precedence(y) >= px))
				break;
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
}

NST_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			   struct addrinfo **res)
{
	struct in_addr tmp;
	int family = hints ? hints->ai_family : AF_UNSPEC;
	struct nst_addr ns;
	int timeout_s = 5, attempts = 2;
	if (!node || !res || (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) ||
	    (hints && (hints->ai_flags & AI_NUMERICHOST)) || inet_aton(node, &tmp) ||
	    strchr(node, ':') || !getenv("NSTACK_IF") || resolv_conf(&ns, &timeout_s, &attempts) < 0 ||
	    in_hosts(node) || strcasecmp(node, "localhost") == 0)
		return call_real(node, service, hints, res);
	if (eng_ensure() != ENG_ACTIVE)
		return call_real(node, service, hints, res);
	eng_lock();
	int ours = eng.st && stack_routes_addr(eng.st, &ns);
	struct nst_addr ll, gl;
	uint8_t plen = 0;
	if (eng.st)
		stack_addr6(eng.st, &ll, &gl, &plen);
	int have6 = eng.st && !nst_addr_is_unspec(&gl);
	int any6 = have6 || (eng.st && !nst_addr_is_unspec(&ll));
	eng_unlock();
	if (!ours)
		return call_real(node, service, hints, res);
	uint16_t port;
	int e = service_port(service, hints, &port);
	if (e)
		return e;
	int flags = hints ? hints->ai_flags : 0;
	if (flags & AI_ADDRCONFIG) {
		/* glibc: families without an address are not asked for; asking
		 * for only such a family has no answer */
		if (family == AF_INET6 && !any6)
			return EAI_NONAME;
		if (family == AF_UNSPEC && !any6)
			family = AF_INET;
	}
	/* AI_V4MAPPED: IPv4 addresses, v4-mapped, when there is no IPv6 one
	 * (AI_ALL: always) */
	int mapped = family == AF_INET6 && (flags & AI_V4MAPPED);
	int qtypes[2], nq = 0;
	if (family == AF_INET6) {
		qtypes[nq++] = DNS_AAAA;
		if (mapped)
			qtypes[nq++] = DNS_A;
	} else {
		qtypes[nq++] = DNS_A;
		if (family == AF_UNSPEC)
			qtypes[nq++] = DNS_AAAA;
	}
	struct nst_addr addrs[32];
	int n = 0, err = EAI_NONAME;
	for (int k = 0; k < nq; k++) {
		if (mapped && qtypes[k] == DNS_A && n > 0 && !(flags & AI_ALL))
			break;
		int r = dns_ask(&ns, node, qtypes[k], timeout_s, attempts, addrs + n, 16);
		log_debug("getaddrinfo(%s) over nstack UDP, type %d: %d", node, qtypes[k], r);
		if (r > 0)
			n += r;
		else if (r != EAI_NONAME || err == EAI_NONAME)
			err = r;        /* a failure beats "no such records" */
	}
	if (n == 0)
		return err;
	rfc6724_sort(addrs, n, have6);
	static const int types[][2] = { { SOCK_STREAM, IPPROTO_TCP }, { SOCK_DGRAM, IPPROTO_UDP },
					{ SOCK_RAW, 0 } };
	struct addrinfo *head = NULL, **tail = &head;
	for (int i = 0; i < n; i++) {
		int v4 = nst_addr_is_v4(&addrs[i]) && !mapped;  /* mapped: ::ffff:a.b.c.d */
		socklen_t salen = v4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		for (unsigned t = 0; t < 3; t++) {
			if (hints && hints->ai_socktype && hints->ai_socktype != types[t][0])
				continue;
			if (hints && hints->ai_protocol && hints->ai_protocol != types[t][1])
				continue;
			struct addrinfo *ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_in6));
			if (!ai) {
				freeaddrinfo(head);
				return EAI_MEMORY;
			}
			if (v4) {
				struct sockaddr_in *sa = (struct sockaddr_in *)(ai + 1);
				sa->sin_family = AF_INET;
				sa->sin_port = htons(port);
				sa->sin_addr.s_addr = htonl(nst_addr_v4(&addrs[i]));
			} else {
				struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)(ai + 1);
				sa6->sin6_family = AF_INET6;
				sa6->sin6_port = htons(port);
				memcpy(&sa6->sin6_addr, addrs[i].b, 16);
			}
			ai->ai_family = v4 ? AF_INET : AF_INET6;
			ai->ai_socktype = types[t][0];
			ai->ai_protocol = types[t][1];
			ai->ai_addrlen = salen;
			ai->ai_addr = (struct sockaddr *)(ai + 1);
			if (!head && hints && (hints->ai_flags & AI_CANONNAME))
				ai->ai_canonname = strdup(node);
			*tail = ai;
			tail = &ai->ai_next;
		}
	}
	if (!head)
		return EAI_SOCKTYPE;
	*res = head;
	return 0;
}
