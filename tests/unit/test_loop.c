/* The event loop: timers, deadline lists, the wait timeout, dispatch. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "server/loop.h"

static struct loop *l;
static int fired[16];
static int nfired;

static void
setup(void)
{
	l = loop_new(16);
	cr_assert_not_null(l);
	loop_set_now(l, 1000);
	nfired = 0;
}

static void
teardown(void)
{
	loop_free(l);
}

TestSuite(loop, .init = setup, .fini = teardown);

static void
record_timer(struct loop *lp, struct loop_timer *t)
{
	(void)lp;
	fired[nfired++] = *(int *)t->data;
}

static void
timer_init(struct loop_timer *t, int *id)
{
	memset(t, 0, sizeof(*t));
	t->cb = record_timer;
	t->data = id;
}

Test(loop, timers_fire_in_deadline_order)
{
	struct loop_timer t[4];
	int ids[4] = { 0, 1, 2, 3 }, ms[4] = { 300, 100, 200, 100 }, i;

	for (i = 0; i < 4; i++) {
		timer_init(&t[i], &ids[i]);
		loop_timer_add(l, &t[i], ms[i]);
	}
	cr_assert_eq(loop_next_timeout(l), 100);
	cr_assert_eq(loop_expire(l, 1099), 0);
	cr_assert_eq(loop_expire(l, 1100), 2);
	/* Equal deadlines keep insertion order. */
	cr_assert_eq(fired[0], 1);
	cr_assert_eq(fired[1], 3);
	cr_assert_eq(loop_expire(l, 5000), 2);
	cr_assert_eq(fired[2], 2);
	cr_assert_eq(fired[3], 0);
	cr_assert_eq(loop_next_timeout(l), -1);
}

Test(loop, timer_removal_and_rearm)
{
	struct loop_timer a, b;
	int ia = 1, ib = 2;

	timer_init(&a, &ia);
	timer_init(&b, &ib);
	loop_timer_add(l, &a, 50);
	loop_timer_add(l, &b, 100);
	loop_timer_del(l, &a);
	loop_timer_del(l, &a); /* twice is harmless */
	cr_assert_eq(loop_next_timeout(l), 100);
	loop_timer_add(l, &b, 500); /* re-arming moves it */
	cr_assert_eq(loop_next_timeout(l), 500);
	cr_assert_eq(loop_expire(l, 1499), 0);
	cr_assert_eq(loop_expire(l, 1500), 1);
	cr_assert_eq(fired[0], 2);
	cr_assert_eq(a.armed, 0);
	cr_assert_eq(b.armed, 0);
}

static struct loop_dnode *expired[16];
static int nexpired;

static void
record_node(struct loop *lp, struct loop_dnode *n)
{
	(void)lp;
	cr_assert_null(n->list, "removed before the callback");
	expired[nexpired++] = n;
}

Test(loop, deadline_list_append_remove_expire)
{
	struct loop_dlist dl;
	struct loop_dnode n[4];
	int i;

	memset(n, 0, sizeof(n));
	nexpired = 0;
	loop_dlist_init(l, &dl, 100, record_node);
	for (i = 0; i < 4; i++) {
		loop_set_now(l, 1000 + i * 10);
		loop_dnode_push(l, &dl, &n[i]);
	}
	cr_assert_eq(n[0].deadline, 1100);
	cr_assert_eq(n[3].deadline, 1130);
	loop_dnode_remove(&n[1]);
	loop_dnode_remove(&n[1]);
	/* Pushing again moves a node to the tail with a fresh deadline. */
	loop_set_now(l, 1050);
	loop_dnode_push(l, &dl, &n[0]);
	cr_assert_eq(TAILQ_FIRST(&dl.nodes), &n[2]);
	cr_assert_eq(TAILQ_LAST(&dl.nodes, loop_dnode_q), &n[0]);
	cr_assert_eq(loop_next_timeout(l), 1120 - 1050);
	cr_assert_eq(loop_expire(l, 1125), 1);
	cr_assert_eq(expired[0], &n[2]);
	cr_assert_eq(loop_expire(l, 1150), 2);
	cr_assert_eq(expired[1], &n[3]);
	cr_assert_eq(expired[2], &n[0]);
	cr_assert_null(TAILQ_FIRST(&dl.nodes));
	cr_assert_null(TAILQ_LAST(&dl.nodes, loop_dnode_q));
	cr_assert_eq(loop_next_timeout(l), -1);
}

Test(loop, disabled_list_never_holds_nodes)
{
	struct loop_dlist dl;
	struct loop_dnode n;

	memset(&n, 0, sizeof(n));
	loop_dlist_init(l, &dl, 0, record_node);
	loop_dnode_push(l, &dl, &n);
	cr_assert_null(n.list);
	cr_assert_null(TAILQ_FIRST(&dl.nodes));
}

Test(loop, nearest_of_timers_and_lists)
{
	struct loop_dlist a, b;
	struct loop_dnode na, nb;
	struct loop_timer t;
	int id = 7;

	memset(&na, 0, sizeof(na));
	memset(&nb, 0, sizeof(nb));
	loop_dlist_init(l, &a, 5000, record_node);
	loop_dlist_init(l, &b, 300, record_node);
	loop_dnode_push(l, &a, &na);
	cr_assert_eq(loop_next_timeout(l), 5000);
	loop_dnode_push(l, &b, &nb);
	cr_assert_eq(loop_next_timeout(l), 300);
	timer_init(&t, &id);
	loop_timer_add(l, &t, 200);
	cr_assert_eq(loop_next_timeout(l), 200);
	loop_set_now(l, 2000);
	cr_assert_eq(loop_next_timeout(l), 0);
}

static int io_calls;
static struct loop_io *pair[2];

/* Whichever fires first "closes" the other, as conn_close would: its event,
 * already in the same batch, must be skipped. */
static void
close_other(struct loop *lp, struct loop_io *io, uint32_t ev)
{
	(void)lp;
	(void)ev;
	io_calls++;
	(io == pair[0] ? pair[1] : pair[0])->fd = -1;
}

Test(loop, dispatch_skips_io_closed_in_the_same_batch)
{
	struct loop_io a = { .cb = close_other }, b = { .cb = close_other };
	int p1[2], p2[2];

	cr_assert_eq(pipe(p1), 0);
	cr_assert_eq(pipe(p2), 0);
	a.fd = p1[0];
	b.fd = p2[0];
	pair[0] = &a;
	pair[1] = &b;
	cr_assert_eq(loop_io_add(l, &a, EPOLLIN), 0);
	cr_assert_eq(loop_io_add(l, &b, EPOLLIN), 0);
	cr_assert_eq(write(p1[1], "x", 1), 1);
	cr_assert_eq(write(p2[1], "x", 1), 1);
	io_calls = 0;
	cr_assert_eq(loop_run_once(l), 0);
	cr_assert_eq(io_calls, 1);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}
