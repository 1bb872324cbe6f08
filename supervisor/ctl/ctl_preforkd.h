/*
 * preforkctl asks the preforkd binary what only the server's parser can
 * answer (preforkd -t, preforkd --print-paths), the way apachectl runs
 * httpd -t: one parser, and preforkctl links none of the server.
 */
#ifndef PREFORKD_CTL_PREFORKD_H
#define PREFORKD_CTL_PREFORKD_H

#include <stddef.h>

struct ctl_run {
	int status;          /* preforkd's exit code, 127 when none could run */
	char out[8192];      /* its stdout and stderr, NUL-terminated, cut */
	char err[4096];      /* to fit */
};

/*
 * Runs preforkd with args (args[0] is ignored) and waits for it. The
 * binary is $PREFORKD when set, else the preforkd beside this preforkctl
 * (same folder, or ../sbin as installed), else the one on PATH. Returns 0,
 * or -1 with errno when it could not be started or waited for.
 */
int ctl_preforkd_run(char *const args[], struct ctl_run *r);

#endif
