/*
 * The OpenMetrics encoder of the status snapshot: every table entry with
 * an OpenMetrics kind becomes a family (snapshot_fields.h), in table order.
 *
 * HELP and TYPE name the sample itself (counters with their "_total"), as
 * the Prometheus text format that node_exporter and promtool read wants.
 * UNIT follows only where that name ends in the unit, as OpenMetrics
 * requires: for gauges; a counter carries its unit before "_total".
 */
#include "ipc/snapshot.h"

#include <inttypes.h>
#include <string.h>

#include "ipc/snapshot_fields.h"
#include "ipc/snapshot_out.h"

/* A label value's byte that may not stand as it is: '\\', '"' and
 * newline escaped as the format asks; other bytes outside printable ASCII
 * become '?', so the output stays UTF-8. */
static void
om_esc(struct snap_out *o, unsigned char c)
{
	if (c == '\\' || c == '"')
		snap_printf(o, "\\%c", c);
	else if (c == '\n')
		snap_put(o, "\\n", 2);
	else
		snap_put(o, "?", 1);
}

static void
om_family(struct snap_out *o, const struct snap_field *f)
{
	const char *type = f->om == SNAP_OM_COUNTER ? "counter" : "gauge";

	snap_printf(o, "# HELP preforkd_%s %s\n# TYPE preforkd_%s %s\n", f->om_name,
	    f->help, f->om_name, type);
	if (f->unit != NULL && f->om != SNAP_OM_COUNTER)
		snap_printf(o, "# UNIT preforkd_%s %s\n", f->om_name, f->unit);
}

/* The sample's value and its newline. Seconds where the member holds
 * milliseconds or a time; a negative int (a count) shows as 0. */
static void
om_value(struct snap_out *o, const struct snap_field *f, const void *base,
    const struct snapshot *s)
{
	int64_t v = snap_field_i64(f, base, s);
	uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v, tenths;
	double u;

	if (f->type == SNAP_UINT || f->type == SNAP_U64) {
		snap_printf(o, "%" PRIu64 "\n", snap_field_u64(f, base));
	} else if (f->type == SNAP_INT) {
		snap_printf(o, "%" PRId64 "\n", v < 0 ? 0 : v);
	} else if (f->type == SNAP_MS) {
		snap_printf(o, "%s%" PRIu64 ".%03" PRIu64 "\n", v < 0 ? "-" : "",
		    a / 1000, a % 1000);
	} else if (f->type == SNAP_UPTIME) {
		memcpy(&u, (const char *)base + f->off, sizeof(u));
		tenths = snap_tenths(u);
		snap_printf(o, "%" PRIu64 ".%" PRIu64 "\n", tenths / 10, tenths % 10);
	} else if (f->type == SNAP_STR) {
		snap_printf(o, "1\n");
	} else {
		snap_printf(o, "%" PRId64 "\n", v);
	}
}

/* One sample of f: its name, the labels of its series, its value. */
static void
om_sample(struct snap_out *o, const struct snap_field *f, const void *base,
    const struct snapshot *s)
{
	snap_printf(o, "preforkd_%s", f->om_name);
	if (f->om == SNAP_OM_INFO) {
		snap_printf(o, "{%s=\"", f->om_label);
		snap_escaped(o, snap_field_str(f, base), f->size, om_esc);
		snap_printf(o, "\"}");
	} else if (f->om_label != NULL) {
		snap_printf(o, "{%s}", f->om_label);
	}
	snap_printf(o, " ");
	om_value(o, f, base, s);
}

/* Per-worker families: one series per workers[] entry, labelled with what
 * tells the entries apart. */
static void
om_workers(struct snap_out *o, const struct snapshot *s)
{
	int i, n = snap_clamp(s->nworkers, SNAPSHOT_MAX_WORKERS);
	const struct snap_field *f;
	const struct snapshot_worker *w;
	size_t k;

	for (k = 0; k < snapshot_worker_nfields; k++) {
		f = &snapshot_worker_fields[k];
		if (f->om == SNAP_OM_NONE)
			continue;
		om_family(o, f);
		for (i = 0; i < n && !o->full; i++) {
			w = &s->workers[i];
			snap_printf(o, "preforkd_%s{slot=\"%d\",generation=\"%u\",state=\"",
			    f->om_name, w->slot, w->generation);
			snap_escaped(o, w->state, sizeof(w->state), om_esc);
			snap_printf(o, "\"} ");
			om_value(o, f, w, s);
		}
	}
}

int
snapshot_openmetrics(const struct snapshot *s, char *buf, size_t len)
{
	struct snap_out o = { buf, len, 0, 0 };
	const struct snap_field *f;
	const char *family = "";
	size_t i;

	for (i = 0; i < snapshot_nfields; i++) {
		f = &snapshot_fields[i];
		if (f->type == SNAP_WORKERS)
			om_workers(&o, s);
		if (f->om == SNAP_OM_NONE || !snap_field_on(s, f))
			continue;
		/* Entries sharing a name are the series of one family. */
		if (strcmp(family, f->om_name) != 0)
			om_family(&o, f);
		family = f->om_name;
		om_sample(&o, f, s, s);
	}
	snap_printf(&o, "# EOF\n");
	return snap_finish(&o);
}
