/*
 * Issue 11: RFC 9110 §13.2.2 preconditions (If-Match, If-Unmodified-Since,
 * their order, list fields over several lines), the directory redirect
 * built from the normalised path, listings that resolve beneath the root,
 * and a reply whose long head cannot be allocated.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/file.h"
#include "server/http_util.h"
#include "server/path.h"
#include "server/response.h"
#include "tests/unit/reply_text.h"
#include "tests/unit/tmpdir.h"

#define ETAG "\"5f-10-2a\""
#define MTIME ((time_t)784111777) /* Sun, 06 Nov 1994 08:49:37 GMT */
#define BEFORE "Sun, 06 Nov 1994 08:49:36 GMT"
#define AT "Sun, 06 Nov 1994 08:49:37 GMT"

/* --- cond_evaluate ------------------------------------------------------ */

static struct http_request creq;

static void
hdr(const char *name, const char *value)
{
	struct http_header *h = &creq.headers[creq.nheaders++];
	struct http_str v = { value, strlen(value) };

	h->name = (struct http_str){ name, strlen(name) };
	h->value = v;
	/* As the parser does: the first line of each field is kept. */
	if (strcasecmp(name, "if-match") == 0 && creq.if_match.p == NULL)
		creq.if_match = v;
	else if (strcasecmp(name, "if-none-match") == 0 && creq.if_none_match.p == NULL)
		creq.if_none_match = v;
	else if (strcasecmp(name, "if-unmodified-since") == 0)
		creq.if_unmodified_since = v;
	else if (strcasecmp(name, "if-modified-since") == 0)
		creq.if_modified_since = v;
}

static void
creset(void)
{
	memset(&creq, 0, sizeof(creq));
}

static enum cond_result
ev(void)
{
	return cond_evaluate(&creq, ETAG, strlen(ETAG), MTIME);
}

Test(sweep_cond, if_match_strong_and_star)
{
	creset(); hdr("If-Match", ETAG);
	cr_assert_eq(ev(), COND_PROCEED);
	creset(); hdr("If-Match", "*");
	cr_assert_eq(ev(), COND_PROCEED);
	creset(); hdr("If-Match", "\"a\", " ETAG);
	cr_assert_eq(ev(), COND_PROCEED);
	creset(); hdr("If-Match", "\"other\"");
	cr_assert_eq(ev(), COND_PRECONDITION_FAILED);
	/* The strong comparison: a weak tag never matches. */
	creset(); hdr("If-Match", "W/" ETAG);
	cr_assert_eq(ev(), COND_PRECONDITION_FAILED);
	creset(); hdr("If-Match", "junk");
	cr_assert_eq(ev(), COND_PRECONDITION_FAILED);
}

Test(sweep_cond, if_match_weak_validator_never_matches)
{
	creset(); hdr("If-Match", "W/" ETAG);
	cr_assert_eq(cond_evaluate(&creq, "W/" ETAG, strlen("W/" ETAG), MTIME),
	    COND_PRECONDITION_FAILED);
}

Test(sweep_cond, if_unmodified_since)
{
	creset(); hdr("If-Unmodified-Since", BEFORE);
	cr_assert_eq(ev(), COND_PRECONDITION_FAILED);
	creset(); hdr("If-Unmodified-Since", AT);
	cr_assert_eq(ev(), COND_PROCEED);
	creset(); hdr("If-Unmodified-Since", "not a date");
	cr_assert_eq(ev(), COND_PROCEED);
}

Test(sweep_cond, rfc_order)
{
	/* If-Match present: If-Unmodified-Since is not looked at. */
	creset(); hdr("If-Match", ETAG); hdr("If-Unmodified-Since", BEFORE);
	cr_assert_eq(ev(), COND_PROCEED);
	/* A failed If-Match wins over a matching If-None-Match (412, not 304). */
	creset(); hdr("If-Match", "\"x\""); hdr("If-None-Match", ETAG);
	cr_assert_eq(ev(), COND_PRECONDITION_FAILED);
	creset(); hdr("If-Unmodified-Since", BEFORE); hdr("If-Modified-Since", AT);
	cr_assert_eq(ev(), COND_PRECONDITION_FAILED);
	/* Passed: then If-None-Match decides, If-Modified-Since ignored. */
	creset(); hdr("If-Match", "*"); hdr("If-None-Match", ETAG);
	cr_assert_eq(ev(), COND_NOT_MODIFIED);
	creset(); hdr("If-Unmodified-Since", AT); hdr("If-None-Match", "\"x\"");
	hdr("If-Modified-Since", AT);
	cr_assert_eq(ev(), COND_PROCEED);
}

Test(sweep_cond, list_fields_over_several_lines)
{
	creset(); hdr("If-None-Match", "\"a\""); hdr("if-none-match", ETAG);
	cr_assert_eq(ev(), COND_NOT_MODIFIED);
	creset(); hdr("If-None-Match", "\"a\""); hdr("If-None-Match", "\"b\"");
	cr_assert_eq(ev(), COND_PROCEED);
	creset(); hdr("If-Match", "\"a\""); hdr("IF-MATCH", ETAG);
	cr_assert_eq(ev(), COND_PROCEED);
	creset(); hdr("If-Match", "\"a\""); hdr("If-Match", "\"b\"");
	cr_assert_eq(ev(), COND_PRECONDITION_FAILED);
}

Test(sweep_cond, no_validators_only_star)
{
	creset(); hdr("If-Match", "*");
	cr_assert_eq(cond_evaluate(&creq, "", 0, (time_t)-1), COND_PROCEED);
	creset(); hdr("If-Match", "\"\"");
	cr_assert_eq(cond_evaluate(&creq, "", 0, (time_t)-1), COND_PRECONDITION_FAILED);
	creset(); hdr("If-None-Match", "*");
	cr_assert_eq(cond_evaluate(&creq, "", 0, (time_t)-1), COND_NOT_MODIFIED);
	creset(); hdr("If-Unmodified-Since", BEFORE); hdr("If-Modified-Since", AT);
	cr_assert_eq(cond_evaluate(&creq, "", 0, (time_t)-1), COND_PROCEED);
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
setup(void)
{
	strcpy(base, "/tmp/test_http_sweep.XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	rootfd = open(base, O_PATH | O_DIRECTORY);
	cr_assert_geq(rootfd, 0);
	cr_assert_eq(mkdirat(rootfd, "sub", 0755), 0);
	cr_assert_eq(mkdirat(rootfd, "d", 0755), 0);
	tmpdir_put(rootfd, "a.txt", "hello\n", MTIME);
	tmpdir_put(rootfd, "d/ok.txt", "fine", MTIME);
	cr_assert_eq(symlinkat("/etc/passwd", rootfd, "d/outside"), 0);
	cr_assert_eq(symlinkat("/etc", rootfd, "d/etcdir"), 0);
	cr_assert_eq(symlinkat("../a.txt", rootfd, "d/inside"), 0);
	cr_assert_eq(mkfifoat(rootfd, "d/fifo", 0644), 0);
	fc = file_cache_new(rootfd, 8);
	memset(&params, 0, sizeof(params));
	params.autoindex = 1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.params = &params;
	ctx.fc = fc;
	ctx.rootfd = rootfd;
	strcpy(ctx.date, "Mon, 23 Nov 2026 17:54:00 GMT");
}

static void
teardown(void)
{
	response_malloc = malloc;
	file_cache_free(fc);
	close(rootfd);
	tmpdir_remove(base);
}

TestSuite(sweep_build, .init = setup, .fini = teardown);

static void
get(const char *path, const char *query)
{
	memset(&req, 0, sizeof(req));
	req.method = HTTP_M_GET;
	req.path = (struct http_str){ path, strlen(path) };
	req.query = (struct http_str){ query, query ? strlen(query) : 0 };
	req.version_minor = 1;
	req.keep_alive = 1;
	req.content_length = -1;
}

static void
reqhdr(const char *name, const char *value)
{
	struct http_header *h = &req.headers[req.nheaders++];
	struct http_str v = { value, strlen(value) };

	h->name = (struct http_str){ name, strlen(name) };
	h->value = v;
	if (strcasecmp(name, "if-match") == 0)
		req.if_match = v;
	else if (strcasecmp(name, "if-none-match") == 0)
		req.if_none_match = v;
	else if (strcasecmp(name, "range") == 0)
		req.range = v;
}

static void
run(void)
{
	reply_run(&ctx, &req, &rep, hdrbuf, sizeof(hdrbuf));
}

/* The body, which these replies always hold in memory. */
static char *
body(void)
{
	for (int i = 0; i < rep.nseg; i++)
		cr_assert_not_null(rep.seg[i].p);
	return reply_body_text(&rep);
}

static void
location_is(const char *path, const char *query, const char *want)
{
	char line[256];

	get(path, query);
	run();
	cr_assert_eq(rep.status, 301, "%s: status %d", path, rep.status);
	snprintf(line, sizeof(line), "\r\nLocation: %s\r\n", want);
	cr_assert_not_null(strstr(reply_head_text(&rep), line), "%s:\n%s", path, reply_head_text(&rep));
	response_release(&ctx, &rep);
}

Test(sweep_build, redirect_from_normalised_path)
{
	location_is("//evil.com/..", NULL, "/");
	location_is("/\\evil.com/..", NULL, "/");
	location_is("//evil.com/../sub", "x=1", "/sub/?x=1");
	location_is("/%2fevil.com/..", NULL, "/");
	location_is("/%2F%2Fevil.com/%2e%2e", NULL, "/");
	location_is("/%5cevil.com/..", NULL, "/");
	location_is("///sub", NULL, "/sub/");
	location_is("/./sub", "a=b", "/sub/?a=b");
	location_is("/sub", NULL, "/sub/");
}

Test(sweep_build, preconditions_on_files_and_ranges)
{
	get("/a.txt", NULL);
	reqhdr("If-Match", "\"nope\"");
	run();
	cr_assert_eq(rep.status, 412);
	cr_assert_eq(strncmp(reply_head_text(&rep), "HTTP/1.1 412 Precondition Failed\r\n", 34), 0);
	cr_assert_eq(rep.close, 0);
	response_release(&ctx, &rep);

	get("/a.txt", NULL);
	reqhdr("If-Match", "\"nope\"");
	reqhdr("Range", "bytes=0-1");
	run();
	cr_assert_eq(rep.status, 412);
	response_release(&ctx, &rep);

	get("/a.txt", NULL);
	reqhdr("If-Match", "*");
	reqhdr("Range", "bytes=0-1");
	run();
	cr_assert_eq(rep.status, 206);
	response_release(&ctx, &rep);
}

Test(sweep_build, preconditions_on_listings)
{
	get("/d/", NULL);
	reqhdr("If-Match", "\"x\"");
	run();
	cr_assert_eq(rep.status, 412);
	response_release(&ctx, &rep);
	get("/d/", NULL);
	reqhdr("If-None-Match", "*");
	run();
	cr_assert_eq(rep.status, 304);
	cr_assert_eq(rep.nseg, 0);
	response_release(&ctx, &rep);
	get("/d/", NULL);
	reqhdr("If-Match", "*");
	reqhdr("If-None-Match", "\"x\"");
	run();
	cr_assert_eq(rep.status, 200);
	response_release(&ctx, &rep);
}

Test(sweep_build, listing_resolves_beneath_root)
{
	const char *b;

	get("/d/", NULL);
	run();
	cr_assert_eq(rep.status, 200);
	b = body();
	cr_assert_not_null(strstr(b, "href=\"ok.txt\""), "%s", b);
	/* A link inside the root lists with its target's size (6). */
	cr_assert_not_null(strstr(b, "href=\"inside\">inside</a></td><td>6</td>"), "%s", b);
	cr_assert_null(strstr(b, "outside"), "%s", b);
	cr_assert_null(strstr(b, "etcdir"), "%s", b);
	cr_assert_null(strstr(b, "fifo"), "%s", b);
	response_release(&ctx, &rep);
}

/* --- a head that cannot be allocated ------------------------------------ */

static int mallocs_left;

static void *
failing_malloc(size_t n)
{
	if (mallocs_left-- > 0)
		return malloc(n);
	errno = ENOMEM;
	return NULL;
}

static char longq[3000];

static void
long_redirect(void)
{
	memset(longq, 'q', sizeof(longq) - 1);
	longq[sizeof(longq) - 1] = '\0';
	get("/sub", longq);
	/* The Location buffer comes from malloc; the long head fails. */
	mallocs_left = 0;
	response_malloc = failing_malloc;
}

Test(sweep_build, long_head_fits_when_memory_is_there)
{
	get("/sub", NULL);
	memset(longq, 'q', sizeof(longq) - 1);
	req.query = (struct http_str){ longq, sizeof(longq) - 1 };
	run();
	cr_assert_eq(rep.status, 301);
	cr_assert_gt(rep.hdr_len, sizeof(hdrbuf));
	cr_assert_gt(rep.nseg, 0);
	response_release(&ctx, &rep);
}

Test(sweep_build, head_allocation_failure_is_500_without_body)
{
	long_redirect();
	run();
	cr_assert_eq(rep.status, 500);
	cr_assert_eq(strncmp(reply_head_text(&rep), "HTTP/1.1 500 Internal Server Error\r\n", 36), 0,
	    "%s", reply_head_text(&rep));
	cr_assert_not_null(strstr(reply_head_text(&rep), "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
	cr_assert_eq(rep.nseg, 0);
	cr_assert_eq(rep.body_len, 0);
	cr_assert_eq(rep.close, 1);
	response_release(&ctx, &rep);
}

Test(sweep_build, head_allocation_failure_without_room_closes)
{
	char tiny[16];

	long_redirect();
	memset(&rep, 0, sizeof(rep));
	rep.hdr = tiny;
	rep.hdr_cap = sizeof(tiny);
	response_reset(&rep);
	response_build(&ctx, &req, &rep);
	cr_assert_eq(rep.hdr_len, 0);
	cr_assert_eq(rep.nseg, 0);
	cr_assert_eq(rep.close, 1);
	response_release(&ctx, &rep);
}
