/*
 * The worker's side of docs/ARCHITECTURE.md: Static-site features in a response: picking a precompressed
 * sibling, the Cache-Control rule, and the add_header block. response.c
 * calls in at three narrow points; the rest is here.
 */
#include <limits.h>
#include <string.h>

#include "server/encoding.h"
#include "server/response.h"
#include "server/site.h"

/* In whole seconds, as the probe in file.c compares. */
static int
st_not_older(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec >= b->st_mtim.tv_sec;
}

/*
 * The probe in the file cache says which siblings existed a moment ago;
 * each candidate is opened beneath the root and checked again (regular,
 * not older), best first, at most ENC_COUNT - 1 tries.
 */
struct file_entry *
precompressed_pick(struct response_ctx *ctx, const struct http_request *req,
    struct reply *r, struct file_entry *fe)
{
	struct enc_prefs prefs;
	struct file_entry *se;
	unsigned avail = fe->siblings;
	enum enc e;

	if (!ctx->params->site.precompressed || avail == 0 || fe->enc != 0)
		return fe;
	r->vary_ae = 1;
	enc_prefs_from_request(&prefs, req);
	while ((e = enc_choose(&prefs, avail)) != ENC_IDENTITY) {
		avail &= ~ENC_BIT(e);
		if (file_cache_get_enc(ctx->fc, fe->key, fe->keylen, e, ctx->now_ms, &se) != 0)
			continue;
		if (!st_not_older(&se->st, &fe->st)) {
			file_cache_put(ctx->fc, se);
			continue;
		}
		r->content_encoding = enc_name(e);
		file_cache_put(ctx->fc, fe);
		return se;
	}
	return fe;
}

void
response_site(const struct response_ctx *ctx, struct reply *r, const char *rel,
    size_t rlen, int dir_slash)
{
	const struct site_opts *s = &ctx->params->site;
	char path[PATH_MAX + 2];

	r->extra = s->extra_len > 0 ? s->extra : NULL;
	r->extra_len = s->extra_len;
	if (rel == NULL || s->ncache == 0 || rlen + 2 >= sizeof(path))
		return;
	/* Rules see the decoded path as the client named it: "/a/b.html",
	 * "/docs/" for a directory, "/" for the root. */
	path[0] = '/';
	memcpy(path + 1, rel, rlen);
	if (dir_slash && rlen > 0)
		path[++rlen] = '/';
	r->cache_control = site_cache_control(s, path, rlen + 1, &r->cache_control_len);
}

void
response_site_head(const struct reply *r, struct response_head *h)
{
	if (h->status == 200 || h->status == 206)
		h->content_encoding = r->content_encoding;
	h->vary_ae = r->vary_ae;
	if (h->status < 400) {
		h->cache_control = r->cache_control;
		h->cache_control_len = r->cache_control_len;
	}
	h->extra = r->extra;
	h->extra_len = r->extra_len;
}
