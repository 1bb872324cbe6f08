/*
 * Exact accounting over cumulative reports (see stats.h for the model).
 */
#include "ipc/stats.h"

#include <stddef.h>

#define CUM(f) offsetof(struct stats_counters, f)

/* Every cumulative counter; connections_active, the gauge, is not one. */
static const size_t stats_cumulative[] = {
	CUM(connections_accepted), CUM(requests),
	CUM(responses[0]), CUM(responses[1]), CUM(responses[2]), CUM(responses[3]), CUM(responses[4]),
	CUM(bytes_in), CUM(bytes_out), CUM(proxy_rejected),
	CUM(tls_handshakes), CUM(tls_resumed), CUM(tls_handshake_errors),
};
#define NCUM (sizeof(stats_cumulative) / sizeof(stats_cumulative[0]))

static uint64_t
stats_get(const struct stats_counters *c, size_t i)
{
	return *(const uint64_t *)((const char *)c + stats_cumulative[i]);
}

static uint64_t *
stats_ref(struct stats_counters *c, size_t i)
{
	return (uint64_t *)((char *)c + stats_cumulative[i]);
}

/* True if report is older than latest: no counter ahead, one behind. A
 * report sent later can only be equal or ahead in every counter. */
static int
stats_stale(const struct stats_counters *report, const struct stats_counters *latest)
{
	int behind = 0;
	size_t i;

	for (i = 0; i < NCUM; i++) {
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
	for (i = 0; i < NCUM; i++)
		if (stats_get(report, i) > stats_get(latest, i))
			*stats_ref(latest, i) = stats_get(report, i);
	latest->connections_active = report->connections_active;
}

static void
stats_add_cumulative(struct stats_counters *sum, const struct stats_counters *c)
{
	size_t i;

	for (i = 0; i < NCUM; i++)
		*stats_ref(sum, i) += stats_get(c, i);
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
