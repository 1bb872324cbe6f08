/*
 * Signals as a descriptor: the supervisor blocks the signals it handles and
 * reads them from a signalfd in its loop, so no work ever runs in a handler.
 */
#ifndef PREFORKD_SIGNALS_H
#define PREFORKD_SIGNALS_H

#include <signal.h>

#include "supervisor/intents.h"

/* Blocks HUP, TERM, QUIT, INT, TTIN, TTOU, USR1, USR2 and CHLD, ignores PIPE and
 * returns a non-blocking signalfd for them; *old receives the previous mask
 * (what a forked worker restores). Returns -1 with errno on failure. */
int signals_open(sigset_t *old);
/* Reads every pending signal from fd into in. Returns 0, or -1 with errno. */
int signals_read(int fd, struct intents *in);
/* Records signo as an intent; unknown signals are ignored. */
void signals_intent(int signo, struct intents *in);
/* In a forked child: default dispositions and the mask saved by open. */
void signals_reset(const sigset_t *old);

#endif
