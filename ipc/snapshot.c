/*
 * Encoders of the status snapshot: one JSON line, "key: value" text, or
 * OpenMetrics text.
 *
 * Both write through a bounded writer that stops at the first piece that does
 * not fit, so a small buffer yields -1 and never an overflow or a cut-off
 * object that a reader could take for a whole one.
 */
#include "ipc/snapshot.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ipc/base/clock.h"

#define UPTIME_MAX 1e12 /* seconds; keeps "%.1f" short whatever the input */

struct snap_out {
	char *buf;
	size_t len;
	size_t off;
	int full;
};

static void snap_printf(struct snap_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends, keeping room for the NUL; marks the writer full if it cannot. */
static void
snap_printf(struct snap_out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (o->full)
		return;
	room = o->len - o->off;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->off, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		o->full = 1;
	else
		o->off += (size_t)n;
}

static int
snap_finish(struct snap_out *o)
{
	if (o->full) {
		if (o->len > 0)
			o->buf[0] = '\0';
		return -1;
	}
	return (int)o->off;
}

/* Uptime in tenths of a second, rounded; integer maths keeps the output
 * finite, short and independent of the locale's decimal point. */
static uint64_t
snap_tenths(double u)
{
	if (!isfinite(u) || u < 0)
		return 0;
	if (u > UPTIME_MAX)
		u = UPTIME_MAX;
	return (uint64_t)(u * 10 + 0.5);
}

static int
snap_clamp(int n, int max)
{
	return n < 0 ? 0 : n > max ? max : n;
}

/* --- JSON ------------------------------------------------------------------ */

/* A JSON string of s[0..strnlen(s, max)). Bytes outside printable ASCII are
 * escaped as \u00XX (read as Latin-1), so the output is always valid UTF-8. */
static void
json_str(struct snap_out *o, const char *s, size_t max)
{
	size_t i, n = strnlen(s, max);
	unsigned char c;

	snap_printf(o, "\"");
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			snap_printf(o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			snap_printf(o, "\\u%04x", c);
		else
			snap_printf(o, "%c", c);
	}
	snap_printf(o, "\"");
}

static void
json_time(struct snap_out *o, time_t t)
{
	char tmp[32];

	clock_iso8601(t, tmp, sizeof(tmp));
	json_str(o, tmp, sizeof(tmp));
}

static void
json_listen(struct snap_out *o, const struct snapshot *s)
{
	int i, n = snap_clamp(s->nlisten, SNAPSHOT_MAX_LISTEN);

	snap_printf(o, "\"listen\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			snap_printf(o, ",");
		json_str(o, s->listen[i], sizeof(s->listen[i]));
	}
	snap_printf(o, "]");
}

static void
json_totals(struct snap_out *o, const struct stats_counters *c)
{
	snap_printf(o, "\"totals\":{\"connections_accepted\":%" PRIu64
	    ",\"connections_active\":%" PRIu64 ",\"requests\":%" PRIu64,
	    c->connections_accepted, c->connections_active, c->requests);
	snap_printf(o, ",\"responses\":{\"1xx\":%" PRIu64 ",\"2xx\":%" PRIu64
	    ",\"3xx\":%" PRIu64 ",\"4xx\":%" PRIu64 ",\"5xx\":%" PRIu64 "}",
	    c->responses[0], c->responses[1], c->responses[2], c->responses[3],
	    c->responses[4]);
	snap_printf(o, ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
	    ",\"proxy_rejected\":%" PRIu64 "}", c->bytes_in, c->bytes_out, c->proxy_rejected);
}

static void
json_worker(struct snap_out *o, const struct snapshot_worker *w)
{
	snap_printf(o, "{\"slot\":%d,\"pid\":%d,\"generation\":%u,\"state\":",
	    w->slot, w->pid, w->generation);
	json_str(o, w->state, sizeof(w->state));
	snap_printf(o, ",\"started\":");
	json_time(o, w->started);
	snap_printf(o, ",\"requests\":%" PRIu64 ",\"connections_active\":%" PRIu64
	    ",\"heartbeat_age_ms\":%" PRId64 "}",
	    w->requests, w->connections_active, w->heartbeat_age_ms);
}

/* "tls":{...}, (DESIGN §12): a monitor alerts on expires_in_s. */
static void
json_tls(struct snap_out *o, const struct snapshot *s)
{
	const struct stats_counters *c = &s->totals;

	if (!s->tls)
		return;
	snap_printf(o, "\"tls\":{\"handshakes\":%" PRIu64 ",\"resumed\":%" PRIu64
	    ",\"handshake_errors\":%" PRIu64 ",\"ticket_key_rotations\":%" PRIu64
	    ",\"certificates\":[{\"file\":", c->tls_handshakes, c->tls_resumed,
	    c->tls_handshake_errors, s->tls_ticket_key_rotations);
	json_str(o, s->tls_certificate, sizeof(s->tls_certificate));
	snap_printf(o, ",\"not_after\":");
	json_time(o, s->tls_not_after);
	snap_printf(o, ",\"expires_in_s\":%" PRId64 "}]},",
	    (int64_t)s->tls_not_after - (int64_t)s->time);
}

static void
json_workers(struct snap_out *o, const struct snapshot *s)
{
	int i, n = snap_clamp(s->nworkers, SNAPSHOT_MAX_WORKERS);

	snap_printf(o, "\"workers\":[");
	for (i = 0; i < n && !o->full; i++) {
		if (i > 0)
			snap_printf(o, ",");
		json_worker(o, &s->workers[i]);
	}
	snap_printf(o, "]");
}

int
snapshot_json(const struct snapshot *s, char *buf, size_t len)
{
	struct snap_out o = { buf, len, 0, 0 };
	uint64_t tenths = snap_tenths(s->uptime_s);

	snap_printf(&o, "{\"version\":%d,\"time\":", SNAPSHOT_VERSION);
	json_time(&o, s->time);
	snap_printf(&o, ",\"pid\":%d,\"uptime_s\":%" PRIu64 ".%" PRIu64 ",\"generation\":%u,",
	    s->pid, tenths / 10, tenths % 10, s->generation);
	json_listen(&o, s);
	snap_printf(&o, ",\"workers_target\":%d,\"workers_running\":%d,",
	    s->workers_target, s->workers_running);
	json_totals(&o, &s->totals);
	snap_printf(&o, ",\"reloads\":%" PRIu64 ",\"worker_exits_unexpected\":%" PRIu64
	    ",\"workers_hung_killed\":%" PRIu64 ",\"messages_dropped\":%" PRIu64 ",",
	    s->reloads, s->worker_exits_unexpected, s->workers_hung_killed,
	    s->messages_dropped);
	snap_printf(&o, "\"upgrades\":%" PRIu64 ",\"upgrades_failed\":%" PRIu64 ",\"started\":",
	    s->upgrades, s->upgrades_failed);
	json_time(&o, s->started);
	snap_printf(&o, ",");
	if (s->agent_state[0] != '\0') {
		snap_printf(&o, "\"agent\":{\"state\":");
		json_str(&o, s->agent_state, sizeof(s->agent_state));
		snap_printf(&o, ",\"answer\":");
		json_str(&o, s->agent_answer, sizeof(s->agent_answer));
		snap_printf(&o, "},");
	}
	json_tls(&o, s);
	json_workers(&o, s);
	snap_printf(&o, "}\n");
	return snap_finish(&o);
}

/* --- text ------------------------------------------------------------------ */

/* A value on a "key: value" line: backslash and bytes outside printable
 * ASCII become \\ and \xNN, so a value never breaks the line format. */
static void
text_str(struct snap_out *o, const char *s, size_t max)
{
	size_t i, n = strnlen(s, max);
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\\')
			snap_printf(o, "\\\\");
		else if (c < 0x20 || c >= 0x7f)
			snap_printf(o, "\\x%02x", c);
		else
			snap_printf(o, "%c", c);
	}
	snap_printf(o, "\n");
}

static void
text_time(struct snap_out *o, time_t t)
{
	char tmp[32];

	clock_iso8601(t, tmp, sizeof(tmp));
	text_str(o, tmp, sizeof(tmp));
}

static void
text_totals(struct snap_out *o, const struct stats_counters *c)
{
	int k;

	snap_printf(o, "totals.connections_accepted: %" PRIu64 "\n"
	    "totals.connections_active: %" PRIu64 "\ntotals.requests: %" PRIu64 "\n",
	    c->connections_accepted, c->connections_active, c->requests);
	for (k = 0; k < 5; k++)
		snap_printf(o, "totals.responses.%dxx: %" PRIu64 "\n", k + 1, c->responses[k]);
	snap_printf(o, "totals.bytes_in: %" PRIu64 "\ntotals.bytes_out: %" PRIu64 "\n"
	    "totals.proxy_rejected: %" PRIu64 "\n", c->bytes_in, c->bytes_out, c->proxy_rejected);
}

static void
text_tls(struct snap_out *o, const struct snapshot *s)
{
	const struct stats_counters *c = &s->totals;

	if (!s->tls)
		return;
	snap_printf(o, "tls.handshakes: %" PRIu64 "\ntls.resumed: %" PRIu64
	    "\ntls.handshake_errors: %" PRIu64 "\ntls.ticket_key_rotations: %" PRIu64
	    "\ntls.certificates.0.file: ", c->tls_handshakes, c->tls_resumed,
	    c->tls_handshake_errors, s->tls_ticket_key_rotations);
	text_str(o, s->tls_certificate, sizeof(s->tls_certificate));
	snap_printf(o, "tls.certificates.0.not_after: ");
	text_time(o, s->tls_not_after);
	snap_printf(o, "tls.certificates.0.expires_in_s: %" PRId64 "\n",
	    (int64_t)s->tls_not_after - (int64_t)s->time);
}

static void
text_worker(struct snap_out *o, int i, const struct snapshot_worker *w)
{
	snap_printf(o, "worker.%d.slot: %d\nworker.%d.pid: %d\nworker.%d.generation: %u\n"
	    "worker.%d.state: ", i, w->slot, i, w->pid, i, w->generation, i);
	text_str(o, w->state, sizeof(w->state));
	snap_printf(o, "worker.%d.started: ", i);
	text_time(o, w->started);
	snap_printf(o, "worker.%d.requests: %" PRIu64 "\nworker.%d.connections_active: %"
	    PRIu64 "\nworker.%d.heartbeat_age_ms: %" PRId64 "\n",
	    i, w->requests, i, w->connections_active, i, w->heartbeat_age_ms);
}

int
snapshot_text(const struct snapshot *s, char *buf, size_t len)
{
	struct snap_out o = { buf, len, 0, 0 };
	uint64_t tenths = snap_tenths(s->uptime_s);
	int i, n;

	snap_printf(&o, "version: %d\ntime: ", SNAPSHOT_VERSION);
	text_time(&o, s->time);
	snap_printf(&o, "pid: %d\nuptime_s: %" PRIu64 ".%" PRIu64 "\ngeneration: %u\n",
	    s->pid, tenths / 10, tenths % 10, s->generation);
	n = snap_clamp(s->nlisten, SNAPSHOT_MAX_LISTEN);
	for (i = 0; i < n; i++) {
		snap_printf(&o, "listen.%d: ", i);
		text_str(&o, s->listen[i], sizeof(s->listen[i]));
	}
	snap_printf(&o, "workers_target: %d\nworkers_running: %d\n",
	    s->workers_target, s->workers_running);
	text_totals(&o, &s->totals);
	snap_printf(&o, "reloads: %" PRIu64 "\nworker_exits_unexpected: %" PRIu64
	    "\nworkers_hung_killed: %" PRIu64 "\nmessages_dropped: %" PRIu64 "\n",
	    s->reloads, s->worker_exits_unexpected, s->workers_hung_killed,
	    s->messages_dropped);
	snap_printf(&o, "upgrades: %" PRIu64 "\nupgrades_failed: %" PRIu64 "\nstarted: ",
	    s->upgrades, s->upgrades_failed);
	text_time(&o, s->started);
	if (s->agent_state[0] != '\0') {
		snap_printf(&o, "agent.state: ");
		text_str(&o, s->agent_state, sizeof(s->agent_state));
		snap_printf(&o, "agent.answer: ");
		text_str(&o, s->agent_answer, sizeof(s->agent_answer));
	}
	text_tls(&o, s);
	n = snap_clamp(s->nworkers, SNAPSHOT_MAX_WORKERS);
	for (i = 0; i < n && !o.full; i++)
		text_worker(&o, i, &s->workers[i]);
	snap_printf(&o, "\n");
	return snap_finish(&o);
}

/* --- OpenMetrics ----------------------------------------------------------- */

/* A label value: '\\', '"' and newline escaped as the format asks; other
 * bytes outside printable ASCII become '?', so the output stays UTF-8. */
static void
om_label(struct snap_out *o, const char *s, size_t max)
{
	size_t i, n = strnlen(s, max);
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\\' || c == '"')
			snap_printf(o, "\\%c", c);
		else if (c == '\n')
			snap_printf(o, "\\n");
		else
			snap_printf(o, "%c", c < 0x20 || c >= 0x7f ? '?' : c);
	}
}

/* HELP and TYPE name the sample itself (counters with their "_total"), as
 * the Prometheus text format that node_exporter and promtool read wants. */
static void
om_family(struct snap_out *o, const char *name, const char *type, const char *help)
{
	snap_printf(o, "# HELP preforkd_%s %s\n# TYPE preforkd_%s %s\n", name, help, name, type);
}

static void
om_u64(struct snap_out *o, const char *name, const char *type, const char *help,
    uint64_t v)
{
	om_family(o, name, type, help);
	snap_printf(o, "preforkd_%s %" PRIu64 "\n", name, v);
}

static void
om_totals(struct snap_out *o, const struct stats_counters *c)
{
	int k;

	om_u64(o, "connections_accepted_total", "counter", "Connections accepted.",
	    c->connections_accepted);
	om_u64(o, "connections_active", "gauge", "Connections open now.",
	    c->connections_active);
	om_u64(o, "requests_total", "counter", "Requests answered.", c->requests);
	om_family(o, "responses_total", "counter", "Responses by status class.");
	for (k = 0; k < 5; k++)
		snap_printf(o, "preforkd_responses_total{class=\"%dxx\"} %" PRIu64 "\n",
		    k + 1, c->responses[k]);
	om_u64(o, "received_bytes_total", "counter", "Bytes read from clients.",
	    c->bytes_in);
	om_u64(o, "sent_bytes_total", "counter", "Bytes written to clients.", c->bytes_out);
}

/* Which per-worker value a family shows. */
enum om_wfield { OM_W_REQUESTS, OM_W_CONNS, OM_W_HEARTBEAT, OM_W_STARTED };

static void
om_worker_value(struct snap_out *o, const struct snapshot_worker *w, enum om_wfield f)
{
	int64_t ms = w->heartbeat_age_ms;
	uint64_t a = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms;

	if (f == OM_W_REQUESTS)
		snap_printf(o, "%" PRIu64 "\n", w->requests);
	else if (f == OM_W_CONNS)
		snap_printf(o, "%" PRIu64 "\n", w->connections_active);
	else if (f == OM_W_HEARTBEAT)
		snap_printf(o, "%s%" PRIu64 ".%03" PRIu64 "\n", ms < 0 ? "-" : "",
		    a / 1000, a % 1000);
	else
		snap_printf(o, "%lld\n", (long long)w->started);
}

static void
om_workers(struct snap_out *o, const struct snapshot *s, const char *name,
    const char *type, const char *help, enum om_wfield f)
{
	int i, n = snap_clamp(s->nworkers, SNAPSHOT_MAX_WORKERS);
	const struct snapshot_worker *w;

	om_family(o, name, type, help);
	for (i = 0; i < n && !o->full; i++) {
		w = &s->workers[i];
		snap_printf(o, "preforkd_%s{slot=\"%d\",generation=\"%u\",state=\"", name,
		    w->slot, w->generation);
		om_label(o, w->state, sizeof(w->state));
		snap_printf(o, "\"} ");
		om_worker_value(o, w, f);
	}
}

int
snapshot_openmetrics(const struct snapshot *s, char *buf, size_t len)
{
	struct snap_out o = { buf, len, 0, 0 };
	uint64_t tenths = snap_tenths(s->uptime_s);

	om_family(&o, "uptime_seconds", "gauge", "Seconds since the supervisor started.");
	snap_printf(&o, "preforkd_uptime_seconds %" PRIu64 ".%" PRIu64 "\n",
	    tenths / 10, tenths % 10);
	om_u64(&o, "generation", "gauge", "Worker generation, one more per reload.",
	    s->generation);
	om_u64(&o, "workers_target", "gauge", "Workers wanted.",
	    (uint64_t)snap_clamp(s->workers_target, INT32_MAX));
	om_u64(&o, "workers_running", "gauge", "Workers alive.",
	    (uint64_t)snap_clamp(s->workers_running, INT32_MAX));
	om_totals(&o, &s->totals);
	om_u64(&o, "reloads_total", "counter", "Reloads done.", s->reloads);
	om_u64(&o, "worker_exits_unexpected_total", "counter",
	    "Workers that exited without being asked.", s->worker_exits_unexpected);
	om_u64(&o, "workers_hung_killed_total", "counter",
	    "Workers killed for missing heartbeats.", s->workers_hung_killed);
	om_u64(&o, "messages_dropped_total", "counter", "Malformed IPC messages dropped.",
	    s->messages_dropped);
	om_workers(&o, s, "worker_requests_total", "counter",
	    "Requests answered by this worker.", OM_W_REQUESTS);
	om_workers(&o, s, "worker_connections_active", "gauge",
	    "Connections this worker holds open.", OM_W_CONNS);
	om_workers(&o, s, "worker_heartbeat_age_seconds", "gauge",
	    "Seconds since this worker's last heartbeat.", OM_W_HEARTBEAT);
	om_workers(&o, s, "worker_start_time_seconds", "gauge",
	    "When this worker started, in seconds since the epoch.", OM_W_STARTED);
	snap_printf(&o, "# EOF\n");
	return snap_finish(&o);
}
