/*
 * fork() into worker_main(). Everything after fork in the child runs in a
 * copy of a single-threaded process, so ordinary calls are safe there.
 */
#include "supervisor/spawn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <bsd/unistd.h>

#include "ipc/channel.h"
#include "ipc/base/log.h"
#include "ipc/mqueue.h"
#include "server/worker.h"
#include "supervisor/config_scale.h"
#include "supervisor/daemon.h"
#include "supervisor/signals.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#define SPAWN_KEEP_MAX (WORKER_MAX_LISTEN + 8)

int
spawn_heartbeat_ms(int worker_timeout_ms)
{
	int ms = worker_timeout_ms / 4;

	if (ms > 1000)
		ms = 1000;
	return ms < 10 ? 10 : ms;
}

static int
spawn_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Closes every descriptor above 2 that is not in keep[0..n). */
static void
spawn_close_others(int *keep, int n)
{
	unsigned lo = 3;

	qsort(keep, (size_t)n, sizeof(keep[0]), spawn_cmp_int);
	for (int i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo)
			close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	close_range(lo, ~0U, 0);
}

static void
spawn_params(const struct spawn_args *a, int chan, mqd_t q, struct worker_params *p)
{
	const struct config *c = a->conf;

	memset(p, 0, sizeof(*p));
	p->slot = a->slot;
	p->generation = a->generation;
	for (int i = 0; i < a->nlisten && i < WORKER_MAX_LISTEN; i++) {
		p->listen_tls[p->nlisten] = a->listen_tls != NULL && a->listen_tls[i];
		p->listen_fds[p->nlisten++] = a->listen_fds[i];
	}
	p->tls_ctx = a->tls_ctx;
	config_scale_params(c, p);
	p->channel_fd = chan;
	p->stats_mq = q;
	strlcpy(p->root, c->root, sizeof(p->root));
	strlcpy(p->index, c->index, sizeof(p->index));
	p->autoindex = c->autoindex;
	p->dotfiles_allow = c->dotfiles_allow;
	p->site = c->site;
	strlcpy(p->access_log, c->access_log, sizeof(p->access_log));
	p->access_log_fd = a->access_log_fd;
	p->keepalive_timeout_ms = c->keepalive_timeout_ms;
	p->keepalive_requests = c->keepalive_requests;
	p->header_timeout_ms = c->header_timeout_ms;
	p->send_timeout_ms = c->send_timeout_ms;
	p->max_connections = c->max_connections;
	p->open_file_cache = c->open_file_cache;
	p->open_file_cache_inactive_ms = c->open_file_cache_inactive_ms;
	p->max_requests = c->max_requests;
	if (c->max_requests > 0 && c->max_requests_jitter > 0)
		p->max_requests += (long)arc4random_uniform(
		    (uint32_t)c->max_requests_jitter + 1);
	p->heartbeat_interval_ms = spawn_heartbeat_ms(c->worker_timeout_ms);
	p->stats_interval_ms = c->status_interval_ms / 2;
	if (p->stats_interval_ms > 1000)
		p->stats_interval_ms = 1000;
	if (p->stats_interval_ms < 50)
		p->stats_interval_ms = 50;
}

/*
 * Workers leave with _exit (no atexit handlers of the supervisor's may run
 * in them), which also skips LeakSanitizer's check: in the sanitizer build,
 * run it here, so a leak anywhere in a worker's life shows on stderr.
 */
static void __attribute__((noreturn))
spawn_exit(int code)
{
#if defined(__SANITIZE_ADDRESS__)
	if (__lsan_do_recoverable_leak_check() != 0)
		code = WORKER_EXIT_FATAL;
#endif
	_exit(code);
}

/* The child's side: never returns. */
static void __attribute__((noreturn))
spawn_child(const struct spawn_args *a, int chan)
{
	struct worker_params p;
	char err[256];
	int keep[SPAWN_KEEP_MAX], n = 0;
	mqd_t q;

	signals_reset(a->sigmask);
	/* Opened before dropping privileges: the queue is the supervisor's. */
	q = mqueue_open_send(a->stats_queue);
	keep[n++] = chan;
	keep[n++] = log_fd();
	if (a->access_log_fd >= 0)
		keep[n++] = a->access_log_fd;
	if (q != (mqd_t)-1)
		keep[n++] = (int)q;
	for (int i = 0; i < a->nlisten && n < SPAWN_KEEP_MAX; i++)
		keep[n++] = a->listen_fds[i];
	spawn_close_others(keep, n);
	setproctitle("-preforkd: worker %d (generation %u)", a->slot, a->generation);
	if (daemon_drop_privileges(a->conf->user, a->conf->group, err, sizeof(err)) == -1) {
		log_warnx("worker %d: %s", a->slot, err);
		_exit(WORKER_EXIT_FATAL);
	}
	spawn_params(a, chan, q, &p);
	spawn_exit(worker_main(&p));
}

pid_t
spawn_worker(const struct spawn_args *a, int *chan_fd)
{
	int fds[2];
	pid_t pid;

	if (channel_pair(fds) == -1)
		return -1;
	pid = fork();
	if (pid == -1) {
		int saved = errno;

		close(fds[0]);
		close(fds[1]);
		errno = saved;
		return -1;
	}
	if (pid == 0)
		spawn_child(a, fds[1]);
	close(fds[1]);
	*chan_fd = fds[0];
	return pid;
}
