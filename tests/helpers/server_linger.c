/* server_linger MODE PORT: accept one connection on PORT and close it the SO_LINGER way;
 * print what close did, in lines that must be equal on the kernel and under nstack
 * (tests/e2e/server_linger.bats). The client (a kernel python in the lab) starts reading
 * only after 2.5 s, with a 4 KB receive buffer.
 *   linger   SO_LINGER {1, 10}: write 200 KB, close: returns 0, and only once the client
 *            has read (write + close take >= 0.8 s, either may be the one that blocks)
 *   timeout  SO_LINGER {1, 1}: fill the buffers (non-blocking writes to EAGAIN), close:
 *            returns 0 after the linger time, 0.8 .. 3 s
 *   zero     SO_LINGER {1, 0}: write 100 bytes, close: RST (the client reports it)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s linger|timeout|zero PORT\n", argv[0]);
		return 2;
	}
	const char *mode = argv[1];
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0) {
		perror("bind/listen");
		return 1;
	}
	int c = accept(l, NULL, NULL);
	if (c < 0) {
		perror("accept");
		return 1;
	}
	double t0 = now_s();
	static char buf[200 * 1024];
	memset(buf, 'x', sizeof(buf));
	struct linger lg = { 1, 10 };
	if (!strcmp(mode, "timeout"))
		lg.l_linger = 1;
	else if (!strcmp(mode, "zero"))
		lg.l_linger = 0;
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	size_t sent = 0;
	if (!strcmp(mode, "linger")) {
		while (sent < sizeof(buf)) {
			ssize_t n = write(c, buf + sent, sizeof(buf) - sent);
			if (n <= 0) {
				perror("write");
				return 1;
			}
			sent += (size_t)n;
		}
	} else if (!strcmp(mode, "timeout")) {
		fcntl(c, F_SETFL, O_NONBLOCK);
		for (;;) {
			ssize_t n = write(c, buf, sizeof(buf));
			if (n < 0 && errno == EAGAIN)
				break;
			if (n <= 0) {
				perror("write");
				return 1;
			}
			sent += (size_t)n;
		}
		printf("buffers filled: %s\n", sent > 8192 ? "yes" : "no");   /* writes met EAGAIN */
	} else {
		if (write(c, buf, 100) != 100) {
			perror("write");
			return 1;
		}
	}
	double tc = now_s();
	int r = close(c);
	double t1 = now_s();
	printf("close: %d\n", r);
	if (!strcmp(mode, "linger"))
		printf("write+close took >= 0.8 s: %s\n", t1 - t0 >= 0.8 ? "yes" : "no");
	if (!strcmp(mode, "timeout"))
		printf("close blocked for the linger time: %s\n",
		       t1 - tc >= 0.8 && t1 - tc < 3 ? "yes" : "no");
	if (!strcmp(mode, "zero"))
		printf("close did not block: %s\n", t1 - tc < 0.5 ? "yes" : "no");
	fflush(stdout);
	close(l);
	return 0;
}
