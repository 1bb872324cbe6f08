/*
 * The lenient read: config_load_file stops at the first line it refuses.
 * To read on, the file is copied into a memfd with the refused lines left
 * blank (so line numbers stay), and parsed again, until the parser takes
 * the whole copy. No second tokenizer: whatever preforkd does with quotes,
 * comments and units, preforkctl does too.
 */
#include "supervisor/ctl/ctl_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CTL_CONFIG_MAX_BYTES (4u << 20)
#define CTL_CONFIG_MAX_DROPS 256

/* The whole file, NUL-terminated; NULL when it cannot be read. */
static char *
ctl_config_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;

	if (f == NULL)
		return NULL;
	buf = malloc(CTL_CONFIG_MAX_BYTES + 1);
	if (buf != NULL) {
		*len = fread(buf, 1, CTL_CONFIG_MAX_BYTES, f);
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
ctl_config_dropped(const int *drops, int ndrops, int lineno)
{
	for (int i = 0; i < ndrops; i++)
		if (drops[i] == lineno)
			return true;
	return false;
}

/* Writes text into fd from the start, each dropped line as an empty one. */
static int
ctl_config_write(int fd, const char *text, size_t len, const int *drops, int ndrops)
{
	const char *p = text, *end = text + len, *nl;
	int lineno = 1;

	if (ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) == -1)
		return -1;
	for (; p < end; p = nl + 1, lineno++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (ctl_config_dropped(drops, ndrops, lineno)) {
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
ctl_config_err_line(const char *err, const char *path)
{
	size_t n = strlen(path);

	if (strncmp(err, path, n) != 0 || err[n] != ':')
		return 0;
	return atoi(err + n + 1);
}

int
ctl_config_load_lenient(struct config *conf, const char *path)
{
	char fdpath[64], err[CONFIG_ERR_LEN];
	int drops[CTL_CONFIG_MAX_DROPS], ndrops = 0, fd, line, rc = -1;
	size_t len = 0;
	char *text = ctl_config_slurp(path, &len);

	if (text == NULL || (fd = memfd_create("preforkctl-config", MFD_CLOEXEC)) == -1) {
		free(text);
		return -1;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	while (ctl_config_write(fd, text, len, drops, ndrops) == 0) {
		config_defaults(conf);
		if (config_load_file(conf, fdpath, err, sizeof(err)) == 0) {
			rc = ndrops;
			break;
		}
		line = ctl_config_err_line(err, fdpath);
		if (line <= 0 || ndrops == CTL_CONFIG_MAX_DROPS ||
		    ctl_config_dropped(drops, ndrops, line))
			break;
		drops[ndrops++] = line;
	}
	if (rc == -1)
		config_defaults(conf);
	close(fd);
	free(text);
	return rc;
}
