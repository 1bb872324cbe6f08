/*
 * The size limits every layer shares, in one place (issue 14 item 4). Each
 * table that must hold "all the workers" or "all the listen addresses"
 * derives its size from these numbers instead of repeating them, so raising
 * a limit is one edit here and the relations below are checked by the
 * compiler wherever the derived sizes meet (supervisor/procs.h,
 * ipc/snapshot.h).
 *
 * Base numbers:
 *   LIMITS_WORKERS   the hard cap for workers and max_workers;
 *   LIMITS_LISTEN    listen addresses in a configuration;
 *   LIMITS_GENERATIONS  generations that run side by side: during a reload
 *                    the old one serves until the new one is ready.
 * Derived:
 *   LIMITS_PROCS     worker processes the supervisor may hold at once.
 */
#ifndef PREFORKD_LIMITS_H
#define PREFORKD_LIMITS_H

#define LIMITS_WORKERS 1024
#define LIMITS_LISTEN 16
#define LIMITS_GENERATIONS 2

#define LIMITS_PROCS (LIMITS_GENERATIONS * LIMITS_WORKERS)

_Static_assert(LIMITS_WORKERS > 0 && LIMITS_LISTEN > 0, "limits are positive");
_Static_assert(LIMITS_GENERATIONS >= 2,
    "a reload keeps the old generation serving while the new one starts");

#endif
