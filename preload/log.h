/* Logging of preload/ to stderr: NSTACK_LOG=error|warn|info|debug.
 * Every line starts with "nstack: ". Errors always print. */
#ifndef NSTACK_PRELOAD_LOG_H
#define NSTACK_PRELOAD_LOG_H

enum nst_log_level {
	NST_LOG_ERROR = 0,
	NST_LOG_WARN,
	NST_LOG_INFO,
	NST_LOG_DEBUG,
};

extern int nst_log_level;       /* set from NSTACK_LOG (engine.c) */

void nst_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) nst_log(NST_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  do { if (nst_log_level >= NST_LOG_WARN)  nst_log(NST_LOG_WARN,  __VA_ARGS__); } while (0)
#define log_info(...)  do { if (nst_log_level >= NST_LOG_INFO)  nst_log(NST_LOG_INFO,  __VA_ARGS__); } while (0)
#define log_debug(...) do { if (nst_log_level >= NST_LOG_DEBUG) nst_log(NST_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
