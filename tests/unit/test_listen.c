/*
 * listen_open: the options every TCP listener gets (issue 7: a worker is
 * woken only once the request has arrived).
 */
#include "supervisor/listen.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

static void
loopback_any_port(struct config_listen *cl)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&cl->addr;

	memset(cl, 0, sizeof(*cl));
	strcpy(cl->text, "127.0.0.1:0");
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cl->addrlen = sizeof(*in);
}

static int
sockopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	cr_assert_eq(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

Test(listen, tcp_listener_options)
{
	struct config_listen cl;
	char err[256] = "", name[LISTEN_ADDR_LEN];
	int fd;

	loopback_any_port(&cl);
	fd = listen_open(&cl, 16, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	/* The kernel rounds seconds to SYN-ACK retransmits: non-zero is on. */
	cr_assert_gt(sockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT), 0);
	cr_assert_eq(sockopt(fd, SOL_SOCKET, SO_REUSEADDR), 1);
	cr_assert_eq(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(listen_actual(fd, name, sizeof(name)), 0);
	cr_assert_eq(strncmp(name, "127.0.0.1:", 10), 0, "%s", name);
	cr_assert_neq(strcmp(name, "127.0.0.1:0"), 0);
	close(fd);
}
