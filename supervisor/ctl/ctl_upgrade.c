#include "supervisor/ctl/ctl_upgrade.h"
#include "ipc/base/pidfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CTL_UPGRADE_SLICE_MS 200
#define CTL_UPGRADE_MAX_S 3600   /* upgrade_timeout bounds it; this is a backstop */

int
ctl_upgrade_prepare(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	return sigprocmask(SIG_BLOCK, set, NULL);
}

/* The pid the pidfile names now, or 0. */
static pid_t
ctl_upgrade_pidfile(const char *pidfile)
{
	pid_t pid;

	return pidfile_read(pidfile, &pid) == 0 ? pid : 0;
}

static int
ctl_upgrade_outcome(int signo, pid_t old, const char *pidfile)
{
	if (signo == SIGUSR1) {
		printf("upgraded: pid %d -> %d\n", (int)old, (int)ctl_upgrade_pidfile(pidfile));
		return 0;
	}
	fprintf(stderr, "preforkctl: upgrade failed; pid %d keeps serving (its error "
	    "log says why)\n", (int)old);
	return 1;
}

int
ctl_upgrade_wait(const sigset_t *set, pid_t old, const char *pidfile)
{
	struct timespec slice = { 0, CTL_UPGRADE_SLICE_MS * 1000000L };
	siginfo_t si;

	for (long waited = 0; waited < CTL_UPGRADE_MAX_S * 1000L;
	    waited += CTL_UPGRADE_SLICE_MS) {
		int signo = sigtimedwait(set, &si, &slice);

		if (signo > 0 && si.si_pid == old)
			return ctl_upgrade_outcome(signo, old, pidfile);
		if (signo == -1 && errno != EAGAIN && errno != EINTR)
			break;
		if (signo == -1 && kill(old, 0) == -1 && errno == ESRCH) {
			fprintf(stderr, "preforkctl: pid %d exited during the upgrade\n",
			    (int)old);
			return 1;
		}
	}
	fprintf(stderr, "preforkctl: no answer from pid %d about the upgrade\n", (int)old);
	return 1;
}
