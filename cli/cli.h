/* The nstack command: one binary, one file per subcommand.
 *   nstack.c  main, `run` (the launcher)
 *   lab.c     `lab up|down`: a ready-made network namespace with a TAP
 *   ss.c      `ss` and `stats`: read running processes' control sockets
 *   plot.c    `plot`: a time-sequence graph of a pcap, drawn by gnuplot
 * Exit status 2 on a usage error, 1 on a failure, 0 on success.
 */
#ifndef NSTACK_CLI_H
#define NSTACK_CLI_H

#include <stdio.h>
#include <sys/types.h>

#define EXIT_USAGE 2

/* Name of the running subcommand ("run", "ss", ...), for messages. */
extern const char *cli_cmd;

/* "nstack: <msg>" and "Try 'nstack CMD --help'.", exit 2. */
void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...);
/* "nstack: <msg>" on stderr. */
void __attribute__((format(printf, 1, 2))) cli_err(const char *fmt, ...);

/* Directory of the control sockets: $NSTACK_RUNDIR or /run/nstack. */
const char *cli_rundir(void);
/* Wait for child pid (retrying on EINTR): its exit status, -1 if it was
 * killed or cannot be waited for. */
int cli_wait(pid_t pid);

int cmd_run(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_ss(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
