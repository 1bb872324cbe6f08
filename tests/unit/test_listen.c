/*
 * listen_open: the options every TCP listener gets (issue 7: a worker is
 * woken only once the request has arrived).
 */
#include "supervisor/listen.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
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

/* A connection accepted on fd, from a client that sent one byte (the
 * listener defers accepting until data arrives). */
static int
accept_one(int fd, int *client)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(*client, (struct sockaddr *)&sa, len), 0);
	cr_assert_eq(write(*client, "G", 1), 1);
	cr_assert_eq(poll(&pfd, 1, 5000), 1);
	return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}

static void
cc_of(int fd, char *buf, size_t len)
{
	socklen_t l = (socklen_t)len;

	memset(buf, 0, len);
	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, buf, &l), 0);
}

Test(listen, cc_is_what_accepted_connections_use)
{
	struct config_listen cl;
	char err[256] = "", cc[16];
	int fd, client, conn;

	loopback_any_port(&cl);
	strcpy(cl.cc, "reno");
	fd = listen_open(&cl, 16, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	conn = accept_one(fd, &client);
	cr_assert_geq(conn, 0);
	cc_of(conn, cc, sizeof(cc));
	cr_assert_str_eq(cc, "reno");
	close(conn);
	close(client);
	/* Set again on the open listener (a reload): the next one follows. */
	cr_assert_eq(listen_set_cc(fd, "cubic"), 0);
	conn = accept_one(fd, &client);
	cc_of(conn, cc, sizeof(cc));
	cr_assert_str_eq(cc, "cubic");
	close(conn);
	close(client);
	close(fd);
}

Test(listen, unknown_cc_fails_the_bind_with_the_reason)
{
	struct config_listen cl;
	char err[256] = "";

	loopback_any_port(&cl);
	strcpy(cl.cc, "nosuch");
	cr_assert_eq(listen_open(&cl, 16, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "listen 127.0.0.1:0 cc=nosuch: this kernel has no such congestion "
	    "control (see /proc/sys/net/ipv4/tcp_available_congestion_control)");
}

Test(listen, default_cc_is_the_kernels)
{
	char want[16] = "", got[16];
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_congestion_control", "r");

	cr_assert_not_null(f);
	cr_assert_not_null(fgets(want, sizeof(want), f));
	fclose(f);
	want[strcspn(want, "\n")] = '\0';
	cr_assert_eq(listen_default_cc(got, sizeof(got)), 0);
	cr_assert_str_eq(got, want);
}
