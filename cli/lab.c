/* nstack lab up|down [--name N]: a ready-to-use lab in two commands.
 *
 *   netns N (default "nstack")
 *     nst0  TAP, kernel side 198.18.0.1/24 and fd00:198:18::1/64 (kernel peers
 *           listen there)
 *     nstack programs run as 198.18.0.2/24 and fd00:198:18::2/64 on that TAP
 *
 * Built with ip(8), one command at a time, no shell. Only 198.18.0.0/15 (the
 * benchmarking range, RFC 2544) and, for IPv6, the unique-local fd00:198:18::/64
 * (RFC 4193) are used, only inside the namespace; nothing touches the root
 * namespace's interfaces, routes or sysctls. `down` stops what still
 * runs inside the namespace, deletes the TAP and the namespace, and checks
 * that nothing is left.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"

#define LAB_TAP      "nst0"
#define LAB_KADDR    "198.18.0.1"
#define LAB_NADDR    "198.18.0.2"
#define LAB_PREFIX   "24"
#define LAB_KADDR6   "fd00:198:18::1"
#define LAB_NADDR6   "fd00:198:18::2"
#define LAB_PREFIX6  "64"

static const char lab_usage_text[] =
	"usage: nstack lab up|down [--name N]\n"
	"\n"
	"up    create network namespace N (default nstack) holding a TAP device " LAB_TAP "\n"
	"      whose kernel side is " LAB_KADDR "/" LAB_PREFIX " and " LAB_KADDR6 "/" LAB_PREFIX6 ";\n"
	"      programs run under nstack in N as " LAB_NADDR "/" LAB_PREFIX " and\n"
	"      " LAB_NADDR6 "/" LAB_PREFIX6 " on that TAP\n"
	"down  stop the processes still running in N, remove the TAP and the namespace\n"
	"\n"
	"Needs root (CAP_NET_ADMIN). Only 198.18.0.0/15 and fd00:198:18::/64 are used,\n"
	"only inside N.\n";

/* Run argv (ip, sysctl, ...) and wait; its exit status, or -1. quiet: no
 * output from it. */
static int lab_exec(char *const argv[], int quiet)
{
	pid_t pid = fork();
	if (pid < 0) {
		cli_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (quiet) {
			freopen("/dev/null", "w", stdout);
			freopen("/dev/null", "w", stderr);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "nstack: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return cli_wait(pid);
}

#define RUN(...) lab_exec((char *const[]){ __VA_ARGS__, NULL }, 0)
#define RUNQ(...) lab_exec((char *const[]){ __VA_ARGS__, NULL }, 1)

static int netns_exists(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return access(path, F_OK) == 0;
}

/* Namespace names become paths: keep them plain. */
static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 32 || s[0] == '.' || s[0] == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* PIDs running inside netns name (ip netns pids), up to max. */
static int lab_pids(const char *name, pid_t *out, int max)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ip netns pids '%s' 2>/dev/null", name);
	FILE *f = popen(cmd, "r");
	if (!f)
		return 0;
	int n = 0;
	long p;
	while (n < max && fscanf(f, "%ld", &p) == 1)
		out[n++] = (pid_t)p;
	pclose(f);
	return n;
}

static void lab_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static int lab_down(const char *name)
{
	if (!netns_exists(name)) {
		cli_err("lab %s: no such lab (netns %s does not exist)", name, name);
		return 1;
	}
	/* What still runs inside was started in the lab: TERM, then KILL. */
	pid_t pids[256];
	int n = lab_pids(name, pids, 256);
	if (n > 0) {
		printf("stopping %d process%s in netns %s\n", n, n > 1 ? "es" : "", name);
		for (int i = 0; i < n; i++)
			kill(pids[i], SIGTERM);
		for (int t = 0; t < 30 && lab_pids(name, pids, 256) > 0; t++)
			lab_sleep_ms(100);
		n = lab_pids(name, pids, 256);
		for (int i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		for (int t = 0; t < 20 && lab_pids(name, pids, 256) > 0; t++)
			lab_sleep_ms(100);
	}
	/* The TAP first: a device deleted with its namespace could otherwise be
	 * moved to the root namespace instead of destroyed. */
	RUNQ("ip", "-n", (char *)name, "link", "del", LAB_TAP);
	if (RUN("ip", "netns", "del", (char *)name) != 0) {
		cli_err("lab %s: ip netns del failed", name);
		return 1;
	}
	if (netns_exists(name)) {
		cli_err("lab %s: the namespace is still there", name);
		return 1;
	}
	printf("lab %s removed\n", name);
	return 0;
}

static int lab_up(const char *name)
{
	if (geteuid() != 0)
		cli_err("lab %s: creating a network namespace needs root; trying anyway", name);
	if (netns_exists(name)) {
		cli_err("lab %s already exists (remove it with: nstack lab down --name %s)", name, name);
		return 1;
	}
	if (RUN("ip", "netns", "add", (char *)name) != 0) {
		cli_err("lab %s: ip netns add failed", name);
		return 1;
	}
	char *ns = (char *)name;
	int bad = 0;
	/* IPv6 on, in the namespace only (sysctls of a netns are its own), set
	 * before the TAP exists so that it inherits "default": addresses usable
	 * at once (no DAD: the TAP has no carrier until nstack opens it, and a
	 * tentative address would wait for it), no router solicitations (the
	 * kernel side is a host, and nstack no router). A kernel without IPv6
	 * gets an IPv4-only lab. */
	int v6 = access("/proc/sys/net/ipv6", F_OK) == 0;
	if (!v6)
		cli_err("lab %s: this kernel has no IPv6; the lab is IPv4 only", name);
	else if (RUN("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0",
		     "net.ipv6.conf.default.disable_ipv6=0", "net.ipv6.conf.all.accept_dad=0",
		     "net.ipv6.conf.default.accept_dad=0",
		     "net.ipv6.conf.default.router_solicitations=0") != 0) {
		cli_err("lab %s: cannot turn IPv6 on in the namespace; the lab is IPv4 only", name);
		v6 = 0;
	}
	bad |= RUN("ip", "-n", ns, "link", "set", "lo", "up") != 0;
	bad |= !bad && RUN("ip", "-n", ns, "tuntap", "add", "dev", LAB_TAP, "mode", "tap") != 0;
	bad |= !bad && RUN("ip", "-n", ns, "addr", "add", LAB_KADDR "/" LAB_PREFIX, "dev", LAB_TAP) != 0;
	bad |= !bad && v6 && RUN("ip", "-n", ns, "-6", "addr", "add", LAB_KADDR6 "/" LAB_PREFIX6, "dev",
				 LAB_TAP, "nodad") != 0;
	bad |= !bad && RUN("ip", "-n", ns, "link", "set", LAB_TAP, "up") != 0;
	if (bad) {
		cli_err("lab %s: setup failed; removing it", name);
		RUNQ("ip", "-n", ns, "link", "del", LAB_TAP);
		RUNQ("ip", "netns", "del", ns);
		return 1;
	}
	const char *ex = strcmp(name, "nstack") ? " --name " : "";
	const char *exn = strcmp(name, "nstack") ? name : "";
	const char *a6 = v6 ? " --addr6 " LAB_NADDR6 "/" LAB_PREFIX6 : "";
	printf("lab %s is up: netns %s, TAP %s, kernel side %s/%s, nstack side %s/%s\n",
	       name, name, LAB_TAP, LAB_KADDR, LAB_PREFIX, LAB_NADDR, LAB_PREFIX);
	if (v6)
		printf("IPv6: kernel side %s/%s, nstack side %s/%s\n",
		       LAB_KADDR6, LAB_PREFIX6, LAB_NADDR6, LAB_PREFIX6);
	printf("\n"
	       "Start a kernel peer in the lab, then run a program on nstack against it:\n"
	       "  ip netns exec %s python3 -m http.server 8000 --bind %s &\n"
	       "  ip netns exec %s nstack run --if %s --addr %s/%s%s -- curl http://%s:8000/\n"
	       "(the launcher sets LD_PRELOAD and NSTACK_IF=%s NSTACK_ADDR=%s/%s%s%s)\n"
	       "Look inside while it runs:  nstack ss -i    nstack stats\n"
	       "Remove everything:          nstack lab down%s%s\n",
	       name, LAB_KADDR, name, LAB_TAP, LAB_NADDR, LAB_PREFIX, a6, LAB_KADDR,
	       LAB_TAP, LAB_NADDR, LAB_PREFIX, v6 ? " NSTACK_ADDR6=" : "", v6 ? LAB_NADDR6 "/" LAB_PREFIX6 : "",
	       ex, exn);
	return 0;
}

int cmd_lab(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = "nstack";
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hn:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'h': fputs(lab_usage_text, stdout); return 0;
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default:  usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("lab: up or down?");
	if (optind + 1 < argc)
		usage_error("lab: unexpected argument %s", argv[optind + 1]);
	if (!valid_name(name))
		usage_error("--name %s: letters, digits, '-', '_' and '.' only (at most 32)", name);
	if (!strcmp(argv[optind], "up"))
		return lab_up(name);
	if (!strcmp(argv[optind], "down"))
		return lab_down(name);
	usage_error("lab: unknown action %s (up or down)", argv[optind]);
}
