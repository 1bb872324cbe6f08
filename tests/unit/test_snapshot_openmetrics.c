/* The OpenMetrics encoder: exact output for a known snapshot, the TLS and
 * agent families, label escaping, the size bound, and -1 (never an
 * overflow) for every buffer too small. promtool checks the real output in
 * test_openmetrics.py. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/snapshot.h"

#define OM_NOW 1795446245   /* 2026-11-23T15:04:05Z */
#define OM_START 1795446240

static const char known_om[] =
    "# HELP preforkd_uptime_seconds Seconds since the supervisor started.\n"
    "# TYPE preforkd_uptime_seconds gauge\n"
    "# UNIT preforkd_uptime_seconds seconds\n"
    "preforkd_uptime_seconds 12.5\n"
    "# HELP preforkd_generation Worker generation, one more per reload.\n"
    "# TYPE preforkd_generation gauge\n"
    "preforkd_generation 2\n"
    "# HELP preforkd_workers_target Workers wanted.\n"
    "# TYPE preforkd_workers_target gauge\n"
    "preforkd_workers_target 2\n"
    "# HELP preforkd_workers_running Workers alive.\n"
    "# TYPE preforkd_workers_running gauge\n"
    "preforkd_workers_running 2\n"
    "# HELP preforkd_connections_accepted_total Connections accepted.\n"
    "# TYPE preforkd_connections_accepted_total counter\n"
    "preforkd_connections_accepted_total 7\n"
    "# HELP preforkd_connections_active Connections open now.\n"
    "# TYPE preforkd_connections_active gauge\n"
    "preforkd_connections_active 1\n"
    "# HELP preforkd_requests_total Requests answered.\n"
    "# TYPE preforkd_requests_total counter\n"
    "preforkd_requests_total 5\n"
    "# HELP preforkd_responses_total Responses by status class.\n"
    "# TYPE preforkd_responses_total counter\n"
    "preforkd_responses_total{class=\"1xx\"} 0\n"
    "preforkd_responses_total{class=\"2xx\"} 3\n"
    "preforkd_responses_total{class=\"3xx\"} 1\n"
    "preforkd_responses_total{class=\"4xx\"} 1\n"
    "preforkd_responses_total{class=\"5xx\"} 0\n"
    "# HELP preforkd_received_bytes_total Bytes read from clients.\n"
    "# TYPE preforkd_received_bytes_total counter\n"
    "preforkd_received_bytes_total 900\n"
    "# HELP preforkd_sent_bytes_total Bytes written to clients.\n"
    "# TYPE preforkd_sent_bytes_total counter\n"
    "preforkd_sent_bytes_total 18446744073709551615\n"
    "# HELP preforkd_proxy_rejected_total Connections closed for a missing, malformed or untrusted PROXY header.\n"
    "# TYPE preforkd_proxy_rejected_total counter\n"
    "preforkd_proxy_rejected_total 8\n"
    "# HELP preforkd_reloads_total Reloads done.\n"
    "# TYPE preforkd_reloads_total counter\n"
    "preforkd_reloads_total 1\n"
    "# HELP preforkd_worker_exits_unexpected_total Workers that exited without being asked.\n"
    "# TYPE preforkd_worker_exits_unexpected_total counter\n"
    "preforkd_worker_exits_unexpected_total 2\n"
    "# HELP preforkd_workers_hung_killed_total Workers killed for missing heartbeats.\n"
    "# TYPE preforkd_workers_hung_killed_total counter\n"
    "preforkd_workers_hung_killed_total 3\n"
    "# HELP preforkd_messages_dropped_total Malformed IPC messages dropped.\n"
    "# TYPE preforkd_messages_dropped_total counter\n"
    "preforkd_messages_dropped_total 4\n"
    "# HELP preforkd_upgrades_total Binary upgrades completed, counted across upgrades.\n"
    "# TYPE preforkd_upgrades_total counter\n"
    "preforkd_upgrades_total 5\n"
    "# HELP preforkd_upgrades_failed_total Binary upgrades rolled back.\n"
    "# TYPE preforkd_upgrades_failed_total counter\n"
    "preforkd_upgrades_failed_total 6\n"
    "# HELP preforkd_start_time_seconds When the running supervisor binary started, in seconds since the epoch.\n"
    "# TYPE preforkd_start_time_seconds gauge\n"
    "# UNIT preforkd_start_time_seconds seconds\n"
    "preforkd_start_time_seconds 1795446240\n"
    "# HELP preforkd_worker_start_time_seconds When this worker started, in seconds since the epoch.\n"
    "# TYPE preforkd_worker_start_time_seconds gauge\n"
    "# UNIT preforkd_worker_start_time_seconds seconds\n"
    "preforkd_worker_start_time_seconds{slot=\"0\",generation=\"2\",state=\"ready\"} 1795446240\n"
    "preforkd_worker_start_time_seconds{slot=\"1\",generation=\"2\",state=\"backoff\"} 1795446245\n"
    "# HELP preforkd_worker_requests_total Requests answered by this worker.\n"
    "# TYPE preforkd_worker_requests_total counter\n"
    "preforkd_worker_requests_total{slot=\"0\",generation=\"2\",state=\"ready\"} 3\n"
    "preforkd_worker_requests_total{slot=\"1\",generation=\"2\",state=\"backoff\"} 0\n"
    "# HELP preforkd_worker_connections_active Connections this worker holds open.\n"
    "# TYPE preforkd_worker_connections_active gauge\n"
    "preforkd_worker_connections_active{slot=\"0\",generation=\"2\",state=\"ready\"} 1\n"
    "preforkd_worker_connections_active{slot=\"1\",generation=\"2\",state=\"backoff\"} 0\n"
    "# HELP preforkd_worker_heartbeat_age_seconds Seconds since this worker's last heartbeat.\n"
    "# TYPE preforkd_worker_heartbeat_age_seconds gauge\n"
    "# UNIT preforkd_worker_heartbeat_age_seconds seconds\n"
    "preforkd_worker_heartbeat_age_seconds{slot=\"0\",generation=\"2\",state=\"ready\"} 1.120\n"
    "preforkd_worker_heartbeat_age_seconds{slot=\"1\",generation=\"2\",state=\"backoff\"} -0.001\n"
    "# EOF\n";

static struct snapshot *
om_known(void)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	cr_assert_not_null(s);
	s->time = OM_NOW;
	s->pid = 4242;
	s->uptime_s = 12.46;
	s->generation = 2;
	s->workers_target = s->workers_running = 2;
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
	s->totals.proxy_rejected = 8;
	s->upgrades = 5;
	s->upgrades_failed = 6;
	s->started = OM_START;
	s->nworkers = 2;
	s->workers[0] = (struct snapshot_worker){ 0, 4243, 2, "ready", OM_START, 3, 1, 1120 };
	s->workers[1] = (struct snapshot_worker){ 1, 4244, 2, "backoff", OM_NOW, 0, 0, -1 };
	return s;
}

Test(snapshot_openmetrics, known_exact)
{
	struct snapshot *s = om_known();
	char buf[8192];
	int n = snapshot_openmetrics(s, buf, sizeof(buf));

	cr_assert_eq(n, (int)strlen(known_om), "%d: %s", n, buf);
	cr_expect_str_eq(buf, known_om);
	free(s);
}

/* docs/ARCHITECTURE.md: TLS and §13: the tls and agent objects of the JSON become
 * families, between the supervisor's own and the per-worker ones. */
static const char known_tls_agent_om[] =
    "# HELP preforkd_agent_state The agent-check state (ready, drain or down).\n"
    "# TYPE preforkd_agent_state gauge\n"
    "preforkd_agent_state{state=\"drain\"} 1\n"
    "# HELP preforkd_tls_handshakes_total TLS handshakes completed, resumed ones included.\n"
    "# TYPE preforkd_tls_handshakes_total counter\n"
    "preforkd_tls_handshakes_total 11\n"
    "# HELP preforkd_tls_resumed_total TLS handshakes that resumed a session.\n"
    "# TYPE preforkd_tls_resumed_total counter\n"
    "preforkd_tls_resumed_total 4\n"
    "# HELP preforkd_tls_handshake_errors_total TLS handshakes that failed.\n"
    "# TYPE preforkd_tls_handshake_errors_total counter\n"
    "preforkd_tls_handshake_errors_total 2\n"
    "# HELP preforkd_tls_ticket_key_rotations_total Session-ticket key rotations.\n"
    "# TYPE preforkd_tls_ticket_key_rotations_total counter\n"
    "preforkd_tls_ticket_key_rotations_total 3\n"
    "# HELP preforkd_tls_certificate_info The certificate file served.\n"
    "# TYPE preforkd_tls_certificate_info gauge\n"
    "preforkd_tls_certificate_info{file=\"/etc/ssl/a \\\"b\\\".pem\"} 1\n"
    "# HELP preforkd_tls_certificate_expiry_time_seconds When the certificate expires, in seconds since the epoch.\n"
    "# TYPE preforkd_tls_certificate_expiry_time_seconds gauge\n"
    "# UNIT preforkd_tls_certificate_expiry_time_seconds seconds\n"
    "preforkd_tls_certificate_expiry_time_seconds 1798038245\n"
    "# HELP preforkd_tls_certificate_expires_in_seconds Seconds until the certificate expires, negative once it has.\n"
    "# TYPE preforkd_tls_certificate_expires_in_seconds gauge\n"
    "# UNIT preforkd_tls_certificate_expires_in_seconds seconds\n"
    "preforkd_tls_certificate_expires_in_seconds 2592000\n"
    "# HELP preforkd_worker_start_time_seconds ";

static void
om_tls_agent(struct snapshot *s)
{
	s->tls = 1;
	s->totals.tls_handshakes = 11;
	s->totals.tls_resumed = 4;
	s->totals.tls_handshake_errors = 2;
	s->tls_ticket_key_rotations = 3;
	strcpy(s->tls_certificate, "/etc/ssl/a \"b\".pem");
	s->tls_not_after = OM_NOW + 30 * 86400;
	strcpy(s->agent_state, "drain");
	strcpy(s->agent_answer, "drain");
}

Test(snapshot_openmetrics, tls_and_agent_families)
{
	struct snapshot *s = om_known();
	char buf[16384];
	const char *at;

	om_tls_agent(s);
	cr_assert_gt(snapshot_openmetrics(s, buf, sizeof(buf)), 0);
	at = strstr(buf, "preforkd_start_time_seconds 1795446240\n");
	cr_assert_not_null(at, "%s", buf);
	at = strchr(at, '\n') + 1;
	cr_expect_eq(strncmp(at, known_tls_agent_om, strlen(known_tls_agent_om)), 0,
	    "%s", at);
	free(s);
}

/* Without tls and agent_listen the families are absent, not zero: a
 * monitor tells "not configured" from "no handshakes yet". */
Test(snapshot_openmetrics, tls_and_agent_absent_when_off)
{
	struct snapshot *s = om_known();
	char buf[16384];

	om_tls_agent(s);
	s->tls = 0;
	s->agent_state[0] = '\0';
	cr_assert_gt(snapshot_openmetrics(s, buf, sizeof(buf)), 0);
	cr_expect_null(strstr(buf, "preforkd_tls_"), "%s", buf);
	cr_expect_null(strstr(buf, "preforkd_agent_"), "%s", buf);
	free(s);
}

/* Each family's HELP, TYPE (and UNIT) come once, before its samples. */
Test(snapshot_openmetrics, one_header_per_family)
{
	struct snapshot *s = om_known();
	char buf[16384], *line, *save = NULL, seen[64][96];
	int n = 0, i;

	om_tls_agent(s);
	cr_assert_gt(snapshot_openmetrics(s, buf, sizeof(buf)), 0);
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# TYPE ", 7) != 0)
			continue;
		*strchr(line + 7, ' ') = '\0';
		for (i = 0; i < n; i++)
			cr_expect_str_neq(seen[i], line + 7);
		cr_assert_lt(n, 64);
		snprintf(seen[n++], sizeof(seen[0]), "%s", line + 7);
	}
	cr_expect_eq(n, 30, "%d families", n);
	free(s);
}

Test(snapshot_openmetrics, label_escaping)
{
	struct snapshot *s = om_known();
	char buf[8192];

	s->nworkers = 1;
	memcpy(s->workers[0].state, "a\"b\\c\nd\x01\xff", 10);
	cr_assert_gt(snapshot_openmetrics(s, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf,
	    "preforkd_worker_requests_total{slot=\"0\",generation=\"2\",state=\"a\\\"b\\\\c\\nd??\"} 3\n"),
	    "%s", buf);
	free(s);
}

/* Every number at its longest and every state byte one that needs an
 * escape: the largest output any struct can give fits the documented bound. */
Test(snapshot_openmetrics, worst_case_fits_bound)
{
	struct snapshot *s = om_known();
	char *buf = malloc(SNAPSHOT_OM_BUF_SIZE);
	int i, n;

	cr_assert_not_null(buf);
	s->uptime_s = 1e300;
	s->generation = UINT_MAX;
	s->workers_target = s->workers_running = INT_MAX;
	memset(&s->totals, 0xFF, sizeof(s->totals));
	s->reloads = s->worker_exits_unexpected = UINT64_MAX;
	s->workers_hung_killed = s->messages_dropped = UINT64_MAX;
	s->tls = 1;
	memset(s->tls_certificate, '"', sizeof(s->tls_certificate));
	memset(s->agent_state, '"', sizeof(s->agent_state));
	s->upgrades = s->upgrades_failed = UINT64_MAX;
	s->tls_ticket_key_rotations = UINT64_MAX;
	s->started = s->tls_not_after = (time_t)LLONG_MIN;
	s->nworkers = SNAPSHOT_MAX_WORKERS + 5; /* clamped */
	for (i = 0; i < SNAPSHOT_MAX_WORKERS; i++) {
		s->workers[i].slot = INT_MIN;
		s->workers[i].generation = UINT_MAX;
		memset(s->workers[i].state, '"', sizeof(s->workers[i].state));
		s->workers[i].started = (time_t)LLONG_MIN;
		s->workers[i].requests = s->workers[i].connections_active = UINT64_MAX;
		s->workers[i].heartbeat_age_ms = INT64_MIN;
	}
	n = snapshot_openmetrics(s, buf, SNAPSHOT_OM_BUF_SIZE);
	cr_assert_gt(n, 0);
	cr_expect_eq(strlen(buf), (size_t)n);
	cr_expect_str_eq(buf + n - 6, "# EOF\n");
	cr_expect_not_null(strstr(buf, "-9223372036854775.808\n"));
	free(buf);
	free(s);
}

/* Every length short of what is needed gives -1 and "", never more. */
Test(snapshot_openmetrics, every_short_buffer)
{
	struct snapshot *s = om_known();
	size_t need = strlen(known_om) + 1, len;
	char *buf;

	for (len = 0; len < need; len++) {
		buf = malloc(len + 1);
		cr_assert_not_null(buf);
		buf[len] = 'X';
		cr_assert_eq(snapshot_openmetrics(s, buf, len), -1, "len %zu", len);
		cr_assert_eq(buf[len], 'X', "wrote past len %zu", len);
		if (len > 0)
			cr_assert_eq(buf[0], '\0');
		free(buf);
	}
	buf = malloc(need);
	cr_assert_eq(snapshot_openmetrics(s, buf, need), (int)need - 1);
	free(buf);
	free(s);
}
