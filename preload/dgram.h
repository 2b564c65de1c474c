/* Datagram (UDP) sockets in preload/ (dgram.c): the functions of udp_ops
 * (proto.c). */
#ifndef NSTACK_DGRAM_H
#define NSTACK_DGRAM_H

#include "preload.h"

/* Under the lock. sendmsg on a datagram socket. *handoff set (lock
 * released, fd now a kernel socket) when the destination is not ours and
 * the socket was not committed yet: the caller then runs the real function. */
ssize_t dgram_msg_send(int fd, struct nsock *s, const struct msghdr *msg, int flags, int *handoff);
ssize_t dgram_msg_recv(int fd, struct nsock *s, struct msghdr *msg, int flags);
ssize_t dgram_send(int fd, struct nsock *s, const void *buf, size_t len, int flags);
ssize_t dgram_recv(int fd, struct nsock *s, void *buf, size_t len, int flags);
int     dgram_disconnect(struct nsock *s);
int     dgram_serves(uint32_t ip);

/* Interposed calls on a socket fd_ops() found to be UDP: 1 and *out
 * (errno convention) when handled, 0 when the real function runs. */
int dgram_sendto(int fd, const void *buf, size_t len, int flags,
		 const struct sockaddr *to, socklen_t tolen, ssize_t *out);
int dgram_recvfrom(int fd, void *buf, size_t len, int flags,
		   struct sockaddr *from, socklen_t *fromlen, ssize_t *out);
int dgram_readv(int fd, const struct iovec *iov, int cnt, ssize_t *out);
int dgram_writev(int fd, const struct iovec *iov, int cnt, ssize_t *out);
int dgram_sendmsg(int fd, const struct msghdr *msg, int flags, ssize_t *out);
int dgram_recvmsg(int fd, struct msghdr *msg, int flags, ssize_t *out);

#endif
