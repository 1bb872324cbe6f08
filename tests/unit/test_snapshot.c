/* Snapshot encoders: exact JSON and text for a known snapshot, escaping,
 * size bounds, and -1 (never an overflow) for every buffer too small. */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/snapshot.h"

#define T_NOW 1795446245     /* 2026-11-23T15:04:05Z */
#define T_START 1795446240   /* 2026-11-23T15:04:00Z */
#define T_MIN_YEAR (-67768040609740800LL) /* the longest time string: 27 bytes */

static const char known_json[] =
    "{\"version\":1,\"time\":\"2026-11-23T15:04:05Z\",\"pid\":4242,\"uptime_s\":12.5,"
    "\"generation\":2,\"listen\":[\"127.0.0.1:8080\",\"[::1]:8081\"],"
    "\"workers_target\":2,\"workers_running\":2,"
    "\"totals\":{\"connections_accepted\":7,\"connections_active\":1,\"requests\":5,"
    "\"responses\":{\"1xx\":0,\"2xx\":3,\"3xx\":1,\"4xx\":1,\"5xx\":0},"
    "\"bytes_in\":900,\"bytes_out\":18446744073709551615,\"proxy_rejected\":0},"
    "\"reloads\":1,\"worker_exits_unexpected\":2,\"workers_hung_killed\":3,\"messages_dropped\":4,"
    "\"upgrades\":5,\"upgrades_failed\":6,\"started\":\"2026-11-23T15:04:00Z\","
    "\"workers\":[{\"slot\":0,\"pid\":4243,\"generation\":2,\"state\":\"ready\","
    "\"started\":\"2026-11-23T15:04:00Z\",\"requests\":3,\"connections_active\":1,"
    "\"heartbeat_age_ms\":120},"
    "{\"slot\":1,\"pid\":4244,\"generation\":2,\"state\":\"backoff\","
    "\"started\":\"2026-11-23T15:04:05Z\",\"requests\":0,\"connections_active\":0,"
    "\"heartbeat_age_ms\":-1}]}\n";

static const char known_text[] =
    "version: 1\n"
    "time: 2026-11-23T15:04:05Z\n"
    "pid: 4242\n"
    "uptime_s: 12.5\n"
    "generation: 2\n"
    "listen.0: 127.0.0.1:8080\n"
    "listen.1: [::1]:8081\n"
    "workers_target: 2\n"
    "workers_running: 2\n"
    "totals.connections_accepted: 7\n"
    "totals.connections_active: 1\n"
    "totals.requests: 5\n"
    "totals.responses.1xx: 0\n"
    "totals.responses.2xx: 3\n"
    "totals.responses.3xx: 1\n"
    "totals.responses.4xx: 1\n"
    "totals.responses.5xx: 0\n"
    "totals.bytes_in: 900\n"
    "totals.bytes_out: 18446744073709551615\n"
    "totals.proxy_rejected: 0\n"
    "reloads: 1\n"
    "worker_exits_unexpected: 2\n"
    "workers_hung_killed: 3\n"
    "messages_dropped: 4\n"
    "upgrades: 5\n"
    "upgrades_failed: 6\n"
    "started: 2026-11-23T15:04:00Z\n"
    "worker.0.slot: 0\n"
    "worker.0.pid: 4243\n"
    "worker.0.generation: 2\n"
    "worker.0.state: ready\n"
    "worker.0.started: 2026-11-23T15:04:00Z\n"
    "worker.0.requests: 3\n"
    "worker.0.connections_active: 1\n"
    "worker.0.heartbeat_age_ms: 120\n"
    "worker.1.slot: 1\n"
    "worker.1.pid: 4244\n"
    "worker.1.generation: 2\n"
    "worker.1.state: backoff\n"
    "worker.1.started: 2026-11-23T15:04:05Z\n"
    "worker.1.requests: 0\n"
    "worker.1.connections_active: 0\n"
    "worker.1.heartbeat_age_ms: -1\n"
    "\n";

static struct snapshot *
snap_new(void)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	cr_assert_not_null(s);
	return s;
}

static struct snapshot *
snap_known(void)
{
	struct snapshot *s = snap_new();

	s->time = T_NOW;
	s->pid = 4242;
	s->uptime_s = 12.5;
	s->generation = 2;
	s->nlisten = 2;
	strcpy(s->listen[0], "127.0.0.1:8080");
	strcpy(s->listen[1], "[::1]:8081");
	s->workers_target = 2;
	s->workers_running = 2;
	s->totals.connections_accepted = 7;
	s->totals.connections_active = 1;
	s->totals.requests = 5;
	s->totals.responses[1] = 3;
	s->totals.responses[2] = 1;
	s->totals.responses[3] = 1;
	s->totals.bytes_in = 900;
	s->totals.bytes_out = UINT64_MAX;
	s->reloads = 1;
	s->worker_exits_unexpected = 2;
	s->workers_hung_killed = 3;
	s->messages_dropped = 4;
	s->upgrades = 5;
	s->upgrades_failed = 6;
	s->started = T_START;
	s->nworkers = 2;
	s->workers[0] = (struct snapshot_worker){ 0, 4243, 2, "ready", T_START, 3, 1, 120 };
	s->workers[1] = (struct snapshot_worker){ 1, 4244, 2, "backoff", T_NOW, 0, 0, -1 };
	return s;
}

/* Every numeric field at its longest, every string full of bytes that need
 * escaping: the largest output any struct snapshot can produce. */
static struct snapshot *
snap_worst(char fill)
{
	struct snapshot *s = snap_new();
	struct snapshot_worker *w;
	int i;

	s->time = (time_t)T_MIN_YEAR;
	s->pid = INT_MIN;
	s->uptime_s = 1e300;
	s->generation = UINT_MAX;
	s->nlisten = SNAPSHOT_MAX_LISTEN;
	for (i = 0; i < SNAPSHOT_MAX_LISTEN; i++)
		memset(s->listen[i], fill, sizeof(s->listen[i]));
	s->workers_target = INT_MIN;
	s->workers_running = INT_MIN;
	memset(&s->totals, 0xFF, sizeof(s->totals));
	s->reloads = s->worker_exits_unexpected = UINT64_MAX;
	s->workers_hung_killed = s->messages_dropped = UINT64_MAX;
	s->upgrades = s->upgrades_failed = UINT64_MAX;
	s->started = (time_t)T_MIN_YEAR;
	s->nworkers = SNAPSHOT_MAX_WORKERS;
	for (i = 0; i < SNAPSHOT_MAX_WORKERS; i++) {
		w = &s->workers[i];
		w->slot = w->pid = INT_MIN;
		w->generation = UINT_MAX;
		memset(w->state, fill, sizeof(w->state));
		w->started = (time_t)T_MIN_YEAR;
		w->requests = w->connections_active = UINT64_MAX;
		w->heartbeat_age_ms = INT64_MIN;
	}
	return s;
}

/* Larger than the supervisor ever produces: 2048 workers, 16 listen
 * addresses, every string full length but plain (nothing to escape), every
 * number at its longest. */
static struct snapshot *
snap_big_plain(void)
{
	struct snapshot *s = snap_worst('a');
	int i;

	for (i = 0; i < SNAPSHOT_MAX_LISTEN; i++)
		s->listen[i][sizeof(s->listen[i]) - 1] = '\0';
	for (i = 0; i < SNAPSHOT_MAX_WORKERS; i++)
		s->workers[i].state[sizeof(s->workers[i].state) - 1] = '\0';
	return s;
}

typedef int (*snap_fn)(const struct snapshot *, char *, size_t);

static char *
snap_encode(snap_fn fn, const struct snapshot *s, int *n)
{
	char *buf = malloc(SNAPSHOT_BUF_SIZE);

	cr_assert_not_null(buf);
	*n = fn(s, buf, SNAPSHOT_BUF_SIZE);
	cr_assert_gt(*n, 0);
	cr_assert_eq(strlen(buf), (size_t)*n);
	return buf;
}

Test(snapshot, json_known_exact)
{
	struct snapshot *s = snap_known();
	char buf[4096];
	int n = snapshot_json(s, buf, sizeof(buf));

	cr_assert_eq(n, (int)strlen(known_json), "%d: %s", n, buf);
	cr_expect_str_eq(buf, known_json);
	free(s);
}

Test(snapshot, text_known_exact)
{
	struct snapshot *s = snap_known();
	char buf[4096];
	int n = snapshot_text(s, buf, sizeof(buf));

	cr_assert_eq(n, (int)strlen(known_text), "%d: %s", n, buf);
	cr_expect_str_eq(buf, known_text);
	free(s);
}

Test(snapshot, empty_snapshot)
{
	struct snapshot *s = snap_new();
	char buf[4096];

	cr_assert_gt(snapshot_json(s, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf, "\"time\":\"1970-01-01T00:00:00Z\",\"pid\":0,\"uptime_s\":0.0,"));
	cr_expect_not_null(strstr(buf, "\"listen\":[],"));
	cr_expect_not_null(strstr(buf, ",\"workers\":[]}\n"));
	free(s);
}

/* Every length below the needed one (result + NUL) gives -1 and writes
 * nothing past len; the needed length itself succeeds. */
static void
snap_every_short_length(snap_fn fn, const struct snapshot *s)
{
	char full[8192], *buf;
	int n = fn(s, full, sizeof(full));
	size_t len;

	cr_assert_gt(n, 0);
	buf = malloc((size_t)n + 1 + 16);
	cr_assert_not_null(buf);
	for (len = 0; len <= (size_t)n; len++) {
		memset(buf, '#', (size_t)n + 1 + 16);
		cr_assert_eq(fn(s, buf, len), -1, "len %zu of %d", len, n);
		cr_assert_eq(buf[len], '#', "wrote past len %zu", len);
		if (len > 0)
			cr_assert_eq(buf[0], '\0', "a partial snapshot left at len %zu", len);
	}
	memset(buf, '#', (size_t)n + 1 + 16);
	cr_assert_eq(fn(s, buf, (size_t)n + 1), n);
	cr_assert_eq(memcmp(buf, full, (size_t)n + 1), 0);
	cr_assert_eq(buf[n + 1], '#');
	free(buf);
}

Test(snapshot, json_every_short_buffer_fails)
{
	struct snapshot *s = snap_known();

	snap_every_short_length(snapshot_json, s);
	free(s);
}

Test(snapshot, text_every_short_buffer_fails)
{
	struct snapshot *s = snap_known();

	snap_every_short_length(snapshot_text, s);
	free(s);
}

Test(snapshot, json_escapes_strings)
{
	struct snapshot *s = snap_new();
	char buf[4096];

	s->nlisten = 1;
	strcpy(s->listen[0], "a\"b\\c\nd\te\x01\x7f\xc3\xa9/");
	s->nworkers = 1;
	strcpy(s->workers[0].state, "\"}{");
	cr_assert_gt(snapshot_json(s, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf,
	    "\"listen\":[\"a\\\"b\\\\c\\u000ad\\u0009e\\u0001\\u007f\\u00c3\\u00a9/\"]"), "%s", buf);
	cr_expect_not_null(strstr(buf, "\"state\":\"\\\"}{\""), "%s", buf);
	free(s);
}

Test(snapshot, text_escapes_values)
{
	struct snapshot *s = snap_new();
	char buf[4096];

	s->nlisten = 1;
	strcpy(s->listen[0], "x\ny\\z\x80");
	cr_assert_gt(snapshot_text(s, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf, "\nlisten.0: x\\x0ay\\\\z\\x80\n"), "%s", buf);
	free(s);
}

Test(snapshot, unterminated_strings_stop_at_field_end)
{
	struct snapshot *s = snap_new();
	char buf[4096];

	s->nlisten = 1;
	memset(s->listen[0], 'L', sizeof(s->listen[0]));
	s->nworkers = 1;
	memset(s->workers[0].state, 'S', sizeof(s->workers[0].state));
	cr_assert_gt(snapshot_json(s, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf, "\"listen\":[\"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\"]"));
	cr_expect_not_null(strstr(buf, "\"state\":\"SSSSSSSSSSSSSSSS\""));
	free(s);
}

Test(snapshot, uptime_always_finite_one_decimal)
{
	struct snapshot *s = snap_new();
	char buf[4096];

	s->uptime_s = 0.04;
	snapshot_json(s, buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "\"uptime_s\":0.0,"), "%s", buf);
	s->uptime_s = 3599.96;
	snapshot_json(s, buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "\"uptime_s\":3600.0,"), "%s", buf);
	s->uptime_s = NAN;
	snapshot_json(s, buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "\"uptime_s\":0.0,"), "%s", buf);
	s->uptime_s = -INFINITY;
	snapshot_json(s, buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "\"uptime_s\":0.0,"), "%s", buf);
	s->uptime_s = INFINITY;
	snapshot_json(s, buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "\"uptime_s\":0.0,"), "%s", buf);
	s->uptime_s = 1e300;
	snapshot_text(s, buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "\nuptime_s: 1000000000000.0\n"), "%s", buf);
	free(s);
}

Test(snapshot, counts_out_of_range_are_clamped)
{
	struct snapshot *s = snap_known();
	char buf[4096];

	s->nlisten = -5;
	s->nworkers = -1;
	cr_assert_gt(snapshot_json(s, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf, "\"listen\":[],"));
	cr_expect_not_null(strstr(buf, "\"workers\":[]}"));
	free(s);
	s = snap_big_plain();
	s->nlisten = SNAPSHOT_MAX_LISTEN + 100;
	s->nworkers = SNAPSHOT_MAX_WORKERS + 100;
	free(snap_encode(snapshot_json, s, &(int){ 0 }));
	free(s);
}

/* The bounds stated in snapshot.h. */
Test(snapshot, size_bounds)
{
	struct snapshot *s;
	char *buf;
	int n;

	s = snap_worst('\x01');
	buf = snap_encode(snapshot_json, s, &n);
	cr_expect_lt(n, SNAPSHOT_BUF_SIZE);
	cr_expect_leq(n, 672000, "json worst %d", n);
	free(buf);
	buf = snap_encode(snapshot_text, s, &n);
	cr_expect_leq(n, 764000, "text worst %d", n);
	free(buf);
	free(s);

	s = snap_big_plain();
	buf = snap_encode(snapshot_json, s, &n);
	cr_expect_leq(n, 500000, "json plain %d", n);
	free(buf);
	buf = snap_encode(snapshot_text, s, &n);
	cr_expect_leq(n, 660000, "text plain %d", n);
	free(buf);
	free(s);
}

Test(snapshot, realistic_256_workers_fit_64k_both_formats)
{
	struct snapshot *s = snap_known();
	char *buf = malloc(64 * 1024);
	int i;

	cr_assert_not_null(buf);
	s->nworkers = 256;
	for (i = 0; i < 256; i++)
		s->workers[i] = (struct snapshot_worker){ i, 4194304 - i, 99, "stopping",
			T_START, 9999999999ULL, 1000, 99999 };
	cr_expect_gt(snapshot_json(s, buf, 64 * 1024), 0);
	cr_expect_gt(snapshot_text(s, buf, 64 * 1024), 0);
	free(buf);
	free(s);
}

Test(snapshot, json_is_one_line)
{
	struct snapshot *s = snap_worst('\n');
	char *buf;
	int n;

	buf = snap_encode(snapshot_json, s, &n);
	cr_expect_eq(strchr(buf, '\n'), buf + n - 1);
	free(buf);
	free(s);
}

Test(snapshot, text_ends_with_one_blank_line)
{
	struct snapshot *s = snap_worst('\n');
	char *buf, *p;
	int n;

	buf = snap_encode(snapshot_text, s, &n);
	cr_expect_eq(strstr(buf, "\n\n"), buf + n - 2);
	/* Every line but the blank one is "key: value". */
	for (p = buf; p < buf + n - 1; p = strchr(p, '\n') + 1)
		cr_assert_not_null(strstr(p, ": "));
	free(buf);
	free(s);
}

/* Runs jq on the JSON of s with filter; returns its output (static). */
static const char *
snap_jq(const struct snapshot *s, const char *filter)
{
	static char out[4096];
	char path[] = "/tmp/preforkd-snapshot-XXXXXX", cmd[512], *json;
	size_t got;
	FILE *p;
	int fd, n;

	if (system("jq --version >/dev/null 2>&1") != 0)
		cr_skip_test("jq not installed");
	json = snap_encode(snapshot_json, s, &n);
	cr_assert_neq(fd = mkstemp(path), -1);
	cr_assert_eq(write(fd, json, (size_t)n), n);
	close(fd);
	free(json);
	snprintf(cmd, sizeof(cmd), "jq -c -e '%s' %s 2>&1", filter, path);
	cr_assert_not_null(p = popen(cmd, "r"));
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	cr_expect_eq(pclose(p), 0, "jq failed: %s", out);
	unlink(path);
	return out;
}

Test(snapshot, jq_reads_fields)
{
	struct snapshot *s = snap_known();

	/* 2^64-1 is compared, not printed: jq 1.6 prints the nearest double
	 * (18446744073709552000), jq 1.7 the literal. Its exact text is
	 * checked against the encoder's output above. */
	cr_expect_str_eq(snap_jq(s, "[.version, .pid, .uptime_s, .listen[1], .totals.requests, "
	    ".totals.responses[\"2xx\"], (.totals.bytes_out | type), "
	    "(.totals.bytes_out == 18446744073709551615), (.totals.bytes_out > 1e19), "
	    ".messages_dropped, .workers[1].state, .workers[0].started, "
	    ".workers[1].heartbeat_age_ms]"),
	    "[1,4242,12.5,\"[::1]:8081\",5,3,\"number\",true,true,4,\"backoff\","
	    "\"2026-11-23T15:04:00Z\",-1]\n");
	free(s);
}

Test(snapshot, jq_accepts_worst_escapes)
{
	struct snapshot *s = snap_worst('\x01');
	int i;

	/* Every byte value in the strings. */
	for (i = 0; i < SNAPSHOT_MAX_LISTEN * 63; i++)
		s->listen[i / 63][i % 63] = (char)(i % 255 + 1);
	for (i = 0; i < SNAPSHOT_MAX_LISTEN; i++)
		s->listen[i][63] = '\0';
	cr_expect_str_eq(snap_jq(s, "[(.workers | length), (.listen | length), (.listen[0] | length)]"),
	    "[2048,16,63]\n");
	free(s);
}
