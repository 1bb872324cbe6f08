/*
 * libFuzzer target for msg_decode(), the one function that reads bytes from
 * other processes, and for the snapshot encoders fed with those bytes.
 *
 * Decoding must never crash or read past len; what it accepts must be exactly
 * one whole message of a known type that re-encodes and decodes again; the
 * encoders must never write past their buffer and either fail or produce one
 * complete line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/msg.h"
#include "ipc/snapshot.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
fuzz_decode(const uint8_t *data, size_t size)
{
	struct msg out, again;
	enum msg_result r;
	size_t n;

	r = msg_decode(data, size, &out);
	CHECK(msg_result_name(r) != NULL);
	if (r != MSG_OK) {
		CHECK(r >= MSG_ERR_SHORT && r <= MSG_ERR_VALUE);
		return;
	}
	CHECK(strcmp(msg_type_name(out.h.type), "unknown") != 0);
	CHECK(size == sizeof(struct msg_header) + msg_payload_size(out.h.type));
	CHECK(memcmp(&out, data, size) == 0);
	if (out.h.type == MSG_CONTROL)
		CHECK(strcmp(control_cmd_name(out.u.control.command), "unknown") != 0);
	/* Re-encoding (our pid, reserved zeroed) gives a message as valid. */
	n = msg_encode(&out, (enum msg_type)out.h.type);
	CHECK(n == size);
	CHECK(msg_decode(&out, n, &again) == MSG_OK);
}

/* The input's bytes as snapshot strings and numbers, encoded into a buffer
 * whose size the input picks too. */
static void
fuzz_snapshot(const uint8_t *data, size_t size)
{
	static struct snapshot s;
	static char buf[4096];
	size_t len, i;
	int n;

	if (size < 2)
		return;
	len = ((size_t)data[0] << 8 | data[1]) % sizeof(buf);
	memset(&s, 0, sizeof(s));
	s.nlisten = 2;
	s.nworkers = 2;
	for (i = 2; i < size; i++) {
		s.listen[i % 2][(i / 2) % 64] = (char)data[i];
		s.workers[i % 2].state[i % 16] = (char)data[i];
		((uint8_t *)&s.totals)[i % sizeof(s.totals)] ^= data[i];
	}
	memcpy(&s.uptime_s, &s.totals.bytes_in, sizeof(s.uptime_s));
	s.workers[1].started = (time_t)s.totals.bytes_out;
	n = (data[0] & 1) ? snapshot_text(&s, buf, len) : snapshot_json(&s, buf, len);
	CHECK(n == -1 || ((size_t)n < len && strlen(buf) == (size_t)n && buf[n - 1] == '\n'));
	if (n > 0 && !(data[0] & 1))
		CHECK(memchr(buf, '\n', (size_t)n) == buf + n - 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_decode(data, size);
	fuzz_snapshot(data, size);
	return 0;
}
