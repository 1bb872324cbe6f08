/*
 * Connections: accepting on the shared listeners, reading and parsing
 * request heads, sending replies, keep-alive and pipelining, timeouts and
 * the one teardown, conn_close().
 *
 * A new connection is served at once, before any epoll registration (the
 * listeners defer accepting until the request has arrived): one that closes
 * after its first reply costs accept4, read, write and close. One that lives
 * on is registered once, edge-triggered for input and output, and never
 * re-registered: readiness is remembered in flags and cleared on EAGAIN (or
 * a short read or write), so a keep-alive request costs one read and one
 * write. Per-request memory (read buffer, parsed head, reply) lives in a
 * pooled block that an idle keep-alive connection gives back, so an idle
 * connection costs only its struct conn.
 *
 * A large file goes out CONN_SEND_CHUNK bytes per sendfile call; after each
 * chunk the connection queues behind the other ready ones (cx->pending, in
 * order) instead of writing on until the socket buffer is full, so one loop
 * turn gives every sending connection a chunk and no call runs long.
 *
 * The code is split by phase: conn.c the request/reply cycle, teardown and
 * this context; conn_accept.c accepting and the PROXY header; conn_send.c
 * the sender and its pending queue; conn_tls.c the TLS glue. They share
 * struct conn through conn_internal.h, which nothing else includes.
 */
#ifndef PREFORKD_CONN_H
#define PREFORKD_CONN_H

#include <stdint.h>
#include <sys/queue.h>

#include "ipc/msg.h"
#include "server/accesslog.h"
#include "server/file.h"
#include "server/loop.h"
#include "server/response.h"
#include "server/worker_params.h"

#define CONN_RBUF 8192            /* also the limit on a request head */
#define CONN_HDR 1024             /* reply head; longer ones go to the heap */
#define CONN_LINGER_MS 2000       /* reading leftovers after a closing reply */
#define CONN_DRAIN_MS 1000        /* stopping: an idle keep-alive connection's last chance */
#define CONN_EMFILE_PAUSE_MS 200
#define CONN_EMFILE_LOG_MS 60000
#define CONN_BUDGET 32            /* requests per connection per turn */
#define CONN_SEND_CHUNK (512 * 1024) /* file bytes per sendfile, then the next connection */
#define CONN_TLS_BUF (80 * 1024)  /* TLS: bytes per pread, one write of TLS_BATCH records */

struct conn;

struct conn_listener {
	struct loop_io io;
	struct conn_ctx *cx;
	int registered;
	int proxy;                    /* a PROXY protocol header comes first */
	int tls;                      /* connections start with a TLS handshake */
};

/* The serving state of one worker; owned by worker.c. */
struct conn_ctx {
	struct loop *loop;
	const struct worker_params *params;
	struct response_ctx rctx;
	struct accesslog *alog;
	struct stats_counters stats;
	int max_head;
	int max_conns;                /* max_connections within the fd budget */

	struct conn_listener listeners[WORKER_MAX_LISTEN];
	int nlisten;
	int stopping;                 /* graceful: no accepting, close when idle */
	int emfile_paused;
	int64_t emfile_logged_ms;     /* last EMFILE warning, 0 = never */
	int want_stop;                /* max_requests reached */
	int log_failed;               /* an access-log write failed (logged once) */
	struct loop_timer emfile_timer;
	char *tls_buf;                /* CONN_TLS_BUF bytes of plaintext to seal */
	struct conn *tls_owner;       /* whose bytes tls_buf holds, or NULL */
	uint64_t tls_pos;             /* ... from this offset of its reply */
	size_t tls_len;

	int nconns;
	LIST_HEAD(, conn) all;        /* every open connection */
	TAILQ_HEAD(conn_queue, conn) pending; /* run again after the batch, in */
	struct conn_queue running;    /* order: out of budget, or a file chunk sent */
	SLIST_HEAD(, conn) closed;    /* freed after the event batch */
	SLIST_HEAD(, conn) free_conns;
	SLIST_HEAD(, conn_block) free_blocks;
	struct loop_dlist ka_list, hdr_list, send_list, linger_list, drain_list;
};

/* Sets cx up over an existing loop, root fd and file cache; registers the
 * listeners. Returns 0, or -1 with errno. */
int conn_ctx_init(struct conn_ctx *cx, struct loop *l, const struct worker_params *p,
    int rootfd, struct file_cache *fc, struct accesslog *alog);
/* Graceful stop: listeners off (queued connections taken first), every
 * connection closed after its current or next reply, idle keep-alive ones
 * after CONN_DRAIN_MS without a request. */
void conn_stop_graceful(struct conn_ctx *cx);
/* Closes every connection now. */
void conn_close_all(struct conn_ctx *cx);
/* Frees pooled memory (after conn_close_all). */
void conn_ctx_free(struct conn_ctx *cx);
/* Ends c: the one teardown for every path. reason is for debug logs. */
void conn_close(struct conn *c, const char *reason);

#endif
