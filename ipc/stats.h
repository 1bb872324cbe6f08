/*
 * Exact accounting over cumulative reports.
 *
 * Each worker reports the counters it has accumulated since it started.
 * The supervisor keeps the latest report per live worker and, when a worker
 * is gone, folds its last report into a retired sum. Totals are
 * retired + sum(latest of the live), so a late, duplicated or lost periodic
 * report changes nothing once a newer one arrives.
 *
 * Every member of struct stats_counters is a uint64_t counter and all but
 * connections_active are cumulative: stats.c walks them as words, so a
 * counter added there needs nothing here (a second gauge would).
 */
#ifndef PREFORKD_STATS_H
#define PREFORKD_STATS_H

#include "msg.h"

/* Takes report into *latest, keeping every cumulative counter monotonic (a
 * stale report never lowers one); connections_active is a gauge and is
 * taken as reported. A stale report (no cumulative counter ahead of
 * *latest and at least one behind) is ignored whole, gauge included. */
void stats_take(struct stats_counters *latest, const struct stats_counters *report);
/* *sum += *c for cumulative counters and the gauge alike. */
void stats_add(struct stats_counters *sum, const struct stats_counters *c);
/* Folds a gone worker's last report into *retired: cumulative counters add,
 * the active gauge does not (its connections are closed). */
void stats_retire(struct stats_counters *retired, const struct stats_counters *last);
/* Response class index 0..4 for a status code 100..599, -1 otherwise. */
int stats_class(int status);

#endif
