/*
 * A small epoll loop in the manner of redis ae: file events with callbacks,
 * a handful of one-shot timers, and deadline lists for the per-connection
 * timeouts.
 *
 * Every connection timeout kind (keep-alive, header, send, linger) has one
 * fixed duration, so a node appended at the tail of its list always has the
 * latest deadline: append, remove and expire-from-the-head are all O(1) and
 * nothing ever scans every connection. The epoll_wait timeout is the nearest
 * deadline of any timer or list head.
 *
 * Freed-while-dispatching: a callback may close a connection whose event is
 * still further down the same batch. Owners set io->fd to -1 when they close
 * it (the loop then skips its events) and release its memory only from the
 * after-batch hook, which runs once the whole batch is dispatched.
 */
#ifndef PREFORKD_LOOP_H
#define PREFORKD_LOOP_H

#include <stdint.h>
#include <sys/queue.h>

struct loop;
struct loop_io;
struct loop_dlist;

typedef void loop_io_cb(struct loop *, struct loop_io *, uint32_t events);

/* Embedded in its owner; epoll's data.ptr points at it. */
struct loop_io {
	int fd;          /* -1 once closed: pending events are skipped */
	uint32_t events; /* as registered */
	loop_io_cb *cb;
};

struct loop_timer;
typedef void loop_timer_cb(struct loop *, struct loop_timer *);

/* One-shot timer; re-add it from its callback for a periodic one. */
struct loop_timer {
	int64_t when;              /* monotonic ms */
	loop_timer_cb *cb;
	void *data;
	TAILQ_ENTRY(loop_timer) link; /* the loop's timers, sorted by when */
	int armed;
};

struct loop_dnode {
	TAILQ_ENTRY(loop_dnode) link;
	struct loop_dlist *list;   /* NULL when not on any list */
	int64_t deadline;
};

typedef void loop_expire_cb(struct loop *, struct loop_dnode *);

/* A list of nodes with one fixed duration, ordered by deadline. */
struct loop_dlist {
	TAILQ_HEAD(loop_dnode_q, loop_dnode) nodes;
	int duration_ms;           /* <= 0: nodes are never put on it */
	loop_expire_cb *expire;    /* called with the node already removed */
	SLIST_ENTRY(loop_dlist) chain; /* private: the loop's lists */
};

typedef void loop_hook(struct loop *, void *arg);

/* Creates a loop with room for maxevents events per epoll_wait. Returns
 * NULL with errno. */
struct loop *loop_new(int maxevents);
void loop_free(struct loop *l);

/* The loop's clock: monotonic ms, refreshed after each epoll_wait. */
int64_t loop_now(const struct loop *l);
/* Sets the clock (tests, and after a long callback). */
void loop_set_now(struct loop *l, int64_t now_ms);

/* epoll registration of io (fd and cb set by the caller). Return 0 or -1. */
int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events);
int loop_io_del(struct loop *l, struct loop_io *io);

/* Arms t to fire ms from now (re-arming moves it). */
void loop_timer_add(struct loop *l, struct loop_timer *t, int ms);
void loop_timer_del(struct loop *l, struct loop_timer *t);

/* Registers a deadline list with the loop (its head then bounds the wait). */
void loop_dlist_init(struct loop *l, struct loop_dlist *dl, int duration_ms,
    loop_expire_cb *expire);
/* Puts n at the tail of dl with deadline now + duration (removing it from
 * any list first). A no-op if dl->duration_ms <= 0. */
void loop_dnode_push(struct loop *l, struct loop_dlist *dl, struct loop_dnode *n);
/* Takes n off its list, if it is on one. */
void loop_dnode_remove(struct loop_dnode *n);

/* Called after every dispatched batch (deferred frees live there). */
void loop_set_after_batch(struct loop *l, loop_hook *fn, void *arg);
/* When set and returning true, epoll_wait does not sleep (work pending). */
void loop_set_busy(struct loop *l, int (*busy)(void *), void *arg);

/* Fires every timer and expires every list node due at or before now_ms.
 * Returns how many fired. */
int loop_expire(struct loop *l, int64_t now_ms);
/* Milliseconds until the nearest deadline (0 if due), or -1 if none. */
int loop_next_timeout(const struct loop *l);
/* One epoll_wait, its dispatch, the after-batch hook and due timers.
 * Returns 0, or -1 with errno when epoll_wait fails (EINTR is not a failure). */
int loop_run_once(struct loop *l);

#endif
