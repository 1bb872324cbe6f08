#include "supervisor/activation.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A decimal number from 1 to max, nothing else (no sign, no spaces). */
static long
activation_number(const char *s, long max)
{
	long v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return v >= 1 ? v : -1;
}

int
activation_count(const char *listen_pid, const char *listen_fds, pid_t self,
    int max, char *err, size_t errlen)
{
	long n;

	if (listen_pid == NULL || activation_number(listen_pid, INT_MAX) != (long)self)
		return 0;
	if ((n = activation_number(listen_fds, max)) == -1) {
		snprintf(err, errlen, "socket activation: LISTEN_FDS=%s is not a count "
		    "from 1 to %d", listen_fds != NULL ? listen_fds : "(unset)", max);
		return -1;
	}
	return (int)n;
}

int
activation_adopt(int fd, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0, listening = 0, flags;
	socklen_t il = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &il) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &il) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
		snprintf(err, errlen, "socket activation: fd %d: %s", fd,
		    errno == ENOTSOCK ? "not a socket" : strerror(errno));
		return -1;
	}
	if (type != SOCK_STREAM || !listening ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		snprintf(err, errlen, "socket activation: fd %d is not a listening "
		    "TCP socket (ListenStream= with an address or port)", fd);
		return -1;
	}
	/* Workers accept until EAGAIN: a blocking socket would hang one. */
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(err, errlen, "socket activation: fd %d: fcntl: %s", fd,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
activation_take(int *fds, int max, char *err, size_t errlen)
{
	int n = activation_count(getenv("LISTEN_PID"), getenv("LISTEN_FDS"),
	    getpid(), max, err, errlen);

	/* Not for any process of ours to see again (workers, a re-read). */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (int i = 0; i < n; i++) {
		fds[i] = ACTIVATION_FIRST_FD + i;
		if (activation_adopt(fds[i], err, errlen) == -1)
			return -1;
	}
	return n;
}
