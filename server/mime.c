/*
 * Content-Type by file extension: a built-in table of common web types,
 * sorted by extension (lower case, strcmp order) and searched by binary
 * search. Nothing is allocated; the strings are static.
 */
#include <stddef.h>
#include <string.h>

#include "server/http_util.h"
#include "ipc/base/util.h"
#include "server/mimefile.h"

#define MIME_UTF8 "; charset=utf-8"
#define MIME_DEFAULT "application/octet-stream"
#define MIME_EXT_MAX 15 /* longer extensions are simply unknown */

struct mime_entry {
	const char *ext;
	const char *type;
};

/* Keep sorted: the unit test checks every entry is found. */
static const struct mime_entry mime_table[] = {
	{ "7z", "application/x-7z-compressed" },
	{ "aac", "audio/aac" },
	{ "apng", "image/apng" },
	{ "atom", "application/atom+xml" MIME_UTF8 },
	{ "avif", "image/avif" },
	{ "bin", "application/octet-stream" },
	{ "bmp", "image/bmp" },
	{ "bz2", "application/x-bzip2" },
	{ "css", "text/css" MIME_UTF8 },
	{ "csv", "text/csv" MIME_UTF8 },
	{ "eot", "application/vnd.ms-fontobject" },
	{ "epub", "application/epub+zip" },
	{ "flac", "audio/flac" },
	{ "gif", "image/gif" },
	{ "gz", "application/gzip" },
	{ "heic", "image/heic" },
	{ "htm", "text/html" MIME_UTF8 },
	{ "html", "text/html" MIME_UTF8 },
	{ "ico", "image/x-icon" },
	{ "ics", "text/calendar" MIME_UTF8 },
	{ "jpeg", "image/jpeg" },
	{ "jpg", "image/jpeg" },
	{ "js", "text/javascript" MIME_UTF8 },
	{ "json", "application/json" MIME_UTF8 },
	{ "jsonld", "application/ld+json" MIME_UTF8 },
	{ "jxl", "image/jxl" },
	{ "m4a", "audio/mp4" },
	{ "map", "application/json" MIME_UTF8 },
	{ "md", "text/markdown" MIME_UTF8 },
	{ "mjs", "text/javascript" MIME_UTF8 },
	{ "mkv", "video/x-matroska" },
	{ "mov", "video/quicktime" },
	{ "mp3", "audio/mpeg" },
	{ "mp4", "video/mp4" },
	{ "mpeg", "video/mpeg" },
	{ "oga", "audio/ogg" },
	{ "ogg", "audio/ogg" },
	{ "ogv", "video/ogg" },
	{ "opus", "audio/opus" },
	{ "otf", "font/otf" },
	{ "pdf", "application/pdf" },
	{ "png", "image/png" },
	{ "rss", "application/rss+xml" MIME_UTF8 },
	{ "rtf", "application/rtf" },
	{ "svg", "image/svg+xml" MIME_UTF8 },
	{ "tar", "application/x-tar" },
	{ "tgz", "application/gzip" },
	{ "tif", "image/tiff" },
	{ "tiff", "image/tiff" },
	{ "ttf", "font/ttf" },
	{ "txt", "text/plain" MIME_UTF8 },
	{ "wasm", "application/wasm" },
	{ "wav", "audio/wav" },
	{ "webm", "video/webm" },
	{ "webmanifest", "application/manifest+json" MIME_UTF8 },
	{ "webp", "image/webp" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "xhtml", "application/xhtml+xml" MIME_UTF8 },
	{ "xml", "application/xml" MIME_UTF8 },
	{ "xz", "application/x-xz" },
	{ "zip", "application/zip" },
	{ "zst", "application/zstd" },
};

#define MIME_COUNT (nitems(mime_table))

/* The extension is what follows the last '.' of the last path segment. */
static int
mime_ext(const char *path, size_t len, char *ext)
{
	size_t i = len, dot = len;

	while (i > 0 && path[i - 1] != '/') {
		if (path[i - 1] == '.' && dot == len)
			dot = i - 1;
		i--;
	}
	if (dot == len || len - dot - 1 == 0 || len - dot - 1 > MIME_EXT_MAX)
		return -1;
	for (i = dot + 1; i < len; i++) {
		char c = path[i];

		if (c == '\0')
			return -1;
		ext[i - dot - 1] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	ext[len - dot - 1] = '\0';
	return 0;
}

const char *
mime_type(const char *path, size_t len)
{
	char ext[MIME_EXT_MAX + 1];
	size_t lo = 0, hi = MIME_COUNT;
	const char *t;

	if (path == NULL || mime_ext(path, len, ext) == -1)
		return MIME_DEFAULT;
	if ((t = mimefile_type(ext)) != NULL)
		return t;      /* mime_types = FILE wins (server/mimefile.h) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ext, mime_table[mid].ext);

		if (c == 0)
			return mime_table[mid].type;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return MIME_DEFAULT;
}
