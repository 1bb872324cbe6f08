/*
 * The status snapshot's fields, one table entry each (issue 14 item 4).
 *
 * Every encoder walks this table instead of naming fields itself: the JSON
 * and text encoders (snapshot.c), the OpenMetrics encoder
 * (snapshot_openmetrics.c), preforkctl's JSON reader (ctl_openmetrics.c) and
 * its status table (ctl_status.c). Adding a numeric field is one entry in
 * snapshot_fields.c (and a line in sup_snapshot to fill the member).
 *
 * An entry names its place in the JSON object as a dotted path
 * ("totals.responses.2xx"); a numeric segment is an array index
 * ("tls.certificates.0.file" is the "file" of the first element of
 * "certificates"). The text format's key is the same path. Entries come in
 * JSON order, and siblings must be adjacent so each object is written once.
 */
#ifndef PREFORKD_SNAPSHOT_FIELDS_H
#define PREFORKD_SNAPSHOT_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "ipc/snapshot.h"

/* What the member is and how each format writes it. */
enum snap_type {
	SNAP_INT,      /* int */
	SNAP_UINT,     /* unsigned */
	SNAP_U64,      /* uint64_t */
	SNAP_I64,      /* int64_t */
	SNAP_MS,       /* int64_t milliseconds; OpenMetrics writes seconds */
	SNAP_TIME,     /* time_t: ISO-8601 UTC, OpenMetrics seconds since the epoch */
	SNAP_STR,      /* char[size], not necessarily NUL-terminated */
	SNAP_UPTIME,   /* double seconds, written with one decimal */
	SNAP_VERSION,  /* SNAPSHOT_VERSION itself, no member */
	SNAP_EXPIRES,  /* the member (a time_t) minus snapshot.time, in seconds */
	SNAP_LISTEN,   /* listen[nlisten]: an array of strings */
	SNAP_WORKERS,  /* workers[nworkers]: objects of snapshot_worker_fields */
};

/* OpenMetrics family kind. SNAP_OM_INFO shows a string as a label: one
 * series of value 1, labelled om_label="the string". */
enum snap_om { SNAP_OM_NONE, SNAP_OM_COUNTER, SNAP_OM_GAUGE, SNAP_OM_INFO };

/* Groups written only when they apply (docs/ARCHITECTURE.md: TLS, Behind a balancer), and fields newer
 * than the first snapshot: preforkctl leaves out a row whose first field
 * an older supervisor did not write. */
#define SNAP_TLS 1u     /* under "tls": only when snapshot.tls */
#define SNAP_AGENT 2u   /* under "agent": only when agent_state is set */
#define SNAP_OPT 4u     /* may be missing from a snapshot preforkctl reads */

struct snap_field {
	const char *path;     /* JSON path and text key */
	enum snap_type type;
	size_t off;           /* of the member in struct snapshot (or snapshot_worker) */
	size_t size;          /* of the member */
	unsigned flags;       /* SNAP_TLS, SNAP_AGENT, SNAP_OPT */
	/* OpenMetrics. Consecutive entries with the same om_name form one
	 * labelled family (the first gives HELP), each adding om_label. */
	enum snap_om om;
	const char *om_name;  /* after "preforkd_"; counters end in "_total" */
	const char *om_label; /* `class="2xx"`; for SNAP_OM_INFO the label's name */
	const char *unit;     /* the name's unit suffix ("seconds", "bytes") or NULL */
	const char *help;
	/* preforkctl status. Top level: pieces print in ascending ctl_key (0:
	 * not shown), ctl being the text around the value, which stands at the
	 * '%'; a piece ending in '\n' ends its row. Workers: ctl is the
	 * column's title and ctl_width its width (negative: left-aligned),
	 * columns in table order. */
	int ctl_key;
	const char *ctl;
	int ctl_width;
};

extern const struct snap_field snapshot_fields[];
extern const size_t snapshot_nfields;
extern const struct snap_field snapshot_worker_fields[];
extern const size_t snapshot_worker_nfields;

/* Paths have at most this many segments ("tls.certificates.0.file"). */
#define SNAP_PATH_DEPTH 4

/* True when f's group is written for s. */
int snap_field_on(const struct snapshot *s, const struct snap_field *f);
/* Numeric members read as signed or unsigned 64-bit values: SNAP_INT,
 * SNAP_I64, SNAP_MS, SNAP_TIME and SNAP_EXPIRES (s gives the time) signed,
 * SNAP_UINT and SNAP_U64 unsigned. base is the struct the member is in. */
int64_t snap_field_i64(const struct snap_field *f, const void *base,
    const struct snapshot *s);
uint64_t snap_field_u64(const struct snap_field *f, const void *base);
int snap_field_signed(const struct snap_field *f);
/* A string member and its size. */
const char *snap_field_str(const struct snap_field *f, const void *base);

#endif
