/*
 * The HAProxy agent-check answerer. The supervisor, never a worker, owns
 * the socket, so it answers while every worker is busy: one line per
 * connection, then close.
 *
 *   drain          after "preforkctl drain", and from the start of a
 *                  graceful stop (HAProxy sends no new connections)
 *   down           no worker is ready
 *   up ready NN%   NN from the live load: the free connection slots of
 *                  the healthy ready workers against what a full, healthy
 *                  generation would have (a worker in backoff, starting or
 *                  late with its heartbeat offers nothing), 1..100
 *
 * agent_decide() is pure, for the unit tests; the rest does the sockets.
 */
#ifndef PREFORKD_AGENT_H
#define PREFORKD_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supervisor/config.h"
#include "supervisor/procs.h"

#define AGENT_STATE_LEN 16
#define AGENT_ANSWER_LEN 32

struct agent_load {
	int target;               /* workers the generation should have */
	int ready;                /* ready workers of the current generation */
	int healthy;              /* ... of them heartbeating on time */
	uint64_t active;          /* connections held by the healthy ones */
	int max_connections;      /* per worker */
	bool stopping;            /* a graceful stop has begun */
};

struct agent {
	int fd;                   /* listening socket, -1 when none */
	struct config_listen bound;
	bool drained;             /* preforkctl drain, until undrain */
	int64_t retry_ms;         /* a failed bind is retried after this */
	char state[AGENT_STATE_LEN];    /* ready, drain, down */
	char answer[AGENT_ANSWER_LEN];  /* the line, without its newline */
};

void agent_init(struct agent *a);
/* The state and the line for load (pure). */
void agent_decide(bool drained, const struct agent_load *l, char *state, char *answer);
/* Fills l from the worker table (ready workers of any generation: during a
 * reload the old ones serve until the new ones are ready), the target and
 * c's limits. */
void agent_load_from(const struct procs *t, int target,
    const struct config *c, bool stopping, int64_t now, struct agent_load *l);
/* Opens, moves or closes the socket to match want (NULL: none). Returns 1
 * when a.fd changed (the caller re-registers it; *old_fd is the fd to
 * forget, or -1), 0 when nothing changed, -1 with err on a bind failure
 * (then retried no sooner than a second later). */
int agent_sync(struct agent *a, const struct config_listen *want, int64_t now,
    int *old_fd, char *err, size_t errlen);
/* Answers every pending connection with the current line. Never blocks. */
void agent_serve(struct agent *a);
void agent_close(struct agent *a);

#endif
