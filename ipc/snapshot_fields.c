/*
 * The status snapshot's field table (see snapshot_fields.h). One entry per
 * field, in JSON order; each says where the member is, how OpenMetrics
 * names it and where preforkctl's status table shows it.
 */
#include "ipc/snapshot_fields.h"
#include "ipc/base/util.h"

#include <string.h>

#define MEMBER(st, t, m) .type = SNAP_##t, .off = offsetof(struct st, m), \
	.size = sizeof(((struct st *)0)->m)
#define TOP(t, m) MEMBER(snapshot, t, m)
#define WRK(t, m) MEMBER(snapshot_worker, t, m)
#define COUNTER(n, u, h) .om = SNAP_OM_COUNTER, .om_name = n, .unit = u, .help = h
#define GAUGE(n, u, h) .om = SNAP_OM_GAUGE, .om_name = n, .unit = u, .help = h
#define INFO(n, l, h) .om = SNAP_OM_INFO, .om_name = n, .om_label = l, .help = h
#define CTL(k, text) .ctl_key = k, .ctl = text
#define COL(title, w) .ctl = title, .ctl_width = w
#define RESPONSES(k, cls, more) { "totals.responses." cls, \
	TOP(U64, totals.responses[k]), COUNTER("responses_total", NULL, \
	"Responses by status class."), .om_label = "class=\"" cls "\"", CTL(80 + k, more) }

const struct snap_field snapshot_fields[] = {
	{ "version", .type = SNAP_VERSION },
	{ "time", TOP(TIME, time) },
	{ "pid", TOP(INT, pid), CTL(10, "pid:          %\n") },
	{ "uptime_s", TOP(UPTIME, uptime_s), GAUGE("uptime_seconds", "seconds",
	    "Seconds since the supervisor started."), CTL(20, "uptime:       %\n") },
	{ "generation", TOP(UINT, generation), GAUGE("generation", NULL,
	    "Worker generation, one more per reload."), CTL(30, "generation:   %\n") },
	{ "listen", TOP(LISTEN, listen), CTL(40, "listen:      %\n") },
	{ "workers_target", TOP(INT, workers_target), GAUGE("workers_target", NULL,
	    "Workers wanted."), CTL(51, "% target\n") },
	{ "workers_running", TOP(INT, workers_running), GAUGE("workers_running", NULL,
	    "Workers alive."), CTL(50, "workers:      % running / ") },
	{ "totals.connections_accepted", TOP(U64, totals.connections_accepted),
	    COUNTER("connections_accepted_total", NULL, "Connections accepted."),
	    CTL(70, "connections:  % accepted, ") },
	{ "totals.connections_active", TOP(U64, totals.connections_active),
	    GAUGE("connections_active", NULL, "Connections open now."), CTL(71, "% active\n") },
	{ "totals.requests", TOP(U64, totals.requests), COUNTER("requests_total", NULL,
	    "Requests answered."), CTL(60, "requests:     %\n") },
	RESPONSES(0, "1xx", "responses:    1xx %"),
	RESPONSES(1, "2xx", " 2xx %"),
	RESPONSES(2, "3xx", " 3xx %"),
	RESPONSES(3, "4xx", " 4xx %"),
	RESPONSES(4, "5xx", " 5xx %\n"),
	{ "totals.bytes_in", TOP(U64, totals.bytes_in), COUNTER("received_bytes_total",
	    "bytes", "Bytes read from clients."), CTL(90, "bytes:        in %, ") },
	{ "totals.bytes_out", TOP(U64, totals.bytes_out), COUNTER("sent_bytes_total",
	    "bytes", "Bytes written to clients."), CTL(91, "out %\n") },
	{ "totals.proxy_rejected", TOP(U64, totals.proxy_rejected),
	    COUNTER("proxy_rejected_total", NULL,
	    "Connections closed for a missing, malformed or untrusted PROXY header.") },
	{ "reloads", TOP(U64, reloads), COUNTER("reloads_total", NULL, "Reloads done."),
	    CTL(100, "reloads:      %\n") },
	{ "worker_exits_unexpected", TOP(U64, worker_exits_unexpected),
	    COUNTER("worker_exits_unexpected_total", NULL,
	    "Workers that exited without being asked."), CTL(110, "exits:        % unexpected, ") },
	{ "workers_hung_killed", TOP(U64, workers_hung_killed),
	    COUNTER("workers_hung_killed_total", NULL, "Workers killed for missing heartbeats."),
	    CTL(111, "% hung and killed\n") },
	{ "messages_dropped", TOP(U64, messages_dropped), COUNTER("messages_dropped_total",
	    NULL, "Malformed IPC messages dropped.") },
	{ "upgrades", TOP(U64, upgrades), .flags = SNAP_OPT, COUNTER("upgrades_total", NULL,
	    "Binary upgrades completed, counted across upgrades."), CTL(130, "upgrades:     %, ") },
	{ "upgrades_failed", TOP(U64, upgrades_failed), .flags = SNAP_OPT,
	    COUNTER("upgrades_failed_total", NULL, "Binary upgrades rolled back."),
	    CTL(131, "% failed\n") },
	{ "started", TOP(TIME, started), .flags = SNAP_OPT, GAUGE("start_time_seconds",
	    "seconds", "When the running supervisor binary started, in seconds since the epoch."),
	    CTL(120, "started:      %\n") },
	{ "agent.state", TOP(STR, agent_state), .flags = SNAP_AGENT, INFO("agent_state",
	    "state", "The agent-check state (ready, drain or down).") },
	{ "agent.answer", TOP(STR, agent_answer), .flags = SNAP_AGENT },
	{ "tls.handshakes", TOP(U64, totals.tls_handshakes), .flags = SNAP_TLS,
	    COUNTER("tls_handshakes_total", NULL, "TLS handshakes completed, resumed ones included."),
	    CTL(140, "tls:          % handshakes, ") },
	{ "tls.resumed", TOP(U64, totals.tls_resumed), .flags = SNAP_TLS,
	    COUNTER("tls_resumed_total", NULL, "TLS handshakes that resumed a session."),
	    CTL(141, "% resumed, ") },
	{ "tls.handshake_errors", TOP(U64, totals.tls_handshake_errors), .flags = SNAP_TLS,
	    COUNTER("tls_handshake_errors_total", NULL, "TLS handshakes that failed."),
	    CTL(142, "% failed\n") },
	{ "tls.ticket_key_rotations", TOP(U64, tls_ticket_key_rotations), .flags = SNAP_TLS,
	    COUNTER("tls_ticket_key_rotations_total", NULL, "Session-ticket key rotations.") },
	{ "tls.certificates.0.file", TOP(STR, tls_certificate), .flags = SNAP_TLS,
	    INFO("tls_certificate_info", "file", "The certificate file served."),
	    CTL(150, "certificate:  % expires ") },
	{ "tls.certificates.0.not_after", TOP(TIME, tls_not_after), .flags = SNAP_TLS,
	    GAUGE("tls_certificate_expiry_time_seconds", "seconds",
	    "When the certificate expires, in seconds since the epoch."), CTL(151, "% (") },
	{ "tls.certificates.0.expires_in_s", TOP(EXPIRES, tls_not_after), .flags = SNAP_TLS,
	    GAUGE("tls_certificate_expires_in_seconds", "seconds",
	    "Seconds until the certificate expires, negative once it has."), CTL(152, "%)\n") },
	{ "workers", TOP(WORKERS, workers), CTL(200, "\n%") },
};
const size_t snapshot_nfields = nitems(snapshot_fields);

/* One object per entry of workers[]; its families are labelled slot,
 * generation and state (snapshot_openmetrics.c). */
const struct snap_field snapshot_worker_fields[] = {
	{ "slot", WRK(INT, slot), COL("SLOT", 4) },
	{ "pid", WRK(INT, pid), COL("PID", 8) },
	{ "generation", WRK(UINT, generation), COL("GEN", 4) },
	{ "state", WRK(STR, state), COL("STATE", -9) },
	{ "started", WRK(TIME, started), GAUGE("worker_start_time_seconds", "seconds",
	    "When this worker started, in seconds since the epoch.") },
	{ "requests", WRK(U64, requests), COUNTER("worker_requests_total", NULL,
	    "Requests answered by this worker."), COL("REQUESTS", 10) },
	{ "connections_active", WRK(U64, connections_active),
	    GAUGE("worker_connections_active", NULL, "Connections this worker holds open."),
	    COL("ACTIVE", 7) },
	{ "heartbeat_age_ms", WRK(MS, heartbeat_age_ms), GAUGE("worker_heartbeat_age_seconds",
	    "seconds", "Seconds since this worker's last heartbeat."), COL("HEARTBEAT", 9) },
};
const size_t snapshot_worker_nfields =
    nitems(snapshot_worker_fields);

int
snap_field_on(const struct snapshot *s, const struct snap_field *f)
{
	if ((f->flags & SNAP_TLS) && !s->tls)
		return 0;
	if ((f->flags & SNAP_AGENT) && s->agent_state[0] == '\0')
		return 0;
	return 1;
}

int
snap_field_signed(const struct snap_field *f)
{
	return f->type != SNAP_UINT && f->type != SNAP_U64;
}

/* Members are copied out, never cast: the table's offsets are the only
 * thing that ties a type to a place. */
int64_t
snap_field_i64(const struct snap_field *f, const void *base, const struct snapshot *s)
{
	const char *p = (const char *)base + f->off;
	int64_t v64;
	time_t t;
	int v;

	switch (f->type) {
	case SNAP_INT:
		memcpy(&v, p, sizeof(v));
		return v;
	case SNAP_I64:
	case SNAP_MS:
		memcpy(&v64, p, sizeof(v64));
		return v64;
	case SNAP_TIME:
		memcpy(&t, p, sizeof(t));
		return (int64_t)t;
	case SNAP_EXPIRES:
		/* Unsigned arithmetic: any two times give an answer, never an
		 * overflow (they are years apart only in a corrupt snapshot). */
		memcpy(&t, p, sizeof(t));
		return (int64_t)((uint64_t)(int64_t)t - (uint64_t)(int64_t)s->time);
	case SNAP_VERSION:
		return SNAPSHOT_VERSION;
	default:
		return (int64_t)snap_field_u64(f, base);
	}
}

uint64_t
snap_field_u64(const struct snap_field *f, const void *base)
{
	const char *p = (const char *)base + f->off;
	uint64_t v64;
	unsigned v;

	if (f->type == SNAP_UINT) {
		memcpy(&v, p, sizeof(v));
		return v;
	}
	if (f->type == SNAP_U64) {
		memcpy(&v64, p, sizeof(v64));
		return v64;
	}
	return 0;
}

const char *
snap_field_str(const struct snap_field *f, const void *base)
{
	return (const char *)base + f->off;
}
