/*
 * The JSON snapshot read back into struct snapshot, so preforkctl can print
 * it with the same OpenMetrics encoder the supervisor uses (ctl_openmetrics.h).
 */
#include "supervisor/ctl/ctl_openmetrics.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "supervisor/ctl/ctl_json.h"

/* Counters are read as integers: a double would round those above 2^53. */
static uint64_t
om_u64_at(const char *obj, const char *path)
{
	const char *p = ctl_json_path(obj, path);

	if (p == NULL)
		return 0;
	p += strspn(p, " \t\r\n");
	return *p >= '0' && *p <= '9' ? strtoull(p, NULL, 10) : 0;
}

static long long
om_ll_at(const char *obj, const char *path)
{
	const char *p = ctl_json_path(obj, path);

	if (p == NULL)
		return 0;
	p += strspn(p, " \t\r\n");
	return (*p >= '0' && *p <= '9') || *p == '-' ? strtoll(p, NULL, 10) : 0;
}

/* "2026-11-23T15:04:05Z" as seconds since the epoch; 0 if unreadable. */
static time_t
om_time_at(const char *obj, const char *path)
{
	char buf[40];
	struct tm tm;
	const char *end;

	ctl_json_str_at(obj, path, buf, sizeof(buf));
	memset(&tm, 0, sizeof(tm));
	end = strptime(buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return end != NULL && *end == '\0' ? timegm(&tm) : 0;
}

static void
om_worker_from_json(const char *w, struct snapshot_worker *out)
{
	out->slot = (int)om_ll_at(w, "slot");
	out->pid = (int)om_ll_at(w, "pid");
	out->generation = (unsigned)om_u64_at(w, "generation");
	ctl_json_str_at(w, "state", out->state, sizeof(out->state));
	out->started = om_time_at(w, "started");
	out->requests = om_u64_at(w, "requests");
	out->connections_active = om_u64_at(w, "connections_active");
	out->heartbeat_age_ms = om_ll_at(w, "heartbeat_age_ms");
}

int
ctl_snapshot_from_json(const char *rec, struct snapshot *s)
{
	static const char *cls[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
	char path[32];
	const char *w;

	memset(s, 0, sizeof(*s));
	if (*rec != '{' || ctl_json_skip(rec) == NULL || ctl_json_get(rec, "pid") == NULL)
		return -1;
	s->time = om_time_at(rec, "time");
	s->pid = (int)om_ll_at(rec, "pid");
	s->uptime_s = ctl_json_num_at(rec, "uptime_s", 0);
	s->generation = (unsigned)om_u64_at(rec, "generation");
	s->workers_target = (int)om_ll_at(rec, "workers_target");
	s->workers_running = (int)om_ll_at(rec, "workers_running");
	s->totals.connections_accepted = om_u64_at(rec, "totals.connections_accepted");
	s->totals.connections_active = om_u64_at(rec, "totals.connections_active");
	s->totals.requests = om_u64_at(rec, "totals.requests");
	for (int k = 0; k < 5; k++) {
		snprintf(path, sizeof(path), "totals.responses.%s", cls[k]);
		s->totals.responses[k] = om_u64_at(rec, path);
	}
	s->totals.bytes_in = om_u64_at(rec, "totals.bytes_in");
	s->totals.bytes_out = om_u64_at(rec, "totals.bytes_out");
	s->reloads = om_u64_at(rec, "reloads");
	s->worker_exits_unexpected = om_u64_at(rec, "worker_exits_unexpected");
	s->workers_hung_killed = om_u64_at(rec, "workers_hung_killed");
	s->messages_dropped = om_u64_at(rec, "messages_dropped");
	for (w = ctl_json_first(ctl_json_get(rec, "workers"));
	    w != NULL && s->nworkers < SNAPSHOT_MAX_WORKERS; w = ctl_json_next(w))
		om_worker_from_json(w, &s->workers[s->nworkers++]);
	return 0;
}

int
ctl_openmetrics_print(FILE *out, const char *rec)
{
	struct snapshot *s;
	char *buf;
	int n = -1;

	if (rec[0] == '#')
		return fprintf(out, "%s\n", rec) < 0 ? -1 : 0;
	s = malloc(sizeof(*s));
	buf = malloc(SNAPSHOT_OM_BUF_SIZE);
	if (s != NULL && buf != NULL && ctl_snapshot_from_json(rec, s) == 0)
		n = snapshot_openmetrics(s, buf, SNAPSHOT_OM_BUF_SIZE);
	if (n > 0 && fwrite(buf, 1, (size_t)n, out) != (size_t)n)
		n = -1;
	free(s);
	free(buf);
	return n > 0 ? 0 : -1;
}
