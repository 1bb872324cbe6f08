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
#include <strings.h>

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
 * One field value of If-Match or If-None-Match: "*" / #entity-tag.
 * Returns 1 when a member matches etag (by the strong comparison when
 * strong, else the weak one) or the value is "*", else 0. A malformed
 * member ends the scan with no match. An empty etag (a listing has none)
 * matches only "*".
 */
static int
cond_list_match(const char *p, size_t len, const char *etag, size_t etag_len,
    int strong)
{
	const char *end = p + len;

	if (len == 1 && p[0] == '*')
		return 1;
	if (!strong)
		cond_strip_weak(&etag, &etag_len);
	else if (etag_len >= 2 && etag[0] == 'W')
		return 0;  /* a weak validator never matches strongly */
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
		/* Compare the opaque-tag, quotes included. */
		q = tag;
		len = (size_t)(p - tag);
		if (strong && q[0] == 'W')
			q = NULL;  /* "W/..." never matches strongly */
		else
			cond_strip_weak(&q, &len);
		if (q != NULL && etag_len > 0 && len == etag_len &&
		    memcmp(q, etag, len) == 0)
			return 1;
		if (p < end && !cond_ows(*p) && *p != ',')
			return 0;
	}
	return 0;
}

/*
 * A list field may come as several header lines, which mean the same as
 * one comma-separated line (RFC 9110 §5.3): first is the first line (kept
 * by the parser), the others are found among the request's headers.
 */
static int
cond_field_match(const struct http_request *req, struct http_str first,
    const char *name, const char *etag, size_t etag_len, int strong)
{
	int i;

	if (cond_list_match(first.p, first.len, etag, etag_len, strong))
		return 1;
	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];

		if (h->value.p == first.p || h->name.len != strlen(name) ||
		    strncasecmp(h->name.p, name, h->name.len) != 0)
			continue;
		if (cond_list_match(h->value.p, h->value.len, etag, etag_len, strong))
			return 1;
	}
	return 0;
}

/* A date condition: 1 when the field is present, valid and the
 * representation has a date (mtime != -1); the date in *since. */
static int
cond_date(struct http_str v, time_t mtime, time_t *since)
{
	return v.len > 0 && mtime != (time_t)-1 &&
	    http_date_parse(v.p, v.len, since) == 0;
}

/*
 * RFC 9110 §13.2.2, for GET and HEAD: If-Match (strong), else
 * If-Unmodified-Since, can fail with 412; then If-None-Match (weak), else
 * If-Modified-Since, can answer 304. If-Range is the caller's last step.
 */
enum cond_result
cond_evaluate(const struct http_request *req, const char *etag,
    size_t etag_len, time_t mtime)
{
	time_t since;

	if (req->if_match.len > 0) {
		if (!cond_field_match(req, req->if_match, "if-match", etag,
		    etag_len, 1))
			return COND_PRECONDITION_FAILED;
	} else if (cond_date(req->if_unmodified_since, mtime, &since) &&
	    mtime > since)
		return COND_PRECONDITION_FAILED;
	if (req->if_none_match.len > 0)
		return cond_field_match(req, req->if_none_match, "if-none-match",
		    etag, etag_len, 0) ? COND_NOT_MODIFIED : COND_PROCEED;
	if (cond_date(req->if_modified_since, mtime, &since) && mtime <= since)
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
