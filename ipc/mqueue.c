/*
 * POSIX message queues for the stats and control queues. The supervisor
 * creates and receives; workers and preforkctl open and send. Nothing here
 * ever blocks: both ends are opened O_NONBLOCK.
 */
#include "ipc/mqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "ipc/channel.h"

#define MQUEUE_MSG_MAX_PATH "/proc/sys/fs/mqueue/msg_max"
#define MQUEUE_MSG_MAX_DEFAULT 10

/*
 * Receive buffer. mq_receive() refuses a buffer smaller than the queue's
 * mq_msgsize, which is MSG_MAX_SIZE for every queue mqueue_create() makes;
 * any packet up to that size, garbage included, is read whole and judged by
 * msg_decode().
 */
#define MQUEUE_RECV_SIZE 8192
_Static_assert(MQUEUE_RECV_SIZE >= MSG_MAX_SIZE, "receive buffer too small");

int
mqueue_name(char *buf, size_t len, pid_t pid, const char *suffix)
{
	int n = snprintf(buf, len, "/preforkd.%ld.%s", (long)pid, suffix);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

long
mqueue_msg_max(void)
{
	FILE *f;
	long v;

	if ((f = fopen(MQUEUE_MSG_MAX_PATH, "re")) == NULL)
		return MQUEUE_MSG_MAX_DEFAULT;
	if (fscanf(f, "%ld", &v) != 1 || v < 1)
		v = MQUEUE_MSG_MAX_DEFAULT;
	fclose(f);
	return v;
}

mqd_t
mqueue_create(const char *name, long maxmsg, mode_t mode)
{
	struct mq_attr attr = { 0 };
	long limit = mqueue_msg_max();

	/* Asking for more than msg_max fails with EINVAL without
	 * CAP_SYS_RESOURCE, so take what the system allows. */
	if (maxmsg > limit)
		maxmsg = limit;
	if (maxmsg < 1)
		maxmsg = 1;
	attr.mq_maxmsg = maxmsg;
	attr.mq_msgsize = (long)MSG_MAX_SIZE;
	return mq_open(name, O_CREAT | O_EXCL | O_RDONLY | O_NONBLOCK | O_CLOEXEC, mode, &attr);
}

mqd_t
mqueue_open_send(const char *name)
{
	return mq_open(name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
}

int
mqueue_send(mqd_t q, struct msg *m, enum msg_type type)
{
	size_t len = msg_encode(m, type);
	int rc;

	do
		rc = mq_send(q, (const char *)m, len, 0);
	while (rc == -1 && errno == EINTR);
	return rc;
}

int
mqueue_recv(mqd_t q, struct msg *out, enum msg_result *why)
{
	union {
		struct msg m;
		char b[MQUEUE_RECV_SIZE];
	} buf;
	enum msg_result r;
	ssize_t n;

	do
		n = mq_receive(q, buf.b, sizeof(buf.b), NULL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN ? CHANNEL_AGAIN : CHANNEL_ERROR;
	r = msg_decode(buf.b, (size_t)n, out);
	if (why != NULL)
		*why = r;
	return r == MSG_OK ? CHANNEL_MSG : CHANNEL_BAD;
}
