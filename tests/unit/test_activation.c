/*
 * Socket activation: which environments hand sockets to this process, and
 * which fds are usable listeners.
 */
#include "supervisor/activation.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct count_case {
	const char *pid, *fds;
	pid_t self;
	int want;
};

static const struct count_case count_cases[] = {
	{ NULL, "1", 42, 0 },          /* not activated */
	{ "41", "1", 42, 0 },          /* for another process */
	{ " 42", "1", 42, 0 },         /* not a plain number: not ours */
	{ "42x", "1", 42, 0 },
	{ "", "1", 42, 0 },
	{ "42", "1", 42, 1 },
	{ "42", "3", 42, 3 },
	{ "42", "32", 42, 32 },        /* the maximum */
	{ "42", "33", 42, -1 },        /* more than we can hold */
	{ "42", "0", 42, -1 },
	{ "42", "", 42, -1 },
	{ "42", NULL, 42, -1 },
	{ "42", "two", 42, -1 },
	{ "42", "+1", 42, -1 },
	{ "42", "-1", 42, -1 },
	{ "42", "1 ", 42, -1 },
	{ "42", "99999999999999999999", 42, -1 },
};

Test(activation, count)
{
	for (size_t i = 0; i < sizeof(count_cases) / sizeof(count_cases[0]); i++) {
		const struct count_case *c = &count_cases[i];
		char err[256] = "";
		int got = activation_count(c->pid, c->fds, c->self, 32, err, sizeof(err));

		cr_assert_eq(got, c->want, "LISTEN_PID=%s LISTEN_FDS=%s: %d", c->pid,
		    c->fds, got);
		if (got == -1)
			cr_assert(strstr(err, "is not a count from 1 to 32") != NULL, "%s", err);
	}
}

static int
tcp_socket(int type, int do_listen)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, type, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	if (do_listen)
		cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

Test(activation, adopts_a_listening_tcp_socket)
{
	char err[256] = "";
	int fd = tcp_socket(SOCK_STREAM, 1);

	cr_assert_eq(activation_adopt(fd, err, sizeof(err)), 0, "%s", err);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static void
refused(int fd, const char *want)
{
	char err[256] = "";

	cr_assert_eq(activation_adopt(fd, err, sizeof(err)), -1);
	cr_assert(strstr(err, want) != NULL, "%s", err);
}

Test(activation, refuses_what_is_not_a_tcp_listener)
{
	int pipefd[2], fd;
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	fd = tcp_socket(SOCK_STREAM, 0);
	refused(fd, "is not a listening TCP socket");
	close(fd);
	fd = tcp_socket(SOCK_DGRAM, 0);
	refused(fd, "is not a listening TCP socket");
	close(fd);

	/* An abstract-namespace UNIX listener: right type, wrong family. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(un.sun_path + 1, "preforkd-activation-test");
	cr_assert_eq(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	refused(fd, "is not a listening TCP socket");
	close(fd);

	cr_assert_eq(pipe(pipefd), 0);
	refused(pipefd[0], "not a socket");
	close(pipefd[0]);
	close(pipefd[1]);

	refused(1000, "Bad file descriptor");
}
