/*
 * The Accept-Encoding parser under libFuzzer. The first byte is the set
 * of siblings that exist (low 3 bits: br, zstd, gzip), the rest split at
 * each '\n' into separate fields. Invariants: every quality is 0..1000;
 * the choice is identity or an existing sibling; a chosen sibling is
 * acceptable (q > 0) and no existing sibling has a higher q.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/encoding.h"

static void
check(const struct enc_prefs *p, unsigned avail)
{
	enum enc c = enc_choose(p, avail);
	int q;

	for (int e = 0; e < ENC_COUNT; e++) {
		q = enc_quality(p, (enum enc)e);
		if (q < 0 || q > 1000)
			abort();
	}
	if (c == ENC_IDENTITY)
		return;
	if ((unsigned)c >= ENC_COUNT || !(avail & ENC_BIT(c)) || enc_quality(p, c) == 0)
		abort();
	for (int e = ENC_BR; e < ENC_COUNT; e++)
		if ((avail & ENC_BIT(e)) && enc_quality(p, (enum enc)e) > enc_quality(p, c))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enc_prefs p;
	unsigned avail;
	size_t i, start = 1;

	if (size < 1)
		return 0;
	avail = (unsigned)(data[0] & 7) << 1;
	enc_prefs_init(&p);
	for (i = 1; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		/* Copy so ASan catches any read past the given length. */
		char *s = malloc(i - start + 1);
		if (s == NULL)
			return 0;
		memcpy(s, data + start, i - start);
		enc_prefs_add(&p, s, i - start);
		free(s);
		start = i + 1;
	}
	check(&p, avail);
	return 0;
}
