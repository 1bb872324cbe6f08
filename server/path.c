/*
 * From a request path to a file beneath the root.
 *
 * path_decode is the lexical half: percent-decoding and dot-segment
 * removal. A decoded "%2F" is a separator like '/' (so "/a%2Fb" is the
 * file b in directory a, as nginx and python's http.server treat it);
 * since the decoded bytes are split into segments after decoding, "%2e%2e"
 * is ".." and is applied, never passed through. Decoding happens once, so
 * "%252e" stays the literal name "%2e". Backslashes and non-UTF-8 bytes
 * (overlong "%c0%ae") are ordinary name bytes on Linux.
 *
 * path_open_beneath is the kernel half: openat2(RESOLVE_BENEATH) refuses
 * any symlink or ".." that would leave the root, whatever the lexical
 * result was.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server/path.h"
#include "ipc/base/hex.h"

/* The output being built: segments joined by '/', NUL kept room for. */
struct path_out {
	char *buf;
	size_t cap;  /* usable bytes, the NUL excluded */
	size_t len;
	size_t seg;  /* where the current segment starts */
};

static int
path_put(struct path_out *o, char c)
{
	if (o->len >= o->cap)
		return -1;
	o->buf[o->len++] = c;
	return 0;
}

/*
 * Closes the current segment: drops "" and ".", applies "..". Returns 0,
 * or -1 when ".." climbs above root.
 */
static int
path_end_segment(struct path_out *o)
{
	size_t n = o->len - o->seg;
	const char *s = o->buf + o->seg;
	size_t cut = o->seg > 0 ? o->seg - 1 : 0; /* drop the '/' too */

	if (n == 0 || (n == 1 && s[0] == '.')) {
		o->len = cut;
		return 0;
	}
	if (n == 2 && s[0] == '.' && s[1] == '.') {
		if (o->seg == 0)
			return -1;
		o->len = cut;
		while (o->len > 0 && o->buf[o->len - 1] != '/')
			o->len--;
		if (o->len > 0)
			o->len--; /* the separator before the popped segment */
		return 0;
	}
	return 0;
}

/* Starts a segment, writing the separator when one came before. */
static int
path_begin_segment(struct path_out *o)
{
	if (o->len > 0 && path_put(o, '/') == -1)
		return -1;
	o->seg = o->len;
	return 0;
}

/* Next decoded byte at raw[*i], advancing *i; -1 on a bad escape or NUL. */
static int
path_next(const char *raw, size_t len, size_t *i)
{
	int hi, lo;
	unsigned char c = (unsigned char)raw[*i];

	if (c == '\0')
		return -1;
	if (c != '%') {
		(*i)++;
		return c;
	}
	if (len - *i < 3 || (hi = hex_digit(raw[*i + 1])) == -1 ||
	    (lo = hex_digit(raw[*i + 2])) == -1 || (hi == 0 && lo == 0))
		return -1;
	*i += 3;
	return hi * 16 + lo;
}

int
path_decode(const char *raw, size_t len, char *out, size_t outlen,
    int *dir_slash)
{
	struct path_out o = { out, outlen > 0 ? outlen - 1 : 0, 0, 0 };
	size_t i = 1;
	int c;

	if (outlen == 0 || len == 0 || raw[0] != '/')
		return -1;
	while (i < len) {
		if ((c = path_next(raw, len, &i)) == -1)
			return -1;
		if (c == '/') {
			if (path_end_segment(&o) == -1 ||
			    path_begin_segment(&o) == -1)
				return -1;
		} else if (path_put(&o, (char)c) == -1)
			return -1;
	}
	if (path_end_segment(&o) == -1)
		return -1;
	out[o.len] = '\0';
	/*
	 * The raw last byte decides, not the decoded one: a listing's relative
	 * links resolve against the URL the client holds, so "/a%2F" and
	 * "/a/.." must be redirected to their slash form before listing.
	 */
	*dir_slash = raw[len - 1] == '/';
	return 0;
}

int
path_is_dotfile(const char *rel)
{
	const char *p = rel;

	if (strncmp(p, ".well-known", 11) == 0 && (p[11] == '/' || p[11] == '\0'))
		p += 11;
	for (; *p != '\0'; p++)
		if (*p == '.' && (p == rel || p[-1] == '/'))
			return 1;
	return 0;
}

int
path_open_beneath(int rootfd, const char *rel, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	/* No fallback without openat2: a weaker open would break the promise. */
	return (int)syscall(SYS_openat2, rootfd,
	    (rel == NULL || rel[0] == '\0') ? "." : rel, &how, sizeof(how));
}

static int
path_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~' || c == '/';
}

int
url_encode_path(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (path_unreserved(c)) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)c;
			continue;
		}
		if (o + 3 >= outlen)
			return -1;
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}

int
html_escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0, n;

	for (; *s != '\0'; s++) {
		const char *rep;

		switch (*s) {
		case '&': rep = "&amp;"; n = 5; break;
		case '<': rep = "&lt;"; n = 4; break;
		case '>': rep = "&gt;"; n = 4; break;
		case '"': rep = "&quot;"; n = 6; break;
		case '\'': rep = "&#39;"; n = 5; break;
		default:
			/* Most bytes: copied as they are (listings escape every name). */
			if (o + 1 >= outlen)
				return -1;
			out[o++] = *s;
			continue;
		}
		if (o + n >= outlen)
			return -1;
		memcpy(out + o, rep, n);
		o += n;
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}
