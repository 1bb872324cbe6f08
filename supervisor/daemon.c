/*
 * pidfile, daemon(3) and privileges. The pidfile is libbsd's: an flock held
 * for the life of the supervisor, so a second instance learns the pid of the
 * first instead of overwriting it.
 */
#include "supervisor/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/libutil.h>

/* True when fd holds nothing or one pid and a newline: a pidfile of ours,
 * perhaps stale, perhaps not written yet. */
static bool
daemon_is_pidfile(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	ssize_t i = 0;

	if (n < 0 || n == (ssize_t)sizeof(buf))
		return false;
	while (i < n && buf[i] >= '0' && buf[i] <= '9')
		i++;
	return i == n || (i > 0 && i == n - 1 && buf[i] == '\n');
}

/*
 * libbsd's pidfile_open follows a symlink and truncates whatever it opens,
 * and the exit path deletes it. So look first, without following: only a
 * missing path or a regular file holding a pid (or nothing) is ours.
 */
static int
daemon_pidfile_check(const char *path, char *err, size_t errlen)
{
	struct stat st;
	bool ours;
	int fd;

	if (lstat(path, &st) == -1)
		return 0;       /* missing (or unreadable: pidfile_open says) */
	if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "pidfile %s: %s; refusing to use it", path,
		    S_ISLNK(st.st_mode) ? "is a symbolic link" : "is not a regular file");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) == -1)
		return 0;
	ours = daemon_is_pidfile(fd);
	close(fd);
	if (!ours) {
		snprintf(err, errlen, "pidfile %s: exists and does not hold a pid; "
		    "refusing to overwrite it", path);
		return -1;
	}
	return 0;
}

/* The file pidfile_open opened is the one at path, not a symlink's target. */
static bool
daemon_pidfile_same(struct pidfh *pfh, const char *path)
{
	struct stat a, b;

	return fstat(pidfile_fileno(pfh), &a) == 0 && lstat(path, &b) == 0 &&
	    S_ISREG(b.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

struct pidfh *
daemon_pidfile_open(const char *path, char *err, size_t errlen)
{
	struct pidfh *pfh;
	pid_t other = 0;

	if (daemon_pidfile_check(path, err, errlen) == -1)
		return NULL;
	pfh = pidfile_open(path, 0644, &other);
	if (pfh != NULL && !daemon_pidfile_same(pfh, path)) {
		/* Swapped for a symlink between the look and the open. */
		pidfile_close(pfh);
		snprintf(err, errlen, "pidfile %s: changed while opening; refusing it", path);
		return NULL;
	}
	if (pfh != NULL)
		return pfh;
	if (errno == EEXIST)
		snprintf(err, errlen, "pidfile %s: already running as pid %d", path,
		    (int)other);
	else
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
	return NULL;
}

int
daemon_detach(void)
{
	return daemon(1, 0);
}

static int
daemon_group_id(const char *group, gid_t dflt, gid_t *gid, char *err, size_t errlen)
{
	struct group *gr;

	*gid = dflt;
	if (group == NULL || group[0] == '\0')
		return 0;
	if ((gr = getgrnam(group)) == NULL) {
		snprintf(err, errlen, "group %s: no such group", group);
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

/* The uid and gid the workers run as. Returns 0, or -1 with err filled. */
static int
daemon_worker_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
    const char **name, char *err, size_t errlen)
{
	struct passwd *pw;

	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user %s: no such user", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*name = pw->pw_name;
	return daemon_group_id(group, pw->pw_gid, gid, err, errlen);
}

int
daemon_drop_privileges(const char *user, const char *group, char *err, size_t errlen)
{
	const char *name;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || user == NULL || user[0] == '\0')
		return 0;
	if (daemon_worker_ids(user, group, &uid, &gid, &name, err, errlen) == -1)
		return -1;
	if (initgroups(name, gid) == -1) {
		snprintf(err, errlen, "initgroups(%s): %s", user, strerror(errno));
		return -1;
	}
	if (setgid(gid) == -1) {
		snprintf(err, errlen, "setgid(%d): %s", (int)gid, strerror(errno));
		return -1;
	}
	if (setuid(uid) == -1) {
		snprintf(err, errlen, "setuid(%d): %s", (int)uid, strerror(errno));
		return -1;
	}
	return 0;
}

int
daemon_open_log(const char *path, const char *user, const char *group,
    char *err, size_t errlen)
{
	const char *name;
	uid_t uid;
	gid_t gid;
	int fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0640)) == -1) {
		snprintf(err, errlen, "open(%s): %s", path, strerror(errno));
		return -1;
	}
	if (geteuid() != 0 || user == NULL || user[0] == '\0')
		return fd;
	/* Owned by the workers' user, as before the descriptors were passed,
	 * so tools run as that user can still read it. */
	if (daemon_worker_ids(user, group, &uid, &gid, &name, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	if (fchown(fd, uid, gid) == -1) {
		snprintf(err, errlen, "fchown(%s): %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
