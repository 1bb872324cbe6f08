/*
 * Zero-allocation HTTP/1.x request-head parser (RFC 9112), in the manner of
 * picohttpparser: results are pointer+length pairs into the caller's buffer.
 */
#ifndef PREFORKD_HTTP_PARSE_H
#define PREFORKD_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_EMPTY_LINES 4      /* CRLFs tolerated before the request line */
#define HTTP_CHUNK_LINE_MAX 4096    /* chunk-size line with its extensions */
#define HTTP_CHUNK_TRAILER_MAX 8192 /* whole trailer section */

struct http_str {
	const char *p;
	size_t len;
};

enum http_method {
	HTTP_M_UNKNOWN = 0, /* a valid token we do not implement: 501 */
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_DELETE,
	HTTP_M_OPTIONS,
	HTTP_M_TRACE,
	HTTP_M_CONNECT,
	HTTP_M_PATCH,
};

struct http_header {
	struct http_str name;
	struct http_str value; /* leading/trailing whitespace trimmed */
};

struct http_request {
	enum http_method method;
	struct http_str method_str;
	struct http_str target;  /* request-target as sent */
	struct http_str path;    /* origin-form path, raw (not decoded); "*" for asterisk-form;
	                          * for absolute-form the path part ("/" when empty: then a
	                          * static string, not the buffer); len 0 for CONNECT's
	                          * authority-form, whose target is also in host */
	struct http_str query;   /* after '?', without it; len 0 if none */
	int version_minor;       /* HTTP/1.<minor>, 0 or 1 */
	int nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];

	/* Interpreted fields (all point into the buffer; len 0 when absent). */
	struct http_str host;    /* the absolute-form target's authority, else Host */
	int64_t content_length;  /* -1 when absent */
	int chunked;             /* Transfer-Encoding: chunked (and only that) */
	int keep_alive;          /* per version and Connection */
	int expect_continue;
	struct http_str if_match;            /* first line; cond.c finds the others */
	struct http_str if_unmodified_since;
	struct http_str if_none_match;       /* first line; cond.c finds the others */
	struct http_str if_modified_since;
	struct http_str range;
	struct http_str if_range;
	struct http_str user_agent;
	struct http_str referer;
};

/*
 * Parses one request head from buf[0..len).
 * Returns the head's length in bytes (> 0) when complete, 0 when more bytes
 * are needed, or -1 on error with *status set to the response to send
 * (400, 414 request-target too long, 431 head too large, 501 unsupported
 * transfer coding, 505 version). max_head bounds the head: once len reaches
 * it without a complete head the result is -1 (414 while still in the
 * request line, else 431). *last_len carries the bytes already scanned
 * between calls (start it at 0) so a slow client costs O(n) overall.
 * The head length includes up to HTTP_MAX_EMPTY_LINES empty lines skipped
 * before the request line. req is meaningful only when the result is > 0.
 * *last_len is relative to buf: set it to 0 for each new request (and
 * subtract any shift if the unparsed bytes are moved).
 */
int http_parse_request(const char *buf, size_t len, size_t max_head,
    size_t *last_len, struct http_request *req, int *status);

/* Whether c is a tchar, a byte of an RFC 9110 §5.6.2 token: the one
 * definition the parser and every other token reader in server/ share. */
int http_tchar(unsigned char c);

/* Case-insensitive header lookup; NULL if absent. */
const struct http_header *http_find_header(const struct http_request *req, const char *name);

/* Decoder for a chunked request body that is read and discarded. */
struct http_chunked {
	int state;          /* private: zero-fill before the first call */
	uint64_t remaining; /* private */
	int done;           /* set once the last chunk and trailers are consumed */
	uint32_t count;     /* private: bytes in the current size line or trailers */
};

/* Consumes body bytes from buf[0..len). Returns bytes consumed (stops at the
 * end of the body), or -1 on malformed input. Any split of the body across
 * calls gives the same result; after done it consumes nothing (returns 0),
 * after an error it keeps returning -1. */
long http_chunked_consume(struct http_chunked *st, const char *buf, size_t len);

#endif
