/* The seqpacket channel: framing, EOF, EAGAIN, and malformed packets that are
 * dropped without losing the next good one. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/channel.h"

static int fds[2] = { -1, -1 };

static void
channel_setup(void)
{
	cr_assert_eq(channel_pair(fds), 0, "channel_pair: %s", strerror(errno));
}

static void
channel_teardown(void)
{
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
}

TestSuite(channel, .init = channel_setup, .fini = channel_teardown);

Test(channel, pair_is_nonblocking_cloexec_seqpacket)
{
	int i, type;
	socklen_t tl = sizeof(type);

	for (i = 0; i < 2; i++) {
		cr_expect(fcntl(fds[i], F_GETFL) & O_NONBLOCK, "fd %d blocking", i);
		cr_expect(fcntl(fds[i], F_GETFD) & FD_CLOEXEC, "fd %d inherited", i);
		cr_assert_eq(getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &tl), 0);
		cr_expect_eq(type, SOCK_SEQPACKET);
	}
}

Test(channel, empty_gives_again)
{
	struct msg out;

	cr_expect_eq(channel_recv(fds[0], &out, NULL), CHANNEL_AGAIN);
	cr_expect_eq(channel_recv(fds[1], &out, NULL), CHANNEL_AGAIN);
}

Test(channel, down_commands_arrive_in_order)
{
	struct msg m = { 0 }, out;
	enum msg_result why = MSG_ERR_VALUE;

	m.u.stop.deadline_ms = 2500;
	cr_assert_eq(channel_send(fds[0], &m, MSG_STOP_GRACEFUL), 0);
	cr_assert_eq(channel_send(fds[0], &m, MSG_STOP_NOW), 0);
	cr_assert_eq(channel_send(fds[0], &m, MSG_REOPEN_LOGS), 0);
	cr_assert_eq(channel_recv(fds[1], &out, &why), CHANNEL_MSG);
	cr_expect_eq(why, MSG_OK);
	cr_expect_eq(out.h.type, MSG_STOP_GRACEFUL);
	cr_expect_eq(out.u.stop.deadline_ms, 2500);
	cr_expect_eq(out.h.pid, getpid());
	cr_assert_eq(channel_recv(fds[1], &out, NULL), CHANNEL_MSG);
	cr_expect_eq(out.h.type, MSG_STOP_NOW);
	cr_assert_eq(channel_recv(fds[1], &out, NULL), CHANNEL_MSG);
	cr_expect_eq(out.h.type, MSG_REOPEN_LOGS);
	cr_expect_eq(channel_recv(fds[1], &out, NULL), CHANNEL_AGAIN);
}

Test(channel, up_messages_arrive)
{
	struct msg m = { 0 }, out;

	m.u.ready.slot = 5;
	m.u.ready.generation = 9;
	cr_assert_eq(channel_send(fds[1], &m, MSG_READY), 0);
	memset(&m, 0, sizeof(m));
	m.u.heartbeat.mono_ms = 987654321;
	m.u.heartbeat.connections_active = 3;
	cr_assert_eq(channel_send(fds[1], &m, MSG_HEARTBEAT), 0);
	cr_assert_eq(channel_recv(fds[0], &out, NULL), CHANNEL_MSG);
	cr_expect_eq(out.h.type, MSG_READY);
	cr_expect_eq(out.u.ready.slot, 5);
	cr_expect_eq(out.u.ready.generation, 9);
	cr_assert_eq(channel_recv(fds[0], &out, NULL), CHANNEL_MSG);
	cr_expect_eq(out.h.type, MSG_HEARTBEAT);
	cr_expect_eq(out.u.heartbeat.mono_ms, 987654321);
	cr_expect_eq(out.u.heartbeat.connections_active, 3);
}

Test(channel, final_stats_and_control_arrive)
{
	struct msg m = { 0 }, out;

	m.u.stats.slot = 1;
	m.u.stats.pid = getpid();
	m.u.stats.final = 1;
	m.u.stats.c.connections_accepted = 4;
	m.u.stats.c.requests = 11;
	m.u.stats.c.responses[1] = 11;
	m.u.stats.c.bytes_out = 55555;
	cr_assert_eq(channel_send(fds[1], &m, MSG_STATS), 0);
	cr_assert_eq(channel_recv(fds[0], &out, NULL), CHANNEL_MSG);
	cr_expect_eq(out.h.type, MSG_STATS);
	cr_expect_eq(memcmp(&out.u.stats, &m.u.stats, sizeof(m.u.stats)), 0);
	memset(&m, 0, sizeof(m));
	m.u.control.command = CTL_SCALE_REL;
	m.u.control.arg = -2;
	cr_assert_eq(channel_send(fds[0], &m, MSG_CONTROL), 0);
	cr_assert_eq(channel_recv(fds[1], &out, NULL), CHANNEL_MSG);
	cr_expect_eq(out.u.control.command, CTL_SCALE_REL);
	cr_expect_eq(out.u.control.arg, -2);
}

Test(channel, eof_after_peer_close)
{
	struct msg m = { 0 }, out;

	cr_assert_eq(channel_send(fds[1], &m, MSG_READY), 0);
	close(fds[1]);
	fds[1] = -1;
	/* What was sent before the close is still delivered, then EOF, twice. */
	cr_expect_eq(channel_recv(fds[0], &out, NULL), CHANNEL_MSG);
	cr_expect_eq(channel_recv(fds[0], &out, NULL), CHANNEL_EOF);
	cr_expect_eq(channel_recv(fds[0], &out, NULL), CHANNEL_EOF);
}

Test(channel, send_to_closed_peer_is_epipe_not_sigpipe)
{
	struct msg m = { 0 };

	close(fds[1]);
	fds[1] = -1;
	errno = 0;
	cr_expect_eq(channel_send(fds[0], &m, MSG_STOP_NOW), -1);
	cr_expect_eq(errno, EPIPE);
}

Test(channel, oversized_packet_is_bad_then_next_arrives)
{
	unsigned char big[MSG_MAX_SIZE + 100];
	struct msg m = { 0 }, out;
	enum msg_result why = MSG_OK;

	/* A valid STATS message with garbage after it: must not pass as a
	 * truncated-but-valid message. */
	m.u.stats.pid = 1;
	memset(big, 0xEE, sizeof(big));
	memcpy(big, &m, msg_encode(&m, MSG_STATS));
	cr_assert_eq(send(fds[1], big, sizeof(big), 0), (ssize_t)sizeof(big));
	cr_assert_eq(channel_send(fds[1], &m, MSG_HEARTBEAT), 0);
	cr_expect_eq(channel_recv(fds[0], &out, &why), CHANNEL_BAD);
	cr_expect_eq(why, MSG_ERR_SIZE);
	cr_expect_eq(channel_recv(fds[0], &out, &why), CHANNEL_MSG);
	cr_expect_eq(why, MSG_OK);
	cr_expect_eq(out.h.type, MSG_HEARTBEAT);
	cr_expect_eq(channel_recv(fds[0], &out, NULL), CHANNEL_AGAIN);
}

Test(channel, one_byte_too_long_is_bad)
{
	unsigned char raw[MSG_MAX_SIZE + 1];
	struct msg m = { 0 }, out;
	enum msg_result why = MSG_OK;

	m.u.stats.pid = 1;
	memset(raw, 0, sizeof(raw));
	memcpy(raw, &m, msg_encode(&m, MSG_STATS));
	cr_assert_eq(send(fds[1], raw, sizeof(raw), 0), (ssize_t)sizeof(raw));
	cr_expect_eq(channel_recv(fds[0], &out, &why), CHANNEL_BAD);
	cr_expect_eq(why, MSG_ERR_SIZE);
}

Test(channel, garbage_packets_are_bad_then_next_arrives)
{
	static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct msg m = { 0 }, out;
	enum msg_result why = MSG_OK;

	cr_assert_eq(send(fds[1], junk, sizeof(junk) - 1, 0), (ssize_t)(sizeof(junk) - 1));
	cr_assert_eq(send(fds[1], "abc", 3, 0), 3);
	cr_assert_eq(channel_send(fds[1], &m, MSG_READY), 0);
	cr_expect_eq(channel_recv(fds[0], &out, &why), CHANNEL_BAD);
	cr_expect_neq(why, MSG_OK);
	cr_expect_eq(channel_recv(fds[0], &out, &why), CHANNEL_BAD);
	cr_expect_eq(why, MSG_ERR_SHORT);
	cr_expect_eq(channel_recv(fds[0], &out, NULL), CHANNEL_MSG);
	cr_expect_eq(out.h.type, MSG_READY);
}

Test(channel, empty_packet_from_live_peer_is_bad_not_eof)
{
	struct msg m = { 0 }, out;
	enum msg_result why = MSG_OK;

	cr_assert_eq(send(fds[1], "", 0, 0), 0);
	cr_assert_eq(channel_send(fds[1], &m, MSG_HEARTBEAT), 0);
	cr_expect_eq(channel_recv(fds[0], &out, &why), CHANNEL_BAD);
	cr_expect_eq(why, MSG_ERR_SHORT);
	cr_expect_eq(channel_recv(fds[0], &out, NULL), CHANNEL_MSG);
	cr_expect_eq(out.h.type, MSG_HEARTBEAT);
}

Test(channel, full_socket_gives_eagain_never_blocks)
{
	struct msg m = { 0 };
	int i, rc = 0;

	/* The socket buffer holds some hundreds of packets; the loop is bounded. */
	for (i = 0; i < 100000; i++)
		if ((rc = channel_send(fds[1], &m, MSG_HEARTBEAT)) == -1)
			break;
	cr_assert_eq(rc, -1, "100000 packets fit?");
	cr_expect(errno == EAGAIN || errno == EWOULDBLOCK, "errno %d", errno);
	cr_expect_gt(i, 0);
}

Test(channel, recv_error_on_bad_fd)
{
	struct msg out;

	cr_expect_eq(channel_recv(-1, &out, NULL), CHANNEL_ERROR);
	cr_expect_eq(errno, EBADF);
}

/* A worker that exits with commands still unread in its socket must look
 * gone (EOF) to the supervisor, not like a read error. */
Test(channel, eof_when_peer_exits_with_unread_packets)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	cr_assert_eq(channel_send(fds[0], &m, MSG_REOPEN_LOGS), 0);
	close(fds[1]);
	fds[1] = -1;
	cr_assert_eq(channel_recv(fds[0], &m, NULL), CHANNEL_EOF);
}
