/* exec: what the kernel does with a process's sockets when it runs a new
 * program. A descriptor with FD_CLOEXEC is closed; one without survives.
 * Before the real exec, a member of the family (family.c) lets go of every
 * socket all of whose descriptors are close-on-exec (the last holder's
 * close ends the connection: FIN), stops its engine and gives its device
 * back; the sockets that survive are handed to the new program, which maps
 * the stack again (engine.c eng_before_exec, eng_family_ctor). glibc's exec
 * functions call execve internally, not through the PLT, so each of them
 * is interposed here. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "preload.h"

#define EXEC_MAX_ARGS 4096

NST_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	int r = REAL(execve)(path, argv, eng_before_exec(envp));
	eng_exec_failed();
	return r;
}

NST_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

NST_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	int r = REAL(execvpe)(file, argv, eng_before_exec(envp));
	eng_exec_failed();
	return r;
}

NST_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

NST_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	int r = REAL(fexecve)(fd, argv, eng_before_exec(envp));
	eng_exec_failed();
	return r;
}

/* The list forms: the arguments into an array (on the stack: exec frees
 * nothing), then the vector form. envp follows the NULL for execle. */
#define EXEC_LIST(arg0, ap, argv, n) do {                                    \
		argv[0] = (char *)(arg0);                                    \
		for (n = 1; argv[n - 1] && n < EXEC_MAX_ARGS; n++)           \
			argv[n] = va_arg(ap, char *);                        \
		if (argv[n - 1]) {                                           \
			va_end(ap);                                          \
			errno = E2BIG;                                       \
			return -1;                                           \
		}                                                            \
	} while (0)

NST_EXPORT int execl(const char *path, const char *arg, ...)
{
	char *argv[EXEC_MAX_ARGS];
	unsigned n;
	va_list ap;
	va_start(ap, arg);
	EXEC_LIST(arg, ap, argv, n);
	va_end(ap);
	return execve(path, argv, environ);
}

NST_EXPORT int execlp(const char *file, const char *arg, ...)
{
	char *argv[EXEC_MAX_ARGS];
	unsigned n;
	va_list ap;
	va_start(ap, arg);
	EXEC_LIST(arg, ap, argv, n);
	va_end(ap);
	return execvpe(file, argv, environ);
}

NST_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *argv[EXEC_MAX_ARGS];
	unsigned n;
	va_list ap;
	va_start(ap, arg);
	EXEC_LIST(arg, ap, argv, n);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}
