/*
 * Validators and conditional requests (RFC 9110 §8.8, §13).
 *
 * The ETag is "<mtime ns hex>-<size hex>-<inode hex>", quoted. The
 * modification time counts nanoseconds so two writes within one second
 * still change it; size and inode catch a file replaced by rename with
 * the same mtime. It is strong: the same bytes always come with it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server/http_util.h"

size_t
etag_make(const struct stat *st, char *buf, size_t len)
{
	uint64_t ns;
	int n;

	ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u +
	    (uint64_t)st->st_mtim.tv_nsec;
	n = snprintf(buf, len, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", ns,
	    (uint64_t)st->st_size, (uint64_t)st->st_ino);
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

static int
cond_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Drops a leading "W/" for the weak comparison. */
static void
cond_strip_weak(const char **p, size_t *len)
{
	if (*len >= 2 && (*p)[0] == 'W' && (*p)[1] == '/') {
		*p += 2;
		*len -= 2;
	}
}

/*
 * If-None-Match = "*" / #entity-tag. Returns 1 when a member matches etag
 * by weak comparison (or the value is "*"), else 0. A malformed member
 * ends the scan with no match, so a broken header serves a normal 200.
 */
static int
cond_none_match(const char *p, size_t len, const char *etag, size_t etag_len)
{
	const char *end = p + len;

	cond_strip_weak(&etag, &etag_len);
	if (len == 1 && p[0] == '*')
		return 1;
	while (p < end) {
		const char *tag, *q;

		if (cond_ows(*p) || *p == ',') {
			p++;
			continue;
		}
		tag = p;
		if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
			p += 2;
		if (p == end || *p != '"')
			return 0;
		q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (q == NULL)
			return 0;
		p = q + 1;
		/* Compare the opaque-tag, quotes included, "W/" dropped. */
		q = tag;
		len = (size_t)(p - tag);
		cond_strip_weak(&q, &len);
		if (len == etag_len && memcmp(q, etag, len) == 0)
			return 1;
		if (p < end && !cond_ows(*p) && *p != ',')
			return 0;
	}
	return 0;
}

/*
 * The caller evaluates this for GET and HEAD only: for other methods a
 * false If-None-Match would mean 412, which we never produce.
 */
enum cond_result
cond_evaluate(const struct http_request *req, const char *etag,
    size_t etag_len, time_t mtime)
{
	time_t since;

	if (req->if_none_match.len > 0)
		return cond_none_match(req->if_none_match.p, req->if_none_match.len,
		    etag, etag_len) ? COND_NOT_MODIFIED : COND_PROCEED;
	if (req->if_modified_since.len > 0 &&
	    http_date_parse(req->if_modified_since.p, req->if_modified_since.len,
	    &since) == 0 && mtime <= since)
		return COND_NOT_MODIFIED;
	return COND_PROCEED;
}

/*
 * If-Range (RFC 9110 §13.1.5) uses the strong comparison: a weak tag on
 * either side never matches, and a date must equal Last-Modified exactly.
 * We do not check that Last-Modified is itself "strong" (a second older
 * than Date): the ETag carries nanoseconds, so clients should prefer it.
 */
int
cond_if_range_ok(const struct http_request *req, const char *etag,
    size_t etag_len, time_t mtime)
{
	const char *v = req->if_range.p;
	size_t len = req->if_range.len;
	time_t t;

	if (len == 0)
		return 1;
	if (v[0] == '"')
		return etag_len > 0 && etag[0] == '"' && len == etag_len &&
		    memcmp(v, etag, len) == 0;
	if (len >= 2 && v[0] == 'W' && v[1] == '/')
		return 0;
	return http_date_parse(v, len, &t) == 0 && t == mtime;
}
