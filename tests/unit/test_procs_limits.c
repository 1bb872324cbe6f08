/* The worker table at the configuration's limits (issue 12 item 1): two
 * full generations of max_workers fit, room is known before forking, and
 * every slot up to the cap backs off alike. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "supervisor/config.h"
#include "supervisor/procs.h"

#define ST_EXIT(code) (((code) & 0xff) << 8)

static struct procs *
table(void)
{
	struct procs *t = malloc(sizeof(*t));

	cr_assert_not_null(t);
	procs_init(t);
	return t;
}

Test(procs_limits, two_full_generations_fit_then_no_room)
{
	struct procs *t = table();
	int pid = 1;

	for (unsigned gen = 1; gen <= 2; gen++)
		for (int slot = 0; slot < CONFIG_WORKERS_LIMIT; slot++) {
			cr_assert(procs_has_room(t), "gen %u slot %d", gen, slot);
			cr_assert_not_null(procs_add(t, slot, gen, pid++, -1, 0, 0));
		}
	cr_expect(!procs_has_room(t));
	cr_expect_null(procs_add(t, 0, 3, pid, -1, 0, 0));
	procs_remove(t, procs_by_pid(t, 1));
	cr_expect(procs_has_room(t));
	free(t);
}

/* Before: slots >= 512 had no backoff memory and were respawned at once,
 * thousands of times a second. */
static int
quick_death_delay(struct procs *t, int slot, int pid, int64_t now)
{
	struct proc *p = procs_add(t, slot, 1, pid, -1, now, 0);
	int delay = -2;

	cr_assert_not_null(p);
	cr_assert_eq(procs_exited(t, p, ST_EXIT(2), 1, now + 10, &delay),
	    PROCS_EXIT_UNEXPECTED);
	procs_remove(t, p);
	return delay;
}

Test(procs_limits, every_slot_up_to_the_cap_backs_off)
{
	static const int slots[] = { 0, 511, 512, 1000, CONFIG_WORKERS_LIMIT - 1 };
	struct procs *t = table();

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		cr_expect_eq(quick_death_delay(t, slots[i], 100, 0), PROCS_BACKOFF_MIN_MS,
		    "slot %d", slots[i]);
		cr_expect_eq(quick_death_delay(t, slots[i], 101, 1000),
		    2 * PROCS_BACKOFF_MIN_MS, "slot %d", slots[i]);
	}
	free(t);
}
