/*
 * Logging shared by the supervisor and the workers.
 *
 * Lines look like "2026-11-23T15:04:05Z [4242] warn: mq_open(/x): No such file"
 * and go to stderr until log_open() names a file. Only process code logs;
 * leaf modules (parsers, encoders, ipc) return errors instead.
 */
#ifndef PREFORKD_LOG_H
#define PREFORKD_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* path NULL, "" or "-" means stderr. Returns 0, or -1 with errno. */
int log_open(const char *path);
/* Reopen the same path (logrotate, USR1). Keeps the old fd on failure. */
int log_reopen(void);
/* Writes to fd from now on, a file opened by another process (a worker
 * whose supervisor reopened the error log). Takes fd. Returns 0 or -1. */
int log_adopt(int fd);
void log_set_level(enum log_level level);
/* The fd lines go to, so a daemonizing supervisor can keep it open. */
int log_fd(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs with strerror(errno) at error level and exits 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
