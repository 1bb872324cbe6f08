/*
 * libFuzzer target for server/http_parse.c. The input is parsed as a request
 * head (max_head 8192) at once and again in two reads split at a point the
 * input chooses; both must agree on the result and every field. When the
 * head says chunked, the rest is fed to the chunked decoder at once, split,
 * and byte by byte, which must also agree. Buffers are copied to exact-size
 * allocations so ASan sees any read past len.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_parse.h"

#define MAX_HEAD 8192

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* s lies inside buf[0..len), or is empty, or the static "/" of an
 * absolute-form target without a path. Returns its offset (or -1). */
static long
str_off(struct http_str s, const char *buf, size_t len)
{
	if (s.p == NULL) {
		check(s.len == 0);
		return -1;
	}
	if (s.p >= buf && s.p <= buf + len) {
		check(s.len <= (size_t)(buf + len - s.p));
		return (long)(s.p - buf);
	}
	check(s.len == 1 && s.p[0] == '/');
	return -2;
}

static void
same_str(struct http_str a, const char *abuf, struct http_str b,
    const char *bbuf, size_t len)
{
	check(a.len == b.len);
	check(str_off(a, abuf, len) == str_off(b, bbuf, len));
}

static void
same_request(const struct http_request *a, const char *abuf,
    const struct http_request *b, const char *bbuf, size_t len)
{
	int i;

	check(a->method == b->method && a->version_minor == b->version_minor);
	check(a->version_minor == 0 || a->version_minor == 1);
	check(a->nheaders == b->nheaders && a->nheaders <= HTTP_MAX_HEADERS);
	check(a->content_length == b->content_length && a->content_length >= -1);
	check(a->chunked == b->chunked && a->keep_alive == b->keep_alive);
	check(!(a->chunked && a->content_length >= 0));
	check(a->expect_continue == b->expect_continue);
	same_str(a->method_str, abuf, b->method_str, bbuf, len);
	same_str(a->target, abuf, b->target, bbuf, len);
	same_str(a->path, abuf, b->path, bbuf, len);
	same_str(a->query, abuf, b->query, bbuf, len);
	same_str(a->host, abuf, b->host, bbuf, len);
	same_str(a->range, abuf, b->range, bbuf, len);
	same_str(a->if_none_match, abuf, b->if_none_match, bbuf, len);
	same_str(a->if_modified_since, abuf, b->if_modified_since, bbuf, len);
	same_str(a->if_range, abuf, b->if_range, bbuf, len);
	same_str(a->user_agent, abuf, b->user_agent, bbuf, len);
	same_str(a->referer, abuf, b->referer, bbuf, len);
	for (i = 0; i < a->nheaders; i++) {
		same_str(a->headers[i].name, abuf, b->headers[i].name, bbuf, len);
		same_str(a->headers[i].value, abuf, b->headers[i].value, bbuf, len);
	}
}

static char *
dup_exact(const uint8_t *data, size_t len)
{
	char *p = malloc(len ? len : 1);

	check(p != NULL);
	if (len)
		memcpy(p, data, len);
	return p;
}

/* Runs the decoder over body at once, split at cut, and byte by byte. */
static void
fuzz_chunked(const uint8_t *data, size_t len, size_t cut)
{
	struct http_chunked a, b, c;
	char *buf = dup_exact(data, len), *piece;
	long ra, rb, rc, r;
	size_t i;

	memset(&a, 0, sizeof(a));
	ra = http_chunked_consume(&a, buf, len);
	check(ra >= -1 && ra <= (long)len);
	check(ra == -1 || a.done || ra == (long)len);

	memset(&b, 0, sizeof(b));
	piece = dup_exact(data, cut);
	rb = http_chunked_consume(&b, piece, cut);
	free(piece);
	if (rb != -1 && !b.done) {
		r = http_chunked_consume(&b, buf + cut, len - cut);
		rb = r == -1 ? -1 : rb + r;
	}
	check(ra == rb && (ra == -1 || a.done == b.done));

	memset(&c, 0, sizeof(c));
	for (i = 0, rc = 0; i < len && !c.done; i++) {
		piece = dup_exact(data + i, 1);
		r = http_chunked_consume(&c, piece, 1);
		free(piece);
		if (r == -1) {
			rc = -1;
			break;
		}
		rc += r;
	}
	check(ra == rc && (ra == -1 || a.done == c.done));
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request ra, rb;
	size_t la = 0, lb = 0, cut;
	int a, b, sa = 0, sb = 0;
	char *whole, *prefix, *base;

	cut = size ? (data[0] * 131u + data[size - 1]) % (size + 1) : 0;
	whole = dup_exact(data, size);
	a = http_parse_request(whole, size, MAX_HEAD, &la, &ra, &sa);
	check(a >= -1 && a <= (int)size && a <= MAX_HEAD);
	if (a == -1)
		check(sa == 400 || sa == 414 || sa == 431 || sa == 501 || sa == 505);

	prefix = dup_exact(data, cut);
	base = prefix;
	b = http_parse_request(prefix, cut, MAX_HEAD, &lb, &rb, &sb);
	if (b == 0) {
		check(lb == cut);
		base = whole;
		b = http_parse_request(whole, size, MAX_HEAD, &lb, &rb, &sb);
	}
	check(a == b);
	if (a == -1)
		check(sa == sb);
	if (a > 0)
		same_request(&ra, whole, &rb, base, (size_t)a);
	free(prefix);
	if (a > 0 && ra.chunked)
		fuzz_chunked(data + a, size - (size_t)a, cut > (size_t)a ?
		    cut - (size_t)a : 0);
	else
		fuzz_chunked(data, size, cut);
	free(whole);
	return 0;
}
