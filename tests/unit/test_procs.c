/* The worker table: states, exits, backoff, deadlines, accounting. No
 * process is forked; times and statuses are made up. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/procs.h"

#define ST_EXIT(code) (((code) & 0xff) << 8)   /* as waitpid reports */
#define ST_SIGNAL(sig) ((sig) & 0x7f)

static struct procs *
table(void)
{
	struct procs *t = malloc(sizeof(*t));

	cr_assert_not_null(t);
	procs_init(t);
	return t;
}

Test(procs, add_find_remove)
{
	struct procs *t = table();
	struct proc *p = procs_add(t, 3, 1, 100, 7, 1000, 0);

	cr_assert_not_null(p);
	cr_assert_eq(p->state, PROC_STARTING);
	cr_assert_eq(procs_by_pid(t, 100), p);
	cr_assert_eq(procs_by_fd(t, 7), p);
	cr_assert_eq(procs_in_slot(t, 3, 1), p);
	cr_assert_null(procs_in_slot(t, 3, 2), "another generation");
	cr_assert_null(procs_by_pid(t, 0), "pid 0 never matches a backoff entry");
	cr_assert_eq(procs_running(t), 1);
	procs_remove(t, p);
	cr_assert_null(procs_by_pid(t, 100));
	cr_assert_null(procs_by_fd(t, 7));
	cr_assert_eq(procs_running(t), 0);
	free(t);
}

Test(procs, table_full_returns_null)
{
	struct procs *t = table();

	for (int i = 0; i < PROCS_MAX; i++)
		cr_assert_not_null(procs_add(t, i % PROCS_MAX_SLOTS, 1, i + 1, -1, 0, 0));
	cr_assert_null(procs_add(t, 0, 1, 99999, -1, 0, 0));
	free(t);
}

Test(procs, ready_and_stopping_states)
{
	struct procs *t = table();
	struct proc *p = procs_add(t, 0, 1, 100, 5, 1000, 0);

	procs_ready(p, 1200);
	cr_assert_eq(p->state, PROC_READY);
	cr_assert_eq(p->heartbeat_ms, 1200);
	procs_retire(p, 1300, 5000);
	cr_assert_eq(p->state, PROC_STOPPING);
	cr_assert_eq(p->deadline_ms, 6300);
	procs_ready(p, 1400);
	cr_assert_eq(p->state, PROC_STOPPING, "a late READY does not undo stopping");
	cr_assert_null(procs_in_slot(t, 0, 1), "a stopping worker leaves its slot");
	cr_assert_str_eq(procs_state_name(PROC_BACKOFF), "backoff");
	cr_assert_str_eq(procs_state_name(PROC_STARTING), "starting");
	free(t);
}

Test(procs, hang_detection_by_heartbeat)
{
	struct procs *t = table();
	struct proc *p = procs_add(t, 0, 1, 100, 5, 0, 0);

	cr_assert_not(procs_is_hung(p, 1000, 1000), "exactly at the limit is not hung");
	cr_assert(procs_is_hung(p, 1001, 1000), "silent since start");
	procs_heartbeat(p, 900);
	cr_assert_not(procs_is_hung(p, 1500, 1000));
	cr_assert(procs_is_hung(p, 1901, 1000));
	p->killed = true;
	cr_assert_not(procs_is_hung(p, 5000, 1000), "already killed: wait for the reap");
	p->killed = false;
	procs_retire(p, 2000, 100);
	cr_assert_not(procs_is_hung(p, 9000, 1000), "stopping: the kill deadline rules");
	free(t);
}

Test(procs, exit_kinds)
{
	struct procs *t = table();
	struct proc *p;
	int delay;

	p = procs_add(t, 0, 1, 100, -1, 0, 0);
	cr_assert_eq(procs_exited(t, p, ST_EXIT(0), 1, 5000, &delay), PROCS_EXIT_RECYCLED);
	cr_assert_eq(delay, 0, "a recycled worker is replaced at once");

	p = procs_add(t, 1, 1, 101, -1, 0, 0);
	procs_retire(p, 10, 1000);
	cr_assert_eq(procs_exited(t, p, ST_SIGNAL(9), 1, 5000, &delay), PROCS_EXIT_ASKED);
	cr_assert_eq(delay, -1, "retired on purpose: never respawned");

	p = procs_add(t, 2, 1, 102, -1, 0, 0);
	p->killed = p->hung = true;
	cr_assert_eq(procs_exited(t, p, ST_SIGNAL(9), 1, 5000, &delay), PROCS_EXIT_HUNG);
	cr_assert_eq(delay, 0);

	p = procs_add(t, 3, 1, 103, -1, 0, 0);
	cr_assert_eq(procs_exited(t, p, ST_SIGNAL(11), 1, 5000, &delay),
	    PROCS_EXIT_UNEXPECTED);
	cr_assert_eq(delay, 0, "a crash after a long life is respawned at once");

	p = procs_add(t, 4, 1, 104, -1, 0, 0);
	cr_assert_eq(procs_exited(t, p, ST_EXIT(1), 2, 5000, &delay), PROCS_EXIT_UNEXPECTED);
	cr_assert_eq(delay, -1, "an old generation is not respawned");
	free(t);
}

/* Feeds n quick crashes of slot 0 and returns the last delay. */
static int
quick_crashes(struct procs *t, int n, int status)
{
	int64_t now = 100000;
	int delay = -2;

	for (int i = 0; i < n; i++) {
		struct proc *p = procs_add(t, 0, 1, 200 + i, -1, now, 0);

		cr_assert_eq(procs_exited(t, p, status, 1, now + 10, &delay),
		    PROCS_EXIT_UNEXPECTED);
		procs_remove(t, p);
		now += 60000;
	}
	return delay;
}

Test(procs, backoff_doubles_to_the_cap)
{
	static const struct {
		int crashes, delay;
		const char *note;
	} cases[] = {
		{ 1, 0, "the first quick death is forgiven" },
		{ 2, 100, "then 100 ms" },
		{ 3, 200, "doubling" },
		{ 4, 400, "doubling" },
		{ 10, 25600, "still under the cap" },
		{ 11, 30000, "capped" },
		{ 30, 30000, "stays capped" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct procs *t = table();

		cr_assert_eq(quick_crashes(t, cases[i].crashes, ST_SIGNAL(9)),
		    cases[i].delay, "%d crashes: %s", cases[i].crashes, cases[i].note);
		free(t);
	}
}

Test(procs, fatal_exit_always_backs_off)
{
	struct procs *t = table();

	cr_assert_eq(quick_crashes(t, 1, ST_EXIT(2)), 100);
	cr_assert_eq(quick_crashes(t, 1, ST_EXIT(2)), 200);
	free(t);
}

Test(procs, backoff_resets_after_staying_up)
{
	struct procs *t = table();
	struct proc *p;
	int delay;

	cr_assert_eq(quick_crashes(t, 5, ST_SIGNAL(9)), 800);
	p = procs_add(t, 0, 1, 300, -1, 0, 0);
	procs_exited(t, p, ST_SIGNAL(9), 1, PROCS_QUICK_MS, &delay);
	cr_assert_eq(delay, 0, "lived a full second: no backoff");
	procs_remove(t, p);
	cr_assert_eq(quick_crashes(t, 2, ST_SIGNAL(9)), 100, "starts over at 100 ms");
	procs_reset_backoff(t);
	cr_assert_eq(quick_crashes(t, 1, ST_SIGNAL(9)), 0, "a reload forgets");
	free(t);
}

Test(procs, backoff_placeholder)
{
	struct procs *t = table();
	struct proc *p = procs_add(t, 4, 2, 100, 9, 0, 0);
	struct stats_counters c = { .requests = 5 };
	struct stats_counters tot;

	procs_report(p, &c);
	procs_to_backoff(t, p, 1000, 400);
	cr_assert_eq(p->state, PROC_BACKOFF);
	cr_assert_eq(p->pid, 0);
	cr_assert_eq(p->chan_fd, -1);
	cr_assert_eq(p->slot, 4);
	cr_assert_eq(p->generation, 2u);
	cr_assert_eq(p->deadline_ms, 1400);
	cr_assert_eq(procs_in_slot(t, 4, 2), p, "the slot stays taken while backing off");
	cr_assert_eq(procs_running(t), 0);
	cr_assert_eq(procs_next_deadline(t, 30000), 1400);
	procs_totals(t, &tot);
	cr_assert_eq(tot.requests, 5, "its counters were retired, not lost");
	free(t);
}

Test(procs, next_deadline)
{
	struct procs *t = table();
	struct proc *a, *b;

	cr_assert_eq(procs_next_deadline(t, 1000), INT64_MAX, "nothing due");
	a = procs_add(t, 0, 1, 100, -1, 0, 0);
	b = procs_add(t, 1, 1, 101, -1, 0, 0);
	procs_heartbeat(a, 500);
	procs_heartbeat(b, 200);
	cr_assert_eq(procs_next_deadline(t, 1000), 1201);
	procs_retire(b, 600, 300);
	cr_assert_eq(procs_next_deadline(t, 1000), 900, "kill deadline");
	b->killed = true;
	cr_assert_eq(procs_next_deadline(t, 1000), 1501);
	free(t);
}

Test(procs, old_generation_victims)
{
	struct procs *t = table();
	struct proc *old[3];

	for (int i = 0; i < 3; i++) {
		old[i] = procs_add(t, i, 1, 100 + i, -1, 0, 0);
		procs_ready(old[i], 1);
	}
	procs_add(t, 0, 2, 200, -1, 0, 0);
	cr_assert_eq(procs_old_serving(t, 2), 3);
	cr_assert_eq(procs_old_victim(t, 2), old[2], "highest slot first");
	procs_retire(old[2], 5, 100);
	cr_assert_eq(procs_old_serving(t, 2), 2);
	cr_assert_eq(procs_old_victim(t, 2), old[1]);
	cr_assert_eq(procs_old_serving(t, 1), 0, "nothing is older than generation 1");
	cr_assert_eq(procs_count(t, 2, PROC_STARTING), 1);
	cr_assert_eq(procs_count(t, 0, PROC_READY), 2);
	free(t);
}

/* Exact accounting: totals = retired + latest of the live, whatever the
 * order and duplication of reports. */
Test(procs, totals_are_exact_across_exits)
{
	struct procs *t = table();
	struct proc *a = procs_add(t, 0, 1, 100, -1, 0, 0);
	struct proc *b = procs_add(t, 1, 1, 101, -1, 0, 0);
	struct stats_counters r1 = { .requests = 10, .connections_active = 2 };
	struct stats_counters r2 = { .requests = 25, .connections_active = 1 };
	struct stats_counters r3 = { .requests = 7, .connections_active = 3 };
	struct stats_counters tot;

	procs_report(a, &r1);
	procs_report(a, &r2);
	procs_report(a, &r1);   /* stale duplicate */
	procs_report(b, &r3);
	procs_totals(t, &tot);
	cr_assert_eq(tot.requests, 32);
	cr_assert_eq(tot.connections_active, 4);
	procs_remove(t, a);
	procs_totals(t, &tot);
	cr_assert_eq(tot.requests, 32, "a gone worker's requests stay counted");
	cr_assert_eq(tot.connections_active, 3, "its connections do not");
	free(t);
}
