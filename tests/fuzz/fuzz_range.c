/*
 * range_parse under libFuzzer. The first 8 bytes are the representation
 * size (little-endian), the rest the header value. Invariants: a result
 * is one of the three values; RANGE_OK gives 1..RANGE_MAX ranges, each
 * within the size, sorted, neither overlapping nor adjacent; otherwise
 * *n is 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct byte_range out[RANGE_MAX];
	uint64_t len = 0;
	enum range_result r;
	int n = -1;

	if (size < 8)
		return 0;
	for (int i = 7; i >= 0; i--)
		len = len << 8 | data[i];
	/* Copy so ASan catches any read past the given length. */
	char *s = malloc(size - 8 + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data + 8, size - 8);
	r = range_parse(s, size - 8, len, out, &n);
	free(s);
	if (r != RANGE_OK) {
		if ((r != RANGE_NONE && r != RANGE_UNSATISFIABLE) || n != 0)
			abort();
		return 0;
	}
	if (n < 1 || n > RANGE_MAX)
		abort();
	for (int i = 0; i < n; i++) {
		if (out[i].first > out[i].last || out[i].last >= len)
			abort();
		if (i > 0 && out[i].first <= out[i - 1].last + 1)
			abort();
	}
	return 0;
}
