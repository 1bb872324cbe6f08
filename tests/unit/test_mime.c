/* Content-Type by extension. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "server/http_util.h"

#define OCTET "application/octet-stream"
#define UTF8 "; charset=utf-8"

static void
expect(const char *path, const char *type)
{
	cr_assert_str_eq(mime_type(path, strlen(path)), type, "%s", path);
}

Test(mime, html_and_text)
{
	expect("index.html", "text/html" UTF8);
	expect("a/b/page.htm", "text/html" UTF8);
	expect("style.css", "text/css" UTF8);
	expect("notes.txt", "text/plain" UTF8);
	expect("README.md", "text/markdown" UTF8);
	expect("data.csv", "text/csv" UTF8);
}

Test(mime, scripts_and_data_carry_charset)
{
	expect("app.js", "text/javascript" UTF8);
	expect("mod.mjs", "text/javascript" UTF8);
	expect("x.json", "application/json" UTF8);
	expect("app.js.map", "application/json" UTF8);
	expect("feed.xml", "application/xml" UTF8);
	expect("logo.svg", "image/svg+xml" UTF8);
}

Test(mime, images)
{
	expect("a.png", "image/png");
	expect("a.jpg", "image/jpeg");
	expect("a.jpeg", "image/jpeg");
	expect("a.gif", "image/gif");
	expect("a.webp", "image/webp");
	expect("a.avif", "image/avif");
	expect("favicon.ico", "image/x-icon");
}

Test(mime, fonts_and_binaries)
{
	expect("f.woff", "font/woff");
	expect("f.woff2", "font/woff2");
	expect("f.ttf", "font/ttf");
	expect("f.otf", "font/otf");
	expect("doc.pdf", "application/pdf");
	expect("a.zip", "application/zip");
	expect("a.tar.gz", "application/gzip");
	expect("a.tar", "application/x-tar");
	expect("m.wasm", "application/wasm");
	expect("blob.bin", OCTET);
}

Test(mime, media)
{
	expect("v.mp4", "video/mp4");
	expect("v.webm", "video/webm");
	expect("s.mp3", "audio/mpeg");
	expect("s.ogg", "audio/ogg");
	expect("s.wav", "audio/wav");
}

Test(mime, case_insensitive)
{
	expect("INDEX.HTML", "text/html" UTF8);
	expect("Photo.JpG", "image/jpeg");
	expect("F.WOFF2", "font/woff2");
}

Test(mime, unknown_and_missing_extension)
{
	expect("Makefile", OCTET);
	expect("file.unknownext", OCTET);
	expect("file.", OCTET);
	expect("", OCTET);
	expect("a.verylongextensionname", OCTET);
	expect(".bashrc", OCTET);
}

Test(mime, extension_of_last_segment_only)
{
	expect("dir.html/file", OCTET);
	expect("v1.2/readme", OCTET);
	expect("a.b/c.css", "text/css" UTF8);
	expect("archive.html.gz", "application/gzip");
	expect("a/.html", "text/html" UTF8);
}

Test(mime, length_bounds_the_path)
{
	/* Only len bytes count: the ".css" after them is not seen. */
	cr_assert_str_eq(mime_type("x.js.css", 4), "text/javascript" UTF8);
	cr_assert_str_eq(mime_type("x.css", 0), OCTET);
	cr_assert_str_eq(mime_type(NULL, 0), OCTET);
}

Test(mime, embedded_nul_is_unknown)
{
	cr_assert_str_eq(mime_type("a.js\0x", 6), OCTET);
}

/* Every entry of the table is found, which a mis-sorted table would break. */
Test(mime, whole_table_reachable)
{
	static const char *exts[] = { "7z", "aac", "apng", "atom", "avif", "bin",
	    "bmp", "bz2", "css", "csv", "eot", "epub", "flac", "gif", "gz", "heic",
	    "htm", "html", "ico", "ics", "jpeg", "jpg", "js", "json", "jsonld",
	    "jxl", "m4a", "map", "md", "mjs", "mkv", "mov", "mp3", "mp4", "mpeg",
	    "oga", "ogg", "ogv", "opus", "otf", "pdf", "png", "rss", "rtf", "svg",
	    "tar", "tgz", "tif", "tiff", "ttf", "txt", "wasm", "wav", "webm",
	    "webmanifest", "webp", "woff", "woff2", "xhtml", "xml", "xz", "zip",
	    "zst" };
	char path[64];

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		if (i > 0)
			cr_assert_lt(strcmp(exts[i - 1], exts[i]), 0, "%s", exts[i]);
		snprintf(path, sizeof(path), "f.%s", exts[i]);
		if (strcmp(exts[i], "bin") == 0)
			continue;
		cr_assert_str_neq(mime_type(path, strlen(path)), OCTET, "%s", path);
	}
}
