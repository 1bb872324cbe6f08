/* Monotonic and wall-clock time helpers. */
#ifndef PREFORKD_CLOCK_H
#define PREFORKD_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t clock_mono_ms(void);
/* "2026-11-23T15:04:05Z" into buf (at least 21 bytes). Returns buf. */
char *clock_iso8601(time_t t, char *buf, size_t len);

#endif
