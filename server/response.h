/*
 * Responses: from a parsed request to a reply (a header block plus body
 * segments from memory or from a file), and the header encoder itself.
 *
 * response_build() decides everything a request can produce: method
 * handling (OPTIONS 204, 405, 501), path resolution beneath the root,
 * directory redirects, index files and listings, conditionals (304), byte
 * ranges (206, multipart/byteranges, 416) and error pages. It does no
 * socket I/O, so tests can drive it over a temporary directory; conn.c
 * only sends what it produced.
 */
#ifndef PREFORKD_RESPONSE_H
#define PREFORKD_RESPONSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/file.h"
#include "server/http_parse.h"
#include "server/http_util.h"
#include "server/worker_params.h"

#define REPLY_SEGS (2 * RANGE_MAX + 2)

/* One stretch of body: memory (p != NULL) or the reply's file at off. */
struct reply_seg {
	const char *p;
	uint64_t off;
	uint64_t len;
};

struct reply {
	int status;
	int close;                /* in: the connection must close; out: it will */
	int head_only;            /* HEAD: headers as for GET, no body */
	int sealed;               /* the head failed: no body may follow */
	char *hdr;                /* caller's buffer (or heap when it did not fit) */
	size_t hdr_cap;
	size_t hdr_len;
	struct reply_seg seg[REPLY_SEGS];
	int nseg;
	uint64_t body_len;        /* sum of seg lengths */
	struct file_entry *fe;    /* pinned file, or NULL */
	int fd;                   /* file the segments read from, -1 if none */
	char *heap;               /* listing, multipart headers or a long head */
	char *heap_hdr;           /* head that did not fit in hdr_cap */
	/* Static-site fields (server/site.h), copied into every head by
	 * reply_head. */
	const char *content_encoding; /* the coded sibling sent (200/206 only) */
	int vary_ae;              /* the file has siblings: Vary: Accept-Encoding */
	const char *cache_control; /* matched rule (status < 400 only) */
	size_t cache_control_len;
	const char *extra;        /* add_header block, every response */
	size_t extra_len;
};

struct response_ctx {
	const struct worker_params *params;
	struct file_cache *fc;
	int rootfd;
	time_t date_t;
	char date[32];            /* IMF-fixdate of date_t */
	int64_t now_ms;
	uint32_t boundary_seq;
};

/* Fields of a response head, emitted in this order (absent when NULL/-1):
 * status line, Date, Server, block (a prepared header block), Content-Type,
 * Last-Modified, ETag, Accept-Ranges, Content-Range, Location, Allow,
 * Content-Length, Connection, the empty line. */
struct response_head {
	int status;
	const char *date;
	const char *block;
	size_t block_len;
	const char *ctype;
	const char *lastmod;
	const char *etag;
	size_t etag_len;
	int accept_ranges;
	const char *content_range;
	const char *location;
	size_t location_len;
	const char *allow;
	int64_t content_length;
	int connection;           /* RESPONSE_CONN_* */
	/* After Accept-Ranges, in this order. */
	const char *content_encoding;
	int vary_ae;
	const char *cache_control;
	size_t cache_control_len;
	const char *extra;        /* complete "Name: value\r\n" lines */
	size_t extra_len;
};

enum { RESPONSE_CONN_NONE, RESPONSE_CONN_CLOSE, RESPONSE_CONN_KEEPALIVE };

/* Encodes h into buf. Returns the full length; writes only when it fits in
 * cap (like snprintf, without the NUL). */
size_t response_head(char *buf, size_t cap, const struct response_head *h);
/* "OK", "Not Found", ...; "Unknown" otherwise. */
const char *response_reason(int status);
/* The small HTML error page for status, and its length. */
const char *response_error_page(int status, size_t *len);

/* Refreshes ctx->date when the second changed. */
void response_date_update(struct response_ctx *ctx, time_t now);

/* r->hdr, hdr_cap and close set by the caller; fills the rest (head_only
 * from req's method). A kept-alive HTTP/1.0 reply says "Connection:
 * keep-alive", a 1.1 one nothing. */
void response_build(struct response_ctx *ctx, const struct http_request *req,
    struct reply *r);
/* An error reply with no request to go by (parse errors, timeouts). */
void response_error(struct response_ctx *ctx, int status, struct reply *r);
/* Swaps the pinned fe for the precompressed sibling the request accepts
 * best, if any (server/precompressed.c); sets r's encoding and Vary. */
struct file_entry *precompressed_pick(struct response_ctx *ctx,
    const struct http_request *req, struct reply *r, struct file_entry *fe);
/* Sets r's add_header block and, from the decoded path, Cache-Control. */
void response_site(const struct response_ctx *ctx, struct reply *r,
    const char *rel, size_t rlen, int dir_slash);
/* Copies r's static-site fields (encoding, Vary, Cache-Control, extra
 * headers) into h, by h->status. */
void response_site_head(const struct reply *r, struct response_head *h);
/* malloc, except in tests that make long heads fail. */
extern void *(*response_malloc)(size_t);
/* Releases the pin and the heap of a finished (or abandoned) reply. */
void response_release(struct response_ctx *ctx, struct reply *r);
/* Resets r to empty, keeping hdr and hdr_cap. */
void response_reset(struct reply *r);

#endif
