/* cache_control and add_header values (preforkd.conf(5)). */
#include <criterion/criterion.h>
#include <string.h>

#include "server/site.h"

static struct site_opts s;
static char msg[256];

static void
setup(void)
{
	site_defaults(&s);
	msg[0] = '\0';
}

TestSuite(site, .init = setup);

Test(site, defaults)
{
	cr_assert(s.precompressed);
	cr_assert_eq(s.autoindex_format, SITE_LIST_HTML);
	cr_assert_eq(s.ncache, 0);
	cr_assert_eq(s.extra_len, 0);
}

Test(site, cache_control_first_match_wins)
{
	size_t n = 0;
	const char *v;

	cr_assert_eq(site_add_cache_control(&s, "/assets/*  public, max-age=31536000, immutable ",
	    msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(site_add_cache_control(&s, "*.html\tno-cache", msg, sizeof(msg)), 0);
	v = site_cache_control(&s, "/assets/a.html", 14, &n);
	cr_assert_str_eq(v, "public, max-age=31536000, immutable");
	cr_assert_eq(n, strlen(v));
	v = site_cache_control(&s, "/docs/x.html", 12, &n);
	cr_assert_str_eq(v, "no-cache");
	cr_assert_null(site_cache_control(&s, "/x.css", 6, &n));
}

Test(site, cache_control_refused)
{
	cr_assert_eq(site_add_cache_control(&s, "*.html", msg, sizeof(msg)), -1);
	cr_assert(strstr(msg, "GLOB VALUE") != NULL, "%s", msg);
	cr_assert_eq(site_add_cache_control(&s, "", msg, sizeof(msg)), -1);
	cr_assert_eq(site_add_cache_control(&s, "/[a no-cache", msg, sizeof(msg)), -1);
	cr_assert(strstr(msg, "pattern") != NULL, "%s", msg);
	cr_assert_eq(site_add_cache_control(&s, "* no\rcache", msg, sizeof(msg)), -1);
	cr_assert_eq(s.ncache, 0);
	for (int i = 0; i < SITE_CACHE_RULES; i++)
		cr_assert_eq(site_add_cache_control(&s, "* x", msg, sizeof(msg)), 0);
	cr_assert_eq(site_add_cache_control(&s, "* x", msg, sizeof(msg)), -1);
}

Test(site, add_header_builds_block)
{
	cr_assert_eq(site_add_header(&s, "X-Frame-Options: DENY", msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(site_add_header(&s, "Strict-Transport-Security:max-age=63072000  ",
	    msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(site_add_header(&s, "Vary: Origin", msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(s.extra_len, strlen("X-Frame-Options: DENY\r\n"
	    "Strict-Transport-Security: max-age=63072000\r\nVary: Origin\r\n"));
	cr_assert_eq(memcmp(s.extra, "X-Frame-Options: DENY\r\n"
	    "Strict-Transport-Security: max-age=63072000\r\nVary: Origin\r\n", s.extra_len), 0);
}

Test(site, add_header_refused)
{
	static const char *bad[] = {
		"Content-Length: 5", "content-length: 5", "Transfer-Encoding: chunked",
		"Connection: close", "Date: x", "Server: other", "Content-Type: text/plain",
		"Content-Range: bytes 0-1/2", "ETag: \"x\"", "Cache-Control: no-cache",
		"X-A: a\rb", "X-A: a\nb", "X-A: a\x01", "X A: b", ": v", "X-A", "X-A:",
		"X-A:   ", "X(A): b", "\xc3\xa9: x",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(site_add_header(&s, bad[i], msg, sizeof(msg)), -1, "%s", bad[i]);
	cr_assert_eq(s.extra_len, 0);
	cr_assert_eq(site_add_header(&s, "Cache-Control: x", msg, sizeof(msg)), -1);
	cr_assert(strstr(msg, "cache_control") != NULL, "%s", msg);
}
