/*
 * path_decode under libFuzzer, with the dotfile check and both encoders
 * run on its output. Invariants of an accepted path: the input held no
 * NUL (raw or %00); the output has no ".." or "." segment, no leading or
 * trailing '/', no "//"; the encoders fit a buffer sized for the worst.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/path.h"

static void
check_segments(const char *out, size_t len)
{
	const char *p = out, *end = out + len;

	if (len == 0)
		return;
	if (out[0] == '/' || out[len - 1] == '/' || strstr(out, "//") != NULL)
		abort();
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n = (size_t)((slash ? slash : end) - p);

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			abort();
		p += n + 1;
	}
}

static int
has_pct00(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++)
		if (d[i] == '%' && d[i + 1] == '0' && d[i + 2] == '0')
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[512], enc[512 * 6 + 1];
	char *raw = malloc(size + 1);
	int slash = -1, r;

	if (raw == NULL)
		return 0;
	memcpy(raw, data, size); /* exact-size copy: ASan sees over-reads */
	r = path_decode(raw, size, out, sizeof(out), &slash);
	free(raw);
	if (r == -1)
		return 0;
	/* A NUL, raw or as %00, can never get through. */
	if (memchr(data, '\0', size) != NULL || has_pct00(data, size))
		abort();
	if (r != 0 || size == 0 || slash != (data[size - 1] == '/'))
		abort();
	check_segments(out, strlen(out));
	(void)path_is_dotfile(out);
	if (url_encode_path(out, enc, sizeof(enc)) < 0 ||
	    html_escape(out, enc, sizeof(enc)) < 0)
		abort();
	return 0;
}
