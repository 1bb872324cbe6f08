/*
 * The wire format of everything that crosses a process boundary: the
 * supervisor<->worker channel, the stats queue and the control queue.
 *
 * Every message is a fixed header followed by one fixed payload whose size
 * is determined by the type. No pointers: a message is valid the moment
 * msg_decode() has checked version, type and exact size. The supervisor
 * decodes input from other processes and must survive anything, so decoding
 * never aborts; it returns a reason.
 */
#ifndef PREFORKD_MSG_H
#define PREFORKD_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "ipc/limits.h"

#define MSG_VERSION 1

enum msg_type {
	/* down the channel, supervisor -> worker */
	MSG_STOP_GRACEFUL = 1,
	MSG_STOP_NOW = 2,
	MSG_REOPEN_LOGS = 3,
	MSG_LOG_FDS = 5,       /* reopen logs: the descriptors ride along */
	MSG_TLS_KEYS = 8,      /* the session-ticket keys, after each rotation */
	/* up the channel, worker -> supervisor */
	MSG_READY = 10,
	MSG_HEARTBEAT = 11,
	/* stats queue (and the final report, also sent up the channel) */
	MSG_STATS = 20,
	/* control queue, preforkctl -> supervisor */
	MSG_CONTROL = 30,
};

struct msg_header {
	uint16_t version;
	uint16_t type;
	uint32_t length; /* payload bytes after the header */
	int32_t pid;     /* sender */
	uint32_t reserved;
};

struct msg_stop_graceful {
	uint32_t deadline_ms; /* from receipt; then the worker drops what is left */
	uint32_t reserved;
};

/* Which log descriptors are attached (SCM_RIGHTS), in this order: the
 * error log, then the access log. The supervisor opens the files, so the
 * worker's user needs no permission on their directory. */
struct msg_log_fds {
	uint32_t error_log;  /* 0 or 1 */
	uint32_t access_log; /* 0 or 1 */
};

struct msg_ready {
	uint32_t slot;
	uint32_t generation;
};

struct msg_heartbeat {
	uint64_t mono_ms;
	uint32_t connections_active;
	uint32_t reserved;
};

/* Cumulative since the worker started, so a lost or late report loses nothing. */
struct stats_counters {
	uint64_t connections_accepted;
	uint64_t connections_active;
	uint64_t requests;
	uint64_t responses[5]; /* 1xx .. 5xx */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t proxy_rejected; /* closed before a valid PROXY header (docs/ARCHITECTURE.md: Behind a balancer) */
	uint64_t tls_handshakes;       /* completed, resumed ones included */
	uint64_t tls_resumed;
	uint64_t tls_handshake_errors;
};

/* Session-ticket keys (docs/ARCHITECTURE.md: TLS): keys[0] encrypts, every one decrypts. */
#define MSG_TLS_NKEYS 3
struct msg_tls_key {
	uint8_t name[16];
	uint8_t aes[32];
	uint8_t hmac[32];
};

struct msg_tls_keys {
	uint32_t nkeys;      /* 1 .. MSG_TLS_NKEYS */
	uint32_t reserved;
	struct msg_tls_key keys[MSG_TLS_NKEYS];
};

struct msg_stats {
	uint32_t slot;
	uint32_t generation;
	int32_t pid;
	uint32_t final; /* 1 on the report sent while exiting gracefully */
	struct stats_counters c;
};

/* Largest worker count a scale command may carry, absolute or relative: the
 * configuration's hard cap (supervisor/config.h asserts they agree). */
#define MSG_SCALE_MAX LIMITS_WORKERS

enum control_cmd {
	CTL_SCALE_ABS = 1, /* arg = new count, 0..MSG_SCALE_MAX */
	CTL_SCALE_REL = 2, /* arg = +N / -N, -MSG_SCALE_MAX..MSG_SCALE_MAX */
	CTL_RELOAD = 3,
	CTL_STOP = 4,      /* graceful */
	CTL_QUIT = 5,      /* fast */
	CTL_REOPEN = 6,
	CTL_UPGRADE = 7,   /* arg = pid to signal with the outcome, or 0 */
	CTL_DRAIN = 8,     /* agent-check answers "drain" */
	CTL_UNDRAIN = 9,   /* ... and "up" again */
};

struct msg_control {
	uint32_t command;
	int32_t arg;
};

struct msg {
	struct msg_header h;
	union {
		struct msg_stop_graceful stop;
		struct msg_log_fds log_fds;
		struct msg_ready ready;
		struct msg_heartbeat heartbeat;
		struct msg_stats stats;
		struct msg_control control;
		struct msg_tls_keys tls_keys;
	} u;
};

/* Largest encoded message; queues and receive buffers use this size. */
#define MSG_MAX_SIZE ((size_t)sizeof(struct msg))

enum msg_result {
	MSG_OK = 0,
	MSG_ERR_SHORT,       /* fewer bytes than a header */
	MSG_ERR_VERSION,     /* unknown protocol version */
	MSG_ERR_TYPE,        /* unknown type */
	MSG_ERR_SIZE,        /* length field or byte count wrong for the type */
	MSG_ERR_VALUE,       /* a field out of range (e.g. unknown control command) */
};

/* Fills the header for type (version, length, pid = getpid()), zeroes the
 * reserved fields and returns the number of bytes to send from m (header +
 * payload of that type); the payload must already be set in m->u. */
size_t msg_encode(struct msg *m, enum msg_type type);
/* Validates buf[0..len) and copies it into *out. Returns MSG_OK or a reason;
 * *out is untouched unless MSG_OK. buf may be unaligned. Checked, in order:
 *   SHORT   len < header;
 *   VERSION version != MSG_VERSION;
 *   TYPE    type not one of enum msg_type;
 *   SIZE    header length != the type's payload size, or len != header +
 *           payload exactly;
 *   VALUE   header pid <= 0; STATS: final not 0/1, pid <= 0, or
 *           connections_active > connections_accepted; LOG_FDS: a flag
 *           not 0/1; TLS_KEYS: nkeys not 1..MSG_TLS_NKEYS; CONTROL: command
 *           not one of enum control_cmd, SCALE_ABS with arg outside
 *           0..MSG_SCALE_MAX, SCALE_REL outside -MSG_SCALE_MAX..MSG_SCALE_MAX
 *           (so no sum of scale requests can overflow).
 * Reserved fields are not checked. */
enum msg_result msg_decode(const void *buf, size_t len, struct msg *out);
/* Payload size for a type, or 0 if unknown (STOP_NOW and REOPEN_LOGS have
 * an empty payload too: msg_type_name() tells them from unknown types). */
size_t msg_payload_size(unsigned type);
/* Names for log lines; never NULL ("unknown" for values out of range). */
const char *msg_type_name(unsigned type);
const char *msg_result_name(enum msg_result r);
const char *control_cmd_name(unsigned cmd);

#endif
