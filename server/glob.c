#include "server/glob.h"

/* Matches c against the class starting at pat (just after '['). Sets *end
 * to the byte after the closing ']'. Returns 1/0, or -1 when unclosed. */
static int
glob_class(const char *pat, unsigned char c, const char **end)
{
	const char *p = pat;
	int neg = 0, hit = 0;

	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	/* A ']' first in the set is a member, as in fnmatch. */
	for (int first = 1; *p != '\0' && (first || *p != ']'); first = 0) {
		unsigned char lo = (unsigned char)*p, hi;

		if (lo == '\\' && p[1] != '\0')
			lo = (unsigned char)*++p;
		p++;
		hi = lo;
		if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			p++;
			if (*p == '\\' && p[1] != '\0')
				p++;
			hi = (unsigned char)*p++;
		}
		if (c >= lo && c <= hi)
			hit = 1;
	}
	if (*p != ']')
		return -1;
	*end = p + 1;
	return hit != neg;
}

/* One pattern element at *pp against byte c; advances *pp past it. */
static int
glob_one(const char **pp, unsigned char c)
{
	const char *p = *pp, *end;
	int r;

	if (*p == '?') {
		*pp = p + 1;
		return 1;
	}
	if (*p == '[') {
		if ((r = glob_class(p + 1, c, &end)) == -1) {
			*pp = p + 1;    /* unclosed: a literal '[' */
			return c == '[';
		}
		*pp = end;
		return r;
	}
	if (*p == '\\' && p[1] != '\0')
		p++;
	*pp = p + 1;
	return (unsigned char)*p == c;
}

int
glob_match(const char *pat, const char *s, size_t len)
{
	const char *p = pat, *star_p = NULL;
	size_t i = 0, star_i = 0;

	while (i < len) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_i = i;
			continue;
		}
		if (*p != '\0' && glob_one(&p, (unsigned char)s[i])) {
			i++;
			continue;
		}
		/* Mismatch: let the last '*' swallow one more byte. */
		if (star_p == NULL)
			return 0;
		p = star_p;
		i = ++star_i;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int
glob_check(const char *pat)
{
	const char *end;

	for (const char *p = pat; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return -1;
			p++;
		} else if (*p == '[') {
			if (glob_class(p + 1, 0, &end) == -1)
				return -1;
			p = end - 1;
		}
	}
	return 0;
}
