#include "server/site.h"
#include "ipc/base/util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/glob.h"
#include "server/http_parse.h"

/*
 * Headers add_header may not set: those that frame the message or that
 * the server writes itself (a second copy would contradict it), and
 * Cache-Control, which has cache_control. Vary is allowed: it is a list,
 * and a second field adds to the server's own.
 */
static const char *const site_owned[] = {
	"Accept-Ranges", "Allow", "Cache-Control", "Connection", "Content-Encoding",
	"Content-Length", "Content-Range", "Content-Type", "Date", "ETag",
	"Keep-Alive", "Last-Modified", "Location", "Server", "TE", "Trailer",
	"Transfer-Encoding", "Upgrade",
};

void
site_defaults(struct site_opts *s)
{
	memset(s, 0, sizeof(*s));
	s->precompressed = true;
	s->autoindex_format = SITE_LIST_HTML;
}

/* A field value: visible ASCII, obs-text, space and tab; no CR, LF, NUL
 * or other control byte (they would split or corrupt the head). */
static int
site_value_ok(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return n > 0;
}

static const char *
site_skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int
site_add_cache_control(struct site_opts *s, const char *v, char *msg, size_t msglen)
{
	struct site_cache_rule *r;
	size_t gl = strcspn(v, " \t");
	const char *val = site_skip_ws(v + gl);
	size_t vl = strlen(val);

	while (vl > 0 && (val[vl - 1] == ' ' || val[vl - 1] == '\t'))
		vl--;
	if (gl == 0 || vl == 0) {
		snprintf(msg, msglen, "expected GLOB VALUE, as in \"/assets/* max-age=3600\"");
		return -1;
	}
	if (s->ncache == SITE_CACHE_RULES) {
		snprintf(msg, msglen, "too many rules (at most %d)", SITE_CACHE_RULES);
		return -1;
	}
	r = &s->cache[s->ncache];
	if (gl >= sizeof(r->glob) || vl >= sizeof(r->value)) {
		snprintf(msg, msglen, "pattern or value too long (at most %d bytes each)",
		    SITE_GLOB_MAX - 1);
		return -1;
	}
	memcpy(r->glob, v, gl);
	r->glob[gl] = '\0';
	if (glob_check(r->glob) == -1) {
		snprintf(msg, msglen, "bad pattern (an unclosed '[' or a trailing '\\')");
		return -1;
	}
	if (!site_value_ok(val, vl)) {
		snprintf(msg, msglen, "the value holds a control character");
		return -1;
	}
	memcpy(r->value, val, vl);
	r->value[vl] = '\0';
	r->value_len = vl;
	s->ncache++;
	return 0;
}

/* Splits "Name: value" and checks both; returns 0 or -1 with msg. */
static int
site_header_split(const char *v, size_t *nl, const char **val, size_t *vl,
    char *msg, size_t msglen)
{
	const char *colon = strchr(v, ':');

	for (*nl = 0; http_tchar((unsigned char)v[*nl]); (*nl)++)
		;
	if (colon == NULL || *nl == 0 || v + *nl != colon) {
		snprintf(msg, msglen, "expected \"Name: value\" with a token for a name");
		return -1;
	}
	*val = site_skip_ws(colon + 1);
	*vl = strlen(*val);
	while (*vl > 0 && ((*val)[*vl - 1] == ' ' || (*val)[*vl - 1] == '\t'))
		(*vl)--;
	if (!site_value_ok(*val, *vl)) {
		snprintf(msg, msglen, "expected a value without CR, LF, NUL or other "
		    "control characters");
		return -1;
	}
	return 0;
}

int
site_add_header(struct site_opts *s, const char *v, char *msg, size_t msglen)
{
	const char *val;
	size_t nl, vl, i;

	if (site_header_split(v, &nl, &val, &vl, msg, msglen) == -1)
		return -1;
	for (i = 0; i < nitems(site_owned); i++) {
		if (strlen(site_owned[i]) == nl && strncasecmp(v, site_owned[i], nl) == 0) {
			snprintf(msg, msglen, "%s is set by the server%s", site_owned[i],
			    strcasecmp(site_owned[i], "Cache-Control") == 0 ?
			    " (use cache_control)" : "");
			return -1;
		}
	}
	if (s->extra_len + nl + vl + 4 > sizeof(s->extra)) {
		snprintf(msg, msglen, "too many headers (at most %d bytes in all)",
		    SITE_EXTRA_MAX);
		return -1;
	}
	memcpy(s->extra + s->extra_len, v, nl);
	s->extra_len += nl;
	memcpy(s->extra + s->extra_len, ": ", 2);
	s->extra_len += 2;
	memcpy(s->extra + s->extra_len, val, vl);
	s->extra_len += vl;
	memcpy(s->extra + s->extra_len, "\r\n", 2);
	s->extra_len += 2;
	return 0;
}

const char *
site_cache_control(const struct site_opts *s, const char *path, size_t len,
    size_t *vlen)
{
	for (int i = 0; i < s->ncache; i++) {
		if (glob_match(s->cache[i].glob, path, len)) {
			*vlen = s->cache[i].value_len;
			return s->cache[i].value;
		}
	}
	return NULL;
}
