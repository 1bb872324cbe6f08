/*
 * Encoding and validation of the fixed, typed records of msg.h.
 *
 * The encoded form is the in-memory struct msg, header then payload, in host
 * byte order: both ends are processes of one host. Decoding copies the bytes
 * into an aligned struct before reading any field, because a receive buffer
 * may sit at any address.
 */
#include "ipc/msg.h"
#include "ipc/base/util.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

#define HDR_SIZE sizeof(struct msg_header)

/* The payload follows the header with no gap, so the first
 * HDR_SIZE + payload bytes of a struct msg are its encoded form. */
_Static_assert(offsetof(struct msg, u) == HDR_SIZE, "payload must follow the header");

/* The types this version knows, with their payload sizes. */
struct msg_kind {
	unsigned type;
	const char *name;
	size_t payload;
};

static const struct msg_kind msg_kinds[] = {
	{ MSG_STOP_GRACEFUL, "stop_graceful", sizeof(struct msg_stop_graceful) },
	{ MSG_STOP_NOW, "stop_now", 0 },
	{ MSG_REOPEN_LOGS, "reopen_logs", 0 },
	{ MSG_LOG_FDS, "log_fds", sizeof(struct msg_log_fds) },
	{ MSG_TLS_KEYS, "tls_keys", sizeof(struct msg_tls_keys) },
	{ MSG_READY, "ready", sizeof(struct msg_ready) },
	{ MSG_HEARTBEAT, "heartbeat", sizeof(struct msg_heartbeat) },
	{ MSG_STATS, "stats", sizeof(struct msg_stats) },
	{ MSG_CONTROL, "control", sizeof(struct msg_control) },
};

static const struct msg_kind *
msg_kind(unsigned type)
{
	size_t i;

	for (i = 0; i < nitems(msg_kinds); i++)
		if (msg_kinds[i].type == type)
			return &msg_kinds[i];
	return NULL;
}

size_t
msg_payload_size(unsigned type)
{
	const struct msg_kind *k = msg_kind(type);

	return k == NULL ? 0 : k->payload;
}

const char *
msg_type_name(unsigned type)
{
	const struct msg_kind *k = msg_kind(type);

	return k == NULL ? "unknown" : k->name;
}

const char *
msg_result_name(enum msg_result r)
{
	switch (r) {
	case MSG_OK:
		return "ok";
	case MSG_ERR_SHORT:
		return "shorter than a header";
	case MSG_ERR_VERSION:
		return "unknown version";
	case MSG_ERR_TYPE:
		return "unknown type";
	case MSG_ERR_SIZE:
		return "wrong size for its type";
	case MSG_ERR_VALUE:
		return "field out of range";
	}
	return "unknown result";
}

const char *
control_cmd_name(unsigned cmd)
{
	switch (cmd) {
	case CTL_SCALE_ABS:
		return "scale";
	case CTL_SCALE_REL:
		return "scale_rel";
	case CTL_RELOAD:
		return "reload";
	case CTL_STOP:
		return "stop";
	case CTL_QUIT:
		return "quit";
	case CTL_REOPEN:
		return "reopen";
	case CTL_UPGRADE:
		return "upgrade";
	case CTL_DRAIN:
		return "drain";
	case CTL_UNDRAIN:
		return "undrain";
	}
	return "unknown";
}

/* Reserved fields go out as zero, so no stack garbage crosses a process
 * boundary and a later version may give them a meaning. */
static void
msg_clear_reserved(struct msg *m, unsigned type)
{
	m->h.reserved = 0;
	if (type == MSG_STOP_GRACEFUL)
		m->u.stop.reserved = 0;
	else if (type == MSG_HEARTBEAT)
		m->u.heartbeat.reserved = 0;
	else if (type == MSG_TLS_KEYS)
		m->u.tls_keys.reserved = 0;
}

size_t
msg_encode(struct msg *m, enum msg_type type)
{
	size_t payload = msg_payload_size(type);

	m->h.version = MSG_VERSION;
	m->h.type = (uint16_t)type;
	m->h.length = (uint32_t)payload;
	m->h.pid = (int32_t)getpid();
	msg_clear_reserved(m, type);
	return HDR_SIZE + payload;
}

static enum msg_result
msg_check_stats(const struct msg_stats *s)
{
	if (s->final > 1 || s->pid <= 0)
		return MSG_ERR_VALUE;
	/* A gauge of open connections can never exceed the accepted total. */
	if (s->c.connections_active > s->c.connections_accepted)
		return MSG_ERR_VALUE;
	return MSG_OK;
}

static enum msg_result
msg_check_control(const struct msg_control *c)
{
	if (c->command < CTL_SCALE_ABS || c->command > CTL_UNDRAIN)
		return MSG_ERR_VALUE;
	if (c->command == CTL_SCALE_ABS && (c->arg < 0 || c->arg > MSG_SCALE_MAX))
		return MSG_ERR_VALUE;
	if (c->command == CTL_SCALE_REL &&
	    (c->arg < -MSG_SCALE_MAX || c->arg > MSG_SCALE_MAX))
		return MSG_ERR_VALUE;
	return MSG_OK;
}

/* Range checks of a message whose framing is already known to be right. */
static enum msg_result
msg_check_values(const struct msg *m)
{
	if (m->h.pid <= 0)
		return MSG_ERR_VALUE;
	switch (m->h.type) {
	case MSG_STATS:
		return msg_check_stats(&m->u.stats);
	case MSG_CONTROL:
		return msg_check_control(&m->u.control);
	case MSG_LOG_FDS:
		return m->u.log_fds.error_log > 1 || m->u.log_fds.access_log > 1 ?
		    MSG_ERR_VALUE : MSG_OK;
	case MSG_TLS_KEYS:
		if (m->u.tls_keys.nkeys < 1 || m->u.tls_keys.nkeys > MSG_TLS_NKEYS)
			return MSG_ERR_VALUE;
		break;
	}
	return MSG_OK;
}

enum msg_result
msg_decode(const void *buf, size_t len, struct msg *out)
{
	const struct msg_kind *k;
	struct msg m;

	if (len < HDR_SIZE)
		return MSG_ERR_SHORT;
	memset(&m, 0, sizeof(m));
	memcpy(&m.h, buf, HDR_SIZE);
	if (m.h.version != MSG_VERSION)
		return MSG_ERR_VERSION;
	if ((k = msg_kind(m.h.type)) == NULL)
		return MSG_ERR_TYPE;
	if (m.h.length != k->payload || len != HDR_SIZE + k->payload)
		return MSG_ERR_SIZE;
	memcpy(&m.u, (const unsigned char *)buf + HDR_SIZE, k->payload);
	if (msg_check_values(&m) != MSG_OK)
		return MSG_ERR_VALUE;
	*out = m;
	return MSG_OK;
}
