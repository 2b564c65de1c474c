/* fork, exec and exit with sockets open (tests/e2e/posix_proc.bats), against the kernel
 * echo peer tests/e2e/posix_peer.py:
 *
 *   posix_proc fork ADDR PORT       send "before|", fork; the child closes its inherited
 *                                   copy of the socket and exits; the parent then sends
 *                                   "after|", half-closes and prints the echo to EOF. The
 *                                   child's close must not end the connection on the wire.
 *   posix_proc cloexec              two AF_INET sockets, one SOCK_CLOEXEC; exec self
 *                                   ("fds A B") and print which of the two fds survived
 *   posix_proc threads-exit ADDR PORT N
 *                                   N connections, each with a thread blocked in recv on
 *                                   it; the main thread calls exit(0): the process ends at
 *                                   once and every connection ends on the wire (the peer
 *                                   logs N ends)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sockaddr_in sa;

static void die(const char *what)
{
	printf("FATAL %s: %s\n", what, strerror(errno));
	exit(1);
}

static int dial(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	return s;
}

static int do_fork(void)
{
	int s = dial();
	if (send(s, "before|", 7, 0) != 7)
		die("send before");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		/* the child: its copy is close-only; closing it leaves the
		 * connection alone (the parent still has it) */
		close(s);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	usleep(200000);
	if (send(s, "after|", 6, 0) != 6)
		die("send after");
	shutdown(s, SHUT_WR);
	char b[64] = { 0 };
	size_t got = 0;
	for (;;) {
		ssize_t r = recv(s, b + got, sizeof(b) - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	printf("echo: '%s'\n", b);
	close(s);
	return 0;
}

static int do_cloexec(const char *self)
{
	int a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int b = socket(AF_INET, SOCK_STREAM, 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	fcntl(c, F_SETFD, FD_CLOEXEC);
	char as[16], bs[16], cs[16];
	snprintf(as, sizeof(as), "%d", a);
	snprintf(bs, sizeof(bs), "%d", b);
	snprintf(cs, sizeof(cs), "%d", c);
	execl(self, self, "fds", as, bs, cs, (char *)NULL);
	die("exec");
	return 1;
}

static int do_fds(int argc, char **argv)
{
	const char *name[] = { "SOCK_CLOEXEC", "no cloexec", "F_SETFD FD_CLOEXEC" };
	for (int i = 2; i < argc && i < 5; i++)
		printf("after exec, fd with %s: %s\n", name[i - 2],
		       fcntl(atoi(argv[i]), F_GETFD) >= 0 ? "open" : "closed");
	return 0;
}

static void *block_recv(void *arg)
{
	int s = (int)(long)arg;
	char b[16];
	recv(s, b, sizeof(b), 0);
	return NULL;
}

static int do_threads_exit(int n)
{
	for (int i = 0; i < n; i++) {
		int s = dial();
		char m[16];
		int len = snprintf(m, sizeof(m), "thread %d|", i);
		send(s, m, (size_t)len, 0);
		pthread_t t;
		pthread_create(&t, NULL, block_recv, (void *)(long)s);
	}
	usleep(300000);
	printf("exiting with %d threads blocked in recv\n", n);
	fflush(stdout);
	exit(0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "fds"))
		return do_fds(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "cloexec"))
		return do_cloexec(argv[0]);
	if (argc < 4)
		return 2;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1)
		return 2;
	if (!strcmp(argv[1], "fork"))
		return do_fork();
	if (!strcmp(argv[1], "threads-exit"))
		return do_threads_exit(argc > 4 ? atoi(argv[4]) : 3);
	return 2;
}
