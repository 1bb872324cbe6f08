/*
 * Table-driven tests for server/http_parse.c. Every case runs twice: the
 * whole input at once, and fed byte by byte with growing len and the same
 * last_len; both must give the same answer. Inputs always end exactly at a
 * PROT_NONE guard page, so any read past len faults.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server/http_parse.h"

#define REGION (64 * 1024)
#define ALL 1000000 /* expect_rc: the length of input (without tail) */
#define NO 1
#define YES 2
#define M(m) ((m) + 1)
#define NH(n) ((n) + 1)
#define BIN(lit) .input = (lit), .len = sizeof(lit) - 1 /* may hold NUL */

struct pcase {
	const char *name;
	const char *input;
	size_t len;          /* 0: strlen(input) */
	const char *tail;    /* bytes after the head (body, next request) */
	int expect_rc;       /* ALL, 0 (need more) or -1 */
	int expect_status;   /* when -1 */
	size_t max_head;     /* 0: 8192 */
	/* Checked when set (strings, or ints that are non-zero). */
	int mid;             /* M(HTTP_M_*) */
	const char *method, *path, *query, *host, *cl;
	int minor;           /* minor version + 1 */
	int keep_alive, chunked, expect_continue; /* YES / NO */
	int nheaders;        /* NH(n) */
	const char *hname, *hvalue; /* http_find_header(hname) has hvalue */
	const char *inm, *ims, *range, *if_range, *ua, *referer;
};

static char *guard_end;

/* Places data so that its last byte sits just before a PROT_NONE page. */
static char *
guard_put(const char *data, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *base;

	if (guard_end == NULL) {
		base = mmap(NULL, REGION + pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		cr_assert(base != MAP_FAILED);
		cr_assert(mprotect(base + REGION, pg, PROT_NONE) == 0);
		guard_end = base + REGION;
	}
	cr_assert(len <= REGION);
	memcpy(guard_end - len, data, len);
	return guard_end - len;
}

static void
check_str(const struct pcase *c, const char *how, const char *field,
    struct http_str s, const char *want)
{
	if (want == NULL)
		return;
	cr_expect(s.len == strlen(want) && (s.len == 0 || memcmp(s.p, want, s.len) == 0),
	    "%s (%s): %s is \"%.*s\", want \"%s\"", c->name, how, field,
	    (int)s.len, s.p ? s.p : "", want);
}

static void
check_int(const struct pcase *c, const char *how, const char *field,
    long long got, int want_plus1)
{
	if (want_plus1 == 0)
		return;
	cr_expect_eq(got, want_plus1 - 1, "%s (%s): %s is %lld, want %d",
	    c->name, how, field, got, want_plus1 - 1);
}

static void
check_fields(const struct pcase *c, const char *how, const struct http_request *r)
{
	const struct http_header *h;
	char cl[32];

	check_int(c, how, "method", r->method, c->mid);
	check_str(c, how, "method_str", r->method_str, c->method);
	check_str(c, how, "path", r->path, c->path);
	check_str(c, how, "query", r->query, c->query);
	check_str(c, how, "host", r->host, c->host);
	check_int(c, how, "minor", r->version_minor, c->minor);
	check_int(c, how, "keep_alive", r->keep_alive, c->keep_alive);
	check_int(c, how, "chunked", r->chunked, c->chunked);
	check_int(c, how, "expect_continue", r->expect_continue, c->expect_continue);
	check_int(c, how, "nheaders", r->nheaders, c->nheaders);
	if (c->cl != NULL) {
		snprintf(cl, sizeof(cl), "%lld", (long long)r->content_length);
		cr_expect_str_eq(cl, c->cl, "%s (%s): content_length %s, want %s",
		    c->name, how, cl, c->cl);
	}
	if (c->hname != NULL) {
		h = http_find_header(r, c->hname);
		cr_expect(h != NULL, "%s (%s): no header %s", c->name, how, c->hname);
		if (h != NULL)
			check_str(c, how, c->hname, h->value, c->hvalue);
	}
	check_str(c, how, "if_none_match", r->if_none_match, c->inm);
	check_str(c, how, "if_modified_since", r->if_modified_since, c->ims);
	check_str(c, how, "range", r->range, c->range);
	check_str(c, how, "if_range", r->if_range, c->if_range);
	check_str(c, how, "user_agent", r->user_agent, c->ua);
	check_str(c, how, "referer", r->referer, c->referer);
}

static void
check_result(const struct pcase *c, const char *how, int rc, int status,
    const struct http_request *r, size_t head_len)
{
	int want = c->expect_rc == ALL ? (int)head_len : c->expect_rc;

	cr_expect_eq(rc, want, "%s (%s): rc %d, want %d (status %d)",
	    c->name, how, rc, want, status);
	if (rc != want)
		return;
	if (rc == -1)
		cr_expect_eq(status, c->expect_status, "%s (%s): status %d, want %d",
		    c->name, how, status, c->expect_status);
	else if (rc > 0)
		check_fields(c, how, r);
}

static void
pcase_run(const struct pcase *c)
{
	static char in[REGION];
	size_t head = c->len ? c->len : strlen(c->input);
	size_t tail = c->tail ? strlen(c->tail) : 0, len = head + tail, n, last;
	size_t max = c->max_head ? c->max_head : 8192;
	struct http_request req;
	int rc, status;
	char *buf;

	cr_assert(len <= sizeof(in));
	memcpy(in, c->input, head);
	if (tail)
		memcpy(in + head, c->tail, tail);

	buf = guard_put(in, len);
	last = 0;
	status = 0;
	rc = http_parse_request(buf, len, max, &last, &req, &status);
	check_result(c, "whole", rc, status, &req, head);

	last = 0;
	rc = 0;
	for (n = 1; n <= len && rc == 0; n++) {
		buf = guard_put(in, n);
		status = 0;
		rc = http_parse_request(buf, n, max, &last, &req, &status);
		if (rc == 0)
			cr_expect_eq(last, n, "%s: last_len %zu after %zu bytes",
			    c->name, last, n);
	}
	check_result(c, "bytewise", rc, status, &req, head);
}

static void
table_run(const struct pcase *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		pcase_run(&cases[i]);
}

#define TABLE_RUN(t) table_run((t), sizeof(t) / sizeof((t)[0]))

#define H11 "GET / HTTP/1.1\r\nHost: a\r\n"
#define X1 "X: 1\r\n"
#define X4 X1 X1 X1 X1
#define X16 X4 X4 X4 X4
#define X15 X4 X4 X4 X1 X1 X1
#define HOST_PLUS_63 "Host: a\r\n" X16 X16 X16 X15

static const struct pcase valid_cases[] = {
	{ "simple GET 1.1", H11 "\r\n", .expect_rc = ALL, .mid = M(HTTP_M_GET),
	  .method = "GET", .path = "/", .query = "", .host = "a", .cl = "-1",
	  .minor = 2, .keep_alive = YES, .chunked = NO, .nheaders = NH(1),
	  .expect_continue = NO },
	{ "path and query", "GET /p/a.txt?x=1&y=2 HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = ALL, .path = "/p/a.txt", .query = "x=1&y=2" },
	{ "empty query", "GET /p? HTTP/1.1\r\nHost: h\r\n\r\n", .expect_rc = ALL,
	  .path = "/p", .query = "" },
	{ "second ? stays in query", "GET /p?a?b HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = ALL, .path = "/p", .query = "a?b" },
	{ "percent-encoding kept raw", "GET /a%20b%2F HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = ALL, .path = "/a%20b%2F" },
	{ "visible ascii in target", "GET /a\"<>\\^`{|}b HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = ALL, .path = "/a\"<>\\^`{|}b" },
	{ "HTTP/1.0 without Host", "GET /x HTTP/1.0\r\n\r\n", .expect_rc = ALL,
	  .minor = 1, .keep_alive = NO, .host = "", .nheaders = NH(0) },
	{ "HTTP/1.0 with Host", "GET /x HTTP/1.0\r\nHost: h\r\n\r\n",
	  .expect_rc = ALL, .minor = 1, .host = "h", .keep_alive = NO },
	{ "1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	  .expect_rc = ALL, .keep_alive = YES },
	{ "1.0 Keep-Alive mixed case", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	  .expect_rc = ALL, .keep_alive = YES },
	{ "1.0 keep-alive then close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
	  .expect_rc = ALL, .keep_alive = NO },
	{ "1.1 close", H11 "Connection: close\r\n\r\n", .expect_rc = ALL,
	  .keep_alive = NO },
	{ "1.1 CLOSE in a list", H11 "Connection: upgrade ,CLOSE\r\n\r\n",
	  .expect_rc = ALL, .keep_alive = NO },
	{ "1.1 close in second field", H11 "Connection: te\r\nConnection: close\r\n\r\n",
	  .expect_rc = ALL, .keep_alive = NO },
	{ "1.1 unknown connection token", H11 "Connection: foo, ,\r\n\r\n",
	  .expect_rc = ALL, .keep_alive = YES },
	{ "1.1 closed is not close", H11 "Connection: closed\r\n\r\n",
	  .expect_rc = ALL, .keep_alive = YES },
	{ "HEAD", "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = ALL,
	  .mid = M(HTTP_M_HEAD), .method = "HEAD" },
	{ "PUT", "PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	  .expect_rc = ALL, .mid = M(HTTP_M_PUT), .cl = "0" },
	{ "DELETE", "DELETE /f HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = ALL,
	  .mid = M(HTTP_M_DELETE) },
	{ "PATCH", "PATCH /f HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = ALL,
	  .mid = M(HTTP_M_PATCH) },
	{ "TRACE", "TRACE /f HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = ALL,
	  .mid = M(HTTP_M_TRACE) },
	{ "unknown method token", "FOO / HTTP/1.1\r\nHost: a\r\n\r\n",
	  .expect_rc = ALL, .mid = M(HTTP_M_UNKNOWN), .method = "FOO" },
	{ "lowercase get is unknown", "get / HTTP/1.1\r\nHost: a\r\n\r\n",
	  .expect_rc = ALL, .mid = M(HTTP_M_UNKNOWN), .method = "get" },
	{ "method with tchars", "M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n",
	  .expect_rc = ALL, .mid = M(HTTP_M_UNKNOWN), .method = "M-SEARCH" },
	{ "POST with body after head", "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
	  .tail = "hello", .expect_rc = ALL, .mid = M(HTTP_M_POST), .cl = "5",
	  .chunked = NO },
	{ "Content-Length list 5, 5", H11 "Content-Length: 5, 5\r\n\r\n",
	  .expect_rc = ALL, .cl = "5" },
	{ "Content-Length repeated", H11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
	  .expect_rc = ALL, .cl = "5", .nheaders = NH(3) },
	{ "Content-Length leading zeros", H11 "Content-Length: 007\r\n\r\n",
	  .expect_rc = ALL, .cl = "7" },
	{ "Content-Length INT64_MAX", H11 "Content-Length: 9223372036854775807\r\n\r\n",
	  .expect_rc = ALL, .cl = "9223372036854775807" },
	{ "Content-Length OWS trimmed", H11 "content-length: \t 12 \t\r\n\r\n",
	  .expect_rc = ALL, .cl = "12" },
	{ "chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	  .tail = "0\r\n\r\n", .expect_rc = ALL, .chunked = YES, .cl = "-1" },
	{ "Chunked uppercase", H11 "Transfer-Encoding: CHUNKED\r\n\r\n",
	  .expect_rc = ALL, .chunked = YES },
	{ "chunked with empty list elements", H11 "Transfer-Encoding: , chunked,\r\n\r\n",
	  .expect_rc = ALL, .chunked = YES },
	{ "OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = ALL,
	  .mid = M(HTTP_M_OPTIONS), .path = "*", .query = "" },
	{ "absolute-form overrides Host", "GET http://example.com/x?y HTTP/1.1\r\nHost: other\r\n\r\n",
	  .expect_rc = ALL, .host = "example.com", .path = "/x", .query = "y",
	  .hname = "host", .hvalue = "other" },
	{ "absolute-form HTTPS, port, no path", "GET HTTPS://h:8443 HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = ALL, .host = "h:8443", .path = "/", .query = "" },
	{ "absolute-form query without path", "GET http://h?q=1 HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = ALL, .host = "h", .path = "/", .query = "q=1" },
	{ "absolute-form in 1.0 without Host", "GET http://h/a HTTP/1.0\r\n\r\n",
	  .expect_rc = ALL, .host = "h", .path = "/a" },
	{ "CONNECT authority-form", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
	  .expect_rc = ALL, .mid = M(HTTP_M_CONNECT), .host = "h:443", .path = "" },
	{ "one leading CRLF", "\r\n" H11 "\r\n", .expect_rc = ALL, .path = "/" },
	{ "four leading CRLFs", "\r\n\r\n\r\n\r\n" H11 "\r\n", .expect_rc = ALL,
	  .host = "a" },
	{ "leading bare LFs", "\n\n" H11 "\r\n", .expect_rc = ALL, .host = "a" },
	{ "bare LF line endings", "GET /l HTTP/1.1\nHost: a\nX-Y: z\n\n",
	  .expect_rc = ALL, .path = "/l", .nheaders = NH(2), .hname = "x-y", .hvalue = "z" },
	{ "mixed LF and CRLF", "GET / HTTP/1.1\nHost: a\r\nX: y\n\r\n",
	  .expect_rc = ALL, .nheaders = NH(2), .hname = "X", .hvalue = "y" },
	{ "OWS trimmed, inner kept", H11 "X-A: \t v a l \t \r\n\r\n", .expect_rc = ALL,
	  .hname = "x-a", .hvalue = "v a l" },
	{ "empty value", H11 "X-E:\r\n\r\n", .expect_rc = ALL, .hname = "X-E", .hvalue = "" },
	{ "whitespace-only value", H11 "X-E:  \t \r\n\r\n", .expect_rc = ALL,
	  .hname = "X-E", .hvalue = "" },
	{ "obs-text in value", H11 "X-U: caf\xc3\xa9\r\n\r\n", .expect_rc = ALL,
	  .hname = "x-u", .hvalue = "caf\xc3\xa9" },
	{ "HTAB inside value", H11 "X-T: a\tb\r\n\r\n", .expect_rc = ALL,
	  .hname = "x-t", .hvalue = "a\tb" },
	{ "colon in value", H11 "X-C: a:b: c\r\n\r\n", .expect_rc = ALL,
	  .hname = "x-c", .hvalue = "a:b: c" },
	{ "Expect 100-continue", H11 "Expect: 100-continue\r\n\r\n", .expect_rc = ALL,
	  .expect_continue = YES },
	{ "Expect case-insensitive", H11 "expect: 100-Continue\r\n\r\n", .expect_rc = ALL,
	  .expect_continue = YES },
	{ "Expect other", H11 "Expect: foo\r\n\r\n", .expect_rc = ALL,
	  .expect_continue = NO },
	{ "Expect ignored in 1.0", "POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
	  .expect_rc = ALL, .expect_continue = NO },
	{ "conditional and log fields",
	  H11 "If-None-Match: \"a\", W/\"b\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	  "Range: bytes=0-1, 5-\r\nIf-Range: \"a\"\r\nUser-Agent: curl/8.0 (x)\r\n"
	  "Referer: http://r/x?y\r\n\r\n", .expect_rc = ALL, .nheaders = NH(7),
	  .inm = "\"a\", W/\"b\"", .ims = "Sun, 06 Nov 1994 08:49:37 GMT",
	  .range = "bytes=0-1, 5-", .if_range = "\"a\"", .ua = "curl/8.0 (x)",
	  .referer = "http://r/x?y" },
	{ "absent fields are empty", H11 "\r\n", .expect_rc = ALL, .inm = "",
	  .ims = "", .range = "", .if_range = "", .ua = "", .referer = "" },
	{ "field names case-insensitive", "GET / HTTP/1.1\r\nHOST: a\r\nrAnGe: bytes=1-\r\n\r\n",
	  .expect_rc = ALL, .host = "a", .range = "bytes=1-" },
	{ "Host with port", "GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n",
	  .expect_rc = ALL, .host = "a.example:8080" },
	{ "Host IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
	  .expect_rc = ALL, .host = "[::1]:8080" },
	{ "empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", .expect_rc = ALL, .host = "" },
	{ "exactly 64 fields", "GET / HTTP/1.1\r\n" HOST_PLUS_63 "\r\n", .expect_rc = ALL,
	  .nheaders = NH(64) },
	{ "pipelined: first head only", H11 "\r\n", .tail = "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
	  .expect_rc = ALL, .path = "/" },
	{ "head exactly max_head", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", .max_head = 27,
	  .expect_rc = ALL },
	{ "max_head counts leading CRLF", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	  .max_head = 29, .expect_rc = ALL },
};

static const struct pcase incomplete_cases[] = {
	{ "method only", "GET", .expect_rc = 0 },
	{ "request line unfinished", "GET /index.html HTTP/1.", .expect_rc = 0 },
	{ "no blank line", H11, .expect_rc = 0 },
	{ "blank line half there", H11 "\r", .expect_rc = 0 },
	{ "LF-terminated, no blank line", "GET / HTTP/1.1\nHost: a\n", .expect_rc = 0 },
	{ "only an empty line", "\r\n", .expect_rc = 0 },
	{ "only a CR", "\r", .expect_rc = 0 },
	{ "CR CR LF is not a blank line", H11 "\r\r\n", .expect_rc = 0 },
};

static const struct pcase request_line_cases[] = {
	{ "NUL first", BIN("\0GET / HTTP/1.1\r\nHost: a\r\n\r\n"), .expect_rc = -1,
	  .expect_status = 400 },
	{ "NUL in method", BIN("GE\0T / HTTP/1.1\r\nHost: a\r\n\r\n"),
	  .expect_rc = -1, .expect_status = 400 },
	{ "NUL in target", BIN("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"),
	  .expect_rc = -1, .expect_status = 400 },
	{ "TLS handshake on plain port", "\x16\x03\x01\x02", .expect_rc = -1,
	  .expect_status = 400 },
	{ "leading bare CR", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "five leading CRLFs", "\r\n\r\n\r\n\r\n\r\n" H11 "\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "bare CR ends request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "bare CR in target", "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "bad char in method", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "high byte in method", "G\xc9T / HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "two spaces after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "two spaces before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "tab as separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "HTTP/0.9 style, no version", "GET /\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "empty target", "GET  HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "lowercase http", "GET / http/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "version HTTP/1", "GET / HTTP/1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "version HTTP/1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "version HTTP/11.1", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "version HTTP/a.b", "GET / HTTP/a.b\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "version HTTP/1.1x", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "version HTTP/2.0x", "GET / HTTP/2.0x\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "version HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 505 },
	{ "version HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 505 },
	{ "version HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", .expect_rc = -1,
	  .expect_status = 505 },
	{ "version HTTP/3.0 LF", "GET / HTTP/3.0\n\n", .expect_rc = -1,
	  .expect_status = 505 },
	{ "target without slash", "GET a HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "asterisk with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "asterisk plus more", "OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "fragment in target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "high bytes in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "CTL in target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "absolute-form ftp", "GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "absolute-form empty host", "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "absolute-form bare scheme", "GET http:// HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "absolute-form userinfo", "GET http://u:p@h/x HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "absolute-form one slash", "GET http:/x HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "absolute-form fragment", "GET http://h/#x HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "authority-form without CONNECT", "GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "CONNECT with bad authority", "CONNECT a@b:1 HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
};

static const struct pcase field_cases[] = {
	{ "NUL in value", BIN(H11 "X: a\0b\r\n\r\n"), .expect_rc = -1,
	  .expect_status = 400 },
	{ "NUL in name", BIN(H11 "X\0: b\r\n\r\n"), .expect_rc = -1,
	  .expect_status = 400 },
	{ "bare CR in value", H11 "X: a\rb\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "bare CR ends field", H11 "X: a\rY: b\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "CR CR LF before blank line", H11 "\r\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "CTL in value", H11 "X: a\x01" "b\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "VT in value", H11 "X: a\x0b\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "DEL in value", H11 "X: a\x7f\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "obs-fold with SP", H11 "X: a\r\n b\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "obs-fold with HTAB", H11 "X: a\r\n\tb\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "empty name", H11 ": a\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "no colon", H11 "Xa\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "paren in name", H11 "X(a): b\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "quote in name", H11 "X\"a: b\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "slash in name", H11 "X/a: b\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "high byte in name", H11 "X\xc3\xa9: b\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "1.1 without Host", "GET / HTTP/1.1\r\nX: a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "1.1 absolute-form without Host", "GET http://h/ HTTP/1.1\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "two Hosts", H11 "Host: b\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "two equal Hosts", H11 "host: a\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "two Hosts in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "Host with backslash", "GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "Host with high byte", "GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
};

static const struct pcase framing_cases[] = {
	{ "CL +5", H11 "Content-Length: +5\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "CL -1", H11 "Content-Length: -1\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "CL 5 5", H11 "Content-Length: 5 5\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "CL 0x5", H11 "Content-Length: 0x5\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "CL 1e3", H11 "Content-Length: 1e3\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "CL 5.0", H11 "Content-Length: 5.0\r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "CL empty", H11 "Content-Length: \r\n\r\n", .expect_rc = -1, .expect_status = 400 },
	{ "CL trailing comma", H11 "Content-Length: 5,\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "CL leading comma", H11 "Content-Length: ,5\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "CL list 5, 6", H11 "Content-Length: 5, 6\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "CL two fields differ", H11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "CL 5 then list 5, 6", H11 "Content-Length: 5\r\nContent-Length: 5, 6\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "CL overflow", H11 "Content-Length: 9223372036854775808\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "CL huge", H11 "Content-Length: 99999999999999999999999999\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "CL semicolon", H11 "Content-Length: 5;\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "CL then TE", H11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE then CL", H11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE gzip with CL", H11 "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE gzip", H11 "Transfer-Encoding: gzip\r\n\r\n", .expect_rc = -1,
	  .expect_status = 501 },
	{ "TE identity", H11 "Transfer-Encoding: identity\r\n\r\n", .expect_rc = -1,
	  .expect_status = 501 },
	{ "TE xchunked", H11 "Transfer-Encoding: xchunked\r\n\r\n", .expect_rc = -1,
	  .expect_status = 501 },
	{ "TE chunkedx", H11 "Transfer-Encoding: chunkedx\r\n\r\n", .expect_rc = -1,
	  .expect_status = 501 },
	{ "TE gzip, chunked", H11 "Transfer-Encoding: gzip, chunked\r\n\r\n",
	  .expect_rc = -1, .expect_status = 501 },
	{ "TE gzip then chunked field", H11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	  .expect_rc = -1, .expect_status = 501 },
	{ "TE chunked, gzip", H11 "Transfer-Encoding: chunked, gzip\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE chunked then gzip field", H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE chunked, chunked", H11 "Transfer-Encoding: chunked, chunked\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE chunked in two fields", H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE chunked with parameter", H11 "Transfer-Encoding: chunked;q=1\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE quoted chunked", H11 "Transfer-Encoding: \"chunked\"\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE chunked space junk", H11 "Transfer-Encoding: chunked x\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE empty", H11 "Transfer-Encoding:\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "TE only commas", H11 "Transfer-Encoding: , ,\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "TE with VT", H11 "Transfer-Encoding: chunked\x0b\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "folded TE line", H11 " Transfer-Encoding: chunked\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
	{ "TE space before colon", H11 "Transfer-Encoding : chunked\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "TE continued by obs-fold", H11 "Transfer-Encoding:\r\n chunked\r\n\r\n",
	  .expect_rc = -1, .expect_status = 400 },
	{ "CL obs-fold", H11 "Content-Length: 5\r\n 6\r\n\r\n", .expect_rc = -1,
	  .expect_status = 400 },
};

static const struct pcase limit_cases[] = {
	{ "65 fields", "GET / HTTP/1.1\r\n" HOST_PLUS_63 X1 "\r\n", .expect_rc = -1,
	  .expect_status = 431 },
	{ "request line over max_head", "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  .max_head = 32, .expect_rc = -1, .expect_status = 414 },
	{ "complete head, long request line", "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n",
	  .max_head = 32, .expect_rc = -1, .expect_status = 414 },
	{ "fields over max_head", "GET / HTTP/1.1\r\nHost: a\r\nX: aaaaaaaaaaaaaaaaaaaaaaa",
	  .max_head = 40, .expect_rc = -1, .expect_status = 431 },
	{ "complete head one byte too long", "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	  .max_head = 26, .expect_rc = -1, .expect_status = 431 },
	{ "request line ends at max_head", "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	  .max_head = 16, .expect_rc = -1, .expect_status = 431 },
	{ "request line one short of max_head", "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	  .max_head = 15, .expect_rc = -1, .expect_status = 414 },
	{ "empty lines up to max_head", "\r\n\r\n\r\n", .max_head = 4, .expect_rc = -1,
	  .expect_status = 414 },
};

Test(http_parse, valid) { TABLE_RUN(valid_cases); }
Test(http_parse, incomplete) { TABLE_RUN(incomplete_cases); }
Test(http_parse, request_line) { TABLE_RUN(request_line_cases); }
Test(http_parse, fields) { TABLE_RUN(field_cases); }
Test(http_parse, framing) { TABLE_RUN(framing_cases); }
Test(http_parse, limits) { TABLE_RUN(limit_cases); }

/* Limits at the real size: an 8 KiB request line, 8 KiB of fields. */
Test(http_parse, limits_8k)
{
	static char line[9000], fields[9000], exact[9000];
	struct pcase c = { .expect_rc = -1, .max_head = 8192 };
	size_t n;

	memset(line, 0, sizeof(line));
	memcpy(line, "GET /", 5);
	memset(line + 5, 'a', 8200 - 5);
	c.name = "8 KiB request line";
	c.input = line;
	c.expect_status = 414;
	pcase_run(&c);

	memset(fields, 0, sizeof(fields));
	n = (size_t)snprintf(fields, sizeof(fields), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(fields + n, 'b', 8300 - n);
	c.name = "8 KiB of fields";
	c.input = fields;
	c.expect_status = 431;
	pcase_run(&c);

	memset(exact, 0, sizeof(exact));
	n = (size_t)snprintf(exact, sizeof(exact), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(exact + n, 'c', 8192 - 4 - n);
	memcpy(exact + 8192 - 4, "\r\n\r\n", 4);
	c.name = "head of exactly 8 KiB";
	c.input = exact;
	c.expect_rc = ALL;
	c.nheaders = NH(2);
	pcase_run(&c);
}

/* A client that sends one byte per call is never rescanned from the start:
 * last_len grows with len, and the result is the same as all at once. */
Test(http_parse, last_len_resume)
{
	const char *req = "GET /r HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n";
	struct http_request r;
	size_t last = 0, len = strlen(req), n;
	int status = 0, rc = 0;

	for (n = 1; n < len; n++) {
		rc = http_parse_request(guard_put(req, n), n, 8192, &last, &r, &status);
		cr_assert_eq(rc, 0);
		cr_assert_eq(last, n);
	}
	/* A stale last_len larger than len must not skip or over-read. */
	last = 4096;
	rc = http_parse_request(guard_put(req, len), len, 8192, &last, &r, &status);
	cr_assert_eq(rc, 0, "blank line before a stale last_len is not searched");
	last = 0;
	rc = http_parse_request(guard_put(req, len), len, 8192, &last, &r, &status);
	cr_assert_eq(rc, (int)len);
	cr_assert_eq(r.nheaders, 2);
}

Test(http_parse, find_header)
{
	const char *req = "GET / HTTP/1.1\r\nHost: a\r\nX-Long-Name: v1\r\nx-long-name: v2\r\n\r\n";
	const struct http_header *h;
	struct http_request r;
	size_t last = 0;
	int status = 0;

	cr_assert_gt(http_parse_request(guard_put(req, strlen(req)), strlen(req),
	    8192, &last, &r, &status), 0);
	h = http_find_header(&r, "X-LONG-NAME");
	cr_assert_not_null(h);
	cr_expect_eq(h->value.len, 2);
	cr_expect_eq(memcmp(h->value.p, "v1", 2), 0, "first match wins");
	cr_expect_null(http_find_header(&r, "X-Long"));
	cr_expect_null(http_find_header(&r, "X-Long-Name-2"));
}

/* RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
 * "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA, spelt out here
 * apart from the parser's class table, byte by byte over all 256. */
Test(http_parse, tchar)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	int want;

	for (int c = 0; c < 256; c++) {
		want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != 0 && memchr(extra, c, sizeof(extra) - 1) != NULL);
		cr_expect_eq(http_tchar((unsigned char)c), want, "byte 0x%02x", c);
	}
}

/* ---- chunked bodies ---- */

struct chunk_case {
	const char *name;
	const char *input;
	size_t len;        /* 0: strlen(input) */
	const char *tail;  /* bytes after the body, never consumed */
	long expect;       /* ALL (consumed the input) or -1 */
	int done;          /* YES / NO */
};

static const struct chunk_case chunk_cases[] = {
	{ "last chunk only", "0\r\n\r\n", .expect = ALL, .done = YES },
	{ "one chunk", "5\r\nhello\r\n0\r\n\r\n", .expect = ALL, .done = YES },
	{ "three chunks", "3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n", .expect = ALL,
	  .done = YES },
	{ "hex upper", "A\r\n0123456789\r\n0\r\n\r\n", .expect = ALL, .done = YES },
	{ "hex lower", "a\r\n0123456789\r\n0\r\n\r\n", .expect = ALL, .done = YES },
	{ "hex two digits", "1F\r\n0123456789abcdef0123456789abcde\r\n0\r\n\r\n",
	  .expect = ALL, .done = YES },
	{ "leading zeros", "0005\r\nhello\r\n0\r\n\r\n", .expect = ALL, .done = YES },
	{ "16 zero digits", "0000000000000000\r\n\r\n", .expect = ALL, .done = YES },
	{ "data holding CR LF NUL", BIN("5\r\n\r\n\0\n\r\r\n0\r\n\r\n"),
	  .expect = ALL, .done = YES },
	{ "extension", "5;name=val\r\nhello\r\n0;x\r\n\r\n", .expect = ALL, .done = YES },
	{ "extension with BWS", "5 \t; a = b ;c\r\nhello\r\n0\r\n\r\n", .expect = ALL,
	  .done = YES },
	{ "quoted extension", "5;a=\"b c;d\"\r\nhello\r\n0\r\n\r\n", .expect = ALL,
	  .done = YES },
	{ "trailers", "0\r\nX-T: 1\r\nY:2\r\n\r\n", .expect = ALL, .done = YES },
	{ "trailer with empty value", "0\r\nX:\r\n\r\n", .expect = ALL, .done = YES },
	{ "stops before next request", "5\r\nhello\r\n0\r\n\r\n",
	  .tail = "GET / HTTP/1.1\r\nHost: a\r\n\r\n", .expect = ALL, .done = YES },
	{ "stops before a stray CRLF", "0\r\n\r\n", .tail = "\r\n", .expect = ALL,
	  .done = YES },
	{ "incomplete data", "5\r\nhel", .expect = ALL, .done = NO },
	{ "incomplete size line", "5;ext", .expect = ALL, .done = NO },
	{ "incomplete after last chunk", "0\r\n", .expect = ALL, .done = NO },
	{ "incomplete trailer", "0\r\nX: 1\r\n", .expect = ALL, .done = NO },
	{ "16 f digits is fine", "ffffffffffffffff\r\nabc", .expect = ALL, .done = NO },
	{ "empty size", "\r\n", .expect = -1 },
	{ "bad hex", "x\r\n", .expect = -1 },
	{ "0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", .expect = -1 },
	{ "negative", "-1\r\n", .expect = -1 },
	{ "plus sign", "+5\r\nhello\r\n", .expect = -1 },
	{ "leading space", " 5\r\nhello\r\n", .expect = -1 },
	{ "space without extension", "5 \r\nhello\r\n0\r\n\r\n", .expect = -1 },
	{ "17 digits", "00000000000000001\r\nx\r\n0\r\n\r\n", .expect = -1 },
	{ "overflow", "10000000000000000\r\n", .expect = -1 },
	{ "bare LF after size", "5\nhello\r\n0\r\n\r\n", .expect = -1 },
	{ "bare CR after size", "5\rhello\r\n0\r\n\r\n", .expect = -1 },
	{ "missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", .expect = -1 },
	{ "bare LF after data", "5\r\nhello\n0\r\n\r\n", .expect = -1 },
	{ "CR only after data", "5\r\nhello\r0\r\n\r\n", .expect = -1 },
	{ "CTL in extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", .expect = -1 },
	{ "NUL in extension", BIN("5;a\0\r\nhello\r\n"), .expect = -1 },
	{ "bare LF in extension", "5;a\nhello\r\n0\r\n\r\n", .expect = -1 },
	{ "bare CR in extension", "5;a\rb\r\nhello\r\n", .expect = -1 },
	{ "bare LF ends body", "0\r\n\n", .expect = -1 },
	{ "bare CR ends body", "0\r\n\rX", .expect = -1 },
	{ "trailer obs-fold", "0\r\nX: 1\r\n 2\r\n\r\n", .expect = -1 },
	{ "trailer space before colon", "0\r\nX : 1\r\n\r\n", .expect = -1 },
	{ "trailer without colon", "0\r\nX\r\n\r\n", .expect = -1 },
	{ "trailer empty name", "0\r\n: 1\r\n\r\n", .expect = -1 },
	{ "trailer bare LF", "0\r\nX: 1\n\r\n", .expect = -1 },
	{ "trailer NUL", BIN("0\r\nX: a\0b\r\n\r\n"), .expect = -1 },
};

/* Feeds the input in two calls split at cut (0 < cut <= len). */
static long
chunk_feed(const char *in, size_t len, size_t cut, struct http_chunked *st)
{
	long a, b;

	a = http_chunked_consume(st, guard_put(in, cut), cut);
	if (a == -1 || st->done || cut == len)
		return a;
	cr_assert_eq((size_t)a, cut, "a decoder not done consumes everything");
	b = http_chunked_consume(st, guard_put(in + cut, len - cut), len - cut);
	return b == -1 ? -1 : a + b;
}

static void
chunk_check(const struct chunk_case *c, const char *how, long got,
    const struct http_chunked *st, size_t body_len)
{
	long want = c->expect == ALL ? (long)body_len : c->expect;

	cr_expect_eq(got, want, "%s (%s): consumed %ld, want %ld", c->name, how, got, want);
	if (got != -1 && c->done)
		cr_expect_eq(st->done, c->done - 1, "%s (%s): done %d", c->name, how, st->done);
}

static void
chunk_run(const struct chunk_case *c)
{
	static char in[REGION];
	size_t body = c->len ? c->len : strlen(c->input);
	size_t tail = c->tail ? strlen(c->tail) : 0, len = body + tail, i, cut;
	struct http_chunked st;
	long got, r;

	memcpy(in, c->input, body);
	if (tail)
		memcpy(in + body, c->tail, tail);

	memset(&st, 0, sizeof(st));
	got = http_chunked_consume(&st, guard_put(in, len), len);
	chunk_check(c, "whole", got, &st, body);
	if (got >= 0 && st.done)
		cr_expect_eq(http_chunked_consume(&st, guard_put(in, len), len), 0,
		    "%s: nothing consumed once done", c->name);

	memset(&st, 0, sizeof(st));
	for (i = 0, got = 0; i < len && !st.done; i++) {
		r = http_chunked_consume(&st, guard_put(in + i, 1), 1);
		if (r == -1) {
			got = -1;
			break;
		}
		got += r;
	}
	chunk_check(c, "bytewise", got, &st, body);

	for (cut = 1; cut < len; cut++) {
		memset(&st, 0, sizeof(st));
		got = chunk_feed(in, len, cut, &st);
		chunk_check(c, "split", got, &st, body);
	}
}

Test(http_chunked, table)
{
	size_t i;

	for (i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++)
		chunk_run(&chunk_cases[i]);
}

Test(http_chunked, stops_exactly_at_end)
{
	const char *s = "4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\n";
	size_t body = strlen("4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n");
	struct http_chunked st;
	long r;

	memset(&st, 0, sizeof(st));
	r = http_chunked_consume(&st, guard_put(s, strlen(s)), strlen(s));
	cr_assert_eq(r, (long)body);
	cr_assert_eq(st.done, 1);
	cr_assert_eq(http_chunked_consume(&st, "GET", 3), 0);
	cr_assert_eq(st.done, 1);
}

Test(http_chunked, error_is_sticky)
{
	struct http_chunked st;

	memset(&st, 0, sizeof(st));
	cr_assert_eq(http_chunked_consume(&st, "z", 1), -1);
	cr_assert_eq(http_chunked_consume(&st, "0\r\n\r\n", 5), -1);
}

Test(http_chunked, large_chunk_in_pieces)
{
	static char data[70000];
	struct http_chunked st;
	size_t off = 0, total, n;
	long r;

	total = (size_t)snprintf(data, sizeof(data), "10000\r\n");
	memset(data + total, 'z', 0x10000);
	total += 0x10000;
	memcpy(data + total, "\r\n0\r\n\r\n", 7);
	total += 7;
	memset(&st, 0, sizeof(st));
	while (off < total && !st.done) {
		n = total - off < 1000 ? total - off : 1000;
		r = http_chunked_consume(&st, guard_put(data + off, n), n);
		cr_assert_geq(r, 0);
		off += (size_t)r;
	}
	cr_assert_eq(off, total);
	cr_assert_eq(st.done, 1);
}

Test(http_chunked, bounds)
{
	static char line[HTTP_CHUNK_LINE_MAX + 16], tr[HTTP_CHUNK_TRAILER_MAX + 16];
	struct http_chunked st;
	size_t n;

	/* A size line of exactly HTTP_CHUNK_LINE_MAX bytes before CR is fine. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "1;", 2);
	n = HTTP_CHUNK_LINE_MAX;
	memset(&st, 0, sizeof(st));
	cr_assert_eq(http_chunked_consume(&st, guard_put(line, n), n), (long)n);
	memset(&st, 0, sizeof(st));
	cr_assert_eq(http_chunked_consume(&st, guard_put(line, n + 1), n + 1), -1);

	memset(tr, 'b', sizeof(tr));
	memcpy(tr, "0\r\nX:", 5);
	n = 3 + HTTP_CHUNK_TRAILER_MAX;
	memset(&st, 0, sizeof(st));
	cr_assert_eq(http_chunked_consume(&st, guard_put(tr, n), n), (long)n);
	memset(&st, 0, sizeof(st));
	cr_assert_eq(http_chunked_consume(&st, guard_put(tr, n + 1), n + 1), -1);
}
