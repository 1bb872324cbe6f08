/* Request path decoding, the dotfile rule, openat2 beneath root, encoders. */
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

static void
expect_path(const char *raw, const char *want, int want_slash)
{
	char out[256];
	int slash = -1;

	cr_assert_eq(path_decode(raw, strlen(raw), out, sizeof(out), &slash), 0,
	    "\"%s\" refused", raw);
	cr_assert_str_eq(out, want, "\"%s\"", raw);
	cr_assert_eq(slash, want_slash, "\"%s\": dir_slash %d", raw, slash);
}

static void
expect_refused(const char *raw)
{
	char out[256];
	int slash;

	cr_assert_eq(path_decode(raw, strlen(raw), out, sizeof(out), &slash), -1,
	    "\"%s\" accepted as \"%s\"", raw, out);
}

Test(path, root)
{
	expect_path("/", "", 1);
}

Test(path, plain_file_and_dir)
{
	expect_path("/index.html", "index.html", 0);
	expect_path("/a/b/c.txt", "a/b/c.txt", 0);
	expect_path("/a/b/", "a/b", 1);
	expect_path("/a", "a", 0);
}

Test(path, percent_decoding)
{
	expect_path("/a%20b", "a b", 0);
	expect_path("/%41%62%63", "Abc", 0);
	expect_path("/caf%C3%A9", "caf\xc3\xa9", 0);
	expect_path("/%7e", "~", 0);
	expect_path("/%25", "%", 0);
	expect_path("/a+b", "a+b", 0);
}

Test(path, encoded_slash_is_separator)
{
	expect_path("/a%2fb", "a/b", 0);
	expect_path("/a%2F", "a", 0); /* raw last byte decides */
	expect_path("/a%2F%2Fb", "a/b", 0);
}

Test(path, collapse_slashes)
{
	expect_path("//a///b//", "a/b", 1);
	expect_path("///", "", 1);
}

Test(path, drop_dot_segments)
{
	expect_path("/./a/./b/.", "a/b", 0);
	expect_path("/.", "", 0);
	expect_path("/a/.", "a", 0);
	expect_path("/a/./", "a", 1);
	expect_path("/%2e/a", "a", 0);
}

Test(path, apply_dotdot)
{
	expect_path("/a/b/../c", "a/c", 0);
	expect_path("/a/..", "", 0);
	expect_path("/a/b/..", "a", 0);
	expect_path("/a/b/../", "a", 1);
	expect_path("/a/../b/../c/", "c", 1);
	expect_path("/a/b/c/../../d", "a/d", 0);
}

Test(path, names_with_dots_are_names)
{
	expect_path("/...", "...", 0);
	expect_path("/a/..b", "a/..b", 0);
	expect_path("/a/b..", "a/b..", 0);
	expect_path("/.hidden", ".hidden", 0);
	expect_path("/a.b.c", "a.b.c", 0);
}

Test(path, traversal_plain)
{
	expect_refused("/..");
	expect_refused("/../");
	expect_refused("/../etc/passwd");
	expect_refused("/a/../../b");
	expect_refused("/a/b/../../../etc/passwd");
	expect_refused("/./../x");
}

Test(path, traversal_encoded)
{
	expect_refused("/%2e%2e/");
	expect_refused("/%2E%2E/etc/passwd");
	expect_refused("/%2E%2E%2F");
	expect_refused("/..%2f");
	expect_refused("/..%2Fetc%2Fpasswd");
	expect_refused("/.%2e/x");
	expect_refused("/%2e./x");
	expect_refused("/a%2f..%2f..%2fb");
	expect_refused("/%2f..");
}

Test(path, double_encoding_stays_literal)
{
	expect_path("/%252e%252e/", "%2e%2e", 1);
	expect_path("/%252e%252e%252fetc", "%2e%2e%2fetc", 0);
}

Test(path, backslash_is_just_a_byte)
{
	expect_path("/..\\..\\etc\\passwd", "..\\..\\etc\\passwd", 0);
	expect_path("/a%5c..%5cb", "a\\..\\b", 0);
}

Test(path, overlong_utf8_dot_is_not_a_dot)
{
	expect_path("/%c0%ae%c0%ae/etc", "\xc0\xae\xc0\xae/etc", 0);
	expect_path("/%e0%80%ae", "\xe0\x80\xae", 0);
}

Test(path, bad_escapes_refused)
{
	expect_refused("/%");
	expect_refused("/%2");
	expect_refused("/a%zz");
	expect_refused("/a%g0");
	expect_refused("/a%0");
	expect_refused("/%%41");
}

Test(path, nul_refused)
{
	char out[64];
	int slash;

	expect_refused("/a%00b");
	expect_refused("/%00");
	cr_assert_eq(path_decode("/a\0b", 4, out, sizeof(out), &slash), -1);
}

Test(path, must_start_with_slash)
{
	char out[64];
	int slash;

	expect_refused("a/b");
	expect_refused("*");
	cr_assert_eq(path_decode("", 0, out, sizeof(out), &slash), -1);
}

Test(path, length_bound_on_input)
{
	char out[64];
	int slash;

	/* Only "/ab" counts: the NUL-free tail beyond len is not read. */
	cr_assert_eq(path_decode("/ab/../..", 3, out, sizeof(out), &slash), 0);
	cr_assert_str_eq(out, "ab");
	/* An escape cut off by len is bad. */
	cr_assert_eq(path_decode("/a%41", 4, out, sizeof(out), &slash), -1);
}

Test(path, output_too_small)
{
	char out[4];
	int slash;

	cr_assert_eq(path_decode("/abc", 4, out, sizeof(out), &slash), 0);
	cr_assert_str_eq(out, "abc");
	cr_assert_eq(path_decode("/abcd", 5, out, sizeof(out), &slash), -1);
	cr_assert_eq(path_decode("/a/bc", 5, out, sizeof(out), &slash), -1);
	cr_assert_eq(path_decode("/a/b", 4, out, sizeof(out), &slash), 0);
	cr_assert_str_eq(out, "a/b");
	cr_assert_eq(path_decode("/", 1, out, 0, &slash), -1);
	cr_assert_eq(path_decode("/", 1, out, 1, &slash), 0);
	cr_assert_str_eq(out, "");
}

Test(path, dotfile_rule)
{
	cr_assert(path_is_dotfile(".git"));
	cr_assert(path_is_dotfile(".git/config"));
	cr_assert(path_is_dotfile("a/.env"));
	cr_assert(path_is_dotfile("a/b/.htpasswd"));
	cr_assert(path_is_dotfile(".well-known/.secret"));
	cr_assert(path_is_dotfile("a/.well-known/x"));
	cr_assert(path_is_dotfile(".well-knownx"));
	cr_assert_not(path_is_dotfile(""));
	cr_assert_not(path_is_dotfile("a/b.c"));
	cr_assert_not(path_is_dotfile("a./b"));
	cr_assert_not(path_is_dotfile(".well-known"));
	cr_assert_not(path_is_dotfile(".well-known/acme-challenge/tok"));
}

Test(path, url_encode_exact)
{
	char out[128];

	cr_assert_eq(url_encode_path("/a b/c", out, sizeof(out)), 8);
	cr_assert_str_eq(out, "/a%20b/c");
	cr_assert_eq(url_encode_path("AZaz09-._~/", out, sizeof(out)), 11);
	cr_assert_str_eq(out, "AZaz09-._~/");
	url_encode_path("a&b<c>\"'%?#:;=+", out, sizeof(out));
	cr_assert_str_eq(out, "a%26b%3Cc%3E%22%27%25%3F%23%3A%3B%3D%2B");
	url_encode_path("caf\xc3\xa9\x01\x7f\xff", out, sizeof(out));
	cr_assert_str_eq(out, "caf%C3%A9%01%7F%FF");
	cr_assert_eq(url_encode_path("", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
}

Test(path, url_encode_every_short_buffer)
{
	const char *s = "a b&c";
	const char *want = "a%20b%26c";
	char out[32];
	size_t full = strlen(want);

	for (size_t len = 0; len <= full; len++)
		cr_assert_eq(url_encode_path(s, out, len), -1, "len %zu", len);
	cr_assert_eq(url_encode_path(s, out, full + 1), (int)full);
	cr_assert_str_eq(out, want);
}

Test(path, html_escape_exact)
{
	char out[128];

	cr_assert_eq(html_escape("a&b<c>\"d'e", out, sizeof(out)), 29);
	cr_assert_str_eq(out, "a&amp;b&lt;c&gt;&quot;d&#39;e");
	cr_assert_eq(html_escape("plain", out, sizeof(out)), 5);
	cr_assert_str_eq(out, "plain");
	cr_assert_eq(html_escape("", out, sizeof(out)), 0);
}

Test(path, html_escape_every_short_buffer)
{
	const char *s = "<a>&'\"";
	const char *want = "&lt;a&gt;&amp;&#39;&quot;";
	char out[64];
	size_t full = strlen(want);

	for (size_t len = 0; len <= full; len++)
		cr_assert_eq(html_escape(s, out, len), -1, "len %zu", len);
	cr_assert_eq(html_escape(s, out, full + 1), (int)full);
	cr_assert_str_eq(out, want);
}

/* A temp tree: base/outside.txt, base/root/{a.txt, sub/b.txt, links}. */
static char base[64];
static int rootfd = -1;

static void
tree_teardown(void)
{
	if (rootfd != -1)
		close(rootfd);
	tmpdir_remove(base);
}

static void
put_file(const char *path, const char *body)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(body, f);
	fclose(f);
}

static void
tree_setup(void)
{
	char p[256];

	strcpy(base, "/tmp/preforkd-path-XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	snprintf(p, sizeof(p), "%s/outside.txt", base);
	put_file(p, "secret");
	snprintf(p, sizeof(p), "%s/root", base);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/root/sub", base);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/root/a.txt", base);
	put_file(p, "inside");
	snprintf(p, sizeof(p), "%s/root/sub/b.txt", base);
	put_file(p, "b");
	snprintf(p, sizeof(p), "%s/root", base);
	rootfd = open(p, O_RDONLY | O_DIRECTORY);
	cr_assert_neq(rootfd, -1);
	cr_assert_eq(symlinkat("a.txt", rootfd, "in_link"), 0);
	cr_assert_eq(symlinkat("../a.txt", rootfd, "sub/up_link"), 0);
	cr_assert_eq(symlinkat("../outside.txt", rootfd, "out_link"), 0);
	cr_assert_eq(symlinkat("../../outside.txt", rootfd, "sub/out_link"), 0);
	snprintf(p, sizeof(p), "%s/root/a.txt", base);
	cr_assert_eq(symlinkat(p, rootfd, "abs_link"), 0);
	cr_assert_eq(symlinkat("/etc", rootfd, "etc_link"), 0);
	cr_assert_eq(symlinkat("sub", rootfd, "sub_link"), 0);
}

static void
expect_content(int fd, const char *want)
{
	char buf[64];
	ssize_t n;

	cr_assert_geq(fd, 0, "open failed: %s", strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	cr_assert_geq(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, want);
	close(fd);
}

static void
expect_exdev(const char *rel)
{
	errno = 0;
	cr_assert_eq(path_open_beneath(rootfd, rel, O_RDONLY), -1, "%s opened", rel);
	cr_assert_eq(errno, EXDEV, "%s: %s", rel, strerror(errno));
}

TestSuite(path_open, .init = tree_setup, .fini = tree_teardown);

Test(path_open, regular_files)
{
	expect_content(path_open_beneath(rootfd, "a.txt", O_RDONLY), "inside");
	expect_content(path_open_beneath(rootfd, "sub/b.txt", O_RDONLY), "b");
}

Test(path_open, empty_opens_root)
{
	struct stat a, b;
	int fd = path_open_beneath(rootfd, "", O_RDONLY | O_DIRECTORY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &a), 0);
	cr_assert_eq(fstat(rootfd, &b), 0);
	cr_assert_eq(a.st_ino, b.st_ino);
	close(fd);
}

Test(path_open, cloexec_set)
{
	int fd = path_open_beneath(rootfd, "a.txt", O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

Test(path_open, symlink_inside_to_inside)
{
	expect_content(path_open_beneath(rootfd, "in_link", O_RDONLY), "inside");
	expect_content(path_open_beneath(rootfd, "sub/up_link", O_RDONLY), "inside");
	expect_content(path_open_beneath(rootfd, "sub_link/b.txt", O_RDONLY), "b");
}

Test(path_open, symlink_to_outside_refused)
{
	expect_exdev("out_link");
	expect_exdev("sub/out_link");
}

Test(path_open, absolute_symlink_refused)
{
	/* Even one that points back inside: absolute means "leave the root". */
	expect_exdev("abs_link");
	expect_exdev("etc_link/passwd");
}

Test(path_open, dotdot_and_absolute_refused)
{
	expect_exdev("../outside.txt");
	expect_exdev("sub/../../outside.txt");
	expect_exdev("/etc/passwd");
}

Test(path_open, missing_is_enoent)
{
	errno = 0;
	cr_assert_eq(path_open_beneath(rootfd, "nope", O_RDONLY), -1);
	cr_assert_eq(errno, ENOENT);
}
