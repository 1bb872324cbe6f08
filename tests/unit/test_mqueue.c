/* POSIX message queues: names, exclusive creation, non-blocking send and
 * receive, and foreign bytes that decode as BAD. Every test unlinks its
 * queue, whose name carries the test's pid and a per-test suffix. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc/mqueue.h"

static char qname[64];
static mqd_t rq = (mqd_t)-1, sq = (mqd_t)-1;

static void
mq_setup(void)
{
	/* Criterion runs each test in its own process: the pid makes it unique. */
	cr_assert_eq(mqueue_name(qname, sizeof(qname), getpid(), "unittest"), 0);
	mq_unlink(qname);
}

static void
mq_teardown(void)
{
	if (sq != (mqd_t)-1)
		mq_close(sq);
	if (rq != (mqd_t)-1)
		mq_close(rq);
	mq_unlink(qname);
}

TestSuite(mqueue, .init = mq_setup, .fini = mq_teardown);

static void
mq_open_both(long maxmsg)
{
	rq = mqueue_create(qname, maxmsg, 0600);
	cr_assert_neq(rq, (mqd_t)-1, "create %s: %s", qname, strerror(errno));
	sq = mqueue_open_send(qname);
	cr_assert_neq(sq, (mqd_t)-1, "open %s: %s", qname, strerror(errno));
}

Test(mqueue, names)
{
	char buf[64];

	cr_assert_eq(mqueue_name(buf, sizeof(buf), 4242, "stats"), 0);
	cr_expect_str_eq(buf, "/preforkd.4242.stats");
	cr_assert_eq(mqueue_name(buf, sizeof(buf), 4242, "ctl"), 0);
	cr_expect_str_eq(buf, "/preforkd.4242.ctl");
}

Test(mqueue, name_too_long_fails)
{
	char buf[20];

	/* "/preforkd.4242.ctl" is 18 bytes + NUL: fits 19, not 18. */
	cr_expect_eq(mqueue_name(buf, 19, 4242, "ctl"), 0);
	cr_expect_str_eq(buf, "/preforkd.4242.ctl");
	cr_expect_eq(mqueue_name(buf, 18, 4242, "ctl"), -1);
	cr_expect_eq(mqueue_name(buf, sizeof(buf), 4242, "statistics"), -1);
}

Test(mqueue, msg_max_reads_proc)
{
	FILE *f = fopen("/proc/sys/fs/mqueue/msg_max", "r");
	long v = -1;

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld", &v), 1);
	fclose(f);
	cr_expect_eq(mqueue_msg_max(), v);
}

Test(mqueue, create_attributes_and_clamp)
{
	struct mq_attr a;

	/* Far more than msg_max: clamped, not EINVAL. */
	mq_open_both(100000);
	cr_assert_eq(mq_getattr(rq, &a), 0);
	cr_expect_eq(a.mq_maxmsg, mqueue_msg_max());
	cr_expect_eq(a.mq_msgsize, (long)MSG_MAX_SIZE);
	cr_expect(a.mq_flags & O_NONBLOCK);
	cr_expect_eq(a.mq_curmsgs, 0);
	cr_assert_eq(mq_getattr(sq, &a), 0);
	cr_expect(a.mq_flags & O_NONBLOCK);
}

Test(mqueue, create_small_maxmsg_kept)
{
	struct mq_attr a;

	mq_open_both(2);
	cr_assert_eq(mq_getattr(rq, &a), 0);
	cr_expect_eq(a.mq_maxmsg, 2);
	mq_close(rq);
	rq = (mqd_t)-1;
	mq_unlink(qname);
	mq_open_both(0); /* at least one */
	cr_assert_eq(mq_getattr(rq, &a), 0);
	cr_expect_eq(a.mq_maxmsg, 1);
}

Test(mqueue, create_mode_is_applied)
{
	struct stat st;
	char path[128];

	mq_open_both(4);
	/* The queue file system is only visible where it is mounted. */
	snprintf(path, sizeof(path), "/dev/mqueue%s", qname);
	if (stat(path, &st) == -1)
		cr_skip_test("/dev/mqueue not mounted");
	cr_expect_eq(st.st_mode & 0777, 0600);
}

Test(mqueue, create_exclusive_twice_fails_eexist)
{
	mqd_t again;

	mq_open_both(4);
	errno = 0;
	again = mqueue_create(qname, 4, 0600);
	cr_expect_eq(again, (mqd_t)-1);
	cr_expect_eq(errno, EEXIST);
	if (again != (mqd_t)-1)
		mq_close(again);
}

Test(mqueue, open_missing_fails_enoent)
{
	errno = 0;
	cr_expect_eq(mqueue_open_send(qname), (mqd_t)-1);
	cr_expect_eq(errno, ENOENT);
}

Test(mqueue, send_recv_stats_and_control)
{
	struct msg m = { 0 }, out;
	enum msg_result why = MSG_ERR_TYPE;

	mq_open_both(4);
	m.u.stats.slot = 2;
	m.u.stats.pid = getpid();
	m.u.stats.c.connections_accepted = 9;
	m.u.stats.c.requests = 40;
	m.u.stats.c.responses[1] = 39;
	m.u.stats.c.responses[4] = 1;
	cr_assert_eq(mqueue_send(sq, &m, MSG_STATS), 0);
	memset(&m, 0, sizeof(m));
	m.u.control.command = CTL_SCALE_ABS;
	m.u.control.arg = 8;
	cr_assert_eq(mqueue_send(sq, &m, MSG_CONTROL), 0);

	cr_assert_eq(mqueue_recv(rq, &out, &why), CHANNEL_MSG);
	cr_expect_eq(why, MSG_OK);
	cr_expect_eq(out.h.type, MSG_STATS);
	cr_expect_eq(out.u.stats.slot, 2);
	cr_expect_eq(out.u.stats.c.requests, 40);
	cr_expect_eq(out.u.stats.c.responses[4], 1);
	cr_assert_eq(mqueue_recv(rq, &out, NULL), CHANNEL_MSG);
	cr_expect_eq(out.h.type, MSG_CONTROL);
	cr_expect_eq(out.u.control.command, CTL_SCALE_ABS);
	cr_expect_eq(out.u.control.arg, 8);
	cr_expect_eq(mqueue_recv(rq, &out, NULL), CHANNEL_AGAIN);
}

Test(mqueue, empty_gives_again)
{
	struct msg out;

	mq_open_both(4);
	cr_expect_eq(mqueue_recv(rq, &out, NULL), CHANNEL_AGAIN);
}

Test(mqueue, full_queue_gives_eagain_and_keeps_order)
{
	struct msg m = { 0 }, out;
	long i, max;

	mq_open_both(3);
	max = 3;
	for (i = 0; i < max; i++) {
		m.u.heartbeat.mono_ms = (uint64_t)i;
		cr_assert_eq(mqueue_send(sq, &m, MSG_HEARTBEAT), 0, "send %ld", i);
	}
	errno = 0;
	cr_expect_eq(mqueue_send(sq, &m, MSG_HEARTBEAT), -1);
	cr_expect_eq(errno, EAGAIN);
	for (i = 0; i < max; i++) {
		cr_assert_eq(mqueue_recv(rq, &out, NULL), CHANNEL_MSG);
		cr_expect_eq(out.u.heartbeat.mono_ms, (uint64_t)i);
	}
	/* Room again: the delayed report goes through now. */
	cr_expect_eq(mqueue_send(sq, &m, MSG_HEARTBEAT), 0);
}

Test(mqueue, garbage_from_foreign_writer_is_bad)
{
	unsigned char junk[MSG_MAX_SIZE];
	struct msg m = { 0 }, out;
	enum msg_result why = MSG_OK;

	mq_open_both(8);
	memset(junk, 0xC3, sizeof(junk));
	cr_assert_eq(mq_send(sq, (const char *)junk, sizeof(junk), 0), 0);
	cr_assert_eq(mq_send(sq, "x", 1, 0), 0);
	cr_assert_eq(mq_send(sq, "", 0, 0), 0);
	m.u.control.command = 77;
	cr_assert_eq(mqueue_send(sq, &m, MSG_CONTROL), 0);
	m.u.control.command = CTL_RELOAD;
	cr_assert_eq(mqueue_send(sq, &m, MSG_CONTROL), 0);

	cr_expect_eq(mqueue_recv(rq, &out, &why), CHANNEL_BAD);
	cr_expect_eq(why, MSG_ERR_VERSION);
	cr_expect_eq(mqueue_recv(rq, &out, &why), CHANNEL_BAD);
	cr_expect_eq(why, MSG_ERR_SHORT);
	cr_expect_eq(mqueue_recv(rq, &out, &why), CHANNEL_BAD);
	cr_expect_eq(why, MSG_ERR_SHORT);
	cr_expect_eq(mqueue_recv(rq, &out, &why), CHANNEL_BAD);
	cr_expect_eq(why, MSG_ERR_VALUE);
	cr_expect_eq(mqueue_recv(rq, &out, &why), CHANNEL_MSG);
	cr_expect_eq(out.u.control.command, CTL_RELOAD);
}

Test(mqueue, oversized_foreign_send_is_refused_by_kernel)
{
	unsigned char big[MSG_MAX_SIZE + 1];

	mq_open_both(4);
	memset(big, 0, sizeof(big));
	errno = 0;
	cr_expect_eq(mq_send(sq, (const char *)big, sizeof(big), 0), -1);
	cr_expect_eq(errno, EMSGSIZE);
}

/* Many workers sending to one small queue: every send that fails with EAGAIN
 * is only delayed, and a reader that drains keeps up. 64 senders x 5 rounds
 * of cumulative reports; the last report of each sender must arrive. */
Test(mqueue, sixty_four_senders_lose_nothing)
{
	uint64_t last[64] = { 0 };
	int pending[64];
	struct msg m, out;
	int s, round, eagain = 0, guard;

	mq_open_both(100000);
	for (round = 1; round <= 5; round++) {
		for (s = 0; s < 64; s++)
			pending[s] = 1;
		for (guard = 0; guard < 10000; guard++) {
			int left = 0;

			for (s = 0; s < 64; s++) {
				if (!pending[s])
					continue;
				memset(&m, 0, sizeof(m));
				m.u.stats.slot = (uint32_t)s;
				m.u.stats.pid = 1000 + s;
				m.u.stats.c.requests = (uint64_t)(round * 100 + s);
				if (mqueue_send(sq, &m, MSG_STATS) == 0)
					pending[s] = 0;
				else {
					cr_assert_eq(errno, EAGAIN);
					eagain++;
					left++;
				}
			}
			while (mqueue_recv(rq, &out, NULL) == CHANNEL_MSG)
				if (out.u.stats.c.requests > last[out.u.stats.slot])
					last[out.u.stats.slot] = out.u.stats.c.requests;
			if (left == 0)
				break;
		}
	}
	for (s = 0; s < 64; s++)
		cr_expect_eq(last[s], (uint64_t)(500 + s), "slot %d", s);
	cr_expect_gt(eagain, 0, "the queue never filled: the test shows nothing");
}
