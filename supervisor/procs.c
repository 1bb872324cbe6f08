/*
 * The worker table: slots, generations, states, backoff and deadlines.
 * No syscalls here; the supervisor loop does the forking and killing and
 * tells the table what happened.
 */
#include "supervisor/procs.h"

#include <string.h>
#include <sys/wait.h>

#include "ipc/stats.h"

void
procs_init(struct procs *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < PROCS_MAX; i++)
		t->p[i].chan_fd = -1;
}

struct proc *
procs_add(struct procs *t, int slot, unsigned generation, pid_t pid, int chan_fd,
    int64_t now_ms, time_t now_wall)
{
	for (int i = 0; i < PROCS_MAX; i++) {
		struct proc *p = &t->p[i];

		if (p->state != PROC_FREE)
			continue;
		memset(p, 0, sizeof(*p));
		p->state = PROC_STARTING;
		p->slot = slot;
		p->generation = generation;
		p->pid = pid;
		p->chan_fd = chan_fd;
		p->started_ms = now_ms;
		p->started_wall = now_wall;
		p->heartbeat_ms = now_ms;
		return p;
	}
	return NULL;
}

bool
procs_has_room(const struct procs *t)
{
	for (int i = 0; i < PROCS_MAX; i++)
		if (t->p[i].state == PROC_FREE)
			return true;
	return false;
}

struct proc *
procs_by_pid(struct procs *t, pid_t pid)
{
	for (int i = 0; i < PROCS_MAX; i++)
		if (t->p[i].state != PROC_FREE && t->p[i].pid == pid && pid > 0)
			return &t->p[i];
	return NULL;
}

struct proc *
procs_by_fd(struct procs *t, int fd)
{
	for (int i = 0; i < PROCS_MAX; i++)
		if (t->p[i].state != PROC_FREE && t->p[i].chan_fd == fd && fd >= 0)
			return &t->p[i];
	return NULL;
}

struct proc *
procs_in_slot(struct procs *t, int slot, unsigned generation)
{
	for (int i = 0; i < PROCS_MAX; i++) {
		struct proc *p = &t->p[i];

		if (p->state == PROC_FREE || p->state == PROC_STOPPING)
			continue;
		if (p->slot == slot && p->generation == generation)
			return p;
	}
	return NULL;
}

/* Folds the entry's last report into the retired sum and frees it. */
void
procs_remove(struct procs *t, struct proc *p)
{
	stats_retire(&t->retired, &p->latest);
	memset(p, 0, sizeof(*p));
	p->state = PROC_FREE;
	p->chan_fd = -1;
}

void
procs_ready(struct proc *p, int64_t now_ms)
{
	if (p->state == PROC_STARTING)
		p->state = PROC_READY;
	p->heartbeat_ms = now_ms;
}

void
procs_heartbeat(struct proc *p, int64_t now_ms)
{
	p->heartbeat_ms = now_ms;
}

void
procs_retire(struct proc *p, int64_t now_ms, int graceful_ms)
{
	p->state = PROC_STOPPING;
	p->deadline_ms = now_ms + graceful_ms;
}

bool
procs_is_hung(const struct proc *p, int64_t now_ms, int timeout_ms)
{
	if (p->state != PROC_STARTING && p->state != PROC_READY)
		return false;
	if (p->killed || p->pid <= 0)
		return false;
	return now_ms - p->heartbeat_ms > timeout_ms;
}

void
procs_report(struct proc *p, const struct stats_counters *c)
{
	stats_take(&p->latest, c);
}

/* Doubles the slot's delay after a quick death; the first quick death of a
 * plain crash is forgiven (respawned at once), a fatal init never is. */
static int
procs_backoff_delay(struct procs_slot *s, bool fatal)
{
	s->quick_deaths++;
	if (!fatal && s->quick_deaths == 1)
		return 0;
	if (s->delay_ms == 0)
		s->delay_ms = PROCS_BACKOFF_MIN_MS;
	else if (s->delay_ms < PROCS_BACKOFF_MAX_MS / 2)
		s->delay_ms *= 2;
	else
		s->delay_ms = PROCS_BACKOFF_MAX_MS;
	return s->delay_ms;
}

enum procs_exit_kind
procs_exited(struct procs *t, struct proc *p, int status, unsigned current_gen,
    int64_t now_ms, int *delay_ms)
{
	bool current = p->generation == current_gen && p->state != PROC_STOPPING;
	bool fatal = WIFEXITED(status) && WEXITSTATUS(status) == 2;
	struct procs_slot *s;

	*delay_ms = -1;
	if (p->hung) {
		if (current)
			*delay_ms = 0;
		return PROCS_EXIT_HUNG;
	}
	if (p->state == PROC_STOPPING || p->killed)
		return PROCS_EXIT_ASKED;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (current)
			*delay_ms = 0;
		return PROCS_EXIT_RECYCLED;
	}
	if (!current || p->slot < 0 || p->slot >= PROCS_MAX_SLOTS)
		return PROCS_EXIT_UNEXPECTED;
	s = &t->slots[p->slot];
	if (!fatal && now_ms - p->started_ms >= PROCS_QUICK_MS) {
		s->delay_ms = 0;
		s->quick_deaths = 0;
		*delay_ms = 0;
	} else
		*delay_ms = procs_backoff_delay(s, fatal);
	return PROCS_EXIT_UNEXPECTED;
}

void
procs_reset_backoff(struct procs *t)
{
	memset(t->slots, 0, sizeof(t->slots));
}

void
procs_to_backoff(struct procs *t, struct proc *p, int64_t now_ms, int delay_ms)
{
	int slot = p->slot;
	unsigned gen = p->generation;

	procs_remove(t, p);
	p->state = PROC_BACKOFF;
	p->slot = slot;
	p->generation = gen;
	p->deadline_ms = now_ms + delay_ms;
}

int
procs_count(const struct procs *t, unsigned gen, enum proc_state state)
{
	int n = 0;

	for (int i = 0; i < PROCS_MAX; i++)
		if (t->p[i].state == state && (gen == 0 || t->p[i].generation == gen))
			n++;
	return n;
}

int
procs_running(const struct procs *t)
{
	int n = 0;

	for (int i = 0; i < PROCS_MAX; i++)
		if (t->p[i].state != PROC_FREE && t->p[i].pid > 0)
			n++;
	return n;
}

static bool
procs_is_old_serving(const struct proc *p, unsigned gen)
{
	return p->generation < gen && p->pid > 0 &&
	    (p->state == PROC_STARTING || p->state == PROC_READY);
}

int
procs_old_serving(const struct procs *t, unsigned gen)
{
	int n = 0;

	for (int i = 0; i < PROCS_MAX; i++)
		if (procs_is_old_serving(&t->p[i], gen))
			n++;
	return n;
}

struct proc *
procs_old_victim(struct procs *t, unsigned gen)
{
	struct proc *best = NULL;

	for (int i = 0; i < PROCS_MAX; i++) {
		struct proc *p = &t->p[i];

		if (procs_is_old_serving(p, gen) && (best == NULL || p->slot > best->slot))
			best = p;
	}
	return best;
}

static int64_t
procs_deadline_of(const struct proc *p, int worker_timeout_ms)
{
	switch (p->state) {
	case PROC_STARTING:
	case PROC_READY:
		if (p->killed || p->pid <= 0)
			return INT64_MAX;
		return p->heartbeat_ms + worker_timeout_ms + 1;
	case PROC_STOPPING:
		return p->killed ? INT64_MAX : p->deadline_ms;
	case PROC_BACKOFF:
		return p->deadline_ms;
	default:
		return INT64_MAX;
	}
}

int64_t
procs_next_deadline(const struct procs *t, int worker_timeout_ms)
{
	int64_t next = INT64_MAX;

	for (int i = 0; i < PROCS_MAX; i++) {
		int64_t d = procs_deadline_of(&t->p[i], worker_timeout_ms);

		if (d < next)
			next = d;
	}
	return next;
}

void
procs_totals(const struct procs *t, struct stats_counters *out)
{
	*out = t->retired;
	for (int i = 0; i < PROCS_MAX; i++)
		if (t->p[i].state != PROC_FREE)
			stats_add(out, &t->p[i].latest);
}

const char *
procs_state_name(enum proc_state s)
{
	switch (s) {
	case PROC_STARTING:
		return "starting";
	case PROC_READY:
		return "ready";
	case PROC_STOPPING:
		return "stopping";
	case PROC_BACKOFF:
		return "backoff";
	default:
		return "free";
	}
}
