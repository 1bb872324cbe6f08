/*
 * Reading a pidfile, the one way every part of preforkd does it (the -t
 * check, the binary upgrade, preforkctl). Writing and locking them is
 * libbsd's pidfile_open.
 */
#ifndef PREFORKD_PIDFILE_H
#define PREFORKD_PIDFILE_H

#include <sys/types.h>

/*
 * Reads the positive pid in path: digits, optionally ending in a newline.
 * Returns 0, -1 when the file does not exist, -2 when it cannot be read
 * or holds no pid (errno says which: EINVAL for the contents).
 */
int pidfile_read(const char *path, pid_t *pid);

#endif
