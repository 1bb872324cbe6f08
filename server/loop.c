#include "server/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ipc/base/clock.h"

struct loop {
	int epfd;
	int maxevents;
	struct epoll_event *events;
	int64_t now;
	TAILQ_HEAD(, loop_timer) timers;  /* sorted by when */
	SLIST_HEAD(, loop_dlist) lists;
	loop_hook *after_batch;
	void *after_arg;
	int (*busy)(void *);
	void *busy_arg;
};

struct loop *
loop_new(int maxevents)
{
	struct loop *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->epfd = -1;
	TAILQ_INIT(&l->timers);
	SLIST_INIT(&l->lists);
	l->maxevents = maxevents > 0 ? maxevents : 64;
	if ((l->events = calloc(l->maxevents, sizeof(*l->events))) == NULL)
		goto fail;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		goto fail;
	l->now = clock_mono_ms();
	return l;
fail:
	loop_free(l);
	return NULL;
}

void
loop_free(struct loop *l)
{
	int save = errno;

	if (l == NULL)
		return;
	if (l->epfd != -1)
		close(l->epfd);
	free(l->events);
	free(l);
	errno = save;
}

int64_t
loop_now(const struct loop *l)
{
	return l->now;
}

void
loop_set_now(struct loop *l, int64_t now_ms)
{
	l->now = now_ms;
}

static int
loop_ctl(struct loop *l, int op, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (epoll_ctl(l->epfd, op, io->fd, &ev) == -1)
		return -1;
	io->events = events;
	return 0;
}

int
loop_io_add(struct loop *l, struct loop_io *io, uint32_t events)
{
	return loop_ctl(l, EPOLL_CTL_ADD, io, events);
}

int
loop_io_del(struct loop *l, struct loop_io *io)
{
	io->events = 0;
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

void
loop_timer_del(struct loop *l, struct loop_timer *t)
{
	if (!t->armed)
		return;
	TAILQ_REMOVE(&l->timers, t, link);
	t->armed = 0;
}

/* Timers are few (heartbeat, stats, flushes, pauses), so a sorted list is
 * the simplest structure that keeps the nearest one at the head. */
void
loop_timer_add(struct loop *l, struct loop_timer *t, int ms)
{
	struct loop_timer *at;

	loop_timer_del(l, t);
	t->when = l->now + (ms > 0 ? ms : 0);
	TAILQ_FOREACH(at, &l->timers, link) {
		if (at->when > t->when)
			break;
	}
	if (at != NULL)
		TAILQ_INSERT_BEFORE(at, t, link);
	else
		TAILQ_INSERT_TAIL(&l->timers, t, link);
	t->armed = 1;
}

void
loop_dlist_init(struct loop *l, struct loop_dlist *dl, int duration_ms,
    loop_expire_cb *expire)
{
	TAILQ_INIT(&dl->nodes);
	dl->duration_ms = duration_ms;
	dl->expire = expire;
	SLIST_INSERT_HEAD(&l->lists, dl, chain);
}

void
loop_dnode_remove(struct loop_dnode *n)
{
	struct loop_dlist *dl = n->list;

	if (dl == NULL)
		return;
	TAILQ_REMOVE(&dl->nodes, n, link);
	n->list = NULL;
}

void
loop_dnode_push(struct loop *l, struct loop_dlist *dl, struct loop_dnode *n)
{
	struct loop_dnode *last;

	loop_dnode_remove(n);
	if (dl->duration_ms <= 0)
		return;
	last = TAILQ_LAST(&dl->nodes, loop_dnode_q);
	n->deadline = l->now + dl->duration_ms;
	/* The clock never runs backwards, but a test may set it: keep order. */
	if (last != NULL && n->deadline < last->deadline)
		n->deadline = last->deadline;
	n->list = dl;
	TAILQ_INSERT_TAIL(&dl->nodes, n, link);
}

void
loop_set_after_batch(struct loop *l, loop_hook *fn, void *arg)
{
	l->after_batch = fn;
	l->after_arg = arg;
}

void
loop_set_busy(struct loop *l, int (*busy)(void *), void *arg)
{
	l->busy = busy;
	l->busy_arg = arg;
}

int
loop_expire(struct loop *l, int64_t now_ms)
{
	struct loop_timer *t;
	struct loop_dlist *dl;
	struct loop_dnode *n;
	int fired = 0;

	while ((t = TAILQ_FIRST(&l->timers)) != NULL && t->when <= now_ms) {
		loop_timer_del(l, t);
		t->cb(l, t);
		fired++;
	}
	SLIST_FOREACH(dl, &l->lists, chain) {
		while ((n = TAILQ_FIRST(&dl->nodes)) != NULL && n->deadline <= now_ms) {
			loop_dnode_remove(n);
			dl->expire(l, n);
			fired++;
		}
	}
	return fired;
}

int
loop_next_timeout(const struct loop *l)
{
	const struct loop_dlist *dl;
	const struct loop_dnode *n;
	int64_t next = -1;

	if (!TAILQ_EMPTY(&l->timers))
		next = TAILQ_FIRST(&l->timers)->when;
	SLIST_FOREACH(dl, &l->lists, chain) {
		n = TAILQ_FIRST(&dl->nodes);
		if (n != NULL && (next == -1 || n->deadline < next))
			next = n->deadline;
	}
	if (next == -1)
		return -1;
	if (next <= l->now)
		return 0;
	return next - l->now > 3600000 ? 3600000 : (int)(next - l->now);
}

static void
loop_dispatch(struct loop *l, int n)
{
	struct loop_io *io;
	int i;

	for (i = 0; i < n; i++) {
		io = l->events[i].data.ptr;
		if (io->fd == -1)
			continue;
		io->cb(l, io, l->events[i].events);
	}
}

int
loop_run_once(struct loop *l)
{
	int n, timeout;

	timeout = loop_next_timeout(l);
	if (l->busy != NULL && l->busy(l->busy_arg))
		timeout = 0;
	n = epoll_wait(l->epfd, l->events, l->maxevents, timeout);
	l->now = clock_mono_ms();
	if (n == -1 && errno != EINTR)
		return -1;
	if (n > 0)
		loop_dispatch(l, n);
	if (l->after_batch != NULL)
		l->after_batch(l, l->after_arg);
	loop_expire(l, l->now);
	if (l->after_batch != NULL)
		l->after_batch(l, l->after_arg);
	return 0;
}
