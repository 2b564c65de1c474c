/* Interposed data calls: read, write, send, recv, sendto, recvfrom, readv,
 * writev, sendmsg, recvmsg, and the fortified __read_chk, __recv_chk,
 * __recvfrom_chk. On our fds read/write are recv/send with no flags.
 *
 * Blocking semantics follow tcp_sendmsg/tcp_recvmsg: send waits until every
 * byte is queued, recv returns what is there (MSG_WAITALL: until full, EOF or
 * error); a signal or a socket timeout after some bytes returns the count.
 * A signal during a wait gives EINTR (or the partial count), unless the
 * socket has no timeout and the handler has SA_RESTART: then the wait goes on
 * (nsock_wait, eng_restart_ok), as sock_intr_errno decides on Linux.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#include "preload.h"
#include "dgram.h"

#define IO_GATHER_MAX 65536     /* writev/sendmsg coalesce up to this many bytes */

extern void __chk_fail(void) __attribute__((noreturn));

/* Under the lock. What the call consumed is the base for the next epoll edge. */
ssize_t sock_recv(int fd, struct nsock *s, void *buf, size_t len, int flags)
{
	ssize_t r = s->ops->recv(fd, s, buf, len, flags);
	nsock_edge_sync(s);
	return r;
}

ssize_t sock_send(int fd, struct nsock *s, const void *buf, size_t len, int flags)
{
	ssize_t r = s->ops->send(fd, s, buf, len, flags);
	nsock_edge_sync(s);
	return r;
}

/* Under the lock: recv on a TCP socket. */
ssize_t stream_recv(int fd, struct nsock *s, void *buf, size_t len, int flags)
{
	if (flags & MSG_OOB)
		return -EINVAL;         /* not implemented: urgent data */
	if ((flags & MSG_TRUNC) && len) {
		/* tcp_recvmsg: with MSG_TRUNC the bytes are dropped (or, with
		 * MSG_PEEK, counted), never copied: buf may be anything */
		size_t n = len < IO_GATHER_MAX ? len : IO_GATHER_MAX;
		char *tmp = malloc(n);
		if (!tmp)
			return -ENOMEM;
		ssize_t r = stream_recv(fd, s, tmp, n, flags & ~MSG_TRUNC);
		free(tmp);
		return r;
	}
	if (len == 0) {
		ssize_t r = nst_recv(eng.st, s->sd, buf, 0, NST_MSG_DONTWAIT, eng_now_us());
		return r == -EAGAIN ? 0 : r;
	}
	if (!buf)
		return -EFAULT;
	int sflags = flags & (MSG_PEEK | MSG_DONTWAIT);
	int waitall = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
	int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
	int64_t dl = -2;
	size_t got = 0;
	for (;;) {
		ssize_t r = nst_recv(eng.st, s->sd, (char *)buf + got, len - got, sflags, eng_now_us());
		eng_after();
		if (r > 0) {
			got += (size_t)r;
			if (!waitall || got == len)
				return (ssize_t)got;
			continue;
		}
		if (r == 0)             /* EOF */
			return (ssize_t)got;
		if (r != -EAGAIN || nonblock)
			return got ? (ssize_t)got : r;
		int w = nsock_wait_timeo(fd, s, POLLIN, s->rcvtimeo_us, &dl);
		if (w < 0)
			return got ? (ssize_t)got : w;
	}
}

/* Under the lock: send on a TCP socket. -EPIPE is returned, SIGPIPE raised
 * by the caller after unlocking (a handler may call into us). */
ssize_t stream_send(int fd, struct nsock *s, const void *buf, size_t len, int flags)
{
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;     /* not implemented: urgent data */
	/* MSG_FASTOPEN: nstack has no TCP Fast Open client (RFC 7413); the kernel
	 * answers this, before anything else, when its client side is off */
	if (flags & MSG_FASTOPEN)
		return -EOPNOTSUPP;
	if (!buf && len)
		return -EFAULT;
	/* MSG_MORE: the stack holds a partial segment for this call (TCP_CORK-like);
	 * MSG_EOR: the call ends a record, later data never joins its segments
	 * (the stack marks it when the whole buffer is queued: each call below
	 * passes what is left) */
	int sflags = flags & (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE | MSG_EOR);
	int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
	int64_t dl = -2;
	size_t sent = 0;
	for (;;) {
		ssize_t r = nst_send(eng.st, s->sd, (const char *)buf + sent, len - sent, sflags, eng_now_us());
		eng_after();
		if (r > 0) {
			sent += (size_t)r;
			if (sent == len || nonblock)
				return (ssize_t)sent;
			continue;
		}
		if (r == 0 && sent == len)
			return 0;
		if (r < 0 && r != -EAGAIN)
			return sent ? (ssize_t)sent : r;
		if (nonblock)
			return sent ? (ssize_t)sent : -EAGAIN;
		int w = nsock_wait_timeo(fd, s, POLLOUT, s->sndtimeo_us, &dl);
		if (w < 0)
			return sent ? (ssize_t)sent : w;
	}
}

static ssize_t send_done(ssize_t r, int flags)
{
	if (r == -EPIPE && !(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
	return set_errno(r);
}

/* The bytes of cnt vectors in *total, with the kernel's checks
 * (import_iovec): a negative count or more than IOV_MAX is too_many (EINVAL
 * for readv/writev, EMSGSIZE for a message), a total beyond SSIZE_MAX
 * EINVAL, a NULL array EFAULT; with bases (a datagram, gathered at once) a
 * non-empty vector with no base is EFAULT too. */
int iov_total(const struct iovec *iov, long cnt, size_t *total, int too_many, int bases)
{
	if (cnt < 0 || cnt > IOV_MAX)
		return too_many;
	if (cnt && !iov)
		return -EFAULT;
	size_t t = 0;
	for (long i = 0; i < cnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - t)
			return -EINVAL;
		if (bases && iov[i].iov_len && !iov[i].iov_base)
			return -EFAULT;
		t += iov[i].iov_len;
	}
	*total = t;
	return 0;
}

/* The vectors of a stream call: EINVAL for too many (or a negative count). */
static int iov_check(const struct iovec *iov, int cnt, size_t *total)
{
	return iov_total(iov, cnt, total, -EINVAL, 0);
}

/* Under the lock. Small vectors are gathered into one send so that a
 * header + body writev becomes one segment, not two. */
static ssize_t sock_sendv(int fd, struct nsock *s, const struct iovec *iov, int cnt, int flags)
{
	size_t total;
	int e = iov_check(iov, cnt, &total);
	if (e < 0)
		return e;
	if (cnt > 1 && total <= IO_GATHER_MAX) {
		char *g = malloc(total ? total : 1);
		if (g) {
			size_t off = 0;
			for (int i = 0; i < cnt; i++) {
				if (iov[i].iov_len && !iov[i].iov_base) {
					free(g);
					return -EFAULT;
				}
				memcpy(g + off, iov[i].iov_base, iov[i].iov_len);
				off += iov[i].iov_len;
			}
			ssize_t r = sock_send(fd, s, g, total, flags);
			free(g);
			return r;
		}
	}
	/* one push for the whole call, as Linux's tcp_sendmsg: every vector
	 * but the last goes as if with MSG_MORE (a stream only), and only the
	 * last ends the record of MSG_EOR */
	int last = cnt - 1;
	while (last > 0 && !iov[last].iov_len)
		last--;
	size_t done = 0;
	for (int i = 0; i < cnt; i++) {
		if (!iov[i].iov_len)
			continue;
		int f = i < last && s->ops->type == SOCK_STREAM ? (flags & ~MSG_EOR) | MSG_MORE : flags;
		ssize_t r = sock_send(fd, s, iov[i].iov_base, iov[i].iov_len, f);
		if (r < 0)
			return done ? (ssize_t)done : r;
		done += (size_t)r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	if (done == 0 && total == 0)
		return sock_send(fd, s, NULL, 0, flags);
	return (ssize_t)done;
}

/* sendfile onto an nstack socket: read the file in chunks (outside the
 * lock) and send them; a short send puts the unsent bytes back (lseek) when
 * the file position is used, like the kernel's partial sendfile. */
static int sock_sendfile(int out_fd, int in_fd, off_t *offset, size_t count, ssize_t *out)
{
	struct nsock *s;
	int r = fd_lock(out_fd, &s);
	if (r == 0)
		return 0;
	if (r < 0) {
		*out = set_errno(r);
		return 1;
	}
	eng_unlock();
	char *buf = malloc(IO_GATHER_MAX);
	if (!buf) {
		*out = set_errno(-ENOMEM);
		return 1;
	}
	size_t done = 0;
	ssize_t err = 0;
	while (done < count) {
		size_t want = count - done < IO_GATHER_MAX ? count - done : IO_GATHER_MAX;
		ssize_t n = offset ? pread(in_fd, buf, want, *offset + (off_t)done)
				   : REAL(read)(in_fd, buf, want);
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		r = sock_enter(out_fd, &s);
		ssize_t w = r <= 0 ? (r ? r : -EBADF) : sock_leave(s, sock_send(out_fd, s, buf, (size_t)n, 0));
		if (w < n && !offset)
			lseek(in_fd, -(off_t)(n - (w > 0 ? w : 0)), SEEK_CUR);
		if (w < 0) {
			err = w;
			break;
		}
		done += (size_t)w;
		if (w < n)
			break;
	}
	free(buf);
	if (offset)
		*offset += (off_t)done;
	*out = done ? (ssize_t)done : send_done(err, 0);
	return 1;
}

NST_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	ssize_t n;
	return sock_sendfile(out_fd, in_fd, offset, count, &n) ? n
		: REAL(sendfile)(out_fd, in_fd, offset, count);
}

NST_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count)
{
	ssize_t n;
	return sock_sendfile(out_fd, in_fd, offset, count, &n) ? n
		: REAL(sendfile64)(out_fd, in_fd, offset, count);
}

/* 1 if fd is a pipe (FIFO); the kernel's splice wants one at one end. */
static int is_pipe(int fd)
{
	struct stat sb;
	return fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode);
}

/* splice from an nstack socket into a pipe (tcp_splice_read's effect, by
 * copy): wait for pipe space unless SPLICE_F_NONBLOCK or the pipe is
 * O_NONBLOCK (do_splice's wait_for_space), peek at most that much from the
 * socket (blocking by the socket's O_NONBLOCK and SO_RCVTIMEO, as the
 * kernel's), write it to the pipe outside the lock and consume what the
 * pipe took. 0 at end of stream. */
static ssize_t splice_from_sock(int fd, size_t len, int pfd, unsigned flags)
{
	int pnb = (flags & SPLICE_F_NONBLOCK) || (REAL(fcntl)(pfd, F_GETFL) & O_NONBLOCK);
	size_t room;
	for (;;) {
		int size = REAL(fcntl)(pfd, F_GETPIPE_SZ), queued = 0;
		if (size < 0 || REAL(ioctl)(pfd, FIONREAD, &queued) < 0)
			return -errno;
		if (size > queued) {
			room = (size_t)(size - queued);
			break;
		}
		if (pnb)
			return -EAGAIN;
		struct pollfd p = { pfd, POLLOUT, 0 };
		if (REAL(poll)(&p, 1, -1) < 0)
			return -errno;
	}
	if (len > room)
		len = room;
	if (len > IO_GATHER_MAX)
		len = IO_GATHER_MAX;
	char *buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	struct nsock *s;
	int r = sock_enter(fd, &s);
	if (r <= 0) {
		free(buf);
		return r ? r : -EBADF;
	}
	ssize_t n = sock_leave(s, sock_recv(fd, s, buf, len, MSG_PEEK));
	if (n > 0) {
		ssize_t w = REAL(write)(pfd, buf, (size_t)n);
		if (w < 0) {
			n = -errno;
		} else {
			if (sock_enter(fd, &s) > 0)
				(void)sock_leave(s, sock_recv(fd, s, buf, (size_t)w, MSG_DONTWAIT));
			n = w;
		}
	}
	free(buf);
	return n;
}

/* splice from a pipe onto an nstack socket: a non-blocking socket without
 * send space is EAGAIN before anything leaves the pipe; then one read of
 * the pipe (EAGAIN on an empty pipe with SPLICE_F_NONBLOCK or O_NONBLOCK,
 * 0 when it has no writer) and all of it sent, waiting for space if need
 * be: bytes taken from the pipe are never dropped. */
static ssize_t splice_to_sock(int pfd, size_t len, int fd, unsigned flags)
{
	struct nsock *s;
	int r = fd_lock(fd, &s);
	if (r <= 0)
		return r ? r : -EBADF;
	int full = s->nonblock && !(nst_poll(eng.st, s->sd) & NST_POLLOUT);
	eng_unlock();
	if (full)
		return -EAGAIN;
	if (flags & SPLICE_F_NONBLOCK) {
		struct pollfd p = { pfd, POLLIN, 0 };
		if (REAL(poll)(&p, 1, 0) == 0)
			return -EAGAIN;
	}
	if (len > IO_GATHER_MAX)
		len = IO_GATHER_MAX;
	char *buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	ssize_t n = REAL(read)(pfd, buf, len);
	if (n <= 0) {
		free(buf);
		return n < 0 ? -errno : 0;
	}
	size_t sent = 0;
	ssize_t err = 0;
	r = sock_enter(fd, &s);
	if (r <= 0) {
		free(buf);
		return r ? r : -EBADF;
	}
	while (sent < (size_t)n) {
		ssize_t w = sock_send(fd, s, buf + sent, (size_t)n - sent,
				      MSG_NOSIGNAL | (flags & SPLICE_F_MORE ? MSG_MORE : 0));
		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		if (w == -EAGAIN && s->sd >= 0 && nsock_wait(fd, s, POLLOUT, -1) == 0)
			continue;
		err = w ? w : -EPIPE;
		break;
	}
	sock_leave(s, 0);
	free(buf);
	return sent ? (ssize_t)sent : err;
}

/* splice with an nstack socket at one end: the kernel cannot (our fd is an
 * eventfd, EINVAL), so the bytes go through a buffer. As the kernel's, the
 * other end must be a pipe (EINVAL) and neither end may take an offset. */
NST_EXPORT ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
			  unsigned flags)
{
	int in = fd_peek(fd_in) != NULL, out = fd_peek(fd_out) != NULL;
	if (!in && !out)
		return REAL(splice)(fd_in, off_in, fd_out, off_out, len, flags);
	if (in == out || !is_pipe(in ? fd_out : fd_in))
		return set_errno(-EINVAL);
	/* do_splice: an offset for the pipe is ESPIPE, for the socket EINVAL
	 * (no pread/pwrite) */
	if (in ? off_out : off_in)
		return set_errno(-ESPIPE);
	if (in ? off_in : off_out)
		return set_errno(-EINVAL);
	if (len == 0)
		return 0;
	ssize_t n = in ? splice_from_sock(fd_in, len, fd_out, flags)
		       : splice_to_sock(fd_in, len, fd_out, flags);
	if (n == -EPIPE)
		raise(SIGPIPE);
	return set_errno(n);
}

/* Under the lock. After the first bytes, later vectors take only what is
 * there already (unless MSG_WAITALL). */
static ssize_t sock_recvv(int fd, struct nsock *s, const struct iovec *iov, int cnt, int flags)
{
	size_t total;
	int e = iov_check(iov, cnt, &total);
	if (e < 0)
		return e;
	size_t done = 0;
	for (int i = 0; i < cnt; i++) {
		if (!iov[i].iov_len)
			continue;
		int f = flags;
		if (done && !(flags & MSG_WAITALL))
			f |= MSG_DONTWAIT;
		ssize_t r = sock_recv(fd, s, iov[i].iov_base, iov[i].iov_len, f);
		if (r < 0)
			return done ? (ssize_t)done : r;
		done += (size_t)r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	return (ssize_t)done;
}

/* sock_enter for the calls that answer through *out: 1 with the lock held
 * and the call holding *sp, 0 if fd is not ours, -1 with *out set (a dead
 * socket). */
static int io_enter(int fd, struct nsock **sp, ssize_t *out)
{
	int r = sock_enter(fd, sp);
	if (r < 0) {
		*out = set_errno(r);
		return -1;
	}
	return r;
}

/* 1 and *out set if fd is ours; 0 if the real function must run. */
static int io_recv(int fd, void *buf, size_t len, int flags, ssize_t *out)
{
	struct nsock *s;
	int r = io_enter(fd, &s, out);
	if (r <= 0)
		return r < 0;
	*out = set_errno(sock_leave(s, sock_recv(fd, s, buf, len, flags)));
	return 1;
}

static int io_send(int fd, const void *buf, size_t len, int flags, ssize_t *out)
{
	struct nsock *s;
	int r = io_enter(fd, &s, out);
	if (r <= 0)
		return r < 0;
	*out = send_done(sock_leave(s, sock_send(fd, s, buf, len, flags)), flags);
	return 1;
}

/* ---- the calls whose TCP and UDP halves differ (udp_* in dgram.c) ---- */

/* TCP ignores the destination of a connected socket, as tcp_sendmsg does. */
int stream_sendto(int fd, const void *buf, size_t len, int flags,
		  const struct sockaddr *to, socklen_t tolen, ssize_t *out)
{
	(void)to;
	(void)tolen;
	return io_send(fd, buf, len, flags, out);
}

/* TCP gives no source address: *fromlen becomes 0, like the kernel. */
int stream_recvfrom(int fd, void *buf, size_t len, int flags,
		    struct sockaddr *from, socklen_t *fromlen, ssize_t *out)
{
	if (!io_recv(fd, buf, len, flags, out))
		return 0;
	if (*out >= 0 && from && fromlen)
		*fromlen = 0;
	return 1;
}

int stream_sendmsg(int fd, const struct msghdr *msg, int flags, ssize_t *out)
{
	struct nsock *s;
	int r = io_enter(fd, &s, out);
	if (r <= 0)
		return r < 0;
	ssize_t n;
	if (!msg)
		n = -EFAULT;
	else    /* not implemented: ancillary data on TCP (ignored, as mostly by Linux) */
		n = sock_sendv(fd, s, msg->msg_iov, (int)msg->msg_iovlen, flags);
	*out = send_done(sock_leave(s, n), flags);
	return 1;
}

int stream_recvmsg(int fd, struct msghdr *msg, int flags, ssize_t *out)
{
	struct nsock *s;
	int r = io_enter(fd, &s, out);
	if (r <= 0)
		return r < 0;
	ssize_t n;
	if (!msg) {
		n = -EFAULT;
	} else {
		n = sock_recvv(fd, s, msg->msg_iov, (int)msg->msg_iovlen, flags);
		if (n >= 0) {
			msg->msg_namelen = 0;
			msg->msg_controllen = 0;
			msg->msg_flags = 0;
		}
	}
	*out = set_errno(sock_leave(s, n));
	return 1;
}

/* readv/writev: recvmsg/sendmsg with no flags (a negative cnt passes
 * through msg_iovlen unchanged: iov_check's EINVAL). */
int stream_readv(int fd, const struct iovec *iov, int cnt, ssize_t *out)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	return stream_recvmsg(fd, &m, 0, out);
}

int stream_writev(int fd, const struct iovec *iov, int cnt, ssize_t *out)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	return stream_sendmsg(fd, &m, 0, out);
}

/* ---- interposed ---- */

NST_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	ssize_t n;
	return io_recv(fd, buf, len, 0, &n) ? n : REAL(read)(fd, buf, len);
}

NST_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	ssize_t n;
	return io_send(fd, buf, len, 0, &n) ? n : REAL(write)(fd, buf, len);
}

NST_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t n;
	return io_recv(fd, buf, len, flags, &n) ? n : REAL(recv)(fd, buf, len, flags);
}

NST_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	ssize_t n;
	return io_send(fd, buf, len, flags, &n) ? n : REAL(send)(fd, buf, len, flags);
}

/* The rest by the socket's ops (proto.c), looked up without the lock: a
 * stream socket pays one table lookup more than read/write. */
NST_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			  const struct sockaddr *to, socklen_t tolen)
{
	const struct sock_ops *o = fd_ops(fd);
	ssize_t n;
	return o && o->sendto(fd, buf, len, flags, to, tolen, &n) ? n
		: REAL(sendto)(fd, buf, len, flags, to, tolen);
}

NST_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
			    struct sockaddr *from, socklen_t *fromlen)
{
	const struct sock_ops *o = fd_ops(fd);
	ssize_t n;
	return o && o->recvfrom(fd, buf, len, flags, from, fromlen, &n) ? n
		: REAL(recvfrom)(fd, buf, len, flags, from, fromlen);
}

NST_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	const struct sock_ops *o = fd_ops(fd);
	ssize_t n;
	return o && o->readv(fd, iov, cnt, &n) ? n : REAL(readv)(fd, iov, cnt);
}

NST_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	const struct sock_ops *o = fd_ops(fd);
	ssize_t n;
	return o && o->writev(fd, iov, cnt, &n) ? n : REAL(writev)(fd, iov, cnt);
}

NST_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	const struct sock_ops *o = fd_ops(fd);
	ssize_t n;
	return o && o->sendmsg(fd, msg, flags, &n) ? n : REAL(sendmsg)(fd, msg, flags);
}

NST_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	const struct sock_ops *o = fd_ops(fd);
	ssize_t n;
	return o && o->recvmsg(fd, msg, flags, &n) ? n : REAL(recvmsg)(fd, msg, flags);
}

NST_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return read(fd, buf, len);
}

NST_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen)
		__chk_fail();
	return recv(fd, buf, len, flags);
}

NST_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
				  struct sockaddr *from, socklen_t *fromlen)
{
	if (len > buflen)
		__chk_fail();
	return recvfrom(fd, buf, len, flags, from, fromlen);
}
