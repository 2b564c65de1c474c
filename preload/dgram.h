/* Datagram (UDP) sockets in preload/: the hooks socket.c and io.c call for
 * nsock of type SOCK_DGRAM (dgram.c). All run under the lock. */
#ifndef NSTACK_DGRAM_H
#define NSTACK_DGRAM_H

#include "preload.h"

/* sendmsg on a datagram socket. *handoff set (lock released, fd now a
 * kernel socket) when the destination is not ours and the socket was not
 * committed yet: the caller then runs the real function. */
ssize_t dgram_sendmsg(int fd, struct nsock *s, const struct msghdr *msg, int flags, int *handoff);
ssize_t dgram_recvmsg(int fd, struct nsock *s, struct msghdr *msg, int flags);
ssize_t dgram_send(int fd, struct nsock *s, const void *buf, size_t len, int flags);
ssize_t dgram_recv(int fd, struct nsock *s, void *buf, size_t len, int flags);
/* connect(AF_UNSPEC) dissolves the association (Linux udp_disconnect). 1 if handled. */
int     dgram_connect_unspec(struct nsock *s, const struct sockaddr *addr, socklen_t len, int *r);

/* io.c hooks: 1 (and *out, errno set) if fd is an nstack datagram socket. */
int dgram_sendmsg_hook(int fd, const struct msghdr *msg, int flags, ssize_t *out);
int dgram_recvmsg_hook(int fd, struct msghdr *msg, int flags, ssize_t *out);
int dgram_sendto_hook(int fd, const void *buf, size_t len, int flags,
		      const struct sockaddr *to, socklen_t tolen, ssize_t *out);
int dgram_recvfrom_hook(int fd, void *buf, size_t len, int flags,
			struct sockaddr *from, socklen_t *fromlen, ssize_t *out);
/* readv (send 0) / writev (send 1) */
int dgram_readv_hook(int fd, const struct iovec *iov, int cnt, int send, ssize_t *out);

#endif
