/* HTTP-date formatting and the three parse forms (RFC 9110 §5.6.7). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_util.h"

#define T1994 ((time_t)784111777) /* Sun, 06 Nov 1994 08:49:37 GMT */
#define NOW2026 ((time_t)1795392000) /* 2026-11-23 00:00:00 UTC */

static int
parse(const char *s, time_t *t)
{
	return http_date_parse_at(s, strlen(s), NOW2026, t);
}

static void
expect_date(const char *s, time_t want)
{
	time_t t = 0;

	cr_assert_eq(parse(s, &t), 0, "parse \"%s\"", s);
	cr_assert_eq(t, want, "\"%s\": got %lld want %lld", s, (long long)t,
	    (long long)want);
}

static void
expect_bad(const char *s)
{
	time_t t = 12345;

	cr_assert_eq(parse(s, &t), -1, "\"%s\" accepted", s);
	cr_assert_eq(t, 12345, "\"%s\" wrote *out", s);
}

Test(http_date, format_rfc_example)
{
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(http_date_format(T1994, buf), HTTP_DATE_LEN);
	cr_assert_str_eq(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
}

Test(http_date, format_epoch)
{
	char buf[64];

	http_date_format(0, buf);
	cr_assert_str_eq(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
}

Test(http_date, format_leap_day)
{
	char buf[64];

	http_date_format(951782400, buf); /* 2000-02-29 */
	cr_assert_str_eq(buf, "Tue, 29 Feb 2000 00:00:00 GMT");
}

Test(http_date, format_ignores_tz)
{
	char buf[64];

	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	http_date_format(T1994, buf);
	cr_assert_str_eq(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
}

Test(http_date, format_clamps_out_of_range)
{
	char buf[64];

	cr_assert_eq(http_date_format((time_t)1 << 50, buf), HTTP_DATE_LEN);
	cr_assert_str_eq(buf, "Fri, 31 Dec 9999 23:59:59 GMT");
	cr_assert_eq(strlen(buf), HTTP_DATE_LEN);
}

Test(http_date, parse_imf_fixdate)
{
	expect_date("Sun, 06 Nov 1994 08:49:37 GMT", T1994);
}

Test(http_date, parse_rfc850)
{
	expect_date("Sunday, 06-Nov-94 08:49:37 GMT", T1994);
}

Test(http_date, parse_asctime_space_day)
{
	expect_date("Sun Nov  6 08:49:37 1994", T1994);
}

Test(http_date, parse_asctime_two_digit_day)
{
	expect_date("Sun Nov 06 08:49:37 1994", T1994);
	expect_date("Tue Feb 29 00:00:00 2000", 951782400);
}

Test(http_date, parse_epoch_and_end_of_day)
{
	expect_date("Thu, 01 Jan 1970 00:00:00 GMT", 0);
	expect_date("Wed, 31 Dec 1969 23:59:59 GMT", -1);
	expect_date("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799LL);
}

Test(http_date, parse_leap_years)
{
	expect_date("Tue, 29 Feb 2000 00:00:00 GMT", 951782400);
	expect_date("Thu, 29 Feb 2024 12:00:00 GMT", 1709208000);
	expect_bad("Sat, 29 Feb 1900 00:00:00 GMT");
	expect_bad("Wed, 29 Feb 2023 00:00:00 GMT");
}

Test(http_date, parse_not_nul_terminated)
{
	const char s[] = "Sun, 06 Nov 1994 08:49:37 GMTjunk";
	time_t t;

	cr_assert_eq(http_date_parse_at(s, HTTP_DATE_LEN, NOW2026, &t), 0);
	cr_assert_eq(t, T1994);
	cr_assert_eq(http_date_parse_at(s, HTTP_DATE_LEN - 1, NOW2026, &t), -1);
}

Test(http_date, roundtrip_many)
{
	char buf[64];

	/* A spread of instants from 1970 to 2100, including month ends. */
	for (time_t t = 0; t < 4102444800LL; t += 86400 * 13 + 3607) {
		time_t back;

		http_date_format(t, buf);
		cr_assert_eq(http_date_parse(buf, HTTP_DATE_LEN, &back), 0, "%s", buf);
		cr_assert_eq(back, t, "%s", buf);
	}
}

Test(http_date, bad_day_names)
{
	expect_bad("Sux, 06 Nov 1994 08:49:37 GMT");
	expect_bad("sun, 06 Nov 1994 08:49:37 GMT");
	expect_bad("Sunday, 06 Nov 1994 08:49:37 GMT");
	expect_bad("Sun, 06-Nov-94 08:49:37 GMT");
	expect_bad("Sundai, 06-Nov-94 08:49:37 GMT");
	expect_bad("Sunday Nov  6 08:49:37 1994");
}

Test(http_date, bad_months)
{
	expect_bad("Sun, 06 Nox 1994 08:49:37 GMT");
	expect_bad("Sun, 06 nov 1994 08:49:37 GMT");
	expect_bad("Sun, 06 November 1994 08:49:37 GMT");
}

Test(http_date, bad_ranges)
{
	expect_bad("Sun, 00 Nov 1994 08:49:37 GMT");
	expect_bad("Sun, 31 Nov 1994 08:49:37 GMT");
	expect_bad("Sun, 32 Dec 1994 08:49:37 GMT");
	expect_bad("Sun, 06 Nov 1994 24:00:00 GMT");
	expect_bad("Sun, 06 Nov 1994 08:60:00 GMT");
	expect_bad("Sun, 06 Nov 1994 08:49:60 GMT");
	expect_bad("Sun Nov 31 08:49:37 1994");
	expect_bad("Sunday, 31-Apr-94 08:49:37 GMT");
}

Test(http_date, trailing_and_leading_junk)
{
	expect_bad("Sun, 06 Nov 1994 08:49:37 GMT ");
	expect_bad(" Sun, 06 Nov 1994 08:49:37 GMT");
	expect_bad("Sun, 06 Nov 1994 08:49:37 GMTx");
	expect_bad("Sun, 06 Nov 1994 08:49:37 UTC");
	expect_bad("Sun, 06 Nov 1994 08:49:37 gmt");
	expect_bad("Sun Nov  6 08:49:37 1994 ");
	expect_bad("Sun Nov  6 08:49:37 1994 GMT");
	expect_bad("Sunday, 06-Nov-94 08:49:37 GMT;");
}

Test(http_date, truncated_and_wrong_widths)
{
	expect_bad("");
	expect_bad("Sun");
	expect_bad("Sun,");
	expect_bad("Sun, 06 Nov 1994 08:49:37");
	expect_bad("Sun, 6 Nov 1994 08:49:37 GMT");
	expect_bad("Sun, 06 Nov 94 08:49:37 GMT");
	expect_bad("Sun, 06 Nov 1994 8:49:37 GMT");
	expect_bad("Sun, 06 Nov 1994 08:49 GMT");
	expect_bad("Sun Nov 6 08:49:37 1994");
	expect_bad("Sun Nov   6 08:49:37 1994");
	expect_bad("Sunday, 06-Nov-1994 08:49:37 GMT");
	expect_bad("Sun, +6 Nov 1994 08:49:37 GMT");
	expect_bad("Sun, 06 Nov 1994 08:49:37  GMT");
}

Test(http_date, rfc850_fifty_year_window)
{
	/* now = 2026: 76 -> 2076 (50 years ahead), 77 -> 1977. */
	expect_date("Wednesday, 01-Jan-76 00:00:00 GMT", 3345062400LL);
	expect_date("Saturday, 01-Jan-77 00:00:00 GMT", 220924800);
	expect_date("Saturday, 01-Jan-00 00:00:00 GMT", 946684800);
	expect_date("Wednesday, 01-Jan-70 00:00:00 GMT", 3155760000LL);
	expect_date("Tuesday, 01-Jan-80 00:00:00 GMT", 315532800);
	expect_date("Monday, 23-Nov-26 00:00:00 GMT", NOW2026);
}

Test(http_date, rfc850_window_relative_to_now)
{
	time_t t;
	/* now = 2090-01-01: "40" is 2140 (within 50 years), "41" 2041. */
	time_t now2090 = 3786912000LL;
	const char *s40 = "Friday, 01-Jan-40 00:00:00 GMT";
	const char *s41 = "Tuesday, 01-Jan-41 00:00:00 GMT";

	cr_assert_eq(http_date_parse_at(s40, strlen(s40), now2090, &t), 0);
	cr_assert_eq(t, 5364662400LL);
	cr_assert_eq(http_date_parse_at(s41, strlen(s41), now2090, &t), 0);
	cr_assert_eq(t, 2240611200LL);
}

Test(http_date, null_input)
{
	time_t t;

	cr_assert_eq(http_date_parse(NULL, 0, &t), -1);
}
