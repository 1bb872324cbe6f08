/*
 * The bounded writer the snapshot encoders share (snapshot.c,
 * snapshot_openmetrics.c): it stops at the first piece that does not fit,
 * so a small buffer yields -1 and never an overflow or a cut-off record
 * that a reader could take for a whole one. Internal to ipc/.
 */
#ifndef PREFORKD_SNAPSHOT_OUT_H
#define PREFORKD_SNAPSHOT_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "ipc/snapshot_fields.h"

struct snap_out {
	char *buf;
	size_t len;
	size_t off;
	int full;
};

/* Appends, keeping room for the NUL; marks the writer full if it cannot. */
void snap_printf(struct snap_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends n bytes of s, as snap_printf would "%.*s" but without the
 * formatting: the encoders write most of their output this way. */
void snap_put(struct snap_out *o, const char *s, size_t n);
/* How an encoder writes one byte that may not stand as it is. */
typedef void (*snap_esc_fn)(struct snap_out *o, unsigned char c);
/* Writes s[0..strnlen(s, max)): runs of printable ASCII other than '"' and
 * '\\' are copied whole, and every other byte goes to esc, so that what
 * the encoders write stays inside its quotes and valid UTF-8. */
void snap_escaped(struct snap_out *o, const char *s, size_t max, snap_esc_fn esc);
/* The encoders' result: bytes written, or -1 (and "" in buf) when full. */
int snap_finish(struct snap_out *o);
/* Uptime in tenths of a second, rounded; 0 when not finite or negative,
 * capped at 1e12 s, so "%.1f"-like output stays short and locale-free. */
uint64_t snap_tenths(double u);
int snap_clamp(int n, int max);
/* A numeric field as JSON and the text format write it ("12.5" for the
 * uptime). Returns 0, or -1 (nothing written) if f is not a number. */
int snap_number(struct snap_out *o, const struct snap_field *f, const void *base,
    const struct snapshot *s);

#endif
