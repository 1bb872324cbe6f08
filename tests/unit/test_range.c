/* Range: bytes=... parsing (RFC 9110 §14). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "server/http_util.h"

struct range_case {
	const char *hdr;
	uint64_t size;
	enum range_result want;
	int n;
	uint64_t r[4][2];
	const char *note;
};

static const struct range_case range_single[] = {
	{ "bytes=0-499", 10000, RANGE_OK, 1, { { 0, 499 } }, "first 500" },
	{ "bytes=500-999", 10000, RANGE_OK, 1, { { 500, 999 } }, "second 500" },
	{ "bytes=-500", 10000, RANGE_OK, 1, { { 9500, 9999 } }, "suffix" },
	{ "bytes=9500-", 10000, RANGE_OK, 1, { { 9500, 9999 } }, "open end" },
	{ "bytes=0-0,-1", 10000, RANGE_OK, 2, { { 0, 0 }, { 9999, 9999 } },
	    "first and last byte" },
	{ "bytes=0-", 1, RANGE_OK, 1, { { 0, 0 } }, "one-byte file" },
	{ "bytes=0-99999", 100, RANGE_OK, 1, { { 0, 99 } }, "last clamped" },
	{ "bytes=-99999", 100, RANGE_OK, 1, { { 0, 99 } }, "suffix longer" },
	{ "bytes=-100", 100, RANGE_OK, 1, { { 0, 99 } }, "suffix exact" },
	{ "bytes=99-99", 100, RANGE_OK, 1, { { 99, 99 } }, "last byte" },
	{ "BYTES=0-1", 100, RANGE_OK, 1, { { 0, 1 } }, "unit upper case" },
	{ "Bytes=0-1", 100, RANGE_OK, 1, { { 0, 1 } }, "unit mixed case" },
};

static const struct range_case range_lists[] = {
	{ "bytes=0-1, 5-6", 100, RANGE_OK, 2, { { 0, 1 }, { 5, 6 } }, "OWS" },
	{ "bytes=0-1 ,\t5-6 ", 100, RANGE_OK, 2, { { 0, 1 }, { 5, 6 } },
	    "OWS both sides" },
	{ "bytes=,0-1,,5-6,", 100, RANGE_OK, 2, { { 0, 1 }, { 5, 6 } },
	    "empty elements" },
	{ "bytes= 0-1", 100, RANGE_OK, 1, { { 0, 1 } }, "leading OWS" },
	{ "bytes=5-6,0-1", 100, RANGE_OK, 2, { { 0, 1 }, { 5, 6 } }, "sorted" },
	{ "bytes=0-5,3-8", 100, RANGE_OK, 1, { { 0, 8 } }, "overlap" },
	{ "bytes=0-4,5-8", 100, RANGE_OK, 1, { { 0, 8 } }, "adjacent" },
	{ "bytes=0-4,6-8", 100, RANGE_OK, 2, { { 0, 4 }, { 6, 8 } }, "gap 1" },
	{ "bytes=2-3,0-10", 100, RANGE_OK, 1, { { 0, 10 } }, "contained" },
	{ "bytes=50-,-10,0-1", 100, RANGE_OK, 2, { { 0, 1 }, { 50, 99 } },
	    "suffix merged into open end" },
	{ "bytes=0-1,200-300", 100, RANGE_OK, 1, { { 0, 1 } },
	    "unsatisfiable member dropped" },
	{ "bytes=0-1,-0", 100, RANGE_OK, 1, { { 0, 1 } }, "suffix 0 dropped" },
};

static const struct range_case range_unsat[] = {
	{ "bytes=100-", 100, RANGE_UNSATISFIABLE, 0, { { 0 } }, "first = size" },
	{ "bytes=100-200", 100, RANGE_UNSATISFIABLE, 0, { { 0 } }, "past end" },
	{ "bytes=-0", 100, RANGE_UNSATISFIABLE, 0, { { 0 } }, "suffix 0" },
	{ "bytes=100-,200-", 100, RANGE_UNSATISFIABLE, 0, { { 0 } }, "all past" },
	{ "bytes=0-", 0, RANGE_UNSATISFIABLE, 0, { { 0 } }, "empty file" },
	{ "bytes=-5", 0, RANGE_UNSATISFIABLE, 0, { { 0 } }, "empty file sfx" },
};

static const struct range_case range_invalid[] = {
	{ "bytes=5-1", 100, RANGE_NONE, 0, { { 0 } }, "first > last" },
	{ "bytes=0-1,5-1", 100, RANGE_NONE, 0, { { 0 } }, "one invalid voids" },
	{ "bytes=200-100", 100, RANGE_NONE, 0, { { 0 } }, "invalid beats 416" },
	{ "", 100, RANGE_NONE, 0, { { 0 } }, "empty header" },
	{ "bytes=", 100, RANGE_NONE, 0, { { 0 } }, "no ranges" },
	{ "bytes=,", 100, RANGE_NONE, 0, { { 0 } }, "only commas" },
	{ "bytes", 100, RANGE_NONE, 0, { { 0 } }, "no =" },
	{ "bytes =0-1", 100, RANGE_NONE, 0, { { 0 } }, "space before =" },
	{ "items=0-1", 100, RANGE_NONE, 0, { { 0 } }, "other unit" },
	{ "byte=0-1", 100, RANGE_NONE, 0, { { 0 } }, "short unit" },
	{ "bytesx=0-1", 100, RANGE_NONE, 0, { { 0 } }, "long unit" },
	{ "bytes=-", 100, RANGE_NONE, 0, { { 0 } }, "lone dash" },
	{ "bytes=1", 100, RANGE_NONE, 0, { { 0 } }, "no dash" },
	{ "bytes=a-b", 100, RANGE_NONE, 0, { { 0 } }, "letters" },
	{ "bytes=0-1x", 100, RANGE_NONE, 0, { { 0 } }, "trailing junk" },
	{ "bytes=0-1;5-6", 100, RANGE_NONE, 0, { { 0 } }, "wrong separator" },
	{ "bytes=0 -1", 100, RANGE_NONE, 0, { { 0 } }, "space inside" },
	{ "bytes=+1-2", 100, RANGE_NONE, 0, { { 0 } }, "sign" },
	{ "bytes=--1", 100, RANGE_NONE, 0, { { 0 } }, "double dash" },
	{ "bytes=0-1-2", 100, RANGE_NONE, 0, { { 0 } }, "two dashes" },
};

static const struct range_case range_numbers[] = {
	{ "bytes=18446744073709551615-", UINT64_MAX, RANGE_UNSATISFIABLE, 0,
	    { { 0 } }, "max value is past the largest size" },
	{ "bytes=18446744073709551616-", 100, RANGE_NONE, 0, { { 0 } },
	    "overflow first" },
	{ "bytes=0-18446744073709551616", 100, RANGE_NONE, 0, { { 0 } },
	    "overflow last" },
	{ "bytes=-99999999999999999999", 100, RANGE_NONE, 0, { { 0 } },
	    "overflow suffix" },
	{ "bytes=0-18446744073709551615", 100, RANGE_OK, 1, { { 0, 99 } },
	    "max last clamped" },
	{ "bytes=00-01", 100, RANGE_OK, 1, { { 0, 1 } }, "leading zeros" },
};

static void
run_cases(const struct range_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct range_case *c = &cases[i];
		struct byte_range out[RANGE_MAX];
		enum range_result res;
		int n = -1;

		res = range_parse(c->hdr, strlen(c->hdr), c->size, out, &n);
		cr_assert_eq(res, c->want, "%s: \"%s\" gave %d", c->note, c->hdr,
		    (int)res);
		if (c->want != RANGE_OK) {
			cr_assert_eq(n, 0, "%s: n = %d", c->note, n);
			continue;
		}
		cr_assert_eq(n, c->n, "%s: n = %d", c->note, n);
		for (int k = 0; k < n; k++) {
			cr_assert_eq(out[k].first, c->r[k][0], "%s: [%d].first", c->note, k);
			cr_assert_eq(out[k].last, c->r[k][1], "%s: [%d].last", c->note, k);
		}
	}
}

#define RUN(t) run_cases(t, sizeof(t) / sizeof(t[0]))

Test(range, single_ranges) { RUN(range_single); }
Test(range, lists_sorted_and_coalesced) { RUN(range_lists); }
Test(range, unsatisfiable) { RUN(range_unsat); }
Test(range, invalid_syntax_ignored) { RUN(range_invalid); }
Test(range, number_limits) { RUN(range_numbers); }

Test(range, max_value_at_max_size)
{
	const char *h = "bytes=18446744073709551614-";
	struct byte_range out[RANGE_MAX];
	int n;

	cr_assert_eq(range_parse(h, strlen(h), UINT64_MAX, out, &n), RANGE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(out[0].first, UINT64_MAX - 1);
	cr_assert_eq(out[0].last, UINT64_MAX - 1);
}

Test(range, null_header)
{
	struct byte_range out[RANGE_MAX];
	int n = 7;

	cr_assert_eq(range_parse(NULL, 0, 100, out, &n), RANGE_NONE);
	cr_assert_eq(n, 0);
}

Test(range, length_bounds_input)
{
	struct byte_range out[RANGE_MAX];
	int n;

	/* Only "bytes=0-1" is seen: the ",5-6" beyond len does not count. */
	cr_assert_eq(range_parse("bytes=0-1,5-6", 9, 100, out, &n), RANGE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(out[0].last, 1);
}

/* Builds "bytes=" and count disjoint two-byte ranges 0-0,2-2,4-4,... */
static size_t
many_ranges(char *buf, size_t cap, int count, int step)
{
	size_t len = (size_t)snprintf(buf, cap, "bytes=");

	for (int i = 0; i < count; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%d-%d",
		    i ? "," : "", i * step, i * step);
	return len;
}

Test(range, exactly_range_max)
{
	struct byte_range out[RANGE_MAX];
	char buf[4096];
	size_t len = many_ranges(buf, sizeof(buf), RANGE_MAX, 2);
	int n;

	cr_assert_eq(range_parse(buf, len, 1000, out, &n), RANGE_OK);
	cr_assert_eq(n, RANGE_MAX);
	cr_assert_eq(out[RANGE_MAX - 1].first, (RANGE_MAX - 1) * 2);
}

Test(range, over_range_max_serves_whole)
{
	struct byte_range out[RANGE_MAX];
	char buf[4096];
	size_t len = many_ranges(buf, sizeof(buf), RANGE_MAX + 1, 2);
	int n;

	cr_assert_eq(range_parse(buf, len, 1000, out, &n), RANGE_NONE);
	cr_assert_eq(n, 0);
}

Test(range, many_adjacent_coalesce_to_one)
{
	struct byte_range out[RANGE_MAX];
	char buf[4096];
	/* 40 adjacent one-byte ranges: more than RANGE_MAX specs, one range. */
	size_t len = many_ranges(buf, sizeof(buf), 40, 1);
	int n;

	cr_assert_eq(range_parse(buf, len, 1000, out, &n), RANGE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(out[0].first, 0);
	cr_assert_eq(out[0].last, 39);
}

Test(range, too_many_specs_serves_whole)
{
	struct byte_range out[RANGE_MAX];
	char buf[8192];
	size_t len = many_ranges(buf, sizeof(buf), RANGE_SPECS_MAX + 1, 0);
	int n;

	/* Even identical ranges: parsing stops at RANGE_SPECS_MAX. */
	cr_assert_eq(range_parse(buf, len, 1000, out, &n), RANGE_NONE);
	len = many_ranges(buf, sizeof(buf), RANGE_SPECS_MAX, 0);
	cr_assert_eq(range_parse(buf, len, 1000, out, &n), RANGE_OK);
	cr_assert_eq(n, 1);
}

Test(range, reverse_order_sorted)
{
	struct byte_range out[RANGE_MAX];
	const char *h = "bytes=90-91,70-71,50-51,30-31,10-11";
	int n;

	cr_assert_eq(range_parse(h, strlen(h), 100, out, &n), RANGE_OK);
	cr_assert_eq(n, 5);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(out[i].first, 10 + 20 * (uint64_t)i);
		cr_assert_eq(out[i].last, 11 + 20 * (uint64_t)i);
	}
}
