/*
 * The configuration file: one "key = value" a line, read with bounded
 * memory. Comments start with '#' at the start or after a blank, outside
 * quotes; a value in double quotes keeps its blanks and '#'. Each line
 * goes through config_set() with "FILE:LINE" as where.
 */
#include "supervisor/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <bsd/string.h>

/* Cuts a comment: '#' outside quotes, at the start or after whitespace. */
static void
config_cut_comment(char *v)
{
	bool inq = false;
	char *p;

	for (p = v; *p != '\0'; p++) {
		if (*p == '"')
			inq = !inq;
		else if (*p == '#' && !inq && (p == v || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

static char *
config_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Splits "key = value" in place: trims, cuts the comment, drops quotes. */
static int
config_split_line(char *s, char **key, char **value, char *msg, size_t msglen)
{
	char *eq, *v;
	size_t n;

	if ((eq = strchr(s, '=')) == NULL) {
		config_errf(msg, msglen, "expected \"key = value\"");
		return -1;
	}
	*eq = '\0';
	*key = config_trim(s);
	if (**key == '\0') {
		config_errf(msg, msglen, "expected \"key = value\", got no key");
		return -1;
	}
	v = eq + 1;
	config_cut_comment(v);
	v = config_trim(v);
	n = strlen(v);
	if (n > 0 && v[0] == '"') {
		if (n < 2 || v[n - 1] != '"') {
			config_errf(msg, msglen, "%s: missing closing '\"'", *key);
			return -1;
		}
		v[n - 1] = '\0';
		v++;
	}
	*value = v;
	return 0;
}

/* One line of a file, without its newline; n is its length. */
static int
config_line(struct config *c, const char *path, int lineno, char *line, size_t n,
    char *err, size_t errlen)
{
	char where[PATH_MAX + 16], msg[CONFIG_ERR_LEN];
	char *s, *key, *value;

	if (memchr(line, '\0', n) != NULL) {
		config_errf(err, errlen, "%s:%d: NUL byte in line", path, lineno);
		return -1;
	}
	s = line;
	if (lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;         /* a UTF-8 byte order mark */
	s = config_trim(s);
	if (*s == '\0' || *s == '#')
		return 0;
	if (config_split_line(s, &key, &value, msg, sizeof(msg)) == -1) {
		config_errf(err, errlen, "%s:%d: %s", path, lineno, msg);
		return -1;
	}
	snprintf(where, sizeof(where), "%s:%d", path, lineno);
	return config_set(c, key, value, where, err, errlen);
}

/*
 * Reads one line into buf (CONFIG_LINE_MAX + 2 bytes) without its "\n" or
 * "\r\n". Returns its length; -2 for a line longer than CONFIG_LINE_MAX,
 * whose rest is left unread; -1 at the end of the file or on a read error.
 * Memory stays bounded whatever the file holds.
 */
static ssize_t
config_read_line(FILE *f, char *buf)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (n == CONFIG_LINE_MAX + 1)
			return -2;
		buf[n++] = (char)ch;
	}
	if (ch == EOF && n == 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return n > CONFIG_LINE_MAX ? -2 : (ssize_t)n;
}

int
config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	char line[CONFIG_LINE_MAX + 2];
	int lineno = 0, rc = -1;
	ssize_t len;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		config_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	strlcpy(c->file, path, sizeof(c->file));
	c->listen_fresh = true;
	while ((len = config_read_line(f, line)) != -1) {
		lineno++;
		if (len == -2) {
			config_errf(err, errlen, "%s:%d: line too long (more than %d bytes)",
			    path, lineno, CONFIG_LINE_MAX);
			goto fail;
		}
		if (config_line(c, path, lineno, line, (size_t)len, err, errlen) == -1)
			goto fail;
	}
	if (ferror(f)) {
		config_errf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	rc = 0;
fail:
	fclose(f);
	return rc;
}
