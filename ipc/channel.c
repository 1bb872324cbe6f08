/*
 * The supervisor<->worker channel over a SOCK_SEQPACKET socketpair: one
 * message per packet, record boundaries kept by the kernel.
 */
#include "ipc/channel.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

int
channel_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
}

int
channel_send(int fd, struct msg *m, enum msg_type type)
{
	size_t len = msg_encode(m, type);
	ssize_t n;

	do
		n = send(fd, m, len, MSG_NOSIGNAL);
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

enum channel_result
channel_recv(int fd, struct msg *out, enum msg_result *why)
{
	/* Aligned, and one byte bigger than any valid message. */
	union {
		struct msg m;
		unsigned char b[MSG_MAX_SIZE + 1];
	} buf;
	struct iovec iov = { .iov_base = buf.b, .iov_len = sizeof(buf.b) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	enum msg_result r;
	ssize_t n;

	/* MSG_TRUNC makes n the packet's real length, so an oversized packet
	 * is seen as such (and its tail discarded) instead of passing as a
	 * truncated message. */
	do
		n = recvmsg(fd, &mh, MSG_TRUNC);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return CHANNEL_AGAIN;
	/* A peer that exits with packets we sent still unread resets the pair
	 * instead of closing it cleanly; either way it is gone. */
	if (n == -1 && errno == ECONNRESET)
		return CHANNEL_EOF;
	if (n == -1)
		return CHANNEL_ERROR;
	if (n == 0 && channel_hungup(fd))
		return CHANNEL_EOF;
	if ((size_t)n > sizeof(buf.b) || (mh.msg_flags & MSG_TRUNC))
		r = MSG_ERR_SIZE;
	else
		r = msg_decode(buf.b, (size_t)n, out);
	if (why != NULL)
		*why = r;
	return r == MSG_OK ? CHANNEL_MSG : CHANNEL_BAD;
}
