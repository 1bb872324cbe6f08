/* Log descriptors over the channel (issue 12 item 4): SCM_RIGHTS on the
 * SOCK_SEQPACKET pair, close-on-exec on arrival, and never a leaked
 * descriptor when the receiver does not want them or the packet is bad. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ipc/channel.h"

static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

Test(fdpass, descriptors_arrive_and_work)
{
	int sp[2], pp[2], got[CHANNEL_MAX_FDS], ngot = -1;
	enum msg_result why;
	struct msg m, out;
	char buf[8];

	cr_assert_eq(channel_pair(sp), 0);
	cr_assert_eq(pipe(pp), 0);
	memset(&m, 0, sizeof(m));
	m.u.log_fds.access_log = 1;
	cr_assert_eq(channel_send_fds(sp[0], &m, MSG_LOG_FDS, &pp[1], 1), 0);
	cr_assert_eq(channel_recv_fds(sp[1], &out, &why, got, &ngot), CHANNEL_MSG);
	cr_assert_eq(out.h.type, MSG_LOG_FDS);
	cr_assert_eq(out.u.log_fds.access_log, 1);
	cr_assert_eq(out.u.log_fds.error_log, 0);
	cr_assert_eq(ngot, 1);
	cr_assert_neq(got[0], pp[1], "a new descriptor for the same pipe");
	cr_assert(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(write(got[0], "hi", 2), 2);
	cr_assert_eq(read(pp[0], buf, sizeof(buf)), 2);
	cr_assert_eq(memcmp(buf, "hi", 2), 0);
	close(got[0]);
	close(pp[0]);
	close(pp[1]);
	close(sp[0]);
	close(sp[1]);
}

Test(fdpass, unwanted_descriptors_are_closed)
{
	int sp[2], pp[2], before;
	enum msg_result why;
	struct msg m, out;

	cr_assert_eq(channel_pair(sp), 0);
	cr_assert_eq(pipe(pp), 0);
	before = open_fds();
	memset(&m, 0, sizeof(m));
	m.u.log_fds.error_log = 1;
	m.u.log_fds.access_log = 1;
	int two[2] = { pp[1], pp[1] };
	cr_assert_eq(channel_send_fds(sp[0], &m, MSG_LOG_FDS, two, 2), 0);
	cr_assert_eq(channel_recv(sp[1], &out, &why), CHANNEL_MSG);
	cr_expect_eq(open_fds(), before, "plain channel_recv keeps none");
	close(pp[0]);
	close(pp[1]);
	close(sp[0]);
	close(sp[1]);
}

Test(fdpass, bad_packet_with_descriptors_leaks_none)
{
	int sp[2], pp[2], before, got[CHANNEL_MAX_FDS], ngot = -1;
	enum msg_result why;
	struct msg m, out;

	cr_assert_eq(channel_pair(sp), 0);
	cr_assert_eq(pipe(pp), 0);
	before = open_fds();
	memset(&m, 0, sizeof(m));
	m.u.log_fds.error_log = 2;      /* out of range */
	cr_assert_eq(channel_send_fds(sp[0], &m, MSG_LOG_FDS, &pp[1], 1), 0);
	cr_assert_eq(channel_recv_fds(sp[1], &out, &why, got, &ngot), CHANNEL_BAD);
	cr_expect_eq(why, MSG_ERR_VALUE);
	cr_expect_eq(ngot, 0);
	cr_expect_eq(open_fds(), before);
	close(pp[0]);
	close(pp[1]);
	close(sp[0]);
	close(sp[1]);
}

Test(fdpass, too_many_descriptors_refused_by_sender)
{
	int sp[2], fds[CHANNEL_MAX_FDS + 1] = { 0 };
	struct msg m;

	cr_assert_eq(channel_pair(sp), 0);
	memset(&m, 0, sizeof(m));
	cr_expect_eq(channel_send_fds(sp[0], &m, MSG_LOG_FDS, fds, CHANNEL_MAX_FDS + 1), -1);
	close(sp[0]);
	close(sp[1]);
}
