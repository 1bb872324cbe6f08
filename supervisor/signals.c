/*
 * signalfd instead of handlers: the kernel queues the signal and the loop
 * reads it like any other input. Nothing async-signal-unsafe can happen in
 * signal context because there is no signal context.
 */
#include "supervisor/signals.h"
#include "ipc/base/util.h"

#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Each signal handled and what it asks for: a flag to raise or, for TTIN
 * and TTOU, a step of the worker count. */
static const struct {
	int signo;
	size_t flag;       /* INTENT_FLAG(member); unused when step is set */
	int step;
} signals_handled[] = {
	{ SIGHUP, INTENT_FLAG(reload), 0 },
	{ SIGTERM, INTENT_FLAG(stop), 0 },
	{ SIGQUIT, INTENT_FLAG(stop), 0 },
	{ SIGINT, INTENT_FLAG(quit), 0 },
	{ SIGTTIN, 0, +1 },
	{ SIGTTOU, 0, -1 },
	{ SIGUSR1, INTENT_FLAG(reopen), 0 },
	{ SIGUSR2, INTENT_FLAG(upgrade), 0 },
	{ SIGCHLD, INTENT_FLAG(reap), 0 },
};

#define SIGNALS_N (nitems(signals_handled))

int
signals_open(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < SIGNALS_N; i++)
		sigaddset(&set, signals_handled[i].signo);
	/* A vanished status-pipe reader must give EPIPE, not kill us. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -1;
	if (sigprocmask(SIG_BLOCK, &set, old) == -1)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

void
signals_intent(int signo, struct intents *in)
{
	for (size_t i = 0; i < SIGNALS_N; i++) {
		if (signals_handled[i].signo != signo)
			continue;
		if (signals_handled[i].step != 0)
			in->scale_rel += signals_handled[i].step;
		else
			intents_raise(in, signals_handled[i].flag);
		return;
	}
}

int
signals_read(int fd, struct intents *in)
{
	struct signalfd_siginfo si[16];
	ssize_t n;

	for (;;) {
		n = read(fd, si, sizeof(si));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno == EAGAIN ? 0 : -1;
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++)
			signals_intent((int)si[i].ssi_signo, in);
	}
}

void
signals_reset(const sigset_t *old)
{
	for (size_t i = 0; i < SIGNALS_N; i++)
		signal(signals_handled[i].signo, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, old, NULL);
}
