#include "server/mimefile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/http_parse.h"

#define MIMEFILE_EXT_MAX 15
#define MIMEFILE_LINE_MAX 4096
#define MIMEFILE_TYPE_MAX 128
#define MIMEFILE_UTF8 "; charset=utf-8"

struct mimefile_entry {
	char ext[MIMEFILE_EXT_MAX + 1];
	char *type;                /* one of the table's types */
	size_t order;              /* position in the file */
};

struct mimefile_table {
	struct mimefile_entry *v;
	size_t n, cap;
	char **types;              /* one allocation per distinct line */
	size_t ntypes, captypes;
};

static struct mimefile_table installed;

/* token "/" token, as RFC 9110's media-type without parameters. */
static int
mimefile_type_ok(const char *t)
{
	const char *slash = strchr(t, '/');
	size_t i;

	if (slash == NULL || slash == t || slash[1] == '\0' || strlen(t) > MIMEFILE_TYPE_MAX)
		return 0;
	for (i = 0; t[i] != '\0'; i++)
		if (t + i != slash && !http_tchar((unsigned char)t[i]))
			return 0;
	return 1;
}

static int
mimefile_wants_utf8(const char *t)
{
	size_t n = strlen(t);

	return strncasecmp(t, "text/", 5) == 0 || strcasecmp(t, "application/json") == 0 ||
	    strcasecmp(t, "application/javascript") == 0 ||
	    strcasecmp(t, "application/xml") == 0 ||
	    (n > 4 && (strcasecmp(t + n - 4, "+xml") == 0 ||
	    (n > 5 && strcasecmp(t + n - 5, "+json") == 0)));
}

static void
mimefile_free(struct mimefile_table *t)
{
	for (size_t i = 0; i < t->ntypes; i++)
		free(t->types[i]);
	free(t->types);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static int
mimefile_grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n < *cap)
		return 0;
	if ((p = realloc(*v, (*cap ? *cap * 2 : 64) * size)) == NULL)
		return -1;
	*v = p;
	*cap = *cap ? *cap * 2 : 64;
	return 0;
}

/* Stores the type string of one line; NULL when out of memory. */
static char *
mimefile_add_type(struct mimefile_table *t, const char *type)
{
	size_t n = strlen(type);
	char *s;

	if (mimefile_grow((void **)&t->types, &t->captypes, t->ntypes, sizeof(char *)) == -1 ||
	    (s = malloc(n + sizeof(MIMEFILE_UTF8))) == NULL)
		return NULL;
	memcpy(s, type, n + 1);
	if (mimefile_wants_utf8(type))
		memcpy(s + n, MIMEFILE_UTF8, sizeof(MIMEFILE_UTF8));
	t->types[t->ntypes++] = s;
	return s;
}

/* One line, comment cut. Returns 0, or -1 with msg filled. */
static int
mimefile_line(struct mimefile_table *t, char *line, char *msg, size_t msglen)
{
	char *save = NULL, *type, *ext, *stored;
	size_t n;

	line[strcspn(line, "#")] = '\0';
	if ((type = strtok_r(line, " \t\r\n", &save)) == NULL)
		return 0;
	if (!mimefile_type_ok(type)) {
		snprintf(msg, msglen, "expected TYPE/SUBTYPE then extensions, got \"%.64s\"", type);
		return -1;
	}
	if ((stored = mimefile_add_type(t, type)) == NULL)
		goto nomem;
	while ((ext = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
		n = strlen(ext);
		if (strchr(ext, '/') != NULL) {
			snprintf(msg, msglen, "expected an extension, got \"%.64s\"", ext);
			return -1;
		}
		if (n > MIMEFILE_EXT_MAX || strchr(ext, '.') != NULL)
			continue;
		if (mimefile_grow((void **)&t->v, &t->cap, t->n, sizeof(*t->v)) == -1)
			goto nomem;
		for (size_t i = 0; i <= n; i++)
			t->v[t->n].ext[i] = (ext[i] >= 'A' && ext[i] <= 'Z') ? (char)(ext[i] + 32) : ext[i];
		t->v[t->n].order = t->n;
		t->v[t->n++].type = stored;
	}
	return 0;
nomem:
	snprintf(msg, msglen, "out of memory");
	return -1;
}

/* By extension, then by position: the first line naming one wins. */
static int
mimefile_cmp(const void *a, const void *b)
{
	const struct mimefile_entry *x = a, *y = b;
	int c = strcmp(x->ext, y->ext);

	return c != 0 ? c : (x->order < y->order ? -1 : x->order > y->order);
}

static int
mimefile_parse(const char *path, struct mimefile_table *t, char *err, size_t errlen)
{
	char line[MIMEFILE_LINE_MAX + 2], msg[256];
	int lineno = 0;
	FILE *f;

	memset(t, 0, sizeof(*t));
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "mime_types: %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strlen(line) > MIMEFILE_LINE_MAX && strchr(line, '\n') == NULL) {
			snprintf(msg, sizeof(msg), "line too long (more than %d bytes)",
			    MIMEFILE_LINE_MAX);
			goto bad;
		}
		if (mimefile_line(t, line, msg, sizeof(msg)) == -1)
			goto bad;
	}
	fclose(f);
	if (t->n > 0)
		qsort(t->v, t->n, sizeof(*t->v), mimefile_cmp);
	return 0;
bad:
	snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
	fclose(f);
	mimefile_free(t);
	return -1;
}

int
mimefile_check(const char *path, char *err, size_t errlen)
{
	struct mimefile_table t;

	if (mimefile_parse(path, &t, err, errlen) == -1)
		return -1;
	mimefile_free(&t);
	return 0;
}

int
mimefile_load(const char *path, char *err, size_t errlen)
{
	struct mimefile_table t;
	char tmp[512];

	if (mimefile_parse(path, &t, err != NULL ? err : tmp,
	    err != NULL ? errlen : sizeof(tmp)) == -1)
		return -1;
	mimefile_free(&installed);
	installed = t;
	return 0;
}

void
mimefile_unload(void)
{
	mimefile_free(&installed);
}

const char *
mimefile_type(const char *ext)
{
	size_t lo = 0, hi = installed.n;

	/* Leftmost match: the first line that named the extension. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(installed.v[mid].ext, ext) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < installed.n && strcmp(installed.v[lo].ext, ext) == 0)
		return installed.v[lo].type;
	return NULL;
}
