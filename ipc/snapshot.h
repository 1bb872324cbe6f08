/*
 * The status snapshot and its encoders (docs/ARCHITECTURE.md: Status pipe). The struct holds values
 * only, so the supervisor can fill it and the encoders can be tested alone.
 * Which member is written where, under which name, is the field table's
 * (ipc/snapshot_fields.h): a new field is a member here, an entry there and
 * a line in sup_snapshot.
 *
 * Size bounds, with SNAPSHOT_MAX_WORKERS workers and SNAPSHOT_MAX_LISTEN
 * addresses (tests/unit/test_snapshot.c checks them):
 *   JSON, strings with nothing to escape (the supervisor's), any numbers:
 *        <= 500,000 bytes (about 245 bytes a worker; 256 realistic workers
 *        fit 64 KiB);
 *   text, same: <= 660,000 bytes (about 320 bytes a worker);
 *   any struct at all (every string byte escaped): JSON <= 672,000 bytes,
 *        text <= 764,000. SNAPSHOT_BUF_SIZE holds every case of both.
 * The NUL needs one byte more.
 */
#ifndef PREFORKD_SNAPSHOT_H
#define PREFORKD_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "ipc/limits.h"
#include "msg.h"

#define SNAPSHOT_VERSION 1
/* Every entry of the supervisor's table: both generations of a reload. */
#define SNAPSHOT_MAX_WORKERS LIMITS_PROCS
/* Every configured address. */
#define SNAPSHOT_MAX_LISTEN LIMITS_LISTEN
/* Holds either encoding of any struct snapshot (see the bounds above). */
#define SNAPSHOT_BUF_SIZE (1024 * 1024)
/* Holds the OpenMetrics encoding of any struct snapshot. */
#define SNAPSHOT_OM_BUF_SIZE (2 * 1024 * 1024)

struct snapshot_worker {
	int slot;
	int pid;
	unsigned generation;
	char state[16]; /* starting, ready, stopping, backoff */
	time_t started;
	uint64_t requests;
	uint64_t connections_active;
	int64_t heartbeat_age_ms;
};

struct snapshot {
	time_t time;
	int pid;
	double uptime_s;
	unsigned generation;
	int nlisten;
	char listen[SNAPSHOT_MAX_LISTEN][64];
	int workers_target;
	int workers_running;
	struct stats_counters totals;
	uint64_t reloads;
	uint64_t worker_exits_unexpected;
	uint64_t workers_hung_killed;
	uint64_t messages_dropped; /* malformed IPC messages received */
	uint64_t upgrades;         /* successful binary upgrades (carried over) */
	uint64_t upgrades_failed;  /* rolled back */
	time_t started;            /* when the running supervisor binary started */
	char agent_state[16];      /* "" = no agent_listen; else ready, drain, down */
	char agent_answer[32];     /* the last line sent to the balancer */
	/* docs/ARCHITECTURE.md: TLS: "tls" is written only when tls is set; the counters
	 * are totals.tls_*. */
	int tls;
	uint64_t tls_ticket_key_rotations;
	char tls_certificate[1024];
	time_t tls_not_after;
	int nworkers;
	struct snapshot_worker workers[SNAPSHOT_MAX_WORKERS];
};

/* One JSON object and a trailing '\n'. Returns bytes written (no NUL
 * counted), or -1 if buf is too small. buf is NUL-terminated, so len must
 * be at least the result + 1; on -1 buf holds "" (if len > 0) and nothing
 * is ever written past len. RFC 8259: strings are escaped (bytes outside
 * printable ASCII as \u00XX), numbers are integers except uptime_s (one
 * decimal, 0.0 if not finite or negative, capped at 1e12), times are
 * ISO-8601 UTC ("2026-11-23T15:04:05Z"). No whitespace between tokens.
 * nlisten and nworkers are clamped to 0..SNAPSHOT_MAX_*. */
int snapshot_json(const struct snapshot *s, char *buf, size_t len);
/* "key: value" lines, then one blank line. Same return convention. Keys are
 * the JSON names joined with dots: "totals.responses.2xx", "listen.0",
 * "worker.3.pid" (index into workers[], not the slot); values are bare, with
 * '\\' and bytes outside printable ASCII written as \\ and \xNN. */
int snapshot_text(const struct snapshot *s, char *buf, size_t len);
/* OpenMetrics text ending in "# EOF\n". Same return convention. Metric
 * names start with "preforkd_"; HELP and TYPE lines name the sample (with
 * "_total" for counters) so promtool and node_exporter's textfile collector
 * read it too; gauges with a unit add a UNIT line. Every number of the JSON
 * has a family but version, time and pid; the tls and agent families are
 * there only when the JSON has those objects; strings (agent state,
 * certificate file) are labels of a series of value 1. Per-worker families
 * have one series per workers[] entry,
 * labelled slot, generation and state (escaped: \\, \", \n; other bytes
 * outside printable ASCII become '?'). At most SNAPSHOT_OM_BUF_SIZE - 1
 * bytes for any struct (tests/unit/test_snapshot_openmetrics.c). */
int snapshot_openmetrics(const struct snapshot *s, char *buf, size_t len);

#endif
