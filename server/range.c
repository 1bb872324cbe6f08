/*
 * Range: bytes=... (RFC 9110 §14.1.1, §14.2) against a representation of
 * a known size. The result is a sorted list of disjoint, non-adjacent
 * ranges within the size, so a multipart response never sends a byte
 * twice. Abuse guards: more than RANGE_SPECS_MAX range-specs, or more
 * than RANGE_MAX ranges left after coalescing, serve the whole file.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "server/http_util.h"

struct range_in {
	const char *p;
	const char *end;
};

static void
range_skip_ows(struct range_in *in)
{
	while (in->p < in->end && (*in->p == ' ' || *in->p == '\t'))
		in->p++;
}

/* 1*DIGIT into *v; -1 if none or on overflow. */
static int
range_num(struct range_in *in, uint64_t *v)
{
	const char *start = in->p;

	*v = 0;
	while (in->p < in->end && *in->p >= '0' && *in->p <= '9') {
		unsigned d = (unsigned)(*in->p - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
		in->p++;
	}
	return in->p == start ? -1 : 0;
}

/*
 * One range-spec: "first-last", "first-" or "-suffix". Returns 1 and the
 * clamped range when satisfiable, 0 when valid but unsatisfiable, -1 on a
 * syntax error (which voids the whole header).
 */
static int
range_spec(struct range_in *in, uint64_t size, struct byte_range *r)
{
	uint64_t first, last;

	if (in->p < in->end && *in->p == '-') {
		in->p++;
		if (range_num(in, &last) == -1)
			return -1;
		if (last == 0 || size == 0)
			return 0;
		r->first = last >= size ? 0 : size - last;
		r->last = size - 1;
		return 1;
	}
	if (range_num(in, &first) == -1 || in->p == in->end || *in->p != '-')
		return -1;
	in->p++;
	last = UINT64_MAX;
	if (in->p < in->end && *in->p >= '0' && *in->p <= '9' &&
	    (range_num(in, &last) == -1 || first > last))
		return -1;
	if (first >= size)
		return 0;
	r->first = first;
	r->last = last >= size ? size - 1 : last;
	return 1;
}

/* Insertion sort: n is at most RANGE_SPECS_MAX. */
static void
range_sort(struct byte_range *r, int n)
{
	for (int i = 1; i < n; i++) {
		struct byte_range k = r[i];
		int j = i - 1;

		while (j >= 0 && r[j].first > k.first) {
			r[j + 1] = r[j];
			j--;
		}
		r[j + 1] = k;
	}
}

/* Merges overlapping and adjacent ranges of a sorted list; new count. */
static int
range_coalesce(struct byte_range *r, int n)
{
	int m = 0;

	for (int i = 0; i < n; i++) {
		if (m > 0 && r[i].first <= r[m - 1].last + 1) {
			if (r[i].last > r[m - 1].last)
				r[m - 1].last = r[i].last;
		} else
			r[m++] = r[i];
	}
	return m;
}

/* "bytes=" with the unit compared case-insensitively. */
static int
range_unit(struct range_in *in)
{
	if (in->end - in->p < 6 || strncasecmp(in->p, "bytes", 5) != 0 ||
	    in->p[5] != '=')
		return -1;
	in->p += 6;
	return 0;
}

/*
 * Collects the satisfiable specs into tmp. Returns the number of specs
 * seen (satisfiable or not) and the satisfiable ones in *nsat, or -1 for
 * a header to ignore. Empty list elements (", ,") are tolerated.
 */
static int
range_collect(struct range_in *in, uint64_t size, struct byte_range *tmp,
    int *nsat)
{
	int specs = 0, r;

	*nsat = 0;
	for (;;) {
		range_skip_ows(in);
		if (in->p == in->end)
			break;
		if (*in->p == ',') {
			in->p++;
			continue;
		}
		if (specs == RANGE_SPECS_MAX)
			return -1;
		specs++;
		if ((r = range_spec(in, size, &tmp[*nsat])) == -1)
			return -1;
		*nsat += r;
		range_skip_ows(in);
		if (in->p < in->end && *in->p != ',')
			return -1;
	}
	return specs;
}

enum range_result
range_parse(const char *s, size_t len, uint64_t size, struct byte_range *out,
    int *n)
{
	struct byte_range tmp[RANGE_SPECS_MAX];
	struct range_in in;
	int specs, nsat;

	*n = 0;
	if (s == NULL || len == 0)
		return RANGE_NONE;
	in.p = s;
	in.end = s + len;
	if (range_unit(&in) == -1)
		return RANGE_NONE;
	if ((specs = range_collect(&in, size, tmp, &nsat)) <= 0)
		return RANGE_NONE;
	if (nsat == 0)
		return RANGE_UNSATISFIABLE;
	range_sort(tmp, nsat);
	nsat = range_coalesce(tmp, nsat);
	if (nsat > RANGE_MAX)
		return RANGE_NONE;
	memcpy(out, tmp, (size_t)nsat * sizeof(*out));
	*n = nsat;
	return RANGE_OK;
}
