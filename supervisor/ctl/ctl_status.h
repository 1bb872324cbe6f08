/*
 * preforkctl's side of the status pipe (docs/ARCHITECTURE.md: Status pipe): read whole snapshots
 * from the FIFO and render one as a table for people.
 */
#ifndef PREFORKD_CTL_STATUS_H
#define PREFORKD_CTL_STATUS_H

#include <stddef.h>
#include <stdio.h>

#define CTL_STATUS_MAX (4u << 20) /* refuse a record longer than this */

/* A reader attached to the FIFO. A record is one JSON line, or for
 * status_format = text the "key: value" lines up to a blank line, for
 * openmetrics the lines up to and including "# EOF". */
struct ctl_status_reader {
	int fd;
	char *buf;
	size_t len;   /* bytes held */
	size_t cap;
	size_t taken; /* bytes of the record last returned, dropped on next */
};

/* Opens path for reading without blocking (a FIFO without a writer is
 * fine). Returns 0, or -1 with errno (ENOENT, EACCES, or EINVAL when path
 * exists but is not a FIFO). */
int ctl_status_open(struct ctl_status_reader *r, const char *path);
/* Waits up to timeout_ms for the next complete record and points *rec at
 * it (NUL-terminated, without its final newline; valid until the next
 * call). Returns 1, 0 on timeout, or -1 with errno (EMSGSIZE: too long). */
int ctl_status_next(struct ctl_status_reader *r, int timeout_ms, const char **rec);
void ctl_status_close(struct ctl_status_reader *r);

/* Prints a JSON snapshot as a table. Returns 0, or -1 if rec is not a
 * JSON snapshot (the caller then prints it as it came). */
int ctl_status_print(FILE *out, const char *rec);
/* "1d02h03m", "2h03m04s", "3m04s", "12.5s". */
void ctl_status_duration(double secs, char *buf, size_t len);

#endif
