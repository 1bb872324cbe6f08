/*
 * proxy_parse under libFuzzer. Invariants: the result is -1, 0 or a length
 * within the input and PROXY_HDR_MAX; a complete header parses the same
 * from its exact bytes; once a prefix is refused, so is the whole input;
 * a non-local result has an AF_INET or AF_INET6 source.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/proxy_proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_result r, again;
	uint8_t *b = malloc(size + 1);
	int n, m;

	if (b == NULL)
		return 0;
	memcpy(b, data, size);  /* exact length: ASan sees any overread */
	n = proxy_parse(b, size, &r);
	if (n < -1 || n > (int)size || n > PROXY_HDR_MAX)
		abort();
	if (n > 0) {
		if (!r.local && r.src.sa.sa_family != AF_INET && r.src.sa.sa_family != AF_INET6)
			abort();
		m = proxy_parse(b, (size_t)n, &again);
		if (m != n || again.local != r.local)
			abort();
	}
	if (size > 1 && proxy_parse(b, size / 2, &again) == -1 && n != -1)
		abort();
	free(b);
	return 0;
}
