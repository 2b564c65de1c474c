/* Threads on shared sockets, run on the kernel and under nstack
 * (tests/e2e/posix_threads.bats); the outputs must be equal line for line.
 *
 *   posix_threads ADDR PORT
 *
 *   duplex:  4 threads on one connected pair: each end sends 8 MB and receives 8 MB at the
 *            same time, from two threads per socket; the bytes arrive intact
 *   records: 2 threads send 2000 records of 100 bytes each on one socket at once; a
 *            receiver checks that every record is whole (a send of 100 bytes is atomic)
 *   close:   a thread blocked in recv, or in accept, while another thread closes that fd:
 *            no crash, no hang (each blocked call has a 1 s socket timeout as a bound; the
 *            kernel keeps the socket until the call returns, nstack wakes it with EBADF at
 *            once: the line shows only that it returned in time)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DUPLEX_BYTES (8u << 20)
#define RECORDS      2000
#define RECLEN       100

static struct sockaddr_in sa;

static void die(const char *what)
{
	printf("FATAL %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint8_t pat(uint32_t i, uint32_t seed)
{
	return (uint8_t)((i * 2654435761u) >> 13 ^ seed);
}

struct xfer { int fd; uint32_t seed; int ok; };

static void *sender(void *arg)
{
	struct xfer *x = arg;
	static __thread uint8_t buf[65536];
	uint32_t off = 0;
	while (off < DUPLEX_BYTES) {
		uint32_t n = DUPLEX_BYTES - off < sizeof(buf) ? DUPLEX_BYTES - off : sizeof(buf);
		for (uint32_t i = 0; i < n; i++)
			buf[i] = pat(off + i, x->seed);
		ssize_t r = send(x->fd, buf, n, 0);
		if (r <= 0)
			return NULL;
		off += (uint32_t)r;
	}
	x->ok = 1;
	return NULL;
}

static void *receiver(void *arg)
{
	struct xfer *x = arg;
	static __thread uint8_t buf[65536];
	uint32_t off = 0;
	int good = 1;
	while (off < DUPLEX_BYTES) {
		ssize_t r = recv(x->fd, buf, sizeof(buf), 0);
		if (r <= 0)
			return NULL;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pat(off + (uint32_t)i, x->seed))
				good = 0;
		off += (uint32_t)r;
	}
	x->ok = good;
	return NULL;
}

struct rec { int fd; int id; };

static void *rec_sender(void *arg)
{
	struct rec *r = arg;
	char b[RECLEN];
	for (int i = 0; i < RECORDS; i++) {
		memset(b, 'A' + r->id, sizeof(b));
		memcpy(b, &i, sizeof(i));
		if (send(r->fd, b, sizeof(b), 0) != RECLEN)
			break;
	}
	return NULL;
}

struct blocked { int fd; int accept; uint64_t took_ms; };

static void *block_call(void *arg)
{
	struct blocked *b = arg;
	char c[16];
	uint64_t t0 = now_ms();
	if (b->accept)
		accept(b->fd, NULL, NULL);
	else
		recv(b->fd, c, sizeof(c), 0);
	b->took_ms = now_ms() - t0;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &sa.sin_addr);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 8) < 0)
		die("listen");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	int a = accept(l, NULL, NULL);
	if (a < 0)
		die("accept");

	/* duplex */
	struct xfer xs[4] = { { c, 1, 0 }, { a, 1, 0 }, { a, 2, 0 }, { c, 2, 0 } };
	pthread_t th[4];
	pthread_create(&th[0], NULL, sender, &xs[0]);
	pthread_create(&th[1], NULL, receiver, &xs[1]);
	pthread_create(&th[2], NULL, sender, &xs[2]);
	pthread_create(&th[3], NULL, receiver, &xs[3]);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("duplex c->a: sent %s, received %s\n", xs[0].ok ? "all" : "NOT all", xs[1].ok ? "intact" : "BROKEN");
	printf("duplex a->c: sent %s, received %s\n", xs[2].ok ? "all" : "NOT all", xs[3].ok ? "intact" : "BROKEN");

	/* records from two threads on one socket */
	struct rec rs[2] = { { c, 0 }, { c, 1 } };
	pthread_create(&th[0], NULL, rec_sender, &rs[0]);
	pthread_create(&th[1], NULL, rec_sender, &rs[1]);
	int whole = 0, next[2] = { 0, 0 }, ordered = 1;
	for (int n = 0; n < 2 * RECORDS; n++) {
		char b[RECLEN];
		if (recv(a, b, sizeof(b), MSG_WAITALL) != RECLEN)
			break;
		int id = b[RECLEN - 1] - 'A', seq;
		memcpy(&seq, b, sizeof(seq));
		int ok = id == 0 || id == 1;
		for (int i = sizeof(seq); ok && i < RECLEN; i++)
			ok = b[i] == 'A' + id;
		if (ok) {
			whole++;
			if (seq != next[id])
				ordered = 0;
			next[id] = seq + 1;
		}
	}
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	printf("records: %d of %d whole, each sender's in order: %s\n", whole, 2 * RECORDS, ordered ? "yes" : "no");

	/* close while another thread is blocked on the fd */
	struct timeval tv = { 1, 0 };
	setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct blocked br = { a, 0, 0 };
	pthread_create(&th[0], NULL, block_call, &br);
	usleep(100000);
	close(a);
	pthread_join(th[0], NULL);
	printf("recv blocked while its fd was closed: returned %s\n", br.took_ms < 3000 ? "in time" : "LATE");
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct blocked ba = { l, 1, 0 };
	pthread_create(&th[0], NULL, block_call, &ba);
	usleep(100000);
	close(l);
	pthread_join(th[0], NULL);
	printf("accept blocked while its fd was closed: returned %s\n", ba.took_ms < 3000 ? "in time" : "LATE");
	close(c);
	printf("done\n");
	return 0;
}
