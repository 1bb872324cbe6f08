/*
 * The JSON and "key: value" encoders of the status snapshot. Both walk the
 * field table (snapshot_fields.c) and know only how to write each type;
 * which fields there are, and in what order, is the table's business.
 */
#include "ipc/snapshot.h"

#include <stdio.h>
#include <string.h>

#include "ipc/base/clock.h"
#include "ipc/snapshot_fields.h"
#include "ipc/snapshot_out.h"

/* A field's path cut at its dots. */
struct snap_path {
	int n;
	const char *seg[SNAP_PATH_DEPTH];
	int len[SNAP_PATH_DEPTH];
};

static void
snap_split(const char *path, struct snap_path *p)
{
	const char *dot;

	for (p->n = 0; p->n < SNAP_PATH_DEPTH; path = dot + 1) {
		dot = strchr(path, '.');
		p->seg[p->n] = path;
		p->len[p->n] = dot != NULL ? (int)(dot - path) : (int)strlen(path);
		p->n++;
		if (dot == NULL)
			break;
	}
}

/* A numeric segment is an index: its parent is an array. */
static int
snap_index(const struct snap_path *p, int i)
{
	return i < p->n && p->seg[i][0] >= '0' && p->seg[i][0] <= '9';
}

static int
snap_same(const struct snap_path *a, const struct snap_path *b, int i)
{
	return a->len[i] == b->len[i] && memcmp(a->seg[i], b->seg[i], (size_t)a->len[i]) == 0;
}

/* --- JSON ------------------------------------------------------------------ */

/* A byte a JSON string may not hold as it is: '"' and '\\' get their
 * backslash, the others \u00XX (read as Latin-1). */
static void
json_esc(struct snap_out *o, unsigned char c)
{
	if (c == '"' || c == '\\')
		snap_printf(o, "\\%c", c);
	else
		snap_printf(o, "\\u%04x", c);
}

/* A JSON string of s[0..strnlen(s, max)), always valid UTF-8. */
static void
json_str(struct snap_out *o, const char *s, size_t max)
{
	snap_put(o, "\"", 1);
	snap_escaped(o, s, max, json_esc);
	snap_put(o, "\"", 1);
}

static void
json_time(struct snap_out *o, time_t t)
{
	char tmp[32];

	clock_iso8601(t, tmp, sizeof(tmp));
	json_str(o, tmp, sizeof(tmp));
}

/* The objects and arrays open around the last member written: every
 * segment of its path but the member's own name. */
struct json_nest {
	struct snap_path at;
	int depth;
	int comma; /* a member was written at this level: the next needs a ',' */
};

/* Closes the open levels deeper than keep: "]" for an array (its child is
 * an index), "}" for an object or an array's element. */
static void
json_close(struct snap_out *o, struct json_nest *j, int keep)
{
	for (; j->depth > keep; j->depth--) {
		/* The level closing is segment depth - 1; its child, segment
		 * depth, is an index when the level is an array. */
		snap_printf(o, "%c", j->depth < j->at.n - 1 &&
		    snap_index(&j->at, j->depth) ? ']' : '}');
		j->comma = 1;
	}
}

/* Moves from the levels open now to those around p, then writes p's name. */
static void
json_member(struct snap_out *o, struct json_nest *j, const struct snap_path *p)
{
	int k = 0, i;

	while (k < j->depth && k < p->n - 1 && snap_same(&j->at, p, k))
		k++;
	json_close(o, j, k);
	for (i = k; i < p->n - 1; i++) {
		snap_printf(o, "%s", j->comma ? "," : "");
		if (snap_index(p, i))
			snap_printf(o, "{");
		else
			snap_printf(o, "\"%.*s\":%c", p->len[i], p->seg[i],
			    snap_index(p, i + 1) && i + 1 < p->n - 1 ? '[' : '{');
		j->comma = 0;
	}
	j->at = *p;
	j->depth = p->n - 1;
	snap_put(o, j->comma ? ",\"" : "\"", j->comma ? 2 : 1);
	j->comma = 1;
	snap_put(o, p->seg[p->n - 1], (size_t)p->len[p->n - 1]);
	snap_put(o, "\":", 2);
}

static void json_fields(struct snap_out *o, const struct snap_field *t, size_t n,
    const void *base, const struct snapshot *s);

static void
json_listen(struct snap_out *o, const struct snapshot *s)
{
	int i, n = snap_clamp(s->nlisten, SNAPSHOT_MAX_LISTEN);

	snap_printf(o, "[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			snap_printf(o, ",");
		json_str(o, s->listen[i], sizeof(s->listen[i]));
	}
	snap_printf(o, "]");
}

static void
json_workers(struct snap_out *o, const struct snapshot *s)
{
	int i, n = snap_clamp(s->nworkers, SNAPSHOT_MAX_WORKERS);

	snap_printf(o, "[");
	for (i = 0; i < n && !o->full; i++) {
		snap_printf(o, i > 0 ? ",{" : "{");
		json_fields(o, snapshot_worker_fields, snapshot_worker_nfields,
		    &s->workers[i], s);
		snap_printf(o, "}");
	}
	snap_printf(o, "]");
}

static void
json_value(struct snap_out *o, const struct snap_field *f, const void *base,
    const struct snapshot *s)
{
	if (snap_number(o, f, base, s) == 0)
		return;
	if (f->type == SNAP_TIME)
		json_time(o, (time_t)snap_field_i64(f, base, s));
	else if (f->type == SNAP_STR)
		json_str(o, snap_field_str(f, base), f->size);
	else if (f->type == SNAP_LISTEN)
		json_listen(o, s);
	else if (f->type == SNAP_WORKERS)
		json_workers(o, s);
}

/* The members of one object, nested objects and arrays following the
 * paths; a group that does not apply (no tls, no agent) is left out. */
static void
json_fields(struct snap_out *o, const struct snap_field *t, size_t n, const void *base,
    const struct snapshot *s)
{
	struct json_nest j = { .depth = 0, .comma = 0 };
	struct snap_path p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!snap_field_on(s, &t[i]))
			continue;
		snap_split(t[i].path, &p);
		json_member(o, &j, &p);
		json_value(o, &t[i], base, s);
	}
	json_close(o, &j, 0);
}

int
snapshot_json(const struct snapshot *s, char *buf, size_t len)
{
	struct snap_out o = { buf, len, 0, 0 };

	snap_printf(&o, "{");
	json_fields(&o, snapshot_fields, snapshot_nfields, s, s);
	snap_printf(&o, "}\n");
	return snap_finish(&o);
}

/* --- text ------------------------------------------------------------------ */

/* A value on a "key: value" line: backslash and bytes outside printable
 * ASCII become \\ and \xNN, so a value never breaks the line format. */
static void
text_str(struct snap_out *o, const char *s, size_t max)
{
	size_t i, run, n = strnlen(s, max);
	unsigned char c;

	for (i = 0; i < n; i += run) {
		for (run = 0; i + run < n; run++) {
			c = (unsigned char)s[i + run];
			if (c == '\\' || c < 0x20 || c >= 0x7f)
				break;
		}
		snap_put(o, s + i, run);
		if (i + run == n)
			break;
		c = (unsigned char)s[i + run++];
		if (c == '\\')
			snap_put(o, "\\\\", 2);
		else
			snap_printf(o, "\\x%02x", c);
	}
	snap_put(o, "\n", 1);
}

static void
text_value(struct snap_out *o, const struct snap_field *f, const void *base,
    const struct snapshot *s)
{
	char tmp[32];

	if (snap_number(o, f, base, s) == 0) {
		snap_printf(o, "\n");
	} else if (f->type == SNAP_TIME) {
		clock_iso8601((time_t)snap_field_i64(f, base, s), tmp, sizeof(tmp));
		text_str(o, tmp, sizeof(tmp));
	} else if (f->type == SNAP_STR) {
		text_str(o, snap_field_str(f, base), f->size);
	}
}

/* Arrays take the index into the key: "listen.0", "worker.3.pid". */
static void
text_arrays(struct snap_out *o, const struct snap_field *f, const struct snapshot *s)
{
	int i, n;
	size_t k;

	if (f->type == SNAP_LISTEN) {
		n = snap_clamp(s->nlisten, SNAPSHOT_MAX_LISTEN);
		for (i = 0; i < n; i++) {
			snap_printf(o, "%s.%d: ", f->path, i);
			text_str(o, s->listen[i], sizeof(s->listen[i]));
		}
		return;
	}
	n = snap_clamp(s->nworkers, SNAPSHOT_MAX_WORKERS);
	for (i = 0; i < n && !o->full; i++)
		for (k = 0; k < snapshot_worker_nfields; k++) {
			snap_printf(o, "worker.%d.%s: ", i, snapshot_worker_fields[k].path);
			text_value(o, &snapshot_worker_fields[k], &s->workers[i], s);
		}
}

int
snapshot_text(const struct snapshot *s, char *buf, size_t len)
{
	struct snap_out o = { buf, len, 0, 0 };
	const struct snap_field *f;
	size_t i;

	for (i = 0; i < snapshot_nfields; i++) {
		f = &snapshot_fields[i];
		if (!snap_field_on(s, f))
			continue;
		if (f->type == SNAP_LISTEN || f->type == SNAP_WORKERS) {
			text_arrays(&o, f, s);
			continue;
		}
		snap_put(&o, f->path, strlen(f->path));
		snap_put(&o, ": ", 2);
		text_value(&o, f, s, s);
	}
	snap_printf(&o, "\n");
	return snap_finish(&o);
}
