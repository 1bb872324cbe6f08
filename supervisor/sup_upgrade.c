/*
 * The loop's side of a binary upgrade; upgrade.c does the mechanics (exec,
 * the socketpair, the pidfile). Old side: start the new binary, retire our
 * workers once it is ready, hand over the final counters; resume if it
 * dies. New side: take the pidfile when our generation is ready and carry
 * the old supervisor's counters on.
 */
#include "supervisor/sup_internal.h"

#include <inttypes.h>
#include <sys/epoll.h>

#include <bsd/libutil.h>

#include "ipc/base/log.h"
#include "ipc/stats.h"
#include "supervisor/daemon.h"

void
sup_upgrade_begin(struct sup *s, pid_t requester, int64_t now)
{
	int fds[SUP_MAX_LISTENERS];
	struct upgrade_start a = {
		.argv = s->argv, .listen_fds = fds, .activated = s->activated,
		.generation = s->generation, .pidfile = s->conf.pidfile,
		.sigmask = &s->sigmask, .timeout_ms = s->conf.upgrade_timeout_ms,
		.now_ms = now, .tls = &s->tls,
	};
	int fd;

	a.nlisten = sup_listen_fds(s, fds);
	a.requester = requester;
	if (upgrade_pending(&s->up) || (s->up.inherited && !s->up.handed_over)) {
		log_warnx("upgrade already in progress; ignoring this request");
		upgrade_refuse(requester);
		return;
	}
	if ((fd = upgrade_begin(&s->up, &a)) != -1)
		sup_watch(s, EPOLL_CTL_ADD, EV_UPGRADE, fd, EPOLLIN);
}

/* The new supervisor serves: ours retire as on a reload, the status pipe
 * goes quiet (the new one takes it once our counters are final). */
static void
sup_upgrade_retire(struct sup *s, int64_t now)
{
	if (s->have_status) {
		if (s->status.fd != -1)
			sup_unwatch(s, s->status.fd);
		if (s->status.watch != -1)
			sup_unwatch(s, s->status.watch);
		status_close(&s->status, false);
		s->have_status = false;
	}
	sup_retire_all(s, now);
}

/* The new supervisor died after READY while ours were retiring: serve
 * again with a fresh generation (the retiring workers finish as they are). */
void
sup_upgrade_resume(struct sup *s, int64_t now)
{
	char err[CONFIG_ERR_LEN];

	s->stopping = false;
	s->generation++;
	s->ready_pending = true;
	procs_reset_backoff(&s->procs);
	if (s->conf.status_pipe[0] == '\0' || s->have_status)
		return;
	if (status_open(&s->status, s->conf.status_pipe, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return;
	}
	s->have_status = true;
	s->status_probe_ms = now;
	if (s->status.watch != -1)
		sup_watch(s, EPOLL_CTL_ADD, EV_WATCH, s->status.watch, EPOLLIN);
}

/* Every old worker is gone and its final report taken: hand over. */
void
sup_upgrade_hand_over(struct sup *s)
{
	struct upgrade_totals t = {
		.reloads = s->reloads, .unexpected = s->unexpected, .hung = s->hung,
		.dropped = s->dropped, .upgrades = s->up.upgrades,
		.upgrades_failed = s->up.upgrades_failed, .generation = s->generation,
	};

	sup_drain_stats(s);
	procs_totals(&s->procs, &t.totals);
	upgrade_hand_over(&s->up, &t, s->conf.pidfile);
	log_info("upgrade: counters handed over (%" PRIu64 " requests); exiting",
	    t.totals.requests);
}

/* New side: our generation is ready; take the pidfile, tell the old one. */
void
sup_upgrade_ready(struct sup *s)
{
	char err[CONFIG_ERR_LEN];

	s->up.announced = true;
	if (s->conf.pidfile[0] != '\0') {
		if ((s->pfh = daemon_pidfile_open(s->conf.pidfile, err,
		    sizeof(err))) == NULL || pidfile_write(s->pfh) == -1) {
			log_warnx("upgrade: cannot take the pidfile: %s", err);
			sup_quit(s);
			return;
		}
	}
	upgrade_announce_ready(&s->up);
}

void
sup_upgrade_event(struct sup *s, int fd, int64_t now)
{
	struct upgrade_totals t;

	if (fd == s->up.fd) {
		if (upgrade_read(&s->up) == 1)
			sup_upgrade_retire(s, now);
		if (s->up.fd == -1)
			sup_unwatch(s, fd);
		return;
	}
	if (fd != s->up.parent_fd)
		return;
	if (upgrade_take_totals(&s->up, &t) == 1) {
		stats_retire(&s->procs.retired, &t.totals);
		s->reloads += t.reloads;
		s->unexpected += t.unexpected;
		s->hung += t.hung;
		s->dropped += t.dropped;
		s->up.upgrades = t.upgrades;
		s->up.upgrades_failed = t.upgrades_failed;
		log_info("upgrade: took over from pid %d (%" PRIu64 " requests so far)",
		    (int)s->up.parent, t.totals.requests);
	}
	if (s->up.parent_fd == -1)
		sup_unwatch(s, fd);
}
