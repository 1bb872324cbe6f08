/*
 * The supervisor loop, nginx-master style: one epoll wait over the signalfd,
 * every worker channel, the stats and control queues and the status FIFO,
 * with the timeout set to the nearest deadline. After each wake-up the loop
 * works through a flat list: reap, act on intents, enforce deadlines,
 * converge the worker table on the target, write status.
 *
 * The supervisor never exits because of its workers: a failed fork or a
 * crashing worker only ever leads to a (backed-off) respawn.
 *
 * This file holds the loop, its timers (TLS key rotation, the status
 * interval, the agent), the snapshot and setup and teardown; the other
 * parts are in sup_*.c, listed in sup_internal.h.
 */
#include "supervisor/supervisor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
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
#include "server/fdlimit.h"
#include "server/worker.h"
#include "supervisor/agent.h"
#include "supervisor/control.h"
#include "supervisor/daemon.h"
#include "supervisor/signals.h"
#include "supervisor/status.h"
#include "supervisor/sup_internal.h"
#include "supervisor/tls_keys.h"
#include "supervisor/upgrade.h"

/* Every size follows the configuration's cap on workers (issue 12). */
_Static_assert(PROCS_MAX_SLOTS >= CONFIG_WORKERS_LIMIT,
    "a slot for every worker max_workers allows");
_Static_assert(PROCS_MAX >= 2 * CONFIG_WORKERS_LIMIT,
    "two full generations side by side during a reload");
_Static_assert(SNAPSHOT_MAX_WORKERS >= PROCS_MAX,
    "the status lists every entry of the table");
_Static_assert(STATUS_BUF_SIZE >= SNAPSHOT_BUF_SIZE,
    "the status buffer holds the largest snapshot");


static uint64_t
sup_tag(enum sup_kind kind, int fd)
{
	return ((uint64_t)kind << 32) | (uint32_t)fd;
}

int
sup_watch(struct sup *s, int op, enum sup_kind kind, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = sup_tag(kind, fd) };

	if (epoll_ctl(s->epfd, op, fd, &ev) == -1) {
		log_warn("epoll_ctl(%d, fd %d)", op, fd);
		return -1;
	}
	return 0;
}

void
sup_unwatch(struct sup *s, int fd)
{
	(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
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
	const struct config *c = &s->conf;
	int fds[WORKER_MAX_LISTEN];
	long nofile = fdlimit_raise();
	int nlisten = sup_listen_fds(s, fds);
	long need = 2L * c->max_workers + SUP_MAX_LISTENERS + 64;

	log_info("descriptors: limit %ld; per-worker connection limit %d "
	    "(max_connections %d, %ld kept in reserve); open-file cache %d "
	    "(open_file_cache %d)", nofile,
	    fdlimit_conns(c->max_connections, c->open_file_cache, nlisten, nofile),
	    c->max_connections,
	    fdlimit_reserve(c->max_connections, c->open_file_cache, nlisten, nofile),
	    fdlimit_file_cache(c->max_connections, c->open_file_cache, nlisten, nofile),
	    c->open_file_cache);
	if (nofile < need)
		log_warnx("open file limit %ld is below the %ld that max_workers = %d "
		    "needs at a reload; raise LimitNOFILE", nofile, need, c->max_workers);
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
		(void)upgrade_take_keys(&s->up, &s->tls, clock_mono_ms());
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
