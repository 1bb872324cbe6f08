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
#include <string.h>
#include <unistd.h>

#include <bsd/libutil.h>

struct pidfh *
daemon_pidfile_open(const char *path, char *err, size_t errlen)
{
	struct pidfh *pfh;
	pid_t other = 0;

	pfh = pidfile_open(path, 0644, &other);
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
