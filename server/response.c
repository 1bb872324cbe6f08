#include "server/response.h"
#include "ipc/base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/path.h"

#define ALLOW_METHODS "GET, HEAD, OPTIONS"
#define HTML_TYPE "text/html; charset=utf-8"

struct status_text {
	int status;
	const char *reason;
};

static const struct status_text statuses[] = {
	{ 200, "OK" }, { 204, "No Content" }, { 206, "Partial Content" },
	{ 301, "Moved Permanently" }, { 304, "Not Modified" },
	{ 400, "Bad Request" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" }, { 414, "URI Too Long" },
	{ 416, "Range Not Satisfiable" }, { 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
	{ 503, "Service Unavailable" }, { 505, "HTTP Version Not Supported" },
};

const char *
response_reason(int status)
{
	size_t i;

	for (i = 0; i < nitems(statuses); i++) {
		if (statuses[i].status == status)
			return statuses[i].reason;
	}
	return "Unknown";
}

/* Error pages are built once: "<html>...<h1>404 Not Found</h1>...". */
#define PAGE_MAX 192
static char pages[nitems(statuses)][PAGE_MAX];
static size_t page_lens[nitems(statuses)];

const char *
response_error_page(int status, size_t *len)
{
	size_t i;
	int n;

	for (i = 0; i < nitems(statuses); i++) {
		if (statuses[i].status != status)
			continue;
		if (page_lens[i] == 0) {
			n = snprintf(pages[i], PAGE_MAX, "<!DOCTYPE html>\n<html><head><title>%d %s"
			    "</title></head>\n<body><h1>%d %s</h1></body></html>\n",
			    status, statuses[i].reason, status, statuses[i].reason);
			page_lens[i] = n > 0 && n < PAGE_MAX ? (size_t)n : 0;
		}
		*len = page_lens[i];
		return pages[i];
	}
	*len = 0;
	return "";
}

/* Appends into a buffer that may be too small: out->len keeps counting so
 * the caller learns the size it needs. */
struct hbuf {
	char *p;
	size_t cap;
	size_t len;
};

static void
hb_put(struct hbuf *b, const char *s, size_t n)
{
	if (b->len + n <= b->cap)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
hb_str(struct hbuf *b, const char *s)
{
	hb_put(b, s, strlen(s));
}

static size_t
u64_format(uint64_t v, char *out)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static void
hb_u64(struct hbuf *b, uint64_t v)
{
	char tmp[24];

	hb_put(b, tmp, u64_format(v, tmp));
}

static void
hb_field(struct hbuf *b, const char *name, size_t nlen, const char *v, size_t vlen)
{
	hb_put(b, name, nlen);
	hb_put(b, v, vlen);
	hb_put(b, "\r\n", 2);
}

#define HB_FIELD(b, name, v, vlen) hb_field((b), name, sizeof(name) - 1, (v), (vlen))

size_t
response_head(char *buf, size_t cap, const struct response_head *h)
{
	struct hbuf b = { buf, cap, 0 };

	hb_put(&b, "HTTP/1.1 ", 9);
	hb_u64(&b, (uint64_t)h->status);
	hb_put(&b, " ", 1);
	hb_str(&b, response_reason(h->status));
	hb_put(&b, "\r\n", 2);
	if (h->date != NULL)
		HB_FIELD(&b, "Date: ", h->date, strlen(h->date));
	hb_str(&b, "Server: preforkd\r\n");
	if (h->block != NULL)
		hb_put(&b, h->block, h->block_len);
	if (h->ctype != NULL)
		HB_FIELD(&b, "Content-Type: ", h->ctype, strlen(h->ctype));
	if (h->lastmod != NULL)
		HB_FIELD(&b, "Last-Modified: ", h->lastmod, strlen(h->lastmod));
	if (h->etag != NULL)
		HB_FIELD(&b, "ETag: ", h->etag, h->etag_len);
	if (h->accept_ranges)
		hb_str(&b, "Accept-Ranges: bytes\r\n");
	if (h->content_encoding != NULL)
		HB_FIELD(&b, "Content-Encoding: ", h->content_encoding, strlen(h->content_encoding));
	if (h->vary_ae)
		hb_str(&b, "Vary: Accept-Encoding\r\n");
	if (h->cache_control != NULL)
		HB_FIELD(&b, "Cache-Control: ", h->cache_control, h->cache_control_len);
	if (h->extra != NULL)
		hb_put(&b, h->extra, h->extra_len);
	if (h->content_range != NULL)
		HB_FIELD(&b, "Content-Range: ", h->content_range, strlen(h->content_range));
	if (h->location != NULL)
		HB_FIELD(&b, "Location: ", h->location, h->location_len);
	if (h->allow != NULL)
		HB_FIELD(&b, "Allow: ", h->allow, strlen(h->allow));
	if (h->content_length >= 0) {
		hb_put(&b, "Content-Length: ", 16);
		hb_u64(&b, (uint64_t)h->content_length);
		hb_put(&b, "\r\n", 2);
	}
	if (h->connection == RESPONSE_CONN_CLOSE)
		hb_str(&b, "Connection: close\r\n");
	else if (h->connection == RESPONSE_CONN_KEEPALIVE)
		hb_str(&b, "Connection: keep-alive\r\n");
	hb_put(&b, "\r\n", 2);
	return b.len;
}

void
response_date_update(struct response_ctx *ctx, time_t now)
{
	if (now == ctx->date_t && ctx->date[0] != '\0')
		return;
	ctx->date_t = now;
	http_date_format(now, ctx->date);
}

void
response_reset(struct reply *r)
{
	char *hdr = r->hdr;
	size_t cap = r->hdr_cap;

	memset(r, 0, sizeof(*r));
	r->hdr = hdr;
	r->hdr_cap = cap;
	r->fd = -1;
}

void
response_release(struct response_ctx *ctx, struct reply *r)
{
	if (r->fe != NULL)
		file_cache_put(ctx->fc, r->fe);
	r->fe = NULL;
	r->fd = -1;
	free(r->heap);
	r->heap = NULL;
	if (r->heap_hdr != NULL) {
		free(r->heap_hdr);
		r->heap_hdr = NULL;
		r->hdr = NULL;
	}
}

/* The allocator for long heads; tests replace it to inject a failure. */
void *(*response_malloc)(size_t) = malloc;

/* The head of a 500 that must fit the caller's buffer: no Location, no
 * block, so a few hundred bytes at most. */
static void
reply_head_failed(struct reply *r, const char *date)
{
	struct response_head h = { .status = 500, .date = date,
	    .ctype = "text/html; charset=utf-8", .content_length = 0,
	    .connection = RESPONSE_CONN_CLOSE };
	size_t need = response_head(r->hdr, r->hdr_cap, &h);

	r->status = 500;
	r->close = 1;
	r->nseg = 0;
	r->body_len = 0;
	r->sealed = 1;    /* no caller may append a body now */
	r->hdr_len = need <= r->hdr_cap ? need : 0;  /* 0: close without a reply */
}

/* Encodes the head into r->hdr, or into a heap buffer when it is too long
 * (long Location). When that buffer cannot be had, the reply becomes an
 * empty 500 that closes (or, with no room for even that, a bare close):
 * never a body without its head. */
static void
reply_head(struct reply *r, struct response_head *h, int keepalive_hdr)
{
	size_t need;
	char *p;

	h->connection = r->close ? RESPONSE_CONN_CLOSE :
	    keepalive_hdr ? RESPONSE_CONN_KEEPALIVE : RESPONSE_CONN_NONE;
	response_site_head(r, h);
	need = response_head(r->hdr, r->hdr_cap, h);
	if (need <= r->hdr_cap) {
		r->hdr_len = need;
		return;
	}
	if ((p = response_malloc(need)) == NULL) {
		reply_head_failed(r, h->date);
		return;
	}
	r->heap_hdr = p;
	r->hdr = p;
	r->hdr_cap = need;
	r->hdr_len = response_head(p, need, h);
}

static void
reply_seg(struct reply *r, const char *p, uint64_t off, uint64_t len)
{
	if (r->head_only || len == 0 || r->sealed)
		return;
	r->seg[r->nseg].p = p;
	r->seg[r->nseg].off = off;
	r->seg[r->nseg].len = len;
	r->nseg++;
	r->body_len += len;
}

static int
status_needs_close(int status)
{
	return status == 400 || status == 408 || status == 413 || status == 414 ||
	    status == 431 || status == 501 || status == 505 || status >= 500;
}

/* Completes a reply whose body is the small HTML page of h->status (an
 * error, a redirect or a 416), after the fields h already holds. */
static void
reply_page(struct reply *r, struct response_head *h, int keepalive_hdr)
{
	size_t len;
	const char *page = response_error_page(h->status, &len);

	h->content_length = (int64_t)len;
	r->status = h->status;
	reply_head(r, h, keepalive_hdr);
	reply_seg(r, page, 0, len);
}

static void
reply_error(struct response_ctx *ctx, int status, struct reply *r, int keepalive_hdr)
{
	struct response_head h = { .status = status, .date = ctx->date,
	    .ctype = HTML_TYPE, .content_length = -1 };

	if (status_needs_close(status))
		r->close = 1;
	if (status == 405)
		h.allow = ALLOW_METHODS;
	reply_page(r, &h, keepalive_hdr);
}

void
response_error(struct response_ctx *ctx, int status, struct reply *r)
{
	r->close = 1;
	response_site(ctx, r, NULL, 0, 0);
	reply_error(ctx, status, r, 0);
}

static int
errno_status(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case EXDEV:        /* a symlink out of the root: do not reveal it */
	case ELOOP:
	case ENAMETOOLONG:
		return 404;
	case EACCES:
	case EPERM:        /* not a regular file */
	case ENXIO:        /* a socket or a device without a driver */
		return 403;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return 503;
	default:
		return 500;
	}
}

static void
reply_body(struct reply *r, const struct file_entry *fe, uint64_t off, uint64_t len)
{
	if (fe->body != NULL)
		reply_seg(r, fe->body + off, 0, len);
	else
		reply_seg(r, NULL, off, len);
}

static size_t
range_format(char *buf, uint64_t first, uint64_t last, uint64_t size)
{
	size_t n = 0;

	memcpy(buf, "bytes ", 6);
	n = 6;
	n += u64_format(first, buf + n);
	buf[n++] = '-';
	n += u64_format(last, buf + n);
	buf[n++] = '/';
	n += u64_format(size, buf + n);
	buf[n] = '\0';
	return n;
}

static void
serve_416(struct response_ctx *ctx, struct reply *r, uint64_t size, int ka)
{
	struct response_head h = { .status = 416, .date = ctx->date,
	    .ctype = HTML_TYPE, .content_length = -1 };
	char cr[48];
	size_t n;

	memcpy(cr, "bytes */", 8);
	n = 8 + u64_format(size, cr + 8);
	cr[n] = '\0';
	h.content_range = cr;
	reply_page(r, &h, ka);
}

/* multipart/byteranges (RFC 9110 §14.6): the part headers and the closing
 * delimiter live in one heap block, the data segments between them. */
static void
serve_multipart(struct response_ctx *ctx, struct reply *r, struct file_entry *fe,
    const struct byte_range *rg, int n, int ka)
{
	struct response_head h = { .status = 206, .date = ctx->date,
	    .lastmod = fe->lastmod, .etag = fe->etag, .etag_len = fe->etag_len,
	    .accept_ranges = 1, .content_length = -1 };
	char ctype[64], boundary[24], cr[80];
	size_t cap, used = 0, plen;
	uint64_t total = 0, size = fe->st.st_size;
	const char *part[RANGE_MAX];
	size_t partlen[RANGE_MAX];
	int i, head_only = r->head_only;

	snprintf(boundary, sizeof(boundary), "%08x%08x", (unsigned)getpid(),
	    (unsigned)++ctx->boundary_seq);
	snprintf(ctype, sizeof(ctype), "multipart/byteranges; boundary=%s", boundary);
	/* Per part: delimiter and two fields around a ctype and a Content-Range
	 * of at most 6 + 3 * 20 + 2 characters: 57 + 68 < 128. */
	cap = (size_t)n * (128 + strlen(fe->ctype)) + 64;
	if ((r->heap = malloc(cap)) == NULL) {
		reply_error(ctx, 503, r, ka);
		return;
	}
	for (i = 0; i < n; i++) {
		range_format(cr, rg[i].first, rg[i].last, size);
		plen = (size_t)snprintf(r->heap + used, cap - used,
		    "%s--%s\r\nContent-Type: %s\r\nContent-Range: %s\r\n\r\n",
		    i == 0 ? "" : "\r\n", boundary, fe->ctype, cr);
		if (plen >= cap - used)
			goto fail;
		part[i] = r->heap + used;
		partlen[i] = plen;
		used += plen;
		total += plen + (rg[i].last - rg[i].first + 1);
	}
	plen = (size_t)snprintf(r->heap + used, cap - used, "\r\n--%s--\r\n", boundary);
	if (plen >= cap - used)
		goto fail;
	total += plen;
	r->status = 206;
	h.ctype = ctype;
	h.content_length = (int64_t)total;
	reply_head(r, &h, ka);
	if (head_only || r->hdr_len == 0)
		return;
	for (i = 0; i < n; i++) {
		reply_seg(r, part[i], 0, partlen[i]);
		reply_body(r, fe, rg[i].first, rg[i].last - rg[i].first + 1);
	}
	reply_seg(r, r->heap + used, 0, plen);
	return;
fail:
	reply_error(ctx, 500, r, ka);
}

static void
serve_rep(struct response_ctx *ctx, const struct http_request *req,
    struct reply *r, struct file_entry *fe)
{
	struct response_head h = { .date = ctx->date, .content_length = -1 };
	struct byte_range rg[RANGE_MAX];
	enum range_result rr = RANGE_NONE;
	uint64_t size = fe->st.st_size;
	int n = 0, ka = req->version_minor == 0;
	enum cond_result cond;
	char cr[80];

	r->fe = fe;
	r->fd = fe->fd;
	cond = cond_evaluate(req, fe->etag, fe->etag_len, fe->st.st_mtime);
	if (cond == COND_PRECONDITION_FAILED) {
		reply_error(ctx, 412, r, ka);
		return;
	}
	if (cond == COND_NOT_MODIFIED) {
		r->status = h.status = 304;
		h.lastmod = fe->lastmod;
		h.etag = fe->etag;
		h.etag_len = fe->etag_len;
		reply_head(r, &h, ka);
		return;
	}
	if (req->range.len > 0 && cond_if_range_ok(req, fe->etag, fe->etag_len, fe->st.st_mtime))
		rr = range_parse(req->range.p, req->range.len, size, rg, &n);
	if (rr == RANGE_UNSATISFIABLE) {
		serve_416(ctx, r, size, ka);
		return;
	}
	if (rr == RANGE_OK && n > 1) {
		serve_multipart(ctx, r, fe, rg, n, ka);
		return;
	}
	h.block = fe->hdr;
	h.block_len = fe->hdr_len;
	if (rr == RANGE_OK) {
		range_format(cr, rg[0].first, rg[0].last, size);
		r->status = h.status = 206;
		h.content_range = cr;
		h.content_length = (int64_t)(rg[0].last - rg[0].first + 1);
		reply_head(r, &h, ka);
		reply_body(r, fe, rg[0].first, (uint64_t)h.content_length);
		return;
	}
	r->status = h.status = 200;
	h.content_length = (int64_t)size;
	reply_head(r, &h, ka);
	reply_body(r, fe, 0, size);
}

/* The representation the request accepts (a precompressed sibling or
 * the file itself), then the conditionals and ranges on it. */
static void
serve_file(struct response_ctx *ctx, const struct http_request *req,
    struct reply *r, struct file_entry *fe)
{
	serve_rep(ctx, req, r, precompressed_pick(ctx, req, r, fe));
}

/*
 * 301 to the slash form of the normalised path, the query kept. Built from
 * rel (no empty segments, percent-encoded), never from the raw path, so the
 * Location always starts with one '/' followed by a name or nothing: never
 * "//host" or "/\host", which browsers take for another server.
 */
static void
serve_redirect(struct response_ctx *ctx, const struct http_request *req,
    struct reply *r, const char *rel, int ka)
{
	struct response_head h = { .status = 301, .date = ctx->date,
	    .ctype = HTML_TYPE, .content_length = -1 };
	size_t n, cap = strlen(rel) * 3 + req->query.len + 4;
	int enc;

	if ((r->heap = malloc(cap)) == NULL) {
		reply_error(ctx, 503, r, ka);
		return;
	}
	r->heap[0] = '/';
	if ((enc = url_encode_path(rel, r->heap + 1, cap - 1)) == -1) {
		reply_error(ctx, 500, r, ka);
		return;
	}
	n = 1 + (size_t)enc;
	if (n > 1)
		r->heap[n++] = '/';
	if (req->query.len > 0) {
		r->heap[n++] = '?';
		memcpy(r->heap + n, req->query.p, req->query.len);
		n += req->query.len;
	}
	h.location = r->heap;
	h.location_len = n;
	reply_page(r, &h, ka);
}

/* A listing has no validators: of the preconditions only "*" can match
 * (If-Match) or fail (If-None-Match), and the dates are ignored. */
static void
serve_listing(struct response_ctx *ctx, const struct http_request *req,
    struct reply *r, int dirfd, const char *rel)
{
	struct response_head h = { .status = 200, .date = ctx->date,
	    .ctype = HTML_TYPE, .content_length = -1 };
	char url[PATH_MAX + 2];
	size_t len = 0;
	int ka = req->version_minor == 0;

	switch (cond_evaluate(req, "", 0, (time_t)-1)) {
	case COND_PRECONDITION_FAILED:
		reply_error(ctx, 412, r, ka);
		return;
	case COND_NOT_MODIFIED:
		r->status = h.status = 304;
		h.ctype = NULL;
		reply_head(r, &h, ka);
		return;
	case COND_PROCEED:
		break;
	}
	snprintf(url, sizeof(url), "/%s%s", rel, rel[0] != '\0' ? "/" : "");
	if (ctx->params->site.autoindex_format == SITE_LIST_JSON) {
		h.ctype = "application/json; charset=utf-8";
		r->heap = autoindex_render_json(ctx->rootfd, rel, dirfd,
		    ctx->params->dotfiles_allow, &len);
	} else
		r->heap = autoindex_render(ctx->rootfd, rel, dirfd, url,
		    ctx->params->dotfiles_allow, &len);
	if (r->heap == NULL) {
		reply_error(ctx, errno_status(errno), r, ka);
		return;
	}
	r->status = 200;
	h.content_length = (int64_t)len;
	reply_head(r, &h, ka);
	reply_seg(r, r->heap, 0, len);
}

/* A path that ended in '/': the index file, else a listing, else 403. */
static void
serve_dir(struct response_ctx *ctx, const struct http_request *req,
    struct reply *r, const char *rel, size_t rlen)
{
	const struct worker_params *p = ctx->params;
	char idx[PATH_MAX + 300];
	struct file_entry *fe;
	int ka = req->version_minor == 0, fd, n;

	if (p->index[0] != '\0') {
		n = snprintf(idx, sizeof(idx), "%s%s%s", rel, rlen > 0 ? "/" : "", p->index);
		if (n > 0 && (size_t)n < sizeof(idx)) {
			if (file_cache_get(ctx->fc, idx, n, ctx->now_ms, &fe) == 0) {
				serve_file(ctx, req, r, fe);
				return;
			}
			if (errno != ENOENT && errno != EISDIR) {
				reply_error(ctx, errno_status(errno), r, ka);
				return;
			}
		}
	}
	fd = path_open_beneath(ctx->rootfd, rlen > 0 ? rel : ".", O_RDONLY | O_DIRECTORY);
	if (fd == -1) {
		reply_error(ctx, errno_status(errno), r, ka);
		return;
	}
	if (p->autoindex)
		serve_listing(ctx, req, r, fd, rel);
	else
		reply_error(ctx, 403, r, ka);
	close(fd);
}

static void
serve_path(struct response_ctx *ctx, const struct http_request *req, struct reply *r)
{
	char rel[PATH_MAX];
	struct file_entry *fe;
	int dir_slash = 0, ka = req->version_minor == 0;
	size_t rlen;

	if (path_decode(req->path.p, req->path.len, rel, sizeof(rel), &dir_slash) == -1) {
		reply_error(ctx, 400, r, ka);
		return;
	}
	if (!ctx->params->dotfiles_allow && path_is_dotfile(rel)) {
		reply_error(ctx, 404, r, ka);
		return;
	}
	rlen = strlen(rel);
	response_site(ctx, r, rel, rlen, dir_slash);
	/* "/a/.." names the root but a listing there would resolve its
	 * relative links against /a/: send the client to the slash form. */
	if (rlen == 0 && !dir_slash) {
		serve_redirect(ctx, req, r, rel, ka);
		return;
	}
	if (dir_slash || rlen == 0) {
		serve_dir(ctx, req, r, rel, rlen);
		return;
	}
	if (file_cache_get(ctx->fc, rel, rlen, ctx->now_ms, &fe) == 0)
		serve_file(ctx, req, r, fe);
	else if (errno == EISDIR)
		serve_redirect(ctx, req, r, rel, ka);
	else
		reply_error(ctx, errno_status(errno), r, ka);
}

void
response_build(struct response_ctx *ctx, const struct http_request *req,
    struct reply *r)
{
	struct response_head h = { .status = 204, .date = ctx->date,
	    .allow = ALLOW_METHODS, .content_length = -1 };
	int ka = req->version_minor == 0;

	r->head_only = req->method == HTTP_M_HEAD;
	response_site(ctx, r, NULL, 0, 0);
	/* A body we will not read leaves the framing in doubt: close. */
	if ((req->content_length > 0 || req->chunked) &&
	    req->method != HTTP_M_GET && req->method != HTTP_M_HEAD)
		r->close = 1;
	switch (req->method) {
	case HTTP_M_GET:
	case HTTP_M_HEAD:
		break;
	case HTTP_M_OPTIONS:
		r->status = 204;
		reply_head(r, &h, ka);
		return;
	case HTTP_M_UNKNOWN:
		reply_error(ctx, 501, r, ka);
		return;
	default:
		reply_error(ctx, 405, r, ka);
		return;
	}
	if (req->path.len == 0 || req->path.p[0] != '/') {
		reply_error(ctx, 400, r, ka);
		return;
	}
	serve_path(ctx, req, r);
}
