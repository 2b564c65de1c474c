/* connrate: short-connection rate, for bench/run.sh.
 *
 *   connrate client ADDR PORT SECONDS   connect, send 8 bytes, read the 8-byte
 *                                       reply, close; as fast as it can, one
 *                                       connection at a time, for SECONDS;
 *                                       prints "conn/s N connections M errors E"
 *   connrate server ADDR PORT           accept, read 8 bytes, write them back,
 *                                       close (the server closes first, as an
 *                                       HTTP/1.0 server does); prints
 *                                       "listening" once bound, runs until killed
 *
 * The client stops after SECONDS or at the first 100 consecutive errors. A
 * failed connection counts as an error, not as a connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_LEN     8
#define MAX_ERRRUN  100

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *a, const char *p, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)atoi(p));
	return inet_pton(AF_INET, a, &sa->sin_addr) == 1 ? 0 : -1;
}

/* Read exactly n bytes: 0, or -1 on error or early EOF. */
static int read_full(int fd, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* One connection: 0 when the whole exchange succeeded. */
static int one_conn(const struct sockaddr_in *sa)
{
	char out[MSG_LEN] = "connrate", in[MSG_LEN];
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok = -1;
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 &&
	    write(fd, out, MSG_LEN) == MSG_LEN && read_full(fd, in, MSG_LEN) == 0 &&
	    !memcmp(in, out, MSG_LEN))
		ok = 0;
	close(fd);
	return ok;
}

static int client(const struct sockaddr_in *sa, double secs)
{
	long conns = 0, errs = 0, errrun = 0;
	double t0 = now_s(), t = t0;
	while (t - t0 < secs && errrun < MAX_ERRRUN) {
		if (one_conn(sa) == 0) {
			conns++;
			errrun = 0;
		} else {
			errs++;
			errrun++;
		}
		t = now_s();
	}
	printf("conn/s %.1f connections %ld errors %ld\n", conns / (t - t0), conns, errs);
	return conns > 0 ? 0 : 1;
}

static int server(const struct sockaddr_in *sa)
{
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(lfd, 1024) < 0) {
		perror("connrate server");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		char buf[MSG_LEN];
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("accept");
			return 1;
		}
		if (read_full(fd, buf, MSG_LEN) == 0)
			(void)!write(fd, buf, MSG_LEN);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && !strcmp(argv[1], "client") && parse_addr(argv[2], argv[3], &sa) == 0)
		return client(&sa, atof(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "server") && parse_addr(argv[2], argv[3], &sa) == 0)
		return server(&sa);
	fprintf(stderr, "usage: connrate client ADDR PORT SECONDS | connrate server ADDR PORT\n");
	return 2;
}
