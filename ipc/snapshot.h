/*
 * The status snapshot and its encoders (DESIGN §6). The struct holds values
 * only, so the supervisor can fill it and the encoders can be tested alone.
 */
#ifndef PREFORKD_SNAPSHOT_H
#define PREFORKD_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "msg.h"

#define SNAPSHOT_VERSION 1
#define SNAPSHOT_MAX_WORKERS 256
#define SNAPSHOT_MAX_LISTEN 16

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
	int nworkers;
	struct snapshot_worker workers[SNAPSHOT_MAX_WORKERS];
};

/* One JSON object and a trailing '\n'. Returns bytes written (no NUL
 * counted), or -1 if buf is too small. */
int snapshot_json(const struct snapshot *s, char *buf, size_t len);
/* "key: value" lines, then one blank line. Same return convention. */
int snapshot_text(const struct snapshot *s, char *buf, size_t len);

#endif
