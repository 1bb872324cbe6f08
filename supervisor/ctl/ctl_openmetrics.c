/*
 * The JSON snapshot read back into struct snapshot, so preforkctl can print
 * it with the same OpenMetrics encoder the supervisor uses (ctl_openmetrics.h).
 */
#include "supervisor/ctl/ctl_openmetrics.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc/snapshot_fields.h"
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

/* One field of the table into its member; VERSION and EXPIRES carry
 * nothing to read (the latter follows from time and not_after). */
static void
om_field_from_json(const char *obj, const struct snap_field *f, void *base)
{
	char *p = (char *)base + f->off;
	long long ll = om_ll_at(obj, f->path);
	uint64_t u = om_u64_at(obj, f->path);
	unsigned v;
	time_t t;
	double d;
	int i;

	switch (f->type) {
	case SNAP_INT:
		i = (int)ll;
		memcpy(p, &i, sizeof(i));
		break;
	case SNAP_UINT:
		v = (unsigned)u;
		memcpy(p, &v, sizeof(v));
		break;
	case SNAP_U64:
		memcpy(p, &u, sizeof(u));
		break;
	case SNAP_I64:
	case SNAP_MS:
		memcpy(p, &(int64_t){ ll }, sizeof(int64_t));
		break;
	case SNAP_TIME:
		t = om_time_at(obj, f->path);
		memcpy(p, &t, sizeof(t));
		break;
	case SNAP_STR:
		ctl_json_str_at(obj, f->path, p, f->size);
		break;
	case SNAP_UPTIME:
		d = ctl_json_num_at(obj, f->path, 0);
		memcpy(p, &d, sizeof(d));
		break;
	default:
		break;
	}
}

static void
om_arrays_from_json(const char *rec, const struct snap_field *f, struct snapshot *s)
{
	const char *e;
	size_t k;

	e = ctl_json_first(ctl_json_get(rec, f->path));
	if (f->type == SNAP_LISTEN) {
		for (; e != NULL && s->nlisten < SNAPSHOT_MAX_LISTEN; e = ctl_json_next(e))
			if (ctl_json_string(e, s->listen[s->nlisten], sizeof(s->listen[0])) == 0)
				s->nlisten++;
		return;
	}
	for (; e != NULL && s->nworkers < SNAPSHOT_MAX_WORKERS; e = ctl_json_next(e)) {
		for (k = 0; k < snapshot_worker_nfields; k++)
			om_field_from_json(e, &snapshot_worker_fields[k], &s->workers[s->nworkers]);
		s->nworkers++;
	}
}

int
ctl_snapshot_from_json(const char *rec, struct snapshot *s)
{
	const struct snap_field *f;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (*rec != '{' || ctl_json_skip(rec) == NULL || ctl_json_get(rec, "pid") == NULL)
		return -1;
	for (i = 0; i < snapshot_nfields; i++) {
		f = &snapshot_fields[i];
		if (f->type == SNAP_LISTEN || f->type == SNAP_WORKERS)
			om_arrays_from_json(rec, f, s);
		else
			om_field_from_json(rec, f, s);
	}
	/* The groups the supervisor wrote are the ones to encode again. */
	s->tls = ctl_json_get(rec, "tls") != NULL;
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
