/*
 * preforkctl upgrade: the supervisor answers the control message with a
 * signal to the pid in its argument once the outcome is known (SIGUSR1: the
 * new supervisor serves; SIGUSR2: rolled back). Blocked before sending, the
 * answer cannot be lost.
 */
#ifndef PREFORKD_CTL_UPGRADE_H
#define PREFORKD_CTL_UPGRADE_H

#include <signal.h>
#include <sys/types.h>

/* Blocks the answer signals (keep *set for the wait). Returns 0 or -1. */
int ctl_upgrade_prepare(sigset_t *set);
/* Waits for old's answer and prints the outcome. Returns 0 when the new
 * supervisor serves, 1 otherwise. */
int ctl_upgrade_wait(const sigset_t *set, pid_t old, const char *pidfile);

#endif
