/*
 * libFuzzer target for the config parser (supervisor/config*.c). The input is, in turn:
 *  - a config file (in a memfd) for config_load_file, then config_validate;
 *  - lines of "key=value" for config_set, then config_validate;
 *  - lines starting "--" as a command line for config_from_args;
 *  - its first line for config_parse_duration_ms.
 * Every failure must leave exactly one non-empty line in err, and every
 * success a config whose invariants hold. Names are resolved numerically
 * only (see getaddrinfo below), so no input reaches the network.
 */
#include <dlfcn.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "supervisor/config.h"

#define FUZZ_MAX_ARGS 32

typedef int getaddrinfo_fn(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);

/*
 * Interposes the resolver: a host name is looked up numerically, and
 * "localhost" as 127.0.0.1, so a fuzzed name never waits on DNS.
 */
int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	static getaddrinfo_fn *real;
	struct addrinfo h;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (real == NULL)
		abort();
	h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	if (node != NULL && strcmp(node, "localhost") == 0)
		node = "127.0.0.1";
	return real(node, service, &h, res);
}

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_err(int rc, const char *err)
{
	if (rc == 0)
		return;
	check(rc == -1);
	check(err[0] != '\0');
	check(strlen(err) < CONFIG_ERR_LEN);
	check(strchr(err, '\n') == NULL);
}

static void
check_config(const struct config *c)
{
	check(c->nlisten >= 1 && c->nlisten <= CONFIG_MAX_LISTEN);
	check(c->workers >= 1 && c->workers <= CONFIG_WORKERS_LIMIT);
	check(c->max_workers >= 1 && c->max_workers <= CONFIG_WORKERS_LIMIT);
	check(c->root[0] != '\0' && c->index[0] != '\0' && c->access_log[0] != '\0');
	check(c->status_interval_ms > 0 && c->header_timeout_ms > 0);
	check(c->send_timeout_ms > 0 && c->worker_timeout_ms > 0);
	check(c->keepalive_timeout_ms >= 0 && c->graceful_timeout_ms >= 0);
	check(c->max_requests >= 0 && c->max_requests_jitter >= 0);
	check(c->keepalive_requests >= 1 && c->max_connections >= 1 && c->backlog >= 1);
}

static void
fuzz_file(struct config *c, const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_LEN], path[64];
	int fd, rc;

	if ((fd = memfd_create("fuzz_config", MFD_CLOEXEC)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(c);
	err[0] = '\0';
	rc = config_load_file(c, path, err, sizeof(err));
	check_err(rc, err);
	if (rc == 0) {
		check_config(c);
		check_err(config_validate(c, err, sizeof(err)), err);
	}
	close(fd);
}

static void
fuzz_pairs(struct config *c, char *text)
{
	char err[CONFIG_ERR_LEN], *line, *eq, *save = NULL;

	config_defaults(c);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		err[0] = '\0';
		check_err(config_set(c, line, eq + 1, "fuzz:1", err, sizeof(err)), err);
		*eq = '=';
	}
	check_config(c);
	check_err(config_validate(c, err, sizeof(err)), err);
}

/* Options only: no -c (it would read files), no help or version output. */
static void
fuzz_args(struct config *c, char *text)
{
	char *argv[FUZZ_MAX_ARGS + 2], err[CONFIG_ERR_LEN], *line, *save = NULL;
	int argc = 0, rc, t;

	argv[argc++] = "preforkd";
	for (line = strtok_r(text, "\n", &save); line != NULL && argc <= FUZZ_MAX_ARGS;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "--", 2) != 0 || strncmp(line, "--config", 8) == 0 ||
		    strncmp(line, "--help", 6) == 0 || strncmp(line, "--version", 9) == 0)
			continue;
		argv[argc++] = line;
		/* An argument after it, so "--key value" is reached too. */
		if ((line = strchr(line, ' ')) != NULL && line[1] != '-' &&
		    argc <= FUZZ_MAX_ARGS) {
			*line = '\0';
			argv[argc++] = line + 1;
		}
	}
	argv[argc] = NULL;
	err[0] = '\0';
	rc = config_from_args(c, argc, argv, &t, err, sizeof(err));
	check(rc != 1);
	check_err(rc, err);
	if (rc == 0)
		check_config(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char *text, *nl;
	int ms;

	fuzz_file(&c, data, size);
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_pairs(&c, text);
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_args(&c, text);
	memcpy(text, data, size);
	text[size] = '\0';
	if ((nl = strchr(text, '\n')) != NULL)
		*nl = '\0';
	if (config_parse_duration_ms(text, &ms) == 0)
		check(ms >= 0);
	free(text);
	return 0;
}
