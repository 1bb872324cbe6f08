/*
 * One line per event: "TIME [PID] LEVEL: message". Each line is formatted
 * into a stack buffer and written with one write(2), so lines from several
 * processes sharing the file (O_APPEND) never interleave.
 */
#include "ipc/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/base/clock.h"

static int log_out = STDERR_FILENO;
static char log_path[4096];
static enum log_level log_threshold = LOG_LVL_INFO;

static int
log_open_path(const char *path)
{
	/* Not world-readable: request paths and client addresses are private. */
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
log_open(const char *path)
{
	int fd;

	if (path == NULL || path[0] == '\0' || strcmp(path, "-") == 0) {
		if (log_out != STDERR_FILENO)
			close(log_out);
		log_out = STDERR_FILENO;
		log_path[0] = '\0';
		return 0;
	}
	if (strlen(path) >= sizeof(log_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = log_open_path(path)) == -1)
		return -1;
	if (log_out != STDERR_FILENO)
		close(log_out);
	log_out = fd;
	memcpy(log_path, path, strlen(path) + 1);
	return 0;
}

/* Puts the file open on fd behind log_out and closes fd, either way.
 * dup2 keeps the descriptor number, so nothing holding it goes stale. */
static int
log_replace(int fd)
{
	int rc = dup2(fd, log_out) == -1 ? -1 : 0;

	close(fd);
	return rc;
}

int
log_reopen(void)
{
	int fd;

	if (log_path[0] == '\0')
		return 0;
	if ((fd = log_open_path(log_path)) == -1)
		return -1;
	return log_replace(fd);
}

int
log_adopt(int fd)
{
	if (log_out == STDERR_FILENO) {
		log_out = fd;
		return 0;
	}
	return log_replace(fd);
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

int
log_fd(void)
{
	return log_out;
}

static void
log_emit(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	char line[2048], when[32];
	int n, m;

	if (level > log_threshold)
		return;
	clock_iso8601(time(NULL), when, sizeof(when));
	n = snprintf(line, sizeof(line), "%s [%d] %s: ", when, (int)getpid(), names[level]);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	n = (m < 0 || (size_t)(n + m) >= sizeof(line)) ? (int)sizeof(line) - 2 : n + m;
	if (errnum != 0)
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(errnum));
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* A failed log write has nowhere to be reported; drop it. */
	if (write(log_out, line, (size_t)n) < 0)
		return;
}

#define LOG_VERB(name, level, with_errno)                     \
	void name(const char *fmt, ...)                       \
	{                                                     \
		int saved = errno;                            \
		va_list ap;                                   \
		va_start(ap, fmt);                            \
		log_emit(level, with_errno ? saved : 0, fmt, ap); \
		va_end(ap);                                   \
		errno = saved;                                \
	}

LOG_VERB(log_warn, LOG_LVL_WARN, 1)
LOG_VERB(log_warnx, LOG_LVL_WARN, 0)
LOG_VERB(log_info, LOG_LVL_INFO, 0)
LOG_VERB(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}
