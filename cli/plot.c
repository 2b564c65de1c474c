/* nstack plot PCAP -o FILE.png: the time-sequence graph of a TCP transfer
 * (Stevens' TCP/IP Illustrated, tcptrace, Wireshark's "Stevens" graph):
 *   - each data segment a vertical bar from its first to its last sequence
 *     number at the time it was seen,
 *   - the ACK line: the receiver's cumulative acknowledgment over time,
 *   - the receive window line: ack + advertised window (scaled, RFC 7323),
 *   - retransmissions (a segment starting below the highest sequence sent)
 *     marked in red.
 * Sequence numbers are relative to the sender's ISN. The connection drawn is
 * the one carrying the most payload in one direction.
 *
 * The pcap file is read directly (classic format, micro- or nanosecond,
 * either byte order; link types Ethernet, Linux cooked, raw IPv4). gnuplot
 * draws the picture from data files in a temporary directory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/cli.h"

#define MAX_FLOWS 4096

static const char plot_usage_text[] =
	"usage: nstack plot PCAP -o FILE.png [--size WxH]\n"
	"\n"
	"Draw the time-sequence graph of the TCP connection in PCAP that carries the\n"
	"most data: data segments (blue), the ACK line (orange), the receive window\n"
	"(green, ack + window) and retransmissions (red). Needs gnuplot.\n"
	"\n"
	"  -o, --output FILE  the PNG to write\n"
	"      --size WxH     picture size in pixels (default 1280x800)\n";

struct endpoint {
	uint8_t  addr[16];      /* IPv4: the first 4 bytes */
	uint8_t  v6;
	uint16_t port;
};

/* One direction of a connection, as seen in the capture. */
struct flow {
	struct endpoint src, dst;
	uint64_t payload;       /* data bytes seen */
	uint32_t isn;           /* SYN's sequence, else the first sequence seen - 1 */
	int      have_isn;
	int      wscale;        /* its SYN's window scale option, -1 if none */
};

/* A TCP segment, parsed. */
struct seg {
	double   t;
	struct endpoint src, dst;
	uint32_t seq, ack;
	uint16_t win;
	uint8_t  flags;
	int      wscale;        /* SYN option, -1 if absent */
	uint32_t len;
};

struct pcap_reader {
	FILE *f;
	int   swap, nsec, linktype;
};

static uint32_t rd32(const uint8_t *p, int swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static int pcap_open(struct pcap_reader *r, const char *path)
{
	uint8_t h[24];
	r->f = fopen(path, "rb");
	if (!r->f) {
		cli_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(h, 1, 24, r->f) != 24) {
		cli_err("%s: not a pcap file (too short)", path);
		return -1;
	}
	uint32_t m;
	memcpy(&m, h, 4);
	r->swap = r->nsec = 0;
	if (m == 0xa1b2c3d4u || m == 0xa1b23c4du) {
		r->nsec = m == 0xa1b23c4du;
	} else if (m == 0xd4c3b2a1u || m == 0x4d3cb2a1u) {
		r->swap = 1;
		r->nsec = m == 0x4d3cb2a1u;
	} else {
		cli_err("%s: not a pcap file (pcapng is not supported: convert with editcap -F pcap)", path);
		return -1;
	}
	r->linktype = (int)(rd32(h + 20, r->swap) & 0xffff);
	if (r->linktype != 1 && r->linktype != 113 && r->linktype != 101 && r->linktype != 228) {
		cli_err("%s: link type %d not supported (Ethernet, Linux cooked or raw IP)", path,
			r->linktype);
		return -1;
	}
	return 0;
}

/* Where the TCP header of an IPv6 packet p (n bytes captured) starts: past
 * the extension headers RFC 8200 4.1 lists before it (hop-by-hop, routing,
 * destination options, a first fragment); 0 when it is not TCP or not there.
 * *len gets the IPv6 payload's length beyond that point. */
static size_t ip6_tcp_off(const uint8_t *p, size_t n, size_t *len)
{
	if (n < 40)
		return 0;
	uint8_t nh = p[6];
	size_t off = 40, end = 40 + (size_t)(p[4] << 8 | p[5]);
	for (int k = 0; k < 8 && nh != 6; k++) {
		if (off + 8 > n)
			return 0;
		if (nh == 0 || nh == 43 || nh == 60) {
			nh = p[off];
			off += ((size_t)p[off + 1] + 1) * 8;
		} else if (nh == 44) {
			if (((p[off + 2] << 8 | p[off + 3]) & 0xfff8) != 0)
				return 0;       /* a non-first fragment: no TCP header */
			nh = p[off];
			off += 8;
		} else {
			return 0;
		}
	}
	if (nh != 6 || off + 20 > n || off > end)
		return 0;
	*len = end - off;
	return off;
}

/* The TCP header's fields at t (have bytes captured, thl the header's
 * length) into s; options as far as captured: only the window scale. */
static void tcp_fields(struct seg *s, const uint8_t *t, size_t have, size_t thl)
{
	s->src.port = (uint16_t)(t[0] << 8 | t[1]);
	s->dst.port = (uint16_t)(t[2] << 8 | t[3]);
	s->seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
	s->ack = (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11];
	s->flags = t[13];
	s->win = (uint16_t)(t[14] << 8 | t[15]);
	s->wscale = -1;
	if (have > thl)
		have = thl;
	for (size_t o = 20; o < have;) {
		uint8_t kind = t[o];
		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (o + 1 >= have || t[o + 1] < 2)
			break;
		if (kind == 3 && t[o + 1] == 3 && o + 2 < have)
			s->wscale = t[o + 2] > 14 ? 14 : t[o + 2];
		o += t[o + 1];
	}
}

/* The next TCP segment over IPv4 or IPv6: 1, 0 at the end. */
static int pcap_next_seg(struct pcap_reader *r, struct seg *s)
{
	static uint8_t buf[262144];
	uint8_t h[16];
	while (fread(h, 1, 16, r->f) == 16) {
		uint32_t sec = rd32(h, r->swap), frac = rd32(h + 4, r->swap);
		uint32_t caplen = rd32(h + 8, r->swap);
		if (caplen > sizeof(buf) || fread(buf, 1, caplen, r->f) != caplen)
			return 0;
		const uint8_t *p = buf;
		size_t n = caplen;
		uint16_t etype = n && (p[0] >> 4) == 6 ? 0x86dd : 0x0800;   /* raw IP */
		if (r->linktype == 1) {
			if (n < 14)
				continue;
			etype = (uint16_t)(p[12] << 8 | p[13]);
			p += 14, n -= 14;
			if (etype == 0x8100 && n >= 4) {        /* one VLAN tag */
				etype = (uint16_t)(p[2] << 8 | p[3]);
				p += 4, n -= 4;
			}
		} else if (r->linktype == 113) {
			if (n < 16)
				continue;
			etype = (uint16_t)(p[14] << 8 | p[15]);
			p += 16, n -= 16;
		}
		if (etype == 0x86dd) {
			size_t tl, off = (p[0] >> 4) == 6 ? ip6_tcp_off(p, n, &tl) : 0;
			if (!off)
				continue;
			const uint8_t *t = p + off;
			size_t thl = (size_t)(t[12] >> 4) * 4;
			if (thl < 20)
				continue;
			memset(s, 0, sizeof(*s));
			s->t = sec + frac / (r->nsec ? 1e9 : 1e6);
			s->src.v6 = s->dst.v6 = 1;
			memcpy(s->src.addr, p + 8, 16);
			memcpy(s->dst.addr, p + 24, 16);
			s->len = tl > thl ? (uint32_t)(tl - thl) : 0;
			tcp_fields(s, t, n - off, thl);
			return 1;
		}
		if (etype != 0x0800 || n < 20 || (p[0] >> 4) != 4)
			continue;
		size_t ihl = (size_t)(p[0] & 15) * 4;
		size_t tot = (size_t)(p[2] << 8 | p[3]);
		if (p[9] != 6 || ihl < 20 || tot < ihl || n < ihl + 20)
			continue;
		if (((p[6] & 0x1f) | p[7]) != 0)
			continue;       /* a non-first fragment: no TCP header */
		if (tot > n)
			tot = n;        /* snapped: the lengths come from the headers below */
		const uint8_t *t = p + ihl;
		size_t thl = (size_t)(t[12] >> 4) * 4;
		if (thl < 20)
			continue;
		size_t iplen = (size_t)(p[2] << 8 | p[3]);
		memset(s, 0, sizeof(*s));
		s->t = sec + frac / (r->nsec ? 1e9 : 1e6);
		memcpy(s->src.addr, p + 12, 4);
		memcpy(s->dst.addr, p + 16, 4);
		s->len = iplen > ihl + thl ? (uint32_t)(iplen - ihl - thl) : 0;
		tcp_fields(s, t, n - ihl, thl);
		return 1;
	}
	return 0;
}

static int ep_eq(struct endpoint a, struct endpoint b)
{
	return a.v6 == b.v6 && !memcmp(a.addr, b.addr, 16) && a.port == b.port;
}

/* An address as ss prints it: IPv4 dotted, IPv6 in brackets. */
static void ep_name(const struct endpoint *e, char *buf)
{
	if (!e->v6) {
		inet_ntop(AF_INET, e->addr, buf, INET_ADDRSTRLEN);
		return;
	}
	buf[0] = '[';
	inet_ntop(AF_INET6, e->addr, buf + 1, INET6_ADDRSTRLEN);
	strcat(buf, "]");
}

static struct flow *flow_find(struct flow *f, int *n, const struct seg *s, int add)
{
	for (int i = 0; i < *n; i++)
		if (ep_eq(f[i].src, s->src) && ep_eq(f[i].dst, s->dst))
			return &f[i];
	if (!add || *n >= MAX_FLOWS)
		return NULL;
	struct flow *x = &f[(*n)++];
	memset(x, 0, sizeof(*x));
	x->src = s->src;
	x->dst = s->dst;
	x->wscale = -1;
	return x;
}

static int seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

static int write_script(const char *path, const char *out, int w, int h, const char *term,
			const char *title, const char *dir, int have_rexmit, int have_win)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "set terminal %s size %d,%d\n", term, w, h);
	fprintf(f, "set output '%s'\n", out);
	fprintf(f, "set title \"%s\" noenhanced\n", title);
	fprintf(f, "set xlabel 'time (s)'\nset ylabel 'relative sequence number (bytes)'\n");
	fprintf(f, "set key top left\nset grid\nset format y '%%.0f'\n");
	fprintf(f, "plot ");
	if (have_win)
		fprintf(f, "'%s/win.dat' using 1:2 with steps lc rgb '#2ca02c' title 'receive window (ack + window)', ", dir);
	fprintf(f, "'%s/ack.dat' using 1:2 with steps lc rgb '#ff7f0e' lw 1.5 title 'ACK', ", dir);
	fprintf(f, "'%s/data.dat' using 1:2:(0):3 with vectors nohead lc rgb '#1f77b4' title 'data segments'", dir);
	if (have_rexmit)
		fprintf(f, ", '%s/rexmit.dat' using 1:2 with points pt 7 ps 0.7 lc rgb '#d62728' title 'retransmissions'", dir);
	fprintf(f, "\n");
	return fclose(f);
}

static int run_gnuplot(const char *script)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		fprintf(stderr, "nstack: gnuplot: %s (install gnuplot-nox)\n", strerror(errno));
		_exit(127);
	}
	return cli_wait(pid);
}

int cmd_plot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *in = NULL;
	int w = 1280, h = 800, c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 's':
			if (sscanf(optarg, "%dx%d", &w, &h) != 2 || w < 200 || h < 150 || w > 10000 || h > 10000)
				usage_error("--size %s: expected WxH, e.g. 1280x800", optarg);
			break;
		case 'h': fputs(plot_usage_text, stdout); return 0;
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default:  usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("no pcap file given");
	in = argv[optind];
	if (optind + 1 < argc)
		usage_error("unexpected argument %s", argv[optind + 1]);
	if (!out)
		usage_error("-o FILE.png is required");
	if (strchr(out, '\'') || strchr(out, '\n'))
		usage_error("-o %s: quotes and newlines are not allowed in the name", out);

	/* Pass 1: payload per direction; pick the largest. */
	struct pcap_reader r;
	if (pcap_open(&r, in) < 0)
		return 1;
	struct flow *flows = calloc(MAX_FLOWS, sizeof(*flows));
	int nf = 0;
	struct seg s;
	if (!flows) {
		cli_err("out of memory");
		return 1;
	}
	while (pcap_next_seg(&r, &s)) {
		struct flow *f = flow_find(flows, &nf, &s, 1);
		if (!f)
			continue;
		if (s.flags & 0x02) {           /* SYN: the ISN and the window scale */
			f->isn = s.seq;
			f->have_isn = 1;
			f->wscale = s.wscale;
		} else if (!f->have_isn) {
			f->isn = s.seq - 1;
			f->have_isn = 1;
		}
		f->payload += s.len;
	}
	fclose(r.f);
	struct flow *best = NULL;
	for (int i = 0; i < nf; i++)
		if (!best || flows[i].payload > best->payload)
			best = &flows[i];
	if (!best || !best->payload) {
		cli_err("%s: no TCP connection carrying data", in);
		free(flows);
		return 1;
	}
	struct seg rev = { .src = best->dst, .dst = best->src };
	struct flow *back = flow_find(flows, &nf, &rev, 0);
	/* RFC 7323 2.2: the window is scaled only if both SYNs carried the option. */
	int shift = back && back->wscale >= 0 && best->wscale >= 0 ? back->wscale : 0;

	char dir[] = "/tmp/nstack-plot.XXXXXX";
	if (!mkdtemp(dir)) {
		cli_err("mkdtemp: %s", strerror(errno));
		free(flows);
		return 1;
	}
	char pd[sizeof(dir) + 16], pa[sizeof(dir) + 16], pw[sizeof(dir) + 16], pr[sizeof(dir) + 16],
	     ps[sizeof(dir) + 16];
	snprintf(pd, sizeof(pd), "%s/data.dat", dir);
	snprintf(pa, sizeof(pa), "%s/ack.dat", dir);
	snprintf(pw, sizeof(pw), "%s/win.dat", dir);
	snprintf(pr, sizeof(pr), "%s/rexmit.dat", dir);
	snprintf(ps, sizeof(ps), "%s/plot.gp", dir);
	FILE *fd = fopen(pd, "w"), *fa = fopen(pa, "w"), *fw = fopen(pw, "w"), *fr = fopen(pr, "w");
	int rc = 1;
	uint64_t nseg = 0, nrex = 0, nack = 0;
	if (!fd || !fa || !fw || !fr || pcap_open(&r, in) < 0) {
		cli_err("%s: %s", dir, strerror(errno));
		goto out;
	}

	/* Pass 2: the points. Times from the connection's first segment. */
	double t0 = -1;
	uint32_t snd_max = best->isn + 1;
	int have_max = 0;
	while (pcap_next_seg(&r, &s)) {
		int fwd = ep_eq(s.src, best->src) && ep_eq(s.dst, best->dst);
		int bwd = ep_eq(s.src, best->dst) && ep_eq(s.dst, best->src);
		if (!fwd && !bwd)
			continue;
		if (t0 < 0)
			t0 = s.t;
		double t = s.t - t0;
		if (fwd && s.len) {
			uint32_t rel = s.seq - best->isn;
			uint32_t end = s.seq + s.len;
			if (have_max && seq_lt(s.seq, snd_max)) {
				fprintf(fr, "%.6f %u\n", t, rel);
				nrex++;
			}
			if (!have_max || seq_lt(snd_max, end)) {
				snd_max = end;
				have_max = 1;
			}
			fprintf(fd, "%.6f %u %u\n", t, rel, s.len);
			nseg++;
		} else if (bwd && (s.flags & 0x10)) {
			uint32_t rel = s.ack - best->isn;
			uint64_t win = (uint64_t)s.win << ((s.flags & 0x02) ? 0 : shift);
			fprintf(fa, "%.6f %u\n", t, rel);
			fprintf(fw, "%.6f %llu\n", t, (unsigned long long)rel + win);
			nack++;
		}
	}
	fclose(r.f);
	fclose(fd);
	fclose(fa);
	fclose(fw);
	fclose(fr);
	fd = fa = fw = fr = NULL;
	if (!nack) {
		/* No ACK seen: gnuplot needs a point to draw the ACK line with. */
		FILE *f = fopen(pa, "w");
		if (f) {
			fprintf(f, "0 0\n");
			fclose(f);
		}
	}

	char title[256], a1[INET6_ADDRSTRLEN + 2], a2[INET6_ADDRSTRLEN + 2];
	ep_name(&best->src, a1);
	ep_name(&best->dst, a2);
	snprintf(title, sizeof(title), "%s:%u -> %s:%u: %llu bytes in %llu segments, %llu retransmitted",
		 a1, best->src.port, a2, best->dst.port, (unsigned long long)best->payload,
		 (unsigned long long)nseg, (unsigned long long)nrex);
	/* pngcairo draws nicer; the libgd png terminal is the fallback. */
	static const char *const terms[] = { "pngcairo", "png" };
	int ok = 0;
	for (size_t i = 0; i < 2 && !ok; i++) {
		if (write_script(ps, out, w, h, terms[i], title, dir, nrex > 0, nack > 0) < 0) {
			cli_err("%s: %s", ps, strerror(errno));
			goto out;
		}
		ok = run_gnuplot(ps) == 0;
	}
	struct stat st;
	if (!ok || stat(out, &st) < 0 || st.st_size == 0) {
		cli_err("gnuplot could not draw %s", out);
		goto out;
	}
	printf("%s: %s\n", out, title);
	rc = 0;
out:
	if (fd)
		fclose(fd);
	if (fa)
		fclose(fa);
	if (fw)
		fclose(fw);
	if (fr)
		fclose(fr);
	unlink(pd);
	unlink(pa);
	unlink(pw);
	unlink(pr);
	unlink(ps);
	rmdir(dir);
	free(flows);
	return rc;
}
