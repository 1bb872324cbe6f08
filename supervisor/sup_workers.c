/*
 * The worker lifecycle as the supervisor drives it: spawn into a slot, send
 * commands down the channel, retire gracefully or kill, reap and decide on
 * a respawn or backoff, and converge the table on the target once per
 * wake-up. procs.c holds the state machine; this file makes the system
 * calls it must not.
 */
#include "supervisor/sup_internal.h"

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "ipc/base/log.h"
#include "server/worker.h"
#include "supervisor/daemon.h"
#include "supervisor/notify.h"
#include "supervisor/spawn.h"

/*
 * Opens the access log for the workers (issue 12): they get the descriptor
 * at spawn and on every reopen, and never open a log file themselves. On
 * failure the old descriptor is kept (reopen) or logging is off (start).
 */
void
sup_open_access_log(struct sup *s)
{
	char err[CONFIG_ERR_LEN] = "";
	const char *path = s->conf.access_log;
	int fd = -1;

	if (strcmp(path, "off") != 0 && strcmp(path, "-") != 0 && path[0] != '\0' &&
	    (fd = daemon_open_log(path, s->conf.user, s->conf.group, err,
	    sizeof(err))) == -1) {
		log_warnx("access log: %s%s", err,
		    s->access_fd == -1 ? ": logging off" : ": keeping the old file");
		return;
	}
	if (s->access_fd != -1)
		close(s->access_fd);
	s->access_fd = fd;
}

/* Sends the reopened logs down p's channel. */
void
sup_send_log_fds(struct sup *s, struct proc *p)
{
	struct msg m;
	int fds[2], n = 0;

	memset(&m, 0, sizeof(m));
	if (log_fd() != STDERR_FILENO) {
		fds[n++] = log_fd();
		m.u.log_fds.error_log = 1;
	}
	if (s->access_fd != -1) {
		fds[n++] = s->access_fd;
		m.u.log_fds.access_log = 1;
	}
	if (channel_send_fds(p->chan_fd, &m, MSG_LOG_FDS, fds, n) == -1)
		log_warn("worker %d (pid %d): sending the reopened logs", p->slot,
		    (int)p->pid);
}

static void
sup_spawn(struct sup *s, int slot, int64_t now)
{
	int fds[WORKER_MAX_LISTEN];
	unsigned char tls[WORKER_MAX_LISTEN];
	struct spawn_args a = {
		.conf = &s->conf, .listen_fds = fds, .stats_queue = s->statsq_name,
		.sigmask = &s->sigmask, .slot = slot, .generation = s->generation,
		.access_log_fd = s->access_fd,
		.listen_tls = tls, .tls_ctx = s->tls.ctx,
	};
	struct proc *p;
	int chan;
	pid_t pid;

	/* Room first: a third generation (HUP during a reload) waits for the
	 * retired ones to exit; the SIGCHLD of each brings us back here. */
	if (!procs_has_room(&s->procs)) {
		if (!s->table_warned)
			log_warnx("worker table full (%d entries): worker %d waits for "
			    "old workers to exit", PROCS_MAX, slot);
		s->table_warned = true;
		return;
	}
	s->table_warned = false;
	a.nlisten = sup_listen_fds(s, fds);
	sup_listen_tls(s, tls);
	pid = spawn_worker(&a, &chan);
	if (pid == -1) {
		log_warn("fork for worker %d", slot);
		p = procs_add(&s->procs, slot, s->generation, 0, -1, now, time(NULL));
		procs_to_backoff(&s->procs, p, now, SUP_FORK_RETRY_MS);
		return;
	}
	p = procs_add(&s->procs, slot, s->generation, pid, chan, now, time(NULL));
	sup_watch(s, EPOLL_CTL_ADD, EV_CHANNEL, chan, EPOLLIN);
	log_debug("worker %d (pid %d) spawned, generation %u", slot, (int)pid,
	    s->generation);
}

void
sup_close_channel(struct sup *s, struct proc *p)
{
	if (p->chan_fd == -1)
		return;
	sup_unwatch(s, p->chan_fd);
	close(p->chan_fd);
	p->chan_fd = -1;
}

/* Sends a command down p's channel. A full channel (the worker is not
 * reading) falls back to the signal the worker maps to the same intent. */
void
sup_send(struct proc *p, enum msg_type type, uint32_t deadline_ms)
{
	struct msg m;

	if (p->chan_fd == -1)
		return;     /* EOF seen: it is already on its way out */
	memset(&m, 0, sizeof(m));
	if (type == MSG_STOP_GRACEFUL)
		m.u.stop.deadline_ms = deadline_ms;
	if (channel_send(p->chan_fd, &m, type) == 0)
		return;
	log_warn("worker %d (pid %d): sending %s", p->slot, (int)p->pid,
	    msg_type_name(type));
	if (type == MSG_STOP_GRACEFUL && p->pid > 0)
		kill(p->pid, SIGTERM);
}

/* Asks p to finish its requests and exit; SIGKILL follows at the deadline. */
static void
sup_retire(struct sup *s, struct proc *p, int64_t now)
{
	if (p->pid <= 0) {
		procs_remove(&s->procs, p);
		return;
	}
	sup_send(p, MSG_STOP_GRACEFUL, (uint32_t)s->conf.graceful_timeout_ms);
	procs_retire(p, now, s->conf.graceful_timeout_ms + SUP_KILL_MARGIN_MS);
	log_debug("worker %d (pid %d, generation %u) retiring", p->slot, (int)p->pid,
	    p->generation);
}

void
sup_kill(struct proc *p)
{
	if (p->pid > 0 && !p->killed && kill(p->pid, SIGKILL) == -1)
		log_warn("kill(%d, SIGKILL)", (int)p->pid);
	p->killed = true;
}

/* Retires every serving worker and forgets the slots in backoff; the loop
 * ends when the table is empty. */
void
sup_retire_all(struct sup *s, int64_t now)
{
	s->stopping = true;
	for (int i = 0; i < PROCS_MAX; i++) {
		struct proc *p = &s->procs.p[i];

		if (p->state == PROC_BACKOFF)
			procs_remove(&s->procs, p);
		else if (p->state == PROC_STARTING || p->state == PROC_READY)
			sup_retire(s, p, now);
	}
}

/* ---- reaping ------------------------------------------------------------ */

static void
sup_log_exit(const struct proc *p, int status, enum procs_exit_kind kind)
{
	if (kind == PROCS_EXIT_ASKED || kind == PROCS_EXIT_HUNG) {
		log_info("worker %d (pid %d, generation %u) exited", p->slot,
		    (int)p->pid, p->generation);
	} else if (kind == PROCS_EXIT_RECYCLED) {
		log_info("worker %d (pid %d) exited with status 0; recycled", p->slot,
		    (int)p->pid);
	} else if (WIFSIGNALED(status)) {
		log_warnx("worker %d (pid %d) killed by signal %d", p->slot,
		    (int)p->pid, WTERMSIG(status));
	} else {
		log_warnx("worker %d (pid %d) exited with status %d", p->slot,
		    (int)p->pid, WEXITSTATUS(status));
	}
}

static void
sup_reaped(struct sup *s, struct proc *p, int status, int64_t now)
{
	enum procs_exit_kind kind;
	int delay;

	/* Whatever it sent before dying is already queued: take it all, so its
	 * final counters are in before they are retired. */
	sup_read_channel(s, p, now);
	sup_close_channel(s, p);
	sup_drain_stats(s);
	kind = procs_exited(&s->procs, p, status, s->generation, now, &delay);
	sup_log_exit(p, status, kind);
	if (kind == PROCS_EXIT_UNEXPECTED)
		s->unexpected++;
	if (delay > 0 && !s->stopping && !s->quitting) {
		log_warnx("worker %d keeps dying right after start; backing off %d ms",
		    p->slot, delay);
		procs_to_backoff(&s->procs, p, now, delay);
	} else
		procs_remove(&s->procs, p);
}

void
sup_reap(struct sup *s, int64_t now)
{
	struct proc *p;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((p = procs_by_pid(&s->procs, pid)) != NULL)
			sup_reaped(s, p, status, now);
		else if (upgrade_reaped(&s->up, pid, status, s->conf.pidfile) ==
		    UPGRADE_RESUME)
			sup_upgrade_resume(s, now);
	}
}

/* ---- deadlines and convergence ------------------------------------------ */

void
sup_deadlines(struct sup *s, int64_t now)
{
	upgrade_check_deadline(&s->up, now, s->conf.pidfile);
	for (int i = 0; i < PROCS_MAX; i++) {
		struct proc *p = &s->procs.p[i];

		if (procs_is_hung(p, now, s->conf.worker_timeout_ms) && !s->quitting) {
			log_warnx("worker %d (pid %d) sent no heartbeat for %d ms; "
			    "killing it", p->slot, (int)p->pid, s->conf.worker_timeout_ms);
			sup_kill(p);
			p->hung = true;
			s->hung++;
		} else if (p->state == PROC_STOPPING && !p->killed &&
		    now >= p->deadline_ms) {
			log_warnx("worker %d (pid %d) still running after %d ms; killing it",
			    p->slot, (int)p->pid,
			    s->conf.graceful_timeout_ms + SUP_KILL_MARGIN_MS);
			sup_kill(p);
		}
	}
}

/* Spawns missing slots of the current generation, retires surplus ones and,
 * one per ready new worker, the old generation. */
void
sup_converge(struct sup *s, int64_t now)
{
	static struct proc *in_slot[PROCS_MAX_SLOTS];
	int ready, allowed;

	/* One pass over the table, not one per slot: at max_workers that is
	 * the difference between 2,048 and 2 million looks per wake-up. */
	memset(in_slot, 0, sizeof(in_slot));
	for (int i = PROCS_MAX - 1; i >= 0; i--) {
		struct proc *p = &s->procs.p[i];

		if (p->state != PROC_FREE && p->state != PROC_STOPPING &&
		    p->generation == s->generation && p->slot >= 0 &&
		    p->slot < PROCS_MAX_SLOTS)
			in_slot[p->slot] = p;
	}
	for (int slot = 0; slot < s->target; slot++) {
		struct proc *p = in_slot[slot];

		if (p != NULL && p->state == PROC_BACKOFF && now >= p->deadline_ms) {
			procs_remove(&s->procs, p);
			p = NULL;
		}
		if (p == NULL)
			sup_spawn(s, slot, now);
	}
	for (int i = PROCS_MAX - 1; i >= 0; i--) {
		struct proc *p = &s->procs.p[i];

		/* An old generation's slot waiting out a backoff is never
		 * respawned: drop it, or its past deadline would spin us. */
		if (p->state == PROC_BACKOFF && p->generation != s->generation)
			procs_remove(&s->procs, p);
		else if (p->state != PROC_FREE && p->state != PROC_STOPPING &&
		    p->generation == s->generation && p->slot >= s->target)
			sup_retire(s, p, now);
	}
	ready = procs_count(&s->procs, s->generation, PROC_READY);
	allowed = s->target - ready;
	while (procs_old_serving(&s->procs, s->generation) > (allowed > 0 ? allowed : 0))
		sup_retire(s, procs_old_victim(&s->procs, s->generation), now);
	if (s->ready_pending && ready >= s->target) {
		s->ready_pending = false;
		if (s->up.inherited && !s->up.announced)
			sup_upgrade_ready(s);
		notify_systemd("READY=1");
		log_info("generation %u ready: %d workers", s->generation, ready);
	}
	if (procs_running(&s->procs) == procs_count(&s->procs, s->generation, PROC_READY) +
	    procs_count(&s->procs, s->generation, PROC_STARTING))
		sup_listen_close_unused(s, false);
}
