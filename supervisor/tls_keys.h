/*
 * The supervisor's side of TLS (docs/ARCHITECTURE.md: TLS): the server context built from
 * the configuration (before privileges drop, so the key may be root-only)
 * and the session-ticket keys it owns, rotates and hands to every worker.
 */
#ifndef PREFORKD_TLS_KEYS_H
#define PREFORKD_TLS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ipc/msg.h"
#include "supervisor/config.h"

struct ssl_ctx_st;

struct tls_state {
	struct ssl_ctx_st *ctx;      /* NULL when no listener speaks TLS */
	time_t not_after;            /* of ctx's certificate */
	char certificate[PATH_MAX];
	struct msg_tls_keys keys;    /* keys[0] current, then the previous two */
	/* Drawn one rotation ahead, so a binary upgrade can hand it over and
	 * both supervisors rotate to the same key (see tls_keys_export). */
	struct msg_tls_key next;
	bool has_next;
	int64_t rotate_ms;           /* next rotation, monotonic; 0 = none */
	uint64_t rotations;
};

/*
 * The key ring as it travels from the old supervisor of a binary upgrade
 * to the new one (docs/ARCHITECTURE.md: The life of an upgrade, TLS): over their socketpair only, never
 * through disk, the environment or argv. Times are relative, so the two
 * processes need not agree on a clock. Fixed size, no pointers.
 */
struct tls_keys_handover {
	struct msg_tls_keys keys;    /* nkeys 0: the old one had none */
	struct msg_tls_key next;
	uint32_t has_next;           /* 0 or 1 */
	uint32_t reserved;           /* 0 */
	int64_t rotate_in_ms;        /* until the next rotation, 0 .. INT_MAX */
	uint64_t rotations;          /* so the status count continues */
};

/* True when some listener of c is a TLS one. */
int tls_conf_wanted(const struct config *c);
/* Builds the context c asks for into *ctx (NULL when no TLS listener and
 * no certificate), *not_after set. Returns 0, or -1 with err as
 * "FILE: message" (or "KEY: message" for a bad setting). */
int tls_conf_load(const struct config *c, struct ssl_ctx_st **ctx, time_t *not_after,
    char *err, size_t errlen);
/* Replaces st's context with ctx (freeing the old one: workers have their
 * own copies) and remembers c's certificate path. */
void tls_conf_commit(struct tls_state *st, const struct config *c,
    struct ssl_ctx_st *ctx, time_t not_after);

/* A fresh key from the OS CSPRNG becomes keys[0]; the older ones move down
 * and the oldest beyond MSG_TLS_NKEYS is dropped. The process's own table
 * (what forked workers inherit) is updated too. Returns 0, or -1 when
 * getrandom failed (the keys are then unchanged). */
int tls_keys_rotate(struct tls_state *st);
/* Fills *h from st, the next rotation due at st->rotate_ms (now_ms is
 * the caller's clock). The caller wipes *h once it is sent. */
void tls_keys_export(const struct tls_state *st, int64_t now_ms,
    struct tls_keys_handover *h);
/* Takes over the ring in *h: keys, the pre-drawn next key, the schedule
 * (the next rotation now_ms + rotate_in_ms) and the rotation count; the
 * process's own table is updated so workers forked next inherit it.
 * Returns 1 when keys were taken, 0 when *h holds none, -1 when *h is
 * malformed (st is then unchanged: fresh keys will be drawn). */
int tls_keys_import(struct tls_state *st, const struct tls_keys_handover *h,
    int64_t now_ms);
/* Frees the context; wipes the keys. */
void tls_state_free(struct tls_state *st);

#endif
