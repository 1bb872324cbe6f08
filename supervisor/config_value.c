/*
 * The value parsers every key builds on: plain numbers, booleans,
 * durations with a unit, and the helpers that write and quote error text.
 * No state, no system calls but sysconf for "workers = auto".
 */
#include "supervisor/config_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

/* Parses a plain decimal number in min..max: no sign, no junk, no overflow. */
int
config_parse_number(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (LLONG_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
config_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "on", "yes", "true", "1" };
	static const char *no[] = { "off", "no", "false", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
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
	long long v = 0;
	size_t i;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > CONFIG_DURATION_MAX_MS)
			return -1;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].unit) != 0)
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
