/*
 * Checks across keys, run once everything is set (a key may come after
 * the one it limits): addresses, root, users, the MIME file, paths, TLS.
 */
#include "supervisor/config_internal.h"
#include "server/mimefile.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

/* The directory holding path must exist (the file itself may not yet). */
static int
config_check_parent(const char *key, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == path)
		strlcpy(dir, "/", sizeof(dir));
	else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if (stat(dir, &st) == -1) {
		config_errf(err, errlen, "%s: %s: directory %s: %s", key, path, dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		config_errf(err, errlen, "%s: %s: %s is not a directory", key, path, dir);
		return -1;
	}
	return 0;
}

static int
config_check_root(const struct config *c, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		config_errf(err, errlen, "root: %s: %s", c->root, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int
config_check_ids(const struct config *c, char *err, size_t errlen)
{
	char q[CONFIG_QUOTE_LEN];

	errno = 0;
	if (c->user[0] != '\0' && getpwnam(c->user) == NULL) {
		config_errf(err, errlen, "user: %s: %s", config_quote(c->user, q, sizeof(q)),
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	errno = 0;
	if (c->group[0] != '\0' && getgrnam(c->group) == NULL) {
		config_errf(err, errlen, "group: %s: %s", config_quote(c->group, q, sizeof(q)),
		    errno != 0 ? strerror(errno) : "no such group");
		return -1;
	}
	return 0;
}

static bool
config_listen_same(const struct config_listen *a, const struct config_listen *b)
{
	const struct sockaddr_in *a4 = (const void *)&a->addr, *b4 = (const void *)&b->addr;
	const struct sockaddr_in6 *a6 = (const void *)&a->addr, *b6 = (const void *)&b->addr;

	if (a->addr.ss_family != b->addr.ss_family)
		return false;
	if (a->addr.ss_family == AF_INET)
		return a4->sin_port != 0 && a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->addr.ss_family == AF_INET6)
		return a6->sin6_port != 0 && a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
	return false;
}

/* Port 0 is never a duplicate: each such line gets its own free port. */
static int
config_check_listen(const struct config *c, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 16];
	int i, j;

	if (c->nlisten < 1 || c->nlisten > CONFIG_MAX_LISTEN) {
		config_errf(err, errlen, "listen: expected 1..%d addresses, got %d",
		    CONFIG_MAX_LISTEN, c->nlisten);
		return -1;
	}
	for (i = 0; i < c->nlisten; i++)
		for (j = i + 1; j < c->nlisten; j++) {
			if (!config_listen_same(&c->listen[i], &c->listen[j]))
				continue;
			if (config_listen_format((const struct sockaddr *)&c->listen[j].addr,
			    c->listen[j].addrlen, addr, sizeof(addr)) == -1)
				strlcpy(addr, "?", sizeof(addr));
			config_errf(err, errlen, "listen: %s listed twice (\"%s\" and \"%s\")",
			    addr, c->listen[i].text, c->listen[j].text);
			return -1;
		}
	return 0;
}

static int
config_check_paths(const struct config *c, char *err, size_t errlen)
{
	if (c->status_pipe[0] != '\0' &&
	    config_check_parent("status_pipe", c->status_pipe, err, errlen) == -1)
		return -1;
	if (c->pidfile[0] != '\0' &&
	    config_check_parent("pidfile", c->pidfile, err, errlen) == -1)
		return -1;
	if (c->error_log[0] != '\0' &&
	    config_check_parent("error_log", c->error_log, err, errlen) == -1)
		return -1;
	if (strcmp(c->access_log, "-") != 0 && strcmp(c->access_log, "off") != 0 &&
	    config_check_parent("access_log", c->access_log, err, errlen) == -1)
		return -1;
	return 0;
}

/* A TLS listener needs a certificate; the files themselves are read by
 * tls_conf_load() (for -t, at start and on reload). */
static int
config_check_tls(const struct config *c, char *err, size_t errlen)
{
	for (int i = 0; i < c->nlisten; i++)
		if (c->listen[i].tls && c->tls_certificate[0] == '\0') {
			config_errf(err, errlen, "listen %s tls: tls_certificate is not set",
			    c->listen[i].text);
			return -1;
		}
	return 0;
}

/* Binding is left to the supervisor, which reports unbindable addresses. */
int
config_validate(const struct config *c, char *err, size_t errlen)
{
	if (config_check_listen(c, err, errlen) == -1)
		return -1;
	if (config_check_root(c, err, errlen) == -1)
		return -1;
	if (c->workers > c->max_workers) {
		config_errf(err, errlen, "workers: %d is more than max_workers (%d)",
		    c->workers, c->max_workers);
		return -1;
	}
	if (c->workers < 1) {
		config_errf(err, errlen, "workers: expected at least 1, got %d", c->workers);
		return -1;
	}
	if (config_check_ids(c, err, errlen) == -1)
		return -1;
	if (c->site.mime_types[0] != '\0' &&
	    mimefile_check(c->site.mime_types, err, errlen) == -1)
		return -1;
	if (config_check_tls(c, err, errlen) == -1)
		return -1;
	return config_check_paths(c, err, errlen);
}
