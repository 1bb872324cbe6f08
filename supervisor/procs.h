/*
 * The worker table and its state machine, one of the pure modules listed
 * under "Folders" in docs/ARCHITECTURE.md: no syscalls, every time is
 * passed in, so each rule is unit-testable without forking.
 *
 * An entry is one worker process (or one slot waiting out a backoff). During
 * a reload the table holds two generations at once: the new one in slots
 * 0..target-1 and the old one being retired, under the same slot numbers.
 *
 *   starting --READY--> ready --retire--> stopping --reaped--> (gone)
 *      |                  |
 *      +--- died --------+--> backoff (pid 0, waits for respawn_at) or gone
 */
#ifndef PREFORKD_PROCS_H
#define PREFORKD_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ipc/limits.h"
#include "ipc/msg.h"
#include "supervisor/config.h"

/*
 * Sizes follow the shared limits (ipc/limits.h). A slot is a worker number
 * of the current generation, so there are as many as max_workers can be.
 * An entry is a process: during a reload the old generation keeps serving
 * until the new one is ready, so two full generations must fit. A third
 * (a HUP during a reload) waits for room: the supervisor checks
 * procs_has_room() before it forks, and the old workers it retires free
 * entries as they exit.
 */
#define PROCS_MAX_SLOTS LIMITS_WORKERS
#define PROCS_MAX LIMITS_PROCS

#define PROCS_QUICK_MS 1000     /* a death this soon after spawn is "quick" */
#define PROCS_BACKOFF_MIN_MS 100
#define PROCS_BACKOFF_MAX_MS 30000

enum proc_state { PROC_FREE, PROC_STARTING, PROC_READY, PROC_STOPPING, PROC_BACKOFF };

struct proc {
	enum proc_state state;
	int slot;
	unsigned generation;
	pid_t pid;                 /* 0 while in backoff */
	int chan_fd;               /* supervisor's end, -1 when closed */
	int64_t started_ms;        /* monotonic */
	time_t started_wall;
	int64_t heartbeat_ms;      /* last READY or HEARTBEAT (started_ms before) */
	int64_t deadline_ms;       /* stopping: SIGKILL after; backoff: respawn at */
	bool killed;               /* we sent SIGKILL (hang or deadline) */
	bool hung;                 /* ... because it stopped heartbeating */
	struct stats_counters latest;
};

/* Per-slot crash-loop memory for the current generation. */
struct procs_slot {
	int delay_ms;              /* current backoff, 0 = none */
	int quick_deaths;          /* consecutive deaths within PROCS_QUICK_MS */
};

struct procs {
	struct proc p[PROCS_MAX];
	struct procs_slot slots[PROCS_MAX_SLOTS];
	struct stats_counters retired;
};

/* What the supervisor should do about a worker that is gone. */
enum procs_exit_kind {
	PROCS_EXIT_ASKED,          /* we retired or killed it on purpose */
	PROCS_EXIT_RECYCLED,       /* status 0 unasked (max_requests): respawn */
	PROCS_EXIT_HUNG,           /* killed for missing heartbeats: respawn */
	PROCS_EXIT_UNEXPECTED,     /* crashed: respawn now or after a backoff */
};

void procs_init(struct procs *t);
/* A new worker in slot for generation, state starting. NULL if full. */
struct proc *procs_add(struct procs *t, int slot, unsigned generation, pid_t pid,
    int chan_fd, int64_t now_ms, time_t now_wall);
/* True when procs_add() would succeed: ask before forking. */
bool procs_has_room(const struct procs *t);
struct proc *procs_by_pid(struct procs *t, pid_t pid);
struct proc *procs_by_fd(struct procs *t, int fd);
/* The live (not stopping) entry of generation in slot, backoff included. */
struct proc *procs_in_slot(struct procs *t, int slot, unsigned generation);
void procs_remove(struct procs *t, struct proc *p);

void procs_ready(struct proc *p, int64_t now_ms);
void procs_heartbeat(struct proc *p, int64_t now_ms);
/* Marks p stopping with a kill deadline. */
void procs_retire(struct proc *p, int64_t now_ms, int graceful_ms);
/* True when p has been silent for longer than timeout_ms. */
bool procs_is_hung(const struct proc *p, int64_t now_ms, int timeout_ms);
/* Stats: keeps the newest cumulative report of p. */
void procs_report(struct proc *p, const struct stats_counters *c);

/*
 * Classifies the exit of p (status as from waitpid) and, for a crash of the
 * current generation, updates the slot's backoff. Returns the kind; *delay_ms
 * is how long to wait before respawning the slot (0 = at once, -1 = never:
 * the entry was asked to go or belongs to an old generation).
 */
enum procs_exit_kind procs_exited(struct procs *t, struct proc *p, int status,
    unsigned current_gen, int64_t now_ms, int *delay_ms);
/* Forgets every slot's backoff (a reload starts afresh). */
void procs_reset_backoff(struct procs *t);
/* Turns p into a backoff placeholder waiting until now + delay_ms; its
 * counters are retired. */
void procs_to_backoff(struct procs *t, struct proc *p, int64_t now_ms, int delay_ms);

/* Counts of entries of generation gen (or any generation when gen is 0). */
int procs_count(const struct procs *t, unsigned gen, enum proc_state state);
/* Entries with a process (pid > 0). */
int procs_running(const struct procs *t);
/* Entries of generations older than gen, still serving (not stopping). */
int procs_old_serving(const struct procs *t, unsigned gen);
/* The serving entry of an older generation with the highest slot, or NULL. */
struct proc *procs_old_victim(struct procs *t, unsigned gen);
/* Nearest moment something is due: a heartbeat deadline, a kill deadline
 * or a respawn. INT64_MAX when nothing is. */
int64_t procs_next_deadline(const struct procs *t, int worker_timeout_ms);
/* Totals: retired + the latest report of every entry. */
void procs_totals(const struct procs *t, struct stats_counters *out);
const char *procs_state_name(enum proc_state s);

#endif
