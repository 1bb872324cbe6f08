/*
 * The status FIFO's reader, as the loop sees it: probe for a reader every
 * SUP_PROBE_MS (or at once when inotify sees the FIFO opened), write a
 * snapshot without ever blocking (EPOLLOUT resumes a partial one), and
 * detach when the reader leaves. status.c does the file work; the snapshot
 * itself is built in supervisor.c.
 */
#include "supervisor/sup_internal.h"

#include <errno.h>
#include <limits.h>
#include <sys/epoll.h>

#include "ipc/base/log.h"

void
sup_status_detach(struct sup *s, int64_t now)
{
	if (s->status.fd != -1)
		sup_unwatch(s, s->status.fd);
	status_detach(&s->status);
	s->status_probe_ms = now;
	s->status_reattach = false;
}

/* inotify saw the FIFO opened or a reader leave (see status.c). */
void
sup_status_watch(struct sup *s, int64_t now)
{
	int seen = status_watch_read(&s->status);

	if ((seen & STATUS_SEEN_CLOSE) && s->status.fd != -1) {
		if (status_pending(&s->status))
			s->status_reattach = true;
		else
			sup_status_detach(s, now);
	}
	if (!(seen & STATUS_SEEN_OPEN))
		return;
	if (s->status.fd == -1)
		s->status_probe_ms = now;
	else if (s->status_next_ms > s->status_last_ms + SUP_PROBE_MS)
		s->status_next_ms = s->status_last_ms + SUP_PROBE_MS;
}

void
sup_status_flush(struct sup *s, int64_t now)
{
	switch (status_flush(&s->status)) {
	case 0:
		if (s->status_reattach)
			sup_status_detach(s, now);
		else
			sup_watch(s, EPOLL_CTL_MOD, EV_FIFO, s->status.fd, 0);
		break;
	case 1:
		sup_watch(s, EPOLL_CTL_MOD, EV_FIFO, s->status.fd, EPOLLOUT);
		break;
	default:
		sup_status_detach(s, now);
		break;
	}
}

void
sup_status_probe(struct sup *s, int64_t now)
{
	int r;

	s->status_probe_ms = now + SUP_PROBE_MS;
	if ((r = status_attach(&s->status)) == 0)
		return;
	if (r == -1) {
		char why[PATH_MAX + 128];
		int e = errno;

		/* Say it once per reason, not every probe; keep probing, it may
		 * come back. */
		if (s->status_warned != e) {
			status_describe(&s->status, e, why, sizeof(why));
			log_warnx("%s", why);
		}
		s->status_warned = e;
		return;
	}
	s->status_warned = 0;
	/* Our own open is not news; the first snapshot goes out right away. */
	if (s->status.watch != -1)
		(void)status_watch_read(&s->status);
	/* Registered with no events: EPOLLERR still reports the reader leaving. */
	if (sup_watch(s, EPOLL_CTL_ADD, EV_FIFO, s->status.fd, 0) == -1) {
		status_detach(&s->status);
		return;
	}
	s->status_next_ms = now;
}
