#include "server/encoding.h"

#include <string.h>
#include <strings.h>

#include "server/http_parse.h"

static const char *const enc_names[ENC_COUNT] = { NULL, "br", "zstd", "gzip" };
static const char *const enc_suffixes[ENC_COUNT] = { "", ".br", ".zst", ".gz" };

const char *
enc_name(enum enc e)
{
	return (unsigned)e < ENC_COUNT ? enc_names[e] : NULL;
}

const char *
enc_suffix(enum enc e)
{
	return (unsigned)e < ENC_COUNT ? enc_suffixes[e] : "";
}

int
enc_is_sibling_name(const char *path, size_t len)
{
	for (int e = ENC_BR; e < ENC_COUNT; e++) {
		size_t n = strlen(enc_suffixes[e]);

		if (len >= n && memcmp(path + len - n, enc_suffixes[e], n) == 0)
			return 1;
	}
	return 0;
}

void
enc_prefs_init(struct enc_prefs *p)
{
	for (int i = 0; i < ENC_COUNT; i++)
		p->q[i] = -1;
	p->star = -1;
	p->present = 0;
}

static int
enc_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 §12.4.2: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]. Returns the
 * value in thousandths, or -1. */
static int
enc_qvalue(const char *s, size_t len)
{
	int v, scale = 100;
	size_t i;

	if (len == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	v = (s[0] - '0') * 1000;
	if (len == 1)
		return v;
	if (s[1] != '.' || len > 5)
		return -1;
	for (i = 2; i < len; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9' || (v == 1000 && s[i] != '0'))
			return -1;
		v += (s[i] - '0') * scale;
	}
	return v;
}

/* The parameters after a coding: ";q=..." and others (ignored). Returns
 * the weight (1000 when absent) or -1 for a malformed element. */
static int
enc_params(const char *s, size_t len)
{
	size_t i = 0, ns, ne, vs, ve;
	int q = 1000;

	for (;;) {
		while (i < len && enc_ows(s[i]))
			i++;
		if (i == len)
			return q;
		if (s[i++] != ';')
			return -1;
		while (i < len && enc_ows(s[i]))
			i++;
		for (ns = i; i < len && http_tchar((unsigned char)s[i]); i++)
			;
		ne = i;
		if (ne == ns || i == len || s[i++] != '=')
			return -1;
		for (vs = i; i < len && s[i] != ';'; i++)
			;
		for (ve = i; ve > vs && enc_ows(s[ve - 1]); ve--)
			;
		if (ne - ns == 1 && (s[ns] == 'q' || s[ns] == 'Q') &&
		    (q = enc_qvalue(s + vs, ve - vs)) == -1)
			return -1;
	}
}

static int *
enc_slot(struct enc_prefs *p, const char *t, size_t n)
{
	if (n == 1 && t[0] == '*')
		return &p->star;
	if (n == 2 && strncasecmp(t, "br", 2) == 0)
		return &p->q[ENC_BR];
	if (n == 4 && strncasecmp(t, "zstd", 4) == 0)
		return &p->q[ENC_ZSTD];
	if ((n == 4 && strncasecmp(t, "gzip", 4) == 0) ||
	    (n == 6 && strncasecmp(t, "x-gzip", 6) == 0))
		return &p->q[ENC_GZIP];
	if (n == 8 && strncasecmp(t, "identity", 8) == 0)
		return &p->q[ENC_IDENTITY];
	return NULL;
}

static void
enc_element(struct enc_prefs *p, const char *s, size_t len)
{
	size_t i = 0, ts;
	int q, *slot;

	while (i < len && enc_ows(s[i]))
		i++;
	for (ts = i; i < len && http_tchar((unsigned char)s[i]); i++)
		;
	if (i == ts)
		return;      /* empty element (allowed) or not a token */
	if ((q = enc_params(s + i, len - i)) == -1)
		return;
	slot = enc_slot(p, s + ts, i - ts);
	if (slot != NULL && *slot == -1)
		*slot = q;
}

void
enc_prefs_add(struct enc_prefs *p, const char *s, size_t len)
{
	size_t i, start = 0;

	p->present = 1;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == ',') {
			enc_element(p, s + start, i - start);
			start = i + 1;
		}
	}
}

void
enc_prefs_from_request(struct enc_prefs *p, const struct http_request *req)
{
	enc_prefs_init(p);
	for (int i = 0; i < req->nheaders; i++) {
		const struct http_str *n = &req->headers[i].name;

		if (n->len == 15 && strncasecmp(n->p, "accept-encoding", 15) == 0)
			enc_prefs_add(p, req->headers[i].value.p, req->headers[i].value.len);
	}
}

int
enc_quality(const struct enc_prefs *p, enum enc e)
{
	if ((unsigned)e >= ENC_COUNT)
		return 0;
	if (!p->present)
		return e == ENC_IDENTITY ? 1000 : 0;
	if (p->q[e] != -1)
		return p->q[e];
	if (p->star != -1)
		return p->star;
	return e == ENC_IDENTITY ? 1000 : 0;
}

enum enc
enc_choose(const struct enc_prefs *p, unsigned avail)
{
	enum enc best = ENC_IDENTITY;
	int bestq = 0, q;

	for (int e = ENC_BR; e < ENC_COUNT; e++) {
		if (!(avail & ENC_BIT(e)))
			continue;
		q = enc_quality(p, (enum enc)e);
		if (q > bestq) {
			best = (enum enc)e;
			bestq = q;
		}
	}
	/* identity unnamed (and no "*") is acceptable but carries no weight
	 * of its own: "gzip;q=0.8" still means gzip is wanted. */
	q = enc_quality(p, ENC_IDENTITY);
	if (p->present && p->q[ENC_IDENTITY] == -1 && p->star == -1)
		q = 1;
	return q > bestq ? ENC_IDENTITY : best;
}
