/*
 * Forking a worker. The child keeps only what is its own (stdio, the error
 * log, the listeners, its channel end, a fresh send descriptor on the stats
 * queue), so no worker holds another's channel or the supervisor's queue
 * receive ends: when the supervisor dies, every worker sees EOF.
 */
#ifndef PREFORKD_SPAWN_H
#define PREFORKD_SPAWN_H

#include <signal.h>
#include <sys/types.h>

#include "supervisor/config.h"

struct ssl_ctx_st;

struct spawn_args {
	const struct config *conf;
	const int *listen_fds;
	int nlisten;
	const char *stats_queue;     /* name, opened for sending in the child */
	int access_log_fd;           /* opened by the supervisor, or -1 */
	const sigset_t *sigmask;     /* the mask to restore in the child */
	int slot;
	unsigned generation;
	const unsigned char *listen_tls;  /* per listen_fds entry: 1 = TLS */
	struct ssl_ctx_st *tls_ctx;       /* inherited by the fork; NULL without TLS */
};

/* Forks one worker. Returns its pid and the supervisor's channel end in
 * *chan_fd, or -1 with errno (nothing left open). */
pid_t spawn_worker(const struct spawn_args *a, int *chan_fd);
/* Heartbeat interval for a worker_timeout: min(1 s, timeout / 4). */
int spawn_heartbeat_ms(int worker_timeout_ms);

#endif
