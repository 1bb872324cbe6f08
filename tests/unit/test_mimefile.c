/* mime_types = FILE and the JSON name escaping of listings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/http_util.h"
#include "server/mimefile.h"
#include "server/path.h"

static char path[64];

static void
types_file(const char *text)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/preforkd-mime-XXXXXX");
	cr_assert_neq(fd = mkstemp(path), -1);
	cr_assert_not_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
}

static void
cleanup(void)
{
	mimefile_unload();
	if (path[0] != '\0')
		unlink(path);
	path[0] = '\0';
}

TestSuite(mimefile, .fini = cleanup);

Test(mimefile, entries_win_over_builtin_first_line_wins)
{
	char err[256];

	types_file("# comment\n\ntext/x-one one dup\napplication/x-two TWO dup\n"
	    "application/x-html html # trailing comment\nimage/x-none\n"
	    "application/x-long averyveryverylongext a.b\n");
	cr_assert_eq(mimefile_check(path, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(mime_type("a.one", 5), "application/octet-stream",
	    "check installs nothing");
	cr_assert_eq(mimefile_load(path, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(mime_type("a.one", 5), "text/x-one; charset=utf-8");
	cr_assert_str_eq(mime_type("a.Two", 5), "application/x-two");
	cr_assert_str_eq(mime_type("x.dup", 5), "text/x-one; charset=utf-8");
	cr_assert_str_eq(mime_type("i.html", 6), "application/x-html");
	cr_assert_str_eq(mime_type("s.css", 5), "text/css; charset=utf-8");
	cr_assert_str_eq(mimefile_type("averyveryverylongext") == NULL ? "none" : "x", "none");
}

Test(mimefile, bad_lines_name_file_and_line)
{
	char err[512], want[128];

	types_file("text/plain txt\n\nnot-a-type x\n");
	cr_assert_eq(mimefile_check(path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: expected TYPE/SUBTYPE", path);
	cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
	cr_assert_eq(mimefile_load(path, err, sizeof(err)), -1);
	cr_assert_null(mimefile_type("txt"));
	cr_assert_eq(mimefile_check("/nonexistent/mime.types", err, sizeof(err)), -1);
	cr_assert(strstr(err, "No such file") != NULL, "%s", err);
}

Test(mimefile, debian_file_parses)
{
	char err[512];

	if (access("/etc/mime.types", R_OK) != 0)
		cr_skip_test("no /etc/mime.types");
	cr_assert_eq(mimefile_load("/etc/mime.types", err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(mime_type("a.odt", 5), "application/vnd.oasis.opendocument.text");
}

static void
esc(const char *in, const char *want)
{
	char out[256];

	cr_assert_eq(json_escape_name(in, out), strlen(want));
	cr_assert_str_eq(out, want);
}

Test(json_name, escapes)
{
	esc("plain.txt", "plain.txt");
	esc("q\"b\\s", "q\\\"b\\\\s");
	esc("a\nb\x01\x7f", "a\\u000ab\\u0001\\u007f");
	esc("caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80");
	/* invalid UTF-8: stray continuation, overlong, surrogate, truncated */
	esc("a\x80" "b", "a\xef\xbf\xbd" "b");
	esc("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
	esc("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	esc("x\xe2\x98", "x\xef\xbf\xbd\xef\xbf\xbd");
	esc("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}
