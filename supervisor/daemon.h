/*
 * Process plumbing for the supervisor: the pidfile lock (libbsd), detaching
 * from the terminal, process titles and dropping privileges.
 */
#ifndef PREFORKD_DAEMON_H
#define PREFORKD_DAEMON_H

#include <stddef.h>

struct pidfh;

/* Opens and locks path. On a running instance fills err with
 * "pidfile PATH: already running as pid N". Returns NULL with err filled. */
struct pidfh *daemon_pidfile_open(const char *path, char *err, size_t errlen);
/* Detaches: fork (the parent exits 0), setsid, stdio on /dev/null; the
 * working directory is kept so relative paths stay valid. Returns 0 or -1. */
int daemon_detach(void);
/* Switches to user (and group, or the user's primary group): initgroups,
 * setgid, setuid. Only when running as root and user is set; otherwise
 * does nothing. Returns 0, or -1 with err filled. */
int daemon_drop_privileges(const char *user, const char *group, char *err, size_t errlen);
/* Opens (creating, mode 0640, never through a symlink) a log file for the
 * workers: the supervisor opens it and passes the descriptor, so the
 * workers' user needs no right on the directory. As root with user set, the
 * file is given to the workers' user and group. Returns the descriptor
 * (close-on-exec), or -1 with err filled. */
int daemon_open_log(const char *path, const char *user, const char *group,
    char *err, size_t errlen);

#endif
