/* Response heads byte for byte, and response_build over a temporary root. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/file.h"
#include "tests/unit/reply_text.h"
#include "tests/unit/tmpdir.h"
#include "server/response.h"

#define DATE "Mon, 23 Nov 2026 17:54:00 GMT"
#define LM "Sun, 22 Nov 2026 10:00:00 GMT"

static void
head_is(const struct response_head *h, const char *want)
{
	char buf[1024];
	size_t n = response_head(buf, sizeof(buf), h);

	cr_assert_eq(n, strlen(want), "length %zu, want %zu:\n%.*s", n, strlen(want), (int)n, buf);
	cr_assert_eq(memcmp(buf, want, n), 0, "got:\n%.*s", (int)n, buf);
}

Test(response_head, ok_200)
{
	struct response_head h = { .status = 200, .date = DATE,
	    .block = "Content-Type: text/plain; charset=utf-8\r\n", .block_len = 41,
	    .content_length = 6 };

	head_is(&h, "HTTP/1.1 200 OK\r\nDate: " DATE "\r\nServer: preforkd\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 6\r\n\r\n");
}

Test(response_head, not_modified_304)
{
	struct response_head h = { .status = 304, .date = DATE, .lastmod = LM,
	    .etag = "\"abc-6-1\"", .etag_len = 9, .content_length = -1 };

	head_is(&h, "HTTP/1.1 304 Not Modified\r\nDate: " DATE "\r\nServer: preforkd\r\n"
	    "Last-Modified: " LM "\r\nETag: \"abc-6-1\"\r\n\r\n");
}

Test(response_head, partial_206_keepalive)
{
	struct response_head h = { .status = 206, .date = DATE, .ctype = "image/png",
	    .lastmod = LM, .etag = "\"e\"", .etag_len = 3, .accept_ranges = 1,
	    .content_range = "bytes 0-9/100", .content_length = 10,
	    .connection = RESPONSE_CONN_KEEPALIVE };

	head_is(&h, "HTTP/1.1 206 Partial Content\r\nDate: " DATE "\r\nServer: preforkd\r\n"
	    "Content-Type: image/png\r\nLast-Modified: " LM "\r\nETag: \"e\"\r\n"
	    "Accept-Ranges: bytes\r\nContent-Range: bytes 0-9/100\r\nContent-Length: 10\r\n"
	    "Connection: keep-alive\r\n\r\n");
}

Test(response_head, unsatisfiable_416)
{
	struct response_head h = { .status = 416, .date = DATE,
	    .ctype = "text/html; charset=utf-8", .content_range = "bytes */100",
	    .content_length = 0 };

	head_is(&h, "HTTP/1.1 416 Range Not Satisfiable\r\nDate: " DATE "\r\nServer: preforkd\r\n"
	    "Content-Type: text/html; charset=utf-8\r\nContent-Range: bytes */100\r\n"
	    "Content-Length: 0\r\n\r\n");
}

Test(response_head, redirect_301)
{
	struct response_head h = { .status = 301, .date = DATE, .location = "/dir/?a=1",
	    .location_len = 9, .content_length = 0, .connection = RESPONSE_CONN_CLOSE };

	head_is(&h, "HTTP/1.1 301 Moved Permanently\r\nDate: " DATE "\r\nServer: preforkd\r\n"
	    "Location: /dir/?a=1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

Test(response_head, not_found_404_and_405_allow)
{
	struct response_head h = { .status = 404, .date = DATE, .content_length = 3 };

	head_is(&h, "HTTP/1.1 404 Not Found\r\nDate: " DATE "\r\nServer: preforkd\r\n"
	    "Content-Length: 3\r\n\r\n");
	h.status = 405;
	h.allow = "GET, HEAD, OPTIONS";
	head_is(&h, "HTTP/1.1 405 Method Not Allowed\r\nDate: " DATE "\r\nServer: preforkd\r\n"
	    "Allow: GET, HEAD, OPTIONS\r\nContent-Length: 3\r\n\r\n");
}

Test(response_head, reports_size_when_too_small)
{
	struct response_head h = { .status = 200, .date = DATE, .content_length = 1 };
	char buf[16];
	size_t full = response_head(NULL, 0, &h);

	cr_assert_gt(full, sizeof(buf));
	cr_assert_eq(response_head(buf, sizeof(buf), &h), full);
}

Test(response_head, error_pages)
{
	size_t len;
	const char *p = response_error_page(404, &len);

	cr_assert_eq(len, strlen(p));
	cr_assert_not_null(strstr(p, "<h1>404 Not Found</h1>"));
	cr_assert_str_eq(response_reason(431), "Request Header Fields Too Large");
	cr_assert_str_eq(response_reason(299), "Unknown");
}

/* --- response_build over a temporary root ------------------------------- */

static char base[64];
static int rootfd = -1;
static struct file_cache *fc;
static struct worker_params params;
static struct response_ctx ctx;
static struct http_request req;
static struct reply rep;
static char hdrbuf[1024];

static void
put(const char *name, const char *body)
{
	tmpdir_put(rootfd, name, body, 1795341600); /* the LM date in the expected heads */
}

static void
build_setup(void)
{
	strcpy(base, "/tmp/test_response.XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	rootfd = open(base, O_PATH | O_DIRECTORY);
	cr_assert_geq(rootfd, 0);
	cr_assert_eq(mkdirat(rootfd, "dir", 0755), 0);
	cr_assert_eq(mkdirat(rootfd, "idx", 0755), 0);
	put("a.txt", "hello\n");
	put("idx/index.html", "<p>i</p>");
	put(".secret", "s");
	fc = file_cache_new(rootfd, 8);
	memset(&params, 0, sizeof(params));
	strcpy(params.index, "index.html");
	params.autoindex = 1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.params = &params;
	ctx.fc = fc;
	ctx.rootfd = rootfd;
	strcpy(ctx.date, DATE);
	ctx.date_t = 1795456440;
}

static void
build_teardown(void)
{
	file_cache_free(fc);
	close(rootfd);
	tmpdir_remove(base);
}

TestSuite(response_build, .init = build_setup, .fini = build_teardown);

#define S(x) ((struct http_str){ (x), sizeof(x) - 1 })

static void
do_req(enum http_method m, const char *path, const char *query)
{
	memset(&req, 0, sizeof(req));
	req.method = m;
	req.path = (struct http_str){ path, strlen(path) };
	req.query = (struct http_str){ query, query ? strlen(query) : 0 };
	req.version_minor = 1;
	req.keep_alive = 1;
	req.content_length = -1;
}

static void
run(void)
{
	reply_run(&ctx, &req, &rep, hdrbuf, sizeof(hdrbuf));
}


Test(response_build, file_200_exact)
{
	char want[512];

	do_req(HTTP_M_GET, "/a.txt", NULL);
	run();
	snprintf(want, sizeof(want), "HTTP/1.1 200 OK\r\nDate: " DATE "\r\nServer: preforkd\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nLast-Modified: " LM "\r\n"
	    "ETag: %s\r\nAccept-Ranges: bytes\r\nContent-Length: 6\r\n\r\n", rep.fe->etag);
	cr_assert_str_eq(reply_head_text(&rep), want);
	cr_assert_str_eq(reply_body_text(&rep), "hello\n");
	cr_assert_eq(rep.close, 0);
	response_release(&ctx, &rep);
}

Test(response_build, head_has_no_body)
{
	do_req(HTTP_M_HEAD, "/a.txt", NULL);
	run();
	cr_assert_eq(rep.status, 200);
	cr_assert_not_null(strstr(reply_head_text(&rep), "Content-Length: 6\r\n"));
	cr_assert_eq(rep.nseg, 0);
	response_release(&ctx, &rep);
}

Test(response_build, not_modified_and_ranges)
{
	char etag[64], want[512];

	do_req(HTTP_M_GET, "/a.txt", NULL);
	run();
	strcpy(etag, rep.fe->etag);
	response_release(&ctx, &rep);

	req.if_none_match = (struct http_str){ etag, strlen(etag) };
	run();
	snprintf(want, sizeof(want), "HTTP/1.1 304 Not Modified\r\nDate: " DATE "\r\n"
	    "Server: preforkd\r\nLast-Modified: " LM "\r\nETag: %s\r\n\r\n", etag);
	cr_assert_str_eq(reply_head_text(&rep), want);
	cr_assert_eq(rep.nseg, 0);
	response_release(&ctx, &rep);

	req.if_none_match = (struct http_str){ NULL, 0 };
	req.range = S("bytes=1-3");
	run();
	snprintf(want, sizeof(want), "HTTP/1.1 206 Partial Content\r\nDate: " DATE "\r\n"
	    "Server: preforkd\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Last-Modified: " LM "\r\nETag: %s\r\nAccept-Ranges: bytes\r\n"
	    "Content-Range: bytes 1-3/6\r\nContent-Length: 3\r\n\r\n", etag);
	cr_assert_str_eq(reply_head_text(&rep), want);
	cr_assert_str_eq(reply_body_text(&rep), "ell");
	response_release(&ctx, &rep);

	req.range = S("bytes=10-");
	run();
	cr_assert_eq(rep.status, 416);
	cr_assert_not_null(strstr(reply_head_text(&rep), "\r\nContent-Range: bytes */6\r\n"));
	response_release(&ctx, &rep);

	req.range = S("bytes=0-0,4-");
	run();
	cr_assert_eq(rep.status, 206);
	cr_assert_not_null(strstr(reply_head_text(&rep), "Content-Type: multipart/byteranges; boundary="));
	{
		char cl[32];

		snprintf(cl, sizeof(cl), "Content-Length: %llu\r\n", (unsigned long long)rep.body_len);
		cr_assert_not_null(strstr(reply_head_text(&rep), cl), "%s", reply_head_text(&rep));
	}
	cr_assert_not_null(strstr(reply_body_text(&rep), "Content-Range: bytes 0-0/6\r\n\r\nh\r\n--"));
	cr_assert_not_null(strstr(reply_body_text(&rep), "Content-Range: bytes 4-5/6\r\n\r\no\n\r\n--"));
	response_release(&ctx, &rep);
}

Test(response_build, directory_redirect_keeps_query)
{
	do_req(HTTP_M_GET, "/dir", "x=1&y");
	run();
	cr_assert_eq(rep.status, 301);
	cr_assert_not_null(strstr(reply_head_text(&rep), "\r\nLocation: /dir/?x=1&y\r\n"));
	response_release(&ctx, &rep);
}

/* Error pages, a redirect and a 416 carry the status's HTML page: the
 * head's Content-Length is that page's length. */
Test(response_build, page_replies_announce_their_page_length)
{
	static const struct { enum http_method m; const char *path, *range; int status; } cases[] = {
		{ HTTP_M_GET, "/missing", NULL, 404 },
		{ HTTP_M_GET, "/dir", NULL, 301 },
		{ HTTP_M_GET, "/a.txt", "bytes=10-", 416 },
		{ HTTP_M_DELETE, "/a.txt", NULL, 405 },
	};
	char cl[48];
	const char *page;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		do_req(cases[i].m, cases[i].path, NULL);
		if (cases[i].range != NULL)
			req.range = (struct http_str){ cases[i].range, strlen(cases[i].range) };
		run();
		cr_assert_eq(rep.status, cases[i].status);
		page = response_error_page(cases[i].status, &len);
		snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", len);
		cr_assert_not_null(strstr(reply_head_text(&rep), cl), "%s", reply_head_text(&rep));
		cr_assert_str_eq(reply_body_text(&rep), page);
		response_release(&ctx, &rep);
	}
}

Test(response_build, index_listing_and_403)
{
	do_req(HTTP_M_GET, "/idx/", NULL);
	run();
	cr_assert_eq(rep.status, 200);
	cr_assert_str_eq(reply_body_text(&rep), "<p>i</p>");
	response_release(&ctx, &rep);
	do_req(HTTP_M_GET, "/dir/", NULL);
	run();
	cr_assert_eq(rep.status, 200);
	cr_assert_not_null(strstr(reply_body_text(&rep), "Index of /dir/"));
	response_release(&ctx, &rep);
	params.autoindex = 0;
	run();
	cr_assert_eq(rep.status, 403);
	response_release(&ctx, &rep);
	do_req(HTTP_M_GET, "/missing/", NULL);
	run();
	cr_assert_eq(rep.status, 404);
	response_release(&ctx, &rep);
}

Test(response_build, errors_and_methods)
{
	static const struct { enum http_method m; const char *path; int status, close; } t[] = {
		{ HTTP_M_GET, "/nope", 404, 0 },
		{ HTTP_M_GET, "/.secret", 404, 0 },
		{ HTTP_M_GET, "/a.txt/", 404, 0 },
		{ HTTP_M_GET, "/%zz", 400, 1 },
		{ HTTP_M_GET, "/../a.txt", 400, 1 },
		{ HTTP_M_OPTIONS, "/a.txt", 204, 0 },
		{ HTTP_M_POST, "/a.txt", 405, 0 },
		{ HTTP_M_DELETE, "/a.txt", 405, 0 },
		{ HTTP_M_UNKNOWN, "/a.txt", 501, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		do_req(t[i].m, t[i].path, NULL);
		run();
		cr_assert_eq(rep.status, t[i].status, "%s: %d", t[i].path, rep.status);
		cr_assert_eq(rep.close, t[i].close, "%s", t[i].path);
		response_release(&ctx, &rep);
	}
	do_req(HTTP_M_OPTIONS, "/", NULL);
	run();
	cr_assert_str_eq(reply_head_text(&rep), "HTTP/1.1 204 No Content\r\nDate: " DATE "\r\n"
	    "Server: preforkd\r\nAllow: GET, HEAD, OPTIONS\r\n\r\n");
	response_release(&ctx, &rep);
	do_req(HTTP_M_POST, "/a.txt", NULL);
	req.content_length = 3;
	run();
	cr_assert_eq(rep.close, 1, "an unread body closes");
	cr_assert_not_null(strstr(reply_head_text(&rep), "Connection: close\r\n"));
	response_release(&ctx, &rep);
}

Test(response_build, http10_keepalive_header)
{
	do_req(HTTP_M_GET, "/a.txt", NULL);
	req.version_minor = 0;
	run();
	cr_assert_not_null(strstr(reply_head_text(&rep), "\r\nConnection: keep-alive\r\n"));
	response_release(&ctx, &rep);
}

/* --- access log lines (Combined Log Format) ------------------------------ */

#include <arpa/inet.h>

#include "server/accesslog.h"

Test(accesslog, combined_line_with_escapes)
{
	struct accesslog al;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char line[4 * ACCESSLOG_FIELD_MAX + 256];
	const char *rq = "GET /a\"b HTTP/1.1", *ua = "agent\\\x01";
	struct accesslog_entry e = { .peer = (struct sockaddr *)&sin, .t = 1795456440,
	    .request = rq, .request_len = strlen(rq), .status = 404, .bytes = 123,
	    .user_agent = ua, .user_agent_len = strlen(ua) };
	size_t n;

	setenv("TZ", "UTC", 1);
	tzset();
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	cr_assert_eq(accesslog_open(&al, "off"), 0);
	cr_assert_eq(accesslog_enabled(&al), 0);
	n = accesslog_format(&al, &e, line);
	line[n] = '\0';
	cr_assert_str_eq(line, "192.0.2.7 - - [23/Nov/2026:17:54:00 +0000] "
	    "\"GET /a\\x22b HTTP/1.1\" 404 123 \"-\" \"agent\\x5C\\x01\"\n");
	accesslog_close(&al);
}

Test(accesslog, buffered_until_flush)
{
	char path[] = "/tmp/test_accesslog.XXXXXX";
	struct accesslog al;
	struct accesslog_entry e = { .t = 1795456440, .status = 200 };
	struct stat st;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(accesslog_open(&al, path), 0);
	cr_assert_eq(accesslog_append(&al, &e), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 0, "nothing written before a flush");
	cr_assert_eq(accesslog_flush(&al), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_gt(st.st_size, 0);
	cr_assert_eq(accesslog_close(&al), 0);
	unlink(path);
}

Test(accesslog, write_failure_is_reported_and_dropped)
{
	struct accesslog al;
	struct accesslog_entry e = { .t = 1795456440, .status = 200 };

	cr_assert_eq(accesslog_open(&al, "/dev/full"), 0);
	cr_assert_eq(accesslog_append(&al, &e), 0);
	cr_assert_eq(accesslog_flush(&al), -1);
	cr_assert_eq(al.len, 0);
	cr_assert_eq(accesslog_close(&al), 0);
}

Test(response_build, multipart_with_twenty_digit_offsets)
{
	const off_t size = (off_t)9000000000000LL;
	int fd = openat(rootfd, "huge.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0);
	if (ftruncate(fd, size) == -1) {
		close(fd);
		cr_skip_test("no sparse file of 9 TB here");
	}
	close(fd);
	do_req(HTTP_M_GET, "/huge.bin", NULL);
	req.range = S("bytes=0-1,8999999999990-8999999999991,8999999999995-");
	run();
	cr_assert_eq(rep.status, 206);
	cr_assert_eq(rep.nseg, 7, "three parts, each a head and data, and the end");
	cr_assert_not_null(strstr(rep.seg[4].p,
	    "Content-Range: bytes 8999999999995-8999999999999/9000000000000\r\n\r\n"));
	{
		char cl[48];

		snprintf(cl, sizeof(cl), "Content-Length: %llu\r\n", (unsigned long long)rep.body_len);
		cr_assert_not_null(strstr(reply_head_text(&rep), cl));
	}
	response_release(&ctx, &rep);
}
