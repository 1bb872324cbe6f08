/*
 * Binding listeners and naming them. The actual address comes from
 * getsockname(), so "listen = 127.0.0.1:0" reports the port it got.
 */
#include "supervisor/listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_DEFER_ACCEPT_S 1   /* TCP_DEFER_ACCEPT, in seconds */

/* Accepted connections take the listener's congestion control. */
int
listen_set_cc(int fd, const char *name)
{
	return setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, (socklen_t)strlen(name));
}

int
listen_default_cc(char *buf, size_t len)
{
	FILE *f = fopen(LISTEN_CC_DEFAULT, "re");
	int ok;

	if (f == NULL)
		return -1;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	buf[ok ? strcspn(buf, "\n") : 0] = '\0';
	return ok && buf[0] != '\0' ? 0 : -1;
}

void
listen_cc_error(const struct config_listen *cl, int e, char *err, size_t errlen)
{
	if (e == ENOENT)
		snprintf(err, errlen, "listen %s cc=%s: this kernel has no such congestion "
		    "control (see /proc/sys/net/ipv4/tcp_available_congestion_control)",
		    cl->text, cl->cc);
	else if (e == EPERM)
		snprintf(err, errlen, "listen %s cc=%s: not allowed to this user (see "
		    "/proc/sys/net/ipv4/tcp_allowed_congestion_control)", cl->text, cl->cc);
	else
		snprintf(err, errlen, "listen %s cc=%s: %s", cl->text, cl->cc, strerror(e));
}

int
listen_open(const struct config_listen *cl, int backlog, char *err, size_t errlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&cl->addr;
	const char *what = "socket";
	int fd, on = 1, defer = LISTEN_DEFER_ACCEPT_S, saved;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	what = "setsockopt(SO_REUSEADDR)";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	what = "setsockopt(IPV6_V6ONLY)";
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	/* Wake a worker only once the request has arrived, so its first read
	 * finds it (a silent client is still accepted after a retransmitted
	 * SYN-ACK, a second or so, and then meets the header timeout). */
	what = "setsockopt(TCP_DEFER_ACCEPT)";
	if ((sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
	    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer)) == -1)
		goto fail;
	what = "cc";
	if (cl->cc[0] != '\0' && listen_set_cc(fd, cl->cc) == -1)
		goto fail;
	what = "bind";
	if (bind(fd, sa, cl->addrlen) == -1)
		goto fail;
	what = "listen";
	if (listen(fd, backlog > 0 ? backlog : 511) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	if (strcmp(what, "cc") == 0)
		listen_cc_error(cl, saved, err, errlen);
	else
		snprintf(err, errlen, "listen %s: %s: %s", cl->text, what, strerror(saved));
	if (fd != -1)
		close(fd);
	errno = saved;
	return -1;
}

int
listen_actual(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	return config_listen_format((struct sockaddr *)&ss, sl, buf, len);
}

int
listen_same(const struct config_listen *a, const struct config_listen *b)
{
	return strcmp(a->text, b->text) == 0 && a->addrlen == b->addrlen &&
	    memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}
