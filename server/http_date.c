/*
 * HTTP-date (RFC 9110 §5.6.7): formatting IMF-fixdate and parsing all three
 * forms. Own name tables and digit writers instead of strftime/strptime, so
 * the result never depends on the locale or the TZ variable, and nothing
 * here keeps state: safe from any thread or from a signal handler.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "server/http_util.h"

static const char *const http_date_wday[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
static const char *const http_date_wday_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday",
};
static const char *const http_date_mon[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Years 0000..9999 are all a 4-digit year field can say. */
#define HTTP_DATE_MIN ((time_t)-62167219200LL) /* 0000-01-01 00:00:00 */
#define HTTP_DATE_MAX ((time_t)253402300799LL) /* 9999-12-31 23:59:59 */

static char *
http_date_put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

static char *
http_date_put3(char *p, const char *s)
{
	memcpy(p, s, 3);
	return p + 3;
}

size_t
http_date_format(time_t t, char *buf)
{
	struct tm tm;
	char *p = buf;

	/* Clamp so the output is always exactly 29 bytes. */
	if (t < HTTP_DATE_MIN)
		t = HTTP_DATE_MIN;
	if (t > HTTP_DATE_MAX)
		t = HTTP_DATE_MAX;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm)); /* cannot happen in range */
	p = http_date_put3(p, http_date_wday[tm.tm_wday % 7]);
	*p++ = ',';
	*p++ = ' ';
	p = http_date_put2(p, tm.tm_mday);
	*p++ = ' ';
	p = http_date_put3(p, http_date_mon[tm.tm_mon % 12]);
	*p++ = ' ';
	p = http_date_put2(p, (tm.tm_year + 1900) / 100);
	p = http_date_put2(p, (tm.tm_year + 1900) % 100);
	*p++ = ' ';
	p = http_date_put2(p, tm.tm_hour);
	*p++ = ':';
	p = http_date_put2(p, tm.tm_min);
	*p++ = ':';
	p = http_date_put2(p, tm.tm_sec);
	memcpy(p, " GMT", 5);
	return HTTP_DATE_LEN;
}

/* A cursor over the (not NUL-terminated) input. */
struct http_date_in {
	const char *p;
	const char *end;
};

static int
http_date_lit(struct http_date_in *in, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(in->end - in->p) < n || memcmp(in->p, lit, n) != 0)
		return -1;
	in->p += n;
	return 0;
}

/* Exactly n digits. */
static int
http_date_num(struct http_date_in *in, int n, int *out)
{
	int v = 0;

	if (in->end - in->p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		if (in->p[i] < '0' || in->p[i] > '9')
			return -1;
		v = v * 10 + (in->p[i] - '0');
	}
	in->p += n;
	*out = v;
	return 0;
}

/* Consumes the name of names[0..n) the input starts with and returns its
 * index, or -1. Day and month names and "GMT" are case-sensitive in RFC
 * 9110 (%s"..."). */
static int
http_date_name(struct http_date_in *in, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (http_date_lit(in, names[i]) == 0)
			return i;
	return -1;
}

static int
http_date_month(struct http_date_in *in, int *mon)
{
	int i = http_date_name(in, http_date_mon, 12);

	if (i == -1)
		return -1;
	*mon = i + 1;
	return 0;
}

/* "HH:MM:SS" */
static int
http_date_time(struct http_date_in *in, int *h, int *m, int *s)
{
	if (http_date_num(in, 2, h) == -1 || http_date_lit(in, ":") == -1 ||
	    http_date_num(in, 2, m) == -1 || http_date_lit(in, ":") == -1 ||
	    http_date_num(in, 2, s) == -1)
		return -1;
	return 0;
}

struct http_date_fields {
	int year, mon, day, hour, min, sec;
};

static int
http_date_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so no timegm and no TZ.
 */
static int64_t
http_date_days(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Range checks, then the conversion. Seconds stop at 59: a leap second
 * "60" is refused rather than silently folded into the next minute. The
 * day name is checked to be a real one but not against the date.
 */
static int
http_date_make(const struct http_date_fields *f, time_t *out)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int dim;

	if (f->mon < 1 || f->mon > 12 || f->year < 0 || f->year > 9999)
		return -1;
	dim = mdays[f->mon - 1] + (f->mon == 2 && http_date_leap(f->year));
	if (f->day < 1 || f->day > dim || f->hour > 23 || f->min > 59 ||
	    f->sec > 59)
		return -1;
	*out = (time_t)(http_date_days(f->year, f->mon, f->day) * 86400 +
	    f->hour * 3600 + f->min * 60 + f->sec);
	return 0;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static int
http_date_imf(struct http_date_in *in, struct http_date_fields *f)
{
	if (http_date_name(in, http_date_wday, 7) == -1 ||
	    http_date_lit(in, ", ") == -1 ||
	    http_date_num(in, 2, &f->day) == -1 || http_date_lit(in, " ") == -1 ||
	    http_date_month(in, &f->mon) == -1 || http_date_lit(in, " ") == -1 ||
	    http_date_num(in, 4, &f->year) == -1 || http_date_lit(in, " ") == -1 ||
	    http_date_time(in, &f->hour, &f->min, &f->sec) == -1 ||
	    http_date_lit(in, " GMT") == -1)
		return -1;
	return 0;
}

/*
 * Two-digit years (RFC 9110 §5.6.7): a year that appears more than 50
 * years in the future is the most recent past year with those digits. We
 * apply the same 100-year window symmetrically, so the year chosen is
 * always within (now - 50, now + 50].
 */
static int
http_date_year2(int yy, time_t now)
{
	struct tm tm;
	int cur, y;

	if (gmtime_r(&now, &tm) == NULL)
		tm.tm_year = 70;
	cur = tm.tm_year + 1900;
	y = cur - cur % 100 + yy;
	if (y > cur + 50)
		y -= 100;
	else if (y <= cur - 50)
		y += 100;
	return y;
}

/* "Sunday, 06-Nov-94 08:49:37 GMT" */
static int
http_date_rfc850(struct http_date_in *in, struct http_date_fields *f,
    time_t now)
{
	int yy;

	if (http_date_name(in, http_date_wday_long, 7) == -1 ||
	    http_date_lit(in, ", ") == -1 ||
	    http_date_num(in, 2, &f->day) == -1 || http_date_lit(in, "-") == -1 ||
	    http_date_month(in, &f->mon) == -1 || http_date_lit(in, "-") == -1 ||
	    http_date_num(in, 2, &yy) == -1 || http_date_lit(in, " ") == -1 ||
	    http_date_time(in, &f->hour, &f->min, &f->sec) == -1 ||
	    http_date_lit(in, " GMT") == -1)
		return -1;
	f->year = http_date_year2(yy, now);
	return 0;
}

/* "Sun Nov  6 08:49:37 1994" (day as " 6" or "06") */
static int
http_date_asctime(struct http_date_in *in, struct http_date_fields *f)
{
	if (http_date_name(in, http_date_wday, 7) == -1 || http_date_lit(in, " ") == -1 ||
	    http_date_month(in, &f->mon) == -1 || http_date_lit(in, " ") == -1)
		return -1;
	if (http_date_lit(in, " ") == 0) {
		if (http_date_num(in, 1, &f->day) == -1)
			return -1;
	} else if (http_date_num(in, 2, &f->day) == -1)
		return -1;
	if (http_date_lit(in, " ") == -1 ||
	    http_date_time(in, &f->hour, &f->min, &f->sec) == -1 ||
	    http_date_lit(in, " ") == -1 || http_date_num(in, 4, &f->year) == -1)
		return -1;
	return 0;
}

int
http_date_parse_at(const char *s, size_t len, time_t now, time_t *out)
{
	struct http_date_fields f;
	struct http_date_in in;
	int r;

	if (s == NULL || len < 4)
		return -1;
	in.p = s;
	in.end = s + len;
	memset(&f, 0, sizeof(f));
	/* The fourth byte tells the forms apart: ',' IMF, ' ' asctime. */
	if (s[3] == ',')
		r = http_date_imf(&in, &f);
	else if (s[3] == ' ')
		r = http_date_asctime(&in, &f);
	else
		r = http_date_rfc850(&in, &f, now);
	if (r == -1 || in.p != in.end)
		return -1;
	return http_date_make(&f, out);
}

int
http_date_parse(const char *s, size_t len, time_t *out)
{
	return http_date_parse_at(s, len, time(NULL), out);
}
