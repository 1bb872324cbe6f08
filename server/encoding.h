/*
 * Precompressed siblings: the Accept-Encoding parser and the
 * choice among the FILE.br, FILE.zst and FILE.gz that exist. Pure: no I/O,
 * no allocation, so it is unit-tested and fuzzed on its own.
 */
#ifndef PREFORKD_ENCODING_H
#define PREFORKD_ENCODING_H

#include <stddef.h>

#include "server/http_parse.h"

/* Server preference, which also breaks ties between equal q-values. */
enum enc {
	ENC_IDENTITY = 0,
	ENC_BR = 1,
	ENC_ZSTD = 2,
	ENC_GZIP = 3,
};
#define ENC_COUNT 4
#define ENC_BIT(e) (1u << (e))

/* q-values in thousandths; -1 when the coding was not listed. */
struct enc_prefs {
	int q[ENC_COUNT];
	int star;          /* "*" */
	int present;       /* an Accept-Encoding field was seen (even empty) */
};

/* Starts prefs empty (no field seen). */
void enc_prefs_init(struct enc_prefs *p);
/* Adds one Accept-Encoding field value (a list may span several fields).
 * Elements with a bad q-value or that are not tokens are ignored; the
 * first mention of a coding counts. */
void enc_prefs_add(struct enc_prefs *p, const char *s, size_t len);
/* Every Accept-Encoding field of req. */
void enc_prefs_from_request(struct enc_prefs *p, const struct http_request *req);
/* Acceptability of coding e in thousandths (RFC 9110 §12.5.3): 0 means not
 * acceptable. With no field at all only identity is acceptable (1000). */
int enc_quality(const struct enc_prefs *p, enum enc e);
/* The best coding among identity and the siblings in avail (ENC_BIT set):
 * highest q wins, ties go br, zstd, gzip, then identity; identity not
 * named (nor "*") loses to any acceptable coding. When nothing is
 * acceptable (identity;q=0 and no usable sibling) identity is returned:
 * sending the file beats a 406 for the clients that do this. */
enum enc enc_choose(const struct enc_prefs *p, unsigned avail);

/* "br", "zstd", "gzip" (Content-Encoding), and the file suffix ".br",
 * ".zst", ".gz"; NULL / "" for identity. */
const char *enc_name(enum enc e);
const char *enc_suffix(enum enc e);
/* True when the path ends in one of the sibling suffixes: such a file is
 * served as itself and never looked up for siblings of its own. */
int enc_is_sibling_name(const char *path, size_t len);

#endif
