/*
 * Minimal JSON reader (see ctl_json.h). A recursive-descent skipper is all
 * it needs: lookups skip over the values they do not want.
 */
#include "supervisor/ctl/ctl_json.h"
#include "ipc/base/hex.h"

#include <stdlib.h>
#include <string.h>

static const char *skip_value(const char *p, int depth);

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* p at the opening quote; returns the position after the closing one. */
static const char *
skip_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if (*p == '\0' || (unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\' && *++p == '\0')
			return NULL;
	}
	return p + 1;
}

static const char *
skip_number(const char *p)
{
	char *end;

	/* strtod in the C locale (preforkctl never calls setlocale). */
	(void)strtod(p, &end);
	if (end == p || (*p != '-' && (*p < '0' || *p > '9')))
		return NULL;
	return end;
}

static const char *
skip_word(const char *p, const char *word)
{
	size_t n = strlen(word);

	return strncmp(p, word, n) == 0 ? p + n : NULL;
}

/* Objects and arrays: open/close brackets, members "key": value when obj. */
static const char *
skip_container(const char *p, int depth, int obj)
{
	char close = obj ? '}' : ']';

	if (depth >= CTL_JSON_MAX_DEPTH)
		return NULL;
	p = skip_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (obj) {
			if ((p = skip_string(skip_ws(p))) == NULL)
				return NULL;
			if (*(p = skip_ws(p)) != ':')
				return NULL;
			p++;
		}
		if ((p = skip_value(p, depth + 1)) == NULL)
			return NULL;
		p = skip_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *
skip_value(const char *p, int depth)
{
	p = skip_ws(p);
	switch (*p) {
	case '{':
		return skip_container(p, depth, 1);
	case '[':
		return skip_container(p, depth, 0);
	case '"':
		return skip_string(p);
	case 't':
		return skip_word(p, "true");
	case 'f':
		return skip_word(p, "false");
	case 'n':
		return skip_word(p, "null");
	default:
		return skip_number(p);
	}
}

const char *
ctl_json_skip(const char *p)
{
	return p == NULL ? NULL : skip_value(p, 0);
}

const char *
ctl_json_get(const char *obj, const char *key)
{
	size_t klen = strlen(key);
	const char *p, *k;

	if (obj == NULL || *(p = skip_ws(obj)) != '{')
		return NULL;
	p = skip_ws(p + 1);
	if (*p == '}')
		return NULL;
	for (;;) {
		k = p;
		if ((p = skip_string(k)) == NULL || *(p = skip_ws(p)) != ':')
			return NULL;
		p = skip_ws(p + 1);
		if (strncmp(k + 1, key, klen) == 0 && k[klen + 1] == '"')
			return p;
		if ((p = skip_value(p, 1)) == NULL)
			return NULL;
		p = skip_ws(p);
		if (*p++ != ',')
			return NULL;
		p = skip_ws(p);
	}
}

/* The element at index key of an array, or NULL. */
static const char *
json_index(const char *arr, const char *key)
{
	unsigned long i = strtoul(key, NULL, 10);
	const char *e;

	for (e = ctl_json_first(arr); e != NULL && i > 0; i--)
		e = ctl_json_next(e);
	return e;
}

const char *
ctl_json_path(const char *obj, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while (obj != NULL) {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (n > 0 && strspn(key, "0123456789") == n)
			obj = json_index(obj, key);
		else
			obj = ctl_json_get(obj, key);
		if (dot == NULL)
			return obj;
		path = dot + 1;
	}
	return NULL;
}

const char *
ctl_json_first(const char *arr)
{
	const char *p;

	if (arr == NULL || *(p = skip_ws(arr)) != '[')
		return NULL;
	p = skip_ws(p + 1);
	return *p == ']' || *p == '\0' ? NULL : p;
}

const char *
ctl_json_next(const char *elem)
{
	const char *p;

	if (elem == NULL || (p = skip_value(elem, 1)) == NULL)
		return NULL;
	p = skip_ws(p);
	return *p == ',' ? skip_ws(p + 1) : NULL;
}

int
ctl_json_number(const char *p, double *out)
{
	if (p == NULL || skip_number(skip_ws(p)) == NULL)
		return -1;
	*out = strtod(skip_ws(p), NULL);
	return 0;
}

/* One escape after the backslash at *pp; advances *pp past it. */
static char
unescape(const char **pp)
{
	const char *p = *pp + 1;
	int i, v = 0, h;

	*pp = p + 1;
	switch (*p) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'u':
		for (i = 1; i <= 4; i++) {
			if ((h = hex_digit(p[i])) < 0)
				return '?';
			v = v * 16 + h;
		}
		*pp = p + 5;
		return v > 0 && v < 0x80 ? (char)v : '?';
	default:
		return *p; /* \" \\ \/ */
	}
}

int
ctl_json_string(const char *p, char *buf, size_t len)
{
	const char *end;
	size_t n = 0;
	char c;

	if (p == NULL || len == 0 || (end = skip_string(skip_ws(p))) == NULL)
		return -1;
	p = skip_ws(p) + 1;
	end--; /* the closing quote */
	while (p < end) {
		c = *p == '\\' ? unescape(&p) : *p++;
		if (n + 1 < len)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
}

double
ctl_json_num_at(const char *obj, const char *path, double def)
{
	double v;

	return ctl_json_number(ctl_json_path(obj, path), &v) == 0 ? v : def;
}

void
ctl_json_str_at(const char *obj, const char *path, char *buf, size_t len)
{
	if (len > 0 && ctl_json_string(ctl_json_path(obj, path), buf, len) != 0)
		buf[0] = '\0';
}
