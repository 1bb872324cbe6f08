/*
 * The value parsers every key builds on: plain numbers (through strtonum,
 * after a digits-only check), booleans, durations with a unit, and the
 * helpers that write and quote error text. No state, no system calls but
 * sysconf for "workers = auto".
 */
#include "supervisor/config_internal.h"
#include "ipc/base/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#define DIGITS "0123456789"

void
config_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Quotes s for an error message: cut to CONFIG_ECHO_MAX bytes, control and
 * non-ASCII bytes shown as '?', so one bad line stays one printable line.
 */
const char *
config_quote(const char *s, char *buf, size_t buflen)
{
	size_t i, o = 0, n = strlen(s);

	if (buflen < 8)
		return "\"\"";
	buf[o++] = '"';
	for (i = 0; i < n && i < CONFIG_ECHO_MAX && o + 5 < buflen; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (i < n && o + 5 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/*
 * The number in the n digits at s, in min..max. strtonum reads it; the
 * leading zeros are skipped first so that any count of them (accepted
 * before strtonum was used) still fits its buffer.
 */
static int
config_parse_digits(const char *s, size_t n, long long min, long long max,
    long long *out)
{
	char buf[24];                 /* LLONG_MAX has 19 digits */
	const char *errstr;
	long long v;

	while (n > 1 && *s == '0') {
		s++;
		n--;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	v = strtonum(buf, min, max, &errstr);
	if (errstr != NULL)
		return -1;
	*out = v;
	return 0;
}

/* strtoll under strtonum would take a sign or leading blanks: not here. */
int
config_parse_number(const char *s, long long min, long long max, long long *out)
{
	size_t n = strspn(s, DIGITS);

	if (n == 0 || s[n] != '\0')
		return -1;
	return config_parse_digits(s, n, min, max, out);
}

int
config_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "on", "yes", "true", "1" };
	static const char *no[] = { "off", "no", "false", "0" };
	size_t i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int
config_parse_duration_ms(const char *s, int *out_ms)
{
	static const struct { const char *unit; long long ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	size_t n = strspn(s, DIGITS), i;
	long long v;

	if (n == 0 || config_parse_digits(s, n, 0, CONFIG_DURATION_MAX_MS, &v) == -1)
		return -1;
	for (i = 0; i < nitems(units); i++) {
		if (strcmp(s + n, units[i].unit) != 0)
			continue;
		if (v > CONFIG_DURATION_MAX_MS / units[i].ms)
			return -1;
		*out_ms = (int)(v * units[i].ms);
		return 0;
	}
	return -1;
}

int
config_auto_workers(int cap)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > cap)
		n = cap;
	return (int)n;
}
