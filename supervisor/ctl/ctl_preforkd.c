#include "supervisor/ctl/ctl_preforkd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bsd/string.h>

#define CTL_PREFORKD_ARGS 8

/* The folder this preforkctl runs from, "" when /proc cannot say. */
static void
ctl_self_dir(char *dir, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", dir, size - 1);
	char *slash;

	dir[n > 0 ? n : 0] = '\0';
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		dir[0] = '\0';
}

/* In the child: exec the first preforkd found; returns only if none ran. */
static void
ctl_exec_preforkd(char **argv)
{
	const char *env = getenv("PREFORKD");
	char dir[PATH_MAX], path[PATH_MAX + 32];

	if (env != NULL && env[0] != '\0') {
		execv(env, argv);
		return;
	}
	ctl_self_dir(dir, sizeof(dir));
	if (dir[0] != '\0') {
		snprintf(path, sizeof(path), "%s/preforkd", dir);
		execv(path, argv);
		snprintf(path, sizeof(path), "%s/../sbin/preforkd", dir);
		execv(path, argv);
	}
	execvp("preforkd", argv);
}

/* The whole of a memfd as a string, cut to size. */
static void
ctl_slurp(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
}

static int
ctl_wait(pid_t pid, int *status)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

int
ctl_preforkd_run(char *const args[], struct ctl_run *r)
{
	char *argv[CTL_PREFORKD_ARGS] = { "preforkd" };
	int out = memfd_create("preforkctl-out", MFD_CLOEXEC);
	int err = memfd_create("preforkctl-err", MFD_CLOEXEC);
	int i, rc = -1;
	pid_t pid;

	for (i = 1; args[i] != NULL && i < CTL_PREFORKD_ARGS - 1; i++)
		argv[i] = args[i];
	if (out == -1 || err == -1 || (pid = fork()) == -1)
		goto done;
	if (pid == 0) {
		if (dup2(out, STDOUT_FILENO) == -1 || dup2(err, STDERR_FILENO) == -1)
			_exit(127);
		ctl_exec_preforkd(argv);
		dprintf(STDERR_FILENO, "cannot run preforkd: %s\n", strerror(errno));
		_exit(127);
	}
	if (ctl_wait(pid, &r->status) == 0) {
		ctl_slurp(out, r->out, sizeof(r->out));
		ctl_slurp(err, r->err, sizeof(r->err));
		rc = 0;
	}
done:
	if (out != -1)
		close(out);
	if (err != -1)
		close(err);
	return rc;
}
