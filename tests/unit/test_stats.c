/* Exact accounting over cumulative reports. */
#include <criterion/criterion.h>
#include <string.h>

#include "ipc/stats.h"

/* A report whose every cumulative counter derives from n. */
static struct stats_counters
stats_report(uint64_t n, uint64_t active)
{
	struct stats_counters c;

	memset(&c, 0, sizeof(c));
	c.connections_accepted = n;
	c.connections_active = active;
	c.requests = 3 * n;
	c.responses[1] = 2 * n;
	c.responses[3] = n;
	c.bytes_in = 100 * n;
	c.bytes_out = 1000 * n;
	return c;
}

static void
stats_expect_eq(const struct stats_counters *a, const struct stats_counters *b)
{
	int k;

	cr_expect_eq(a->connections_accepted, b->connections_accepted);
	cr_expect_eq(a->connections_active, b->connections_active);
	cr_expect_eq(a->requests, b->requests);
	for (k = 0; k < 5; k++)
		cr_expect_eq(a->responses[k], b->responses[k], "responses[%d]", k);
	cr_expect_eq(a->bytes_in, b->bytes_in);
	cr_expect_eq(a->bytes_out, b->bytes_out);
}

Test(stats, class_of_status)
{
	cr_expect_eq(stats_class(100), 0);
	cr_expect_eq(stats_class(101), 0);
	cr_expect_eq(stats_class(200), 1);
	cr_expect_eq(stats_class(206), 1);
	cr_expect_eq(stats_class(304), 2);
	cr_expect_eq(stats_class(404), 3);
	cr_expect_eq(stats_class(431), 3);
	cr_expect_eq(stats_class(500), 4);
	cr_expect_eq(stats_class(599), 4);
	cr_expect_eq(stats_class(99), -1);
	cr_expect_eq(stats_class(600), -1);
	cr_expect_eq(stats_class(0), -1);
	cr_expect_eq(stats_class(-200), -1);
}

Test(stats, take_first_report)
{
	struct stats_counters latest = { 0 }, r = stats_report(5, 2);

	stats_take(&latest, &r);
	stats_expect_eq(&latest, &r);
}

Test(stats, take_is_monotonic)
{
	struct stats_counters latest = { 0 }, r;
	uint64_t n;

	for (n = 1; n <= 10; n++) {
		r = stats_report(n, n % 3);
		stats_take(&latest, &r);
		stats_expect_eq(&latest, &r);
	}
	cr_expect_eq(latest.requests, 30);
	cr_expect_eq(latest.connections_active, 1);
}

Test(stats, stale_report_ignored_gauge_included)
{
	struct stats_counters latest = { 0 }, newer = stats_report(10, 4), older = stats_report(7, 9);

	stats_take(&latest, &newer);
	stats_take(&latest, &older);
	stats_expect_eq(&latest, &newer);
	cr_expect_eq(latest.connections_active, 4);
}

Test(stats, duplicate_report_changes_nothing_but_gauge)
{
	struct stats_counters latest = { 0 }, r = stats_report(10, 4), again = r;

	stats_take(&latest, &r);
	again.connections_active = 1; /* idle worker: same counters, fewer open */
	stats_take(&latest, &again);
	cr_expect_eq(latest.requests, 30);
	cr_expect_eq(latest.connections_active, 1);
}

Test(stats, mixed_report_never_lowers_a_counter)
{
	struct stats_counters latest = { 0 }, a = stats_report(10, 1), b = stats_report(5, 0);

	/* Not older (bytes_out is ahead) yet requests lag: take the max of each. */
	b.bytes_out = 20000;
	stats_take(&latest, &a);
	stats_take(&latest, &b);
	cr_expect_eq(latest.requests, 30);
	cr_expect_eq(latest.connections_accepted, 10);
	cr_expect_eq(latest.responses[1], 20);
	cr_expect_eq(latest.bytes_out, 20000);
	cr_expect_eq(latest.connections_active, 0);
}

Test(stats, add_sums_everything)
{
	struct stats_counters sum = { 0 }, a = stats_report(2, 1), b = stats_report(3, 2);

	stats_add(&sum, &a);
	stats_add(&sum, &b);
	cr_expect_eq(sum.connections_accepted, 5);
	cr_expect_eq(sum.connections_active, 3);
	cr_expect_eq(sum.requests, 15);
	cr_expect_eq(sum.responses[1], 10);
	cr_expect_eq(sum.responses[3], 5);
	cr_expect_eq(sum.responses[0], 0);
	cr_expect_eq(sum.bytes_in, 500);
	cr_expect_eq(sum.bytes_out, 5000);
}

Test(stats, retire_sums_cumulative_not_gauge)
{
	struct stats_counters retired = { 0 }, a = stats_report(4, 3), b = stats_report(6, 1);

	stats_retire(&retired, &a);
	stats_retire(&retired, &b);
	cr_expect_eq(retired.connections_accepted, 10);
	cr_expect_eq(retired.connections_active, 0);
	cr_expect_eq(retired.requests, 30);
	cr_expect_eq(retired.responses[1], 20);
	cr_expect_eq(retired.responses[3], 10);
	cr_expect_eq(retired.bytes_in, 1000);
	cr_expect_eq(retired.bytes_out, 10000);
}

/* The supervisor's whole computation over a sequence: three workers report,
 * one report is late, one is duplicated, one worker retires and is replaced.
 * totals = retired + sum(latest of the live). */
Test(stats, exact_totals_across_sequence)
{
	struct stats_counters latest[3] = { { 0 } }, retired = { 0 }, totals, r;
	int i;

	r = stats_report(1, 1); stats_take(&latest[0], &r);
	r = stats_report(2, 0); stats_take(&latest[1], &r);
	r = stats_report(4, 1); stats_take(&latest[0], &r);
	r = stats_report(3, 1); stats_take(&latest[0], &r);  /* late: ignored */
	r = stats_report(5, 2); stats_take(&latest[2], &r);
	r = stats_report(5, 2); stats_take(&latest[2], &r);  /* duplicate */
	r = stats_report(6, 0); stats_take(&latest[1], &r);  /* final report */
	stats_retire(&retired, &latest[1]);                  /* worker 1 exits */
	memset(&latest[1], 0, sizeof(latest[1]));           /* its replacement */
	r = stats_report(1, 1); stats_take(&latest[1], &r);

	totals = retired;
	for (i = 0; i < 3; i++)
		stats_add(&totals, &latest[i]);
	/* accepted: 4 (w0) + 6 (retired w1) + 1 (new w1) + 5 (w2) */
	cr_expect_eq(totals.connections_accepted, 16);
	cr_expect_eq(totals.requests, 48);
	cr_expect_eq(totals.responses[1], 32);
	cr_expect_eq(totals.responses[3], 16);
	cr_expect_eq(totals.bytes_in, 1600);
	cr_expect_eq(totals.bytes_out, 16000);
	cr_expect_eq(totals.connections_active, 1 + 1 + 2);
}

/* Word i of the counters (each member is one uint64_t). */
static uint64_t *
stats_word(struct stats_counters *c, size_t i)
{
	return (uint64_t *)c + i;
}

#define STATS_NWORDS (sizeof(struct stats_counters) / sizeof(uint64_t))

/* Every counter in the struct takes part, the TLS and PROXY ones and any
 * added later included: none is listed by hand in stats.c. */
Test(stats, every_counter_word_is_accounted)
{
	struct stats_counters latest = { 0 }, r, sum = { 0 }, retired = { 0 };
	size_t i;

	for (i = 0; i < STATS_NWORDS; i++)
		*stats_word(&r, i) = 100 + i;
	stats_take(&latest, &r);
	stats_add(&sum, &r);
	stats_add(&sum, &r);
	stats_retire(&retired, &r);
	for (i = 0; i < STATS_NWORDS; i++) {
		cr_expect_eq(*stats_word(&latest, i), 100 + i, "take, word %zu", i);
		cr_expect_eq(*stats_word(&sum, i), 2 * (100 + i), "add, word %zu", i);
		if (stats_word(&r, i) != &r.connections_active)
			cr_expect_eq(*stats_word(&retired, i), 100 + i, "retire, word %zu", i);
	}
	cr_expect_eq(retired.connections_active, 0);
	/* A report behind in only the last counter is stale. */
	r = latest;
	(*stats_word(&r, STATS_NWORDS - 1))--;
	r.connections_active = 0;
	stats_take(&latest, &r);
	cr_expect_eq(latest.connections_active, 100 + 1, "stale report taken");
}
