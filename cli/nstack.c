/* nstack: run an unmodified program on the nstack TCP/IP stack, and look
 * inside the programs that do.
 *
 *   nstack run --if IF --addr A/N [--gw G] [--addr6 A6/N] [--gw6 G6] [--mac M]
 *              [--pcap F] [--impair SPEC] [--dev tap|packet|auto] [--log LEVEL]
 *              -- CMD ARGS...
 *   nstack lab up|down [--name N]
 *   nstack ss [-p PID] [-t|-u] [-l|-a] [-i]
 *   nstack stats [-p PID] [-a] [--json]
 *   nstack plot PCAP -o FILE.png
 *
 * `run` checks the configuration, sets NSTACK_* and LD_PRELOAD (libnstack.so
 * next to this binary, or in ../lib once installed, prepended to any
 * LD_PRELOAD already set), then execs CMD. A bad configuration is one line on
 * stderr and exit status 2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cli/cli.h"
#include "config/config.h"

const char *cli_cmd = "";

static const char usage_text[] =
	"usage: nstack run --if IF --addr A.B.C.D/N [options] -- CMD [ARGS...]\n"
	"\n"
	"Run CMD with its AF_INET and AF_INET6 sockets served by nstack, a userspace TCP/IP stack\n"
	"that owns interface IF (a TAP device, or through AF_PACKET any Ethernet\n"
	"interface such as a veth end without the stack's address), or, with --if lo,\n"
	"an in-process loopback serving 127.0.0.0/8.\n"
	"\n"
	"options:\n"
	"  --if IF          interface the stack owns (NSTACK_IF); lo: in-process loopback\n"
	"  --addr A/N       the stack's IPv4 address and prefix (NSTACK_ADDR), not an\n"
	"                   address the kernel has; required unless --if lo\n"
	"  --gw G           default gateway for off-subnet destinations (NSTACK_GW)\n"
	"  --addr6 A/N      the stack's IPv6 address and prefix (NSTACK_ADDR6), global or\n"
	"                   unique-local, e.g. fd00:198:18::2/64; optional (the link-local\n"
	"                   address comes from the MAC); NSTACK_IPV6=0 turns IPv6 off\n"
	"  --gw6 G          IPv6 default router (NSTACK_GW6), usually link-local (fe80::...);\n"
	"                   a global one needs --addr6\n"
	"  --mac M          the stack's MAC, aa:bb:cc:dd:ee:ff (NSTACK_MAC)\n"
	"  --pcap FILE      write every frame sent and received to FILE (NSTACK_PCAP)\n"
	"  --impair SPEC    seeded fault injection on the device (NSTACK_IMPAIR), e.g.\n"
	"                   loss=0.05,dup=0.01,reorder=0.02,corrupt=0.001,delay_us=200,seed=7\n"
	"                   (also jitter_us=N, rate_mbit=R, dir=tx|rx|both; one spec per\n"
	"                   direction: 'loss=0.01,dir=tx;delay_us=500,dir=rx')\n"
	"  --dev KIND       tap, packet or auto (NSTACK_DEV; default auto: tap on a TAP,\n"
	"                   else packet)\n"
	"  --log LEVEL      error, warn, info or debug (NSTACK_LOG; default error)\n"
	"  -h, --help       this text\n"
	"\n"
	"example:\n"
	"  nstack run --if nst0 --addr 198.18.0.2/24 -- curl http://198.18.0.1:8000/\n";

static const char main_usage_text[] =
	"usage: nstack COMMAND [ARGS...]\n"
	"\n"
	"nstack is a userspace TCP/IP stack that unmodified programs use through\n"
	"LD_PRELOAD. Commands:\n"
	"  run    run a program with its AF_INET and AF_INET6 sockets on nstack\n"
	"  lab    create or remove a ready-to-use lab (network namespace + TAP)\n"
	"  ss     the sockets of running nstack processes, like ss(8)\n"
	"  stats  the counters of running nstack processes, like nstat(8)\n"
	"  plot   a time-sequence graph of a TCP connection in a pcap file\n"
	"\n"
	"'nstack COMMAND --help' describes each; see also nstack(1), libnstack(7).\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nstack: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (*cli_cmd)
		fprintf(stderr, "\nTry 'nstack %s --help'.\n", cli_cmd);
	else
		fputs("\nTry 'nstack --help'.\n", stderr);
	va_end(ap);
	exit(EXIT_USAGE);
}

void cli_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nstack: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

const char *cli_rundir(void)
{
	const char *d = getenv("NSTACK_RUNDIR");
	return d && *d ? d : "/run/nstack";
}

int cli_wait(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* AF_PACKET shares the interface with the kernel's own IP layer: it must be
 * up, and must not have the stack's address (the kernel would answer ARP
 * for it and reset our connections). A message for stderr, or NULL. */
static const char *packet_if_problem(const char *ifname, const char *addr, char *msg, size_t size)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
		close(fd);
		snprintf(msg, size, "interface %s is down (ip link set %s up)", ifname, ifname);
		return msg;
	}
	memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
	r = ioctl(fd, SIOCGIFADDR, &ifr);       /* the primary IPv4 address, if any */
	close(fd);
	if (r < 0 || !addr)
		return NULL;
	char a[INET_ADDRSTRLEN];
	const char *slash = strchr(addr, '/');
	size_t n = slash ? (size_t)(slash - addr) : strlen(addr);
	if (n >= sizeof(a))
		return NULL;
	memcpy(a, addr, n);
	a[n] = 0;
	struct in_addr ours, kern = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
	if (inet_pton(AF_INET, a, &ours) == 1 && ours.s_addr == kern.s_addr) {
		snprintf(msg, size, "interface %s: the kernel has %s on it; nstack's address must "
			 "not be the kernel's (ip addr del %s dev %s)", ifname, a, addr, ifname);
		return msg;
	}
	return NULL;
}

/* The same for IPv6: does the kernel have addr6 (16 bytes) on ifname?
 * /proc/net/if_inet6 lists the addresses of the reader's netns, one a line:
 * 32 hex digits, index, prefix length, scope, flags, name. */
static const char *packet_if_problem6(const char *ifname, const char *addr6, const uint8_t a6[16],
				      char *msg, size_t size)
{
	FILE *f = fopen("/proc/net/if_inet6", "re");
	if (!f)
		return NULL;
	char hex[33], name[IF_NAMESIZE + 1];
	unsigned idx, plen, scope, flags;
	const char *r = NULL;
	while (!r && fscanf(f, "%32s %x %x %x %x %16s", hex, &idx, &plen, &scope, &flags, name) == 6) {
		uint8_t k[16];
		unsigned v;
		int i;
		for (i = 0; i < 16 && sscanf(hex + 2 * i, "%2x", &v) == 1; i++)
			k[i] = (uint8_t)v;
		if (i == 16 && !strcmp(name, ifname) && !memcmp(k, a6, 16)) {
			snprintf(msg, size, "interface %s: the kernel has %s on it; nstack's address must "
				 "not be the kernel's (ip addr del %s dev %s)", ifname, addr6, addr6, ifname);
			r = msg;
		}
	}
	fclose(f);
	return r;
}

/* libnstack.so in the directory of this executable. */
static void find_library(char *out, size_t size)  /* size >= PATH_MAX */
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "nstack: cannot find my own path: %s\n", strerror(errno));
		exit(EXIT_USAGE);
	}
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	*slash = 0;
	/* Next to us (the build tree), or installed: PREFIX/bin/nstack and
	 * PREFIX/lib/libnstack.so (make install). */
	static const char *const where[] = { "%s/libnstack.so", "%s/../lib/libnstack.so" };
	char cand[PATH_MAX + 32];
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(cand, sizeof(cand), where[i], exe);
		if (access(cand, R_OK) == 0 && realpath(cand, out) && strlen(out) < size)
			return;
	}
	snprintf(cand, sizeof(cand), where[0], exe);
	fprintf(stderr, "nstack: %s: %s\n", cand, strerror(ENOENT));
	exit(EXIT_USAGE);
}

static void set_or_unset(const char *name, const char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

int cmd_run(int argc, char **argv)
{
	enum { O_IF = 1, O_ADDR, O_GW, O_ADDR6, O_GW6, O_MAC, O_PCAP, O_DEV, O_LOG, O_IMPAIR };
	static const struct option opts[] = {
		{ "if",   required_argument, NULL, O_IF },
		{ "addr", required_argument, NULL, O_ADDR },
		{ "gw",   required_argument, NULL, O_GW },
		{ "addr6", required_argument, NULL, O_ADDR6 },
		{ "gw6",  required_argument, NULL, O_GW6 },
		{ "mac",  required_argument, NULL, O_MAC },
		{ "pcap", required_argument, NULL, O_PCAP },
		{ "dev",  required_argument, NULL, O_DEV },
		{ "log",  required_argument, NULL, O_LOG },
		{ "impair", required_argument, NULL, O_IMPAIR },
		{ "help", no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ifname = NULL, *addr = NULL, *gw = NULL, *mac = NULL;
	const char *addr6 = NULL, *gw6 = NULL;
	const char *pcap = NULL, *dev = NULL, *log = NULL, *impair = NULL;

	opterr = 0;
	optind = 1;
	int c;
	/* "+": stop at the first non-option, CMD's own options are not ours */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case O_IF:   ifname = optarg; break;
		case O_ADDR: addr = optarg; break;
		case O_GW:   gw = optarg; break;
		case O_ADDR6: addr6 = optarg; break;
		case O_GW6:  gw6 = optarg; break;
		case O_MAC:  mac = optarg; break;
		case O_PCAP: pcap = optarg; break;
		case O_DEV:  dev = optarg; break;
		case O_LOG:  log = optarg; break;
		case O_IMPAIR: impair = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			usage_error("option %s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option -%c", optopt);
			usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (!ifname || !*ifname)
		usage_error("--if is required");
	if (strlen(ifname) >= IF_NAMESIZE)
		usage_error("interface %s: name too long", ifname);
	int lo = !strcmp(ifname, "lo");
	if (!addr && !lo)
		usage_error("--addr is required (e.g. --addr 198.18.0.2/24)");
	uint32_t a;
	uint8_t plen, m[6];
	if (addr && nst_cfg_cidr(addr, &a, &plen) < 0)
		usage_error("--addr %s: expected an IPv4 address and prefix, A.B.C.D/N", addr);
	if (gw && nst_cfg_ipv4(gw, &a) < 0)
		usage_error("--gw %s: not an IPv4 address", gw);
	/* the library's rules (config_ipv6) */
	uint8_t a6[16], g6[16];
	uint8_t plen6 = 0;
	const char *why;
	if (addr6 && nst_cfg_cidr6(addr6, a6, &plen6, &why) < 0)
		usage_error("--addr6 %s: %s", addr6, why);
	if (gw6 && nst_cfg_gw6(gw6, g6, &why) < 0)
		usage_error("--gw6 %s: %s", gw6, why);
	if (gw6 && !addr6 && !nst_cfg_ipv6_linklocal(g6))
		usage_error("--gw6 %s: a global gateway needs --addr6 (without it only a link-local "
			    "one, fe80::/10)", gw6);
	if (gw6 && addr6 && !memcmp(a6, g6, 16))
		usage_error("--gw6 %s: the stack's own address (--addr6)", gw6);
	if (mac && nst_cfg_mac(mac, m) < 0)
		usage_error("--mac %s: expected a unicast MAC, aa:bb:cc:dd:ee:ff", mac);
	int kind = dev ? nst_cfg_dev_kind(dev) : SHIM_DEV_AUTO;
	if (kind < 0)
		usage_error("--dev %s: expected tap, packet or auto", dev);
	if (log && nst_cfg_log_level(log) < 0)
		usage_error("--log %s: expected error, warn, info or debug", log);
	if (impair) {
		struct impair_spec tx, rx;
		char bad[64];
		if (impair_parse_dirs(impair, &tx, &rx, bad, sizeof(bad)) < 0)
			usage_error("--impair: bad item '%s' (expected loss=P,dup=P,reorder=P,corrupt=P,"
				    "delay_us=N,jitter_us=N,rate_mbit=R,seed=N,dir=both|tx|rx, parts "
				    "separated by ';')", bad);
	}
	if (optind >= argc)
		usage_error("no command to run (nstack run [options] -- CMD [ARGS...])");
	if (!lo && if_nametoindex(ifname) == 0) {
		int e = errno == ENXIO ? ENODEV : errno;
		fprintf(stderr, "nstack: interface %s: %s\n", ifname, strerror(e));
		return EXIT_USAGE;
	}
	/* --dev auto: the TAP backend on a TAP, AF_PACKET on anything else
	 * (-1: cannot tell; the library decides) */
	int tap = lo ? 0 : nst_cfg_if_is_tap(ifname);
	if (!lo && kind == SHIM_DEV_TAP && tap == 0) {
		fprintf(stderr, "nstack: interface %s: not a TAP device (--dev packet or auto for AF_PACKET)\n", ifname);
		return EXIT_USAGE;
	}
	if (!lo && (kind == SHIM_DEV_PACKET || (kind == SHIM_DEV_AUTO && tap == 0))) {
		char msg[256];
		if (packet_if_problem(ifname, addr, msg, sizeof(msg)) ||
		    (addr6 && packet_if_problem6(ifname, addr6, a6, msg, sizeof(msg)))) {
			fprintf(stderr, "nstack: %s\n", msg);
			return EXIT_USAGE;
		}
	}

	char lib[PATH_MAX];
	find_library(lib, sizeof(lib));
	const char *old = getenv("LD_PRELOAD");
	if (old && *old) {
		size_t n = strlen(lib) + strlen(old) + 2;
		char *both = malloc(n);
		if (!both) {
			perror("nstack");
			return EXIT_USAGE;
		}
		snprintf(both, n, "%s:%s", lib, old);
		setenv("LD_PRELOAD", both, 1);
		free(both);
	} else {
		setenv("LD_PRELOAD", lib, 1);
	}

	/* The command line is the whole configuration: options not given are
	 * unset (NSTACK_LOG, NSTACK_IMPAIR and NSTACK_IPV6 may still come from
	 * outside). */
	setenv("NSTACK_IF", ifname, 1);
	set_or_unset("NSTACK_ADDR", addr);
	set_or_unset("NSTACK_GW", gw);
	set_or_unset("NSTACK_ADDR6", addr6);
	set_or_unset("NSTACK_GW6", gw6);
	set_or_unset("NSTACK_MAC", mac);
	set_or_unset("NSTACK_PCAP", pcap);
	set_or_unset("NSTACK_DEV", dev);
	if (log)
		setenv("NSTACK_LOG", log, 1);
	if (impair)
		setenv("NSTACK_IMPAIR", impair, 1);

	execvp(argv[optind], argv + optind);
	int e = errno;
	fprintf(stderr, "nstack: %s: %s\n", argv[optind], strerror(e));
	return e == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "run", cmd_run }, { "lab", cmd_lab }, { "ss", cmd_ss },
		{ "stats", cmd_stats }, { "plot", cmd_plot },
	};
	if (argc < 2)
		usage_error("missing command (run, lab, ss, stats, plot)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(main_usage_text, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name)) {
			cli_cmd = cmds[i].name;
			return cmds[i].fn(argc - 1, argv + 1);
		}
	usage_error("unknown command %s (run, lab, ss, stats, plot)", argv[1]);
}
