/*
 * preforkctl status --openmetrics: one snapshot as OpenMetrics text,
 * whatever status_format the supervisor writes in (docs/ARCHITECTURE.md: Status pipe).
 */
#ifndef PREFORKD_CTL_OPENMETRICS_H
#define PREFORKD_CTL_OPENMETRICS_H

#include <stdio.h>

#include "ipc/snapshot.h"

/* Fills s from a JSON snapshot (missing fields stay 0). 0, or -1 if rec is
 * not a JSON object with a "pid". */
int ctl_snapshot_from_json(const char *rec, struct snapshot *s);
/* Prints rec as OpenMetrics: an OpenMetrics record as it came (with its
 * final newline back), a JSON one re-encoded. 0, or -1 if rec is neither
 * (status_format = text) or cannot be written. */
int ctl_openmetrics_print(FILE *out, const char *rec);

#endif
