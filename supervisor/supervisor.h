/*
 * The supervisor: binds, forks the workers and keeps them healthy (DESIGN
 * §1, §4-§6). Every input (signal, control message) becomes an intent, and
 * the loop acts on intents in one place (STYLE §2.3).
 */
#ifndef PREFORKD_SUPERVISOR_H
#define PREFORKD_SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>

#include "supervisor/config.h"

/* What the operator asked for since the loop last looked. */
struct intents {
	bool reap;        /* SIGCHLD */
	bool reload;      /* HUP, control reload */
	bool stop;        /* TERM, QUIT, control stop: graceful */
	bool quit;        /* INT, control quit: fast */
	bool reopen;      /* USR1, control reopen */
	bool scale_set;   /* control scale N */
	int scale_abs;
	int scale_rel;    /* TTIN +1, TTOU -1, control scale +N/-N */
	bool upgrade;     /* USR2, control upgrade: replace the binary */
	pid_t upgrade_requester;  /* preforkctl waiting for the outcome, or 0 */
	int drain;        /* control drain +1, undrain -1: the agent's answer */
};

/*
 * Runs the supervisor with an already validated configuration until it is
 * told to stop. argv is kept (a deep copy made by the caller) and parsed
 * again on every reload. Returns the process exit status.
 */
int supervisor_run(struct config *conf, int argc, char **argv);

#endif
