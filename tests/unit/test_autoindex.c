/* Directory listings: order, escaping, links, columns. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/path.h"
#include "tests/unit/tmpdir.h"

#define MTIME ((time_t)1795456440) /* 2026-11-23 17:54:00 UTC */
#define DATE "2026-11-23 17:54 UTC"

static char base[64];
static int dfd = -1;

static void
put(const char *name, const char *body)
{
	tmpdir_put(dfd, name, body, MTIME);
}

static void
setup(void)
{
	strcpy(base, "/tmp/preforkd-ai-XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	dfd = open(base, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(dfd, 0);
	put("a&b<c>.txt", "hello");
	put("space name", "");
	put("\"quote\"", "12345678901");
	put("%percent", "x");
	put(".hidden", "h");
	cr_assert_eq(mkdirat(dfd, "sub", 0755), 0);
	cr_assert_eq(symlinkat("sub", dfd, "sublink"), 0);
}

static void
teardown(void)
{
	if (dfd != -1)
		close(dfd);
	tmpdir_remove(base);
}

TestSuite(autoindex, .init = setup, .fini = teardown);

static char *
render(const char *url, int dots, size_t *len)
{
	char *html = autoindex_render(dfd, "", dfd, url, dots, len);

	cr_assert_not_null(html, "render: %s", strerror(errno));
	cr_assert_eq(strlen(html), *len, "length or embedded NUL");
	return html;
}

static const char *
must_find(const char *html, const char *needle)
{
	const char *p = strstr(html, needle);

	cr_assert_not_null(p, "missing: %s\n---\n%s", needle, html);
	return p;
}

Test(autoindex, html5_skeleton)
{
	size_t len;
	char *h = render("/dir/", 0, &len);

	cr_assert_eq(strncmp(h, "<!DOCTYPE html>\n<html>\n", 23), 0);
	must_find(h, "<meta charset=\"utf-8\">");
	must_find(h, "<title>Index of /dir/</title>");
	must_find(h, "<h1>Index of /dir/</h1>");
	cr_assert_str_eq(h + len - strlen("</table>\n</body>\n</html>\n"),
	    "</table>\n</body>\n</html>\n");
	free(h);
}

Test(autoindex, parent_link_first)
{
	size_t len;
	char *h = render("/dir/", 0, &len);
	const char *up = must_find(h, "<tr><td><a href=\"../\">../</a></td>");
	const char *first = must_find(h, "href=\"%22quote%22\"");

	cr_assert_lt(up, first);
	free(h);
}

Test(autoindex, no_parent_at_root)
{
	size_t len;
	char *h = render("/", 0, &len);

	cr_assert_null(strstr(h, "href=\"../\""));
	must_find(h, "<title>Index of /</title>");
	free(h);
}

Test(autoindex, names_escaped_and_encoded)
{
	size_t len;
	char *h = render("/dir/", 0, &len);

	must_find(h, "<tr><td><a href=\"a%26b%3Cc%3E.txt\">a&amp;b&lt;c&gt;.txt</a>"
	    "</td><td>5</td><td>" DATE "</td></tr>\n");
	must_find(h, "<a href=\"space%20name\">space name</a></td><td>0</td>");
	must_find(h, "<a href=\"%22quote%22\">&quot;quote&quot;</a></td><td>11</td>");
	must_find(h, "<a href=\"%25percent\">%percent</a></td><td>1</td>");
	cr_assert_null(strstr(h, "a&b"));
	cr_assert_null(strstr(h, "<c>"));
	free(h);
}

Test(autoindex, directories_have_slash)
{
	size_t len;
	char *h = render("/dir/", 0, &len);

	must_find(h, "<a href=\"sub/\">sub/</a></td><td>-</td>");
	/* A symlink to a directory lists as a directory. */
	must_find(h, "<a href=\"sublink/\">sublink/</a></td><td>-</td>");
	free(h);
}

Test(autoindex, sorted_by_strcmp)
{
	static const char *order[] = { "href=\"%22quote%22\"", "href=\"%25percent\"",
	    "href=\"a%26b%3Cc%3E.txt\"", "href=\"space%20name\"", "href=\"sub/\"",
	    "href=\"sublink/\"" };
	size_t len;
	char *h = render("/dir/", 0, &len);
	const char *prev = h;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *p = must_find(h, order[i]);

		cr_assert_gt(p, prev, "%s out of order", order[i]);
		prev = p;
	}
	free(h);
}

Test(autoindex, dotfiles_hidden_by_default)
{
	size_t len;
	char *h = render("/dir/", 0, &len);

	cr_assert_null(strstr(h, ".hidden"));
	cr_assert_null(strstr(h, "href=\"./\""));
	free(h);
}

Test(autoindex, dotfiles_shown_when_asked)
{
	size_t len;
	char *h = render("/dir/", 1, &len);

	must_find(h, "<a href=\".hidden\">.hidden</a></td><td>1</td>");
	/* "." and ".." are never entries. */
	cr_assert_null(strstr(h, "href=\"./\""));
	cr_assert_eq(strstr(strstr(h, "href=\"../\"") + 1, "href=\"../\""), NULL,
	    "\"..\" listed besides the parent link");
	free(h);
}

Test(autoindex, row_count)
{
	size_t len;
	char *h = render("/dir/", 0, &len);
	int rows = 0;

	for (const char *p = h; (p = strstr(p, "<tr><td>")) != NULL; p++)
		rows++;
	cr_assert_eq(rows, 7, "../ plus six entries");
	free(h);
}

Test(autoindex, title_path_escaped)
{
	size_t len;
	char *h = render("/x&y<z>\"/", 0, &len);

	must_find(h, "<title>Index of /x&amp;y&lt;z&gt;&quot;/</title>");
	must_find(h, "<h1>Index of /x&amp;y&lt;z&gt;&quot;/</h1>");
	free(h);
}

Test(autoindex, dirfd_reusable)
{
	size_t l1, l2;
	char *a = render("/dir/", 0, &l1);
	char *b = render("/dir/", 0, &l2);

	cr_assert_eq(l1, l2);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(autoindex, empty_directory)
{
	size_t len;
	int sub = openat(dfd, "sub", O_RDONLY | O_DIRECTORY);
	char *h;

	cr_assert_geq(sub, 0);
	h = autoindex_render(dfd, "sub", sub, "/dir/sub/", 0, &len);
	cr_assert_not_null(h);
	must_find(h, "<tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n"
	    "<tr><td><a href=\"../\">../</a></td><td>-</td><td></td></tr>\n"
	    "</table>\n");
	free(h);
	close(sub);
}

Test(autoindex, not_a_directory)
{
	size_t len;
	int fd = openat(dfd, "space name", O_RDONLY);

	cr_assert_geq(fd, 0);
	errno = 0;
	cr_assert_null(autoindex_render(dfd, "space name", fd, "/x/", 0, &len));
	cr_assert_eq(errno, ENOTDIR);
	close(fd);
}
