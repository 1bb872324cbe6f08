/*
 * What the operator asked for, whichever way it came: a signal (signals.c)
 * or a control message (control.c) only records an intent here, and the
 * supervisor loop acts on all of them in one place after each wake-up, so
 * a reload by HUP and one by preforkctl take the same path (see
 * "Processes" in docs/ARCHITECTURE.md).
 */
#ifndef PREFORKD_INTENTS_H
#define PREFORKD_INTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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

/* A flag of struct intents named by its offset: signals.c and control.c map
 * their inputs to flags through tables rather than a switch case apiece. */
#define INTENT_FLAG(member) offsetof(struct intents, member)

static inline void
intents_raise(struct intents *in, size_t flag)
{
	*(bool *)((char *)in + flag) = true;
}

#endif
