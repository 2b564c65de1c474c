/* The real libc functions behind the interposed ones, looked up once with
 * dlsym(RTLD_NEXT). Resolution runs from a constructor and, should another
 * library's constructor call a socket function before ours ran, from the first
 * call (pthread_once: thread-safe, and lock-free once done).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include "preload.h"

struct real_fns real_fns;
int real_ready;

static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void *real_sym(const char *name, int required)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p && required) {
		/* Without the real function nothing can work: say so and stop. */
		fprintf(stderr, "nstack: dlsym(RTLD_NEXT, %s): %s\n", name, dlerror());
		abort();
	}
	return p;
}

#define RESOLVE(field, name) \
	*(void **)&real_fns.field = real_sym(name, 1)
#define RESOLVE_OPT(field, name) \
	*(void **)&real_fns.field = real_sym(name, 0)

static void real_resolve(void)
{
	RESOLVE(socket, "socket");
	RESOLVE(fork, "fork");
	RESOLVE(exit_, "_exit");
	RESOLVE(execve, "execve");
	RESOLVE(execvpe, "execvpe");
	RESOLVE(fexecve, "fexecve");
	RESOLVE(connect, "connect");
	RESOLVE(bind, "bind");
	RESOLVE(listen, "listen");
	RESOLVE(accept, "accept");
	RESOLVE(accept4, "accept4");
	RESOLVE(close, "close");
	RESOLVE_OPT(close_range, "close_range");
	RESOLVE(shutdown, "shutdown");
	RESOLVE(getsockname, "getsockname");
	RESOLVE(getpeername, "getpeername");
	RESOLVE(setsockopt, "setsockopt");
	RESOLVE(getsockopt, "getsockopt");
	RESOLVE(fcntl, "fcntl");
	RESOLVE_OPT(fcntl64, "fcntl64");
	if (!real_fns.fcntl64)
		real_fns.fcntl64 = real_fns.fcntl;
	RESOLVE(ioctl, "ioctl");
	RESOLVE(dup, "dup");
	RESOLVE(dup2, "dup2");
	RESOLVE(dup3, "dup3");
	RESOLVE(read, "read");
	RESOLVE(write, "write");
	RESOLVE(send, "send");
	RESOLVE(recv, "recv");
	RESOLVE(sendto, "sendto");
	RESOLVE(recvfrom, "recvfrom");
	RESOLVE(readv, "readv");
	RESOLVE(writev, "writev");
	RESOLVE(sendmsg, "sendmsg");
	RESOLVE(recvmsg, "recvmsg");
	RESOLVE(sendfile, "sendfile");
	RESOLVE_OPT(sendfile64, "sendfile64");
	if (!real_fns.sendfile64)
		real_fns.sendfile64 = real_fns.sendfile;
	RESOLVE(splice, "splice");
	RESOLVE_OPT(read_chk, "__read_chk");
	RESOLVE_OPT(recv_chk, "__recv_chk");
	RESOLVE_OPT(recvfrom_chk, "__recvfrom_chk");
	RESOLVE(poll, "poll");
	RESOLVE(ppoll, "ppoll");
	RESOLVE_OPT(poll_chk, "__poll_chk");
	RESOLVE_OPT(ppoll_chk, "__ppoll_chk");
	RESOLVE(select, "select");
	RESOLVE(pselect, "pselect");
	RESOLVE(epoll_create, "epoll_create");
	RESOLVE(epoll_create1, "epoll_create1");
	RESOLVE(epoll_ctl, "epoll_ctl");
	RESOLVE(epoll_wait, "epoll_wait");
	RESOLVE(epoll_pwait, "epoll_pwait");
	RESOLVE_OPT(epoll_pwait2, "epoll_pwait2");   /* glibc 2.35+ */
	RESOLVE(sendmmsg, "sendmmsg");
	RESOLVE(recvmmsg, "recvmmsg");
	__atomic_store_n(&real_ready, 1, __ATOMIC_RELEASE);
}

void real_init(void)
{
	pthread_once(&real_once, real_resolve);
}

__attribute__((constructor)) static void real_ctor(void)
{
	real_init();
}
