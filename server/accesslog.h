/*
 * The access log in Combined Log Format, buffered per worker:
 *
 *   127.0.0.1 - - [23/Nov/2026:15:04:05 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8"
 *
 * Lines collect in a 64 KiB buffer written with one O_APPEND write when it
 * is nearly full, on accesslog_flush (once a second from the worker) and on
 * exit, so workers sharing the file never interleave inside a line. With
 * "off" nothing is allocated and accesslog_enabled() is false, so the hot
 * path skips logging entirely. Leaf module: it returns errors, the worker
 * logs them (once).
 */
#ifndef PREFORKD_ACCESSLOG_H
#define PREFORKD_ACCESSLOG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define ACCESSLOG_BUF (64 * 1024)
#define ACCESSLOG_FIELD_MAX 1024   /* each quoted field is cut to this */

struct accesslog {
	int fd;                    /* -1 when off */
	int enabled;
	int own_fd;                /* opened by us (a path), not stdout */
	char path[PATH_MAX];
	char *buf;
	size_t len;
	time_t tcache;
	char tstr[40];             /* "[23/Nov/2026:15:04:05 +0000]" of tcache */
};

struct accesslog_entry {
	const struct sockaddr *peer;
	time_t t;
	const char *request;       /* request line, or NULL for "-" */
	size_t request_len;
	int status;
	uint64_t bytes;            /* body bytes sent */
	const char *referer;
	size_t referer_len;
	const char *user_agent;
	size_t user_agent_len;
};

/* spec is "off", "-" (stdout) or a path. Returns 0, or -1 with errno. */
int accesslog_open(struct accesslog *al, const char *spec);
/* Logs to fd, a file the supervisor opened (so this process needs no
 * permission on its directory); the log owns fd from now on. */
int accesslog_open_fd(struct accesslog *al, int fd);
/* Flushes, then writes to fd instead (the supervisor reopened the file).
 * Takes fd in every case (closed when logging is off). Returns the flush
 * result. */
int accesslog_adopt(struct accesslog *al, int fd);
static inline int
accesslog_enabled(const struct accesslog *al)
{
	return al->enabled;
}
/* Formats one line into the buffer, flushing first when it may not fit.
 * Returns 0, or -1 when a flush failed (the line is still buffered). */
int accesslog_append(struct accesslog *al, const struct accesslog_entry *e);
/* Writes the buffer out. On failure the buffer is dropped (serving goes
 * on) and -1 returned with errno. */
int accesslog_flush(struct accesslog *al);
/* Flushes, then reopens the path (logrotate). Returns 0 or -1. */
int accesslog_reopen(struct accesslog *al);
/* Flushes and closes. Returns the flush result. */
int accesslog_close(struct accesslog *al);
/* Formats one line into out (>= 4 * ACCESSLOG_FIELD_MAX + 256 bytes) with
 * its newline. Returns its length (tests). */
size_t accesslog_format(struct accesslog *al, const struct accesslog_entry *e, char *out);

#endif
