/*
 * The worker process: one event loop over the inherited listeners, the
 * channel to the supervisor and a signalfd; the heartbeat, stats and log
 * flush timers; the graceful drain (docs/ARCHITECTURE.md, "The life of a
 * reload").
 */
#include "server/worker.h"
#include "ipc/base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "ipc/base/clock.h"
#include "ipc/base/log.h"
#include "ipc/mqueue.h"
#include "ipc/msg.h"
#include "server/accesslog.h"
#include "server/conn.h"
#include "server/fdlimit.h"
#include "server/file.h"
#include "server/loop.h"
#include "server/mimefile.h"
#include "server/tls.h"

#define WORKER_DEFAULT_INTERVAL_MS 1000
#define WORKER_ORPHAN_GRACE_MS 30000  /* drain time when the supervisor is gone */
#define WORKER_FLUSH_MS 1000
#define WORKER_SWEEP_MIN_MS 50         /* however short open_file_cache_inactive is */

struct worker {
	const struct worker_params *p;
	pid_t pid;                 /* for the stats payload; msg_encode still
	                              * calls getpid() for every header */
	struct loop *loop;
	int rootfd;
	struct file_cache *fc;
	struct accesslog alog;
	struct conn_ctx cx;
	struct loop_io chan;
	struct loop_io sig;
	struct loop_timer heartbeat, stats, flush, deadline, sweep;
	int ready;                 /* initialised: connections and stats to wind up */
	int stopping;
	int done;                  /* leave the loop */
	int graceful;              /* ... with the final report */
};

static int
interval(int ms)
{
	return ms > 0 ? ms : WORKER_DEFAULT_INTERVAL_MS;
}

static void
worker_stats_msg(struct worker *w, struct msg *m, int final)
{
	memset(m, 0, sizeof(*m));
	m->u.stats.slot = (uint32_t)w->p->slot;
	m->u.stats.generation = w->p->generation;
	m->u.stats.pid = (int32_t)w->pid;
	m->u.stats.final = (uint32_t)final;
	m->u.stats.c = w->cx.stats;
}

static void
worker_send_stats(struct worker *w, int final)
{
	struct msg m;

	worker_stats_msg(w, &m, final);
	/* Non-blocking: a full queue only delays a cumulative report. */
	if (w->p->stats_mq != (mqd_t)-1)
		mqueue_send(w->p->stats_mq, &m, MSG_STATS);
	if (final && w->chan.fd != -1) {
		worker_stats_msg(w, &m, final);
		if (channel_send(w->chan.fd, &m, MSG_STATS) == -1)
			log_warn("channel_send(final stats)");
	}
}

static void
worker_flush_log(struct worker *w)
{
	if (accesslog_flush(&w->alog) == -1 && !w->cx.log_failed) {
		w->cx.log_failed = 1;
		log_warn("access log write(%s)", w->p->access_log);
	}
}

/* --- timers ------------------------------------------------------------ */

static void
worker_heartbeat(struct loop *l, struct loop_timer *t)
{
	struct worker *w = t->data;
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.u.heartbeat.mono_ms = (uint64_t)clock_mono_ms();
	m.u.heartbeat.connections_active = (uint32_t)w->cx.nconns;
	if (w->chan.fd != -1)
		channel_send(w->chan.fd, &m, MSG_HEARTBEAT);
	loop_timer_add(l, t, interval(w->p->heartbeat_interval_ms));
}

static void
worker_stats_tick(struct loop *l, struct loop_timer *t)
{
	struct worker *w = t->data;

	worker_send_stats(w, 0);
	loop_timer_add(l, t, interval(w->p->stats_interval_ms));
}

static void
worker_flush_tick(struct loop *l, struct loop_timer *t)
{
	struct worker *w = t->data;

	worker_flush_log(w);
	loop_timer_add(l, t, WORKER_FLUSH_MS);
}

/* Twice per open_file_cache_inactive: an idle entry is closed between
 * one and one and a half times that after its last use. */
static int
worker_sweep_ms(const struct worker_params *p)
{
	int ms = p->open_file_cache_inactive_ms / 2;

	return ms < WORKER_SWEEP_MIN_MS ? WORKER_SWEEP_MIN_MS : ms;
}

static void
worker_sweep_tick(struct loop *l, struct loop_timer *t)
{
	struct worker *w = t->data;

	file_cache_sweep(w->fc, loop_now(l), w->p->open_file_cache_inactive_ms);
	loop_timer_add(l, t, worker_sweep_ms(w->p));
}

static void
worker_deadline(struct loop *l, struct loop_timer *t)
{
	struct worker *w = t->data;

	(void)l;
	w->done = 1;
}

/* --- stopping ---------------------------------------------------------- */

/* Stops accepting (the supervisor keeps the sockets, so pending connections
 * go to other workers) and lets requests in flight finish until deadline. */
static void
worker_stop_graceful(struct worker *w, int deadline_ms, const char *why)
{
	w->graceful = 1;
	if (w->stopping)
		return;
	w->stopping = 1;
	log_debug("worker %d: graceful stop (%s), %d connections", w->p->slot, why,
	    w->cx.nconns);
	conn_stop_graceful(&w->cx);
	loop_timer_add(w->loop, &w->deadline, deadline_ms > 0 ? deadline_ms : 0);
}

static void
worker_stop_now(struct worker *w)
{
	w->done = 1;
	w->graceful = 0;
}

/* --- inputs ------------------------------------------------------------ */

static void
worker_chan_gone(struct worker *w)
{
	loop_io_del(w->loop, &w->chan);
	close(w->chan.fd);
	w->chan.fd = -1;
	worker_stop_graceful(w, WORKER_ORPHAN_GRACE_MS, "supervisor gone");
}

/*
 * The supervisor reopened the logs and sent the new descriptors: the worker
 * opens nothing itself, so its user needs no right on the log directory.
 */
static void
worker_log_fds(struct worker *w, const struct msg_log_fds *l, int *fds, int nfds)
{
	int i = 0;

	if (nfds != (int)(l->error_log + l->access_log)) {
		log_warnx("worker %d: log_fds with %d descriptors, expected %u",
		    w->p->slot, nfds, l->error_log + l->access_log);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return;
	}
	if (l->error_log && log_adopt(fds[i++]) == -1)
		log_warn("worker %d: error log dup2", w->p->slot);
	if (l->access_log && accesslog_adopt(&w->alog, fds[i++]) == -1)
		log_warn("access log write(%s)", w->p->access_log);
	w->cx.log_failed = 0;
	file_cache_drop_all(w->fc);
}

static void
worker_command(struct worker *w, const struct msg *m, int *fds, int nfds)
{
	if (m->h.type != MSG_LOG_FDS)
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	switch (m->h.type) {
	case MSG_STOP_GRACEFUL:
		worker_stop_graceful(w, (int)m->u.stop.deadline_ms, "told to");
		break;
	case MSG_STOP_NOW:
		worker_stop_now(w);
		break;
	case MSG_LOG_FDS:
		worker_log_fds(w, &m->u.log_fds, fds, nfds);
		break;
	case MSG_REOPEN_LOGS:
		if (log_reopen() == -1)
			log_warn("log_reopen");
		if (accesslog_reopen(&w->alog) == -1)
			log_warn("access log reopen(%s)", w->p->access_log);
		w->cx.log_failed = 0;
		file_cache_drop_all(w->fc);
		break;
	case MSG_TLS_KEYS:
		tls_ticket_keys_set(&m->u.tls_keys);
		break;
	default:
		log_warnx("worker %d: unexpected %s on the channel", w->p->slot,
		    msg_type_name(m->h.type));
		break;
	}
}

static void
worker_chan_event(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct worker *w = container_of(io, struct worker, chan);
	int fds[CHANNEL_MAX_FDS], nfds;
	enum msg_result why;
	struct msg m;
	int n;

	(void)l;
	(void)events;
	for (n = 0; n < 64 && w->chan.fd != -1; n++) {
		switch (channel_recv_fds(io->fd, &m, &why, fds, &nfds)) {
		case CHANNEL_MSG:
			worker_command(w, &m, fds, nfds);
			break;
		case CHANNEL_AGAIN:
			return;
		case CHANNEL_BAD:
			log_warnx("worker %d: bad channel message: %s", w->p->slot,
			    msg_result_name(why));
			break;
		case CHANNEL_EOF:
		case CHANNEL_ERROR:
		default:
			worker_chan_gone(w);
			return;
		}
	}
}

static void
worker_sig_event(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct worker *w = container_of(io, struct worker, sig);
	struct signalfd_siginfo si;

	(void)l;
	(void)events;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGINT)
			worker_stop_now(w);
		else
			worker_stop_graceful(w, WORKER_ORPHAN_GRACE_MS, "signal");
	}
}

/* --- setup ------------------------------------------------------------- */

/* TERM/QUIT (graceful) and INT (now) arrive on a signalfd; the supervisor's
 * own signals are ignored here, since its commands come by the channel. */
static int
worker_signals(void)
{
	static const int ignored[] = { SIGPIPE, SIGHUP, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU };
	struct sigaction sa;
	sigset_t set;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < nitems(ignored); i++)
		sigaction(ignored[i], &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	if (sigprocmask(SIG_SETMASK, &set, NULL) == -1)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void
worker_timer_init(struct worker *w, struct loop_timer *t, loop_timer_cb *cb, int ms)
{
	t->cb = cb;
	t->data = w;
	if (ms >= 0)
		loop_timer_add(w->loop, t, ms);
}

/* The open-file cache the descriptor budget allows. Its bodies are one
 * reservation of entries × 16 KiB, touched only as files use them; where
 * the address space is capped too low for that, the floor still serves. */
static struct file_cache *
worker_file_cache(int rootfd, const struct worker_params *p)
{
	int n = fdlimit_file_cache(p->max_connections, p->open_file_cache,
	    p->nlisten, fdlimit_current());
	struct file_cache *fc = file_cache_new(rootfd, n);

	if (fc == NULL && n > FDLIMIT_FILE_CACHE) {
		log_warnx("open-file cache of %d entries: out of memory; %d instead",
		    n, FDLIMIT_FILE_CACHE);
		fc = file_cache_new(rootfd, FDLIMIT_FILE_CACHE);
	}
	return fc;
}

static int
worker_init(struct worker *w, const struct worker_params *p)
{
	const char *what;
	struct msg m;

	w->p = p;
	w->pid = getpid();
	w->chan.fd = -1;
	w->rootfd = -1;
	what = "signalfd";
	if ((w->sig.fd = worker_signals()) == -1)
		goto fail;
	what = p->root;
	if ((w->rootfd = open(p->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto fail;
	if (p->access_log_fd >= 0 ? accesslog_open_fd(&w->alog, p->access_log_fd) == -1 :
	    accesslog_open(&w->alog, p->access_log) == -1) {
		/* Serving matters more than logging it. */
		log_warn("access log open(%s): logging off", p->access_log);
		accesslog_open(&w->alog, "off");
	}
	what = "file cache";
	if ((w->fc = worker_file_cache(w->rootfd, p)) == NULL)
		goto fail;
	file_cache_probe_siblings(w->fc, p->site.precompressed);
	if (p->site.mime_types[0] != '\0' && mimefile_load(p->site.mime_types, NULL, 0) == -1)
		log_warn("mime_types %s: only the built-in types", p->site.mime_types);
	what = "epoll_create1";
	if ((w->loop = loop_new(256)) == NULL)
		goto fail;
	what = "epoll_ctl(listeners)";
	if (conn_ctx_init(&w->cx, w->loop, p, w->rootfd, w->fc, &w->alog) == -1)
		goto fail;
	what = "epoll_ctl(signalfd)";
	w->sig.cb = worker_sig_event;
	if (loop_io_add(w->loop, &w->sig, EPOLLIN) == -1)
		goto fail;
	what = "epoll_ctl(channel)";
	w->chan.fd = p->channel_fd;
	w->chan.cb = worker_chan_event;
	if (w->chan.fd != -1 && loop_io_add(w->loop, &w->chan, EPOLLIN) == -1)
		goto fail;
	worker_timer_init(w, &w->heartbeat, worker_heartbeat, interval(p->heartbeat_interval_ms));
	worker_timer_init(w, &w->stats, worker_stats_tick, interval(p->stats_interval_ms));
	worker_timer_init(w, &w->flush, worker_flush_tick, WORKER_FLUSH_MS);
	worker_timer_init(w, &w->deadline, worker_deadline, -1);
	worker_timer_init(w, &w->sweep, worker_sweep_tick, worker_sweep_ms(p));
	memset(&m, 0, sizeof(m));
	m.u.ready.slot = (uint32_t)p->slot;
	m.u.ready.generation = p->generation;
	if (w->chan.fd != -1 && channel_send(w->chan.fd, &m, MSG_READY) == -1)
		log_warn("channel_send(ready)");
	w->ready = 1;
	return 0;
fail:
	log_warn("worker %d: %s", p->slot, what);
	return -1;
}

static void
worker_fini(struct worker *w)
{
	if (w->ready) {
		/* Connections cut short still count their request, before the
		 * last report. */
		conn_close_all(&w->cx);
		conn_ctx_free(&w->cx);
		worker_send_stats(w, w->graceful);
	}
	worker_flush_log(w);
	accesslog_close(&w->alog);
	file_cache_free(w->fc);
	loop_free(w->loop);
	if (w->rootfd != -1)
		close(w->rootfd);
	if (w->sig.fd != -1)
		close(w->sig.fd);
	if (w->chan.fd != -1)
		close(w->chan.fd);
}

int
worker_main(const struct worker_params *p)
{
	struct worker w;

	memset(&w, 0, sizeof(w));
	w.alog.fd = -1;
	if (worker_init(&w, p) == -1) {
		worker_fini(&w);
		return WORKER_EXIT_FATAL;
	}
	while (!w.done) {
		if (loop_run_once(w.loop) == -1) {
			log_warn("epoll_wait");
			break;
		}
		if (w.cx.want_stop && !w.stopping)
			worker_stop_graceful(&w, WORKER_ORPHAN_GRACE_MS, "max_requests");
		if (w.stopping && w.cx.nconns == 0)
			w.done = 1;
	}
	worker_fini(&w);
	return WORKER_EXIT_OK;
}
