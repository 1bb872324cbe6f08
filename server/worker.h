/*
 * The worker's entry point. The supervisor forks, drops privileges, fills a
 * worker_params (server/worker_params.h) from its config and calls
 * worker_main(); server/ never sees the supervisor's config struct, so the
 * layers stay apart (docs/ARCHITECTURE.md, "Folders").
 */
#ifndef PREFORKD_WORKER_H
#define PREFORKD_WORKER_H

#include "ipc/limits.h"
#include "server/worker_params.h"

/* Exit statuses with a meaning for the supervisor. */
#define WORKER_EXIT_OK 0        /* graceful: retired, recycled or stopped */
#define WORKER_EXIT_FATAL 2     /* could not initialise: back off */

/* Runs the worker until it is told to stop, its supervisor goes away or it
 * has served max_requests. Returns the process exit status. */
int worker_main(const struct worker_params *p);

#endif
