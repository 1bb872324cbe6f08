/*
 * Identifying the process a pidfile names. The decision is made on
 * evidence that it is preforkd, never on the absence of evidence that it is
 * not: an unreadable /proc/PID/exe means "unknown", and unknown is not ours,
 * so a pidfile naming PID 1 or an unrelated process never gets a signal.
 */
#include "supervisor/ctl/ctl_proc.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads /proc/PID/name into buf, NUL-terminated. False when unreadable or empty. */
static bool
ctl_proc_read(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0;
}

bool
ctl_proc_is_zombie(pid_t pid)
{
	char buf[512], *p;

	if (!ctl_proc_read(pid, "stat", buf, sizeof(buf)))
		return false;
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* The last component of path starts with "preforkd" (preforkd, an ASan
 * build's preforkd, "preforkd: supervisor" after setproctitle). */
static bool
ctl_proc_named(const char *path)
{
	const char *base = strrchr(path, '/');

	return strncmp(base != NULL ? base + 1 : path, "preforkd", 8) == 0;
}

/* The effective uid from /proc/PID/status ("Uid: real effective ..."). */
static bool
ctl_proc_euid(pid_t pid, uid_t *uid)
{
	char buf[4096], *p;
	unsigned long r, e;

	if (!ctl_proc_read(pid, "status", buf, sizeof(buf)) ||
	    (p = strstr(buf, "\nUid:")) == NULL || sscanf(p + 5, "%lu %lu", &r, &e) != 2)
		return false;
	*uid = (uid_t)e;
	return true;
}

/* The supervisor creates /preforkd.<pid>.ctl under its own uid; a queue of
 * that name owned by someone else is not evidence (anyone may create one). */
static bool
ctl_proc_has_queue(pid_t pid)
{
	char path[64];
	struct stat st;
	uid_t uid;

	snprintf(path, sizeof(path), "/dev/mqueue/preforkd.%d.ctl", (int)pid);
	return stat(path, &st) == 0 && ctl_proc_euid(pid, &uid) && st.st_uid == uid;
}

/* Without the exe link: comm, argv[0], then the control queue. */
static bool
ctl_proc_other_evidence(pid_t pid, char *what, size_t whatlen)
{
	char comm[64], cmd[256];
	bool have_comm = ctl_proc_read(pid, "comm", comm, sizeof(comm));
	bool have_cmd = ctl_proc_read(pid, "cmdline", cmd, sizeof(cmd));

	comm[strcspn(comm, "\n")] = '\0';
	if ((have_comm && ctl_proc_named(comm)) || (have_cmd && ctl_proc_named(cmd)) ||
	    ctl_proc_has_queue(pid))
		return true;
	snprintf(what, whatlen, "not known to be preforkd: \"%s\", executable unreadable",
	    have_cmd && cmd[0] != '\0' ? cmd : have_comm ? comm : "unknown");
	return false;
}

bool
ctl_proc_is_preforkd(pid_t pid, char *what, size_t whatlen)
{
	char path[64], exe[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) == -1)
		return ctl_proc_other_evidence(pid, what, whatlen);
	exe[n] = '\0';
	if (ctl_proc_named(exe))
		return true;
	snprintf(what, whatlen, "not preforkd but %s", exe);
	return false;
}
