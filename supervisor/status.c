/*
 * The FIFO: checking and creating the path, finding a reader, writing
 * whole snapshots without blocking.
 *
 * A FIFO cannot be polled for "a reader opened": the writer learns of one
 * only by trying open(O_WRONLY | O_NONBLOCK), which fails with ENXIO while
 * nobody reads. The supervisor therefore probes on a short timer while
 * detached, and once attached watches the write end for EPOLLERR, which the
 * kernel raises when the last reader closes.
 *
 * Probing alone cannot see a reader that replaces another between two
 * wake-ups, so an inotify watch on the path adds IN_OPEN (someone opened
 * it: send a snapshot soon) and IN_CLOSE_NOWRITE (a reader left: let go of
 * the pipe, so data it did not read is freed instead of greeting the next
 * reader mid-line). Without inotify the probe still works, more slowly.
 */
#include "supervisor/status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

int
status_check_path(const char *path, bool create, char *err, size_t errlen)
{
	struct stat st;

	/* lstat: a symlink is refused, never followed to someone else's FIFO. */
	if (lstat(path, &st) == 0) {
		/* A reused FIFO gets the mode of a created one: who may read
		 * the status must not depend on who made the FIFO. */
		if (S_ISFIFO(st.st_mode) && create && chmod(path, 0640) == -1) {
			snprintf(err, errlen, "status_pipe %s: chmod: %s", path, strerror(errno));
			return -1;
		}
		if (S_ISFIFO(st.st_mode))
			return 0;
		snprintf(err, errlen, "status_pipe %s: %s", path, S_ISLNK(st.st_mode) ?
		    "is a symbolic link; expected a FIFO" : "exists and is not a FIFO");
		return -1;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "status_pipe %s: %s", path, strerror(errno));
		return -1;
	}
	/* chmod too: mkfifo is subject to the umask. */
	if (create && (mkfifo(path, 0640) == -1 || chmod(path, 0640) == -1)) {
		snprintf(err, errlen, "status_pipe %s: mkfifo: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
status_open(struct status *s, const char *path, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->fd = s->watch = -1;
	if (strlcpy(s->path, path, sizeof(s->path)) >= sizeof(s->path)) {
		snprintf(err, errlen, "status_pipe: path too long");
		return -1;
	}
	if ((s->buf = malloc(STATUS_BUF_SIZE)) == NULL) {
		snprintf(err, errlen, "status_pipe: %s", strerror(errno));
		return -1;
	}
	if (status_check_path(path, true, err, errlen) == -1) {
		free(s->buf);
		s->buf = NULL;
		return -1;
	}
	s->watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->watch != -1 &&
	    inotify_add_watch(s->watch, path, IN_OPEN | IN_CLOSE_NOWRITE |
	    IN_DONT_FOLLOW) == -1) {
		close(s->watch);
		s->watch = -1;
	}
	return 0;
}

int
status_watch_read(struct status *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int seen = 0;
	ssize_t n;

	while ((n = read(s->watch, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & IN_OPEN)
				seen |= STATUS_SEEN_OPEN;
			if (ev->mask & IN_CLOSE_NOWRITE)
				seen |= STATUS_SEEN_CLOSE;
			p += sizeof(*ev) + ev->len;
		}
	}
	return seen;
}

int
status_attach(struct status *s)
{
	struct stat st;
	int fd;

	/* By name, as the FIFO may have been recreated; but never through a
	 * symlink (ELOOP) and only into a FIFO: a regular file put there would
	 * otherwise collect snapshots (EFTYPE-like: ENOTSUP, described by
	 * status_describe). */
	fd = open(s->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return errno == ENXIO ? 0 : -1;
	if (fstat(fd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		errno = ENOTSUP;
		return -1;
	}
	/* Room for a whole snapshot of many workers. Unprivileged users may be
	 * limited below 1 MiB: take the largest size allowed; the default
	 * only means more partial writes. */
	for (int size = STATUS_PIPE_SIZE; size >= 65536; size /= 4)
		if (fcntl(fd, F_SETPIPE_SZ, size) != -1)
			break;
	s->fd = fd;
	s->off = s->len = 0;
	return 1;
}

void
status_describe(const struct status *s, int errnum, char *buf, size_t len)
{
	if (errnum == ELOOP)
		snprintf(buf, len, "status_pipe %s: is a symbolic link; refusing it "
		    "(expected a FIFO); no snapshots until it is one", s->path);
	else if (errnum == ENOTSUP)
		snprintf(buf, len, "status_pipe %s: is not a FIFO; refusing it; "
		    "no snapshots until it is one", s->path);
	else
		snprintf(buf, len, "status_pipe %s: open: %s", s->path, strerror(errnum));
}

bool
status_pending(const struct status *s)
{
	return s->off < s->len;
}

int
status_encode(struct status *s, const struct snapshot *snap, enum status_format f)
{
	int n;

	if (f == STATUS_TEXT)
		n = snapshot_text(snap, s->buf, STATUS_BUF_SIZE);
	else if (f == STATUS_OPENMETRICS)
		n = snapshot_openmetrics(snap, s->buf, STATUS_BUF_SIZE);
	else
		n = snapshot_json(snap, s->buf, STATUS_BUF_SIZE);
	if (n < 0)
		return -1;
	s->off = 0;
	s->len = (size_t)n;
	return 0;
}

int
status_flush(struct status *s)
{
	ssize_t n;

	while (s->off < s->len) {
		n = write(s->fd, s->buf + s->off, s->len - s->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 1;
		if (n == -1)
			return -1;
		s->off += (size_t)n;
	}
	s->off = s->len = 0;
	return 0;
}

void
status_detach(struct status *s)
{
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	s->off = s->len = 0;
}

void
status_close(struct status *s, bool unlink_path)
{
	struct stat st;

	status_detach(s);
	if (s->watch != -1)
		close(s->watch);
	s->watch = -1;
	free(s->buf);
	s->buf = NULL;
	/* Only our FIFO: whatever replaced it is not ours to delete. */
	if (unlink_path && s->path[0] != '\0' && lstat(s->path, &st) == 0 &&
	    S_ISFIFO(st.st_mode))
		unlink(s->path);
}
