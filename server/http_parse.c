/*
 * HTTP/1.x request-head parser and chunked-body discarder (RFC 9112, 9110).
 *
 * The head is found first (a cheap memchr scan for the blank line that
 * resumes where the previous call stopped), then parsed in one pass. Results
 * point into the caller's buffer; nothing is allocated or copied.
 *
 * Tolerated, because the RFCs allow it and real clients send it:
 *  - up to HTTP_MAX_EMPTY_LINES empty lines before the request line (RFC 9112
 *    §2.2: some clients send a CRLF after a POST body); more is 400.
 *  - a bare LF ends a line of the head (RFC 9112 §2.2 MAY).
 *  - Content-Length repeated with one value, as fields or as a list "5, 5"
 *    (RFC 9110 §8.6 lets a recipient collapse them); leading zeros.
 *  - empty elements in the Transfer-Encoding and Connection lists (RFC 9110
 *    §5.6.1 requires recipients to ignore them); unknown Connection tokens.
 *  - an empty Host (RFC 9110 §7.2 when the URI has no authority).
 *  - Expect: 100-continue in HTTP/1.0 is ignored (RFC 9110 §10.1.1); other
 *    expectations are ignored too, rather than answered with 417.
 *  - visible ASCII outside RFC 3986's set ('"', '<', '\\', ...) in the target:
 *    clients send it raw, and the path module decodes and checks every path.
 *  - obs-text (0x80-0xFF) in field values (RFC 9110 §5.5); 8-bit bytes in
 *    the request-target are still rejected, as the URI grammar has none.
 *
 * Rejected, because each is a framing or smuggling ambiguity or plain
 * garbage (RFC 9112 §2.2, §3, §5, §6.1, §6.3; RFC 9110 §5.5, §7.2, §8.6):
 *  - a CR not followed by LF anywhere (400): peers disagree on bare CR.
 *  - NUL and other CTLs except HTAB in field values; CTL, SP, '#', or 8-bit
 *    bytes in the target (400): a fragment is never sent to a server.
 *  - more than one SP between request-line parts, a non-token method, an
 *    asterisk-form target for anything but OPTIONS, a target that is not
 *    origin-, absolute- (http/https, non-empty host, no userinfo) or, for
 *    CONNECT, authority-form (400).
 *  - a version other than HTTP/1.0 or HTTP/1.1: 505 if it is well-formed
 *    "HTTP/d.d", else 400.
 *  - a field line starting with SP or HTAB (obs-fold, or whitespace before the
 *    first field: RFC 9112 §2.2 and §5.2 allow 400), whitespace between the
 *    field name and ':', an empty or non-token name (400).
 *  - more than HTTP_MAX_HEADERS fields (431); a head reaching max_head bytes
 *    (414 while the request line is unfinished, else 431).
 *  - Content-Length that is not 1*DIGIT, overflows int64, or differs between
 *    repetitions (400): "+5", "5 5", "0x5" all mean different things to
 *    different parsers.
 *  - Transfer-Encoding with Content-Length, in HTTP/1.0, with a non-token
 *    element, with chunked twice or not last (400); with any coding other
 *    than chunked (501). Lists from several fields are combined in order.
 *  - HTTP/1.1 without Host, more than one Host, or a Host with characters
 *    outside reg-name / IP-literal / port (400): Host may end up in a
 *    Location header, so it must not carry '/', '@' or whitespace.
 *
 * The chunked decoder is stricter than the head: CRLF only (a bare LF in body
 * framing is the classic chunk-smuggling vector), at most 16 hex digits,
 * extensions skipped but bounded by HTTP_CHUNK_LINE_MAX and free of CTLs,
 * whitespace after the size only before a ';', trailer fields checked for
 * token names and bounded by HTTP_CHUNK_TRAILER_MAX.
 */
#include "server/http_parse.h"
#include "ipc/base/hex.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

/* Character classes, one bit each. */
#define C_TCHAR  1 /* token: RFC 9110 §5.6.2 */
#define C_TARGET 2 /* request-target byte: VCHAR except '#' */
#define C_VALUE  4 /* field value: HTAB, SP, VCHAR, obs-text */
#define C_HOST   8 /* uri-host and port: reg-name, IP-literal, ':' */

static const unsigned char http_class[256] = {
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 4, 15,  6,  5, 15, 15, 15, 15, 14, 14, 15, 15, 14, 15, 15,  6,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 14,  6, 14,  6,  6,
	 6, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14,  6, 14,  7, 15,
	 7, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,  6,  7,  6, 15,  0,
	 4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
	 4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
	 4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
	 4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
	 4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
	 4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
	 4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
	 4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
};

#define IS(c, cls) (http_class[(unsigned char)(c)] & (cls))
#define IS_OWS(c) ((c) == ' ' || (c) == '\t')

/* What the field pass gathers for the checks made after it. */
struct http_fields {
	int nhost;
	int ncl;
	int nte;
	int te_elems;      /* transfer codings seen, empty elements excluded */
	int te_chunked;    /* times "chunked" appeared */
	int te_last_chunked;
	int te_unknown;
	int te_bad;
	int conn_close;
	int conn_keep_alive;
};

static int
str_ieq(struct http_str s, const char *lit, size_t litlen)
{
	return s.len == litlen && strncasecmp(s.p, lit, litlen) == 0;
}

#define STR_IEQ(s, lit) str_ieq((s), (lit), sizeof(lit) - 1)

static struct http_str
str_trim(const char *p, const char *end)
{
	struct http_str s;

	while (p < end && IS_OWS(*p))
		p++;
	while (end > p && IS_OWS(end[-1]))
		end--;
	s.p = p;
	s.len = (size_t)(end - p);
	return s;
}

/*
 * Calls fn for each element of a comma-separated list value, OWS trimmed,
 * empty elements included (the callbacks decide what empty means).
 */
static void
list_each(struct http_str v, void (*fn)(struct http_str, void *), void *arg)
{
	const char *p = v.p, *end = v.p + v.len, *comma;

	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		fn(str_trim(p, comma), arg);
		if (comma == end)
			break;
		p = comma + 1;
	}
}

static int
str_is(struct http_str s, int cls)
{
	size_t i;

	for (i = 0; i < s.len; i++)
		if (!IS(s.p[i], cls))
			return 0;
	return 1;
}

/* ---- finding the head ---- */

/*
 * Skips the empty lines allowed before the request line. Returns the offset
 * of the request line, -1 when more bytes are needed, -2 on error.
 */
static long
head_skip_empty(const char *buf, size_t len)
{
	size_t pos = 0;
	int n;

	for (n = 0; n <= HTTP_MAX_EMPTY_LINES; n++) {
		if (pos == len)
			return -1;
		if (buf[pos] == '\n') {
			pos++;
		} else if (buf[pos] == '\r') {
			if (pos + 1 == len)
				return -1;
			if (buf[pos + 1] != '\n')
				return -2;
			pos += 2;
		} else {
			return (long)pos;
		}
	}
	return -2;
}

/*
 * Finds the blank line that ends the head in buf[from..len), where buf[start]
 * begins the request line. Returns the offset just past it, or 0.
 */
static size_t
head_find_end(const char *buf, size_t len, size_t from)
{
	const char *p = buf + from, *end = buf + len, *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (nl + 1 < end && nl[1] == '\n')
			return (size_t)(nl + 2 - buf);
		if (nl + 2 < end && nl[1] == '\r' && nl[2] == '\n')
			return (size_t)(nl + 3 - buf);
		p = nl + 1;
	}
	return 0;
}

/* ---- the request line ---- */

static enum http_method
method_lookup(struct http_str m)
{
	static const struct {
		const char *name;
		size_t len;
		enum http_method method;
	} tab[] = {
		{ "GET", 3, HTTP_M_GET }, { "HEAD", 4, HTTP_M_HEAD },
		{ "POST", 4, HTTP_M_POST }, { "PUT", 3, HTTP_M_PUT },
		{ "DELETE", 6, HTTP_M_DELETE }, { "OPTIONS", 7, HTTP_M_OPTIONS },
		{ "TRACE", 5, HTTP_M_TRACE }, { "CONNECT", 7, HTTP_M_CONNECT },
		{ "PATCH", 5, HTTP_M_PATCH },
	};
	size_t i;

	/* Methods are case-sensitive (RFC 9110 §9.1): "get" is unknown. */
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (m.len == tab[i].len && memcmp(m.p, tab[i].name, m.len) == 0)
			return tab[i].method;
	return HTTP_M_UNKNOWN;
}

/* Splits path and query out of s, which starts at the path. */
static void
target_path_query(struct http_request *req, const char *p, const char *end)
{
	const char *q = memchr(p, '?', (size_t)(end - p));

	if (q == NULL)
		q = end;
	req->path.p = p;
	req->path.len = (size_t)(q - p);
	if (req->path.len == 0) {
		req->path.p = "/"; /* absolute-form with an empty path */
		req->path.len = 1;
	}
	req->query.p = q < end ? q + 1 : end;
	req->query.len = q < end ? (size_t)(end - q - 1) : 0;
}

/* absolute-form (RFC 9112 §3.2.2): http or https, non-empty authority
 * without userinfo, which becomes the request's host. */
static int
target_absolute(struct http_request *req, struct http_str *authority)
{
	const char *p = req->target.p, *end = p + req->target.len, *a;
	size_t skip;

	if (req->target.len > 7 && strncasecmp(p, "http://", 7) == 0)
		skip = 7;
	else if (req->target.len > 8 && strncasecmp(p, "https://", 8) == 0)
		skip = 8;
	else
		return -1;
	a = p + skip;
	for (p = a; p < end && *p != '/' && *p != '?'; p++)
		if (!IS(*p, C_HOST))
			return -1;
	if (p == a)
		return -1;
	authority->p = a;
	authority->len = (size_t)(p - a);
	target_path_query(req, p, end);
	return 0;
}

/* Classifies the request-target (RFC 9112 §3.2). */
static int
target_parse(struct http_request *req, struct http_str *authority)
{
	const char *p = req->target.p;

	authority->len = 0;
	if (p[0] == '/') {
		target_path_query(req, p, p + req->target.len);
		return 0;
	}
	if (req->target.len == 1 && p[0] == '*') {
		if (req->method != HTTP_M_OPTIONS)
			return -1;
		req->path = req->target;
		req->query.p = p + 1;
		req->query.len = 0;
		return 0;
	}
	if (req->method == HTTP_M_CONNECT) {
		if (!str_is(req->target, C_HOST))
			return -1;
		*authority = req->target;
		req->path.p = p;
		req->path.len = 0;
		req->query.p = p;
		req->query.len = 0;
		return 0;
	}
	return target_absolute(req, authority);
}

/* "HTTP/1.0" or "HTTP/1.1" at p; sets *status (400 or 505) otherwise. */
static int
version_parse(const char *p, const char *end, struct http_request *req,
    int *status)
{
	*status = 400;
	if (end - p < 8 || memcmp(p, "HTTP/", 5) != 0 ||
	    p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' || p[7] > '9')
		return -1;
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1')) {
		/* Well-formed, just not ours; unless garbage follows. */
		if (end - p > 8 && p[8] != '\r' && p[8] != '\n')
			return -1;
		*status = 505;
		return -1;
	}
	req->version_minor = p[7] - '0';
	return 0;
}

/* Consumes the CRLF or LF at *pp. */
static int
eol(const char **pp, const char *end)
{
	const char *p = *pp;

	if (p < end && *p == '\n') {
		*pp = p + 1;
		return 0;
	}
	if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
		*pp = p + 2;
		return 0;
	}
	return -1;
}

/* method SP request-target SP HTTP-version CRLF (RFC 9112 §3). */
static const char *
request_line(const char *p, const char *end, struct http_request *req,
    struct http_str *authority, int *status)
{
	const char *s;

	*status = 400;
	for (s = p; p < end && IS(*p, C_TCHAR); p++)
		;
	if (p == s || p == end || *p != ' ')
		return NULL;
	req->method_str.p = s;
	req->method_str.len = (size_t)(p - s);
	req->method = method_lookup(req->method_str);
	for (s = ++p; p < end && IS(*p, C_TARGET); p++)
		;
	if (p == s || p == end || *p != ' ')
		return NULL;
	req->target.p = s;
	req->target.len = (size_t)(p - s);
	p++;
	if (version_parse(p, end, req, status) == -1)
		return NULL;
	p += 8;
	*status = 400;
	if (eol(&p, end) == -1)
		return NULL;
	if (target_parse(req, authority) == -1)
		return NULL;
	return p;
}

/* ---- fields ---- */

/*
 * Parses one field line at p (RFC 9112 §5). Returns the next line, or NULL
 * with *status set.
 */
static const char *
field_line(const char *p, const char *end, struct http_header *h, int *status)
{
	const char *s, *vend;

	*status = 400;
	for (s = p; p < end && IS(*p, C_TCHAR); p++)
		;
	if (p == s || p == end || *p != ':')
		return NULL; /* obs-fold, space before ':', bad name */
	h->name.p = s;
	h->name.len = (size_t)(p - s);
	for (p++; p < end && IS_OWS(*p); p++)
		;
	for (s = p; p < end && IS(*p, C_VALUE); p++)
		;
	for (vend = p; vend > s && IS_OWS(vend[-1]); vend--)
		;
	h->value.p = s;
	h->value.len = (size_t)(vend - s);
	if (eol(&p, end) == -1)
		return NULL; /* NUL, CTL, bare CR */
	return p;
}

static void
te_elem(struct http_str e, void *arg)
{
	struct http_fields *f = arg;

	if (e.len == 0)
		return;
	f->te_elems++;
	if (!str_is(e, C_TCHAR)) {
		f->te_bad = 1;
		f->te_last_chunked = 0;
	} else if (STR_IEQ(e, "chunked")) {
		f->te_chunked++;
		f->te_last_chunked = 1;
	} else {
		f->te_unknown = 1;
		f->te_last_chunked = 0;
	}
}

static void
conn_elem(struct http_str e, void *arg)
{
	struct http_fields *f = arg;

	if (STR_IEQ(e, "close"))
		f->conn_close = 1;
	else if (STR_IEQ(e, "keep-alive"))
		f->conn_keep_alive = 1;
}

/*
 * One Content-Length value: a list of 1*DIGIT, all equal to each other and
 * to *cl if already set (>= 0). Returns -1 when invalid or conflicting.
 */
static int
content_length(struct http_str v, int64_t *cl)
{
	const char *p = v.p, *end = v.p + v.len;
	int64_t n;

	for (;;) {
		if (p == end || *p < '0' || *p > '9')
			return -1;
		for (n = 0; p < end && *p >= '0' && *p <= '9'; p++) {
			if (n > (INT64_MAX - (*p - '0')) / 10)
				return -1;
			n = n * 10 + (*p - '0');
		}
		if (*cl >= 0 && *cl != n)
			return -1;
		*cl = n;
		while (p < end && IS_OWS(*p))
			p++;
		if (p == end)
			return 0;
		if (*p != ',')
			return -1;
		for (p++; p < end && IS_OWS(*p); p++)
			;
	}
}

/* Keeps the first instance of a field the worker reads as one value. */
static void
field_keep(struct http_str *dst, struct http_str v)
{
	if (dst->p == NULL)
		*dst = v;
}

/* Interprets the fields that matter for framing and for the worker. */
static int
field_interpret(struct http_request *req, const struct http_header *h,
    struct http_fields *f)
{
	struct http_str n = h->name;

	if (STR_IEQ(n, "host")) {
		if (++f->nhost == 1)
			req->host = h->value;
		if (!str_is(h->value, C_HOST))
			return -1;
	} else if (STR_IEQ(n, "content-length")) {
		f->ncl++;
		if (content_length(h->value, &req->content_length) == -1)
			return -1;
	} else if (STR_IEQ(n, "transfer-encoding")) {
		f->nte++;
		list_each(h->value, te_elem, f);
	} else if (STR_IEQ(n, "connection")) {
		list_each(h->value, conn_elem, f);
	} else if (STR_IEQ(n, "expect")) {
		if (STR_IEQ(h->value, "100-continue"))
			req->expect_continue = 1;
	} else if (STR_IEQ(n, "if-none-match")) {
		field_keep(&req->if_none_match, h->value);
	} else if (STR_IEQ(n, "if-match")) {
		field_keep(&req->if_match, h->value);
	} else if (STR_IEQ(n, "if-unmodified-since")) {
		field_keep(&req->if_unmodified_since, h->value);
	} else if (STR_IEQ(n, "if-modified-since")) {
		field_keep(&req->if_modified_since, h->value);
	} else if (STR_IEQ(n, "range")) {
		field_keep(&req->range, h->value);
	} else if (STR_IEQ(n, "if-range")) {
		field_keep(&req->if_range, h->value);
	} else if (STR_IEQ(n, "user-agent")) {
		field_keep(&req->user_agent, h->value);
	} else if (STR_IEQ(n, "referer")) {
		field_keep(&req->referer, h->value);
	}
	return 0;
}

/* Checks made once all fields are known: framing, Host, persistence. */
static int
fields_finish(struct http_request *req, const struct http_fields *f,
    int *status)
{
	*status = 400;
	if (f->nhost > 1 || (req->version_minor == 1 && f->nhost == 0))
		return -1;
	if (f->nte > 0) {
		if (req->version_minor == 0 || f->ncl > 0 || f->te_bad ||
		    f->te_elems == 0 || f->te_chunked > 1 ||
		    (f->te_chunked == 1 && !f->te_last_chunked))
			return -1;
		if (f->te_unknown) {
			*status = 501;
			return -1;
		}
		req->chunked = 1;
	}
	if (req->version_minor == 0)
		req->expect_continue = 0; /* RFC 9110 §10.1.1: MUST ignore */
	if (f->conn_close)
		req->keep_alive = 0;
	else if (f->conn_keep_alive)
		req->keep_alive = 1;
	else
		req->keep_alive = req->version_minor == 1;
	return 0;
}

static void
request_init(struct http_request *req)
{
	static const struct http_str none = { NULL, 0 };

	req->nheaders = 0;
	req->host = none;
	req->content_length = -1;
	req->chunked = 0;
	req->keep_alive = 0;
	req->expect_continue = 0;
	req->if_match = none;
	req->if_unmodified_since = none;
	req->if_none_match = none;
	req->if_modified_since = none;
	req->range = none;
	req->if_range = none;
	req->user_agent = none;
	req->referer = none;
}

/* Parses a complete head buf[start..end), which ends with a blank line. */
static int
head_parse(const char *p, const char *end, struct http_request *req,
    int *status)
{
	struct http_fields f;
	struct http_str authority = { NULL, 0 };
	struct http_header *h;

	request_init(req);
	memset(&f, 0, sizeof(f));
	if ((p = request_line(p, end, req, &authority, status)) == NULL)
		return -1;
	while (eol(&p, end) == -1) {
		if (req->nheaders == HTTP_MAX_HEADERS) {
			*status = 431;
			return -1;
		}
		h = &req->headers[req->nheaders++];
		if ((p = field_line(p, end, h, status)) == NULL)
			return -1;
		if (field_interpret(req, h, &f) == -1) {
			*status = 400;
			return -1;
		}
	}
	if (fields_finish(req, &f, status) == -1)
		return -1;
	if (authority.len > 0)
		req->host = authority; /* RFC 9112 §3.2.2: the target wins */
	return 0;
}

int
http_parse_request(const char *buf, size_t len, size_t max_head,
    size_t *last_len, struct http_request *req, int *status)
{
	size_t window, from, end;
	long start;

	if (max_head > INT_MAX)
		max_head = INT_MAX;
	window = len < max_head ? len : max_head;
	start = head_skip_empty(buf, window);
	/* A request line must start with a method token: answer a TLS
	 * handshake or binary junk now, not once max_head bytes are in. */
	if (start == -2 || (start >= 0 && (size_t)start < window &&
	    !IS(buf[start], C_TCHAR))) {
		*status = 400;
		return -1;
	}
	if (start >= 0) {
		/* A blank line ending at or after last_len starts at most three
		 * bytes before it ("\n\r\n"): resume there. */
		from = *last_len > 3 ? *last_len - 3 : 0;
		if (from < (size_t)start)
			from = (size_t)start;
		if (from > window)
			from = window;
		end = head_find_end(buf, window, from);
		if (end > 0)
			return head_parse(buf + start, buf + end, req, status) == 0 ?
			    (int)end : -1;
	}
	if (len >= max_head) {
		*status = start >= 0 && memchr(buf + start, '\n',
		    window - (size_t)start) != NULL ? 431 : 414;
		return -1;
	}
	*last_len = len;
	return 0;
}

int
http_tchar(unsigned char c)
{
	return IS(c, C_TCHAR) != 0;
}

const struct http_header *
http_find_header(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; i < req->nheaders; i++)
		if (str_ieq(req->headers[i].name, name, n))
			return &req->headers[i];
	return NULL;
}

/* ---- chunked bodies (RFC 9112 §7.1) ---- */

enum {
	CH_SIZE0,     /* first hex digit of a chunk-size */
	CH_SIZE,      /* more hex digits */
	CH_SIZE_WS,   /* BWS after the size: only ';' may follow */
	CH_EXT,       /* chunk extensions, skipped to CR */
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TR_START,  /* start of a trailer line or the final CRLF */
	CH_TR_NAME,
	CH_TR_VALUE,
	CH_TR_LF,
	CH_END_LF,
	CH_DONE,
	CH_ERROR,
};

/* The chunk-size line, one byte: returns the next state or CH_ERROR. */
static int
chunk_size_byte(struct http_chunked *st, unsigned char c)
{
	int d = hex_digit(c);

	if (++st->count > HTTP_CHUNK_LINE_MAX)
		return CH_ERROR;
	switch (st->state) {
	case CH_SIZE0:
		if (d < 0)
			return CH_ERROR;
		st->remaining = (uint64_t)d;
		return CH_SIZE;
	case CH_SIZE:
		if (d >= 0) {
			if (st->count > 16)
				return CH_ERROR; /* would overflow 64 bits */
			st->remaining = st->remaining << 4 | (uint64_t)d;
			return CH_SIZE;
		}
		/* FALLTHROUGH */
	case CH_SIZE_WS:
		if (IS_OWS(c))
			return CH_SIZE_WS;
		if (c == ';')
			return CH_EXT;
		return c == '\r' && st->state == CH_SIZE ? CH_SIZE_LF : CH_ERROR;
	case CH_EXT:
		if (c == '\r')
			return CH_SIZE_LF;
		return IS(c, C_VALUE) ? CH_EXT : CH_ERROR;
	}
	return CH_ERROR;
}

/* The trailer section, one byte. */
static int
chunk_trailer_byte(struct http_chunked *st, unsigned char c)
{
	if (++st->count > HTTP_CHUNK_TRAILER_MAX)
		return CH_ERROR;
	switch (st->state) {
	case CH_TR_START:
		if (c == '\r')
			return CH_END_LF;
		return IS(c, C_TCHAR) ? CH_TR_NAME : CH_ERROR;
	case CH_TR_NAME:
		if (c == ':')
			return CH_TR_VALUE;
		return IS(c, C_TCHAR) ? CH_TR_NAME : CH_ERROR;
	case CH_TR_VALUE:
		if (c == '\r')
			return CH_TR_LF;
		return IS(c, C_VALUE) ? CH_TR_VALUE : CH_ERROR;
	case CH_TR_LF:
		return c == '\n' ? CH_TR_START : CH_ERROR;
	}
	return CH_ERROR;
}

/* One framing byte outside chunk data. */
static int
chunk_byte(struct http_chunked *st, unsigned char c)
{
	switch (st->state) {
	case CH_SIZE0:
	case CH_SIZE:
	case CH_SIZE_WS:
	case CH_EXT:
		return chunk_size_byte(st, c);
	case CH_SIZE_LF:
		if (c != '\n')
			return CH_ERROR;
		st->count = 0;
		return st->remaining > 0 ? CH_DATA : CH_TR_START;
	case CH_DATA_CR:
		return c == '\r' ? CH_DATA_LF : CH_ERROR;
	case CH_DATA_LF:
		st->count = 0;
		return c == '\n' ? CH_SIZE0 : CH_ERROR;
	case CH_END_LF:
		return c == '\n' ? CH_DONE : CH_ERROR;
	default:
		return chunk_trailer_byte(st, c);
	}
}

long
http_chunked_consume(struct http_chunked *st, const char *buf, size_t len)
{
	size_t i = 0, n;

	if (st->state == CH_ERROR)
		return -1;
	if (len > LONG_MAX)
		len = LONG_MAX;
	while (i < len && st->state != CH_DONE) {
		if (st->state == CH_DATA) {
			n = len - i;
			if (n > st->remaining)
				n = (size_t)st->remaining;
			st->remaining -= n;
			i += n;
			if (st->remaining == 0)
				st->state = CH_DATA_CR;
			continue;
		}
		st->state = chunk_byte(st, (unsigned char)buf[i++]);
		if (st->state == CH_ERROR)
			return -1;
	}
	if (st->state == CH_DONE)
		st->done = 1;
	return (long)i;
}
