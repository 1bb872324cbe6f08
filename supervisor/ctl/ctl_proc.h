/*
 * preforkctl's look at a process named by a pidfile (docs/ARCHITECTURE.md: Operations, issue 12
 * item 2): is it alive, and is it preforkd? A pid may have been reused by
 * any other program, so only positive evidence makes it ours.
 */
#ifndef PREFORKD_CTL_PROC_H
#define PREFORKD_CTL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A zombie (or a dying process) answers kill(pid, 0) but is gone. */
bool ctl_proc_is_zombie(pid_t pid);

/*
 * True only when the process is shown to be preforkd: /proc/PID/exe names a
 * preforkd binary, or, when the link cannot be read (another user's or a
 * non-dumpable process, PID 1 of a container), its comm or argv[0] says
 * preforkd or its owner holds the control queue /preforkd.<pid>.ctl.
 * Otherwise false, with why written to what ("not preforkd but /usr/bin/sleep").
 */
bool ctl_proc_is_preforkd(pid_t pid, char *what, size_t whatlen);

#endif
