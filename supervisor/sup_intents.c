/*
 * Acting on intents: signals and control messages only record what was
 * asked (intents.h); sup_intents() does it, once per wake-up and in a fixed
 * order: reap, stop or quit, upgrade, reload, scale, reopen. A reload that
 * fails keeps the old configuration serving.
 */
#include "supervisor/sup_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "ipc/base/log.h"
#include "supervisor/notify.h"

int
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

static void
sup_stop(struct sup *s, int64_t now)
{
	log_info("graceful stop: retiring all workers (up to %d ms)",
	    s->conf.graceful_timeout_ms);
	notify_systemd("STOPPING=1");
	sup_retire_all(s, now);
}

void
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

void
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
