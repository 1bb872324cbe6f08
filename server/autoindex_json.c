/*
 * autoindex_format = json (nginx's format): the listing as one array of
 * {"name", "type", "mtime", "size"} objects for scripts, with the same
 * sort and dotfile rule as the HTML page (server/autoindex.c reads the
 * directory for both).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_util.h"
#include "server/path.h"

/* Length of the valid UTF-8 sequence at s (of n bytes left), 0 if none:
 * no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t
json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Writes s as a JSON string body (no quotes) into out, which holds at
 * least 6 * strlen(s) + 1 bytes. A byte that is not part of valid UTF-8
 * becomes U+FFFD, so the document is always valid JSON. */
size_t
json_escape_name(const char *s, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), o = 0, i = 0, k;

	while (i < n) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
			i++;
		} else if (c < 0x80) {
			out[o++] = (char)c;
			i++;
		} else if ((k = json_utf8_len(p + i, n - i)) > 0) {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return o;
}
