/*
 * The supervisor loop, nginx-master style: one epoll wait over the signalfd,
 * every worker channel, the stats and control queues and the status FIFO,
 * with the timeout set to the nearest deadline. After each wake-up the loop
 * works through a flat list: reap, act on intents, enforce deadlines,
 * converge the worker table on the target, write status.
 *
 * The supervisor never exits because of its workers: a failed fork or a
 * crashing worker only ever leads to a (backed-off) respawn.
 */
#include "supervisor/supervisor.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bsd/libutil.h>
#include <bsd/string.h>
#include <bsd/unistd.h>

#include <openssl/ssl.h>

#include "ipc/channel.h"
#include "ipc/base/clock.h"
#include "ipc/base/log.h"
#include "ipc/mqueue.h"
#include "ipc/snapshot.h"
#include "ipc/stats.h"
#include "server/fdlimit.h"
#include "server/worker.h"
#include "supervisor/activation.h"
#include "supervisor/control.h"
#include "supervisor/agent.h"
#include "supervisor/daemon.h"
#include "supervisor/intents.h"
#include "supervisor/listen.h"
#include "supervisor/notify.h"
#include "supervisor/procs.h"
#include "supervisor/signals.h"
#include "supervisor/spawn.h"
#include "supervisor/status.h"
#include "supervisor/tls_keys.h"
#include "supervisor/upgrade.h"

#define SUP_MAX_LISTENERS (2 * CONFIG_MAX_LISTEN)

/* Every size follows the configuration's cap on workers (issue 12). */
_Static_assert(PROCS_MAX_SLOTS >= CONFIG_WORKERS_LIMIT,
    "a slot for every worker max_workers allows");
_Static_assert(PROCS_MAX >= 2 * CONFIG_WORKERS_LIMIT,
    "two full generations side by side during a reload");
_Static_assert(SNAPSHOT_MAX_WORKERS >= PROCS_MAX,
    "the status lists every entry of the table");
_Static_assert(STATUS_BUF_SIZE >= SNAPSHOT_BUF_SIZE,
    "the status buffer holds the largest snapshot");
#define SUP_PROBE_MS 50          /* status FIFO reader detection */
#define SUP_MAX_WAIT_MS 1000
#define SUP_FORK_RETRY_MS 1000     /* after fork() itself failed */
/* The worker's graceful deadline starts when it reads the message, ours when
 * we send it; a worker holding a slow client then closes it, sends its final
 * counters and exits. The margin lets it do that before SIGKILL. */
#define SUP_KILL_MARGIN_MS 2000

/* What an epoll event belongs to; the fd rides in the low 32 bits. */
enum sup_kind { EV_SIGNAL = 1, EV_CHANNEL, EV_STATSQ, EV_CTLQ, EV_FIFO, EV_WATCH,
    EV_UPGRADE, EV_AGENT };

struct listener {
	struct config_listen conf;
	int fd;
	bool active;                 /* in the current configuration */
	char actual[LISTEN_ADDR_LEN];
};

struct sup {
	struct config conf;
	int argc;
	char **argv;
	int conf_workers;            /* "workers" as last read from the config */
	int target;
	unsigned generation;
	struct procs procs;
	struct listener listeners[SUP_MAX_LISTENERS];
	int epfd, sigfd;
	sigset_t sigmask;
	mqd_t statsq, ctlq;
	char statsq_name[64], ctlq_name[64];
	bool have_status;
	bool activated;              /* listeners came from systemd, for life */
	struct status status;
	int64_t status_probe_ms, status_next_ms, status_last_ms;
	bool status_reattach;        /* a reader left while a snapshot was partial */
	int status_warned;           /* errno the FIFO could not be opened with; said so */
	bool table_warned;           /* a spawn waited for table room; said so */
	struct pidfh *pfh;
	int access_fd;               /* the access log file, for the workers */
	int64_t start_ms;
	time_t start_wall;
	struct upgrade up;           /* binary upgrade, either side (upgrade.c) */
	uint64_t reloads, unexpected, hung, dropped;
	struct intents in;
	bool stopping, quitting, ready_pending;
	struct agent agent;          /* HAProxy agent-check (agent.c) */
	struct snapshot snap;
	struct tls_state tls;
};

static uint64_t
sup_tag(enum sup_kind kind, int fd)
{
	return ((uint64_t)kind << 32) | (uint32_t)fd;
}

static int
sup_watch(struct sup *s, int op, enum sup_kind kind, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = sup_tag(kind, fd) };

	if (epoll_ctl(s->epfd, op, fd, &ev) == -1) {
		log_warn("epoll_ctl(%d, fd %d)", op, fd);
		return -1;
	}
	return 0;
}

static void
sup_unwatch(struct sup *s, int fd)
{
	(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- listeners ---------------------------------------------------------- */

static int
sup_listen_fds(const struct sup *s, int *fds)
{
	int n = 0;

	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		if (s->listeners[i].fd != -1 && s->listeners[i].active)
			fds[n++] = s->listeners[i].fd;
	return n;
}

/* The TLS flag of each socket sup_listen_fds lists, in the same order. */
static void
sup_listen_tls(const struct sup *s, unsigned char *tls)
{
	int n = 0;

	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		if (s->listeners[i].fd != -1 && s->listeners[i].active)
			tls[n++] = s->listeners[i].conf.tls;
}

static struct listener *
sup_listener_find(struct sup *s, const struct config_listen *cl)
{
	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		if (s->listeners[i].fd != -1 && s->listeners[i].active &&
		    listen_same(&s->listeners[i].conf, cl))
			return &s->listeners[i];
	return NULL;
}

static struct listener *
sup_listener_free_slot(struct sup *s)
{
	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		if (s->listeners[i].fd == -1)
			return &s->listeners[i];
	return NULL;
}

/*
 * Binds every address of c that is not open yet; the new ones are marked
 * with fresh = true in the returned set. On failure closes what it bound
 * and fills err. Existing sockets are matched by configured text and
 * resolved address, so a reload keeps them (and their queued connections).
 * Sockets from systemd are kept as they are, whatever the configuration says.
 */
static int
sup_listen_bind(struct sup *s, const struct config *c, bool *keep, char *err,
    size_t errlen)
{
	struct listener *bound[CONFIG_MAX_LISTEN];
	int nbound = 0;

	memset(keep, 0, SUP_MAX_LISTENERS * sizeof(*keep));
	if (s->activated) {
		for (int i = 0; i < SUP_MAX_LISTENERS; i++)
			keep[i] = s->listeners[i].fd != -1 && s->listeners[i].active;
		return 0;
	}
	for (int i = 0; i < c->nlisten; i++) {
		struct listener *l = sup_listener_find(s, &c->listen[i]);

		if (l != NULL) {
			keep[l - s->listeners] = true;
			l->conf.tls = c->listen[i].tls;   /* "tls" added or removed */
			continue;
		}
		if ((l = sup_listener_free_slot(s)) == NULL) {
			snprintf(err, errlen, "too many listeners");
			goto fail;
		}
		l->fd = listen_open(&c->listen[i], c->backlog, err, errlen);
		if (l->fd == -1)
			goto fail;
		l->conf = c->listen[i];
		l->active = false;      /* activated by the caller on success */
		keep[l - s->listeners] = true;
		bound[nbound++] = l;
		if (listen_actual(l->fd, l->actual, sizeof(l->actual)) == -1)
			strlcpy(l->actual, l->conf.text, sizeof(l->actual));
	}
	return 0;
fail:
	for (int i = 0; i < nbound; i++) {
		close(bound[i]->fd);
		bound[i]->fd = -1;
	}
	return -1;
}

/*
 * Takes the sockets systemd handed over, if any. They replace the "listen"
 * lines for the life of the process, as gunicorn does: the socket unit is
 * where the operator chose the addresses, and binding the configured ones
 * beside them would serve addresses nobody asked for.
 */
static int
sup_listen_activate(struct sup *s, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fds[SUP_MAX_LISTENERS];
	/* No more than a configuration may list: that is what a worker takes. */
	int n = activation_take(fds, CONFIG_MAX_LISTEN, err, errlen);

	for (int i = 0; i < n; i++) {
		struct listener *l = &s->listeners[i];

		sl = sizeof(ss);
		l->fd = fds[i];
		l->active = true;
		if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) == 0) {
			memcpy(&l->conf.addr, &ss, sl);
			l->conf.addrlen = sl;
		}
		if (listen_actual(l->fd, l->actual, sizeof(l->actual)) == -1)
			snprintf(l->actual, sizeof(l->actual), "fd %d", l->fd);
		strlcpy(l->conf.text, l->actual, sizeof(l->conf.text));
	}
	s->activated = n > 0;
	return n;
}

/* Whether the socket bound to ss is what cl asks for (port 0: any port). */
static bool
sup_listen_matches(const struct config_listen *cl, const struct sockaddr_storage *ss,
    socklen_t sl)
{
	struct config_listen c = *cl;

	if (c.addrlen != sl)
		return false;
	if (ss->ss_family == AF_INET && ((const struct sockaddr_in *)&c.addr)->sin_port == 0)
		((struct sockaddr_in *)&c.addr)->sin_port =
		    ((const struct sockaddr_in *)ss)->sin_port;
	if (ss->ss_family == AF_INET6 && ((const struct sockaddr_in6 *)&c.addr)->sin6_port == 0)
		((struct sockaddr_in6 *)&c.addr)->sin6_port =
		    ((const struct sockaddr_in6 *)ss)->sin6_port;
	return memcmp(&c.addr, ss, sl) == 0;
}

/*
 * New side of an upgrade: the old supervisor's sockets, matched to our
 * "listen" lines by address (so sup_listen_bind keeps them and only binds
 * what is new); sockets systemd handed the old one stay activated for life.
 */
static void
sup_listen_inherit(struct sup *s)
{
	for (int i = 0, n = 0; i < s->up.nlisten && n < SUP_MAX_LISTENERS; i++) {
		struct listener *l = &s->listeners[n];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = s->up.listen_fds[i];

		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
			close(fd);
			continue;
		}
		l->fd = fd;
		l->active = true;
		l->conf.addrlen = sl;
		memcpy(&l->conf.addr, &ss, sl);
		if (listen_actual(fd, l->actual, sizeof(l->actual)) == -1)
			snprintf(l->actual, sizeof(l->actual), "fd %d", fd);
		strlcpy(l->conf.text, l->actual, sizeof(l->conf.text));
		for (int k = 0; k < s->conf.nlisten && !s->up.activated; k++)
			if (sup_listen_matches(&s->conf.listen[k], &ss, sl))
				l->conf = s->conf.listen[k];
		n++;
	}
	s->activated = s->up.activated;
}

/* Makes exactly the kept listeners active; the rest stay open until no
 * worker of an older generation can still be using them. */
static void
sup_listen_commit(struct sup *s, const bool *keep)
{
	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		if (s->listeners[i].fd != -1)
			s->listeners[i].active = keep[i];
}

static void
sup_listen_close_unused(struct sup *s, bool all)
{
	for (int i = 0; i < SUP_MAX_LISTENERS; i++) {
		struct listener *l = &s->listeners[i];

		if (l->fd == -1 || (l->active && !all))
			continue;
		if (!all)
			log_info("closing listener %s: no longer configured", l->actual);
		close(l->fd);
		l->fd = -1;
		l->active = false;
	}
}

static void
sup_listen_describe(const struct sup *s, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; i < SUP_MAX_LISTENERS; i++) {
		if (s->listeners[i].fd == -1 || !s->listeners[i].active)
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ", ", len);
		strlcat(buf, s->listeners[i].actual, len);
	}
}

/* ---- workers ------------------------------------------------------------ */

/*
 * Opens the access log for the workers (issue 12): they get the descriptor
 * at spawn and on every reopen, and never open a log file themselves. On
 * failure the old descriptor is kept (reopen) or logging is off (start).
 */
static void
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
static void
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

static void
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
static void
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

static void
sup_kill(struct proc *p)
{
	if (p->pid > 0 && !p->killed && kill(p->pid, SIGKILL) == -1)
		log_warn("kill(%d, SIGKILL)", (int)p->pid);
	p->killed = true;
}

/* ---- messages ----------------------------------------------------------- */

static void
sup_take_stats(struct sup *s, const struct msg_stats *st)
{
	struct proc *p = procs_by_pid(&s->procs, st->pid);

	/* A report from a worker already reaped is older than the final one
	 * retired with it; cumulative counters make dropping it exact. */
	if (p == NULL || p->generation != st->generation || p->slot != (int)st->slot)
		return;
	procs_report(p, &st->c);
}

static void
sup_drain_stats(struct sup *s)
{
	enum msg_result why = MSG_OK;
	struct msg m;

	if (s->statsq == (mqd_t)-1)
		return;
	for (int i = 0; i < 100000; i++) {
		switch (mqueue_recv(s->statsq, &m, &why)) {
		case CHANNEL_MSG:
			if (m.h.type == MSG_STATS) {
				sup_take_stats(s, &m.u.stats);
				break;
			}
			why = MSG_ERR_TYPE;
			/* FALLTHROUGH */
		case CHANNEL_BAD:
			log_warnx("stats queue: dropped malformed message: %s",
			    msg_result_name(why));
			s->dropped++;
			break;
		case CHANNEL_AGAIN:
			return;
		default:
			log_warn("stats queue: mq_receive");
			return;
		}
	}
}

static void
sup_channel_msg(struct sup *s, struct proc *p, const struct msg *m, int64_t now)
{
	switch (m->h.type) {
	case MSG_READY:
		procs_ready(p, now);
		log_debug("worker %d (pid %d) ready", p->slot, (int)p->pid);
		break;
	case MSG_HEARTBEAT:
		procs_heartbeat(p, now);
		break;
	case MSG_STATS:
		sup_take_stats(s, &m->u.stats);
		break;
	default:
		log_warnx("worker %d channel: dropped malformed message: unexpected %s",
		    p->slot, msg_type_name(m->h.type));
		s->dropped++;
		break;
	}
}

/* Reads everything p has sent; closes the channel at EOF. */
static void
sup_read_channel(struct sup *s, struct proc *p, int64_t now)
{
	enum msg_result why = MSG_OK;
	struct msg m;

	for (int i = 0; i < 1024 && p->chan_fd != -1; i++) {
		switch (channel_recv(p->chan_fd, &m, &why)) {
		case CHANNEL_MSG:
			sup_channel_msg(s, p, &m, now);
			break;
		case CHANNEL_BAD:
			log_warnx("worker %d channel: dropped malformed message: %s",
			    p->slot, msg_result_name(why));
			s->dropped++;
			break;
		case CHANNEL_AGAIN:
			return;
		case CHANNEL_EOF:
			sup_close_channel(s, p);
			return;
		default:
			log_warn("worker %d channel: recv", p->slot);
			sup_close_channel(s, p);
			return;
		}
	}
}

/* ---- reaping ------------------------------------------------------------ */

static void sup_upgrade_resume(struct sup *s, int64_t now);

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

static void
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

/* ---- intents ------------------------------------------------------------ */

static int
sup_clamp_workers(const struct sup *s, int n)
{
	if (n < 1)
		return 1;
	return n > s->conf.max_workers ? s->conf.max_workers : n;
}

static void
sup_scale(struct sup *s, const struct intents *in)
{
	int n = s->target;

	if (in->scale_set)
		n = in->scale_abs;
	n += in->scale_rel;
	if (n != sup_clamp_workers(s, n))
		log_warnx("scaling to %d workers is outside 1..%d", n, s->conf.max_workers);
	n = sup_clamp_workers(s, n);
	if (n != s->target)
		log_info("scaling from %d to %d workers", s->target, n);
	s->target = n;
}

/* Retires every serving worker and forgets the slots in backoff; the loop
 * ends when the table is empty. */
static void
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

static void
sup_stop(struct sup *s, int64_t now)
{
	log_info("graceful stop: retiring all workers (up to %d ms)",
	    s->conf.graceful_timeout_ms);
	notify_systemd("STOPPING=1");
	sup_retire_all(s, now);
}

static void
sup_quit(struct sup *s)
{
	log_info("fast stop: killing all workers");
	notify_systemd("STOPPING=1");
	s->quitting = true;
	for (int i = 0; i < PROCS_MAX; i++) {
		struct proc *p = &s->procs.p[i];

		if (p->state == PROC_BACKOFF)
			procs_remove(&s->procs, p);
		else if (p->state != PROC_FREE) {
			sup_send(p, MSG_STOP_NOW, 0);
			sup_kill(p);
			p->state = PROC_STOPPING;
		}
	}
}

static void
sup_reopen(struct sup *s)
{
	sup_open_access_log(s);
	if (log_reopen() == -1)
		log_warn("reopening the error log");
	for (int i = 0; i < PROCS_MAX; i++) {
		struct proc *p = &s->procs.p[i];

		if (p->pid > 0 && p->chan_fd != -1 && p->state != PROC_FREE)
			sup_send_log_fds(s, p);
	}
	log_info("log files reopened");
}

/* Swaps in a validated configuration: logs, worker count, generation. */
static void
sup_reload_commit(struct sup *s, const struct config *nc)
{
	if (nc->workers != s->conf_workers)
		s->target = nc->workers;
	s->conf_workers = nc->workers;
	s->conf = *nc;
	s->target = sup_clamp_workers(s, s->target);
	if (log_open(nc->error_log) == -1)
		log_warn("error_log %s", nc->error_log);
	log_set_level((enum log_level)nc->log_level);
	sup_open_access_log(s);
	s->generation++;
	s->reloads++;
	procs_reset_backoff(&s->procs);
	s->ready_pending = true;
}

static void
sup_reload(struct sup *s)
{
	bool keep[SUP_MAX_LISTENERS];
	struct config *nc;
	char err[CONFIG_ERR_LEN];
	int test_only = 0;
	SSL_CTX *ctx = NULL;
	time_t not_after;

	notify_systemd("RELOADING=1");
	if ((nc = malloc(sizeof(*nc))) == NULL) {
		log_warn("reload failed: malloc; keeping the old configuration");
		return;
	}
	if (config_from_args(nc, s->argc, s->argv, &test_only, err, sizeof(err)) != 0 ||
	    tls_conf_load(nc, &ctx, &not_after, err, sizeof(err)) == -1 ||
	    sup_listen_bind(s, nc, keep, err, sizeof(err)) == -1) {
		log_warnx("reload failed: %s; keeping the old configuration", err);
		notify_systemd("READY=1");
		if (ctx != NULL)
			SSL_CTX_free(ctx);
		free(nc);
		return;
	}
	sup_listen_commit(s, keep);
	tls_conf_commit(&s->tls, nc, ctx, not_after);
	sup_reload_commit(s, nc);
	free(nc);
	log_info("reloaded: generation %u, %d workers", s->generation, s->target);
}

/* ---- binary upgrade (upgrade.c does the mechanics) ---------------------- */

static void
sup_upgrade_begin(struct sup *s, pid_t requester, int64_t now)
{
	int fds[SUP_MAX_LISTENERS];
	struct upgrade_start a = {
		.argv = s->argv, .listen_fds = fds, .activated = s->activated,
		.generation = s->generation, .pidfile = s->conf.pidfile,
		.sigmask = &s->sigmask, .timeout_ms = s->conf.upgrade_timeout_ms,
		.now_ms = now,
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
static void
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
static void
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
static void
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

static void
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

static void
sup_intents(struct sup *s, int64_t now)
{
	struct intents in = s->in;

	memset(&s->in, 0, sizeof(s->in));
	if (in.drain != 0)
		s->agent.drained = in.drain > 0;
	if (in.reap)
		sup_reap(s, now);
	if ((in.quit || in.stop) && upgrade_pending(&s->up))
		upgrade_cancel(&s->up, s->conf.pidfile);
	if (in.quit && !s->quitting)
		sup_quit(s);
	if (in.stop && !s->stopping && !s->quitting)
		sup_stop(s, now);
	if (s->stopping || s->quitting) {
		if (in.upgrade) {
			log_warnx("upgrade requested while stopping; ignored");
			upgrade_refuse(in.upgrade_requester);
		}
		return;
	}
	if (in.upgrade)
		sup_upgrade_begin(s, in.upgrade_requester, now);
	if (in.reload)
		sup_reload(s);
	if (in.scale_set || in.scale_rel != 0)
		sup_scale(s, &in);
	if (in.reopen)
		sup_reopen(s);
}

/* ---- deadlines and convergence ------------------------------------------ */

static void
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
static void
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

/* ---- TLS session-ticket keys -------------------------------------------- */

/* Sends the current keys down every live channel. A worker that misses
 * one rotation (full channel) keeps sealing with the previous key, which
 * every worker still accepts for two more rotations. */
static void
sup_tls_broadcast(struct sup *s)
{
	struct msg m;

	for (int i = 0; i < PROCS_MAX; i++) {
		struct proc *p = &s->procs.p[i];

		if (p->pid <= 0 || p->chan_fd == -1 || p->state == PROC_FREE)
			continue;
		memset(&m, 0, sizeof(m));
		m.u.tls_keys = s->tls.keys;
		if (channel_send(p->chan_fd, &m, MSG_TLS_KEYS) == -1)
			log_warn("worker %d (pid %d): sending tls_keys", p->slot, (int)p->pid);
	}
	explicit_bzero(&m, sizeof(m));
}

/* The first key when TLS comes up; a new one every tls_ticket_key_rotation. */
static void
sup_tls_tick(struct sup *s, int64_t now)
{
	if (s->tls.ctx == NULL || (s->tls.keys.nkeys > 0 && now < s->tls.rotate_ms))
		return;
	s->tls.rotate_ms = now + s->conf.tls_ticket_key_rotation_ms;
	if (tls_keys_rotate(&s->tls) == -1) {
		log_warn("getrandom: session-ticket keys not rotated");
		return;
	}
	if (s->tls.keys.nkeys > 1) {
		s->tls.rotations++;
		log_info("tls: session-ticket keys rotated (%" PRIu64 ")", s->tls.rotations);
	}
	sup_tls_broadcast(s);
}

/* ---- status ------------------------------------------------------------- */

static void
sup_snapshot_worker(const struct proc *p, int64_t now, struct snapshot_worker *w)
{
	w->slot = p->slot;
	w->pid = (int)p->pid;
	w->generation = p->generation;
	strlcpy(w->state, procs_state_name(p->state), sizeof(w->state));
	w->started = p->started_wall;
	w->requests = p->latest.requests;
	w->connections_active = p->latest.connections_active;
	w->heartbeat_age_ms = p->pid > 0 ? now - p->heartbeat_ms : 0;
}

static void
sup_snapshot(struct sup *s, int64_t now)
{
	struct snapshot *sn = &s->snap;

	memset(sn, 0, sizeof(*sn));
	sn->time = time(NULL);
	sn->pid = (int)getpid();
	sn->uptime_s = (double)(now - s->start_ms) / 1000.0;
	sn->generation = s->generation;
	for (int i = 0; i < SUP_MAX_LISTENERS && sn->nlisten < SNAPSHOT_MAX_LISTEN; i++)
		if (s->listeners[i].fd != -1 && s->listeners[i].active)
			strlcpy(sn->listen[sn->nlisten++], s->listeners[i].actual,
			    sizeof(sn->listen[0]));
	sn->workers_target = s->target;
	sn->workers_running = procs_running(&s->procs);
	procs_totals(&s->procs, &sn->totals);
	sn->reloads = s->reloads;
	sn->worker_exits_unexpected = s->unexpected;
	sn->workers_hung_killed = s->hung;
	sn->messages_dropped = s->dropped;
	sn->upgrades = s->up.upgrades;
	sn->upgrades_failed = s->up.upgrades_failed;
	sn->started = s->start_wall;
	if (s->conf.agent_on) {
		strlcpy(sn->agent_state, s->agent.state, sizeof(sn->agent_state));
		strlcpy(sn->agent_answer, s->agent.answer, sizeof(sn->agent_answer));
	}
	if ((sn->tls = s->tls.ctx != NULL)) {
		sn->tls_ticket_key_rotations = s->tls.rotations;
		strlcpy(sn->tls_certificate, s->tls.certificate, sizeof(sn->tls_certificate));
		sn->tls_not_after = s->tls.not_after;
	}
	for (int i = 0; i < PROCS_MAX && sn->nworkers < SNAPSHOT_MAX_WORKERS; i++)
		if (s->procs.p[i].state != PROC_FREE)
			sup_snapshot_worker(&s->procs.p[i], now,
			    &sn->workers[sn->nworkers++]);
}

static void
sup_status_detach(struct sup *s, int64_t now)
{
	if (s->status.fd != -1)
		sup_unwatch(s, s->status.fd);
	status_detach(&s->status);
	s->status_probe_ms = now;
	s->status_reattach = false;
}

/* inotify saw the FIFO opened or a reader leave (see status.c). */
static void
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

static void
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

static void
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

static void
sup_status(struct sup *s, int64_t now)
{
	/* After an upgrade the FIFO is ours once the old supervisor is done. */
	if (!s->have_status || (s->up.inherited && !s->up.handed_over))
		return;
	if (s->status.fd == -1 && now >= s->status_probe_ms)
		sup_status_probe(s, now);
	if (s->status.fd == -1 || now < s->status_next_ms)
		return;
	s->status_next_ms = now + s->conf.status_interval_ms;
	s->status_last_ms = now;
	if (status_pending(&s->status))
		return;     /* a slow reader skips snapshots, never blocks us */
	sup_drain_stats(s);
	sup_snapshot(s, now);
	if (status_encode(&s->status, &s->snap, s->conf.status_format) == -1) {
		log_warnx("status_pipe: snapshot does not fit the buffer");
		return;
	}
	sup_status_flush(s, now);
}

static int
sup_timeout(const struct sup *s, int64_t now)
{
	int64_t next = procs_next_deadline(&s->procs, s->conf.worker_timeout_ms);

	if (s->have_status && !s->stopping && !s->quitting) {
		int64_t st = s->status.fd == -1 ? s->status_probe_ms : s->status_next_ms;

		if (st < next)
			next = st;
	}
	if (s->tls.ctx != NULL && s->tls.rotate_ms < next)
		next = s->tls.rotate_ms;
	if (next <= now)
		return 0;
	return next - now > SUP_MAX_WAIT_MS ? SUP_MAX_WAIT_MS : (int)(next - now);
}

/* ---- the agent ---------------------------------------------------------- */

/*
 * Brings the agent's socket and answer up to date. Its socket is open while
 * agent_listen is set, except across a binary upgrade: the new supervisor
 * opens it once it has told the old one it is ready, the old one closes it
 * then, so the balancer never hears "down" from a half-started instance.
 */
static void
sup_agent(struct sup *s, int64_t now)
{
	struct agent_load l;
	char err[CONFIG_ERR_LEN];
	bool want = s->conf.agent_on && !s->up.ready &&
	    (!s->up.inherited || s->up.announced);
	int old, r;

	agent_load_from(&s->procs, s->target, &s->conf, s->stopping, now, &l);
	agent_decide(s->agent.drained, &l, s->agent.state, s->agent.answer);
	r = agent_sync(&s->agent, want ? &s->conf.agent : NULL, now, &old, err, sizeof(err));
	if (old != -1)
		sup_unwatch(s, old);
	if (r == -1)
		log_warnx("%s", err);
	else if (r == 1 && s->agent.fd != -1)
		sup_watch(s, EPOLL_CTL_ADD, EV_AGENT, s->agent.fd, EPOLLIN);
}

/* ---- the loop ----------------------------------------------------------- */

static void
sup_event(struct sup *s, const struct epoll_event *ev, int64_t now)
{
	enum sup_kind kind = (enum sup_kind)(ev->data.u64 >> 32);
	int fd = (int)(uint32_t)ev->data.u64;
	struct proc *p;

	switch (kind) {
	case EV_SIGNAL:
		if (signals_read(fd, &s->in) == -1)
			log_warn("signalfd read");
		break;
	case EV_CHANNEL:
		if ((p = procs_by_fd(&s->procs, fd)) != NULL)
			sup_read_channel(s, p, now);
		else
			sup_unwatch(s, fd);
		break;
	case EV_STATSQ:
		sup_drain_stats(s);
		break;
	case EV_CTLQ:
		control_drain(s->ctlq, &s->in, &s->dropped);
		break;
	case EV_FIFO:
		if (fd != s->status.fd)
			break;
		if (ev->events & (EPOLLERR | EPOLLHUP))
			sup_status_detach(s, now);
		else if (ev->events & EPOLLOUT)
			sup_status_flush(s, now);
		break;
	case EV_WATCH:
		sup_status_watch(s, now);
		break;
	case EV_UPGRADE:
		sup_upgrade_event(s, fd, now);
		break;
	case EV_AGENT:
		sup_agent(s, now);
		agent_serve(&s->agent);
		break;
	}
}

static bool
sup_done(const struct sup *s)
{
	if (!s->stopping && !s->quitting)
		return false;
	for (int i = 0; i < PROCS_MAX; i++)
		if (s->procs.p[i].state != PROC_FREE)
			return false;
	return true;
}

static void
sup_loop(struct sup *s)
{
	struct epoll_event evs[64];
	int64_t now;
	int n;

	/* The first generation before the first wait, which could otherwise
	 * sleep up to SUP_MAX_WAIT_MS before anything serves. */
	sup_tls_tick(s, clock_mono_ms());
	sup_converge(s, clock_mono_ms());
	for (;;) {
		now = clock_mono_ms();
		n = epoll_wait(s->epfd, evs, 64, sup_timeout(s, now));
		if (n == -1 && errno != EINTR)
			fatal("epoll_wait");
		now = clock_mono_ms();
		for (int i = 0; i < n; i++)
			sup_event(s, &evs[i], now);
		sup_intents(s, now);
		sup_deadlines(s, now);
		sup_agent(s, now);
		if (sup_done(s))
			return;
		if (!s->stopping && !s->quitting) {
			sup_tls_tick(s, now);
			sup_converge(s, now);
			sup_status(s, now);
		}
	}
}

/* ---- setup and teardown ------------------------------------------------- */

static int
sup_queues(struct sup *s)
{
	pid_t pid = getpid();
	char usual[64];

	s->statsq = mqueue_create_ours(s->statsq_name, sizeof(s->statsq_name), pid,
	    "stats", mqueue_msg_max(), 0600);
	if (s->statsq == (mqd_t)-1) {
		log_warn("mq_open(%s)", s->statsq_name);
		return -1;
	}
	s->ctlq = mqueue_create_ours(s->ctlq_name, sizeof(s->ctlq_name), pid, "ctl",
	    10, 0600);
	if (s->ctlq == (mqd_t)-1) {
		log_warn("mq_open(%s)", s->ctlq_name);
		return -1;
	}
	/* preforkctl finds a renamed queue by its pid prefix and owner. */
	if (mqueue_name(usual, sizeof(usual), pid, "ctl") == 0 &&
	    strcmp(usual, s->ctlq_name) != 0)
		log_warnx("queue %s belongs to another user; using %s", usual,
		    s->ctlq_name);
	if (mqueue_name(usual, sizeof(usual), pid, "stats") == 0 &&
	    strcmp(usual, s->statsq_name) != 0)
		log_warnx("queue %s belongs to another user; using %s", usual,
		    s->statsq_name);
	return 0;
}

static int
sup_events_open(struct sup *s)
{
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("epoll_create1");
		return -1;
	}
	if ((s->sigfd = signals_open(&s->sigmask)) == -1) {
		log_warn("signalfd");
		return -1;
	}
	if (sup_watch(s, EPOLL_CTL_ADD, EV_SIGNAL, s->sigfd, EPOLLIN) == -1 ||
	    sup_watch(s, EPOLL_CTL_ADD, EV_STATSQ, (int)s->statsq, EPOLLIN) == -1 ||
	    sup_watch(s, EPOLL_CTL_ADD, EV_CTLQ, (int)s->ctlq, EPOLLIN) == -1)
		return -1;
	if (s->have_status && s->status.watch != -1 &&
	    sup_watch(s, EPOLL_CTL_ADD, EV_WATCH, s->status.watch, EPOLLIN) == -1)
		return -1;
	if (s->agent.fd != -1 &&
	    sup_watch(s, EPOLL_CTL_ADD, EV_AGENT, s->agent.fd, EPOLLIN) == -1)
		return -1;
	return 0;
}

static void
sup_cleanup(struct sup *s)
{
	sup_drain_stats(s);
	sup_listen_close_unused(s, true);
	agent_close(&s->agent);
	/* The FIFO belongs to whichever supervisor serves: not removed by
	 * one that handed over, nor by a new one that never took over. */
	if (s->have_status)
		status_close(&s->status, !s->up.ready &&
		    (!s->up.inherited || s->up.handed_over));
	if (s->statsq != (mqd_t)-1) {
		mq_close(s->statsq);
		mq_unlink(s->statsq_name);
	}
	if (s->ctlq != (mqd_t)-1) {
		mq_close(s->ctlq);
		mq_unlink(s->ctlq_name);
	}
	if (s->access_fd != -1)
		close(s->access_fd);
	if (s->pfh != NULL && s->up.ready)
		pidfile_close(s->pfh);  /* PIDFILE is the new one's now */
	else if (s->pfh != NULL)
		pidfile_remove(s->pfh);
	if (s->epfd != -1)
		close(s->epfd);
	if (s->sigfd != -1)
		close(s->sigfd);
	tls_state_free(&s->tls);
}

/* Everything that can fail with a message on the terminal: the pidfile lock,
 * the listeners, the FIFO, the error log. Done before daemonizing. */
static int
sup_prepare(struct sup *s)
{
	bool keep[SUP_MAX_LISTENERS];
	char err[CONFIG_ERR_LEN];
	SSL_CTX *ctx = NULL;
	time_t not_after;

	/* A new supervisor of an upgrade takes the pidfile once it is ready. */
	if (s->conf.pidfile[0] != '\0' && !s->up.inherited &&
	    (s->pfh = daemon_pidfile_open(s->conf.pidfile, err, sizeof(err))) == NULL)
		goto fail;
	if (s->up.inherited)
		sup_listen_inherit(s);
	else if (sup_listen_activate(s, err, sizeof(err)) == -1)
		goto fail;
	if (sup_listen_bind(s, &s->conf, keep, err, sizeof(err)) == -1)
		goto fail;
	sup_listen_commit(s, keep);
	/* An unbindable agent address fails the start like a listen line. */
	if (s->conf.agent_on && !s->up.inherited &&
	    agent_sync(&s->agent, &s->conf.agent, 0, &(int){ 0 }, err, sizeof(err)) == -1)
		goto fail;
	if (tls_conf_load(&s->conf, &ctx, &not_after, err, sizeof(err)) == -1)
		goto fail;
	tls_conf_commit(&s->tls, &s->conf, ctx, not_after);
	if (s->conf.status_pipe[0] != '\0') {
		if (status_open(&s->status, s->conf.status_pipe, err, sizeof(err)) == -1)
			goto fail;
		s->have_status = true;
	}
	if (log_open(s->conf.error_log) == -1) {
		log_warn("error_log %s", s->conf.error_log);
		return -1;
	}
	log_set_level((enum log_level)s->conf.log_level);
	sup_open_access_log(s);
	return 0;
fail:
	log_warnx("%s", err);
	return -1;
}

/*
 * Raises the soft open-file limit to the hard one; workers inherit it and
 * derive the same connection limit. A channel per worker, two generations
 * at the peak of a reload: 1,024 workers need over 2,048 descriptors in the
 * supervisor, so say when even the hard limit is too low for max_workers.
 */
static void
sup_fd_budget(struct sup *s)
{
	int fds[WORKER_MAX_LISTEN];
	long nofile = fdlimit_raise();
	int nlisten = sup_listen_fds(s, fds);
	long need = 2L * s->conf.max_workers + SUP_MAX_LISTENERS + 64;

	log_info("descriptors: limit %ld; per-worker connection limit %d "
	    "(max_connections %d, %d kept in reserve)", nofile,
	    fdlimit_conns(s->conf.max_connections, nlisten, nofile),
	    s->conf.max_connections, FDLIMIT_FIXED + FDLIMIT_FILE_CACHE +
	    FDLIMIT_SPARE + nlisten);
	if (nofile < need)
		log_warnx("open file limit %ld is below the %ld that max_workers = %d "
		    "needs at a reload; raise LimitNOFILE", nofile, need, s->conf.max_workers);
}

static int
sup_start(struct sup *s)
{
	char where[512];

	if (sup_prepare(s) == -1)
		return -1;
	if (s->conf.daemon && !s->up.inherited && daemon_detach() == -1) {
		log_warn("daemon");
		return -1;
	}
	if (s->pfh != NULL && pidfile_write(s->pfh) == -1)
		log_warn("pidfile %s: write", s->conf.pidfile);
	if (sup_queues(s) == -1 || sup_events_open(s) == -1)
		return -1;
	setproctitle("-preforkd: supervisor");
	s->start_ms = clock_mono_ms();
	s->start_wall = time(NULL);
	s->status_probe_ms = s->start_ms;
	sup_listen_describe(s, where, sizeof(where));
	log_info("preforkd started: pid %d, %d workers, listening on %s",
	    (int)getpid(), s->target, where);
	if (s->activated)
		log_info("socket activation: serving the sockets systemd handed over; "
		    "listen lines in the configuration are not used");
	sup_fd_budget(s);
	return 0;
}

static void
sup_init(struct sup *s, struct config *conf, int argc, char **argv)
{
	memset(s, 0, sizeof(*s));
	s->conf = *conf;
	s->argc = argc;
	s->argv = argv;
	s->conf_workers = conf->workers;
	s->generation = 1;
	s->ready_pending = true;
	s->epfd = s->sigfd = s->access_fd = -1;
	s->statsq = s->ctlq = (mqd_t)-1;
	s->status.fd = -1;
	agent_init(&s->agent);
	procs_init(&s->procs);
	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		s->listeners[i].fd = -1;
	s->target = sup_clamp_workers(s, conf->workers);
}

int
supervisor_run(struct config *conf, int argc, char **argv)
{
	static struct sup sup;     /* large; one per process */
	struct sup *s = &sup;
	int rc = 1;

	sup_init(s, conf, argc, argv);
	if (upgrade_init(&s->up, argv[0]) == 0 && sup_start(s) == 0) {
		if (s->up.inherited)
			s->generation = s->up.generation + 1;
		if (s->up.parent_fd != -1)
			sup_watch(s, EPOLL_CTL_ADD, EV_UPGRADE, s->up.parent_fd, EPOLLIN);
		sup_loop(s);
		if (s->up.ready)
			sup_upgrade_hand_over(s);
		log_info(s->up.ready ? "preforkd stopped: upgraded" :
		    "preforkd stopped");
		rc = 0;
	}
	sup_cleanup(s);
	return rc;
}
