/*
 * The supervisor<->worker channel over a SOCK_SEQPACKET socketpair: one
 * message per packet, record boundaries kept by the kernel.
 */
#include "ipc/channel.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>

int
channel_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
}

int
channel_send_fds(int fd, struct msg *m, enum msg_type type, const int *fds, int nfds)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(CHANNEL_MAX_FDS * sizeof(int))];
	} ctl;
	size_t len = msg_encode(m, type);
	struct iovec iov = { .iov_base = m, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds < 0 || nfds > CHANNEL_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), fds, (size_t)nfds * sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		/* Cannot happen on a seqpacket socket: a packet goes whole. */
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
channel_send(int fd, struct msg *m, enum msg_type type)
{
	return channel_send_fds(fd, m, type, NULL, 0);
}

/*
 * recv() returned 0: either the peer is gone or it sent an empty packet,
 * which seqpacket sockets deliver. Only a hang-up means EOF.
 */
static int
channel_hungup(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	int n;

	do
		n = poll(&p, 1, 0);
	while (n == -1 && errno == EINTR);
	return n == 1 && (p.revents & (POLLHUP | POLLRDHUP)) != 0;
}

/* Takes the descriptors of every SCM_RIGHTS block: up to CHANNEL_MAX_FDS
 * into fds[] (when fds is not NULL), the rest closed, so none can leak. */
static void
channel_take_fds(struct msghdr *mh, int *fds, int *nfds)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int one;

			memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fds != NULL && *nfds < CHANNEL_MAX_FDS)
				fds[(*nfds)++] = one;
			else
				close(one);
		}
	}
}

static void
channel_close_fds(int *fds, int *nfds)
{
	for (int i = 0; i < *nfds; i++)
		close(fds[i]);
	*nfds = 0;
}

enum channel_result
channel_recv_fds(int fd, struct msg *out, enum msg_result *why, int *fds, int *nfds)
{
	/* Aligned, and one byte bigger than any valid message. */
	union {
		struct msg m;
		unsigned char b[MSG_MAX_SIZE + 1];
	} buf;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(CHANNEL_MAX_FDS * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = buf.b, .iov_len = sizeof(buf.b) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	enum msg_result r;
	int dummy = 0;
	ssize_t n;

	if (nfds == NULL)
		nfds = &dummy;
	*nfds = 0;
	/* MSG_TRUNC makes n the packet's real length, so an oversized packet
	 * is seen as such (and its tail discarded) instead of passing as a
	 * truncated message. */
	do
		n = recvmsg(fd, &mh, MSG_TRUNC | MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return CHANNEL_AGAIN;
	/* A peer that exits with packets we sent still unread resets the pair
	 * instead of closing it cleanly; either way it is gone. */
	if (n == -1 && errno == ECONNRESET)
		return CHANNEL_EOF;
	if (n == -1)
		return CHANNEL_ERROR;
	channel_take_fds(&mh, fds, nfds);
	if (n == 0 && channel_hungup(fd)) {
		channel_close_fds(fds, nfds);
		return CHANNEL_EOF;
	}
	if ((size_t)n > sizeof(buf.b) || (mh.msg_flags & MSG_TRUNC))
		r = MSG_ERR_SIZE;
	else
		r = msg_decode(buf.b, (size_t)n, out);
	if (why != NULL)
		*why = r;
	if (r != MSG_OK)
		channel_close_fds(fds, nfds);
	return r == MSG_OK ? CHANNEL_MSG : CHANNEL_BAD;
}

enum channel_result
channel_recv(int fd, struct msg *out, enum msg_result *why)
{
	return channel_recv_fds(fd, out, why, NULL, NULL);
}
