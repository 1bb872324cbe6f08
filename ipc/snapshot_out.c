/*
 * The snapshot encoders' bounded writer (snapshot_out.h).
 */
#include "ipc/snapshot_out.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define UPTIME_MAX 1e12 /* seconds; keeps the uptime short whatever the input */

void
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

void
snap_put(struct snap_out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (n >= o->len - o->off) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->off, s, n);
	o->off += n;
	o->buf[o->off] = '\0';
}

void
snap_escaped(struct snap_out *o, const char *s, size_t max, snap_esc_fn esc)
{
	size_t i, run, n = strnlen(s, max);
	unsigned char c;

	for (i = 0; i < n; i += run) {
		for (run = 0; i + run < n; run++) {
			c = (unsigned char)s[i + run];
			if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
				break;
		}
		snap_put(o, s + i, run); /* the plain bytes, in one copy */
		if (i + run == n)
			break;
		esc(o, (unsigned char)s[i + run++]);
	}
}

int
snap_finish(struct snap_out *o)
{
	if (o->full) {
		if (o->len > 0)
			o->buf[0] = '\0';
		return -1;
	}
	return (int)o->off;
}

/* Integer maths keeps the output finite, short and independent of the
 * locale's decimal point. */
uint64_t
snap_tenths(double u)
{
	if (!isfinite(u) || u < 0)
		return 0;
	if (u > UPTIME_MAX)
		u = UPTIME_MAX;
	return (uint64_t)(u * 10 + 0.5);
}

int
snap_clamp(int n, int max)
{
	return n < 0 ? 0 : n > max ? max : n;
}

int
snap_number(struct snap_out *o, const struct snap_field *f, const void *base,
    const struct snapshot *s)
{
	uint64_t tenths;
	double u;

	switch (f->type) {
	case SNAP_UINT:
	case SNAP_U64:
		snap_printf(o, "%" PRIu64, snap_field_u64(f, base));
		return 0;
	case SNAP_INT:
	case SNAP_I64:
	case SNAP_MS:
	case SNAP_EXPIRES:
	case SNAP_VERSION:
		snap_printf(o, "%" PRId64, snap_field_i64(f, base, s));
		return 0;
	case SNAP_UPTIME:
		memcpy(&u, (const char *)base + f->off, sizeof(u));
		tenths = snap_tenths(u);
		snap_printf(o, "%" PRIu64 ".%" PRIu64, tenths / 10, tenths % 10);
		return 0;
	default:
		return -1;
	}
}
