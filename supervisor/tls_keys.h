/*
 * The supervisor's side of TLS (DESIGN §12): the server context built from
 * the configuration (before privileges drop, so the key may be root-only)
 * and the session-ticket keys it owns, rotates and hands to every worker.
 */
#ifndef PREFORKD_TLS_KEYS_H
#define PREFORKD_TLS_KEYS_H

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
	int64_t rotate_ms;           /* next rotation, monotonic; 0 = none */
	uint64_t rotations;
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
/* Frees the context; wipes the keys. */
void tls_state_free(struct tls_state *st);

#endif
