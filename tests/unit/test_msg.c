/* msg encode/decode: every type round-trips, every malformed input has a
 * reason. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/msg.h"

#define HDR sizeof(struct msg_header)

static struct msg
msg_sample_stats(void)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.u.stats.slot = 3;
	m.u.stats.generation = 7;
	m.u.stats.pid = 4243;
	m.u.stats.final = 1;
	m.u.stats.c.connections_accepted = 10;
	m.u.stats.c.connections_active = 2;
	m.u.stats.c.requests = 25;
	m.u.stats.c.responses[1] = 20;
	m.u.stats.c.responses[3] = 5;
	m.u.stats.c.bytes_in = 3000;
	m.u.stats.c.bytes_out = 1234567890123ULL;
	return m;
}

/* Encodes m as type into a heap buffer of exactly the encoded size, at an odd
 * address, so ASan catches any over-read and alignment is never assumed. */
static unsigned char *
msg_wire(struct msg *m, enum msg_type type, size_t *len)
{
	unsigned char *raw;

	*len = msg_encode(m, type);
	raw = malloc(*len + 1);
	cr_assert_not_null(raw);
	memcpy(raw + 1, m, *len);
	return raw;
}

static enum msg_result
msg_decode_bytes(const void *p, size_t len, struct msg *out)
{
	unsigned char *copy = malloc(len ? len : 1);
	enum msg_result r;

	cr_assert_not_null(copy);
	memcpy(copy, p, len);
	r = msg_decode(copy, len, out);
	free(copy);
	return r;
}

Test(msg, payload_sizes)
{
	cr_expect_eq(HDR, 16);
	cr_expect_eq(msg_payload_size(MSG_STOP_GRACEFUL), 8);
	cr_expect_eq(msg_payload_size(MSG_STOP_NOW), 0);
	cr_expect_eq(msg_payload_size(MSG_REOPEN_LOGS), 0);
	cr_expect_eq(msg_payload_size(MSG_READY), 8);
	cr_expect_eq(msg_payload_size(MSG_HEARTBEAT), 16);
	cr_expect_eq(msg_payload_size(MSG_STATS), 128);
	cr_expect_eq(msg_payload_size(MSG_TLS_KEYS), 8 + 3 * 80);
	cr_expect_eq(msg_payload_size(MSG_CONTROL), 8);
	cr_expect_eq(msg_payload_size(0), 0);
	cr_expect_eq(msg_payload_size(99), 0);
	cr_expect_eq(MSG_MAX_SIZE, 16 + sizeof(struct msg_tls_keys));
}

Test(msg, encode_fills_header)
{
	struct msg m;
	size_t n;

	memset(&m, 0xAB, sizeof(m));
	m.u.stop.deadline_ms = 30000;
	n = msg_encode(&m, MSG_STOP_GRACEFUL);
	cr_assert_eq(n, 24);
	cr_expect_eq(m.h.version, MSG_VERSION);
	cr_expect_eq(m.h.type, MSG_STOP_GRACEFUL);
	cr_expect_eq(m.h.length, 8);
	cr_expect_eq(m.h.pid, getpid());
	cr_expect_eq(m.h.reserved, 0);
	cr_expect_eq(m.u.stop.reserved, 0);
	cr_expect_eq(m.u.stop.deadline_ms, 30000);
}

/* Encode, decode from an unaligned copy, compare every byte of the message. */
static void
msg_roundtrip(struct msg *m, enum msg_type type, size_t expect_len)
{
	struct msg out;
	unsigned char *raw;
	size_t len;

	raw = msg_wire(m, type, &len);
	cr_assert_eq(len, expect_len, "%s: %zu bytes", msg_type_name(type), len);
	memset(&out, 0x5A, sizeof(out));
	cr_assert_eq(msg_decode(raw + 1, len, &out), MSG_OK, "%s", msg_type_name(type));
	cr_expect_eq(memcmp(&out, m, len), 0, "%s differs", msg_type_name(type));
	cr_expect_eq(out.h.type, type);
	cr_expect_eq(out.h.pid, getpid());
	free(raw);
}

Test(msg, roundtrip_stop_graceful)
{
	struct msg m = { 0 };

	m.u.stop.deadline_ms = 12345;
	msg_roundtrip(&m, MSG_STOP_GRACEFUL, 24);
}

Test(msg, roundtrip_stop_now)
{
	struct msg m = { 0 };

	msg_roundtrip(&m, MSG_STOP_NOW, 16);
}

Test(msg, roundtrip_reopen_logs)
{
	struct msg m = { 0 };

	msg_roundtrip(&m, MSG_REOPEN_LOGS, 16);
}

Test(msg, roundtrip_ready)
{
	struct msg m = { 0 };

	m.u.ready.slot = 63;
	m.u.ready.generation = 4000000000u;
	msg_roundtrip(&m, MSG_READY, 24);
}

Test(msg, roundtrip_heartbeat)
{
	struct msg m = { 0 };

	m.u.heartbeat.mono_ms = 0x0123456789ABCDEFULL;
	m.u.heartbeat.connections_active = 77;
	msg_roundtrip(&m, MSG_HEARTBEAT, 32);
}

Test(msg, roundtrip_stats)
{
	struct msg m = msg_sample_stats();
	struct msg out;
	size_t len = msg_encode(&m, MSG_STATS);

	msg_roundtrip(&m, MSG_STATS, 144);
	cr_assert_eq(msg_decode_bytes(&m, len, &out), MSG_OK);
	cr_expect_eq(out.u.stats.c.bytes_out, 1234567890123ULL);
	cr_expect_eq(out.u.stats.c.responses[3], 5);
	cr_expect_eq(out.u.stats.final, 1);
}

Test(msg, roundtrip_control_every_command)
{
	struct msg m = { 0 };
	unsigned cmd;

	for (cmd = CTL_SCALE_ABS; cmd <= CTL_REOPEN; cmd++) {
		m.u.control.command = cmd;
		m.u.control.arg = cmd == CTL_SCALE_REL ? -3 : (int)cmd;
		msg_roundtrip(&m, MSG_CONTROL, 24);
	}
}

Test(msg, decode_zero_bytes)
{
	struct msg out;

	cr_expect_eq(msg_decode("", 0, &out), MSG_ERR_SHORT);
}

/* The session-ticket keys go down every channel (docs/ARCHITECTURE.md: TLS): all three
 * keys arrive intact; a count outside 1..3 is refused. */
Test(msg, roundtrip_tls_keys)
{
	struct msg m, out;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.u.tls_keys.nkeys = 3;
	for (int i = 0; i < 3; i++) {
		memset(m.u.tls_keys.keys[i].name, 0x10 + i, 16);
		memset(m.u.tls_keys.keys[i].aes, 0x20 + i, 32);
		memset(m.u.tls_keys.keys[i].hmac, 0x30 + i, 32);
	}
	msg_roundtrip(&m, MSG_TLS_KEYS, 16 + 248);
	len = msg_encode(&m, MSG_TLS_KEYS);
	cr_assert_eq(msg_decode_bytes(&m, len, &out), MSG_OK);
	cr_expect_eq(out.u.tls_keys.keys[2].hmac[31], 0x32);
	cr_expect_str_eq(msg_type_name(MSG_TLS_KEYS), "tls_keys");
	m.u.tls_keys.nkeys = 0;
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VALUE);
	m.u.tls_keys.nkeys = 4;
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VALUE);
}

Test(msg, decode_header_short_by_one)
{
	struct msg m = { 0 }, out;

	msg_encode(&m, MSG_STOP_NOW);
	cr_expect_eq(msg_decode_bytes(&m, HDR - 1, &out), MSG_ERR_SHORT);
}

Test(msg, decode_short_by_one_every_type)
{
	static const enum msg_type types[] = { MSG_STOP_GRACEFUL, MSG_STOP_NOW,
		MSG_REOPEN_LOGS, MSG_READY, MSG_HEARTBEAT, MSG_STATS, MSG_CONTROL };
	struct msg m, out;
	size_t i, len;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		m = msg_sample_stats(); /* its slot 3 reads as CTL_RELOAD: valid */
		len = msg_encode(&m, types[i]);
		/* Types without payload are short as a header: SHORT; others SIZE. */
		cr_expect_eq(msg_decode_bytes(&m, len - 1, &out),
		    len == HDR ? MSG_ERR_SHORT : MSG_ERR_SIZE, "%s", msg_type_name(types[i]));
	}
}

Test(msg, decode_long_by_one)
{
	unsigned char raw[MSG_MAX_SIZE + 1];
	struct msg m = msg_sample_stats(), out;
	size_t len = msg_encode(&m, MSG_STATS);

	memset(raw, 0, sizeof(raw));
	memcpy(raw, &m, len);
	cr_expect_eq(msg_decode(raw, len + 1, &out), MSG_ERR_SIZE);
	m.u.ready.slot = 1;
	len = msg_encode(&m, MSG_READY);
	memcpy(raw, &m, len);
	cr_expect_eq(msg_decode(raw, len + 1, &out), MSG_ERR_SIZE);
}

Test(msg, decode_wrong_version)
{
	struct msg m = { 0 }, out;
	size_t len = msg_encode(&m, MSG_STOP_NOW);

	m.h.version = MSG_VERSION + 1;
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VERSION);
	m.h.version = 0;
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VERSION);
}

Test(msg, decode_unknown_type)
{
	static const uint16_t bad[] = { 0, 4, 9, 12, 19, 21, 29, 31, 0xFFFF };
	struct msg m = { 0 }, out;
	size_t i, len = msg_encode(&m, MSG_STOP_NOW);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.h.type = bad[i];
		m.h.length = 0;
		cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_TYPE, "type %u", bad[i]);
	}
}

Test(msg, decode_length_field_lies)
{
	struct msg m = { 0 }, out;
	size_t len;

	m.u.ready.slot = 1;
	len = msg_encode(&m, MSG_READY);
	/* The byte count is right for READY, the header says otherwise. */
	m.h.length = 16;
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_SIZE);
	m.h.length = 0xFFFFFFFFu;
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_SIZE);
	/* Header and byte count agree with each other but not with the type. */
	m.h.length = 16;
	cr_expect_eq(msg_decode_bytes(&m, HDR + 16, &out), MSG_ERR_SIZE);
}

Test(msg, decode_bad_control_command)
{
	static const uint32_t bad[] = { 0, 10, 100, 0xFFFFFFFFu };
	struct msg m = { 0 }, out;
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.u.control.command = bad[i];
		m.u.control.arg = 1;
		len = msg_encode(&m, MSG_CONTROL);
		cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VALUE, "cmd %u", bad[i]);
	}
}

Test(msg, decode_negative_absolute_scale)
{
	struct msg m = { 0 }, out;
	size_t len;

	m.u.control.command = CTL_SCALE_ABS;
	m.u.control.arg = -1;
	len = msg_encode(&m, MSG_CONTROL);
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VALUE);
	m.u.control.arg = 0;
	len = msg_encode(&m, MSG_CONTROL);
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_OK);
}

Test(msg, decode_bad_final_flag)
{
	struct msg m = msg_sample_stats(), out;
	size_t len;

	m.u.stats.final = 2;
	len = msg_encode(&m, MSG_STATS);
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VALUE);
	m.u.stats.final = 0;
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_OK);
	cr_expect_eq(out.u.stats.final, 0);
}

Test(msg, decode_stats_active_above_accepted)
{
	struct msg m = msg_sample_stats(), out;
	size_t len;

	m.u.stats.c.connections_active = m.u.stats.c.connections_accepted + 1;
	len = msg_encode(&m, MSG_STATS);
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VALUE);
}

Test(msg, decode_bad_pids)
{
	struct msg m = msg_sample_stats(), out;
	size_t len = msg_encode(&m, MSG_STATS);

	m.u.stats.pid = 0;
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VALUE);
	m.u.stats.pid = 4243;
	m.h.pid = -1;
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VALUE);
}

Test(msg, decode_failure_leaves_out_untouched)
{
	struct msg m = { 0 }, out, before;
	size_t len;

	m.u.control.command = 99;
	len = msg_encode(&m, MSG_CONTROL);
	memset(&out, 0x77, sizeof(out));
	before = out;
	cr_expect_eq(msg_decode_bytes(&m, len, &out), MSG_ERR_VALUE);
	cr_expect_eq(memcmp(&out, &before, sizeof(out)), 0);
}

/* Deterministic garbage of every length up to a little over the maximum:
 * never MSG_OK by accident, never a crash (ASan checks the reads). */
Test(msg, decode_random_garbage)
{
	unsigned char *raw;
	struct msg out;
	unsigned seed = 12345;
	size_t len, i;
	int round;

	for (round = 0; round < 50; round++) {
		for (len = 0; len <= MSG_MAX_SIZE + 8; len++) {
			raw = malloc(len ? len : 1);
			cr_assert_not_null(raw);
			for (i = 0; i < len; i++) {
				seed = seed * 1103515245u + 12345u;
				raw[i] = (unsigned char)(seed >> 16);
			}
			cr_expect_neq(msg_decode(raw, len, &out), MSG_OK, "len %zu", len);
			free(raw);
		}
	}
}

Test(msg, names)
{
	cr_expect_str_eq(msg_type_name(MSG_STOP_GRACEFUL), "stop_graceful");
	cr_expect_str_eq(msg_type_name(MSG_STOP_NOW), "stop_now");
	cr_expect_str_eq(msg_type_name(MSG_REOPEN_LOGS), "reopen_logs");
	cr_expect_str_eq(msg_type_name(MSG_READY), "ready");
	cr_expect_str_eq(msg_type_name(MSG_HEARTBEAT), "heartbeat");
	cr_expect_str_eq(msg_type_name(MSG_STATS), "stats");
	cr_expect_str_eq(msg_type_name(MSG_CONTROL), "control");
	cr_expect_str_eq(msg_type_name(12345), "unknown");
	cr_expect_str_eq(msg_result_name(MSG_OK), "ok");
	cr_expect_str_eq(msg_result_name(MSG_ERR_SHORT), "shorter than a header");
	cr_expect_str_eq(msg_result_name(MSG_ERR_VERSION), "unknown version");
	cr_expect_str_eq(msg_result_name(MSG_ERR_TYPE), "unknown type");
	cr_expect_str_eq(msg_result_name(MSG_ERR_SIZE), "wrong size for its type");
	cr_expect_str_eq(msg_result_name(MSG_ERR_VALUE), "field out of range");
	cr_expect_str_eq(msg_result_name((enum msg_result)42), "unknown result");
	cr_expect_str_eq(control_cmd_name(CTL_SCALE_ABS), "scale");
	cr_expect_str_eq(control_cmd_name(CTL_SCALE_REL), "scale_rel");
	cr_expect_str_eq(control_cmd_name(CTL_RELOAD), "reload");
	cr_expect_str_eq(control_cmd_name(CTL_STOP), "stop");
	cr_expect_str_eq(control_cmd_name(CTL_QUIT), "quit");
	cr_expect_str_eq(control_cmd_name(CTL_REOPEN), "reopen");
	cr_expect_str_eq(control_cmd_name(0), "unknown");
}
