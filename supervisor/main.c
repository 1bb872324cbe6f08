/*
 * preforkd: read the configuration, answer -t, hand off to the supervisor.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/unistd.h>

#include "ipc/base/pidfile.h"
#include "supervisor/config.h"
#include "supervisor/listen.h"
#include "supervisor/print_paths.h"
#include "supervisor/status.h"
#include "supervisor/supervisor.h"
#include "supervisor/tls_keys.h"
#include "supervisor/upgrade.h"

#include <openssl/ssl.h>

static void
main_free_argv(char **args)
{
	for (char **a = args; a != NULL && *a != NULL; a++)
		free(*a);
	free(args);
}

/* setproctitle_init() may reuse the memory argv points into, and a reload
 * parses argv again: keep a private copy. */
static char **
main_copy_argv(int argc, char **argv)
{
	char **copy = calloc((size_t)argc + 1, sizeof(*copy));

	if (copy == NULL)
		return NULL;
	for (int i = 0; i < argc; i++)
		if ((copy[i] = strdup(argv[i])) == NULL) {
			main_free_argv(copy);
			return NULL;
		}
	return copy;
}

/* The pid in pidfile if that process is alive, else 0. Reads only: -t
 * must not create, lock or remove anything. */
static pid_t
main_running(const char *pidfile)
{
	pid_t pid;

	/* EPERM: it exists but is another user's, as a root server is to a
	 * user running -t beside it (issue 12). */
	if (pidfile[0] == '\0' || pidfile_read(pidfile, &pid) != 0 ||
	    (kill(pid, 0) == -1 && errno != EPERM))
		return 0;
	return pid;
}

/* The certificate and key load, match and have not expired. */
static int
main_test_tls(const struct config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	time_t not_after;

	if (tls_conf_load(c, &ctx, &not_after, err, errlen) == -1)
		return -1;
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return 0;
}

/*
 * -t also proves what only the kernel can: every address can be bound. An
 * address in use while this configuration's preforkd runs is taken to be
 * that server's own socket (a reload keeps it), so "-t && reload" works.
 */
static int
main_test(const struct config *c, char *err, size_t errlen)
{
	for (int i = 0; i < c->nlisten; i++) {
		int fd = listen_open(&c->listen[i], c->backlog, err, errlen);

		if (fd == -1 && errno == EADDRINUSE && main_running(c->pidfile) > 0)
			continue;
		if (fd == -1)
			return -1;
		close(fd);
	}
	if (c->status_pipe[0] != '\0' &&
	    status_check_path(c->status_pipe, false, err, errlen) == -1)
		return -1;
	return main_test_tls(c, err, errlen);
}

int
main(int argc, char **argv, char **envp)
{
	static struct config conf;
	char err[CONFIG_ERR_LEN];
	int test_only = 0, rc;
	char **args;

	if (argc > 1 && strcmp(argv[1], "--print-paths") == 0)
		return print_paths_main(argc, argv);
	if ((args = main_copy_argv(argc, argv)) == NULL) {
		perror("preforkd");
		return 1;
	}
	rc = config_from_args(&conf, argc, args, &test_only, err, sizeof(err));
	if (rc == 1)
		rc = 0;         /* usage or version printed */
	else if (rc == -1 || (test_only && main_test(&conf, err, sizeof(err)) == -1)) {
		fprintf(stderr, "preforkd: %s\n", err);
		upgrade_report_error(err);
		rc = 1;
	} else if (test_only) {
		printf("configuration ok\n");
		rc = 0;
	} else {
		setproctitle_init(argc, argv, envp);
		rc = supervisor_run(&conf, argc, args);
	}
	main_free_argv(args);
	return rc;
}
