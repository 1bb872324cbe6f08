/*
 * The status pipe writer (the FIFO row of "Inter-process communication" in
 * docs/ARCHITECTURE.md). The supervisor owns a FIFO; while a reader is
 * attached it writes one complete snapshot per interval. Writes never
 * block: a snapshot that does not fit is finished when the pipe has room,
 * and while one is unfinished the next is skipped, so a slow reader costs
 * nothing and never sees a torn line.
 */
#ifndef PREFORKD_STATUS_H
#define PREFORKD_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "ipc/snapshot.h"
#include "supervisor/config.h"

#define STATUS_BUF_SIZE (1024 * 1024)
#define STATUS_PIPE_SIZE (1024 * 1024)

struct status {
	char path[PATH_MAX];
	int fd;               /* write end, -1 while no reader is attached */
	int watch;            /* inotify on path, -1 if unavailable */
	char *buf;            /* the snapshot being written */
	size_t off, len;
};

/* What the inotify watch saw since the last call. */
#define STATUS_SEEN_OPEN 1    /* someone opened the FIFO (a reader, or us) */
#define STATUS_SEEN_CLOSE 2   /* a reader closed it */

/* Makes sure path is a FIFO: creates it 0640, or reuses an existing FIFO.
 * Any other file is refused. Returns 0, or -1 with err filled. */
int status_check_path(const char *path, bool create, char *err, size_t errlen);
/* Prepares s for path (status_check_path first). Returns 0 or -1 (err). */
int status_open(struct status *s, const char *path, char *err, size_t errlen);
/* Reads the watch: STATUS_SEEN_* bits. */
int status_watch_read(struct status *s);
/* Tries to attach to a reader. Returns 1 attached, 0 no reader (ENXIO),
 * -1 on another error (errno). */
int status_attach(struct status *s);
/* One line saying why status_attach failed with errnum (a symlink, not a
 * FIFO, or the system's reason). */
void status_describe(const struct status *s, int errnum, char *buf, size_t len);
/* Whether part of a snapshot is still waiting for pipe space. */
bool status_pending(const struct status *s);
/* Encodes snap into the buffer. Returns 0, or -1 if it did not fit. */
int status_encode(struct status *s, const struct snapshot *snap, enum status_format f);
/* Writes what is pending. Returns 0 all written, 1 more pending (wait for
 * EPOLLOUT), -1 the reader is gone (caller detaches). */
int status_flush(struct status *s);
/* Forgets the reader and any partial snapshot. */
void status_detach(struct status *s);
/* Detaches, frees, and unlinks the FIFO when unlink_path is set. */
void status_close(struct status *s, bool unlink_path);

#endif
