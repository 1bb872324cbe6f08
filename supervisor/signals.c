/*
 * signalfd instead of handlers: the kernel queues the signal and the loop
 * reads it like any other input. Nothing async-signal-unsafe can happen in
 * signal context because there is no signal context.
 */
#include "supervisor/signals.h"

#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static const int signals_handled[] = {
	SIGHUP, SIGTERM, SIGQUIT, SIGINT, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGCHLD,
};

#define SIGNALS_N (sizeof(signals_handled) / sizeof(signals_handled[0]))

int
signals_open(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < SIGNALS_N; i++)
		sigaddset(&set, signals_handled[i]);
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
	switch (signo) {
	case SIGCHLD:
		in->reap = true;
		break;
	case SIGHUP:
		in->reload = true;
		break;
	case SIGTERM:
	case SIGQUIT:
		in->stop = true;
		break;
	case SIGINT:
		in->quit = true;
		break;
	case SIGUSR1:
		in->reopen = true;
		break;
	case SIGUSR2:
		in->upgrade = true;
		break;
	case SIGTTIN:
		in->scale_rel++;
		break;
	case SIGTTOU:
		in->scale_rel--;
		break;
	default:
		break;
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
		signal(signals_handled[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, old, NULL);
}
