/*
 * For the response tests: build a reply into a caller's head buffer and
 * read it back as text (head, and a body gathered from its segments, file
 * segments read with pread).
 */
#ifndef PREFORKD_TEST_REPLY_TEXT_H
#define PREFORKD_TEST_REPLY_TEXT_H

#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "server/response.h"

static inline void
reply_run(struct response_ctx *ctx, const struct http_request *req, struct reply *r,
    char *hdr, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->hdr = hdr;
	r->hdr_cap = cap;
	response_reset(r);
	response_build(ctx, req, r);
}

static inline char *
reply_head_text(const struct reply *r)
{
	static char s[16384];

	memcpy(s, r->hdr, r->hdr_len);
	s[r->hdr_len] = '\0';
	return s;
}

static inline char *
reply_body_text(const struct reply *r)
{
	static char s[65536];
	size_t n = 0;

	for (int i = 0; i < r->nseg; i++) {
		if (r->seg[i].p != NULL)
			memcpy(s + n, r->seg[i].p, r->seg[i].len);
		else
			cr_assert_eq(pread(r->fd, s + n, r->seg[i].len, r->seg[i].off),
			    (ssize_t)r->seg[i].len);
		n += r->seg[i].len;
	}
	s[n] = '\0';
	return s;
}

#endif
