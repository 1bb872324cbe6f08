/*
 * Exact accounting over cumulative reports (see stats.h for the model).
 */
#include "ipc/stats.h"

#include <stddef.h>
#include <string.h>

/*
 * Every counter is a uint64_t and every one but connections_active (the
 * gauge) is cumulative, so the counters are walked as an array of words:
 * a counter added to struct stats_counters is summed, kept monotonic and
 * retired with no change here.
 */
#define NWORDS (sizeof(struct stats_counters) / sizeof(uint64_t))
#define GAUGE_WORD (offsetof(struct stats_counters, connections_active) / sizeof(uint64_t))
_Static_assert(sizeof(struct stats_counters) % sizeof(uint64_t) == 0,
    "struct stats_counters holds uint64_t counters only");

static uint64_t
stats_get(const struct stats_counters *c, size_t i)
{
	uint64_t v;

	memcpy(&v, (const char *)c + i * sizeof(uint64_t), sizeof(v));
	return v;
}

static void
stats_set(struct stats_counters *c, size_t i, uint64_t v)
{
	memcpy((char *)c + i * sizeof(uint64_t), &v, sizeof(v));
}

/* True if report is older than latest: no counter ahead, one behind. A
 * report sent later can only be equal or ahead in every counter. */
static int
stats_stale(const struct stats_counters *report, const struct stats_counters *latest)
{
	int behind = 0;
	size_t i;

	for (i = 0; i < NWORDS; i++) {
		if (i == GAUGE_WORD)
			continue;
		if (stats_get(report, i) > stats_get(latest, i))
			return 0;
		if (stats_get(report, i) < stats_get(latest, i))
			behind = 1;
	}
	return behind;
}

void
stats_take(struct stats_counters *latest, const struct stats_counters *report)
{
	size_t i;

	if (stats_stale(report, latest))
		return;
	for (i = 0; i < NWORDS; i++)
		if (i != GAUGE_WORD && stats_get(report, i) > stats_get(latest, i))
			stats_set(latest, i, stats_get(report, i));
	latest->connections_active = report->connections_active;
}

static void
stats_add_cumulative(struct stats_counters *sum, const struct stats_counters *c)
{
	size_t i;

	for (i = 0; i < NWORDS; i++)
		if (i != GAUGE_WORD)
			stats_set(sum, i, stats_get(sum, i) + stats_get(c, i));
}

void
stats_add(struct stats_counters *sum, const struct stats_counters *c)
{
	stats_add_cumulative(sum, c);
	sum->connections_active += c->connections_active;
}

void
stats_retire(struct stats_counters *retired, const struct stats_counters *last)
{
	stats_add_cumulative(retired, last);
}

int
stats_class(int status)
{
	if (status < 100 || status > 599)
		return -1;
	return status / 100 - 1;
}
