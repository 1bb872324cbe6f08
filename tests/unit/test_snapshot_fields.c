/* The status field table (ipc/snapshot_fields.c): the rules its entries
 * must keep for the encoders to be right, a JSON round trip through
 * preforkctl's reader, and preforkctl's status table printed from it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/snapshot.h"
#include "ipc/snapshot_fields.h"
#include "supervisor/ctl/ctl_openmetrics.h"
#include "supervisor/ctl/ctl_status.h"

#define F_NOW 1795446245     /* 2026-11-23T15:04:05Z */
#define F_START 1795446240

static int
f_segments(const char *path)
{
	int n = 1;

	for (; *path != '\0'; path++)
		n += *path == '.';
	return n;
}

static size_t
f_dir_len(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot != NULL ? (size_t)(dot - path) : 0;
}

/* Siblings adjacent: once the encoder has closed an object it never opens
 * it again, so each object's members must form one run. */
Test(snapshot_fields, paths_shallow_and_siblings_adjacent)
{
	size_t i, j, di, dj;

	for (i = 0; i < snapshot_nfields; i++) {
		cr_expect_leq(f_segments(snapshot_fields[i].path), SNAP_PATH_DEPTH, "%s",
		    snapshot_fields[i].path);
		di = f_dir_len(snapshot_fields[i].path);
		for (j = i + 2; j < snapshot_nfields && di > 0; j++) {
			dj = f_dir_len(snapshot_fields[j].path);
			if (dj != di || strncmp(snapshot_fields[i].path, snapshot_fields[j].path, di) != 0)
				continue;
			cr_expect_eq(f_dir_len(snapshot_fields[j - 1].path) >= di &&
			    strncmp(snapshot_fields[j - 1].path, snapshot_fields[i].path, di) == 0, 1,
			    "%s is apart from %s", snapshot_fields[j].path, snapshot_fields[i].path);
		}
	}
	for (i = 0; i < snapshot_worker_nfields; i++)
		cr_expect_eq(f_segments(snapshot_worker_fields[i].path), 1);
}

static int
f_ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* Prometheus naming: counters end in _total, a unit is the name's suffix
 * (before _total), an info series names its label. */
static void
f_check_om(const struct snap_field *f, const struct snap_field *prev)
{
	char want[64];

	if (f->om == SNAP_OM_NONE)
		return;
	cr_expect_eq(strspn(f->om_name, "abcdefghijklmnopqrstuvwxyz_"), strlen(f->om_name),
	    "%s", f->om_name);
	cr_expect_eq(f_ends_with(f->om_name, "_total"), f->om == SNAP_OM_COUNTER, "%s",
	    f->om_name);
	if (f->unit != NULL) {
		snprintf(want, sizeof(want), "_%s%s", f->unit,
		    f->om == SNAP_OM_COUNTER ? "_total" : "");
		cr_expect(f_ends_with(f->om_name, want), "%s lacks %s", f->om_name, want);
	}
	if (f->om == SNAP_OM_INFO)
		cr_expect(f->type == SNAP_STR && f->om_label != NULL, "%s", f->path);
	if (prev == NULL || prev->om_name == NULL || strcmp(prev->om_name, f->om_name) != 0)
		cr_expect_not_null(f->help, "%s: a family's first entry gives HELP", f->path);
}

Test(snapshot_fields, openmetrics_names)
{
	size_t i;

	for (i = 0; i < snapshot_nfields; i++)
		f_check_om(&snapshot_fields[i], i > 0 ? &snapshot_fields[i - 1] : NULL);
	for (i = 0; i < snapshot_worker_nfields; i++)
		f_check_om(&snapshot_worker_fields[i], NULL);
}

static int
f_listed(const char *path, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(path, *list) == 0)
			return 1;
	return 0;
}

static void
f_expect_families(const struct snap_field *t, size_t n, const char *const *exempt)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i].type == SNAP_STR || t[i].type == SNAP_LISTEN || t[i].type == SNAP_WORKERS ||
		    f_listed(t[i].path, exempt))
			continue;
		cr_expect_neq(t[i].om, SNAP_OM_NONE, "%s has no OpenMetrics family", t[i].path);
	}
}

/* Every number the JSON carries is a metric too, but for what identifies
 * the snapshot (version, time, pid) or a worker's series (its labels). */
Test(snapshot_fields, every_number_has_a_family)
{
	static const char *const top[] = { "version", "time", "pid", NULL };
	static const char *const worker[] = { "slot", "pid", "generation", NULL };

	f_expect_families(snapshot_fields, snapshot_nfields, top);
	f_expect_families(snapshot_worker_fields, snapshot_worker_nfields, worker);
}

Test(snapshot_fields, status_table_pieces)
{
	size_t i, j;
	const char *pct;

	for (i = 0; i < snapshot_nfields; i++) {
		if (snapshot_fields[i].ctl_key == 0)
			continue;
		pct = strchr(snapshot_fields[i].ctl, '%');
		cr_expect(pct != NULL && strchr(pct + 1, '%') == NULL, "%s", snapshot_fields[i].path);
		for (j = i + 1; j < snapshot_nfields; j++)
			cr_expect_neq(snapshot_fields[i].ctl_key, snapshot_fields[j].ctl_key,
			    "%s and %s", snapshot_fields[i].path, snapshot_fields[j].path);
	}
	for (i = 0; i < snapshot_worker_nfields; i++)
		if (snapshot_worker_fields[i].ctl != NULL)
			cr_expect_geq(abs(snapshot_worker_fields[i].ctl_width),
			    (int)strlen(snapshot_worker_fields[i].ctl));
}

/* Every field set, every group on. */
static struct snapshot *
f_full(void)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	cr_assert_not_null(s);
	s->time = F_NOW;
	s->pid = 4242;
	s->uptime_s = 3725.5;
	s->generation = 3;
	s->nlisten = 2;
	strcpy(s->listen[0], "127.0.0.1:8080");
	strcpy(s->listen[1], "[::1]:8443");
	s->workers_target = 4;
	s->workers_running = 2;
	s->totals = (struct stats_counters){ 17, 2, 1234, { 1, 1200, 4, 28, 1 }, 98765,
		UINT64_MAX, 6, 10, 3, 2 };
	s->reloads = 1;
	s->worker_exits_unexpected = 5;
	s->workers_hung_killed = 6;
	s->messages_dropped = 7;
	s->upgrades = 8;
	s->upgrades_failed = 9;
	s->started = F_START;
	strcpy(s->agent_state, "ready");
	strcpy(s->agent_answer, "ready up 75%");
	s->tls = 1;
	s->tls_ticket_key_rotations = 11;
	strcpy(s->tls_certificate, "/etc/ssl/site.pem");
	s->tls_not_after = F_NOW + 30 * 86400 + 3600;
	s->nworkers = 2;
	s->workers[0] = (struct snapshot_worker){ 0, 4243, 3, "ready", F_START, 600, 1, 120 };
	s->workers[1] = (struct snapshot_worker){ 1, 0, 3, "backoff", F_NOW, 634, 0, -1 };
	return s;
}

/* preforkctl's reader gives back what the encoder wrote: the same JSON
 * and the same OpenMetrics from the struct it rebuilds. */
Test(snapshot_fields, json_round_trip_through_reader)
{
	struct snapshot *s = f_full(), *back = malloc(sizeof(*back));
	char *a = malloc(SNAPSHOT_OM_BUF_SIZE), *b = malloc(SNAPSHOT_OM_BUF_SIZE);
	int n;

	cr_assert(back != NULL && a != NULL && b != NULL);
	cr_assert_gt(n = snapshot_json(s, a, SNAPSHOT_BUF_SIZE), 0);
	a[n - 1] = '\0'; /* the reader gets records without their newline */
	cr_assert_eq(ctl_snapshot_from_json(a, back), 0);
	cr_assert_gt(snapshot_json(back, b, SNAPSHOT_BUF_SIZE), 0);
	a[n - 1] = '\n';
	cr_expect_str_eq(b, a);
	cr_assert_gt(snapshot_openmetrics(s, a, SNAPSHOT_OM_BUF_SIZE), 0);
	cr_assert_gt(snapshot_openmetrics(back, b, SNAPSHOT_OM_BUF_SIZE), 0);
	cr_expect_str_eq(b, a);
	free(a);
	free(b);
	free(back);
	free(s);
}

static const char full_table[] =
    "pid:          4242\n"
    "uptime:       1h02m05s\n"
    "generation:   3\n"
    "listen:       127.0.0.1:8080 [::1]:8443\n"
    "workers:      2 running / 4 target\n"
    "requests:     1234\n"
    "connections:  17 accepted, 2 active\n"
    "responses:    1xx 1 2xx 1200 3xx 4 4xx 28 5xx 1\n"
    "bytes:        in 98765, out 123456789\n"
    "reloads:      1\n"
    "exits:        5 unexpected, 6 hung and killed\n"
    "started:      2026-11-23T15:04:00Z\n"
    "upgrades:     8, 9 failed\n"
    "tls:          10 handshakes, 3 resumed, 2 failed\n"
    "certificate:  /etc/ssl/site.pem expires 2026-12-23T16:04:05Z (in 30d01h00m)\n"
    "\n"
    "SLOT      PID  GEN STATE       REQUESTS  ACTIVE HEARTBEAT\n"
    "   0     4243    3 ready            600       1     120ms\n"
    "   1        0    3 backoff          634       0         -\n";

static char *
f_print(const char *json)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	cr_assert_eq(ctl_status_print(f, json), 0);
	fclose(f);
	return out;
}

Test(snapshot_fields, status_table_from_every_field)
{
	struct snapshot *s = f_full();
	char json[8192], *out;
	int n;

	s->totals.bytes_out = 123456789; /* the table prints doubles: exact below 2^53 */
	cr_assert_gt(n = snapshot_json(s, json, sizeof(json)), 0);
	json[n - 1] = '\0';
	out = f_print(json);
	cr_expect_str_eq(out, full_table);
	free(out);
	free(s);
}

/* A supervisor from before upgrades and TLS: those rows are left out,
 * the rest print as before. */
Test(snapshot_fields, status_table_without_newer_fields)
{
	struct snapshot *s = f_full();
	char json[8192], *out, *cut;
	int n;

	s->tls = 0;
	cr_assert_gt(n = snapshot_json(s, json, sizeof(json)), 0);
	json[n - 1] = '\0';
	cut = strstr(json, ",\"upgrades\":");
	cr_assert_not_null(cut);
	memmove(cut, strstr(json, ",\"agent\":"), strlen(strstr(json, ",\"agent\":")) + 1);
	out = f_print(json);
	cr_expect_not_null(strstr(out, "exits:        5 unexpected, 6 hung and killed\n\nSLOT"), "%s",
	    out);
	free(out);
	free(s);
}
