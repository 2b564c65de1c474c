/* server_errors OWN OTHER PEER PORTBASE: the errors and results a server sees from bind,
 * listen, accept and the socket-buffer options, one line per check. Run once on the kernel
 * and once under nstack (tests/e2e/server_errors.bats); the two outputs must be identical.
 *
 *   OWN       an address this host owns (the kernel's veth address, or the stack's)
 *   OTHER     an address on the same subnet that nobody here owns
 *   PEER      a kernel host running tests/e2e/server_peer.py on port 7000
 *   PORTBASE  first of the ~20 local ports the checks bind
 *
 * Lines never contain addresses or port numbers, only what must be equal on both sides:
 * "name: ok", "name: EADDRINUSE", "name: 8192" ...
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t own, other, peer;
static int portbase;

static void res(const char *name, int r)
{
	if (r < 0)
		printf("%s: %s\n", name, strerrorname_np(errno));
	else
		printf("%s: ok\n", name);
	fflush(stdout);
}

static void val(const char *name, long v)
{
	printf("%s: %ld\n", name, v);
	fflush(stdout);
}

static struct sockaddr_in sin_of(uint32_t a, int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	s.sin_addr.s_addr = a;
	return s;
}

static int tcp(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("socket");
		exit(2);
	}
	return fd;
}

static int set_int(int fd, int name, int v)
{
	return setsockopt(fd, SOL_SOCKET, name, &v, sizeof(v));
}

static int get_int(int fd, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, name, &v, &l) < 0)
		return -errno;
	return v;
}

static int bind_to(int fd, uint32_t a, int port)
{
	struct sockaddr_in s = sin_of(a, port);
	return bind(fd, (struct sockaddr *)&s, sizeof(s));
}

/* A socket connected to the peer's port 7000, the line cmd sent. -1 on failure. */
static int to_peer(const char *cmd)
{
	int fd = tcp();
	struct sockaddr_in s = sin_of(peer, 7000);
	if (connect(fd, (struct sockaddr *)&s, sizeof(s)) < 0) {
		perror("connect to peer");
		close(fd);
		return -1;
	}
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		perror("write to peer");
		close(fd);
		return -1;
	}
	return fd;
}

/* Our side closes first and takes the FIN handshake to TIME-WAIT: FIN, then read
 * to the peer's FIN (the peer closes at EOF), then close. */
static void close_to_time_wait(int fd)
{
	char b[64];
	shutdown(fd, SHUT_WR);
	while (read(fd, b, sizeof(b)) > 0)
		;
	close(fd);
}

/* getsockname: "any" / "own" for the address; the port "same" as want, or whether
 * it is an ephemeral one (32768..60999, Linux's default range). */
static void name_of(const char *name, int fd, int want_port)
{
	struct sockaddr_in s;
	socklen_t l = sizeof(s);
	if (getsockname(fd, (struct sockaddr *)&s, &l) < 0) {
		res(name, -1);
		return;
	}
	int port = ntohs(s.sin_port);
	printf("%s: len %u family %d addr %s port %s\n", name, (unsigned)l, s.sin_family,
	       s.sin_addr.s_addr == 0 ? "any" : s.sin_addr.s_addr == own ? "own" : "other",
	       want_port ? (port == want_port ? "same" : "different")
			 : (port >= 32768 && port <= 60999 ? "ephemeral" : "outside-range"));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s OWN OTHER PEER PORTBASE\n", argv[0]);
		return 2;
	}
	own = inet_addr(argv[1]);
	other = inet_addr(argv[2]);
	peer = inet_addr(argv[3]);
	portbase = atoi(argv[4]);
	int P = portbase, a, b, c, d, r;

	/* ---- bind: addresses and ports ---- */
	a = tcp();
	res("bind any:0", bind_to(a, INADDR_ANY, 0));
	name_of("bind any:0 name", a, 0);
	res("bind twice", bind_to(a, INADDR_ANY, P));
	close(a);

	a = tcp();
	res("bind own:P", bind_to(a, own, P));
	name_of("bind own:P name", a, P);
	b = tcp();
	res("bind own:P again", bind_to(b, own, P));
	res("bind any:P over own:P", bind_to(b, INADDR_ANY, P));
	close(b);
	b = tcp();
	set_int(a, SO_REUSEADDR, 1);
	set_int(b, SO_REUSEADDR, 1);
	res("bind own:P again, both SO_REUSEADDR", bind_to(b, own, P));
	res("listen first", listen(a, 5));
	res("listen second on the same port", listen(b, 5));
	close(b);
	b = tcp();
	set_int(b, SO_REUSEADDR, 1);
	res("bind own:P while it listens, SO_REUSEADDR", bind_to(b, own, P));
	close(b);
	close(a);
	a = tcp();
	res("bind own:P after the listener closed", bind_to(a, own, P));
	close(a);

	a = tcp();
	res("bind any:P+1", bind_to(a, INADDR_ANY, P + 1));
	b = tcp();
	res("bind own:P+1 over any:P+1", bind_to(b, own, P + 1));
	close(a);
	close(b);

	a = tcp();
	res("bind other", bind_to(a, other, P + 2));
	close(a);
	a = tcp();
	{
		struct sockaddr_in s = sin_of(INADDR_ANY, P + 3);
		s.sin_family = AF_UNSPEC;
		res("bind AF_UNSPEC any", bind(a, (struct sockaddr *)&s, sizeof(s)));
		close(a);
		a = tcp();
		s = sin_of(own, P + 3);
		s.sin_family = AF_UNSPEC;
		res("bind AF_UNSPEC own", bind(a, (struct sockaddr *)&s, sizeof(s)));
		s.sin_family = AF_INET;
		res("bind short addrlen", bind(a, (struct sockaddr *)&s, sizeof(s) - 2));
		close(a);
	}

	/* SO_REUSEPORT on both: Linux lets the second bind and listen too */
	a = tcp();
	b = tcp();
	set_int(a, SO_REUSEPORT, 1);
	set_int(b, SO_REUSEPORT, 1);
	val("SO_REUSEPORT get", get_int(a, SO_REUSEPORT));
	res("reuseport bind first", bind_to(a, INADDR_ANY, P + 4));
	res("reuseport bind second", bind_to(b, INADDR_ANY, P + 4));
	res("reuseport listen first", listen(a, 5));
	res("reuseport listen second", listen(b, 5));
	close(a);
	close(b);

	/* ---- listen and accept ---- */
	a = tcp();
	res("accept unbound", accept(a, NULL, NULL));
	res("bind own:P+5", bind_to(a, own, P + 5));
	res("accept bound, not listening", accept(a, NULL, NULL));
	res("listen negative backlog", listen(a, -1));
	res("listen again", listen(a, 10));
	res("bind after listen", bind_to(a, own, P + 6));
	val("SO_ACCEPTCONN", get_int(a, SO_ACCEPTCONN));
	res("getpeername on a listener", getpeername(a, &(struct sockaddr){ 0 }, &(socklen_t){ sizeof(struct sockaddr) }));
	fcntl(a, F_SETFL, O_NONBLOCK);
	res("accept nonblocking, nothing pending", accept(a, NULL, NULL));
	res("accept4 bad flags", accept4(a, NULL, NULL, 0x1234));
	{
		struct sockaddr_in s = sin_of(peer, 7000);
		res("connect on a listener", connect(a, (struct sockaddr *)&s, sizeof(s)));
	}
	res("shutdown SHUT_WR on a listener", shutdown(a, SHUT_WR));
	res("shutdown SHUT_RD on a listener", shutdown(a, SHUT_RD));
	res("accept after SHUT_RD", accept(a, NULL, NULL));
	val("SO_ACCEPTCONN after SHUT_RD", get_int(a, SO_ACCEPTCONN));
	res("listen again after SHUT_RD", listen(a, 10));
	close(a);

	a = tcp();
	res("listen unbound", listen(a, 5));
	name_of("listen unbound name", a, 0);
	close(a);

	c = to_peer("HOLD\n");
	if (c >= 0) {
		res("listen on a connected socket", listen(c, 5));
		res("accept on a connected socket", accept(c, NULL, NULL));
		res("bind a connected socket", bind_to(c, own, P + 7));
		close_to_time_wait(c);
	}

	/* ---- TIME-WAIT holds the port (active close) ---- */
	for (int reuse = 0; reuse < 2; reuse++) {
		int port = P + 8 + reuse;
		char n[96];
		c = tcp();
		if (reuse)
			set_int(c, SO_REUSEADDR, 1);
		bind_to(c, own, port);
		struct sockaddr_in s = sin_of(peer, 7000);
		if (connect(c, (struct sockaddr *)&s, sizeof(s)) < 0 || write(c, "HOLD\n", 5) != 5) {
			res("connect to peer", -1);
			close(c);
			continue;
		}
		close_to_time_wait(c);
		d = tcp();
		snprintf(n, sizeof(n), "TIME-WAIT(reuse=%d): bind", reuse);
		res(n, bind_to(d, own, port));
		close(d);
		d = tcp();
		set_int(d, SO_REUSEADDR, 1);
		snprintf(n, sizeof(n), "TIME-WAIT(reuse=%d): bind with SO_REUSEADDR", reuse);
		r = bind_to(d, own, port);
		res(n, r);
		if (r == 0) {
			snprintf(n, sizeof(n), "TIME-WAIT(reuse=%d): listen with SO_REUSEADDR", reuse);
			res(n, listen(d, 5));
		}
		close(d);
	}

	/* ---- server restart: an accepted connection we closed first, in TIME-WAIT ---- */
	for (int reuse = 0; reuse < 2; reuse++) {
		int port = P + 10 + reuse;
		char n[96], cmd[32];
		a = tcp();
		if (reuse)
			set_int(a, SO_REUSEADDR, 1);
		if (bind_to(a, own, port) < 0 || listen(a, 5) < 0) {
			res("server listen", -1);
			close(a);
			continue;
		}
		snprintf(cmd, sizeof(cmd), "BACK %d\n", port);
		c = to_peer(cmd);
		struct sockaddr_in s;
		socklen_t l = sizeof(s);
		b = accept(a, (struct sockaddr *)&s, &l);
		snprintf(n, sizeof(n), "restart(reuse=%d): accept", reuse);
		res(n, b);
		if (b >= 0) {
			printf("restart(reuse=%d): accept addr len %u family %d\n", reuse, (unsigned)l,
			       s.sin_family);
			snprintf(n, sizeof(n), "restart(reuse=%d): accepted name", reuse);
			name_of(n, b, port);
			val("accepted SO_REUSEADDR", get_int(b, SO_REUSEADDR));
			val("accepted SO_ACCEPTCONN", get_int(b, SO_ACCEPTCONN));
			close(a);
			close_to_time_wait(b);
		} else {
			close(a);
		}
		if (c >= 0)
			close_to_time_wait(c);
		d = tcp();
		snprintf(n, sizeof(n), "restart(reuse=%d): bind", reuse);
		res(n, bind_to(d, INADDR_ANY, port));
		close(d);
		d = tcp();
		set_int(d, SO_REUSEADDR, 1);
		snprintf(n, sizeof(n), "restart(reuse=%d): bind with SO_REUSEADDR", reuse);
		r = bind_to(d, INADDR_ANY, port);
		res(n, r);
		if (r == 0) {
			snprintf(n, sizeof(n), "restart(reuse=%d): listen with SO_REUSEADDR", reuse);
			res(n, listen(d, 5));
		}
		close(d);
	}

	/* ---- socket buffer sizes: Linux doubles and clamps ---- */
	a = tcp();
	val("SO_RCVBUF default", get_int(a, SO_RCVBUF));
	val("SO_SNDBUF default", get_int(a, SO_SNDBUF));
	int sizes[] = { 0, 1, 1000, 4096, 65536, 100000, 10000000 };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char n[64];
		set_int(a, SO_RCVBUF, sizes[i]);
		set_int(a, SO_SNDBUF, sizes[i]);
		snprintf(n, sizeof(n), "SO_RCVBUF set %d", sizes[i]);
		val(n, get_int(a, SO_RCVBUF));
		snprintf(n, sizeof(n), "SO_SNDBUF set %d", sizes[i]);
		val(n, get_int(a, SO_SNDBUF));
	}
	{
		struct linger lg = { 1, 5 }, out = { 0, 0 };
		socklen_t l = sizeof(out);
		res("SO_LINGER set", setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
		getsockopt(a, SOL_SOCKET, SO_LINGER, &out, &l);
		printf("SO_LINGER get: %d %d len %u\n", out.l_onoff, out.l_linger, (unsigned)l);
	}
	close(a);
	return 0;
}
