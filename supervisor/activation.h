/*
 * systemd socket activation (sd_listen_fds(3)), without libsystemd: when
 * LISTEN_PID names this process, LISTEN_FDS sockets start at fd 3 and are
 * the listeners; the configuration's "listen" lines are then not bound.
 */
#ifndef PREFORKD_ACTIVATION_H
#define PREFORKD_ACTIVATION_H

#include <stddef.h>
#include <sys/types.h>

#define ACTIVATION_FIRST_FD 3

/* How many sockets the environment hands to process self: 0 when LISTEN_PID
 * is unset or names another process, -1 with err filled when LISTEN_FDS is
 * not a count from 1 to max. */
int activation_count(const char *listen_pid, const char *listen_fds, pid_t self,
    int max, char *err, size_t errlen);

/* Checks that fd is a listening TCP socket (IPv4 or IPv6) and makes it
 * non-blocking and close-on-exec. 0, or -1 with err filled. */
int activation_adopt(int fd, char *err, size_t errlen);

/* Reads and clears LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES, adopts each socket
 * and stores the fds. Returns their number (0 when not activated), or -1
 * with err filled when anything handed over is unusable. */
int activation_take(int *fds, int max, char *err, size_t errlen);

#endif
