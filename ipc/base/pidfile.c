#include "ipc/base/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

int
pidfile_read(const char *path, pid_t *pid)
{
	char buf[32], *end;
	ssize_t n;
	long v;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? -1 : -2;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == -1)
		return -2;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (end == buf || v <= 0 || v > INT_MAX || errno != 0 ||
	    (*end != '\0' && *end != '\n')) {
		errno = EINVAL;
		return -2;
	}
	*pid = (pid_t)v;
	return 0;
}
