/* nstack ss / nstack stats: look inside running nstack processes.
 *
 * Each preloaded process whose stack is running listens on
 * $NSTACK_RUNDIR/<pid>.sock (preload/ctl.c; default /run/nstack). We connect
 * to each (or to the one -p names), send one request line and read the text
 * reply until the server closes:
 *   "sockets" -> "tcp STATE LADDR:LPORT RADDR:RPORT key=value ... fd=N pids=P,..."
 *   "stats"   -> "name value"
 * and print it the way ss(8) and nstat(8) do. A socket file whose process is
 * gone (killed before its exit handler ran) is stale: removed, not listed.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "stack/stack.h"

#define CTL_TIMEOUT_MS 2000
#define MAX_PROCS      1024

/* ---- the control client ------------------------------------------------ */

/* pids with a control socket, ascending; only `only` if non-zero. */
static int ctl_pids(pid_t only, pid_t *out, int max)
{
	DIR *d = opendir(cli_rundir());
	int n = 0;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		char *end;
		long p = strtol(e->d_name, &end, 10);
		if (p <= 0 || strcmp(end, ".sock"))
			continue;
		if (only && p != only)
			continue;
		out[n++] = (pid_t)p;
	}
	closedir(d);
	for (int i = 1; i < n; i++)     /* insertion sort: a handful of pids */
		for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
			pid_t t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static void ctl_path(pid_t pid, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%d.sock", cli_rundir(), (int)pid);
}

/* Ask process pid; the reply in a malloc'd string, or NULL (errno set;
 * ESRCH when the process is gone and its stale socket was removed). */
static char *ctl_ask(pid_t pid, const char *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	ctl_path(pid, sa.sun_path, sizeof(sa.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if ((e == ECONNREFUSED || e == ENOENT) && kill(pid, 0) < 0 && errno == ESRCH) {
			unlink(sa.sun_path);    /* its process died without cleaning up */
			e = ESRCH;
		}
		errno = e;
		return NULL;
	}
	char line[64];
	int len = snprintf(line, sizeof(line), "%s\n", req);
	if (send(fd, line, (size_t)len, MSG_NOSIGNAL) != len) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = CTL_TIMEOUT_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { fd, POLLIN, 0 };
		if (!buf || left <= 0 || poll(&p, 1, (int)left) <= 0) {
			free(buf);
			close(fd);
			errno = ETIMEDOUT;
			return NULL;
		}
		if (n + 4096 > cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return buf;
}

/* The process's name (/proc/PID/comm), "?" if unknown. */
static void proc_comm(pid_t pid, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "r");
	snprintf(out, size, "?");
	if (f) {
		if (fgets(out, (int)size, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
}

/* Value of key=... in a "sockets" line, 0 if absent. */
static uint64_t kv(const char *line, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = line; (p = strstr(p, key)); p += kl)
		if ((p == line || p[-1] == ' ') && p[kl] == '=')
			return strtoull(p + kl + 1, NULL, 10);
	return 0;
}

/* The word after key= in a "sockets" line into out ("" if absent). */
static void kvs(const char *line, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key);
	out[0] = 0;
	for (const char *p = line; (p = strstr(p, key)); p += kl)
		if ((p == line || p[-1] == ' ') && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, " \n");
			if (n >= size)
				n = size - 1;
			memcpy(out, p + kl + 1, n);
			out[n] = 0;
			return;
		}
}

/* ---- nstack ss ---------------------------------------------------------- */

/* proc_comm, remembered: a family's sockets name the same few processes. */
static const char *comm_of(pid_t pid)
{
	static struct { pid_t pid; char comm[64]; } cache[64];
	static unsigned n, next;
	for (unsigned i = 0; i < n; i++)
		if (cache[i].pid == pid)
			return cache[i].comm;
	unsigned i = n < 64 ? n++ : next++ % 64;
	cache[i].pid = pid;
	proc_comm(pid, cache[i].comm, sizeof(cache[i].comm));
	return cache[i].comm;
}

/* The Process column of a "sockets" line, as ss -p: ("comm",pid=N,fd=F) for
 * each process holding the socket (pids=). Only the serving process knows its
 * own descriptors: fd= for it alone. A line without holders (an orphan, or a
 * server without pids=) names the serving process. */
static void ss_users(const char *line, pid_t server, char *out, size_t size)
{
	char list[1024], fds[16];
	size_t len = 0;
	kvs(line, "pids", list, sizeof(list));
	kvs(line, "fd", fds, sizeof(fds));
	long fd = fds[0] ? strtol(fds, NULL, 10) : -1;
	out[0] = 0;
	if (!list[0] || !strcmp(list, "-")) {
		snprintf(out, size, "users:((\"%s\",pid=%d))", comm_of(server), (int)server);
		return;
	}
	len = (size_t)snprintf(out, size, "users:(");
	int first = 1;
	for (char *save = NULL, *w = strtok_r(list, ",", &save); w && len < size;
	     w = strtok_r(NULL, ",", &save)) {
		pid_t pid = (pid_t)strtol(w, NULL, 10);
		if (pid <= 0)
			continue;
		len += (size_t)snprintf(out + len, size - len, "%s(\"%s\",pid=%d", first ? "" : ",",
					comm_of(pid), (int)pid);
		if (len < size && pid == server && fd >= 0)
			len += (size_t)snprintf(out + len, size - len, ",fd=%ld", fd);
		if (len < size)
			len += (size_t)snprintf(out + len, size - len, ")");
		first = 0;
	}
	if (len < size)
		snprintf(out + len, size - len, ")");
}

static const char ss_usage_text[] =
	"usage: nstack ss [-p PID] [-t|-u|-w] [-4|-6] [-l|-a] [-i] [-H]\n"
	"\n"
	"The sockets of running nstack processes, in ss(8)'s layout (always numeric).\n"
	"The host's ss cannot see them: they are not the kernel's.\n"
	"\n"
	"  -p, --pid PID   only process PID\n"
	"  -t, --tcp       TCP sockets (the default)\n"
	"  -u, --udp       UDP sockets\n"
	"  -w, --raw       raw ICMP sockets (ICMP echo \"ping\" sockets are not shown,\n"
	"                  as ss does not show them)\n"
	"  -4, --ipv4      AF_INET sockets only\n"
	"  -6, --ipv6      AF_INET6 sockets only (dual-stack ones show IPv4 peers as\n"
	"                  [::ffff:a.b.c.d], as ss)\n"
	"  -l, --listening listening sockets only\n"
	"  -a, --all       sockets in every state (default: connected ones, as ss)\n"
	"  -i, --info      TCP internals: rto, rtt/rttvar (ms), mss, cwnd and ssthresh\n"
	"                  (segments), bytes_acked, bytes_received, retrans, send rate, delivery rate\n"
	"  -H, --no-header no header line\n";

/* ss's default filter: every state but LISTEN, UNCONN, TIME-WAIT, SYN-RECV. */
static int ss_default_state(const char *st)
{
	return strcmp(st, "LISTEN") && strcmp(st, "UNCONN") && strcmp(st, "TIME-WAIT") &&
	       strcmp(st, "SYN-RECV");
}

/* "123456789" bits/s -> "123.5Mbps" like ss. */
static void ss_rate(double bps, char *out, size_t size)
{
	if (bps >= 1e9)
		snprintf(out, size, "%.1fGbps", bps / 1e9);
	else if (bps >= 1e6)
		snprintf(out, size, "%.1fMbps", bps / 1e6);
	else if (bps >= 1e3)
		snprintf(out, size, "%.1fKbps", bps / 1e3);
	else
		snprintf(out, size, "%.0fbps", bps);
}

static void ss_info(const char *line)
{
	uint64_t mss = kv(line, "mss"), cwnd = kv(line, "cwnd"), ssth = kv(line, "ssthresh");
	uint64_t rtt = kv(line, "rtt_us"), rttvar = kv(line, "rttvar_us"), rto = kv(line, "rto_us");
	char cc[16];
	kvs(line, "cc", cc, sizeof(cc));
	/* like ss: "sack cubic rto:..." */
	printf("\t%s %s rto:%" PRIu64 " rtt:%.3f/%.3f mss:%" PRIu64, kv(line, "sack") ? " sack" : "",
	       cc[0] && strcmp(cc, "-") ? cc : "unknown", (rto + 999) / 1000, rtt / 1000.0,
	       rttvar / 1000.0, mss);
	if (mss)
		printf(" cwnd:%" PRIu64, (cwnd + mss - 1) / mss);
	if (mss && ssth && ssth < 0xffffffffu)
		printf(" ssthresh:%" PRIu64, ssth / mss);
	printf(" bytes_acked:%" PRIu64 " bytes_received:%" PRIu64, kv(line, "bytes_acked"),
	       kv(line, "bytes_received"));
	/* like ss: retrans:<consecutive timeouts>/<total retransmitted segments> */
	uint64_t retrans = kv(line, "retrans"), total = kv(line, "total_retrans");
	if (retrans || total)
		printf(" retrans:%" PRIu64 "/%" PRIu64, retrans, total);
	if (rtt && cwnd) {
		char r[32];
		ss_rate((double)cwnd * 8e6 / (double)rtt, r, sizeof(r));
		printf(" send %s", r);
	}
	uint64_t dr = kv(line, "delivery_rate");
	if (dr) {
		char r[32];
		ss_rate((double)dr * 8, r, sizeof(r));
		printf(" delivery_rate %s", r);
	}
	printf(" snd_wnd:%" PRIu64 " rcv_wnd:%" PRIu64, kv(line, "snd_wnd"), kv(line, "rcv_wnd"));
	if (kv(line, "recovery"))
		printf(" recovery");
	if (kv(line, "orphan"))
		printf(" orphan");
	printf("\n");
}

/* The value of -p: a process id, or a usage error. */
static pid_t pid_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || v <= 0 || v != (pid_t)v)
		usage_error("-p %s: not a process id", s);
	return (pid_t)v;
}

int cmd_ss(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' }, { "tcp", no_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' }, { "raw", no_argument, NULL, 'w' },
		{ "listening", no_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' }, { "info", no_argument, NULL, 'i' },
		{ "no-header", no_argument, NULL, 'H' }, { "numeric", no_argument, NULL, 'n' },
		{ "ipv4", no_argument, NULL, '4' }, { "ipv6", no_argument, NULL, '6' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	pid_t only = 0;
	int tcp = 0, udp = 0, raw = 0, listening = 0, all = 0, info = 0, header = 1, c, fam4 = 0, fam6 = 0;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:tuw46laiHnh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			only = pid_arg(optarg);
			break;
		case 't': tcp = 1; break;
		case 'u': udp = 1; break;
		case 'w': raw = 1; break;
		case '4': fam4 = 1; break;
		case '6': fam6 = 1; break;
		case 'l': listening = 1; break;
		case 'a': all = 1; break;
		case 'i': info = 1; break;
		case 'H': header = 0; break;
		case 'n': break;        /* always numeric */
		case 'h': fputs(ss_usage_text, stdout); return 0;
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default:  usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument %s", argv[optind]);
	if (!tcp && !udp && !raw)
		tcp = 1;
	if (!fam4 && !fam6)
		fam4 = fam6 = 1;

	pid_t pids[MAX_PROCS];
	int np = ctl_pids(only, pids, MAX_PROCS);
	if (only && !np) {
		cli_err("process %d: no control socket in %s (not an nstack process, or its stack "
			"has not started)", (int)only, cli_rundir());
		return 1;
	}
	if (header)
		printf("%-12s %-6s %-6s %-25s %-25s %s\n", "State", "Recv-Q", "Send-Q",
		       "Local Address:Port", "Peer Address:Port", "Process");
	int rc = 0;
	for (int i = 0; i < np; i++) {
		char *rep = ctl_ask(pids[i], "sockets");
		if (!rep) {
			if (errno != ESRCH) {
				cli_err("process %d: %s", (int)pids[i], strerror(errno));
				rc = 1;
			} else if (only) {
				cli_err("process %d: gone", (int)pids[i]);
				rc = 1;
			}
			continue;
		}
		for (char *save = NULL, *line = strtok_r(rep, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char proto[8], state[16], local[48], peer[48];
			if (sscanf(line, "%7s %15s %47s %47s", proto, state, local, peer) != 4)
				continue;
			if (!((tcp && !strcmp(proto, "tcp")) || (udp && !strcmp(proto, "udp")) ||
			      (raw && !strcmp(proto, "raw"))))
				continue;   /* "icmp": ping sockets, which ss does not show */
			/* an AF_INET6 socket's addresses are bracketed, v4-mapped ones too */
			if (!(local[0] == '[' || local[0] == '*' ? fam6 : fam4))
				continue;
			/* as ss: an unconnected UDP socket counts as listening (-l) */
			int is_listen = !strcmp(state, "LISTEN") ||
					(strcmp(proto, "tcp") && !strcmp(state, "UNCONN"));
			if (listening ? !is_listen : (!all && !ss_default_state(state)))
				continue;
			if (is_listen && !strcmp(peer, "0.0.0.0:0"))
				strcpy(peer, "0.0.0.0:*");
			else if (is_listen && !strcmp(peer, "[::]:0"))
				strcpy(peer, "[::]:*");
			else if (is_listen && !strcmp(peer, "*:0"))
				strcpy(peer, "*:*");
			char users[4096];
			ss_users(line, pids[i], users, sizeof(users));
			printf("%-12s %-6" PRIu64 " %-6" PRIu64 " %-25s %-25s %s\n", state,
			       kv(line, "recv_q"), kv(line, "send_q"), local, peer, users);
			if (info && !strcmp(proto, "tcp") && !is_listen)
				ss_info(line);
		}
		free(rep);
	}
	return rc;
}

/* ---- nstack stats ------------------------------------------------------- */

static const char stats_usage_text[] =
	"usage: nstack stats [-p PID] [-a] [--json]\n"
	"\n"
	"The counters of running nstack processes, like nstat(8): segments and\n"
	"frames in and out, retransmissions, drops by reason, checksum errors, ARP,\n"
	"ICMP, the device's counters and, under --impair, the injected faults.\n"
	"One block per process.\n"
	"\n"
	"  -p, --pid PID   only process PID\n"
	"  -a, --all       counters that are zero too\n"
	"  -j, --json      one JSON document: {\"processes\":[{\"pid\":N,\"comm\":S,\n"
	"                  \"counters\":{name:value,...}},...]} (every counter)\n";

static const char *stat_desc(const char *name)
{
#define DESC(n, d) if (!strcmp(name, #n)) return d;
	STACK_STATS(DESC)
#undef DESC
	static const struct { const char *n, *d; } extra[] = {
		{ "dev_rx_frames", "device: frames received" },
		{ "dev_rx_bytes", "device: bytes received" },
		{ "dev_rx_drops", "device: frames dropped on receive" },
		{ "dev_tx_frames", "device: frames sent" },
		{ "dev_tx_bytes", "device: bytes sent" },
		{ "dev_tx_drops", "device: frames dropped on send" },
		{ "dev_rx_rearms", "device: read requests that ended and were armed again" },
		{ "dev_rx_nobuf", "device: receive buffers not refilled, the packet pool empty" },
		{ "dev_rx_gso_drops", "device: received aggregates of a kind not enabled" },
		{ "dev_rx_claims", "device: receive requests taken over by the thread that waits for them" },
		{ "dev_rx_armed", "device: read requests alive in the kernel (a gauge)" },
		{ "dev_rx_errno", "device: the errno that stopped receiving, 0 if none" },
		{ "pkt_pool_in_use", "packet buffers in use (a gauge, not a counter)" },
		{ "pkt_pool_large_in_use", "large packet buffers in use (a gauge)" },
		{ "impair_tx_lost", "impair: frames lost on send" },
		{ "impair_tx_dup", "impair: frames duplicated on send" },
		{ "impair_tx_reordered", "impair: frames reordered on send" },
		{ "impair_tx_corrupted", "impair: frames corrupted on send" },
		{ "impair_tx_delayed", "impair: frames delayed on send" },
		{ "impair_rx_lost", "impair: frames lost on receive" },
		{ "impair_rx_dup", "impair: frames duplicated on receive" },
		{ "impair_rx_reordered", "impair: frames reordered on receive" },
		{ "impair_rx_corrupted", "impair: frames corrupted on receive" },
		{ "impair_rx_delayed", "impair: frames delayed on receive" },
		{ "impair_overflow", "impair: frames dropped, delay queue full" },
	};
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (!strcmp(name, extra[i].n))
			return extra[i].d;
	return "";
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' }, { "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pid_t only = 0;
	int all = 0, json = 0, c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:ajh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			only = pid_arg(optarg);
			break;
		case 'a': all = 1; break;
		case 'j': json = 1; break;
		case 'h': fputs(stats_usage_text, stdout); return 0;
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default:  usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument %s", argv[optind]);

	pid_t pids[MAX_PROCS];
	int np = ctl_pids(only, pids, MAX_PROCS);
	if (only && !np) {
		cli_err("process %d: no control socket in %s (not an nstack process, or its stack "
			"has not started)", (int)only, cli_rundir());
		return 1;
	}
	int rc = 0, first = 1;
	if (json)
		printf("{\"processes\":[");
	for (int i = 0; i < np; i++) {
		char *rep = ctl_ask(pids[i], "stats");
		if (!rep) {
			if (errno != ESRCH || only) {
				cli_err("process %d: %s", (int)pids[i], errno == ESRCH ? "gone" : strerror(errno));
				rc = 1;
			}
			continue;
		}
		char comm[64];
		proc_comm(pids[i], comm, sizeof(comm));
		if (json) {
			printf("%s{\"pid\":%d,\"comm\":", first ? "" : ",", (int)pids[i]);
			json_str(comm);
			printf(",\"counters\":{");
		} else {
			printf("%s#pid %d %s\n", first ? "" : "\n", (int)pids[i], comm);
		}
		first = 0;
		int firstc = 1;
		for (char *save = NULL, *line = strtok_r(rep, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char name[64];
			unsigned long long v;
			if (sscanf(line, "%63s %llu", name, &v) != 2)
				continue;
			if (json) {
				printf("%s\"%s\":%llu", firstc ? "" : ",", name, v);
				firstc = 0;
			} else if (v || all) {
				printf("%-28s %-14llu %s\n", name, v, stat_desc(name));
			}
		}
		if (json)
			printf("}}");
		free(rep);
	}
	if (json)
		printf("]}\n");
	return rc;
}
