/*
 * preforkd --print-paths -c FILE: the answer to preforkctl's question
 * "where is the server of this config file?" (pidfile, status pipe,
 * graceful timeout). preforkctl asks the preforkd binary instead of linking
 * the parser, so both read a file the same way by construction.
 *
 * A file the server would refuse is still read, leniently: the operator
 * must be able to find and stop a server after a broken edit.
 * config_load_file stops at the first line it refuses.
 * To read on, the file is copied into a memfd with the refused lines left
 * blank (so line numbers stay), and parsed again, until the parser takes
 * the whole copy. No second tokenizer: whatever preforkd does with quotes,
 * comments and units, preforkctl does too.
 */
#include "supervisor/print_paths.h"
#include "supervisor/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PATHS_MAX_BYTES (4u << 20)
#define PATHS_MAX_DROPS 256

/* The whole file, NUL-terminated; NULL when it cannot be read. */
static char *
paths_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;

	if (f == NULL)
		return NULL;
	buf = malloc(PATHS_MAX_BYTES + 1);
	if (buf != NULL) {
		*len = fread(buf, 1, PATHS_MAX_BYTES, f);
		buf[*len] = '\0';
		if (ferror(f)) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static bool
paths_dropped(const int *drops, int ndrops, int lineno)
{
	for (int i = 0; i < ndrops; i++)
		if (drops[i] == lineno)
			return true;
	return false;
}

/* Writes text into fd from the start, each dropped line as an empty one. */
static int
paths_write(int fd, const char *text, size_t len, const int *drops, int ndrops)
{
	const char *p = text, *end = text + len, *nl;
	int lineno = 1;

	if (ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) == -1)
		return -1;
	for (; p < end; p = nl + 1, lineno++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (paths_dropped(drops, ndrops, lineno)) {
			if (write(fd, "\n", 1) != 1)
				return -1;
		} else if (write(fd, p, (size_t)(nl - p) + (nl < end)) != (nl - p) + (nl < end)) {
			return -1;
		}
	}
	return 0;
}

/* The line number of an error "PATH:LINE: ...", or 0. */
static int
paths_err_line(const char *err, const char *path)
{
	size_t n = strlen(path);

	if (strncmp(err, path, n) != 0 || err[n] != ':')
		return 0;
	return atoi(err + n + 1);
}

static int
paths_load_lenient(struct config *conf, const char *path)
{
	char fdpath[64], err[CONFIG_ERR_LEN];
	int drops[PATHS_MAX_DROPS], ndrops = 0, fd, line, rc = -1;
	size_t len = 0;
	char *text = paths_slurp(path, &len);

	if (text == NULL || (fd = memfd_create("preforkd-paths", MFD_CLOEXEC)) == -1) {
		free(text);
		return -1;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	while (paths_write(fd, text, len, drops, ndrops) == 0) {
		config_defaults(conf);
		if (config_load_file(conf, fdpath, err, sizeof(err)) == 0) {
			rc = ndrops;
			break;
		}
		line = paths_err_line(err, fdpath);
		if (line <= 0 || ndrops == PATHS_MAX_DROPS ||
		    paths_dropped(drops, ndrops, line))
			break;
		drops[ndrops++] = line;
	}
	if (rc == -1)
		config_defaults(conf);
	close(fd);
	free(text);
	return rc;
}

/* One key a line, "key=value"; a value never holds a newline (the parser
 * takes one line per key). */
static void
paths_print(const struct config *conf)
{
	printf("pidfile=%s\nstatus_pipe=%s\ngraceful_timeout_ms=%d\n", conf->pidfile,
	    conf->status_pipe, conf->graceful_timeout_ms);
}

int
print_paths_main(int argc, char **argv)
{
	static struct config conf;
	char err[CONFIG_ERR_LEN];
	const char *file;

	if (argc != 4 || strcmp(argv[2], "-c") != 0) {
		fprintf(stderr, "usage: preforkd --print-paths -c FILE\n");
		return PATHS_FAILED;
	}
	file = argv[3];
	config_defaults(&conf);
	if (config_load_file(&conf, file, err, sizeof(err)) == 0) {
		paths_print(&conf);
		return PATHS_CLEAN;
	}
	fprintf(stderr, "%s\n", err);
	if (access(file, R_OK) == -1 || paths_load_lenient(&conf, file) == -1)
		return PATHS_FAILED;
	paths_print(&conf);
	return PATHS_LENIENT;
}
