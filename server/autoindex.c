/*
 * Directory listings. Not the hot path: this allocates (the entry list
 * and the page), and each call reads the directory afresh.
 *
 * An entry is listed only when a request for it would be served: it must
 * be a regular file or a directory, and a symlink is resolved beneath the
 * root like a request path (openat2 RESOLVE_BENEATH, O_PATH, so nothing is
 * opened for reading); any other entry needs only its lstat. A link to a directory inside the root lists as one; links
 * out of the root, dangling links, FIFOs and devices are left out, so the
 * listing reveals nothing the root hides. Names
 * are HTML-escaped in text and percent-encoded in links, so no file name
 * can inject markup or turn a link into another scheme ("a:b" -> "a%3Ab").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/http_util.h"
#include "server/path.h"

struct autoindex_entry {
	char *name;
	int is_dir;
	off_t size;
	time_t mtime;
};

/* The listed directory: open as dirfd, and rel beneath the root rootfd. */
struct autoindex_src {
	int rootfd;
	const char *rel;
	int dirfd;
};

struct autoindex_list {
	struct autoindex_entry *v;
	size_t n, cap;
};

/* A growable output buffer; on allocation failure it stays failed. */
struct autoindex_buf {
	char *p;
	size_t len, cap;
	int failed;
};

/* NAME_MAX bytes, each escaped to at most 6 ("&quot;") or 3 ("%XX"). */
#define AUTOINDEX_ESC_MAX (NAME_MAX * 6 + 2)

static void
autoindex_list_free(struct autoindex_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
}

/*
 * Stats the entry name of the listed directory as a request for it would
 * find it: resolved beneath the root (rootfd, the directory being rel), so
 * a link out of the root, a dangling link or a loop fails. Only what would
 * be served (a regular file or a directory) is listed: 1 with *st, else 0.
 */
static int
autoindex_stat_beneath(int rootfd, const char *rel, const char *name, struct stat *st)
{
	char path[PATH_MAX];
	int n, fd, ok;

	n = snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] != '\0' ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	/* O_PATH: no open with side effects (a FIFO's writer stays blocked). */
	if ((fd = path_open_beneath(rootfd, path, O_PATH)) == -1)
		return 0;
	ok = fstat(fd, st) == 0 && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode));
	close(fd);
	return ok;
}

/*
 * The same answer for the entry name of the directory open as dirfd, most
 * often in one syscall: an entry that is not a symlink is itself what a
 * request finds (the directory was reached beneath the root, and a name
 * in it can go nowhere else), so its lstat is enough; only a symlink needs
 * resolving beneath the root.
 */
static int
autoindex_stat(const struct autoindex_src *src, int dirfd, const char *name,
    struct stat *st)
{
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (S_ISLNK(st->st_mode))
		return autoindex_stat_beneath(src->rootfd, src->rel, name, st);
	return S_ISREG(st->st_mode) || S_ISDIR(st->st_mode);
}

static int
autoindex_list_add(struct autoindex_list *l, const struct autoindex_src *src,
    int dirfd, const char *name)
{
	struct autoindex_entry *e;
	struct stat st;

	if (!autoindex_stat(src, dirfd, name, &st))
		return 0; /* gone, outside the root, or not servable: not listed */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		void *v = realloc(l->v, cap * sizeof(*l->v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n];
	if ((e->name = strdup(name)) == NULL)
		return -1;
	e->is_dir = S_ISDIR(st.st_mode);
	e->size = st.st_size;
	e->mtime = st.st_mtim.tv_sec;
	l->n++;
	return 0;
}

/*
 * Reads the directory through a fresh open file description, so the
 * caller's dirfd keeps its offset and stays open.
 */
static int
autoindex_read(const struct autoindex_src *src, int show_dotfiles,
    struct autoindex_list *l)
{
	struct dirent *de;
	DIR *d;
	int fd, saved;

	if ((fd = openat(src->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_name[0] == '.' && !show_dotfiles)
			continue;
		if (autoindex_list_add(l, src, fd, de->d_name) == -1)
			goto fail;
		errno = 0;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	return 0;
fail:
	saved = errno ? errno : ENOMEM;
	closedir(d);
	errno = saved;
	return -1;
}

static int
autoindex_cmp(const void *a, const void *b)
{
	return strcmp(((const struct autoindex_entry *)a)->name,
	    ((const struct autoindex_entry *)b)->name);
}

static void __attribute__((format(printf, 2, 3)))
autoindex_printf(struct autoindex_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (int tries = 0; tries < 2 && !b->failed; tries++) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n) * 2;
		char *p = realloc(b->p, cap);

		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void
autoindex_head(struct autoindex_buf *b, const char *url_path)
{
	size_t cap = strlen(url_path) * 6 + 1;
	char *esc = malloc(cap);

	if (esc == NULL || html_escape(url_path, esc, cap) == -1) {
		free(esc);
		b->failed = 1;
		return;
	}
	autoindex_printf(b, "<!DOCTYPE html>\n<html>\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>Index of %s</title>\n"
	    "</head>\n<body>\n<h1>Index of %s</h1>\n<table>\n"
	    "<tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n", esc, esc);
	free(esc);
	if (strcmp(url_path, "/") != 0)
		autoindex_printf(b, "<tr><td><a href=\"../\">../</a></td>"
		    "<td>-</td><td></td></tr>\n");
}

/* Appends n bytes, growing the buffer by doubling. The rows go through
 * here rather than printf: a listing of 20,000 entries is 20,000 rows. */
static void
autoindex_put(struct autoindex_buf *b, const char *s, size_t n)
{
	size_t cap = b->cap;
	char *p;

	if (b->failed)
		return;
	if (cap - b->len < n) {
		while (cap - b->len < n)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

#define AUTOINDEX_PUT(b, lit) autoindex_put((b), (lit), sizeof(lit) - 1)

/* The last "YYYY-MM-DD HH:MM UTC" made, by the minute it stands for:
 * entries of one directory mostly share a few minutes. */
struct autoindex_date {
	time_t minute;
	int valid;
	size_t len;
	char text[32];
};

static void
autoindex_put_date(struct autoindex_buf *b, struct autoindex_date *d, time_t t)
{
	time_t minute = t / 60 - (t % 60 < 0);
	struct tm tm;

	if (!d->valid || d->minute != minute) {
		d->minute = minute;
		d->valid = 1;
		if (gmtime_r(&t, &tm) == NULL ||
		    (d->len = strftime(d->text, sizeof(d->text), "%Y-%m-%d %H:%M UTC", &tm)) == 0)
			d->len = strlen(strcpy(d->text, "-"));
	}
	autoindex_put(b, d->text, d->len);
}

static void
autoindex_put_size(struct autoindex_buf *b, off_t size)
{
	char digits[24];
	size_t i = sizeof(digits);
	uintmax_t v = size > 0 ? (uintmax_t)size : 0;

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	autoindex_put(b, digits + i, sizeof(digits) - i);
}

static void
autoindex_row(struct autoindex_buf *b, const struct autoindex_entry *e,
    struct autoindex_date *date)
{
	char text[AUTOINDEX_ESC_MAX], href[AUTOINDEX_ESC_MAX];
	int tn, hn;

	if ((tn = html_escape(e->name, text, sizeof(text))) == -1 ||
	    (hn = url_encode_path(e->name, href, sizeof(href))) == -1)
		return; /* cannot happen for names up to NAME_MAX */
	AUTOINDEX_PUT(b, "<tr><td><a href=\"");
	autoindex_put(b, href, (size_t)hn);
	autoindex_put(b, "/", e->is_dir);
	AUTOINDEX_PUT(b, "\">");
	autoindex_put(b, text, (size_t)tn);
	autoindex_put(b, "/", e->is_dir);
	AUTOINDEX_PUT(b, "</a></td><td>");
	if (e->is_dir)
		AUTOINDEX_PUT(b, "-");
	else
		autoindex_put_size(b, e->size);
	AUTOINDEX_PUT(b, "</td><td>");
	autoindex_put_date(b, date, e->mtime);
	AUTOINDEX_PUT(b, "</td></tr>\n");
}

/* The page around the sorted entries: HTML or JSON. */
typedef void autoindex_body(struct autoindex_buf *b, const struct autoindex_list *l,
    const char *url_path);

static void
autoindex_html(struct autoindex_buf *b, const struct autoindex_list *l,
    const char *url_path)
{
	struct autoindex_date date = { 0, 0, 0, "" };

	autoindex_head(b, url_path);
	for (size_t i = 0; i < l->n; i++)
		autoindex_row(b, &l->v[i], &date);
	autoindex_printf(b, "</table>\n</body>\n</html>\n");
}

/* One object of the JSON listing (server/autoindex_json.c escapes). */
static void
autoindex_json_row(struct autoindex_buf *b, const struct autoindex_entry *e,
    int first)
{
	char name[NAME_MAX * 6 + 1], date[32];

	json_escape_name(e->name, name);
	http_date_format(e->mtime, date);
	autoindex_printf(b, "%s\n{\"name\":\"%s\",\"type\":\"%s\",\"mtime\":\"%s\"",
	    first ? "" : ",", name, e->is_dir ? "directory" : "file", date);
	if (!e->is_dir)
		autoindex_printf(b, ",\"size\":%" PRIdMAX, (intmax_t)e->size);
	autoindex_printf(b, "}");
}

static void
autoindex_json(struct autoindex_buf *b, const struct autoindex_list *l,
    const char *url_path)
{
	(void)url_path;
	autoindex_printf(b, "[");
	for (size_t i = 0; i < l->n; i++)
		autoindex_json_row(b, &l->v[i], i == 0);
	autoindex_printf(b, "\n]\n");
}

/* Reads and sorts what a request would serve, then lets body render it. */
static char *
autoindex_build(const struct autoindex_src *src, const char *url_path,
    int show_dotfiles, autoindex_body *body, size_t *len)
{
	struct autoindex_list l = { NULL, 0, 0 };
	struct autoindex_buf b = { NULL, 0, 0, 0 };

	if (autoindex_read(src, show_dotfiles, &l) == -1)
		goto fail;
	if (l.n > 0)
		qsort(l.v, l.n, sizeof(*l.v), autoindex_cmp);
	if ((b.p = malloc(b.cap = 4096)) == NULL)
		goto fail;
	body(&b, &l, url_path);
	if (b.failed) {
		errno = ENOMEM;
		goto fail;
	}
	autoindex_list_free(&l);
	*len = b.len;
	return b.p;
fail:
	autoindex_list_free(&l);
	free(b.p);
	return NULL;
}

char *
autoindex_render(int rootfd, const char *rel, int dirfd, const char *url_path,
    int show_dotfiles, size_t *len)
{
	struct autoindex_src src = { rootfd, rel, dirfd };

	return autoindex_build(&src, url_path, show_dotfiles, autoindex_html, len);
}

char *
autoindex_render_json(int rootfd, const char *rel, int dirfd, int show_dotfiles,
    size_t *len)
{
	struct autoindex_src src = { rootfd, rel, dirfd };

	return autoindex_build(&src, "", show_dotfiles, autoindex_json, len);
}
