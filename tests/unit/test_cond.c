/* ETag, If-None-Match / If-Modified-Since, If-Range. */
#include <criterion/criterion.h>
#include <string.h>

#include "server/http_util.h"

#define ETAG "\"5f-10-2a\""
#define MTIME ((time_t)784111777) /* Sun, 06 Nov 1994 08:49:37 GMT */
#define MTIME_STR "Sun, 06 Nov 1994 08:49:37 GMT"

static struct http_request
req_with(const char *inm, const char *ims, const char *ifr)
{
	struct http_request r;

	memset(&r, 0, sizeof(r));
	if (inm) {
		r.if_none_match.p = inm;
		r.if_none_match.len = strlen(inm);
	}
	if (ims) {
		r.if_modified_since.p = ims;
		r.if_modified_since.len = strlen(ims);
	}
	if (ifr) {
		r.if_range.p = ifr;
		r.if_range.len = strlen(ifr);
	}
	return r;
}

static enum cond_result
eval(const char *inm, const char *ims)
{
	struct http_request r = req_with(inm, ims, NULL);

	return cond_evaluate(&r, ETAG, strlen(ETAG), MTIME);
}

static int
if_range(const char *v, const char *etag)
{
	struct http_request r = req_with(NULL, NULL, v);

	return cond_if_range_ok(&r, etag, strlen(etag), MTIME);
}

static struct stat
st_of(time_t sec, long nsec, off_t size, ino_t ino)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mtim.tv_sec = sec;
	st.st_mtim.tv_nsec = nsec;
	st.st_size = size;
	st.st_ino = ino;
	return st;
}

Test(cond, etag_format_exact)
{
	struct stat st = st_of(1, 5, 0x10, 0x2a);
	char buf[64];

	cr_assert_eq(etag_make(&st, buf, sizeof(buf)), strlen("\"3b9aca05-10-2a\""));
	cr_assert_str_eq(buf, "\"3b9aca05-10-2a\"");
}

Test(cond, etag_nanoseconds_differ)
{
	struct stat a = st_of(1700000000, 100, 5, 7);
	struct stat b = st_of(1700000000, 200, 5, 7);
	char ba[64], bb[64];

	etag_make(&a, ba, sizeof(ba));
	etag_make(&b, bb, sizeof(bb));
	cr_assert_str_neq(ba, bb);
}

Test(cond, etag_size_and_inode_differ)
{
	struct stat a = st_of(1700000000, 0, 5, 7);
	struct stat b = st_of(1700000000, 0, 6, 7);
	struct stat c = st_of(1700000000, 0, 5, 8);
	char ba[64], bb[64], bc[64];

	etag_make(&a, ba, sizeof(ba));
	etag_make(&b, bb, sizeof(bb));
	etag_make(&c, bc, sizeof(bc));
	cr_assert_str_neq(ba, bb);
	cr_assert_str_neq(ba, bc);
}

Test(cond, etag_max_values_fit_64)
{
	struct stat st = st_of((time_t)1 << 33, 999999999, (off_t)INT64_MAX,
	    (ino_t)UINT64_MAX);
	char buf[64];
	size_t n = etag_make(&st, buf, sizeof(buf));

	cr_assert_gt(n, 0);
	cr_assert_lt(n, 64);
	cr_assert_eq(strlen(buf), n);
	cr_assert_eq(buf[0], '"');
	cr_assert_eq(buf[n - 1], '"');
}

Test(cond, etag_too_small_buffer)
{
	struct stat st = st_of(1, 5, 0x10, 0x2a);
	char buf[8];

	cr_assert_eq(etag_make(&st, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "");
}

Test(cond, no_conditionals_proceed)
{
	cr_assert_eq(eval(NULL, NULL), COND_PROCEED);
}

Test(cond, inm_exact_match)
{
	cr_assert_eq(eval(ETAG, NULL), COND_NOT_MODIFIED);
}

Test(cond, inm_mismatch)
{
	cr_assert_eq(eval("\"other\"", NULL), COND_PROCEED);
	cr_assert_eq(eval("\"5f-10-2b\"", NULL), COND_PROCEED);
	cr_assert_eq(eval("\"5f-10-2a", NULL), COND_PROCEED);
}

Test(cond, inm_weak_comparison)
{
	cr_assert_eq(eval("W/" ETAG, NULL), COND_NOT_MODIFIED);
	cr_assert_eq(eval("W/\"other\", W/" ETAG, NULL), COND_NOT_MODIFIED);
}

Test(cond, inm_our_weak_tag_matches_strong)
{
	struct http_request r = req_with(ETAG, NULL, NULL);

	cr_assert_eq(cond_evaluate(&r, "W/" ETAG, strlen("W/" ETAG), MTIME),
	    COND_NOT_MODIFIED);
}

Test(cond, inm_star)
{
	cr_assert_eq(eval("*", NULL), COND_NOT_MODIFIED);
}

Test(cond, inm_list_with_whitespace)
{
	cr_assert_eq(eval("\"a\", \"b\",\t" ETAG, NULL), COND_NOT_MODIFIED);
	cr_assert_eq(eval("\"a\",," ETAG ",", NULL), COND_NOT_MODIFIED);
	cr_assert_eq(eval("\"a\", \"b\"", NULL), COND_PROCEED);
}

Test(cond, inm_comma_inside_tag)
{
	/* etagc includes ',': "x,\"5f-10-2a\"" is one tag, not two. */
	cr_assert_eq(eval("\"x," ETAG, NULL), COND_PROCEED);
	cr_assert_eq(eval("\"a,b\", " ETAG, NULL), COND_NOT_MODIFIED);
}

Test(cond, inm_malformed_proceeds)
{
	cr_assert_eq(eval("5f-10-2a", NULL), COND_PROCEED);
	cr_assert_eq(eval("junk " ETAG, NULL), COND_PROCEED);
	cr_assert_eq(eval("w/" ETAG, NULL), COND_PROCEED);
	cr_assert_eq(eval("\"a\"x" ETAG, NULL), COND_PROCEED);
	cr_assert_eq(eval("**", NULL), COND_PROCEED);
	cr_assert_eq(eval("W/", NULL), COND_PROCEED);
}

Test(cond, inm_present_ignores_ims)
{
	/* A non-matching If-None-Match wins over a satisfied date. */
	cr_assert_eq(eval("\"other\"", MTIME_STR), COND_PROCEED);
	cr_assert_eq(eval(ETAG, "Thu, 01 Jan 1970 00:00:00 GMT"),
	    COND_NOT_MODIFIED);
}

Test(cond, ims_equal_date)
{
	cr_assert_eq(eval(NULL, MTIME_STR), COND_NOT_MODIFIED);
}

Test(cond, ims_later_date)
{
	cr_assert_eq(eval(NULL, "Sun, 06 Nov 1994 08:49:38 GMT"),
	    COND_NOT_MODIFIED);
}

Test(cond, ims_earlier_date)
{
	cr_assert_eq(eval(NULL, "Sun, 06 Nov 1994 08:49:36 GMT"), COND_PROCEED);
}

Test(cond, ims_other_forms)
{
	cr_assert_eq(eval(NULL, "Sunday, 06-Nov-94 08:49:37 GMT"),
	    COND_NOT_MODIFIED);
	cr_assert_eq(eval(NULL, "Sun Nov  6 08:49:37 1994"), COND_NOT_MODIFIED);
}

Test(cond, ims_unparsable_ignored)
{
	cr_assert_eq(eval(NULL, "yesterday"), COND_PROCEED);
	cr_assert_eq(eval(NULL, "Sun, 06 Nov 1994 08:49:37 GMT, x"),
	    COND_PROCEED);
}

Test(cond, if_range_absent)
{
	struct http_request r = req_with(NULL, NULL, NULL);

	cr_assert(cond_if_range_ok(&r, ETAG, strlen(ETAG), MTIME));
}

Test(cond, if_range_strong_etag)
{
	cr_assert(if_range(ETAG, ETAG));
	cr_assert_not(if_range("\"other\"", ETAG));
	cr_assert_not(if_range("\"5f-10-2a", ETAG));
}

Test(cond, if_range_weak_never_matches)
{
	cr_assert_not(if_range("W/" ETAG, ETAG));
	cr_assert_not(if_range(ETAG, "W/" ETAG));
	cr_assert_not(if_range("W/" ETAG, "W/" ETAG));
}

Test(cond, if_range_date_exact_only)
{
	cr_assert(if_range(MTIME_STR, ETAG));
	cr_assert_not(if_range("Sun, 06 Nov 1994 08:49:38 GMT", ETAG));
	cr_assert_not(if_range("Sun, 06 Nov 1994 08:49:36 GMT", ETAG));
}

Test(cond, if_range_garbage)
{
	cr_assert_not(if_range("garbage", ETAG));
	cr_assert_not(if_range("*", ETAG));
}
