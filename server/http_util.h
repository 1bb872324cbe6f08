/*
 * Pure HTTP helpers: dates, MIME types, ETags, conditionals, byte ranges.
 * No I/O and no allocation, so each is unit-testable on its own.
 */
#ifndef PREFORKD_HTTP_UTIL_H
#define PREFORKD_HTTP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "server/http_parse.h"

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Writes IMF-fixdate and a NUL into buf (>= 30 bytes). Returns 29. */
size_t http_date_format(time_t t, char *buf);
/* Parses IMF-fixdate, RFC 850 and asctime forms. Returns 0 or -1. */
int http_date_parse(const char *s, size_t len, time_t *out);
/* The same, with RFC 850 two-digit years placed relative to now instead of
 * time(NULL): within (now - 50 years, now + 50 years]. */
int http_date_parse_at(const char *s, size_t len, time_t now, time_t *out);

/* Content-Type for a path by its extension (case-insensitive); text types
 * carry "; charset=utf-8". Unknown: "application/octet-stream". */
const char *mime_type(const char *path, size_t len);

/* Strong validator from inode, size and mtime (ns), quoted:
 * "\"<mtime hex>-<size hex>-<ino hex>\"". Returns its length, buf >= 64. */
size_t etag_make(const struct stat *st, char *buf, size_t len);

enum cond_result {
	COND_PROCEED,           /* serve normally */
	COND_NOT_MODIFIED,      /* 304 */
	COND_PRECONDITION_FAILED, /* 412 */
};

/* RFC 9110 §13.2.2 for GET/HEAD, in its order: If-Match (strong
 * comparison, "*"), else If-Unmodified-Since: 412 when false; then
 * If-None-Match (weak comparison, "*"), else If-Modified-Since: 304 when
 * false. Several lines of a list field count as one comma-separated line.
 * etag_len 0: the representation has no ETag; mtime -1: no date. */
enum cond_result cond_evaluate(const struct http_request *req, const char *etag,
    size_t etag_len, time_t mtime);
/* If-Range: true when absent, or when it matches the ETag (strong) or
 * equals the Last-Modified date exactly. */
int cond_if_range_ok(const struct http_request *req, const char *etag,
    size_t etag_len, time_t mtime);

#define RANGE_MAX 16
/* More range-specs than this in one header (before coalescing): RANGE_NONE. */
#define RANGE_SPECS_MAX 64

struct byte_range {
	uint64_t first;
	uint64_t last; /* inclusive */
};

enum range_result {
	RANGE_NONE,          /* no header, or one we ignore (bad syntax, other unit): 200 */
	RANGE_OK,            /* *n ranges in out, sorted and coalesced */
	RANGE_UNSATISFIABLE, /* 416 */
};

/* Parses "bytes=..." against a representation of size bytes. More than
 * RANGE_MAX ranges after coalescing is treated as RANGE_NONE. out holds
 * RANGE_MAX entries; *n is 0 unless RANGE_OK. */
enum range_result range_parse(const char *s, size_t len, uint64_t size,
    struct byte_range *out, int *n);

#endif
